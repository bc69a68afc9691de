//! [`RestartableTask`]: work that is (re)started and cancelled from anywhere
//! and completed from outside — "send a request, wait for the reply across
//! reconnects".
//!
//! Each [`start`](RestartableTask::start) begins an attempt: it calls the
//! factory `f` (on the caller's thread) and the attempt then waits for a
//! result for at most the timeout. [`cancel`](RestartableTask::cancel) ends
//! the attempt; a later `start` calls `f` again. Whoever holds a clone calls
//! [`set_result`](RestartableTask::set_result) once the reply is there; the
//! first result wins, and every awaiter ([`join`](RestartableTask::join),
//! [`wait`](RestartableTask::wait)) gets a clone of it.
//!
//! Attempts run on a *driver*: one task on an executor, spawned by the first
//! `start` (on the current executor, or where `start_in` / `start_on` say).
//! Later `start`s and `cancel`s from any thread change the shared state and
//! wake it. Layout: `state.rs` is the state machine, `shared.rs` the
//! operations on the shared state, `driver.rs` the driver task.

mod driver;
mod shared;
mod state;

use crate::error::TaskError;
use crate::executor::LocalExecutor;
use crate::time::driver::duration_nanos;
use alloc::boxed::Box;
use alloc::sync::Arc;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use shared::{AttemptFuture, Shared, Target};

/// A task that is started, cancelled and restarted from any thread, and
/// completed from outside with [`set_result`](Self::set_result) — the
/// `RestartableTask` of the Python library asyncio-concurrent-tasks.
///
/// Each [`start`](Self::start) begins an *attempt*: it calls `f` (on the
/// caller's thread, right there) and waits for a result for at most
/// [`timeout`](Self::timeout), counted from the attempt's start on the clock
/// of the executor that runs the attempts; past it the task fails with
/// [`TaskError::TimedOut`]. `f`'s future runs on that executor; its output is
/// ignored (a panic in it ends the attempt's future but not the attempt).
///
/// - `start` while running, `cancel` while not running: no-ops.
/// - `cancel` then `start`: a new attempt, `f` is called again. Awaiters keep
///   waiting across cancels and restarts.
/// - `set_result(v)`: the first completion wins, from any thread, in any
///   phase (also while cancelled, and before the first start); later ones
///   return `false`. Once complete, `start` does nothing.
/// - [`join`](Self::join) / [`wait`](Self::wait) give a clone of the outcome
///   to every awaiter, or `Err(NotStarted)` when asked before the first
///   start.
///
/// It is `Clone + Send + Sync`: every clone is the same task. When the last
/// clone is dropped, nobody can complete the task any more: a started task
/// ends with `Err(Cancelled)` for any awaiter left, and its driver ends.
///
/// ```
/// use concurrent_tasks::{block_on, RestartableTask};
/// use std::time::Duration;
///
/// let answer = block_on(async {
///     let task = RestartableTask::new(|| async { /* send the request */ })
///         .timeout(Duration::from_secs(1));
///     assert!(task.start());   // calls f, on this thread
///     assert!(!task.start());  // already running: a no-op
///     task.cancel();           // connection lost
///     assert!(task.start());   // connection back: f is called again
///     let reader = task.clone();
///     std::thread::spawn(move || reader.set_result(42)); // the reply arrives
///     task.join().await
/// });
/// assert_eq!(answer, Ok(42));
/// ```
///
/// Its timing can be tested on a manual clock:
///
/// ```
/// use concurrent_tasks::{LocalExecutor, RestartableTask, TaskError};
/// use std::time::Duration;
///
/// let ex = LocalExecutor::new_manual();
/// let task = RestartableTask::<u8>::new(|| async {}).timeout(Duration::from_millis(100));
/// assert!(task.start_in(&ex));
/// ex.advance_time(Duration::from_millis(99));
/// ex.run_until_stalled();
/// assert!(!task.is_finished());
/// ex.advance_time(Duration::from_millis(1));
/// ex.run_until_stalled();
/// assert_eq!(ex.block_on(task.join()), Err(TaskError::TimedOut));
/// ```
pub struct RestartableTask<T> {
    shared: Arc<Shared<T>>,
}

