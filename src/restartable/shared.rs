//! What every clone of a restartable task shares, and the operations on it:
//! start, cancel, set_result, the join poll, the last handle's drop.
//!
//! # Ground rules
//! - The state machine ([`State`]), the attempt future handed from `start`
//!   to the driver (a [`Handoff`]), the driver's clock, thread and waker live in
//!   [`Control`], the companion state of the task's completion [`Slot`]:
//!   one lock for the phase, the outcome and the awaiters' wakers, so they
//!   always change together.
//! - No user code runs under that lock: the factory is called under its own
//!   lock (`factory`), never while the slot's is held; attempt futures and
//!   refused results are handed out of the lock and dropped after it; the
//!   driver's waker is woken after it ([`Shared::locked`]). The one exception
//!   is `T::clone` in the join poll.
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
use core::task::{Poll, Waker};

/// One attempt: the factory's future, its output dropped.
pub(super) type AttemptFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
/// The user's `f`, boxed to make attempt futures.
pub(super) type Factory = Box<dyn FnMut() -> AttemptFuture + Send>;

/// The future `start` made for an attempt, on its way to the driver.
pub(super) struct Handoff {
    pub(super) epoch: u64,
    pub(super) future: AttemptFuture,
}

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
    /// Set under the lock when the driver must hear of a change;
    /// [`Shared::locked`] wakes it once the lock is released (the driver's
    /// own calls clear it).
    wake_driver: bool,
    /// The attempt future `start` made, not picked up yet.
    mailbox: Option<Handoff>,
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

    /// Stores the outcome the state machine just decided on, and has the
    /// driver told.
    fn store<T>(&mut self, out: &mut Outcome<'_, T>, outcome: Result<T, TaskError>) {
        if out.complete(outcome).is_err() {
            unreachable!("the phase and the outcome change together: the slot was empty");
        }
        self.wake_driver = true;
    }

    /// Stores `TimedOut` if the running attempt's deadline passed.
    fn settle<T>(&mut self, out: &mut Outcome<'_, T>) {
        if self.state.expire(self.now()) == Complete::Store {
            self.store(out, Err(TaskError::TimedOut));
        }
    }

    /// Ends the running attempt, if any (the driver, told, drops it); `true`
    /// when there was one.
    fn end_attempt(&mut self) -> bool {
        let ended = self.state.cancel() == Cancel::EndAttempt;
        self.wake_driver |= ended;
        ended
    }

    /// Decides a `start`: the attempt it began, and the driver to spawn for
    /// it when none was installed (made from `target`); `None` when an
    /// attempt runs already or the task is complete.
    fn begin<T, S>(
        &mut self,
        out: &mut Outcome<'_, T>,
        target: Option<Target<S>>,
    ) -> Result<Option<Began<S>>, TaskError> {
        self.settle(out);
        #[cfg(feature = "std")]
        if self.state.can_begin() && self.factory_thread == Some(std::thread::current().id()) {
            // This thread is inside the factory (it holds `factory`).
            return Err(TaskError::would_deadlock_here());
        }
        let mut new_driver = None;
        let mut decision = self.state.start(self.now(), self.timeout);
        if decision == Start::NeedDriver {
            let target = target.ok_or(TaskError::NoExecutor)?;
            let id = self.state.next_driver_id();
            let installed = self.state.install_driver(id);
            debug_assert!(installed, "NeedDriver means no driver");
            self.clock = target.clock;
            #[cfg(feature = "std")]
            {
                self.driver_thread = target.local.then(|| std::thread::current().id());
                self.host = target.host;
            }
            #[cfg(not(feature = "std"))]
            let _ = target.local;
            new_driver = Some(NewDriver {
                id,
                spawn: target.spawn,
            });
            decision = self.state.start(self.now(), self.timeout);
        }
        match decision {
            Start::Begin { epoch } => Ok(Some(Began { epoch, new_driver })),
            Start::AlreadyRunning | Start::Finished if new_driver.is_none() => Ok(None),
            _ => unreachable!("a driver is installed only for an attempt that begins"),
        }
    }

    /// Forgets driver `id` if it is the installed one: the running attempt
    /// counts as cancelled. Returns the unclaimed attempt future, to drop
    /// outside the lock.
    fn driver_gone(&mut self, id: u64) -> Option<Handoff> {
        if !self.state.driver_gone(id) {
            return None;
        }
        self.clock = None;
        #[cfg(feature = "std")]
        {
            self.driver_thread = None;
        }
        self.driver_waker = None;
        self.mailbox.take()
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

/// An attempt a `start` began.
struct Began<S> {
    epoch: u64,
    /// The driver installed for it, to spawn once the lock is released.
    new_driver: Option<NewDriver<S>>,
}

/// A driver installed under the lock, not spawned yet.
struct NewDriver<S> {
    id: u64,
    spawn: S,
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
                wake_driver: false,
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

    /// Runs `f` under the slot's lock, then, with the lock released, wakes
    /// the driver if `f` asked for it (`wake_driver`).
    fn locked<R>(&self, f: impl FnOnce(&mut Control, &mut Outcome<'_, T>) -> R) -> R {
        let mut waker = None;
        let result = self.slot.with(|ctl, out| {
            let result = f(ctl, out);
            if core::mem::take(&mut ctl.wake_driver) {
                waker = ctl.driver_waker.clone();
            }
            result
        });
        if let Some(waker) = waker {
            waker.wake();
        }
        result
    }

    pub(super) fn set_timeout(&self, timeout: Option<u64>) {
        self.slot.with(|ctl, _| ctl.timeout = timeout);
    }

    #[cfg(feature = "std")]
    fn set_factory_thread(&self, thread: Option<std::thread::ThreadId>) {
        self.slot.with(|ctl, _| ctl.factory_thread = thread);
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
        self.locked(|ctl, out| {
            if ctl.state.abandon() == Complete::Store {
                ctl.store(out, Err(TaskError::Cancelled));
            }
        });
    }

    /// Begins an attempt unless one runs or the task is complete; see
    /// [`RestartableTask::try_start`](super::RestartableTask::try_start).
    /// With no driver alive, spawns one on `target` first (`NoExecutor`
    /// without a target).
    pub(super) fn start<S>(self: &Arc<Self>, target: Option<Target<S>>) -> Result<bool, TaskError>
    where
        S: FnOnce(Driver<T>) -> Result<(), TaskError>,
    {
        // 1. Decide under the lock; install a driver if one is needed.
        let Some(Began { epoch, new_driver }) = self.locked(|ctl, out| ctl.begin(out, target))?
        else {
            return Ok(false);
        };
        // 2. Spawn the driver installed above, outside the lock.
        if let Some(NewDriver { id, spawn }) = new_driver {
            if let Err(error) = spawn(Driver::new(self.clone(), id)) {
                // The driver future is gone (its drop may already have
                // forgotten it): the attempt never ran.
                self.driver_dropped(id);
                return Err(error);
            }
        }
        // 3. Call the factory under its own lock, on this thread. If it
        //    panics, the attempt it was to run is ended as by `cancel`
        //    (awaiters wait for a restart), then the panic goes on to the
        //    caller: no attempt is left that nothing runs.
        let made = {
            let mut factory = self.factory.lock();
            // While it runs, a `start` from inside it on this thread errors
            // instead of deadlocking on `factory` (the guard catches every
            // panic, so the mark is always cleared).
            #[cfg(feature = "std")]
            self.set_factory_thread(Some(std::thread::current().id()));
            let made = crate::guard::call_user(&mut *factory);
            #[cfg(feature = "std")]
            self.set_factory_thread(None);
            made
        };
        let future = match made {
            Ok(future) => future,
            Err(message) => {
                self.locked(|ctl, _| {
                    if ctl.state.is_running(epoch) {
                        ctl.end_attempt();
                    }
                });
                resume_panic(message)
            }
        };
        // 4. Hand the future to the driver, unless the attempt ended meanwhile.
        let handoff = Handoff { epoch, future };
        let stale = self.locked(|ctl, _| {
            if !ctl.state.is_running(epoch) {
                return Some(handoff);
            }
            ctl.wake_driver = true;
            ctl.mailbox.replace(handoff)
        });
        drop(stale);
        Ok(true)
    }

    /// Ends the running attempt (the driver drops it on its thread); `true`
    /// when there was one.
    pub(super) fn cancel(&self) -> bool {
        self.locked(|ctl, out| {
            ctl.settle(out);
            ctl.end_attempt()
        })
    }

    /// Completes the task with `value` unless it is complete; `Err(value)`
    /// hands a refused value back (to drop outside the lock).
    pub(super) fn set_result(&self, value: T) -> Result<(), T> {
        self.locked(|ctl, out| {
            ctl.settle(out);
            match ctl.state.complete() {
                Complete::Store => {
                    ctl.store(out, Ok(value));
                    Ok(())
                }
                Complete::AlreadyDone => Err(value),
            }
        })
    }

    /// The outcome for an awaiter: a clone of it, `NotStarted` before the
    /// first start, or pending (`waiter` registered, if any).
    pub(super) fn poll_join(&self, waiter: Option<&Waker>) -> Poll<Result<T, TaskError>>
    where
        T: Clone,
    {
        self.locked(|ctl, out| {
            ctl.settle(out);
            if let Some(outcome) = out.peek() {
                Poll::Ready(crate::slot::clone_outcome(outcome))
            } else if ctl.state.phase() == Phase::Idle {
                Poll::Ready(Err(TaskError::NotStarted))
            } else {
                if let Some(waiter) = waiter {
                    out.register(waiter);
                }
                Poll::Pending
            }
        })
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
        self.slot.is_complete()
            || self.locked(|ctl, out| {
                ctl.settle(out);
                out.is_complete()
            })
    }

    /// Blocks this thread until the outcome is known, for at most `timeout`
    /// (`None`: no limit); see `RestartableTask::wait_timeout`.
    #[cfg(feature = "std")]
    pub(super) fn wait(&self, timeout: Option<core::time::Duration>) -> Option<Result<T, TaskError>>
    where
        T: Clone,
    {
        if let Poll::Ready(outcome) = self.poll_join(None) {
            return Some(outcome);
        }
        if timeout.is_some_and(|t| t.is_zero()) {
            return None;
        }
        // On the thread that runs the attempts, it would wait for itself.
        let here = Some(std::thread::current().id());
        if self.slot.with(|ctl, _| ctl.driver_thread == here) {
            return Some(Err(TaskError::would_deadlock_here()));
        }
        self.slot
            .wait_with(timeout, |cx| self.poll_join(Some(cx.waker())))
    }

    /// What driver `id` does at this poll; see [`Driver`].
    pub(super) fn drive(&self, id: u64, waker: &Waker, first: bool) -> Drive {
        self.slot.with(|ctl, out| {
            #[cfg(feature = "std")]
            if first && ctl.state.is_driver(id) {
                if ctl.clock.is_none() {
                    ctl.clock = crate::time::current::driver();
                }
                ctl.driver_thread = Some(std::thread::current().id());
            }
            #[cfg(not(feature = "std"))]
            let _ = first;
            ctl.settle(out);
            ctl.wake_driver = false; // it is the driver that polls
            let action = ctl.state.drive(id, ctl.now(), ctl.timeout);
            let mut handoff = None;
            // A driver told to exit may be a stray: it takes nothing.
            if action != DriverAction::Exit {
                handoff = ctl.mailbox.take();
                match &ctl.driver_waker {
                    Some(w) if w.will_wake(waker) => {}
                    _ => ctl.driver_waker = Some(waker.clone()),
                }
            }
            Drive {
                action,
                handoff,
                clock: ctl.clock.clone(),
            }
        })
    }

    /// The driver's timer for attempt `epoch` fired: `true` if that timed
    /// the task out.
    pub(super) fn timer_fired(&self, epoch: u64) -> bool {
        self.slot.with(|ctl, out| {
            let timed_out = ctl.state.timer_fired(epoch) == Complete::Store;
            if timed_out {
                ctl.store(out, Err(TaskError::TimedOut));
                ctl.wake_driver = false; // it is the driver that asks
            }
            timed_out
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
    /// The future `start` handed over, if any; one for an earlier attempt
    /// is stale, for the driver to drop.
    pub(super) handoff: Option<Handoff>,
    pub(super) clock: Option<Arc<TimerDriver>>,
}

/// Lets a panic caught in user code go on to the caller.
fn resume_panic(message: alloc::string::String) -> ! {
    #[cfg(feature = "std")]
    std::panic::resume_unwind(alloc::boxed::Box::new(message));
    #[cfg(not(feature = "std"))]
    panic!("{message}");
}
