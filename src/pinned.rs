//! [`PinnedFuture`]: a future kept in place next to unpinned bookkeeping —
//! the one pin projection of the crate, written once with its safety
//! argument, for the task wrappers (`executor::task::DeliverTo`,
//! `pool::task::PoolTask`).
//!
//! A task wrapper owns the user's future (which may be `!Unpin`: it may
//! borrow from itself) and plain fields beside it (where the outcome goes,
//! the pool's counters). Polling needs `Pin<&mut F>` and `&mut` to the
//! rest at once; safe Rust cannot split a `Pin<&mut Self>` that way, so
//! [`PinnedFuture::project`] does, under the rules below.
//!
//! # Ground rules (the safety argument)
//! - `future` is *structurally pinned*: once the wrapper is pinned, the
//!   future is reached only as `Pin<&mut Option<F>>` (from `project`) and
//!   ended in place — `Pin::set(None)` in
//!   [`end_future`](Projection::end_future), an assignment of `None` in the
//!   `Drop` impl — never moved out or swapped.
//! - `rest` is never pinned: it is handed out as `&mut R` and may move.
//! - `PinnedFuture<F, R>` is `Unpin` only when `F` and `R` are (the auto
//!   trait; no manual `Unpin` impl); its `Drop` impl drops the future in
//!   place; it is not `repr(packed)`.
//! - The future sits in an `UnsafeCell`, reached only through the safe
//!   `get_mut`: an executor reads a task's header through `&self` between
//!   polls, and under Stacked Borrows a shared reference over a
//!   self-referential future would invalidate the borrows the future keeps
//!   into itself; bytes inside an `UnsafeCell` are exempt.
#![allow(unsafe_code)]

use crate::guard::call_user;
use alloc::string::String;
use core::cell::UnsafeCell;
use core::pin::Pin;

/// What a task wrapper keeps beside its future: told when the future,
/// dropped with the wrapper before it ended, panicked in its destructor.
pub(crate) trait TaskRest {
    fn future_drop_panicked(&mut self, message: String);
}

/// A future (structurally pinned) and the unpinned rest of its wrapper.
pub(crate) struct PinnedFuture<F, R: TaskRest> {
    future: UnsafeCell<Option<F>>,
    /// Dropped after the future (the `Drop` impl ends the future first).
    rest: R,
}

/// A pinned [`PinnedFuture`], split: the future pinned, the rest by `&mut`.
pub(crate) struct Projection<'a, F, R> {
    /// `None` once the future has ended.
    pub(crate) future: Pin<&'a mut Option<F>>,
    pub(crate) rest: &'a mut R,
}

impl<F, R: TaskRest> PinnedFuture<F, R> {
    pub(crate) fn new(future: F, rest: R) -> Self {
        PinnedFuture {
            future: UnsafeCell::new(Some(future)),
            rest,
        }
    }

    /// The unpinned rest.
    pub(crate) fn rest(&self) -> &R {
        &self.rest
    }

    /// The unpinned rest, mutably (before the wrapper is pinned).
    #[cfg(feature = "std")]
    pub(crate) fn rest_mut(&mut self) -> &mut R {
        &mut self.rest
    }

    /// Splits a pinned wrapper into its pinned future and its rest.
    pub(crate) fn project(self: Pin<&mut Self>) -> Projection<'_, F, R> {
        // SAFETY: nothing moves out of the returned `&mut Self`: `rest` is
        // not pinned, and `future` is re-pinned just below (see the ground
        // rules).
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: `future` is structurally pinned: `self` was pinned, so the
        // future has not moved since, and the ground rules keep it in place
        // until it is dropped there. The `&mut` comes from
        // `UnsafeCell::get_mut`, so it is unique.
        let future = unsafe { Pin::new_unchecked(this.future.get_mut()) };
        Projection {
            future,
            rest: &mut this.rest,
        }
    }
}

impl<F, R> Projection<'_, F, R> {
    /// Ends the future in place (`Pin::set`) behind the panic guard: a
    /// panic in its destructor comes back as `Err(message)`.
    pub(crate) fn end_future(&mut self) -> Result<(), String> {
        call_user(|| self.future.set(None))
    }
}

impl<F, R: TaskRest> Drop for PinnedFuture<F, R> {
    /// A wrapper dropped before its future ended (cancelled, its executor
    /// gone): the future is dropped in place (an assignment moves nothing)
    /// behind the guard, and a panic there goes to the rest.
    fn drop(&mut self) {
        let future = self.future.get_mut();
        if future.is_none() {
            return;
        }
        if let Err(message) = call_user(|| *future = None) {
            self.rest.future_drop_panicked(message);
        }
    }
}

#[cfg(test)]
mod tests;
