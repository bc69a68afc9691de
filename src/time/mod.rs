//! Timers: [`sleep`](fn@sleep), [`sleep_until`], [`timeout`](fn@timeout),
//! [`interval`](fn@interval), on the timer wheel of the executor polling them.
//!
//! Each executor owns a timer driver: a [`wheel::TimerWheel`] of 1 ms ticks
//! behind a lock, plus the clock it reads ([`Clock`]: the system's, or a
//! [`ManualClock`] a test moves). Deadlines are rounded *up* to the tick, so
//! nothing fires early, and the executor parks until the exact earliest
//! deadline, so nothing fires a millisecond late either. `Duration::MAX` (or
//! any deadline that overflows) means "never" and registers nothing.
//!
//! The timer futures are `Send` and may be made on any thread, in or out of
//! an executor (S3): made inside one, a duration counts from then; made
//! outside, from the first poll. They register with the executor of this
//! crate that polls them, so `pool.run(sleep(d))` works from a plain
//! thread; polled outside every executor of the crate, they panic. The
//! `try_` twins bind at once or return [`TaskError::NoExecutor`](crate::TaskError::NoExecutor).
//! Without `std`, go through [`LocalExecutor::sleep`](crate::LocalExecutor::sleep).

pub(crate) mod clock;
pub(crate) mod driver;
pub(crate) mod sleep;
pub(crate) mod timeout;
pub mod wheel;

pub use clock::{Clock, ManualClock};
pub use sleep::Sleep;

// What needs `std`: the current executor's driver, and the timers on it.
#[cfg(feature = "std")]
pub(crate) mod current;
#[cfg(feature = "std")]
mod functions;
#[cfg(feature = "std")]
mod interval;
#[cfg(feature = "std")]
pub use functions::*;
#[cfg(feature = "std")]
pub use interval::{Interval, MissedTickBehavior};
