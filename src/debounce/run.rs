//! `Run`: the outcome of one run of a debounced function, shared by every
//! caller that waits for it (each gets a clone), and `Until`, the end of a
//! window or a deadline that may be "never".
//!
//! A run is the crate's completion slot ([`Slot`]): set once, its waiters
//! woken outside the lock, each reader given a clone.

use crate::error::TaskError;
use crate::slot::Slot;
use alloc::sync::Arc;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::time::Instant;

/// A point in time that may be "never" (a duration too long to add, such as
/// `Duration::MAX`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Until {
    At(Instant),
    Never,
}

impl Until {
    /// `duration` after `now`; `Never` when that overflows.
    pub(crate) fn after(now: Instant, duration: Duration) -> Self {
        now.checked_add(duration).map_or(Until::Never, Until::At)
    }

    /// `true` once `now` has reached it.
    pub(crate) fn passed(self, now: Instant) -> bool {
        matches!(self, Until::At(at) if now >= at)
    }
}

/// The outcome of one run of `f`: `Ok(output)`, `Err(Panicked(message))`, or
/// `Err(Cancelled)` when the executor running it went away first. It is the
/// crate's completion slot; every caller reads a clone of the outcome.
pub(crate) type Run<T> = Slot<T>;

/// A new, empty run.
pub(crate) fn new_run<T>() -> Arc<Run<T>> {
    Arc::new(Slot::new())
}

/// Waits for a [`Run`]'s outcome. Dropping it leaves the run alone.
pub(crate) struct Join<T>(pub(crate) Arc<Run<T>>);

impl<T: Clone> Future for Join<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.poll_clone(cx)
    }
}
