//! The state bits of a spawned task, shared between its wakers, its
//! `JoinHandle` and the executor.
//!
//! Stored in one `AtomicU8` in the task's [`Header`](super::task::Header).
//! Wakers and handles may run on any thread; only the executor's thread polls.

/// The task sits in a run queue (local or remote), or is done. Set by the
/// first wake after a poll starts; cleared by the executor just before it
/// polls. A wake that finds it already set does nothing, so a task woken many
/// times before it runs is queued once.
pub(crate) const SCHEDULED: u8 = 1 << 0;

/// Someone called `cancel`. The executor drops the future at its next turn
/// instead of polling it. Can coexist with anything; ignored once `DONE`.
pub(crate) const CANCELLED: u8 = 1 << 1;

/// The future completed or was dropped; its entry is gone from the executor.
/// Always set together with `SCHEDULED`, so no wake can queue it again.
pub(crate) const DONE: u8 = 1 << 2;