impl<T: Send + 'static> RestartableTask<T> {
    /// A task whose attempts call `f` and run its future (output ignored).
    /// No timeout until [`timeout`](Self::timeout) sets one. Nothing runs
    /// before [`start`](Self::start).
    ///
    /// ```
    /// use concurrent_tasks::RestartableTask;
    /// let task: RestartableTask<String> = RestartableTask::new(|| async {});
    /// assert!(!task.is_finished());
    /// ```
    pub fn new<F, Fut>(mut f: F) -> Self
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
    {
        let factory = Box::new(move || -> AttemptFuture {
            let future = f();
            Box::pin(async move {
                let _ = future.await;
            })
        });
        RestartableTask {
            shared: Arc::new(Shared::new(factory)),
        }
    }

    /// Sets each attempt's time limit, counted from the attempt's start
    /// (attempts begun later use it). `Duration::MAX` (the default) is no
    /// limit; `Duration::ZERO` times an attempt out at once.
    ///
    /// ```
    /// use concurrent_tasks::RestartableTask;
    /// use std::time::Duration;
    /// let task = RestartableTask::<u8>::new(|| async {}).timeout(Duration::from_secs(1));
    /// # drop(task);
    /// ```
    #[must_use = "timeout returns the task; keep it"]
    pub fn timeout(self, timeout: Duration) -> Self {
        self.shared.set_timeout(duration_nanos(timeout));
        self
    }

    /// Begins an attempt if none runs and the task is not complete: calls
    /// `f` on this thread and hands its future to the driver. `true` when
    /// this call began an attempt; `false` when one runs already or the task
    /// is complete (a no-op).
    ///
    /// The first `start` (and the first after the driver's executor went
    /// away) spawns the driver on the executor running on this thread;
    /// later ones work from any thread.
    ///
    /// ```
    /// use concurrent_tasks::{block_on, RestartableTask};
    /// block_on(async {
    ///     let task = RestartableTask::<u8>::new(|| async {});
    ///     assert!(task.start());
    ///     assert!(!task.start());
    /// });
    /// ```
    ///
    /// # Panics
    /// When there is no driver and no executor on this thread (outside
    /// [`block_on`](crate::block_on) and pool tasks): use
    /// [`start_in`](Self::start_in), `start_on`, or
    /// [`try_start`](Self::try_start) for an error instead. Also when called
    /// from inside `f` to begin a new attempt (see `try_start`).
    #[track_caller]
    pub fn start(&self) -> bool {
        match self.try_start() {
            Ok(began) => began,
            // The driver went away (its pool stopped, its executor ended)
            // and there is nowhere to start another: not an error of this
            // call (S4).
            #[cfg(feature = "std")]
            Err(TaskError::NoExecutor | TaskError::NotRunning { .. })
                if self.shared.had_driver() =>
            {
                false
            }
            Err(TaskError::NoExecutor) => panic!(
                "RestartableTask::start: no attempt driver yet and no executor on this \
                 thread: call the first start inside block_on(..) or a pool task, use \
                 start_in(&executor) or start_on(&pool), or use try_start to get an error"
            ),
            Err(error) => panic!("RestartableTask::start: {error}"),
        }
    }

    /// Like [`start`](Self::start), but an error instead of a panic or
    /// `false`: `NoExecutor` when there is no driver and no executor on this
    /// thread; `NotRunning` when the pool an earlier driver ran on (with
    /// [`start_on`](Self::start_on)) is not running and there is no
    /// executor here; `WouldDeadlock` when called from inside `f` on its own
    /// thread to begin a new attempt (std). Nothing changed then, and `f`
    /// was not called.
    ///
    /// Where a new driver goes: the pool the last one was started on, if it
    /// runs (again); else the executor running on this thread.
    ///
    /// ```
    /// use concurrent_tasks::{RestartableTask, TaskError};
    /// let task = RestartableTask::<u8>::new(|| async {});
    /// assert_eq!(task.try_start(), Err(TaskError::NoExecutor));
    /// ```
    pub fn try_start(&self) -> Result<bool, TaskError> {
        #[cfg(feature = "std")]
        {
            // 1. The pool of the last driver, if any (S4).
            let mut pool_error = None;
            if let Some(host) = self.shared.host() {
                match self.shared.start(Some(host_target(host))) {
                    Err(error @ TaskError::NotRunning { .. }) => pool_error = Some(error),
                    other => return other,
                }
            }
            // 2. The executor running on this thread.
            let current = crate::executor::current::with_current(Rc::clone);
            let target = current.map(|ex| Target {
                clock: crate::time::current::driver(),
                local: true,
                host: None,
                spawn: move |driver| {
                    ex.spawn(driver).detach();
                    Ok(())
                },
            });
            match self.shared.start(target) {
                Err(TaskError::NoExecutor) => Err(pool_error.unwrap_or(TaskError::NoExecutor)),
                other => other,
            }
        }
        #[cfg(not(feature = "std"))]
        {
            type NoTarget<T> = fn(driver::Driver<T>) -> Result<(), TaskError>;
            self.shared.start::<NoTarget<T>>(None)
        }
    }

    /// Like [`start`](Self::start), but a driver that is needed is spawned
    /// on `executor` (which runs on this thread). The way to start without a
    /// current executor, and without `std`. With a driver alive, `executor`
    /// is not used.
    ///
    /// ```
    /// use concurrent_tasks::{LocalExecutor, RestartableTask};
    /// let ex = LocalExecutor::new_manual();
    /// let task = RestartableTask::new(|| async {});
    /// assert!(task.start_in(&ex));
    /// task.set_result(1);
    /// ex.run_until_stalled(); // the driver sees the result and ends
    /// assert!(ex.is_empty());
    /// assert_eq!(ex.block_on(task.join()), Ok(1));
    /// ```
    ///
    /// # Panics
    /// When called from inside `f` to begin a new attempt.
    #[track_caller]
    pub fn start_in(&self, executor: &LocalExecutor) -> bool {
        let target = Target {
            clock: Some(executor.timer_driver().clone()),
            local: true,
            #[cfg(feature = "std")]
            host: None,
            spawn: |driver| {
                executor.spawn(driver).detach();
                Ok(())
            },
        };
        match self.shared.start(Some(target)) {
            Ok(began) => began,
            Err(error) => panic!("RestartableTask::start_in: {error}"),
        }
    }

    /// Ends the running attempt: its future is dropped on the driver's
    /// thread; awaiters keep waiting for a restart. `true` when an attempt
    /// was running; `false` (a no-op) when not started, cancelled or
    /// complete.
    ///
    /// ```
    /// use concurrent_tasks::{block_on, RestartableTask};
    /// block_on(async {
    ///     let task = RestartableTask::<u8>::new(|| async {});
    ///     assert!(!task.cancel(), "not started");
    ///     task.start();
    ///     assert!(task.cancel());
    ///     assert!(!task.cancel(), "already cancelled");
    /// });
    /// ```
    pub fn cancel(&self) -> bool {
        self.shared.cancel()
    }

    /// Completes the task with `value`, from any thread, in any phase (also
    /// while cancelled or before the first start). `true` when this call
    /// completed it; `false` when it was complete already (first one wins;
    /// `value` is dropped) — including an attempt whose deadline has passed.
    ///
    /// ```
    /// use concurrent_tasks::RestartableTask;
    /// let task = RestartableTask::new(|| async {});
    /// assert!(task.set_result("first"));
    /// assert!(!task.set_result("second"));
    /// ```
    pub fn set_result(&self, value: T) -> bool {
        self.shared.set_result(value).is_ok()
    }

    /// `true` once the outcome is known: a result, `TimedOut`, or
    /// `Cancelled` (all handles dropped).
    ///
    /// ```
    /// use concurrent_tasks::RestartableTask;
    /// let task = RestartableTask::new(|| async {});
    /// assert!(!task.is_finished());
    /// task.set_result(());
    /// assert!(task.is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        self.shared.is_finished()
    }
}

