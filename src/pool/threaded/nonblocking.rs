//! The async front: `start`, `stop` and `run` are futures that never block
//! the caller's thread, on any runtime.

use super::core::{Core, Count, Exit, Starting};
use super::{exit_of, Async, ThreadedTaskPool, ThreadedTaskPoolBuilder};
use crate::error::TaskError;
use crate::slot::Slot;
use std::future::{poll_fn, Future};
use std::sync::Arc;
use std::time::Duration;

/// Awaits the exit of the pool thread behind `exited`.
async fn exited(exited: &Slot<Exit>) -> Exit {
    exit_of(poll_fn(|cx| exited.poll_clone(cx)).await)
}

impl<C: 'static> ThreadedTaskPoolBuilder<Async, C> {
    /// The pool, started.
    pub async fn start(self) -> Result<ThreadedTaskPool<Async, C>, TaskError> {
        let pool = self.build();
        pool.start().await?;
        Ok(pool)
    }
}

impl<C: 'static> ThreadedTaskPool<Async, C> {
    /// Starts the pool thread and builds the context.
    pub async fn start(&self) -> Result<(), TaskError> {
        let starting = loop {
            match self.core.begin_start()? {
                super::core::BeginStart::Ready(starting) => break starting,
                super::core::BeginStart::WaitFor(ending) => drop(exited(ending.exited()).await),
            }
        };
        let mut guard = AbandonOnDrop {
            core: &self.core,
            starting: Some(starting),
        };
        let starting = guard.starting.as_ref().expect("set above");
        let answer = poll_fn(|cx| starting.started().poll_take(cx)).await;
        if answer.is_err() {
            // The thread is ending: wait for it without blocking.
            exited(starting.exited()).await;
        }
        let starting = guard.starting.take().expect("set above");
        self.core.finish_start(starting, answer)
    }

    /// Stops the pool and waits (asynchronously) until it has ended; as
    /// [`BlockingThreadedTaskPool::stop`](crate::BlockingThreadedTaskPool).
    /// Dropping the future does not undo the stop: the pool thread finishes
    /// it on its own.
    pub async fn stop(&self) -> Result<(), TaskError> {
        self.stop_bounded(self.core.default_stop_bound())
            .await
            .map(|_| ())
    }

    /// Stops the pool, waiting for its tasks for at most `timeout` (enforced
    /// on the pool thread, so it holds whatever runs this future, or if it
    /// is dropped); as the blocking front's `stop_timeout`. Returns how many
    /// tasks the deadline cancelled.
    ///
    /// ```
    /// use concurrent_tasks::{block_on, AsyncThreadedTaskPool, TaskError};
    /// use std::time::Duration;
    ///
    /// block_on(async {
    ///     let pool = AsyncThreadedTaskPool::builder().start().await?;
    ///     let stuck = pool.create_task(std::future::pending::<()>())?;
    ///     assert_eq!(pool.stop_timeout(Duration::from_millis(20)).await?, 1);
    ///     assert_eq!(stuck.await, Err(TaskError::Cancelled));
    ///     Ok::<(), TaskError>(())
    /// })?;
    /// # Ok::<(), TaskError>(())
    /// ```
    pub async fn stop_timeout(&self, timeout: Duration) -> Result<usize, TaskError> {
        self.stop_bounded(Some(timeout)).await
    }

    async fn stop_bounded(&self, bound: Option<Duration>) -> Result<usize, TaskError> {
        if self.core.on_pool_thread() {
            return Err(self.core.would_deadlock());
        }
        let stopping = self.core.begin_stop(bound)?;
        let exit = exited(stopping.exited()).await;
        self.core.finish_stop(stopping, exit)
    }

    /// Runs `future` on the pool and awaits its outcome (waiting for room
    /// under a capacity).
    ///
    /// Awaited by one of the pool's own tasks on a `size(1)` pool, it gives
    /// `Err(WouldDeadlock)` at once: the caller holds the only place.
    pub async fn run<F>(&self, future: F) -> Result<F::Output, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let count = self.reserve_room().await?;
        self.core.submit_task(future, count)?.await
    }

    /// Runs the future `make(&context)` builds on the pool thread and awaits
    /// its outcome; the async twin of the blocking front's `run_with`.
    pub async fn run_with<F, Fut>(&self, make: F) -> Result<Fut::Output, TaskError>
    where
        F: FnOnce(&C) -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        let count = self.reserve_room().await?;
        self.core.submit_with::<C, _, _, _>(make, count)?.await
    }

    /// Waits for room under the capacity and reserves it; `WouldDeadlock`
    /// for a nested run that could never start (K5).
    async fn reserve_room(&self) -> Result<Count, TaskError> {
        if self.core.nested_run_would_deadlock() {
            return Err(self.core.would_deadlock());
        }
        if !self.core.has_capacity() {
            return Ok(Count::Task); // nothing to reserve: never `Full`
        }
        poll_fn(|cx| self.core.poll_room(cx)).await?;
        Ok(Count::Reserved)
    }
}

/// Cleans up a start whose future was dropped before it finished.
struct AbandonOnDrop<'a> {
    core: &'a Arc<Core>,
    starting: Option<Starting>,
}

impl Drop for AbandonOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(starting) = self.starting.take() {
            self.core.abandon_start(starting);
        }
    }
}
