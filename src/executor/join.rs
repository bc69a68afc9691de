//! `JoinHandle`: the caller's end of a task spawned on a [`LocalExecutor`].
//!
//! [`LocalExecutor`]: crate::LocalExecutor

use super::cell::TaskRef;
use crate::error::TaskError;
use crate::slot::Slot;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

/// Awaits the output of a spawned task, or cancels it.
///
/// A `Future<Output = Result<T, TaskError>>`: `Ok(output)`, or
/// `Err(Cancelled)`, `Err(Panicked(message))`. The output is taken once;
/// polling again after that yields `Err(AlreadyTaken)`, never a panic.
/// It is `Send + Sync` when `T: Send`, so it can be awaited or cancelled
/// from any thread or executor.
///
/// Dropping the handle **detaches** the task: it keeps running and its
/// output is dropped. Call [`cancel`](JoinHandle::cancel) to stop it.
///
/// ```
/// use concurrent_tasks::{block_on, spawn, TaskError};
///
/// block_on(async {
///     let h = spawn(async { 6 * 7 });
///     assert_eq!(h.await, Ok(42));
///
///     let stuck = spawn(std::future::pending::<()>());
///     stuck.cancel();
///     assert_eq!(stuck.await, Err(TaskError::Cancelled));
/// });
/// ```
#[must_use = "dropping a JoinHandle detaches the task (it keeps running); use .detach() to say so"]
pub struct JoinHandle<T> {
    task: TaskRef<T>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(task: TaskRef<T>) -> Self {
        JoinHandle { task }
    }

    pub(crate) fn slot(&self) -> &Slot<T> {
        self.task.slot()
    }

    /// A second handle on the same task (for a background task, which keeps
    /// one to cancel and join the attempt whose handle it gave away). The
    /// output is still taken once, by whichever handle gets there first.
    pub(crate) fn share(&self) -> Self {
        JoinHandle {
            task: self.task.share(),
        }
    }

    /// Cancels the task, from any thread. A task that has not started is
    /// never polled; a running one is dropped, on its executor's thread, at
    /// its next await point. The handle then yields `Err(Cancelled)` — unless
    /// the task had already produced its output, which is kept.
    ///
    /// Cancelling twice, or after the task ended, does nothing.
    pub fn cancel(&self) {
        self.task.header().cancel();
    }

    /// `true` once the task's outcome (output, panic or cancellation) is
    /// known, i.e. awaiting the handle would not wait.
    pub fn is_finished(&self) -> bool {
        self.slot().is_complete()
    }

    /// Lets the task run on without anyone awaiting it (the same as dropping
    /// the handle, but says so).
    pub fn detach(self) {}

    /// Takes the outcome if the task has finished, without waiting.
    pub fn try_take(&self) -> Option<Result<T, TaskError>> {
        self.slot().try_take()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.slot().poll_take(cx)
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("task", &self.task.header().key())
            .field("finished", &self.is_finished())
            .finish()
    }
}
