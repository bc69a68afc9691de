//! The async front: `start`, `stop` and `run` are futures that never block
//! the caller's thread, on any runtime. The typed methods only forward to
//! the functions here, which are not generic over the context.

use super::core::{BeginStart, Core, Count, Exit, Starting};
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

/// Starts the pool behind `core` and awaits its context (or its error; a
/// failed start's thread is gone when this returns).
async fn start(core: &Arc<Core>) -> Result<(), TaskError> {
    let starting = loop {
        match core.begin_start()? {
            BeginStart::Ready(starting) => break starting,
            BeginStart::WaitFor(ending) => drop(exited(ending.exited()).await),
        }
    };
    let mut guard = AbandonOnDrop {
        core,
        starting: Some(starting),
    };
    let starting = guard.starting.as_ref().expect("set above");
    let answer = poll_fn(|cx| starting.started().poll_take(cx)).await;
    if answer.is_err() {
        // The thread is ending: wait for it without blocking.
        exited(starting.exited()).await;
    }
    let starting = guard.starting.take().expect("set above");
    core.finish_start(starting, answer)
}

/// Stops the pool behind `core` with `bound` and awaits its end.
async fn stop_bounded(core: &Core, bound: Option<Duration>) -> Result<usize, TaskError> {
    if core.on_pool_thread() {
        return Err(core.would_deadlock());
    }
    let stopping = core.begin_stop(bound)?;
    let exit = exited(stopping.exited()).await;
    core.finish_stop(stopping, exit)
}

/// Waits for room under the capacity and reserves it; `WouldDeadlock` for a
/// nested run that could never start (K5).
async fn reserve_room(core: &Core) -> Result<Count, TaskError> {
    if core.nested_run_would_deadlock() {
        return Err(core.would_deadlock());
    }
    if !core.has_capacity() {
        return Ok(Count::Task); // nothing to reserve: never `Full`
    }
    poll_fn(|cx| core.poll_room(cx)).await?;
    Ok(Count::Reserved)
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
        start(&self.core).await
    }

    /// Stops the pool and waits (asynchronously) until it has ended; as
    /// [`BlockingThreadedTaskPool::stop`](crate::BlockingThreadedTaskPool).
    /// Dropping the future does not undo the stop: the pool thread finishes
    /// it on its own.
    pub async fn stop(&self) -> Result<(), TaskError> {
        stop_bounded(&self.core, self.core.default_stop_bound())
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
        stop_bounded(&self.core, Some(timeout)).await
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
        let count = reserve_room(&self.core).await?;
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
        let count = reserve_room(&self.core).await?;
        self.core.submit_with::<C, _, _, _>(make, count)?.await
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
