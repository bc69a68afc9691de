//! `Run`: the outcome of one run of a debounced function, shared by every
//! caller that waits for it (each gets a clone), and `Until`, the end of a
//! window or a deadline that may be "never".
//!
//! A run is the crate's completion slot ([`Slot`]): set once, its waiters
//! woken outside the lock, each reader given a clone.

use super::shared::Core;
use super::state::State;
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

/// Waits for a [`Run`]'s outcome. Dropping it leaves the run alone. If the
/// worker that would run it went away with its executor, the waiter starts
/// a new one on its own executor (K3): a committed run is never stranded.
pub(crate) struct Join<A: 'static, T: 'static> {
    pub(crate) core: Arc<Core<A, T>>,
    pub(crate) run: Arc<Run<T>>,
}

impl<A: 'static, T: Clone + 'static> Future for Join<A, T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(outcome) = self.run.poll_clone(cx) {
            return Poll::Ready(outcome);
        }
        if self.core.decide(State::take_over).is_err() {
            // No executor here to run it on: do not wait forever.
            let _ = self.run.complete(Err(TaskError::Cancelled));
            return self.run.poll_clone(cx);
        }
        Poll::Pending
    }
}
