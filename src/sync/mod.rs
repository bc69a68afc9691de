//! The one lock type of the crate: `parking_lot::Mutex` with `std`, a spin
//! lock of our own without it.
//!
//! Everything that shares state across threads (completion slots, the timer
//! driver, the executor's remote wake queue) locks through [`Mutex`], so the
//! no_std build swaps one type and nothing else.

#[cfg(feature = "std")]
pub(crate) mod backoff;
pub(crate) mod spin;

#[cfg(feature = "std")]
pub(crate) use parking_lot::Mutex;

#[cfg(not(feature = "std"))]
pub(crate) use self::spin::SpinMutex as Mutex;
