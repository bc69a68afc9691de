//! The two fronts over the threaded core: [`BlockingThreadedTaskPool`] for
//! synchronous callers, [`AsyncThreadedTaskPool`] for async ones (tokio,
//! smol, ours), whose calls never block the caller's executor thread.

use super::handle::TaskHandle;
use super::stats::PoolStats;
use super::threaded::{
    Async, BeginStart, Blocking, Core, CoreHost, Exit, Starting, Stopping, ThreadedTaskPoolBuilder,
};
use super::{sealed, ServiceHost, Spawn};
use crate::error::TaskError;
use crate::slot::Slot;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// Blocks until the pool thread of `stopping` has exited.
fn wait_exit(stopping: &Stopping) -> Exit {
    let exited = stopping.exited();
    exited
        .wait_with(None, |cx| exited.poll_clone(cx))
        .expect("an unlimited wait returns")
        .expect("an exit is never taken")
}

/// Polls for the exit of the pool thread behind `exited`.
fn poll_exit(exited: &Slot<Exit>, cx: &mut Context<'_>) -> Poll<Exit> {
    exited
        .poll_clone(cx)
        .map(|exit| exit.expect("an exit is never taken"))
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
        let starting = loop {
            match self.core.begin_start()? {
                BeginStart::Ready(starting) => break starting,
                BeginStart::WaitFor(ending) => drop(wait_exit(&ending)),
            }
        };
        let answer = Core::started_slot(&starting)
            .wait_take(None)
            .expect("an unlimited wait returns");
        self.core.finish_start(starting, answer)
    }

    /// Stops the pool (S2): takes no more tasks, waits until every task
    /// (buffered ones included) has finished, then cancels the services
    /// (`start_on`, `spawn_service`) and whatever else runs on the pool's
    /// executor, runs `on_stop` (or drops the context) there, and returns
    /// once the thread has ended. With the builder's
    /// [`stop_timeout`](ThreadedTaskPoolBuilder::stop_timeout) (or
    /// `daemon(true)`), the wait for the tasks is bounded as in
    /// [`stop_timeout`](Self::stop_timeout).
    ///
    /// `NotRunning` if it does not run — also for a second caller while a
    /// stop is under way, once the pool has ended; `WouldDeadlock` from the
    /// pool's own thread; `Panicked` if the pool thread ended abnormally.
    ///
    /// Without a bound, `stop` waits for tasks that cooperate: a task that
    /// never ends, or blocks the pool thread, keeps it waiting. Use
    /// [`stop_timeout`](Self::stop_timeout) to bound it.
    pub fn stop(&self) -> Result<(), TaskError> {
        self.stop_bounded(self.core.default_stop_bound())
            .map(|_| ())
    }

    /// Stops the pool like [`stop`](Self::stop), but waits for the tasks
    /// for at most `timeout` (enforced on the pool thread): what is still
    /// buffered or running then is cancelled (its handles yield
    /// `Cancelled`). Returns how many tasks the deadline cancelled (services
    /// are not counted: they are always cancelled).
    ///
    /// The deadline is seen by the pool thread at its next turn: a task that
    /// blocks the thread (a long computation, a blocking call) delays it.
    ///
    /// ```
    /// use concurrent_tasks::{sleep, BlockingThreadedTaskPool, TaskError};
    /// use std::time::Duration;
    ///
    /// let pool = BlockingThreadedTaskPool::builder().start()?;
    /// let quick = pool.create_task(sleep(Duration::from_millis(1)))?;
    /// let stuck = pool.create_task(std::future::pending::<()>())?;
    /// assert_eq!(pool.stop_timeout(Duration::from_millis(50))?, 1);
    /// assert_eq!(quick.wait(), Ok(()));
    /// assert_eq!(stuck.wait(), Err(TaskError::Cancelled));
    /// # Ok::<(), TaskError>(())
    /// ```
    pub fn stop_timeout(&self, timeout: Duration) -> Result<usize, TaskError> {
        self.stop_bounded(Some(timeout))
    }

    fn stop_bounded(&self, bound: Option<Duration>) -> Result<usize, TaskError> {
        if self.core.on_pool_thread() {
            return Err(self.core.would_deadlock());
        }
        let stopping = self.core.begin_stop(bound)?;
        let exit = wait_exit(&stopping);
        self.core.finish_stop(stopping, exit)
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
        crate::wait::block_on_poll(|cx| self.core.poll_room(cx))?;
        self.core.submit(future, true)?.wait()
    }

    /// Runs the future `make(&context)` builds on the pool thread (it need
    /// not be `Send`) and blocks until its outcome: the blocking twin of
    /// [`create_task_with`](Self::create_task_with). A panic in `make` is
    /// `Err(Panicked)`; `WouldDeadlock` from the pool's own thread.
    ///
    /// ```
    /// use concurrent_tasks::BlockingThreadedTaskPool;
    /// use std::rc::Rc;
    ///
    /// let pool = BlockingThreadedTaskPool::builder()
    ///     .context(|| Ok::<_, std::io::Error>(Rc::new(vec![1, 2, 3])))
    ///     .start()?;
    /// let sum = pool.run_with(|ctx: &Rc<Vec<i32>>| {
    ///     let ctx = ctx.clone(); // an Rc: this future is not Send
    ///     async move { ctx.iter().sum::<i32>() }
    /// })?;
    /// assert_eq!(sum, 6);
    /// # Ok::<(), concurrent_tasks::TaskError>(())
    /// ```
    pub fn run_with<F, Fut>(&self, make: F) -> Result<Fut::Output, TaskError>
    where
        F: FnOnce(&C) -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        if self.core.on_pool_thread() {
            return Err(self.core.would_deadlock());
        }
        crate::wait::block_on_poll(|cx| self.core.poll_room(cx))?;
        self.core.submit_with(make, true)?.wait()
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
            let _ = self.core.begin_stop(self.core.default_stop_bound());
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

