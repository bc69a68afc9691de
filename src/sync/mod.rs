//! The crate's synchronisation types: one lock type and the atomics of its
//! hand-made protocols, each behind a shim that loom can replace.
//!
//! `Mutex` is `parking_lot::Mutex` with `std` and a spin lock of our own
//! without it. Everything that shares state across threads (completion
//! slots, the timer driver, the executor's remote wake queue) locks through
//! it, so the no_std build swaps one type and nothing else.
//!
//! The atomics of the protocols that the loom models check (`atomic`:
//! the task header's state bits and remote queue, the completion slot, the
//! pool inbox's `Notify`, the pool's `room_wanted`) come from here too; in
//! the loom build both they and `Mutex` are loom's (see `loom.rs`).

#[cfg(feature = "std")]
pub(crate) mod backoff;
pub(crate) mod loom;
pub(crate) mod spin;

pub(crate) use self::loom::{atomic, Mutex};
