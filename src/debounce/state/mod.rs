//! The debouncers' state machine: which run a call gets, when the worker
//! starts the next run, what a finished run or a dead worker leaves behind.
//! Plain data, kept under `Core`'s lock. Each transition takes one event (a
//! call, the worker asking for work, its timer firing, a run finishing, the
//! worker dying, a flush, a waiter taking over) and returns what the caller
//! must do once the lock is released: a [`Decision`] (spawn a worker, wake
//! it, drop an argument no run will use), or the waiters to wake.
//!
//! # Ground rules
//! - `worker` is true from the transition that asks for a worker (whose
//!   caller spawns it right after the lock) until the worker finds nothing
//!   left to do or is dropped. Only a transition that finds it false asks for
//!   one, so at most one worker is alive.
//! - `committed` counts runs filed (a pending run whose argument is replaced
//!   counts once), `finished` the runs completed or cancelled: `flush` waits
//!   for `finished` to reach the `committed` it saw.

use super::run::{Run, Until};
use crate::slot::Waiters;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::task::{Poll, Waker};
use core::time::Duration;
use std::time::Instant;

#[cfg(test)]
mod tests;

/// Which rules calls follow: one per public constructor, so no debouncer
/// lacks one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `Debouncer::eager` (D1).
    Eager,
    /// `Debouncer::lazy` (D2).
    Lazy,
    /// `Debouncer::eager_lazy` (D3).
    EagerLazy,
    /// `AsyncDebouncer` (D4): its windows run from the end of a run, not
    /// from its start.
    Async,
}

/// A run and the argument it runs with.
pub(crate) struct Job<A, T> {
    pub(crate) arg: A,
    pub(crate) run: Arc<Run<T>>,
}

impl<A, T> Job<A, T> {
    /// `arg`, for a new run.
    fn new(arg: A) -> Self {
        let run = Arc::new(Run::new());
        Job { arg, run }
    }
}

/// A run waiting for its deadline; calls until then replace its argument.
struct Pending<A, T> {
    job: Job<A, T>,
    deadline: Until,
    /// Later calls push the deadline to `duration` after them (only when the
    /// debouncer extends windows, and not for a run that only waits for the
    /// one in progress).
    extendable: bool,
    /// Run it now (`flush`, or the debouncer was dropped).
    flush: bool,
}

/// What a transition decided (`answer`), and what its caller does once the
/// lock is released.
#[must_use]
pub(crate) struct Decision<A, R> {
    pub(crate) answer: R,
    /// Spawn a worker: the state counts it alive already.
    pub(crate) spawn_worker: bool,
    /// Wake the worker waiting for a deadline: its run is due now.
    pub(crate) wake_worker: Option<Waker>,
    /// An argument no run will use (a later call replaced it, or an eager
    /// call inside its window brought it): the user's value, to drop behind
    /// the guard.
    pub(crate) unused: Option<A>,
}

impl<A, R> Decision<A, R> {
    fn new(answer: R, spawn_worker: bool) -> Self {
        let (wake_worker, unused) = (None, None);
        Decision {
            answer,
            spawn_worker,
            wake_worker,
            unused,
        }
    }
}

/// The run a call gets.
pub(crate) struct Call<T> {
    pub(crate) run: Arc<Run<T>>,
    /// `false`: the run starts at once, with this call's argument.
    pub(crate) debounced: bool,
}

/// What the worker does next.
#[must_use]
pub(crate) enum Next<A, T> {
    Run(Job<A, T>),
    /// Wait for the pending run's deadline (when its timer fires, the run
    /// is [`pending_due`](State::pending_due)) or a flush.
    Wait(Until),
    /// Nothing left: end. The state counts no worker any more.
    Exit,
}

/// What a worker dropped before it ran out of work leaves to wake.
#[must_use]
pub(crate) struct Died<T> {
    pub(crate) flushers: Waiters,
    /// The runs still committed: one of their waiters takes over (K3).
    pub(crate) left: Vec<Arc<Run<T>>>,
}

