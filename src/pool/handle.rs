//! `TaskHandle`: the caller's end of a task created on a pool.

use crate::error::TaskError;
use crate::executor::JoinHandle;
use crate::report::Reporter;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread::ThreadId;
use std::time::Duration;

/// Who runs a pool's tasks: its name (for errors), the thread its executor
/// runs on (blocking waits there would deadlock) and where failures nobody
/// reads go.
pub(crate) struct PoolOwner {
    pub(crate) name: String,
    pub(crate) thread: ThreadId,
    pub(crate) report: Reporter,
}

/// The calling thread's id (cached: `thread::current()` clones a handle).
pub(crate) fn this_thread() -> ThreadId {
    std::thread_local! {
        static THIS_THREAD: ThreadId = std::thread::current().id();
    }
    THIS_THREAD
        .try_with(|id| *id)
        .unwrap_or_else(|_| std::thread::current().id())
}

impl PoolOwner {
    pub(crate) fn on_own_thread(&self) -> bool {
        this_thread() == self.thread
    }

    pub(crate) fn would_deadlock(&self) -> TaskError {
        TaskError::would_deadlock(&self.name)
    }
}

/// Awaits, waits for or cancels a task created on a pool.
///
/// A `Future<Output = Result<T, TaskError>>` that any executor can await
/// (tokio, smol, ours), and a blocking [`wait`](Self::wait) /
/// [`wait_timeout`](Self::wait_timeout) for synchronous callers. `Send +
/// Sync` when `T: Send`.
///
/// Dropping the handle **detaches** the task: it runs to the end; a panic or
/// timeout that nobody will read goes to the pool's `on_unhandled` hook.
///
/// ```
/// use concurrent_tasks::{block_on, TaskPool};
///
/// block_on(async {
///     let pool = TaskPool::builder().build();
///     let h = pool.create_task(async { 2 + 2 });
///     assert_eq!(h.await, Ok(4));
/// });
/// ```
#[must_use = "dropping a TaskHandle detaches the task (it keeps running); use .detach() to say so"]
pub struct TaskHandle<T> {
    join: JoinHandle<T>,
    /// `None` once a blocking `wait` took the outcome: the drop has nothing
    /// to detach or report. (An `Option` of an `Arc` costs no space.)
    owner: Option<Arc<PoolOwner>>,
}

impl<T> TaskHandle<T> {
    pub(crate) fn new(join: JoinHandle<T>, owner: Arc<PoolOwner>) -> Self {
        TaskHandle {
            join,
            owner: Some(owner),
        }
    }

    /// A second handle on the same task (a background task keeps one). The
    /// task is detached, and an unread failure reported, when the last of
    /// them is dropped.
    pub(crate) fn share(&self) -> Self {
        self.join.slot().add_handle();
        TaskHandle {
            join: self.join.share(),
            owner: self.owner.clone(),
        }
    }

    fn join(&self) -> &JoinHandle<T> {
        &self.join
    }

    fn owner(&self) -> &PoolOwner {
        self.owner.as_ref().expect("cleared only by `wait(self)`")
    }

    /// Cancels the task, from any thread: one not started yet is never
    /// polled; a running one is dropped on the pool's thread at its next
    /// await point. The handle then yields `Err(Cancelled)` (unless the task
    /// had already finished).
    pub fn cancel(&self) {
        self.join().cancel();
    }

    /// `true` once the outcome is known (waiting would not block).
    pub fn is_finished(&self) -> bool {
        self.join().is_finished()
    }

    /// Lets the task run on unobserved (same as dropping the handle).
    pub fn detach(self) {}

    /// Blocks this thread until the task's outcome is known.
    ///
    /// Called on the pool's own thread it returns `Err(WouldDeadlock)` at
    /// once instead of blocking the thread that must run the task.
    pub fn wait(mut self) -> Result<T, TaskError> {
        if self.owner().on_own_thread() {
            return Err(self.owner().would_deadlock());
        }
        let outcome = self
            .join
            .slot()
            .wait_take(None)
            .expect("an unlimited wait returns an outcome");
        // Read here: the drop has nothing to detach or report.
        self.owner = None;
        outcome
    }

    /// Blocks for at most `timeout`: `None` if the task is not done yet (the
    /// handle stays usable), `Some(outcome)` otherwise. After a `Some`, later
    /// calls give `Some(Err(AlreadyTaken))`. `Duration::ZERO` only checks.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<Result<T, TaskError>> {
        if self.owner().on_own_thread() && !timeout.is_zero() {
            return Some(Err(self.owner().would_deadlock()));
        }
        self.join().slot().wait_take(Some(timeout))
    }
}

impl<T> Future for TaskHandle<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.join().slot().poll_take(cx)
    }
}

impl<T> Drop for TaskHandle<T> {
    fn drop(&mut self) {
        let Some(owner) = &self.owner else {
            return;
        };
        match self.join.slot().drop_handle() {
            Some(Err(error)) => owner.report.report(error),
            Some(Ok(output)) => {
                // The caller's own value, on the caller's thread; still
                // behind the guard, so a handle's drop never panics.
                if let Err(message) = crate::guard::drop_user(output) {
                    owner.report.report(TaskError::Panicked(message));
                }
            }
            None => {}
        }
    }
}

impl<T> fmt::Debug for TaskHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskHandle")
            .field("pool", &self.owner().name)
            .field("finished", &self.is_finished())
            .finish()
    }
}
