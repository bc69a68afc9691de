//! Time sources for an executor: the real monotonic clock (std) or a
//! [`ManualClock`] that only moves when told to.
//!
//! Every timer-driven primitive reads time through the executor's clock, so a
//! test can run hours of timers in microseconds and see exactly what fires
//! when.

use crate::sync::Mutex;
use alloc::sync::Arc;
use core::fmt;
use core::time::Duration;

/// A clock that moves only when [`advance`](ManualClock::advance) is called.
///
/// Clones share one time. Give one to
/// [`LocalExecutor::with_clock`](crate::LocalExecutor::with_clock) and move
/// time from the test; inside [`block_on`](crate::LocalExecutor::block_on), an
/// executor on a manual clock that has nothing to do but wait for a timer
/// jumps the clock straight to that timer's deadline (auto-advance), so timer
/// logic runs at full speed.
///
/// ```
/// use concurrent_tasks::{time::ManualClock, LocalExecutor};
/// use std::time::Duration;
///
/// let clock = ManualClock::new();
/// let ex = LocalExecutor::with_clock(clock.clone());
/// let slow = ex.spawn({
///     let sleep = ex.sleep(Duration::from_secs(3600));
///     async move { sleep.await; "an hour later" }
/// });
/// ex.run_until_stalled();
/// assert!(!slow.is_finished());
/// clock.advance(Duration::from_secs(3600));
/// ex.run_until_stalled();
/// assert!(slow.is_finished());
/// assert_eq!(clock.now(), Duration::from_secs(3600));
/// ```
#[derive(Clone, Default)]
pub struct ManualClock {
    nanos: Arc<Mutex<u64>>,
}

impl ManualClock {
    /// A clock at time zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Time since this clock's origin.
    pub fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos())
    }

    /// Moves time forward by `by` (saturating at about 584 years).
    pub fn advance(&self, by: Duration) {
        let by = super::driver::duration_nanos(by).unwrap_or(u64::MAX);
        let mut nanos = self.nanos.lock();
        *nanos = nanos.saturating_add(by);
    }

    /// Moves time forward to `to`, if it is later than now.
    pub fn advance_to(&self, to: Duration) {
        let to = super::driver::duration_nanos(to).unwrap_or(u64::MAX);
        let mut nanos = self.nanos.lock();
        *nanos = (*nanos).max(to);
    }

    pub(crate) fn nanos(&self) -> u64 {
        *self.nanos.lock()
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ManualClock").field(&self.now()).finish()
    }
}

/// Where an executor reads the time: the system's monotonic clock (the
/// default with `std`) or a [`ManualClock`].
///
/// ```
/// use concurrent_tasks::time::{Clock, ManualClock};
/// let manual = ManualClock::new();
/// let clock: Clock = manual.clone().into();
/// assert!(clock.is_manual());
/// # #[cfg(feature = "std")]
/// assert!(!Clock::system().is_manual());
/// ```
#[derive(Clone, Debug)]
pub struct Clock {
    kind: ClockKind,
}

#[derive(Clone, Debug)]
pub(crate) enum ClockKind {
    #[cfg(feature = "std")]
    System,
    Manual(ManualClock),
}

impl Clock {
    /// The operating system's monotonic clock (`std::time::Instant`).
    #[cfg(feature = "std")]
    pub fn system() -> Self {
        Clock {
            kind: ClockKind::System,
        }
    }

    /// A clock that moves only when `clock` is advanced.
    pub fn manual(clock: ManualClock) -> Self {
        Clock {
            kind: ClockKind::Manual(clock),
        }
    }

    /// `true` for a [`ManualClock`].
    pub fn is_manual(&self) -> bool {
        matches!(self.kind, ClockKind::Manual(_))
    }

    pub(crate) fn kind(&self) -> &ClockKind {
        &self.kind
    }
}

impl From<ManualClock> for Clock {
    fn from(clock: ManualClock) -> Self {
        Clock::manual(clock)
    }
}

impl Default for Clock {
    /// The system clock with `std`, a fresh [`ManualClock`] without.
    fn default() -> Self {
        #[cfg(feature = "std")]
        return Clock::system();
        #[cfg(not(feature = "std"))]
        return Clock::manual(ManualClock::new());
    }
}
