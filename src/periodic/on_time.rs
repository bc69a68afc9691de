//! `OnTimePeriodicTask`: runs at wall-clock times, mapped onto the
//! executor's monotonic timer wheel.
//!
//! The wheel counts monotonic time; the schedule is in `SystemTime`. Each
//! wait sleeps for the wall-clock distance to the next run, then reads the
//! wall clock again: a clock stepped back means more sleeping, never an early
//! run. Long waits re-read it at least once a minute, so a clock stepped
//! forward is noticed within a minute.

use super::plan::{Plan, Rule, ScheduleFn, Step};
use super::{next_run, pace};
use crate::background::{attempt_methods, Attempt};
use crate::sync::Mutex;
use alloc::sync::Arc;
use core::fmt;
use core::future::Future;
use core::time::Duration;
use std::time::SystemTime;

/// The longest monotonic sleep between two readings of the wall clock.
const RECHECK: Duration = Duration::from_secs(60);

/// Reads the wall clock (`SystemTime::now` unless a test injects another).
type WallClock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Runs `f` at a wall-clock time `at` (never before it), then — with
/// [`interval`](Self::interval) — at every `at + k·interval`, not drifting
/// with `f`'s run time; or at the times a calendar rule gives
/// ([`schedule`](Self::schedule)).
///
/// Started after `at` with an interval (or a schedule rule), it runs at the
/// first time still ahead, in both modes. A run whose time passed while `f`
/// ran (it overran), and a single run at a past `at`, are **overdue**:
/// skipped when [`ignore_overdue`](Self::ignore_overdue) is `true` (the
/// default), run at once otherwise — once, for the latest passed time,
/// however many passed. Times closer together than a millisecond (one timer
/// tick) are merged into one run.
///
/// Every method takes `&self`, and the task is `Send + Sync` when `f` is
/// `Send`. A panic in `f` or in the schedule rule ends the schedule with
/// `Panicked`.
///
/// Start, cancel and drop it like a [`BackgroundTask`](crate::BackgroundTask).
/// The handle `start` returns yields `Ok(())` once the schedule has no run
/// left.
///
/// ```
/// use concurrent_tasks::{block_on, OnTimePeriodicTask};
/// use std::sync::{Arc, Mutex};
/// use std::time::{Duration, SystemTime};
///
/// let ran_at = Arc::new(Mutex::new(Vec::new()));
/// let log = ran_at.clone();
/// let at = SystemTime::now() + Duration::from_millis(20);
/// let report = OnTimePeriodicTask::new(
///     move || {
///         log.lock().unwrap().push(SystemTime::now());
///         async {}
///     },
///     at,
/// );
/// block_on(async { report.start().await })?; // one run: the schedule ends
/// assert!(ran_at.lock().unwrap()[0] >= at, "never early");
/// # Ok::<(), concurrent_tasks::TaskError>(())
/// ```
///
/// Calendar rules the crate does not carry (time zones, daylight saving)
/// plug in through [`schedule`](Self::schedule); see its example.
pub struct OnTimePeriodicTask<F> {
    f: Arc<Mutex<F>>,
    at: SystemTime,
    rule: Rule,
    ignore_overdue: bool,
    wall: WallClock,
    attempt: Attempt<()>,
}

