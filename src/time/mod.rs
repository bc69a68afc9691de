//! Timers: [`sleep`], [`sleep_until`], [`timeout`], [`interval`], on the
//! current executor's timer wheel.
//!
//! Each executor owns a timer driver: a [`wheel::TimerWheel`] of 1 ms ticks
//! behind a lock, plus the clock it reads ([`Clock`]: the system's, or a
//! [`ManualClock`] a test moves). Deadlines are rounded *up* to the tick, so
//! nothing fires early, and the executor parks until the exact earliest
//! deadline, so nothing fires a millisecond late either. `Duration::MAX` (or
//! any deadline that overflows) means "never" and registers nothing.
//!
//! The timer futures are `Send`: a pool task `async { sleep(d).await }` is a
//! `Send` future. They find their executor when created, so create them
//! inside one (inside [`block_on`](crate::block_on) or a pool task), or go
//! through [`LocalExecutor::sleep`](crate::LocalExecutor::sleep).

pub(crate) mod clock;
pub(crate) mod driver;
#[cfg(feature = "std")]
mod interval;
mod sleep;
pub(crate) mod timeout;
pub mod wheel;

pub use clock::{Clock, ManualClock};
#[cfg(feature = "std")]
pub use interval::{Interval, MissedTickBehavior};
pub use sleep::Sleep;

#[cfg(feature = "std")]
pub use self::current_fns::*;

#[cfg(feature = "std")]
mod current_fns {
    use super::driver::TimerDriver;
    use super::{Interval, Sleep};
    use crate::error::TaskError;
    use crate::executor::current::with_current;
    use alloc::sync::Arc;
    use core::future::Future;
    use core::time::Duration;
    use std::time::Instant;

    fn current_driver() -> Result<Arc<TimerDriver>, TaskError> {
        with_current(|inner| inner.driver.clone()).ok_or(TaskError::NoExecutor)
    }

    #[track_caller]
    fn expect_driver(what: &str) -> Arc<TimerDriver> {
        match current_driver() {
            Ok(driver) => driver,
            Err(_) => panic!(
                "concurrent_tasks::{what} called outside an executor: call it inside \
                 block_on(..) or a pool task, use LocalExecutor::sleep, or use \
                 try_{what} to get an error instead"
            ),
        }
    }

    /// A future that completes `duration` from now (never earlier), on the
    /// current executor's timer wheel.
    ///
    /// `Duration::ZERO` completes at the first poll; `Duration::MAX` never
    /// completes and registers nothing.
    ///
    /// ```
    /// use concurrent_tasks::{block_on, sleep};
    /// use std::time::{Duration, Instant};
    ///
    /// block_on(async {
    ///     let start = Instant::now();
    ///     sleep(Duration::from_millis(20)).await;
    ///     assert!(start.elapsed() >= Duration::from_millis(20));
    /// });
    /// ```
    ///
    /// # Panics
    /// Outside an executor; [`try_sleep`] returns an error instead.
    #[track_caller]
    pub fn sleep(duration: Duration) -> Sleep {
        Sleep::after(expect_driver("sleep"), duration)
    }

    /// Like [`sleep`], but [`TaskError::NoExecutor`] outside an executor.
    ///
    /// ```
    /// use concurrent_tasks::{time::try_sleep, TaskError};
    /// use std::time::Duration;
    /// assert!(matches!(try_sleep(Duration::from_secs(1)), Err(TaskError::NoExecutor)));
    /// ```
    pub fn try_sleep(duration: Duration) -> Result<Sleep, TaskError> {
        current_driver().map(|driver| Sleep::after(driver, duration))
    }

    /// A future that completes at `deadline` (at once if it has passed).
    ///
    /// ```
    /// use concurrent_tasks::{block_on, sleep_until};
    /// use std::time::{Duration, Instant};
    ///
    /// block_on(async {
    ///     let at = Instant::now() + Duration::from_millis(15);
    ///     sleep_until(at).await;
    ///     assert!(Instant::now() >= at);
    /// });
    /// ```
    ///
    /// # Panics
    /// Outside an executor; [`try_sleep_until`] returns an error instead.
    #[track_caller]
    pub fn sleep_until(deadline: Instant) -> Sleep {
        let driver = expect_driver("sleep_until");
        let at = driver.nanos_at(deadline);
        Sleep::at(driver, at)
    }

