//! The crate's panic guard: the one door through which user code that runs
//! outside a task's poll is called (hooks, builders, factories, contexts,
//! the drops of users' futures and outputs, `Clone` of shared outputs).
//!
//! A task's own poll is guarded by its task wrapper (`executor::task`,
//! `pool::task`), which uses [`call_user`] too; everything else goes
//! through [`call_user`] or [`drop_user`]. A panic there comes back as
//! `Err(message)`, and the caller decides the outcome (a `Panicked` error, a
//! report to the pool's `on_unhandled`, or both), so no panic of user code
//! unwinds a pool thread or an executor.
//!
//! This needs `std` and `panic = "unwind"`: without `std` (or with
//! `panic = "abort"`) a panic aborts, as everywhere in Rust, and these
//! functions just call through.

use crate::error::TaskError;
use alloc::string::String;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

/// Calls `f`, turning a panic into `Err(its message)`.
#[cfg(feature = "std")]
pub(crate) fn call_user<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(settle)
}

/// Calls `f` (without `std` a panic cannot be caught: it aborts).
#[cfg(not(feature = "std"))]
pub(crate) fn call_user<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    Ok(f())
}

/// Drops a user's value (a future, an output, a context), turning a panic
/// in its destructor into `Err(its message)`.
pub(crate) fn drop_user<T>(value: T) -> Result<(), String> {
    call_user(move || drop(value))
}

/// A user's value held by the crate (a builder or a future inside a job, a
/// debounced run's future): dropped behind the guard, a panic there reported
/// to the executor running on this thread (if any).
#[cfg_attr(not(feature = "std"), allow(dead_code))] // jobs, debouncers
pub(crate) struct Guarded<V>(Option<V>);

#[cfg_attr(not(feature = "std"), allow(dead_code))]
impl<V> Guarded<V> {
    pub(crate) fn new(value: V) -> Self {
        Guarded(Some(value))
    }

    /// Takes the value out (it is then the caller's to drop).
    pub(crate) fn take(&mut self) -> V {
        self.0.take().expect("a guarded value is taken once")
    }

    /// The value, while it is there.
    pub(crate) fn get_mut(&mut self) -> Option<&mut V> {
        self.0.as_mut()
    }

    /// Drops the value now, behind the guard.
    pub(crate) fn clear(&mut self) {
        if let Some(value) = self.0.take() {
            if let Err(message) = drop_user(value) {
                report_here(TaskError::Panicked(message));
            }
        }
    }
}

impl<V> Drop for Guarded<V> {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Reports a panic of user code to the executor running on this thread.
#[cfg_attr(not(feature = "std"), allow(dead_code))]
fn report_here(error: TaskError) {
    #[cfg(feature = "std")]
    crate::executor::current::report_here(error);
    #[cfg(not(feature = "std"))]
    drop(error);
}

/// Polls a user's future: a panic comes back as `Err(Panicked(message))`.
pub(crate) fn poll_user<F: Future + ?Sized>(
    future: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Poll<Result<F::Output, TaskError>> {
    match call_user(|| future.poll(cx)) {
        Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
        Ok(Poll::Pending) => Poll::Pending,
        Err(message) => Poll::Ready(Err(TaskError::Panicked(message))),
    }
}

/// The message of a caught panic. The payload is dropped here, behind the
/// guard too: a payload whose drop panics is replaced by that panic's
/// payload, a few times over; past that it is leaked rather than let
/// through.
#[cfg(feature = "std")]
fn settle(payload: alloc::boxed::Box<dyn core::any::Any + Send>) -> String {
    let message = panic_message(&*payload);
    let mut payload = payload;
    for _ in 0..4 {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(payload))) {
            Ok(()) => return message,
            Err(inner) => payload = inner,
        }
    }
    core::mem::forget(payload);
    message
}

/// The message of a panic payload (`&str` or `String`), else a placeholder.
#[cfg(feature = "std")]
pub(crate) fn panic_message(payload: &(dyn core::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).into()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".into()
    }
}

#[cfg(all(test, feature = "std"))]
mod tests;
