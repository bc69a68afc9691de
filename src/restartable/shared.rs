//! What every clone of a restartable task shares, and the operations on it:
//! start, cancel, set_result, the join poll, the last handle's drop.
//!
//! # Ground rules
//! - The state machine ([`State`]), the attempt future handed from `start`
//!   to the driver (`mailbox`), the driver's clock, thread and waker live in
//!   [`Control`], the companion state of the task's completion [`Slot`]:
//!   one lock for the phase, the outcome and the awaiters' wakers, so they
//!   always change together.
//! - No user code runs under that lock: the factory is called under its own
//!   lock (`factory`), never while the slot's is held; attempt futures and
//!   refused results are handed out of the lock and dropped after it; wakers
//!   are woken after it. The one exception is `T::clone` in the join poll.
//! - Lock order: `factory`, then the slot's lock (never the reverse).
//! - Every operation first settles an expired deadline (the outcome becomes
//!   `TimedOut` at the deadline, whoever looks first, driver or caller).

use super::driver::Driver;
use super::state::{Cancel, Complete, DriverAction, Phase, Start, State};
use crate::error::TaskError;
use crate::slot::{Outcome, Slot};
use crate::sync::Mutex;
use crate::time::driver::TimerDriver;
use alloc::boxed::Box;
use alloc::sync::Arc;
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::task::{Context, Poll, Waker};

/// One attempt: the factory's future, its output dropped.
pub(super) type AttemptFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
/// The user's `f`, boxed to make attempt futures.
pub(super) type Factory = Box<dyn FnMut() -> AttemptFuture + Send>;

/// The task's companion state under the slot's lock.
pub(super) struct Control {
    pub(super) state: State,
    /// Each attempt's limit in nanoseconds; `None`: no limit.
    pub(super) timeout: Option<u64>,
    /// The clock of the executor that runs the attempts (its timer driver),
    /// once known.
    pub(super) clock: Option<Arc<TimerDriver>>,
    /// The thread that runs the attempts, once known (blocking waits there
    /// would deadlock).
    #[cfg(feature = "std")]
    pub(super) driver_thread: Option<std::thread::ThreadId>,
    /// Wakes the driver; refreshed by each of its polls.
    pub(super) driver_waker: Option<Waker>,
    /// The future `start` made for attempt `.0`, not picked up yet.
    pub(super) mailbox: Option<(u64, AttemptFuture)>,
    /// The thread calling the factory right now (it holds `factory`).
    #[cfg(feature = "std")]
    factory_thread: Option<std::thread::ThreadId>,
    /// The pool the last driver was started on with `start_on`: where a
    /// `start` after that driver went away starts the next one (S4).
    #[cfg(feature = "std")]
    pub(super) host: Option<Arc<dyn crate::pool::ServiceHost>>,
}

impl Control {
    /// Now on the attempts' clock, if known.
    pub(super) fn now(&self) -> Option<u64> {
        self.clock.as_ref().map(|clock| clock.now())
    }

    /// Stores `TimedOut` if the running attempt's deadline passed; then the
    /// driver must hear of it (the returned waker).
    pub(super) fn settle<T>(&mut self, out: &mut Outcome<'_, T>) -> Option<Waker> {
        let now = self.now();
        match self.state.expire(now) {
            Complete::Store => {
                let _ = out.complete(Err(TaskError::TimedOut));
                self.driver_waker.clone()
            }
            Complete::AlreadyDone => None,
        }
    }

    /// Forgets driver `id` if it is the installed one: the running attempt
    /// counts as cancelled. Returns the unclaimed attempt future, to drop
    /// outside the lock.
    pub(super) fn driver_gone(&mut self, id: u64) -> Option<AttemptFuture> {
        if !self.state.driver_gone(id) {
            return None;
        }
        self.clock = None;
        #[cfg(feature = "std")]
        {
            self.driver_thread = None;
        }
        self.driver_waker = None;
        self.mailbox.take().map(|(_, f)| f)
    }
}

/// Where a `start` that finds no driver spawns one.
pub(super) struct Target<S> {
    /// The target executor's clock, when it is readable from here.
    pub(super) clock: Option<Arc<TimerDriver>>,
    /// The target executor runs on this thread.
    pub(super) local: bool,
    /// The pool, when the target is one (remembered for later starts).
    #[cfg(feature = "std")]
    pub(super) host: Option<Arc<dyn crate::pool::ServiceHost>>,
    pub(super) spawn: S,
}