impl<T: Clone + Send + 'static> RestartableTask<T> {
    /// A future for the outcome: `Ok(result)` (a clone for each awaiter),
    /// `Err(TimedOut)`, `Err(NotStarted)` when polled before the first start,
    /// or `Err(Cancelled)` once every handle is gone. It waits across
    /// cancels and restarts; dropping it leaves the attempt running.
    ///
    /// `T::clone` runs under the task's lock: it must not use this task.
    ///
    /// ```
    /// use concurrent_tasks::{block_on, RestartableTask, TaskError};
    /// block_on(async {
    ///     let task = RestartableTask::new(|| async {});
    ///     assert_eq!(task.join().await, Err(TaskError::NotStarted));
    ///     task.start();
    ///     task.set_result(3);
    ///     assert_eq!(task.join().await, Ok(3));
    ///     assert_eq!(task.join().await, Ok(3), "every awaiter gets it");
    /// });
    /// ```
    pub fn join(&self) -> RestartableJoin<T> {
        RestartableJoin {
            shared: self.shared.clone(),
        }
    }

    /// Blocks this thread until the outcome is known; as [`join`](Self::join).
    ///
    /// On the thread that runs the attempts it returns `Err(WouldDeadlock)`
    /// instead of blocking, unless the outcome is already there.
    ///
    /// ```
    /// use concurrent_tasks::{BlockingThreadedTaskPool, RestartableTask};
    ///
    /// let pool = BlockingThreadedTaskPool::builder().start()?;
    /// let task = RestartableTask::new(|| async {});
    /// task.start_on(&pool)?;
    /// let reader = task.clone();
    /// std::thread::spawn(move || reader.set_result("reply"));
    /// assert_eq!(task.wait(), Ok("reply"));
    /// # Ok::<(), concurrent_tasks::TaskError>(())
    /// ```
    #[cfg(feature = "std")]
    pub fn wait(&self) -> Result<T, TaskError> {
        self.shared
            .wait(None)
            .expect("an unlimited wait returns an outcome")
    }

    /// Blocks for at most `timeout`: `None` when the outcome is not known by
    /// then; the task stays usable. `Duration::ZERO` only checks.
    ///
    /// ```
    /// use concurrent_tasks::{RestartableTask, TaskError};
    /// use std::time::Duration;
    /// let task = RestartableTask::new(|| async {});
    /// assert_eq!(task.wait_timeout(Duration::ZERO), Some(Err(TaskError::NotStarted)));
    /// task.set_result(5);
    /// assert_eq!(task.wait_timeout(Duration::from_millis(1)), Some(Ok(5)));
    /// ```
    #[cfg(feature = "std")]
    pub fn wait_timeout(&self, timeout: Duration) -> Option<Result<T, TaskError>> {
        self.shared.wait(Some(timeout))
    }
}