/// The state machine. See the module docs.
pub(crate) struct State<A, T> {
    mode: Mode,
    duration: Duration,
    /// Calls push a window's end (and a pending run) to `duration` after
    /// them.
    extend: bool,
    /// Calls before this are debounced; `None`: no window yet.
    window_end: Option<Until>,
    /// A run is committed (`starting`) or in progress and not finished.
    running: bool,
    /// The run started last (in progress or finished): what an eager
    /// debouncer hands to calls inside the window.
    latest: Option<Arc<Run<T>>>,
    /// A run committed to start at once, its argument fixed.
    starting: Option<Job<A, T>>,
    pending: Option<Pending<A, T>>,
    worker: bool,
    /// The worker's waker while it waits for a deadline (for `flush`).
    worker_waker: Option<Waker>,
    committed: u64,
    finished: u64,
    /// `flush` callers waiting for `finished` to move.
    flushers: Waiters,
}

impl<A, T> State<A, T> {
    pub(crate) fn new(mode: Mode, duration: Duration) -> Self {
        State {
            mode,
            duration,
            extend: false,
            window_end: None,
            running: false,
            latest: None,
            starting: None,
            pending: None,
            worker: false,
            worker_waker: None,
            committed: 0,
            finished: 0,
            flushers: Waiters::None,
        }
    }

    pub(crate) fn duration(&self) -> Duration {
        self.duration
    }

    pub(crate) fn set_extend(&mut self, extend: bool) {
        self.extend = extend;
    }

    /// A call with `arg` at `now`: joins the latest run (eager, inside its
    /// window), joins the pending run (taking its place with `arg`), starts
    /// a run at once (eager or `Async`, outside any window and run), or files
    /// a pending run.
    pub(crate) fn call(&mut self, now: Instant, arg: A) -> Decision<A, Call<T>> {
        let open = self.window_open(now);
        let in_eager_window = self.mode == Mode::Eager && open && self.pending.is_none();
        // Unless it only gets the latest run, what the call joins or commits
        // needs a worker (the pending run's is gone only if its executor was
        // dropped).
        let spawn_worker = !in_eager_window && self.claim_worker();
        let mut unused = None;
        let mut debounced = true;
        let run = match self.pending.as_mut() {
            _ if in_eager_window => {
                if self.extend {
                    self.window_end = Some(Until::after(now, self.duration));
                }
                unused = Some(arg);
                self.latest
                    .clone()
                    .expect("an eager window opens with a run")
            }
            Some(pending) => {
                unused = Some(core::mem::replace(&mut pending.job.arg, arg));
                if self.extend && pending.extendable {
                    pending.deadline = Until::after(now, self.duration);
                }
                pending.job.run.clone()
            }
            None if self.mode != Mode::Lazy && !open && !self.running => {
                debounced = false;
                self.start_now(now, arg)
            }
            None => self.file_pending(now, open, arg),
        };
        let mut decision = Decision::new(Call { run, debounced }, spawn_worker);
        decision.unused = unused;
        decision
    }

    /// A waiter of a run finds it not done: if no worker is alive (its
    /// executor was dropped) and work is committed, it spawns one (K3).
    pub(crate) fn take_over(&mut self) -> Decision<A, ()> {
        Decision::new((), self.claim_idle_worker())
    }

    /// `flush`, or the drop of an `AsyncDebouncer`: the pending run is due
    /// now, and a dead worker is replaced. Answers the number of runs to
    /// wait for.
    pub(crate) fn flush(&mut self) -> Decision<A, u64> {
        let wake_worker = self.flush_pending();
        let mut decision = Decision::new(self.committed, self.claim_idle_worker());
        decision.wake_worker = wake_worker;
        decision
    }

    /// A `flush` caller waiting for `target` runs to finish. While it waits
    /// its waker is kept, and a dead worker replaced.
    pub(crate) fn poll_flush(&mut self, target: u64, waker: &Waker) -> Decision<A, Poll<()>> {
        if self.finished >= target {
            return Decision::new(Poll::Ready(()), false);
        }
        self.flushers.register(waker);
        if !self.worker {
            self.flush_pending(); // no worker, no waker to take
        }
        Decision::new(Poll::Pending, self.claim_idle_worker())
    }

    /// The worker asks for its next run at `now` (`None`: no clock here).
    /// It waits with `waker` when the pending run is not due.
    pub(crate) fn next_run(&mut self, now: Option<Instant>, waker: &Waker) -> Next<A, T> {
        if let Some(job) = self.starting.take() {
            return Next::Run(job);
        }
        let Some(pending) = self.pending.as_ref() else {
            self.worker = false;
            self.worker_waker = None;
            return Next::Exit;
        };
        if pending.flush || now.is_some_and(|now| pending.deadline.passed(now)) {
            return Next::Run(self.pending_due(now));
        }
        let deadline = pending.deadline;
        self.worker_waker = Some(waker.clone());
        Next::Wait(deadline)
    }