/// The part of the task that every clone, join future and the driver share.
pub(crate) struct Shared<T> {
    pub(super) slot: Slot<T, Control>,
    factory: Mutex<Factory>,
    /// Live `RestartableTask` values (not join futures, not the driver).
    handles: AtomicUsize,
}

impl<T> Shared<T> {
    pub(super) fn new(factory: Factory) -> Self {
        Shared {
            slot: Slot::with_extra(Control {
                state: State::new(),
                timeout: None,
                clock: None,
                #[cfg(feature = "std")]
                driver_thread: None,
                driver_waker: None,
                mailbox: None,
                #[cfg(feature = "std")]
                factory_thread: None,
                #[cfg(feature = "std")]
                host: None,
            }),
            factory: Mutex::new(factory),
            handles: AtomicUsize::new(1),
        }
    }

    pub(super) fn set_timeout(&self, timeout: Option<u64>) {
        self.slot.with(|ctl, _| ctl.timeout = timeout);
    }

    pub(super) fn add_handle(&self) {
        self.handles.fetch_add(1, Ordering::Relaxed);
    }

    /// A handle was dropped. After the last one nobody can start or complete
    /// the task: awaiters left get `Cancelled` and the driver ends.
    pub(super) fn drop_handle(&self) {
        if self.handles.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        let waker = self.slot.with(|ctl, out| match ctl.state.abandon() {
            Complete::Store => {
                let _ = out.complete(Err(TaskError::Cancelled));
                ctl.driver_waker.clone()
            }
            Complete::AlreadyDone => None,
        });
        wake(waker);
    }

    /// Begins an attempt unless one runs or the task is complete; see
    /// [`RestartableTask::try_start`](super::RestartableTask::try_start).
    /// With no driver alive, spawns one on `target` first (`NoExecutor`
    /// without a target).
    pub(super) fn start<S>(self: &Arc<Self>, target: Option<Target<S>>) -> Result<bool, TaskError>
    where
        S: FnOnce(Driver<T>) -> Result<(), TaskError>,
    {
        let mut target = target;
        // 1. Decide under the lock; reserve a driver id if one is needed.
        let decided = self.slot.with(|ctl, out| {
            let waker = ctl.settle(out);
            #[cfg(feature = "std")]
            if ctl.state.can_begin() && ctl.factory_thread == Some(std::thread::current().id()) {
                // This thread is inside the factory (it holds `factory`).
                return (Err(factory_reentered()), waker);
            }
            let mut spawn = None;
            let mut decision = ctl.state.start(ctl.now(), ctl.timeout);
            if decision == Start::NeedDriver {
                let Some(t) = target.take() else {
                    return (Err(TaskError::NoExecutor), waker);
                };
                let id = ctl.state.next_driver_id();
                let installed = ctl.state.install_driver(id);
                debug_assert!(installed, "NeedDriver means no driver");
                ctl.clock = t.clock;
                #[cfg(feature = "std")]
                {
                    ctl.driver_thread = t.local.then(|| std::thread::current().id());
                    ctl.host = t.host;
                }
                #[cfg(not(feature = "std"))]
                let _ = t.local;
                spawn = Some((id, t.spawn));
                decision = ctl.state.start(ctl.now(), ctl.timeout);
            }
            (Ok((decision, spawn)), waker)
        });
        let (decided, waker) = decided;
        wake(waker);
        let (decision, spawn) = decided?;
        let epoch = match decision {
            Start::Begin { epoch } => epoch,
            Start::AlreadyRunning | Start::Finished => return Ok(false),
            Start::NeedDriver => unreachable!("a driver was installed"),
        };
        // 2. Spawn the driver reserved above, outside the lock.
        if let Some((id, spawn)) = spawn {
            if let Err(error) = spawn(Driver::new(self.clone(), id)) {
                // The driver future is gone (its drop may already have
                // forgotten it): the attempt never ran.
                let stale = self.slot.with(|ctl, _| ctl.driver_gone(id));
                drop(stale);
                return Err(error);
            }
        }
        // 3. Call the factory under its own lock, on this thread. If it
        //    panics, the attempt it was to run is ended as by `cancel`
        //    (awaiters wait for a restart), then the panic goes on to the
        //    caller: no attempt is left that nothing runs.
        let made = {
            let mut factory = self.factory.lock();
            #[cfg(feature = "std")]
            let _mark = FactoryMark::new(&self.slot);
            crate::guard::call_user(&mut *factory)
        };
        let future = match made {
            Ok(future) => future,
            Err(message) => {
                let waker = self.slot.with(|ctl, _| {
                    if ctl.state.is_running(epoch) {
                        let _ = ctl.state.cancel();
                        ctl.driver_waker.clone()
                    } else {
                        None
                    }
                });
                wake(waker);
                resume_panic(message)
            }
        };
        // 4. Hand the future to the driver, unless the attempt ended meanwhile.
        let (stale, waker) = self.slot.with(|ctl, _| {
            if ctl.state.is_running(epoch) {
                let stale = ctl.mailbox.replace((epoch, future)).map(|(_, f)| f);
                (stale, ctl.driver_waker.clone())
            } else {
                (Some(future), None)
            }
        });
        drop(stale);
        wake(waker);
        Ok(true)
    }

