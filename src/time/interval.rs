//! `Interval`: ticks at a fixed rate, with a policy for missed ticks.

use super::Sleep;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::time::Instant;

/// What an [`Interval`] does when a tick is late by a whole period or more
/// (the task was busy, or the thread was descheduled).
///
/// With a period of 10 ms and ticks due at 10, 20, 30 … ms, a tick taken at
/// 35 ms leads to the next one at:
///
/// | behaviour | next ticks |
/// |---|---|
/// | `Burst` | 20, 30 at once, then 40, 50 … (catch up on every missed tick) |
/// | `Delay` | 45, 55 … (restart the schedule from now) |
/// | `Skip`  | 40, 50 … (drop the missed ticks, stay on the grid) |
///
/// ```
/// use concurrent_tasks::time::MissedTickBehavior;
/// assert_eq!(MissedTickBehavior::default(), MissedTickBehavior::Delay);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MissedTickBehavior {
    /// Fire every missed tick as fast as possible, then continue on the grid.
    Burst,
    /// Start a new schedule one period after the late tick (the default).
    #[default]
    Delay,
    /// Skip missed ticks; the next tick is the next grid point after now.
    Skip,
}

impl MissedTickBehavior {
    /// The tick after one scheduled at `scheduled` and taken at `now`, all
    /// in driver nanoseconds; `None` when it overflows (never).
    fn next(self, scheduled: u64, now: u64, period: u64) -> Option<u64> {
        let on_grid = scheduled.checked_add(period)?;
        if now < on_grid {
            return Some(on_grid);
        }
        match self {
            MissedTickBehavior::Burst => Some(on_grid),
            MissedTickBehavior::Delay => now.checked_add(period),
            MissedTickBehavior::Skip => {
                let periods = (now - scheduled) / period + 1;
                scheduled.checked_add(period.checked_mul(periods)?)
            }
        }
    }
}

/// A stream of ticks every `period`, from [`interval`](crate::interval) or
/// [`interval_at`](crate::interval_at). The first tick completes at the
/// start time (at once for `interval`).
///
/// ```
/// use concurrent_tasks::{block_on, interval};
/// use std::time::{Duration, Instant};
///
/// block_on(async {
///     let start = Instant::now();
///     let mut every = interval(Duration::from_millis(10));
///     for _ in 0..3 {
///         every.tick().await; // at 0, 10 and 20 ms
///     }
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// });
/// ```
#[derive(Debug)]
pub struct Interval {
    sleep: Sleep,
    period: u64,
    missed: MissedTickBehavior,
}

impl Interval {
    pub(crate) fn new(sleep: Sleep, period: Duration) -> Self {
        // Periods past u64 nanoseconds (584 years) behave as "never again".
        let period = super::driver::duration_nanos(period).unwrap_or(u64::MAX);
        Interval {
            sleep,
            period,
            missed: MissedTickBehavior::default(),
        }
    }

    /// Completes at the next tick and returns the time it was scheduled for.
    pub async fn tick(&mut self) -> Instant {
        core::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick: `Ready(scheduled time)` once it is due.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let next = |fired, now| self.missed.next(fired, now, self.period);
        Poll::Ready(self.sleep.rearm(next))
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        self.sleep.reset_after(Duration::from_nanos(self.period));
    }

    /// The period between ticks.
    pub fn period(&self) -> Duration {
        Duration::from_nanos(self.period)
    }

    /// The policy for missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// Sets the policy for missed ticks (default [`MissedTickBehavior::Delay`]).
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }
}

impl futures_core::Stream for Interval {
    type Item = Instant;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.poll_tick(cx).map(Some)
    }
}

#[cfg(test)]
mod tests;
