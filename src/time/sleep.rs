//! `Sleep`: a future that completes at a deadline on the timer driver of the
//! executor that polls it.
//!
//! # Binding (S3, K6)
//! A timer made inside an executor is bound to that executor's driver at
//! once, and its duration counts from then. One made outside every executor
//! is unbound: its duration counts from its first poll, and it binds to the
//! driver of whichever executor polls it. With `std`, every poll checks the
//! thread's current driver: a timer polled by another executor of the crate
//! (its own one dropped, or the timer moved) rebinds there, keeping its
//! deadline as a point in time. Polled outside every executor, it panics,
//! naming the function that made it. Without `std` there is no "current
//! executor": a timer is made by [`LocalExecutor::sleep`](crate::LocalExecutor::sleep)
//! and stays on that executor.

use super::driver::TimerDriver;
use crate::slab::Key;
use alloc::sync::Arc;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

/// Future returned by [`sleep`](fn@crate::sleep), [`sleep_until`](crate::sleep_until)
/// and [`LocalExecutor::sleep`](crate::LocalExecutor::sleep): completes once
/// its deadline has passed — never before.
///
/// It is `Send + Sync` and `Unpin`. It may be made on any thread, in or out
/// of an executor, and registers with the timer wheel of the executor that
/// polls it (see [`sleep`](fn@crate::sleep)). Dropping it cancels the
/// registration in O(1), from any thread. A deadline too far to represent
/// (such as `Duration::MAX` from now) never completes and registers nothing.
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    /// The driver it is bound to; `None` until the first poll of a timer
    /// made outside an executor.
    driver: Option<Arc<TimerDriver>>,
    deadline: Deadline,
    /// The wheel entry, once registered.
    registration: Option<Registration>,
    /// The function the user called, for the message of a poll outside
    /// every executor.
    made_by: MadeBy,
}

/// A sleep's deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Deadline {
    /// Never: registers nothing.
    Never,
    /// At this time on the bound driver, in its nanoseconds.
    At(u64),
    /// Not bound yet: this many nanoseconds after the first poll.
    After(u64),
    /// Not bound yet: at this point in time.
    #[cfg(feature = "std")]
    Until(std::time::Instant),
}

impl Deadline {
    /// At `nanos` on the bound driver (`None`: never).
    fn at(nanos: Option<u64>) -> Self {
        nanos.map_or(Deadline::Never, Deadline::At)
    }

    /// Not bound yet: `duration` after the first poll (never when it does
    /// not fit in `u64` nanoseconds).
    fn after(duration: Duration) -> Self {
        super::driver::duration_nanos(duration).map_or(Deadline::Never, Deadline::After)
    }
}

/// A sleep's entry on its driver, and the deadline it was filed at.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Registration {
    pub(crate) key: Key,
    pub(crate) filed: u64,
}

/// Which function of the crate made a timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "std"), allow(dead_code))] // the free functions need std
pub(crate) enum MadeBy {
    Sleep,
    SleepUntil,
    Timeout,
    TimeoutAt,
    Interval,
    IntervalAt,
    ExecutorSleep,
    Internal,
}

impl MadeBy {
    #[cfg(feature = "std")]
    fn name(self) -> &'static str {
        match self {
            MadeBy::Sleep => "sleep",
            MadeBy::SleepUntil => "sleep_until",
            MadeBy::Timeout => "timeout",
            MadeBy::TimeoutAt => "timeout_at",
            MadeBy::Interval => "interval",
            MadeBy::IntervalAt => "interval_at",
            MadeBy::ExecutorSleep => "LocalExecutor::sleep",
            MadeBy::Internal => "a timer",
        }
    }
}

impl Sleep {
    /// A sleep bound to `driver`, due at `deadline` (`None`: never).
    pub(crate) fn at(driver: Arc<TimerDriver>, deadline: Option<u64>) -> Self {
        Sleep {
            driver: Some(driver),
            deadline: Deadline::at(deadline),
            registration: None,
            made_by: MadeBy::Internal,
        }
    }

    /// A sleep bound to `driver`, due `duration` from now on its clock.
    pub(crate) fn after(driver: Arc<TimerDriver>, duration: Duration) -> Self {
        let deadline = driver.deadline_after(duration);
        Self::at(driver, deadline)
    }

    /// A sleep due `duration` from now: bound to this thread's executor if
    /// there is one, else counted from its first poll.
    #[cfg(feature = "std")]
    pub(crate) fn after_here(duration: Duration, made_by: MadeBy) -> Self {
        Self::here(Deadline::after(duration), made_by)
    }

    /// A sleep due at `deadline`: bound to this thread's executor if there
    /// is one, else at its first poll.
    #[cfg(feature = "std")]
    pub(crate) fn until_here(deadline: std::time::Instant, made_by: MadeBy) -> Self {
        Self::here(Deadline::Until(deadline), made_by)
    }

