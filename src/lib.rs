#![doc = "concurrent-tasks (work in progress)"]
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]
extern crate alloc;
mod error;
mod executor;
mod slab;
mod slot;
mod sync;
pub mod time;

pub use error::TaskError;
#[cfg(feature = "std")]
pub use executor::current::{block_on, spawn, try_spawn};
pub use executor::{yield_now, JoinHandle, LocalExecutor, YieldNow};
pub use time::Sleep;
#[cfg(feature = "std")]
pub use time::{interval, interval_at, sleep, sleep_until, timeout, timeout_at};
