//! The crate's timer functions (`sleep`, `timeout`, `interval`, `now` and
//! their `try_` twins), on the driver of the executor running on this thread.

use super::driver::TimerDriver;
use super::sleep::MadeBy;
use super::{Interval, Sleep};
use crate::error::TaskError;
use alloc::sync::Arc;
use core::future::Future;
use core::time::Duration;
use std::time::Instant;

fn current_driver() -> Result<Arc<TimerDriver>, TaskError> {
    super::current::driver().ok_or(TaskError::NoExecutor)
}

/// A future that completes `duration` from now (never earlier), on the
/// timer wheel of the executor that polls it.
///
/// Made inside an executor ([`block_on`](crate::block_on), a pool task),
/// the duration counts from now; made outside, from its first poll — so
/// `pool.run(sleep(d))` works from a plain thread. `Duration::ZERO`
/// completes at the first poll; `Duration::MAX` never completes and
/// registers nothing.
///
/// ```
/// use concurrent_tasks::{block_on, sleep, BlockingThreadedTaskPool};
/// use std::time::{Duration, Instant};
///
/// block_on(async {
///     let start = Instant::now();
///     sleep(Duration::from_millis(20)).await;
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// });
///
/// // Made on this (plain) thread, run on the pool's.
/// let pool = BlockingThreadedTaskPool::builder().start()?;
/// pool.run(sleep(Duration::from_millis(5)))?;
/// # Ok::<(), concurrent_tasks::TaskError>(())
/// ```
///
/// # Panics
/// When polled outside every executor of this crate (in another
/// runtime, or by hand). [`try_sleep`] binds at once instead, or says
/// [`TaskError::NoExecutor`].
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::after_here(duration, MadeBy::Sleep)
}

/// Like [`sleep`], bound to the current executor now, or
/// [`TaskError::NoExecutor`] outside one.
///
/// ```
/// use concurrent_tasks::{time::try_sleep, TaskError};
/// use std::time::Duration;
/// assert!(matches!(try_sleep(Duration::from_secs(1)), Err(TaskError::NoExecutor)));
/// ```
pub fn try_sleep(duration: Duration) -> Result<Sleep, TaskError> {
    current_driver().map(|driver| Sleep::after(driver, duration).made_by(MadeBy::Sleep))
}

/// A future that completes at `deadline` (at its first poll if it has
/// passed), on the timer wheel of the executor that polls it.
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
/// When polled outside every executor of this crate; see [`sleep`].
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::until_here(deadline, MadeBy::SleepUntil)
}

/// Like [`sleep_until`], bound to the current executor now, or
/// [`TaskError::NoExecutor`] outside one.
pub fn try_sleep_until(deadline: Instant) -> Result<Sleep, TaskError> {
    let driver = current_driver()?;
    let at = driver.nanos_at(deadline);
    Ok(Sleep::at(driver, at).made_by(MadeBy::SleepUntil))
}

/// Runs `future` for at most `duration`: its output, or
/// `Err(TaskError::TimedOut)` (and `future` is dropped). The limit
/// counts from now inside an executor, from the first poll outside one
/// (so `pool.run(timeout(d, fetch()))` works from a plain thread).
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
/// When polled outside every executor of this crate; see [`sleep`].
pub fn timeout<F: Future>(
    duration: Duration,
    future: F,
) -> impl Future<Output = Result<F::Output, TaskError>> {
    super::timeout::race(Sleep::after_here(duration, MadeBy::Timeout), future)
}

/// Like [`timeout`], bound to the current executor now, or
/// [`TaskError::NoExecutor`] outside one.
pub fn try_timeout<F: Future>(
    duration: Duration,
    future: F,
) -> Result<impl Future<Output = Result<F::Output, TaskError>>, TaskError> {
    let sleep = try_sleep(duration)?.made_by(MadeBy::Timeout);
    Ok(super::timeout::race(sleep, future))
}

/// Like [`timeout`], with the limit given as a point in time.
///
/// # Panics
/// When polled outside every executor of this crate; see [`sleep`].
pub fn timeout_at<F: Future>(
    deadline: Instant,
    future: F,
) -> impl Future<Output = Result<F::Output, TaskError>> {
    super::timeout::race(Sleep::until_here(deadline, MadeBy::TimeoutAt), future)
}

/// Ticks every `period`, the first tick at once (at the first poll when
/// made outside an executor). Missed ticks follow
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
/// when polled outside every executor of this crate.
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "concurrent_tasks::interval: the period must be non-zero"
    );
    Interval::new(Sleep::after_here(Duration::ZERO, MadeBy::Interval), period)
}

/// Ticks every `period`, the first tick at `start`.
///
/// # Panics
/// When `period` is zero, or when polled outside every executor of
/// this crate.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "concurrent_tasks::interval_at: the period must be non-zero"
    );
    Interval::new(Sleep::until_here(start, MadeBy::IntervalAt), period)
}

/// The current executor's idea of now: the real time, or its
/// [`ManualClock`](super::ManualClock)'s time mapped onto `Instant`.
///
/// # Panics
/// Outside an executor; [`try_now`] returns an error instead.
#[track_caller]
pub fn now() -> Instant {
    match try_now() {
        Ok(now) => now,
        Err(_) => panic!(
            "concurrent_tasks::time::now called outside an executor: call it inside \
             block_on(..) or a pool task, or use try_now to get an error instead"
        ),
    }
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
