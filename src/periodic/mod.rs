//! Periodic work: [`PeriodicTask`] runs a function every interval on the
//! executor's monotonic clock; [`OnTimePeriodicTask`] runs one at wall-clock
//! times (`at`, then every `at + k·interval`, or a calendar rule).
//!
//! Both are background tasks whose factory returns their schedule loop —
//! wait, run, wait — and share the background task's start/cancel/join
//! methods: each `start` spawns one attempt, cancelling the running one
//! first; `cancel` and dropping the value stop it (silently).

mod on_time;
mod plan;

pub use on_time::OnTimePeriodicTask;

use crate::background::{attempt_methods, Attempt};
use crate::sync::Mutex;
use crate::time::MissedTickBehavior;
use alloc::sync::Arc;
use core::fmt;
use core::future::Future;
use core::time::Duration;

/// Runs `f` every `period`: the time a run takes is subtracted from the wait
/// (runs start at 0, `period`, `2·period`, … from `start`); a run that
/// overruns its period follows a [`MissedTickBehavior`] — by default
/// [`Delay`](MissedTickBehavior::Delay): the next run starts at once, and the
/// schedule restarts from it.
///
/// Start, cancel and drop it like a [`BackgroundTask`](crate::BackgroundTask):
/// [`start`](Self::start) inside an executor, [`start_in`](Self::start_in) an
/// executor, [`start_on`](Self::start_on) a pool from any thread; starting
/// again restarts the schedule; dropping the value cancels it silently.
/// Every method takes `&self`, and the task is `Send + Sync` when `f` is
/// `Send`: another thread can stop or [`join`](Self::join) it. A panic in
/// `f` ends the schedule with `Panicked` (reported to the pool's
/// `on_unhandled` when nobody joins).
///
/// ```
/// use concurrent_tasks::{block_on, sleep, PeriodicTask};
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// let runs = Arc::new(AtomicU32::new(0));
/// let counter = runs.clone();
/// let poll = PeriodicTask::new(Duration::from_millis(10), move || {
///     let counter = counter.clone();
///     async move { counter.fetch_add(1, Ordering::Relaxed); }
/// });
/// block_on(async {
///     poll.start().detach();
///     sleep(Duration::from_millis(35)).await; // runs at 0, 10, 20, 30 ms
///     poll.cancel();
/// });
/// assert!((3..=5).contains(&runs.load(Ordering::Relaxed)));
/// ```
pub struct PeriodicTask<F> {
    f: Arc<Mutex<F>>,
    period: Duration,
    missed: MissedTickBehavior,
    attempt: Attempt<()>,
}

