//! The two fronts over the threaded core: [`BlockingThreadedTaskPool`] for
//! synchronous callers, [`AsyncThreadedTaskPool`] for async ones (tokio,
//! smol, ours), whose calls never block the caller's executor thread.

use super::handle::TaskHandle;
use super::stats::PoolStats;
use super::threaded::{Async, Blocking, Core, ThreadedTaskPoolBuilder};
use super::Spawn;
use crate::error::TaskError;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Polls `poll` on this thread until it is ready, parking in between.
fn block_on_poll<T>(mut poll: impl FnMut(&mut Context<'_>) -> Poll<T>) -> T {
    let thread = std::thread::current();
    let waker = waker_fn::waker_fn(move || thread.unpark());
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(value) = poll(&mut cx) {
            return value;
        }
        std::thread::park();
    }
}

/// A task pool on its own thread, for synchronous code: the seed's
/// `with BlockingThreadedTaskPool() as pool: pool.run(func())`.
///
/// `Send + Sync`: share it (`&` or `Arc`) with every thread that submits.
/// Dropping it stops it like [`stop`](Self::stop).
///
/// ```
/// use concurrent_tasks::{sleep, BlockingThreadedTaskPool};
/// use std::time::Duration;
///
/// let pool = BlockingThreadedTaskPool::builder().name("io").start()?;
/// let one = pool.run(async { sleep(Duration::from_millis(5)).await; 1 })?;
/// let h = pool.create_task(async { 2 })?;
/// assert_eq!(one + h.wait()?, 3);
/// pool.stop()?;
/// # Ok::<(), concurrent_tasks::TaskError>(())
/// ```
pub struct BlockingThreadedTaskPool<C: 'static = ()> {
    core: Arc<Core<C>>,
}

impl BlockingThreadedTaskPool<()> {
    /// A pool with default settings, not started yet.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder for a blocking pool.
    pub fn builder() -> ThreadedTaskPoolBuilder<Blocking> {
        ThreadedTaskPoolBuilder::new()
    }
}

impl Default for BlockingThreadedTaskPool<()> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: 'static> ThreadedTaskPoolBuilder<Blocking, C> {
    /// The pool, not started yet.
    pub fn build(self) -> BlockingThreadedTaskPool<C> {
        BlockingThreadedTaskPool {
            core: self.into_core(),
        }
    }

    /// The pool, started: its thread runs and its context is built.
    pub fn start(self) -> Result<BlockingThreadedTaskPool<C>, TaskError> {
        let pool = self.build();
        pool.start()?;
        Ok(pool)
    }
}

impl<C: 'static> BlockingThreadedTaskPool<C> {
    /// Starts the pool thread and builds the context; returns once both are
    /// done. `AlreadyRunning` if it runs; `Init` if the context failed (no
    /// thread is left behind); `InvalidName` for a name with a NUL byte.
    pub fn start(&self) -> Result<(), TaskError> {
        let starting = self.core.begin_start()?;
        let answer = Core::started_slot(&starting)
            .wait_take(None)
            .expect("an unlimited wait returns");
        self.core.finish_start(starting, answer)
    }

    /// Stops taking tasks, waits until every task (buffered ones included)
    /// has finished and the context is torn down. `NotRunning` if it does
    /// not run; `WouldDeadlock` from the pool's own thread.
    pub fn stop(&self) -> Result<(), TaskError> {
        if self.core.on_pool_thread() {
            return Err(self.core.would_deadlock());
        }
        let stopping = self.core.begin_stop()?;
        let _ = stopping.exited.wait_take(None);
        stopping.join()
    }

    /// Runs `future` on the pool and blocks until its outcome. With a
    /// capacity, waits for room. `WouldDeadlock` from the pool's own thread.
    pub fn run<F>(&self, future: F) -> Result<F::Output, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if self.core.on_pool_thread() {
            return Err(self.core.would_deadlock());
        }
        block_on_poll(|cx| self.core.poll_room(cx))?;
        self.core.submit(future, true)?.wait()
    }

    /// Creates a task on the pool and returns its handle at once. `Full`
    /// when the capacity is reached, `NotRunning` when stopped.
    pub fn create_task<F>(&self, future: F) -> Result<TaskHandle<F::Output>, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.core.submit(future, false)
    }

    /// Creates a task from a `Send` closure that builds its (possibly
    /// `!Send`) future on the pool thread, with the pool's context at hand.
    ///
    /// ```
    /// use concurrent_tasks::BlockingThreadedTaskPool;
    /// use std::rc::Rc;
    ///
    /// let pool = BlockingThreadedTaskPool::builder()
    ///     .context(|| Ok::<_, std::io::Error>(Rc::new(String::from("client"))))
    ///     .start()?;
    /// let h = pool.create_task_with(|ctx: &Rc<String>| {
    ///     let ctx = ctx.clone(); // an Rc: this future is not Send
    ///     async move { ctx.len() }
    /// })?;
    /// assert_eq!(h.wait()?, 6);
    /// # Ok::<(), concurrent_tasks::TaskError>(())
    /// ```
    pub fn create_task_with<F, Fut>(&self, make: F) -> Result<TaskHandle<Fut::Output>, TaskError>
    where
        F: FnOnce(&C) -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        self.core.submit_with(make, false)
    }

    /// `true` while the pool runs.
    pub fn is_running(&self) -> bool {
        self.core.is_running()
    }

    /// Queued, running and completed task counts of the current run.
    pub fn stats(&self) -> PoolStats {
        self.core.stats()
    }
}

