//! The restartable task's state machine: which attempt runs, until when, and
//! which driver runs it. Plain data and pure transitions, kept under the
//! task's slot lock (it is the slot's companion state), so the phase and the
//! outcome always change together.
//!
//! Time is the attempt executor's clock in nanoseconds (`now`), passed in by
//! the caller; `None` when that clock is not known yet (a driver spawned on a
//! pool from another thread, not polled yet). Timeouts are nanoseconds too;
//! `None` is "no limit".

/// Where the task is in its life. Exactly one at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Never started (and not completed). `join` answers `NotStarted`.
    Idle,
    /// Attempt number `epoch` runs; it times out at `deadline`.
    Running { epoch: u64, deadline: Deadline },
    /// Started once, no attempt runs now; awaiters wait for a restart.
    Cancelled,
    /// The outcome is in the slot (a result, or `TimedOut`, or `Cancelled`
    /// once every handle is gone). Nothing changes any more.
    Done,
}

/// When a running attempt times out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Deadline {
    /// No limit (`Duration::MAX`, or a deadline past the clock's range).
    Never,
    /// At this time on the driver's clock.
    At(u64),
    /// `timeout` after the driver first sees the attempt: the driver's clock
    /// was not known when the attempt began.
    AtPickup,
}

/// What `start` decided. The caller acts on it.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Start {
    /// Attempt `epoch` began: call the factory and hand its future over.
    Begin { epoch: u64 },
    /// Already running: a no-op (R2).
    AlreadyRunning,
    /// Already complete: a no-op.
    Finished,
    /// No driver runs attempts: spawn one, install it, then start again.
    NeedDriver,
}

/// What `cancel` decided.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Cancel {
    /// A running attempt ended: wake the driver so it drops the attempt.
    EndAttempt,
    /// Not running (never started, cancelled, complete): a no-op (R2).
    Nothing,
}

/// What a completion (`set_result`, a timeout, the last handle dropped)
/// decided.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Complete {
    /// This call completes the task: store the outcome, wake the driver.
    Store,
    /// Already complete: first completion wins (R5).
    AlreadyDone,
}

/// What the driver with a given id should do now.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DriverAction {
    /// It is not (or no longer) this task's driver, or the task is complete:
    /// end.
    Exit,
    /// No attempt runs: drop any attempt future and wait for a wake.
    Idle,
    /// Run attempt `epoch`; time it out at `deadline` (`None`: never).
    Run { epoch: u64, deadline: Option<u64> },
}

/// The state machine. See the module docs.
#[derive(Debug)]
pub(crate) struct State {
    phase: Phase,
    /// Attempts begun so far; the running attempt's number.
    epoch: u64,
    /// The id of the driver that runs attempts, if one is alive.
    driver: Option<u64>,
    /// Ids handed out so far (a stray driver never matches a later one).
    drivers: u64,
}

impl State {
    pub(crate) const fn new() -> Self {
        State {
            phase: Phase::Idle,
            epoch: 0,
            driver: None,
            drivers: 0,
        }
    }

    pub(crate) fn phase(&self) -> Phase {
        self.phase
    }