#[cfg(feature = "std")]
impl<T: Send + 'static> RestartableTask<T> {
    /// Like [`start`](Self::start), but a driver that is needed is spawned
    /// on `pool` (a threaded pool, a [`TaskPool`](crate::TaskPool) or its
    /// spawner), from any thread, as a *service*: outside the pool's
    /// size limit, timeout and capacity. With a driver alive, `pool` is not
    /// used. The first attempt's timeout then counts from when the pool
    /// first runs the driver (the pool's clock is not readable from here).
    ///
    /// The pool's `stop` cancels the driver once its tasks have drained;
    /// the running attempt then ends as by [`cancel`](Self::cancel):
    /// awaiters keep waiting, and a later `start` starts a new driver on
    /// this pool if it runs again, else on the current executor, else
    /// returns `false`.
    ///
    /// ```
    /// use concurrent_tasks::{BlockingThreadedTaskPool, RestartableTask};
    ///
    /// let pool = BlockingThreadedTaskPool::builder().start()?;
    /// let task = RestartableTask::new(|| async { /* runs on the pool */ });
    /// assert_eq!(task.start_on(&pool), Ok(true));
    /// task.set_result(1);
    /// assert_eq!(task.wait(), Ok(1));
    /// pool.stop()?;
    /// # Ok::<(), concurrent_tasks::TaskError>(())
    /// ```
    ///
    /// # Errors
    /// The pool's refusal to take the driver (`NotRunning`, `Full`); nothing
    /// changed then, and `f` was not called. `WouldDeadlock` as in
    /// [`try_start`](Self::try_start).
    pub fn start_on(&self, pool: &impl crate::Spawn) -> Result<bool, TaskError> {
        self.shared.start(Some(host_target(pool.service_host())))
    }
}