    /// Ends the running attempt (the driver drops it on its thread); `true`
    /// when there was one.
    pub(super) fn cancel(&self) -> bool {
        let (ended, waker) = self.slot.with(|ctl, out| {
            let expired = ctl.settle(out);
            match ctl.state.cancel() {
                Cancel::EndAttempt => (true, ctl.driver_waker.clone()),
                Cancel::Nothing => (false, expired),
            }
        });
        wake(waker);
        ended
    }

    /// Completes the task with `value` unless it is complete; `Err(value)`
    /// hands a refused value back (to drop outside the lock).
    pub(super) fn set_result(&self, value: T) -> Result<(), T> {
        let (stored, waker) = self.slot.with(|ctl, out| {
            let expired = ctl.settle(out);
            match ctl.state.complete() {
                Complete::Store => match out.complete(Ok(value)) {
                    Ok(()) => (Ok(()), ctl.driver_waker.clone()),
                    Err(refused) => (Err(refused.ok()), expired),
                },
                Complete::AlreadyDone => (Err(Some(value)), expired),
            }
        });
        wake(waker);
        stored.map_err(|value| value.expect("the slot refuses only when done"))
    }

    /// The outcome for an awaiter: a clone of it, `NotStarted` before the
    /// first start, or pending (the waker registered).
    pub(super) fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<T, TaskError>>
    where
        T: Clone,
    {
        self.look(Some(cx.waker()))
    }

    /// The outcome if it is known now; registers no waiter.
    #[cfg(feature = "std")]
    pub(super) fn peek(&self) -> Option<Result<T, TaskError>>
    where
        T: Clone,
    {
        match self.look(None) {
            Poll::Ready(outcome) => Some(outcome),
            Poll::Pending => None,
        }
    }

    fn look(&self, waiter: Option<&Waker>) -> Poll<Result<T, TaskError>>
    where
        T: Clone,
    {
        let (poll, waker) = self.slot.with(|ctl, out| {
            let waker = ctl.settle(out);
            let poll = if let Some(outcome) = out.peek() {
                Poll::Ready(crate::slot::clone_outcome(outcome))
            } else if ctl.state.phase() == Phase::Idle {
                Poll::Ready(Err(TaskError::NotStarted))
            } else {
                if let Some(waiter) = waiter {
                    out.register(waiter);
                }
                Poll::Pending
            };
            (poll, waker)
        });
        wake(waker);
        poll
    }

    /// The pool the last driver was started on, if any (S4).
    #[cfg(feature = "std")]
    pub(super) fn host(&self) -> Option<Arc<dyn crate::pool::ServiceHost>> {
        self.slot.with(|ctl, _| ctl.host.clone())
    }

    /// `true` once a driver was ever installed (a `start` that finds none
    /// now means it went away, S4).
    #[cfg(feature = "std")]
    pub(super) fn had_driver(&self) -> bool {
        self.slot.with(|ctl, _| ctl.state.had_driver())
    }

    /// `true` once the outcome is known (settling an expired deadline).
    pub(super) fn is_finished(&self) -> bool {
        if self.slot.is_complete() {
            return true;
        }
        let (done, waker) = self.slot.with(|ctl, out| {
            let waker = ctl.settle(out);
            (out.is_complete(), waker)
        });
        wake(waker);
        done
    }

