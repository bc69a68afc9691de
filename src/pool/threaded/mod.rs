//! A task pool on its own thread: one OS thread running a
//! [`LocalExecutor`](crate::LocalExecutor) with a [`TaskPool`](crate::TaskPool)
//! on it, the pool's context, and an inbox fed from any thread.
//!
//! [`ThreadedTaskPool`] is written once; its two fronts differ only in how
//! they wait — [`BlockingThreadedTaskPool`] blocks the calling thread
//! (`blocking.rs`), [`AsyncThreadedTaskPool`] awaits (`nonblocking.rs`).
//!
//! # Lifecycle
//! `Stopped` → `start` → `Starting` (the thread builds the context) →
//! `Running` → `stop` → `Stopping` → `Stopped`, any number of times. `start`
//! returns once the context is built (or its error came back, and the
//! thread is gone). `stop` closes the inbox; the pool thread runs every job
//! already sent, drains the pool's tasks (until the stop's bound, if any,
//! then cancels what is left), cancels the services and everything else on
//! its executor, tears the context down, and ends (S2).
//!
//! # Ground rules
//! - `lifecycle` is read-locked to submit (so a stop waits for submissions in
//!   flight) and write-locked only to change state; never held while waiting
//!   for the pool thread.
//! - Every task is counted as queued at submission, against `capacity`;
//!   services are not.
//! - The pool thread always completes its `Ending`'s `exited` slot, even
//!   when its body panics (K2): nothing waits on a thread that is gone. A
//!   `Running` pool whose thread has exited counts as stopped.

mod blocking;
mod builder;
mod core;
mod nonblocking;
mod thread;

pub use builder::ThreadedTaskPoolBuilder;

use self::builder::ThreadedConfig;
use self::core::{Core, CoreHost, Count, Exit};
use super::handle::TaskHandle;
use super::stats::PoolStats;
use super::{sealed, SendFuture, ServiceHost, Spawned, Submit};
use crate::error::TaskError;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

/// Marker for the front of a [`BlockingThreadedTaskPool`]: calls block the
/// calling thread.
#[derive(Debug)]
pub enum Blocking {}

/// Marker for the front of an [`AsyncThreadedTaskPool`]: calls are `async`
/// and never block the caller's thread.
#[derive(Debug)]
pub enum Async {}

/// A front of a [`ThreadedTaskPool`]: [`Blocking`] or [`Async`] (sealed).
pub trait Front: front_sealed::Front {}

impl Front for Blocking {}
impl Front for Async {}

#[allow(unreachable_pub)] // the sealed-trait pattern: public, unnameable
mod front_sealed {
    /// What differs between the fronts outside their waiting methods.
    pub trait Front {
        /// The front's type name, for `Debug`.
        const NAME: &'static str;
        /// Dropping the pool stops it and waits (else: starts the stop and
        /// returns at once; the pool thread finishes it on its own).
        const DROP_WAITS: bool;
    }

    impl Front for super::Blocking {
        const NAME: &'static str = "BlockingThreadedTaskPool";
        const DROP_WAITS: bool = true;
    }

    impl Front for super::Async {
        const NAME: &'static str = "AsyncThreadedTaskPool";
        const DROP_WAITS: bool = false;
    }
}

/// A task pool on its own thread, with the front `P` ([`Blocking`] or
/// [`Async`]) and a context `C` built on the pool thread. Use it through its
/// two names, [`BlockingThreadedTaskPool`] and [`AsyncThreadedTaskPool`];
/// the methods below are the same on both.
///
/// `Send + Sync`: share it (`&` or `Arc`) with every thread that submits.
pub struct ThreadedTaskPool<P: Front, C: 'static = ()> {
    /// Not generic over `C` (the context is erased there): the pool's
    /// machinery is compiled once, in the library.
    core: Arc<Core>,
    front: PhantomData<fn() -> P>,
    /// The context type, for the typed methods; invariant, and no bar to
    /// `Send + Sync` (the context lives on the pool thread only).
    context: PhantomData<fn(C) -> C>,
}

/// A task pool on its own thread, for synchronous code: the Python library
/// asyncio-concurrent-tasks' `with BlockingThreadedTaskPool() as pool:
/// pool.run(func())`.
///
/// `Send + Sync`: share it (`&` or `Arc`) with every thread that submits.
/// Dropping it stops it like `stop()`.
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
pub type BlockingThreadedTaskPool<C = ()> = ThreadedTaskPool<Blocking, C>;

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
pub type AsyncThreadedTaskPool<C = ()> = ThreadedTaskPool<Async, C>;

impl<P: Front> ThreadedTaskPool<P, ()> {
    /// A pool with default settings, not started yet.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder for this front's pool.
    pub fn builder() -> ThreadedTaskPoolBuilder<P> {
        ThreadedTaskPoolBuilder::new()
    }
}

impl<P: Front> Default for ThreadedTaskPool<P, ()> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: Front, C: 'static> ThreadedTaskPool<P, C> {
    fn from_config(config: ThreadedConfig) -> Self {
        ThreadedTaskPool {
            core: Arc::new(Core::new(config)),
            front: PhantomData,
            context: PhantomData,
        }
    }

    /// Creates a task on the pool and returns its handle at once. `Full`
    /// when the capacity is reached, `NotRunning` when stopped.
    pub fn create_task<F>(&self, future: F) -> Result<TaskHandle<F::Output>, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.core.submit(future, Submit::Task)
    }

    /// Creates a task from a `Send` closure that builds its (possibly
    /// `!Send`) future on the pool thread, with the pool's context at hand.
    /// A panic in `make` is the task's `Err(Panicked)`.
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
        self.core.submit_with::<C, _, _, _>(make, Count::Task)
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

impl<P: Front, C: 'static> Drop for ThreadedTaskPool<P, C> {
    fn drop(&mut self) {
        drop_pool(&self.core, P::DROP_WAITS);
    }
}

impl<P: Front, C: 'static> fmt::Debug for ThreadedTaskPool<P, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(P::NAME)
            .field("name", &self.core.name())
            .field("running", &self.core.is_running())
            .field("stats", &self.core.stats())
            .finish()
    }
}

impl<P: Front, C: 'static> sealed::Sealed for ThreadedTaskPool<P, C> {
    fn service_host(&self) -> Arc<dyn ServiceHost> {
        Arc::new(CoreHost(Arc::downgrade(&self.core)))
    }

    fn submit<F: SendFuture>(&self, future: F, kind: Submit) -> Spawned<F::Output> {
        self.core.submit(future, kind)
    }
}

/// Stops a dropped pool with its default bound; waits for the end if `wait`
/// (the blocking front) and this is not the pool's own thread.
fn drop_pool(core: &Core, wait: bool) {
    let bound = core.default_stop_bound();
    // On the pool's own thread nobody can wait for it: the thread drains
    // and ends on its own.
    if wait && !core.on_pool_thread() {
        let _ = blocking::stop_bounded(core, bound);
    } else {
        let _ = core.begin_stop(bound);
    }
}

/// The exit of a pool thread, from its `exited` slot (never taken: every
/// waiter clones it).
fn exit_of(exit: Result<Exit, TaskError>) -> Exit {
    exit.expect("an exit is never taken")
}

#[cfg(test)]
mod tests;
