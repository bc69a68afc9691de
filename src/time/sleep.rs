//! `Sleep`: a future that completes at a deadline on an executor's timer
//! driver.

use super::driver::TimerDriver;
use crate::slab::Key;
use alloc::sync::Arc;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

/// Future returned by [`sleep`](crate::sleep), [`sleep_until`](crate::sleep_until)
/// and [`LocalExecutor::sleep`](crate::LocalExecutor::sleep): completes once
/// its deadline has passed — never before.
///
/// It is `Send + Sync` and `Unpin`. It registers with its executor's wheel on
/// the first poll that finds it not yet due; dropping it cancels the
/// registration in O(1), from any thread. A deadline too far to represent
/// (such as `Duration::MAX` from now) never completes and registers nothing.
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    driver: Arc<TimerDriver>,
    /// Exact deadline in driver nanoseconds; `None` is "never".
    deadline: Option<u64>,
    /// The driver entry and the deadline it was filed at, once polled.
    registration: Option<(Key, u64)>,
}

impl Sleep {
    pub(crate) fn at(driver: Arc<TimerDriver>, deadline: Option<u64>) -> Self {
        Sleep {
            driver,
            deadline,
            registration: None,
        }
    }

    pub(crate) fn after(driver: Arc<TimerDriver>, duration: Duration) -> Self {
        let deadline = driver.deadline_after(duration);
        Self::at(driver, deadline)
    }

    /// `true` once the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        self.deadline.is_some_and(|at| self.driver.now() >= at)
    }

    /// The deadline, or `None` for a sleep that never ends.
    #[cfg(feature = "std")]
    pub fn deadline(&self) -> Option<std::time::Instant> {
        self.deadline.and_then(|at| self.driver.to_instant(at))
    }

    /// Moves the deadline to `deadline` (earlier or later), as if the sleep
    /// had been created with it. Cheap: pushing a deadline later keeps the
    /// registration in place until it fires.
    #[cfg(feature = "std")]
    pub fn reset(&mut self, deadline: std::time::Instant) {
        self.deadline = self.driver.nanos_at(deadline);
    }

    /// Moves the deadline to `duration` from now.
    pub fn reset_after(&mut self, duration: Duration) {
        self.deadline = self.driver.deadline_after(duration);
    }

    /// The deadline in driver nanoseconds (`None`: never).
    #[cfg(feature = "std")]
    pub(crate) fn deadline_nanos(&self) -> Option<u64> {
        self.deadline
    }

    #[cfg(feature = "std")]
    pub(crate) fn set_deadline_nanos(&mut self, deadline: Option<u64>) {
        self.deadline = deadline;
    }

    #[cfg(feature = "std")]
    pub(crate) fn driver(&self) -> &Arc<TimerDriver> {
        &self.driver
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let Some(deadline) = this.deadline else {
            return Poll::Pending; // never: nothing to register
        };
        this.driver
            .poll_timer(&mut this.registration, deadline, cx.waker())
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some((key, _)) = self.registration.take() {
            self.driver.cancel(key);
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline_ns", &self.deadline)
            .field("registered", &self.registration.is_some())
            .finish()
    }
}
