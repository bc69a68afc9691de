//! The blocking front: `start`, `stop` and `run` block the calling thread
//! (through `crate::wait`) until the pool thread answers. The typed methods
//! only forward to the functions here, which are not generic over the
//! context.

use super::core::{BeginStart, Core, Count, Exit, Stopping};
use super::{exit_of, Blocking, ThreadedTaskPool, ThreadedTaskPoolBuilder};
use crate::error::TaskError;
use crate::wait::block_on_poll;
use std::future::Future;
use std::time::Duration;

/// Blocks until the pool thread of `stopping` has exited.
fn wait_exit(stopping: &Stopping) -> Exit {
    let exited = stopping.exited();
    exit_of(
        exited
            .wait_with(None, |cx| exited.poll_clone(cx))
            .expect("an unlimited wait returns"),
    )
}

/// Stops the pool behind `core` with `bound` and blocks until its thread has
/// ended (see [`ThreadedTaskPool::stop_timeout`]).
pub(super) fn stop_bounded(core: &Core, bound: Option<Duration>) -> Result<usize, TaskError> {
    if core.on_pool_thread() {
        return Err(core.would_deadlock());
    }
    let stopping = core.begin_stop(bound)?;
    let exit = wait_exit(&stopping);
    core.finish_stop(stopping, exit)
}

/// Starts the pool behind `core` and blocks until its context is built (or
/// its error came back).
fn start(core: &Core) -> Result<(), TaskError> {
    let starting = loop {
        match core.begin_start()? {
            BeginStart::Ready(starting) => break starting,
            BeginStart::WaitFor(ending) => drop(wait_exit(&ending)),
        }
    };
    let answer = starting
        .started()
        .wait_take(None)
        .expect("an unlimited wait returns");
    core.finish_start(starting, answer)
}

/// Blocks until there is room under the capacity and reserves it (no wait,
/// nor lock, without a capacity); `WouldDeadlock` on the pool's own thread,
/// which a blocking wait would stall.
fn reserve_room(core: &Core) -> Result<Count, TaskError> {
    if !core.has_capacity() {
        // The submission checks the thread, under the lock it takes.
        return Ok(Count::Blocking);
    }
    if core.on_pool_thread() {
        return Err(core.would_deadlock());
    }
    block_on_poll(|cx| core.poll_room(cx))?;
    Ok(Count::Reserved)
}

impl<C: 'static> ThreadedTaskPoolBuilder<Blocking, C> {
    /// The pool, started: its thread runs and its context is built.
    pub fn start(self) -> Result<ThreadedTaskPool<Blocking, C>, TaskError> {
        let pool = self.build();
        pool.start()?;
        Ok(pool)
    }
}

impl<C: 'static> ThreadedTaskPool<Blocking, C> {
    /// Starts the pool thread and builds the context; returns once both are
    /// done. `AlreadyRunning` if it runs; `Init` if the context failed (no
    /// thread is left behind); `InvalidName` for a name with a NUL byte.
    pub fn start(&self) -> Result<(), TaskError> {
        start(&self.core)
    }

    /// Stops the pool: takes no more tasks, waits until every task
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
        stop_bounded(&self.core, self.core.default_stop_bound()).map(|_| ())
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
        stop_bounded(&self.core, Some(timeout))
    }

    /// Runs `future` on the pool and blocks until its outcome. With a
    /// capacity, waits for room. `WouldDeadlock` from the pool's own thread.
    pub fn run<F>(&self, future: F) -> Result<F::Output, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let count = reserve_room(&self.core)?;
        self.core.submit_task(future, count)?.wait()
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
        let count = reserve_room(&self.core)?;
        self.core.submit_with::<C, _, _, _>(make, count)?.wait()
    }
}