    /// An unbound sleep due at `deadline`, bound at once to this thread's
    /// executor if there is one.
    #[cfg(feature = "std")]
    fn here(deadline: Deadline, made_by: MadeBy) -> Self {
        let mut sleep = Sleep {
            driver: None,
            deadline,
            registration: None,
            made_by,
        };
        if let Some(driver) = super::current::driver() {
            sleep.rebind(driver);
        }
        sleep
    }

    pub(crate) fn made_by(mut self, made_by: MadeBy) -> Self {
        self.made_by = made_by;
        self
    }

    /// `true` once the deadline has passed (a sleep whose duration counts
    /// from its first poll has not started before it).
    pub fn is_elapsed(&self) -> bool {
        match (self.deadline, &self.driver) {
            (Deadline::At(at), Some(driver)) => driver.now() >= at,
            #[cfg(feature = "std")]
            (Deadline::Until(at), _) => std::time::Instant::now() >= at,
            _ => false,
        }
    }

    /// The deadline; `None` for a sleep that never ends, or for one made
    /// outside an executor with a duration and not polled yet (its deadline
    /// counts from its first poll).
    #[cfg(feature = "std")]
    pub fn deadline(&self) -> Option<std::time::Instant> {
        match (self.deadline, &self.driver) {
            (Deadline::At(at), Some(driver)) => driver.to_instant(at),
            (Deadline::Until(at), _) => Some(at),
            _ => None,
        }
    }

    /// Moves the deadline to `deadline` (earlier or later), as if the sleep
    /// had been created with it. Cheap: pushing a deadline later keeps the
    /// registration in place until it fires.
    #[cfg(feature = "std")]
    pub fn reset(&mut self, deadline: std::time::Instant) {
        self.deadline = match &self.driver {
            Some(driver) => Deadline::at(driver.nanos_at(deadline)),
            None => Deadline::Until(deadline),
        };
    }

    /// Moves the deadline to `duration` from now (from the first poll, for
    /// a sleep not bound to an executor yet).
    pub fn reset_after(&mut self, duration: Duration) {
        self.deadline = match &self.driver {
            Some(driver) => Deadline::at(driver.deadline_after(duration)),
            None => Deadline::after(duration),
        };
    }

    /// For a sleep that fired: moves its deadline to `next(deadline, now)`
    /// (`None`: never) and returns the deadline it had.
    #[cfg(feature = "std")]
    pub(crate) fn rearm(
        &mut self,
        next: impl FnOnce(u64, u64) -> Option<u64>,
    ) -> std::time::Instant {
        let (Some(driver), Deadline::At(fired)) = (&self.driver, self.deadline) else {
            unreachable!("a sleep that fired is bound to a driver, with a deadline")
        };
        let at = driver.to_instant(fired);
        self.deadline = Deadline::at(next(fired, driver.now()));
        at.unwrap_or_else(std::time::Instant::now)
    }

    /// Binds to the executor running on this thread (S3, K6): rebinds when
    /// that is not the one it is bound to, keeping the deadline.
    ///
    /// # Panics
    /// Outside every executor of the crate, naming the function that made
    /// this timer.
    #[cfg(feature = "std")]
    #[track_caller]
    fn bind_here(&mut self) {
        let moved = super::current::with_driver(|current| match &self.driver {
            Some(bound) if Arc::ptr_eq(bound, current) => None,
            _ => Some(current.clone()),
        });
        match moved {
            Some(None) => {}
            Some(Some(current)) => self.rebind(current),
            None => panic!(
                "concurrent_tasks::{name} was polled outside an executor: a timer registers \
                 with the executor of this crate that polls it, so await it inside \
                 block_on(..), a pool task or a LocalExecutor (it may be made anywhere)",
                name = self.made_by.name()
            ),
        }
    }

    /// Moves this sleep to `to`, keeping its deadline as a point in time.
    #[cfg(feature = "std")]
    fn rebind(&mut self, to: Arc<TimerDriver>) {
        let deadline = match self.deadline {
            Deadline::Never => None,
            Deadline::At(at) => self
                .driver
                .as_ref()
                .and_then(|from| from.to_instant(at))
                .and_then(|instant| to.nanos_at(instant)),
            Deadline::After(after) => to.now().checked_add(after),
            Deadline::Until(instant) => to.nanos_at(instant),
        };
        if let (Some(from), Some(registration)) = (&self.driver, self.registration.take()) {
            from.cancel(registration.key);
        }
        self.deadline = Deadline::at(deadline);
        self.driver = Some(to);
    }
}

impl Future for Sleep {
    type Output = ();

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        #[cfg(feature = "std")]
        this.bind_here();
        match (&this.driver, this.deadline) {
            (Some(driver), Deadline::At(at)) => {
                driver.poll_timer(&mut this.registration, at, cx.waker())
            }
            (Some(_), Deadline::Never) => Poll::Pending, // nothing to register
            _ => unreachable!("a polled sleep is bound, to a time on its driver or to never"),
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let (Some(driver), Some(registration)) = (&self.driver, self.registration.take()) {
            driver.cancel(registration.key);
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("bound", &self.driver.is_some())
            .field("registered", &self.registration.is_some())
            .finish()
    }
}
