//! `Run`: the outcome of one run of a debounced function, shared by every
//! caller that waits for it (each gets a clone), and `Until`, the end of a
//! window or a deadline that may be "never".
//!
//! # Ground rules
//! - `outcome` is set once, under the lock; the waiters are taken out under
//!   the lock and woken after it is released.
//! - A waiter registers and checks the outcome under one lock acquisition, so
//!   a completion cannot fall between the two (no lost wake).

use crate::error::TaskError;
use crate::slot::Waiters;
use crate::sync::Mutex;
use alloc::sync::Arc;
use core::fmt;
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

struct RunState<T> {
    outcome: Option<Result<T, TaskError>>,
    waiters: Waiters,
}

/// The outcome of one run of `f`: `Ok(output)`, `Err(Panicked(message))`, or
/// `Err(Cancelled)` when the executor running it went away first.
pub(crate) struct Run<T> {
    state: Mutex<RunState<T>>,
}

impl<T> Run<T> {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Run {
            state: Mutex::new(RunState {
                outcome: None,
                waiters: Waiters::None,
            }),
        })
    }

    /// Stores the outcome (the first one wins) and wakes every waiter.
    pub(crate) fn complete(&self, outcome: Result<T, TaskError>) {
        let waiters = {
            let mut state = self.state.lock();
            if state.outcome.is_some() {
                return;
            }
            state.outcome = Some(outcome);
            core::mem::take(&mut state.waiters)
        };
        waiters.wake_all();
    }
}

impl<T: Clone> Run<T> {
    /// A clone of the outcome, or `Pending` (and a wake when it comes).
    fn poll_clone(&self, cx: &mut Context<'_>) -> Poll<Result<T, TaskError>> {
        let mut state = self.state.lock();
        match &state.outcome {
            Some(outcome) => Poll::Ready(outcome.clone()),
            None => {
                state.waiters.register(cx.waker());
                Poll::Pending
            }
        }
    }
}

/// Waits for a [`Run`]'s outcome. Dropping it leaves the run alone.
pub(crate) struct Join<T>(pub(crate) Arc<Run<T>>);

impl<T: Clone> Future for Join<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.poll_clone(cx)
    }
}

impl<T> fmt::Debug for Run<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Run");
        match self.state.try_lock() {
            Some(state) => d
                .field("done", &state.outcome.is_some())
                .field("waiters", &state.waiters.len()),
            None => d.field("state", &"<locked>"),
        };
        d.finish()
    }
}