impl<C: 'static> sealed::Sealed for BlockingThreadedTaskPool<C> {
    fn service_host(&self) -> Arc<dyn ServiceHost> {
        Arc::new(CoreHost(Arc::downgrade(&self.core)))
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

    fn spawn_service<F>(&self, future: F) -> Result<TaskHandle<F::Output>, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.core.submit_service(future)
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
        let starting = loop {
            match self.core.begin_start()? {
                BeginStart::Ready(starting) => break starting,
                BeginStart::WaitFor(ending) => {
                    std::future::poll_fn(|cx| poll_exit(ending.exited(), cx)).await;
                }
            }
        };
        let mut guard = AbandonOnDrop {
            core: &self.core,
            starting: Some(starting),
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

    /// Stops the pool and waits (asynchronously) until it has ended; as
    /// [`BlockingThreadedTaskPool::stop`]. Dropping the future does not undo
    /// the stop: the pool thread finishes it on its own.
    pub async fn stop(&self) -> Result<(), TaskError> {
        self.stop_bounded(self.core.default_stop_bound())
            .await
            .map(|_| ())
    }

    /// Stops the pool, waiting for its tasks for at most `timeout` (enforced
    /// on the pool thread, so it holds whatever runs this future, or if it
    /// is dropped); as [`BlockingThreadedTaskPool::stop_timeout`]. Returns
    /// how many tasks the deadline cancelled.
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
        let exit = std::future::poll_fn(|cx| poll_exit(stopping.exited(), cx)).await;
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
        if self.core.nested_run_would_deadlock() {
            return Err(self.core.would_deadlock());
        }
        std::future::poll_fn(|cx| self.core.poll_room(cx)).await?;
        self.core.submit(future, true)?.await
    }

    /// Runs the future `make(&context)` builds on the pool thread and awaits
    /// its outcome; the async twin of
    /// [`BlockingThreadedTaskPool::run_with`].
    pub async fn run_with<F, Fut>(&self, make: F) -> Result<Fut::Output, TaskError>
    where
        F: FnOnce(&C) -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        if self.core.nested_run_would_deadlock() {
            return Err(self.core.would_deadlock());
        }
        std::future::poll_fn(|cx| self.core.poll_room(cx)).await?;
        self.core.submit_with(make, true)?.await
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
    starting: Option<Starting<C>>,
}

impl<C: 'static> Drop for AbandonOnDrop<'_, C> {
    fn drop(&mut self) {
        if let Some(starting) = self.starting.take() {
            self.core.abandon_start(starting);
        }
    }
}

fn starting_exited<C: 'static>(starting: &Starting<C>, cx: &mut Context<'_>) -> Poll<()> {
    poll_exit(starting.exited(), cx).map(|_| ())
}

impl<C: 'static> Drop for AsyncThreadedTaskPool<C> {
    fn drop(&mut self) {
        // Never blocks: the pool thread finishes the stop on its own.
        let _ = self.core.begin_stop(self.core.default_stop_bound());
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

impl<C: 'static> sealed::Sealed for AsyncThreadedTaskPool<C> {
    fn service_host(&self) -> Arc<dyn ServiceHost> {
        Arc::new(CoreHost(Arc::downgrade(&self.core)))
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

    fn spawn_service<F>(&self, future: F) -> Result<TaskHandle<F::Output>, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.core.submit_service(future)
    }
}