impl<F> OnTimePeriodicTask<F> {
    /// A task that will run `f` once at `at` when started (add
    /// [`interval`](Self::interval) or [`schedule`](Self::schedule) to repeat).
    pub fn new<Fut>(f: F, at: SystemTime) -> Self
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        OnTimePeriodicTask {
            f: Arc::new(Mutex::new(f)),
            at,
            rule: Rule::Once,
            ignore_overdue: true,
            wall: Arc::new(SystemTime::now),
            attempt: Attempt::new(),
        }
    }

    /// Repeats every `interval` after `at`: runs at `at + k·interval`.
    /// Replaces a [`schedule`](Self::schedule) set before (the last one set
    /// wins).
    ///
    /// ```
    /// use concurrent_tasks::OnTimePeriodicTask;
    /// use std::time::{Duration, SystemTime};
    ///
    /// let midnight = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
    /// let daily = OnTimePeriodicTask::new(|| async { /* report */ }, midnight)
    ///     .interval(Duration::from_secs(86_400));
    /// # drop(daily);
    /// ```
    ///
    /// # Panics
    /// When `interval` is zero (every run would be at the same time).
    #[track_caller]
    #[must_use = "the builder returns the configured task"]
    pub fn interval(mut self, interval: Duration) -> Self {
        assert!(
            !interval.is_zero(),
            "OnTimePeriodicTask::interval: the interval must be non-zero"
        );
        self.rule = Rule::Every(interval);
        self
    }

    /// Replaces [`interval`](Self::interval) by a calendar rule: after each
    /// run — or skipped overdue run — the rule gets that run's scheduled time
    /// and returns the next one (`None` ends the task). A time not later than
    /// the one it was given ends the task too (it would repeat forever).
    /// The last of `interval` / `schedule` set wins.
    ///
    /// This is where time zones and daylight saving plug in. "Every day at
    /// 09:00 in Paris" with the `chrono` and `chrono-tz` crates: the gap is
    /// 23 hours on the day the clocks go forward (not a doctest: the crate
    /// has no time-zone dependency; `benches/peers/tests/on_time_chrono.rs`
    /// compiles and runs it).
    ///
    /// ```ignore
    /// use chrono::{DateTime, Days, TimeZone, Utc};
    /// use chrono_tz::Europe::Paris;
    /// use concurrent_tasks::OnTimePeriodicTask;
    /// use std::time::{Duration, SystemTime};
    ///
    /// fn nine_in_paris_after(last: SystemTime) -> Option<SystemTime> {
    ///     let local = DateTime::<Utc>::from(last).with_timezone(&Paris);
    ///     let mut day = local.date_naive();
    ///     loop {
    ///         // `earliest`: the first 09:00 of a fall-back day; `None` (try the
    ///         // next day) when 09:00 does not exist.
    ///         if let Some(nine) = Paris.from_local_datetime(&day.and_hms_opt(9, 0, 0)?).earliest() {
    ///             let nine = SystemTime::from(nine.with_timezone(&Utc));
    ///             if nine > last {
    ///                 return Some(nine);
    ///             }
    ///         }
    ///         day = day.checked_add_days(Days::new(1))?;
    ///     }
    /// }
    ///
    /// // 28 March 2026, 09:00 in Paris (08:00 UTC); clocks go forward that night.
    /// let first = SystemTime::from(Utc.with_ymd_and_hms(2026, 3, 28, 8, 0, 0).unwrap());
    /// let second = nine_in_paris_after(first).unwrap();
    /// assert_eq!(second.duration_since(first).unwrap(), Duration::from_secs(23 * 3600));
    ///
    /// let daily_report = OnTimePeriodicTask::new(|| async { /* send the report */ }, first)
    ///     .schedule(nine_in_paris_after);
    /// # drop(daily_report);
    /// ```
    ///
    /// The same shape, runnable: every whole 10 ms of the Unix clock.
    ///
    /// ```
    /// use concurrent_tasks::{block_on, OnTimePeriodicTask};
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::sync::Arc;
    /// use std::time::{Duration, SystemTime, UNIX_EPOCH};
    ///
    /// fn next_whole_10ms(after: SystemTime) -> Option<SystemTime> {
    ///     let ms = after.duration_since(UNIX_EPOCH).ok()?.as_millis() as u64;
    ///     Some(UNIX_EPOCH + Duration::from_millis((ms / 10 + 1) * 10))
    /// }
    /// let end = SystemTime::now() + Duration::from_millis(50);
    /// let runs = Arc::new(AtomicU32::new(0));
    /// let r = runs.clone();
    /// let task = OnTimePeriodicTask::new(
    ///     move || { r.fetch_add(1, Ordering::Relaxed); async {} },
    ///     next_whole_10ms(SystemTime::now()).unwrap(),
    /// )
    /// .schedule(move |last| next_whole_10ms(last).filter(|next| *next <= end));
    /// block_on(async { task.start().await })?;
    /// assert!((3..=6).contains(&runs.load(Ordering::Relaxed)));
    /// # Ok::<(), concurrent_tasks::TaskError>(())
    /// ```
    #[must_use = "the builder returns the configured task"]
    pub fn schedule(
        mut self,
        rule: impl Fn(SystemTime) -> Option<SystemTime> + Send + Sync + 'static,
    ) -> Self {
        self.rule = Rule::Custom(Arc::new(rule) as ScheduleFn);
        self
    }

    /// `true` (the default): a run whose time has passed is skipped.
    /// `false`: it runs at once (once, for the latest passed time).
    ///
    /// ```
    /// use concurrent_tasks::{block_on, OnTimePeriodicTask};
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::sync::Arc;
    /// use std::time::{Duration, SystemTime};
    ///
    /// let ran = Arc::new(AtomicBool::new(false));
    /// let r = ran.clone();
    /// let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    /// let catch_up = OnTimePeriodicTask::new(
    ///     move || { r.store(true, Ordering::Relaxed); async {} },
    ///     an_hour_ago,
    /// )
    /// .ignore_overdue(false);
    /// block_on(async { catch_up.start().await })?;
    /// assert!(ran.load(Ordering::Relaxed), "the overdue run ran at once");
    /// # Ok::<(), concurrent_tasks::TaskError>(())
    /// ```
    #[must_use = "the builder returns the configured task"]
    pub fn ignore_overdue(mut self, ignore: bool) -> Self {
        self.ignore_overdue = ignore;
        self
    }

    /// Reads the wall clock from `now` instead of [`SystemTime::now`]: for
    /// tests, which can then step the clock (see
    /// `tests/periodic_on_time.rs`), or for a clock of the program's own.
    #[must_use = "the builder returns the configured task"]
    pub fn wall_clock(mut self, now: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.wall = Arc::new(now);
        self
    }

    /// The factory of the attempts: the loop one attempt runs (plan, wait
    /// on the wall clock, run, repeat).
    fn make<Fut>(&self) -> impl Future<Output = ()>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        let (f, wall) = (self.f.clone(), self.wall.clone());
        let mut plan = Plan::new(self.at, self.rule.clone(), self.ignore_overdue);
        async move {
            let mut turns = 0;
            loop {
                pace(&mut turns).await;
                let scheduled = match plan.step(wall()) {
                    Step::Done => return,
                    Step::Busy => {
                        crate::yield_now().await;
                        continue;
                    }
                    Step::RunNow(at) => at,
                    Step::Wait(at) => {
                        wait_for_wall(&*wall, at).await;
                        at
                    }
                };
                next_run(&f).await;
                plan.ran(scheduled);
            }
        }
    }

    attempt_methods! {
        "OnTimePeriodicTask" -> (),
        where [F: FnMut() -> Fut + 'static, Fut: Future<Output = ()> + 'static],
        send [F: FnMut() -> Fut + Send + 'static, Fut: Future<Output = ()> + Send + 'static];
        // start
        /// Starts the schedule on the executor running on this thread; a running
        /// schedule is cancelled first, and the new one starts from `at` again.
        ;
        // try_start
        /// ```
        /// use concurrent_tasks::{OnTimePeriodicTask, TaskError};
        /// use std::time::SystemTime;
        ///
        /// let task = OnTimePeriodicTask::new(|| async {}, SystemTime::now());
        /// assert!(matches!(task.try_start(), Err(TaskError::NoExecutor)));
        /// ```
        ;
        // start_in
        /// Starts the schedule on `executor`; a running one is cancelled first.
        ///
        /// ```
        /// use concurrent_tasks::{LocalExecutor, OnTimePeriodicTask};
        /// use std::time::SystemTime;
        ///
        /// let ex = LocalExecutor::new();
        /// let task = OnTimePeriodicTask::new(|| async {}, SystemTime::now());
        /// assert_eq!(ex.block_on(task.start_in(&ex)), Ok(()));
        /// ```
        ;
        // start_on
        /// Starts the schedule on a pool (any [`Spawn`](crate::Spawn)), from any
        /// thread, as a *service* of the pool: outside its size limit, timeout
        /// and capacity; the pool's `stop` cancels it once the tasks have drained. A
        /// running one is cancelled first. `f` and its futures must be `Send`.
        ///
        /// ```
        /// use concurrent_tasks::{BlockingThreadedTaskPool, OnTimePeriodicTask};
        /// use std::time::{Duration, SystemTime};
        ///
        /// let pool = BlockingThreadedTaskPool::builder().start()?;
        /// let soon = SystemTime::now() + Duration::from_millis(5);
        /// let task = OnTimePeriodicTask::new(|| async {}, soon);
        /// task.start_on(&pool)?.wait()?;
        /// # Ok::<(), concurrent_tasks::TaskError>(())
        /// ```
        ;
        // cancel
        /// Stops the schedule: a run in progress is dropped at its next await
        /// point. Does nothing when not running.
        ;
        // is_running
        /// `true` while the schedule runs.
        ;
        // join
        /// Waits for the running schedule to end and takes its outcome:
        /// `Some(Ok(()))` once no run is left, `Some(Err(Cancelled))` once
        /// cancelled, `Some(Err(Panicked(..)))` when `f` or the schedule rule
        /// panicked (the schedule ends there), `None` when never started or
        /// already taken (by `join` or the handle `start` returned).
        ///
        /// ```
        /// use concurrent_tasks::{block_on, OnTimePeriodicTask};
        /// use std::time::{Duration, SystemTime};
        ///
        /// let soon = SystemTime::now() + Duration::from_millis(5);
        /// let task = OnTimePeriodicTask::new(|| async {}, soon);
        /// block_on(async {
        ///     task.start().detach();
        ///     assert_eq!(task.join().await, Some(Ok(()))); // its one run is done
        /// });
        /// ```
        ;
    }
}

/// Sleeps on the monotonic wheel until the wall clock reads `at` or later.
async fn wait_for_wall(wall: &(dyn Fn() -> SystemTime + Send + Sync), at: SystemTime) {
    while let Ok(left) = at.duration_since(wall()) {
        if left.is_zero() {
            return;
        }
        crate::time::sleep(left.min(RECHECK)).await;
    }
}

impl<F> fmt::Debug for OnTimePeriodicTask<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: [(&str, &dyn fmt::Debug); 3] = [
            ("at", &self.at),
            ("rule", &self.rule),
            ("ignore_overdue", &self.ignore_overdue),
        ];
        self.attempt.debug_task(f, "OnTimePeriodicTask", &fields)
    }
}