    /// Like [`sleep_until`], but [`TaskError::NoExecutor`] outside an executor.
    pub fn try_sleep_until(deadline: Instant) -> Result<Sleep, TaskError> {
        let driver = current_driver()?;
        let at = driver.nanos_at(deadline);
        Ok(Sleep::at(driver, at))
    }

    /// Runs `future` for at most `duration`: its output, or
    /// `Err(TaskError::TimedOut)` (and `future` is dropped). The time limit
    /// starts now, when `timeout` is called.
    ///
    /// ```
    /// use concurrent_tasks::{block_on, sleep, timeout, TaskError};
    /// use std::time::Duration;
    ///
    /// block_on(async {
    ///     let slow = timeout(Duration::from_millis(5), sleep(Duration::from_secs(9)));
    ///     assert_eq!(slow.await, Err(TaskError::TimedOut));
    ///     assert_eq!(timeout(Duration::from_secs(9), async { 1 }).await, Ok(1));
    /// });
    /// ```
    ///
    /// # Panics
    /// Outside an executor; [`try_timeout`] returns an error instead.
    #[track_caller]
    pub fn timeout<F: Future>(
        duration: Duration,
        future: F,
    ) -> impl Future<Output = Result<F::Output, TaskError>> {
        super::timeout::race(sleep(duration), future)
    }

    /// Like [`timeout`], but [`TaskError::NoExecutor`] outside an executor.
    pub fn try_timeout<F: Future>(
        duration: Duration,
        future: F,
    ) -> Result<impl Future<Output = Result<F::Output, TaskError>>, TaskError> {
        Ok(super::timeout::race(try_sleep(duration)?, future))
    }

    /// Like [`timeout`], with the limit given as a point in time.
    ///
    /// # Panics
    /// Outside an executor.
    #[track_caller]
    pub fn timeout_at<F: Future>(
        deadline: Instant,
        future: F,
    ) -> impl Future<Output = Result<F::Output, TaskError>> {
        super::timeout::race(sleep_until(deadline), future)
    }

    /// Ticks every `period`, the first tick at once. Missed ticks follow
    /// [`MissedTickBehavior::Delay`](super::MissedTickBehavior) unless set
    /// otherwise.
    ///
    /// ```
    /// use concurrent_tasks::{block_on, interval, time::MissedTickBehavior};
    /// use std::time::Duration;
    ///
    /// block_on(async {
    ///     let mut ticks = interval(Duration::from_millis(5));
    ///     ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    ///     let first = ticks.tick().await;
    ///     let second = ticks.tick().await;
    ///     assert_eq!(second - first, Duration::from_millis(5));
    /// });
    /// ```
    ///
    /// # Panics
    /// When `period` is zero (it would tick forever without waiting), or
    /// outside an executor.
    #[track_caller]
    pub fn interval(period: Duration) -> Interval {
        assert!(
            !period.is_zero(),
            "concurrent_tasks::interval: the period must be non-zero"
        );
        Interval::new(sleep(Duration::ZERO), period)
    }

    /// Ticks every `period`, the first tick at `start`.
    ///
    /// # Panics
    /// When `period` is zero, or outside an executor.
    #[track_caller]
    pub fn interval_at(start: Instant, period: Duration) -> Interval {
        assert!(
            !period.is_zero(),
            "concurrent_tasks::interval_at: the period must be non-zero"
        );
        Interval::new(sleep_until(start), period)
    }

    /// The current executor's idea of now: the real time, or its
    /// [`ManualClock`](super::ManualClock)'s time mapped onto `Instant`.
    ///
    /// # Panics
    /// Outside an executor; [`try_now`] returns an error instead.
    #[track_caller]
    pub fn now() -> Instant {
        let driver = expect_driver("now");
        driver.to_instant(driver.now()).unwrap_or_else(Instant::now)
    }

    /// Like [`now`], but [`TaskError::NoExecutor`] outside an executor.
    ///
    /// ```
    /// use concurrent_tasks::{block_on, time, TaskError};
    ///
    /// assert_eq!(time::try_now(), Err(TaskError::NoExecutor));
    /// block_on(async { assert!(time::try_now().is_ok()) });
    /// ```
    pub fn try_now() -> Result<Instant, TaskError> {
        let driver = current_driver()?;
        Ok(driver.to_instant(driver.now()).unwrap_or_else(Instant::now))
    }
}
