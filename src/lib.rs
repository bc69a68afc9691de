//! Run async work from ordinary programs without a big runtime.
//!
//! `concurrent-tasks` is a small single-thread executor with its own timer
//! wheel: spawn `!Send` futures, sleep, time out, tick at intervals — on the
//! current thread with [`block_on`], or by hand with a [`LocalExecutor`]. It
//! is the Rust re-imagining of the Python library `concurrent_tasks`, whose
//! task pools (on the current executor, or on a thread of their own with a
//! blocking and an async front) are built on this foundation, as are its
//! background, restartable, periodic and on-time tasks and its debouncers.
//!
//! # The model, step by step
//!
//! **1. `block_on` runs a future on this thread**, together with every task it
//! spawns and every timer they set. While nothing is ready, the thread parks
//! until the next wake or timer deadline: an idle program uses no CPU.
//!
//! ```
//! use concurrent_tasks::{block_on, sleep, spawn};
//! use std::time::Duration;
//!
//! let sum = block_on(async {
//!     let a = spawn(async { sleep(Duration::from_millis(10)).await; 1 });
//!     let b = spawn(async { 2 });
//!     a.await.unwrap() + b.await.unwrap()
//! });
//! assert_eq!(sum, 3);
//! ```
//!
//! **2. A spawned task is polled by the executor's loop.** Each turn takes in
//! wakes from other threads, fires due timers, and polls the tasks that are
//! ready. A task's waker queues it again: from the executor's own thread
//! straight into the run queue (no lock, no channel), from another thread
//! through a locked queue that also unparks the executor. A task woken many
//! times before it runs is queued once.
//!
//! ```
//! use concurrent_tasks::{LocalExecutor, yield_now};
//!
//! let ex = LocalExecutor::new();
//! let h = ex.spawn(async { yield_now().await; "ran in two turns" });
//! ex.run_until_stalled(); // drive by hand: no parking
//! assert_eq!(h.try_take(), Some(Ok("ran in two turns")));
//! ```
//!
//! **3. Timers live in a hierarchical wheel** ([`time::wheel`]) of 1 ms ticks:
//! O(1) insert and cancel. Deadlines are rounded *up* to the tick, so nothing
//! fires early, and the executor parks until the exact earliest deadline, so
//! nothing fires a millisecond late. The timer futures are `Send`.
//!
//! ```
//! use concurrent_tasks::{block_on, timeout, sleep, TaskError};
//! use std::time::Duration;
//!
//! block_on(async {
//!     let r = timeout(Duration::from_millis(5), sleep(Duration::from_secs(60))).await;
//!     assert_eq!(r, Err(TaskError::TimedOut));
//! });
//! ```
//!
//! **4. A handle delivers the outcome** through a shared completion slot:
//! `Ok(output)`, or [`TaskError::Cancelled`] / [`TaskError::Panicked`]. A
//! [`JoinHandle`] is `Send + Sync`: await it anywhere, cancel it from any
//! thread; a cancelled task is dropped on its executor's thread.
//!
//! ```
//! use concurrent_tasks::{LocalExecutor, TaskError};
//!
//! let ex = LocalExecutor::new();
//! let stuck = ex.spawn(std::future::pending::<()>());
//! std::thread::scope(|s| { s.spawn(|| stuck.cancel()); });
//! assert_eq!(ex.block_on(stuck), Err(TaskError::Cancelled));
//! ```
//!
//! **5. Time can be driven by a test.** On a [`time::ManualClock`], time moves
//! only when told to, and `block_on` jumps straight to the next deadline when
//! everything waits on timers.
//!
//! ```
//! use concurrent_tasks::{time::ManualClock, LocalExecutor, sleep};
//! use std::time::Duration;
//!
//! let clock = ManualClock::new();
//! let ex = LocalExecutor::with_clock(clock.clone());
//! ex.block_on(async { sleep(Duration::from_secs(86_400)).await });
//! assert_eq!(clock.now(), Duration::from_secs(86_400)); // a day, in microseconds
//! ```
//!
//! **6. Pools run tasks on a dedicated thread.** A threaded pool is one OS
//! thread running `block_on` with a [`TaskPool`] (size limit, FIFO buffer,
//! per-task timeout from the task's start) and an inbox. Callers on any
//! thread create tasks through it; [`BlockingThreadedTaskPool`] blocks the
//! caller where asked to, [`AsyncThreadedTaskPool`] never does.
//!
//! ```
//! use concurrent_tasks::{sleep, BlockingThreadedTaskPool};
//! use std::time::Duration;
//!
//! let pool = BlockingThreadedTaskPool::builder().name("io").size(2).start()?;
//! let h = pool.create_task(async { sleep(Duration::from_millis(5)).await; "done" })?;
//! assert_eq!(pool.run(async { 1 + 1 })?, 2); // blocks this thread
//! assert_eq!(h.wait()?, "done");
//! pool.stop()?; // finishes every task first
//! # Ok::<(), concurrent_tasks::TaskError>(())
//! ```
//!
//! **7. Background and periodic tasks restart from a factory.** A
//! [`BackgroundTask`] spawns a fresh attempt at each `start` (cancelling the
//! running one), on the current executor, a given one, or a pool;
//! [`PeriodicTask`] and [`OnTimePeriodicTask`] are background tasks whose
//! attempt is a schedule: every interval, or at wall-clock times.
//!
//! ```
//! use concurrent_tasks::{block_on, sleep, PeriodicTask};
//! use std::cell::Cell;
//! use std::rc::Rc;
//! use std::time::Duration;
//!
//! let beats = Rc::new(Cell::new(0));
//! let b = beats.clone();
//! let heartbeat = PeriodicTask::new(Duration::from_millis(10), move || {
//!     b.set(b.get() + 1);
//!     async {}
//! });
//! block_on(async {
//!     heartbeat.start().detach();
//!     sleep(Duration::from_millis(25)).await; // beats at 0, 10, 20 ms
//! }); // the executor ends: the heartbeat with it
//! assert!(beats.get() >= 2);
//! ```
//!
//! [`RestartableTask`] sends a request and waits for its reply across
//! reconnects: started, cancelled and restarted from any thread, completed
//! by whoever holds a clone, timed per attempt. [`Debouncer`] and
//! [`AsyncDebouncer`] coalesce bursts of calls into one run of a function.
//!
//! # Without `std`
//!
//! With `default-features = false` the crate is `#![no_std]` + `alloc`: the
//! timer wheel, the executor driven by hand ([`LocalExecutor::spawn`],
//! [`LocalExecutor::sleep`], [`LocalExecutor::advance_time`],
//! [`LocalExecutor::run_until_stalled`]), [`BackgroundTask::start_in`] and
//! [`RestartableTask::start_in`], with a spin lock in place of `parking_lot`.
//!
//! # Safety
//!
//! The crate denies `unsafe_code`, with two exceptions, each alone in its
//! module with its safety argument, a `// SAFETY:` comment on every block
//! (`clippy::undocumented_unsafe_blocks` is denied) and Miri tests: the no_std
//! spin lock (`sync/spin.rs`) and the one pin projection of the task
//! wrappers (`pinned.rs`).
// Tests link std even without the feature, so the no_std paths run on the host.
#![cfg_attr(not(any(feature = "std", test)), no_std)]
#![deny(unsafe_code, clippy::undocumented_unsafe_blocks)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub,
    unused_must_use
)]
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;