    /// The pending run fell due (its deadline passed, its timer fired, or it
    /// was flushed): the worker starts it.
    pub(crate) fn pending_due(&mut self, now: Option<Instant>) -> Job<A, T> {
        let pending = self
            .pending
            .take()
            .expect("the worker waits for a pending run");
        self.worker_waker = None;
        self.running = true;
        self.latest = Some(pending.job.run.clone());
        if self.mode != Mode::Async {
            let now = now.unwrap_or_else(Instant::now);
            self.window_end = Some(Until::after(now, self.duration));
        }
        pending.job
    }

    /// A run ended at `now` (completed, or cancelled with its worker):
    /// returns the `flush` callers to wake.
    pub(crate) fn run_finished(&mut self, now: Option<Instant>) -> Waiters {
        self.running = false;
        self.finished += 1;
        if let (Some(now), Mode::Async) = (now, self.mode) {
            self.window_end = Some(Until::after(now, self.duration));
        }
        core::mem::take(&mut self.flushers)
    }

    /// The worker was dropped before it ran out of work (its executor was
    /// dropped), `in_run` or between runs. The runs committed for it stay
    /// for the next worker; their waiters (on other executors, maybe) are
    /// told, so one of them takes over.
    pub(crate) fn worker_died(&mut self, in_run: bool, now: Option<Instant>) -> Died<T> {
        self.worker = false;
        self.worker_waker = None;
        let flushers = if in_run {
            self.run_finished(now)
        } else {
            core::mem::take(&mut self.flushers)
        };
        let starting = self.starting.iter().map(|job| job.run.clone());
        let pending = self.pending.iter().map(|pending| pending.job.run.clone());
        let left = starting.chain(pending).collect();
        Died { flushers, left }
    }

    fn window_open(&self, now: Instant) -> bool {
        self.window_end.is_some_and(|end| !end.passed(now))
    }

    /// Counts a worker alive; `true` when the caller must spawn it.
    fn claim_worker(&mut self) -> bool {
        !core::mem::replace(&mut self.worker, true)
    }

    /// [`claim_worker`](Self::claim_worker), if there is work for it.
    fn claim_idle_worker(&mut self) -> bool {
        let has_work = self.starting.is_some() || self.pending.is_some();
        has_work && self.claim_worker()
    }

    /// Marks the pending run due now; returns the waiting worker's waker.
    fn flush_pending(&mut self) -> Option<Waker> {
        self.pending.as_mut()?.flush = true;
        self.worker_waker.take()
    }

    /// Commits a run that starts at once with `arg`.
    fn start_now(&mut self, now: Instant, arg: A) -> Arc<Run<T>> {
        if self.mode != Mode::Async {
            self.window_end = Some(Until::after(now, self.duration));
        }
        let job = Job::new(arg);
        let run = job.run.clone();
        self.latest = Some(run.clone());
        self.starting = Some(job);
        self.running = true;
        self.committed += 1;
        run
    }

    /// Files a pending run with `arg`: at the end of the window (`open`), or
    /// as soon as the run in progress ends.
    fn file_pending(&mut self, now: Instant, open: bool, arg: A) -> Arc<Run<T>> {
        let (deadline, extendable) = match self.mode {
            Mode::Lazy | Mode::Async => (Until::after(now, self.duration), true),
            _ if open && self.extend => (Until::after(now, self.duration), true),
            _ if open => (self.window_end.expect("open"), true),
            // The window is over but a run is still going.
            _ => (Until::At(now), false),
        };
        let job = Job::new(arg);
        let run = job.run.clone();
        let flush = false;
        self.pending = Some(Pending {
            job,
            deadline,
            extendable,
            flush,
        });
        self.committed += 1;
        run
    }
}

impl<A, T> fmt::Debug for State<A, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("pending", &self.pending.is_some())
            .field("mode", &self.mode)
            .field("duration", &self.duration)
            .field("extend_on_call", &self.extend)
            .field("running", &self.running)
            .field("worker", &self.worker)
            .field(
                "runs",
                &format_args!("{}/{}", self.finished, self.committed),
            )
            .finish()
    }
}
