//! The attempt a background or periodic task is running: the handle it keeps
//! on the task it last spawned, to cancel it, replace it and join it.
//!
//! # Ground rules
//! - One attempt at a time: starting a new one cancels the old one first.
//! - The output is taken once, by `join` or by the handle `start` gave away,
//!   whichever gets there first; the other then sees nothing (`None`).
//! - Dropping the attempt cancels it. A cancellation is never reported.

use crate::error::TaskError;
use crate::executor::JoinHandle;
#[cfg(feature = "std")]
use crate::pool::TaskHandle;
use core::fmt;

/// The handle kept on an attempt: from the current executor, or from a pool
/// (whose handle, when dropped, hands unread failures to the pool's
/// `on_unhandled` hook).
enum Handle<T> {
    Local(JoinHandle<T>),
    #[cfg(feature = "std")]
    Pool(TaskHandle<T>),
}

impl<T> Handle<T> {
    fn cancel(&self) {
        match self {
            Handle::Local(h) => h.cancel(),
            #[cfg(feature = "std")]
            Handle::Pool(h) => h.cancel(),
        }
    }

    fn is_finished(&self) -> bool {
        match self {
            Handle::Local(h) => h.is_finished(),
            #[cfg(feature = "std")]
            Handle::Pool(h) => h.is_finished(),
        }
    }

    async fn take(&mut self) -> Result<T, TaskError> {
        match self {
            Handle::Local(h) => h.await,
            #[cfg(feature = "std")]
            Handle::Pool(h) => h.await,
        }
    }
}

/// The current attempt of a restartable-by-`start` task, if any.
pub(crate) struct Attempt<T> {
    current: Option<Handle<T>>,
}

impl<T> Attempt<T> {
    pub(crate) const fn new() -> Self {
        Attempt { current: None }
    }

    /// Keeps `handle`'s task as the current attempt (a share of it: the
    /// caller gets the handle) and cancels the previous one.
    pub(crate) fn replace_local(&mut self, handle: &JoinHandle<T>) {
        self.replace(Handle::Local(handle.share()));
    }

    /// Same for a task created on a pool: the kept handle is the original,
    /// the caller gets a share.
    #[cfg(feature = "std")]
    pub(crate) fn replace_pool(&mut self, handle: TaskHandle<T>) -> TaskHandle<T> {
        let shared = handle.share();
        self.replace(Handle::Pool(handle));
        shared
    }

    fn replace(&mut self, next: Handle<T>) {
        if let Some(previous) = self.current.replace(next) {
            previous.cancel();
        }
    }

    /// Cancels the current attempt (its handles then yield `Cancelled`).
    pub(crate) fn cancel(&self) {
        if let Some(handle) = &self.current {
            handle.cancel();
        }
    }

    /// `true` while an attempt was started and has not finished.
    pub(crate) fn is_running(&self) -> bool {
        self.current.as_ref().is_some_and(|h| !h.is_finished())
    }

    /// Waits for the current attempt's outcome and takes it: `None` when
    /// there is no attempt or its outcome was already taken.
    pub(crate) async fn join(&mut self) -> Option<Result<T, TaskError>> {
        match self.current.as_mut()?.take().await {
            Err(TaskError::AlreadyTaken) => None,
            outcome => Some(outcome),
        }
    }
}

impl<T> Drop for Attempt<T> {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl<T> fmt::Debug for Attempt<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.current {
            None => "never started",
            Some(h) if h.is_finished() => "finished",
            Some(_) => "running",
        };
        f.write_str(state)
    }
}