mod background;
#[cfg(feature = "std")]
mod debounce;
mod error;
mod executor;
mod guard;
#[cfg(feature = "std")]
mod periodic;
mod pinned;
#[cfg(feature = "std")]
mod pool;
mod report;
mod restartable;
mod slab;
mod slot;
mod sync;
pub mod time;
#[cfg(feature = "std")]
mod wait;

pub use background::{BackgroundTask, BoxFactory};
#[cfg(feature = "std")]
pub use debounce::{AsyncDebouncer, Debouncer};
pub use error::TaskError;
#[cfg(feature = "std")]
pub use executor::current::{block_on, spawn, try_spawn};
pub use executor::{yield_now, JoinHandle, LocalExecutor, YieldNow};
#[cfg(feature = "std")]
pub use periodic::{OnTimePeriodicTask, PeriodicTask};
#[cfg(feature = "std")]
pub use pool::{
    AsyncThreadedTaskPool, BlockingThreadedTaskPool, PoolStats, Spawn, TaskHandle, TaskPool,
    TaskPoolBuilder, TaskPoolSpawner, ThreadedTaskPool, ThreadedTaskPoolBuilder,
};
pub use restartable::{RestartableJoin, RestartableTask};
/// The fronts of a [`ThreadedTaskPool`]: [`Blocking`](front::Blocking)
/// and [`Async`](front::Async).
#[cfg(feature = "std")]
pub mod front {
    pub use crate::pool::{Async, Blocking, Front};
}
pub use time::Sleep;
#[cfg(feature = "std")]
pub use time::{interval, interval_at, sleep, sleep_until, timeout, timeout_at};

/// The README's examples, compiled and run as doctests so they stay true.
#[cfg(all(doctest, feature = "std"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