/// Where a driver goes on a pool (any thread): a service of that pool.
#[cfg(feature = "std")]
fn host_target<T: Send + 'static>(
    host: Arc<dyn crate::pool::ServiceHost>,
) -> Target<impl FnOnce(driver::Driver<T>) -> Result<(), TaskError>> {
    Target {
        clock: None,
        local: false,
        host: Some(host.clone()),
        spawn: move |driver| host.spawn_service(Box::pin(driver)),
    }
}

#[cfg(feature = "std")]
use alloc::rc::Rc;

impl<T> Clone for RestartableTask<T> {
    fn clone(&self) -> Self {
        self.shared.add_handle();
        RestartableTask {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for RestartableTask<T> {
    fn drop(&mut self) {
        self.shared.drop_handle();
    }
}

impl<T> fmt::Debug for RestartableTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_state(&self.shared, "RestartableTask", f)
    }
}

/// Shows the phase, attempts begun and awaiters, or `<locked>`: never blocks.
fn debug_state<T>(shared: &Shared<T>, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    /// What the task shows, read under its lock (and written after it).
    struct Seen {
        phase: &'static str,
        attempts: u64,
        awaiters: usize,
        driver: bool,
    }
    let seen = shared.slot.try_with(|ctl, out| Seen {
        phase: match ctl.state.phase() {
            state::Phase::Idle => "idle",
            state::Phase::Running { .. } => "running",
            state::Phase::Cancelled => "cancelled",
            state::Phase::Done => match out.peek() {
                Some(Ok(_)) => "complete",
                _ => "failed",
            },
        },
        attempts: ctl.state.epoch(),
        awaiters: out.waiters(),
        driver: ctl.state.has_driver(),
    });
    match seen {
        Some(seen) => f
            .debug_struct(name)
            .field("phase", &seen.phase)
            .field("attempts", &seen.attempts)
            .field("awaiters", &seen.awaiters)
            .field("driver", &seen.driver)
            .finish(),
        None => write!(f, "{name}(<locked>)"),
    }
}

/// The future of [`RestartableTask::join`]: the task's outcome, cloned.
///
/// Dropping it leaves the attempt running (it only stops waiting).
///
/// ```
/// use concurrent_tasks::{block_on, RestartableTask};
/// block_on(async {
///     let task = RestartableTask::new(|| async {});
///     task.start();
///     drop(task.join()); // no effect on the task
///     task.set_result('x');
///     assert_eq!(task.join().await, Ok('x'));
/// });
/// ```
#[must_use = "futures do nothing unless awaited; dropping it leaves the task running"]
pub struct RestartableJoin<T> {
    shared: Arc<Shared<T>>,
}

impl<T: Clone + Send + 'static> Future for RestartableJoin<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.shared.poll_join(Some(cx.waker()))
    }
}

impl<T> fmt::Debug for RestartableJoin<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_state(&self.shared, "RestartableJoin", f)
    }
}

// Compile-time checks: every clone can go to any thread.
const _: () = {
    const fn send_sync<X: Send + Sync>() {}
    const fn send<X: Send>() {}
    send_sync::<RestartableTask<u8>>();
    send_sync::<RestartableJoin<u8>>();
    // `T` need not be `Sync`.
    send_sync::<RestartableTask<core::cell::Cell<u8>>>();
    // The driver can go to a pool.
    send::<driver::Driver<core::cell::Cell<u8>>>();
};

#[cfg(test)]
mod tests;