impl<C: 'static> Drop for BlockingThreadedTaskPool<C> {
    fn drop(&mut self) {
        if self.core.on_pool_thread() {
            // Cannot wait for ourselves: close the inbox and let the thread
            // drain and end on its own.
            let _ = self.core.begin_stop();
        } else {
            let _ = self.stop();
        }
    }
}

impl<C: 'static> fmt::Debug for BlockingThreadedTaskPool<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingThreadedTaskPool")
            .field("name", &self.core.name)
            .field("running", &self.core.is_running())
            .field("stats", &self.core.stats())
            .finish()
    }
}

impl<C: 'static> Spawn for BlockingThreadedTaskPool<C> {
    fn spawn_task<F>(&self, future: F) -> Result<TaskHandle<F::Output>, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.create_task(future)
    }
}

/// A task pool on its own thread, for async code on any runtime: `start`,
/// `run` and `stop` are `async` and never block the caller's thread.
///
/// Dropping it without `stop().await` closes it: the pool thread finishes
/// every task in the background and ends.
///
/// ```
/// use concurrent_tasks::{block_on, AsyncThreadedTaskPool};
///
/// block_on(async {
///     let pool = AsyncThreadedTaskPool::builder().size(2).start().await?;
///     let v = pool.run(async { 1 }).await?;
///     let h = pool.create_task(async { 2 })?;
///     assert_eq!(v + h.await?, 3);
///     pool.stop().await
/// })?;
/// # Ok::<(), concurrent_tasks::TaskError>(())
/// ```
pub struct AsyncThreadedTaskPool<C: 'static = ()> {
    core: Arc<Core<C>>,
}

impl AsyncThreadedTaskPool<()> {
    /// A pool with default settings, not started yet.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder for an async pool.
    pub fn builder() -> ThreadedTaskPoolBuilder<Async> {
        ThreadedTaskPoolBuilder::new()
    }
}

impl Default for AsyncThreadedTaskPool<()> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: 'static> ThreadedTaskPoolBuilder<Async, C> {
    /// The pool, not started yet.
    pub fn build(self) -> AsyncThreadedTaskPool<C> {
        AsyncThreadedTaskPool {
            core: self.into_core(),
        }
    }

    /// The pool, started.
    pub async fn start(self) -> Result<AsyncThreadedTaskPool<C>, TaskError> {
        let pool = self.build();
        pool.start().await?;
        Ok(pool)
    }
}

impl<C: 'static> AsyncThreadedTaskPool<C> {
    /// Starts the pool thread and builds the context.
    pub async fn start(&self) -> Result<(), TaskError> {
        let mut guard = AbandonOnDrop {
            core: &self.core,
            starting: Some(self.core.begin_start()?),
        };
        let starting = guard.starting.as_ref().expect("set above");
        let answer = std::future::poll_fn(|cx| Core::started_slot(starting).poll_take(cx)).await;
        if answer.is_err() {
            // The thread is ending: wait for it without blocking.
            std::future::poll_fn(|cx| starting_exited(starting, cx)).await;
        }
        let starting = guard.starting.take().expect("set above");
        self.core.finish_start(starting, answer)
    }

    /// Stops taking tasks and waits (asynchronously) until every task has
    /// finished and the context is torn down.
    pub async fn stop(&self) -> Result<(), TaskError> {
        if self.core.on_pool_thread() {
            return Err(self.core.would_deadlock());
        }
        let stopping = self.core.begin_stop()?;
        let _ = std::future::poll_fn(|cx| stopping.exited.poll_take(cx)).await;
        stopping.join()
    }

    /// Runs `future` on the pool and awaits its outcome (waiting for room
    /// under a capacity).
    pub async fn run<F>(&self, future: F) -> Result<F::Output, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        std::future::poll_fn(|cx| self.core.poll_room(cx)).await?;
        self.core.submit(future, true)?.await
    }

    /// Creates a task on the pool and returns its handle at once.
    pub fn create_task<F>(&self, future: F) -> Result<TaskHandle<F::Output>, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.core.submit(future, false)
    }

    /// Creates a task whose future is built on the pool thread from the
    /// context.
    pub fn create_task_with<F, Fut>(&self, make: F) -> Result<TaskHandle<Fut::Output>, TaskError>
    where
        F: FnOnce(&C) -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        self.core.submit_with(make, false)
    }

    /// `true` while the pool runs.
    pub fn is_running(&self) -> bool {
        self.core.is_running()
    }

    /// Queued, running and completed task counts of the current run.
    pub fn stats(&self) -> PoolStats {
        self.core.stats()
    }
}

/// Cleans up a start whose future was dropped before it finished.
struct AbandonOnDrop<'a, C: 'static> {
    core: &'a Arc<Core<C>>,
    starting: Option<super::threaded::Starting<C>>,
}

impl<C: 'static> Drop for AbandonOnDrop<'_, C> {
    fn drop(&mut self) {
        if let Some(starting) = self.starting.take() {
            self.core.abandon_start(starting);
        }
    }
}

fn starting_exited<C: 'static>(
    starting: &super::threaded::Starting<C>,
    cx: &mut Context<'_>,
) -> Poll<()> {
    starting.exited().poll_take(cx).map(|_| ())
}

impl<C: 'static> Drop for AsyncThreadedTaskPool<C> {
    fn drop(&mut self) {
        let _ = self.core.begin_stop();
    }
}

impl<C: 'static> fmt::Debug for AsyncThreadedTaskPool<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncThreadedTaskPool")
            .field("name", &self.core.name)
            .field("running", &self.core.is_running())
            .field("stats", &self.core.stats())
            .finish()
    }
}

impl<C: 'static> Spawn for AsyncThreadedTaskPool<C> {
    fn spawn_task<F>(&self, future: F) -> Result<TaskHandle<F::Output>, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.create_task(future)
    }
}