    /// `Err(WouldDeadlock)` when this thread runs the attempts.
    #[cfg(feature = "std")]
    pub(super) fn check_not_driver_thread(&self) -> Result<(), TaskError> {
        let here = std::thread::current().id();
        let on_driver = self.slot.with(|ctl, _| ctl.driver_thread == Some(here));
        if on_driver {
            return Err(TaskError::would_deadlock_here());
        }
        Ok(())
    }

    /// What driver `id` does at this poll; see [`Driver`].
    pub(super) fn drive(&self, id: u64, waker: &Waker, first: bool) -> Drive {
        let (drive, stale) = self.slot.with(|ctl, out| {
            #[cfg(feature = "std")]
            if first && ctl.state.is_driver(id) {
                if ctl.clock.is_none() {
                    ctl.clock = crate::time::current::driver();
                }
                ctl.driver_thread = Some(std::thread::current().id());
            }
            #[cfg(not(feature = "std"))]
            let _ = first;
            // The driver is the one polling: no need to wake it.
            let _ = ctl.settle(out);
            let action = ctl.state.drive(id, ctl.now(), ctl.timeout);
            let mut fresh = None;
            let stale = match action {
                DriverAction::Exit => None,
                DriverAction::Idle => ctl.mailbox.take().map(|(_, f)| f),
                DriverAction::Run { epoch, .. } => match ctl.mailbox.take() {
                    Some((e, f)) if e == epoch => {
                        fresh = Some(f);
                        None
                    }
                    other => other.map(|(_, f)| f),
                },
            };
            if action != DriverAction::Exit {
                match &ctl.driver_waker {
                    Some(w) if w.will_wake(waker) => {}
                    _ => ctl.driver_waker = Some(waker.clone()),
                }
            }
            let clock = ctl.clock.clone();
            (
                Drive {
                    action,
                    fresh,
                    clock,
                },
                stale,
            )
        });
        drop(stale);
        drive
    }

    /// The driver's timer for attempt `epoch` fired: `true` if that timed
    /// the task out.
    pub(super) fn timer_fired(&self, epoch: u64) -> bool {
        self.slot
            .with(|ctl, out| match ctl.state.timer_fired(epoch) {
                Complete::Store => {
                    let _ = out.complete(Err(TaskError::TimedOut));
                    true
                }
                Complete::AlreadyDone => false,
            })
    }

    /// Driver `id` is being dropped.
    pub(super) fn driver_dropped(&self, id: u64) {
        let stale = self.slot.with(|ctl, _| ctl.driver_gone(id));
        drop(stale);
    }
}

/// What [`Shared::drive`] tells the driver.
pub(super) struct Drive {
    pub(super) action: DriverAction,
    /// The attempt's future, when `start` handed a new one over.
    pub(super) fresh: Option<AttemptFuture>,
    pub(super) clock: Option<Arc<TimerDriver>>,
}

/// Lets a panic caught in user code go on to the caller.
fn resume_panic(message: alloc::string::String) -> ! {
    #[cfg(feature = "std")]
    std::panic::resume_unwind(alloc::boxed::Box::new(message));
    #[cfg(not(feature = "std"))]
    panic!("{message}");
}

fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// A `start` from inside the factory on this thread would wait for itself.
#[cfg(feature = "std")]
fn factory_reentered() -> TaskError {
    TaskError::would_deadlock_here()
}

/// Records, for as long as it lives, that this thread is calling the
/// factory (so a `start` from inside the factory errors instead of
/// deadlocking on the factory lock).
#[cfg(feature = "std")]
struct FactoryMark<'a, T>(&'a Slot<T, Control>);

#[cfg(feature = "std")]
impl<'a, T> FactoryMark<'a, T> {
    fn new(slot: &'a Slot<T, Control>) -> Self {
        slot.with(|ctl, _| ctl.factory_thread = Some(std::thread::current().id()));
        FactoryMark(slot)
    }
}

#[cfg(feature = "std")]
impl<T> Drop for FactoryMark<'_, T> {
    fn drop(&mut self) {
        self.0.with(|ctl, _| ctl.factory_thread = None);
    }
}