    /// Attempts begun so far.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    pub(crate) fn has_driver(&self) -> bool {
        self.driver.is_some()
    }

    /// `true` once any driver was installed.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) fn had_driver(&self) -> bool {
        self.drivers > 0
    }

    /// `true` when driver `id` is the installed one.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) fn is_driver(&self, id: u64) -> bool {
        self.driver == Some(id)
    }

    /// `true` when a `start` now would begin an attempt (given a driver).
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) fn can_begin(&self) -> bool {
        matches!(self.phase, Phase::Idle | Phase::Cancelled)
    }

    /// `true` while attempt `epoch` is the one running.
    pub(crate) fn is_running(&self, epoch: u64) -> bool {
        matches!(self.phase, Phase::Running { epoch: e, .. } if e == epoch)
    }

    /// The running attempt's deadline passed at `now`: the task is done and
    /// the caller stores `TimedOut`. Every operation calls this first, so
    /// the timeout holds whoever looks first, driver or not (R3).
    pub(crate) fn expire(&mut self, now: Option<u64>) -> Complete {
        match (self.phase, now) {
            (
                Phase::Running {
                    deadline: Deadline::At(at),
                    ..
                },
                Some(now),
            ) if now >= at => {
                self.phase = Phase::Done;
                Complete::Store
            }
            _ => Complete::AlreadyDone,
        }
    }

    /// The driver's timer for attempt `epoch` fired: done, unless another
    /// attempt (or nothing) runs by now.
    pub(crate) fn timer_fired(&mut self, epoch: u64) -> Complete {
        if self.is_running(epoch) {
            self.phase = Phase::Done;
            Complete::Store
        } else {
            Complete::AlreadyDone
        }
    }

    /// Begins an attempt if none runs and a driver is there. Its deadline is
    /// `timeout` after `now`.
    pub(crate) fn start(&mut self, now: Option<u64>, timeout: Option<u64>) -> Start {
        match self.phase {
            Phase::Done => Start::Finished,
            Phase::Running { .. } => Start::AlreadyRunning,
            Phase::Idle | Phase::Cancelled if self.driver.is_none() => Start::NeedDriver,
            Phase::Idle | Phase::Cancelled => {
                self.epoch += 1;
                let deadline = match now {
                    None => Deadline::AtPickup,
                    Some(now) => deadline_after(now, timeout),
                };
                self.phase = Phase::Running {
                    epoch: self.epoch,
                    deadline,
                };
                Start::Begin { epoch: self.epoch }
            }
        }
    }

    pub(crate) fn cancel(&mut self) -> Cancel {
        match self.phase {
            Phase::Running { .. } => {
                self.phase = Phase::Cancelled;
                Cancel::EndAttempt
            }
            Phase::Idle | Phase::Cancelled | Phase::Done => Cancel::Nothing,
        }
    }

    /// A result arrives: the first one completes the task, in any phase
    /// (also before the first start, or while cancelled).
    pub(crate) fn complete(&mut self) -> Complete {
        match self.phase {
            Phase::Done => Complete::AlreadyDone,
            _ => {
                self.phase = Phase::Done;
                Complete::Store
            }
        }
    }

    /// Every handle is gone: nobody can start or complete the task any more.
    /// A started task ends (the caller stores `Cancelled` for the awaiters
    /// left); one never started has no awaiters and stays as it is.
    pub(crate) fn abandon(&mut self) -> Complete {
        match self.phase {
            Phase::Running { .. } | Phase::Cancelled => {
                self.phase = Phase::Done;
                Complete::Store
            }
            Phase::Idle | Phase::Done => Complete::AlreadyDone,
        }
    }

    /// A fresh driver id (the driver is spawned before it is installed).
    pub(crate) fn next_driver_id(&mut self) -> u64 {
        self.drivers += 1;
        self.drivers
    }

    /// Makes driver `id` the one that runs attempts, unless one already
    /// does (then `id` is a stray that exits at its first poll).
    pub(crate) fn install_driver(&mut self, id: u64) -> bool {
        if self.driver.is_some() {
            return false;
        }
        self.driver = Some(id);
        true
    }

    /// Driver `id` is gone (dropped with its executor, or ended). A running
    /// attempt counts as cancelled; the next start spawns a new driver.
    /// `false` when `id` was not the installed driver.
    pub(crate) fn driver_gone(&mut self, id: u64) -> bool {
        if self.driver != Some(id) {
            return false;
        }
        self.driver = None;
        if let Phase::Running { .. } = self.phase {
            self.phase = Phase::Cancelled;
        }
        true
    }

    /// What driver `id` should do, at `now` on its clock. An attempt begun
    /// before the driver's clock was known gets its deadline here.
    pub(crate) fn drive(
        &mut self,
        id: u64,
        now: Option<u64>,
        timeout: Option<u64>,
    ) -> DriverAction {
        if self.driver != Some(id) {
            return DriverAction::Exit;
        }
        match &mut self.phase {
            Phase::Done => DriverAction::Exit,
            Phase::Idle | Phase::Cancelled => DriverAction::Idle,
            Phase::Running { epoch, deadline } => {
                if let (Deadline::AtPickup, Some(now)) = (*deadline, now) {
                    *deadline = deadline_after(now, timeout);
                }
                let at = match *deadline {
                    Deadline::At(at) => Some(at),
                    Deadline::Never | Deadline::AtPickup => None,
                };
                DriverAction::Run {
                    epoch: *epoch,
                    deadline: at,
                }
            }
        }
    }
}

/// `timeout` after `now`; `Never` when there is no limit or it overflows.
fn deadline_after(now: u64, timeout: Option<u64>) -> Deadline {
    match timeout.and_then(|t| now.checked_add(t)) {
        Some(at) => Deadline::At(at),
        None => Deadline::Never,
    }
}

#[cfg(test)]
mod tests;
