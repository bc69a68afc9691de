//! Debounced calls: [`Debouncer`] (every caller gets a run's output) and
//! [`AsyncDebouncer`] (fire and forget), contract D1–D4.
//!
//! Both follow the Python library `concurrent_tasks` (`Debouncer`,
//! `AsyncDebouncer`): windows are fixed (by default), runs of `f` never
//! overlap, and the last argument wins. Unlike there, the runs happen in a
//! worker task spawned on the caller's executor, so no caller can lose a run
//! by dropping its future, and time is the executor's (a
//! [`ManualClock`](crate::time::ManualClock) in tests).
//!
//! - `run`: one run's shared outcome, and `Until` (a deadline or "never").
//! - `state`: the state machine both share: what a call, the worker, a
//!   flush or a dead worker changes, and what the caller does then.
//! - `shared`: `f` and the state (`Core`), and the worker task.
//! - `debouncer`, `async_debouncer`: the public types and their call rules.
//!
//! They need `std` (the current executor, the clock, catching panics in `f`).

mod async_debouncer;
mod debouncer;
mod run;
mod shared;
mod state;

pub use async_debouncer::AsyncDebouncer;
pub use debouncer::Debouncer;

// Compile-time proof of the thread-safety the docs promise.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Debouncer<String, Vec<u8>>>();
    send_sync::<AsyncDebouncer<String>>();
};