impl<F> PeriodicTask<F> {
    /// A task that will run `f` every `period` once started.
    ///
    /// # Panics
    /// When `period` is zero: it would run `f` back to back forever.
    #[track_caller]
    pub fn new<Fut>(period: Duration, f: F) -> Self
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        assert!(
            !period.is_zero(),
            "PeriodicTask::new: the period must be non-zero"
        );
        PeriodicTask {
            f: Arc::new(Mutex::new(f)),
            period,
            missed: MissedTickBehavior::default(),
            attempt: Attempt::new(),
        }
    }

    /// What to do when a run overruns its period (default
    /// [`MissedTickBehavior::Delay`]); applies from the next `start`.
    ///
    /// ```
    /// use concurrent_tasks::{time::MissedTickBehavior, PeriodicTask};
    /// use std::time::Duration;
    ///
    /// let task = PeriodicTask::new(Duration::from_secs(1), || async {})
    ///     .missed_tick_behavior(MissedTickBehavior::Skip);
    /// assert_eq!(task.period(), Duration::from_secs(1));
    /// ```
    #[must_use = "the builder returns the configured task"]
    pub fn missed_tick_behavior(mut self, behavior: MissedTickBehavior) -> Self {
        self.missed = behavior;
        self
    }

    /// The time between the starts of two runs.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The factory of the attempts: the loop one attempt runs (tick, run
    /// `f`, tick…).
    fn make<Fut>(&self) -> impl Future<Output = ()>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        let (f, period, missed) = (self.f.clone(), self.period, self.missed);
        async move {
            let mut ticks = crate::time::interval(period);
            ticks.set_missed_tick_behavior(missed);
            let mut turns = 0;
            loop {
                pace(&mut turns).await;
                ticks.tick().await;
                next_run(&f).await;
            }
        }
    }

    attempt_methods! {
        "PeriodicTask" -> (),
        where [F: FnMut() -> Fut + 'static, Fut: Future<Output = ()> + 'static],
        send [F: FnMut() -> Fut + Send + 'static, Fut: Future<Output = ()> + Send + 'static];
        // start
        /// Starts the schedule on the executor running on this thread (the first
        /// run at once); a running schedule is cancelled first. The handle
        /// yields only `Err(Cancelled)` or `Err(Panicked(..))`: the loop never
        /// ends by itself.
        ;
        // try_start
        /// ```
        /// use concurrent_tasks::{PeriodicTask, TaskError};
        /// use std::time::Duration;
        ///
        /// let task = PeriodicTask::new(Duration::from_secs(1), || async {});
        /// assert!(matches!(task.try_start(), Err(TaskError::NoExecutor)));
        /// ```
        ;
        // start_in
        /// Starts the schedule on `executor`; a running schedule is cancelled
        /// first.
        ///
        /// ```
        /// use concurrent_tasks::{LocalExecutor, PeriodicTask};
        /// use std::cell::Cell;
        /// use std::rc::Rc;
        /// use std::time::Duration;
        ///
        /// let ex = LocalExecutor::new_manual();
        /// let runs = Rc::new(Cell::new(0));
        /// let r = runs.clone();
        /// let task = PeriodicTask::new(Duration::from_secs(60), move || {
        ///     r.set(r.get() + 1);
        ///     async {}
        /// });
        /// task.start_in(&ex).detach();
        /// ex.run_until_stalled();
        /// ex.advance_time(Duration::from_secs(60));
        /// ex.run_until_stalled();
        /// assert_eq!(runs.get(), 2, "at 0 and 60 s");
        /// ```
        ;
        // start_on
        /// Starts the schedule on a pool (any [`Spawn`](crate::Spawn)), from any
        /// thread, as a *service* of the pool: it runs outside the pool's size
        /// limit, per-task timeout and capacity, and the pool's `stop` cancels it
        /// once the tasks have drained. A running schedule is cancelled first. `f`
        /// and its futures must be `Send`.
        ///
        /// ```
        /// use concurrent_tasks::{BlockingThreadedTaskPool, PeriodicTask};
        /// use std::sync::mpsc;
        /// use std::time::Duration;
        ///
        /// let pool = BlockingThreadedTaskPool::builder().start()?;
        /// let (tx, rx) = mpsc::channel();
        /// let task = PeriodicTask::new(Duration::from_millis(5), move || {
        ///     let _ = tx.send(());
        ///     async {}
        /// });
        /// task.start_on(&pool)?.detach();
        /// for _ in 0..3 {
        ///     rx.recv_timeout(Duration::from_secs(5)).unwrap();
        /// }
        /// pool.stop()?; // drains the tasks, then cancels the schedule
        /// # Ok::<(), concurrent_tasks::TaskError>(())
        /// ```
        ;
        // cancel
        /// Stops the schedule: a run in progress is dropped at its next await
        /// point. Does nothing when not running.
        ;
        // is_running
        /// `true` while the schedule runs (started, not cancelled and dropped).
        ;
        // join
        /// Waits for the running schedule to end and takes its outcome:
        /// `Some(Err(Cancelled))` once cancelled, `Some(Err(Panicked(..)))`
        /// when `f` panicked (the schedule ends there), `None` when never
        /// started or already taken (by `join` or the handle `start` returned).
        ///
        /// ```
        /// use concurrent_tasks::{block_on, PeriodicTask, TaskError};
        /// use std::time::Duration;
        ///
        /// let task = PeriodicTask::new(Duration::from_millis(5), || async { panic!("sensor gone") });
        /// block_on(async {
        ///     task.start().detach();
        ///     assert_eq!(task.join().await, Some(Err(TaskError::Panicked("sensor gone".into()))));
        /// });
        /// ```
        ;
    }
}

/// Counts a turn of a schedule loop, and yields to the executor now and
/// then, however the runs fall (K4).
async fn pace(turns: &mut usize) {
    *turns += 1;
    if *turns % crate::executor::YIELD_EVERY == 0 {
        crate::yield_now().await;
    }
}

/// The next run of `f` (its lock is released before the run is awaited).
fn next_run<F: FnMut() -> Fut, Fut>(f: &Mutex<F>) -> Fut {
    (f.lock())()
}

impl<F> fmt::Debug for PeriodicTask<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: [(&str, &dyn fmt::Debug); 2] = [
            ("period", &self.period),
            ("missed_tick_behavior", &self.missed),
        ];
        self.attempt.debug_task(f, "PeriodicTask", &fields)
    }
}
