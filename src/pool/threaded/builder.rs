//! [`ThreadedTaskPoolBuilder`]: one builder for both threaded fronts, and
//! the configuration it hands to the pool.
//!
//! The context is typed only here and in the typed front: the builder wraps
//! the user's initialiser and teardown into erased closures (the context as
//! `Box<dyn Any>`), so the pool's machinery is compiled once, in the
//! library, whatever the context type.

use super::{Front, ThreadedTaskPool};
use crate::pool::config::{pool_setters, PoolConfig};
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;
/// The context, erased: built and used only on the pool thread (need not be
/// `Send`).
pub(super) type Context = Box<dyn Any>;
pub(super) type InitFn = Arc<dyn Fn() -> LocalBoxFuture<Result<Context, String>> + Send + Sync>;
pub(super) type StopFn = Arc<dyn Fn(Context) -> LocalBoxFuture<()> + Send + Sync>;

/// Configures a threaded task pool; one builder for both fronts.
///
/// `P` is the front ([`Blocking`](crate::front::Blocking) or
/// [`Async`](crate::front::Async)), `C` the context type built on the pool
/// thread ([`context`](Self::context) /
/// [`async_context`](Self::async_context)).
///
/// ```
/// use concurrent_tasks::BlockingThreadedTaskPool;
/// use std::time::Duration;
///
/// let pool = BlockingThreadedTaskPool::builder()
///     .name("io")
///     .size(4)
///     .timeout(Duration::from_secs(5))
///     .capacity(1000)
///     .stop_timeout(Duration::from_secs(2))
///     .on_unhandled(|err| eprintln!("io pool: {err}"))
///     .start()?;
/// assert_eq!(pool.run(async { 1 })?, 1);
/// pool.stop()?;
/// # Ok::<(), concurrent_tasks::TaskError>(())
/// ```
#[must_use = "a builder does nothing until .build() or .start()"]
pub struct ThreadedTaskPoolBuilder<P, C = ()> {
    config: ThreadedConfig,
    front: PhantomData<fn() -> P>,
    /// The type `init` builds (erased in `config`); invariant, as the typed
    /// closures it replaced made it.
    context: PhantomData<fn(C) -> C>,
}

/// A threaded pool's configuration; the context is erased (see the module
/// docs).
pub(super) struct ThreadedConfig {
    /// What every pool has.
    pub(super) pool: PoolConfig,
    pub(super) limits: Limits,
    pub(super) init: InitFn,
    pub(super) on_stop: Option<StopFn>,
}

impl ThreadedConfig {
    /// The defaults, with the `()` context (not generic: built once).
    fn new() -> Self {
        ThreadedConfig {
            pool: PoolConfig::default(),
            limits: Limits::default(),
            init: Arc::new(|| Box::pin(std::future::ready(Ok(Box::new(()) as Context)))),
            on_stop: None,
        }
    }
}

/// What only a threaded pool bounds.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Limits {
    /// Tasks waiting to start, at most (`0`: no bound).
    pub(super) capacity: usize,
    pub(super) daemon: bool,
    pub(super) stop_timeout: Option<Duration>,
    /// Test-only: the pool thread panics outside every guard after this many
    /// jobs (to prove the K2 backstop).
    #[cfg(test)]
    pub(super) fault_after: Option<usize>,
}

impl<P, C> fmt::Debug for ThreadedTaskPoolBuilder<P, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadedTaskPoolBuilder")
            .field("pool", &self.config.pool)
            .field("limits", &self.config.limits)
            .finish()
    }
}

impl<P> ThreadedTaskPoolBuilder<P, ()> {
    pub(crate) fn new() -> Self {
        ThreadedTaskPoolBuilder {
            config: ThreadedConfig::new(),
            front: PhantomData,
            context: PhantomData,
        }
    }
}

impl<P: Front, C: 'static> ThreadedTaskPoolBuilder<P, C> {
    /// The pool, not started yet.
    pub fn build(self) -> ThreadedTaskPool<P, C> {
        ThreadedTaskPool::from_config(self.config)
    }
}

impl<P, C: 'static> ThreadedTaskPoolBuilder<P, C> {
    pool_setters!(config.pool);

    /// Bounds the tasks waiting to start (inbox and buffer): past it
    /// `create_task` gives `Err(Full)` and `run` waits for room. `0` (the
    /// default) is no bound. Services do not count.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.config.limits.capacity = capacity;
        self
    }

    /// Makes `stop` (and drop) cancel the tasks still waiting or running
    /// instead of waiting for them — the same as
    /// [`stop_timeout(Duration::ZERO)`](Self::stop_timeout): their handles
    /// yield `Cancelled`, and `stop` returns once they are dropped (at their
    /// next await point). Default `false`: stop finishes every task.
    pub fn daemon(mut self, daemon: bool) -> Self {
        self.config.limits.daemon = daemon;
        self
    }

    /// Bounds how long `stop()` (and drop) waits for the tasks to drain:
    /// what is still buffered or running `timeout` after the stop began is
    /// cancelled. Default: no bound. See
    /// [`BlockingThreadedTaskPool::stop_timeout`](crate::BlockingThreadedTaskPool::stop_timeout).
    pub fn stop_timeout(mut self, timeout: Duration) -> Self {
        self.config.limits.stop_timeout = Some(timeout);
        self
    }

    /// A context built on the pool thread by `init` at each start, before
    /// any task, and dropped there after the last task. Tasks reach it
    /// through `create_task_with`. An `Err` (or a panic) makes `start` fail
    /// with `TaskError::Init`.
    pub fn context<D, E, F>(self, init: F) -> ThreadedTaskPoolBuilder<P, D>
    where
        F: Fn() -> Result<D, E> + Send + Sync + 'static,
        E: fmt::Display + 'static,
        D: 'static,
    {
        self.async_context(move || std::future::ready(init()))
    }

    /// Like [`context`](Self::context) with an async initialiser (run on
    /// the pool thread, so its future need not be `Send`).
    pub fn async_context<D, E, F, Fut>(self, init: F) -> ThreadedTaskPoolBuilder<P, D>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<D, E>> + 'static,
        E: fmt::Display + 'static,
        D: 'static,
    {
        let init = Arc::new(init);
        ThreadedTaskPoolBuilder {
            config: ThreadedConfig {
                pool: self.config.pool,
                limits: self.config.limits,
                init: Arc::new(move || {
                    let fut = init();
                    Box::pin(async move {
                        match fut.await {
                            Ok(ctx) => Ok(Box::new(ctx) as Context),
                            Err(e) => Err(e.to_string()),
                        }
                    })
                }),
                // A teardown takes the context: one for the old type is void.
                on_stop: None,
            },
            front: PhantomData,
            context: PhantomData,
        }
    }

    /// An async teardown of the context, run on the pool thread after the
    /// last task and service, once per start. Without it the context is
    /// dropped there. A panic in it (or in the context's drop) is reported
    /// to `on_unhandled`; `stop` still returns `Ok`.
    pub fn on_stop<F, Fut>(mut self, teardown: F) -> Self
    where
        F: Fn(C) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        self.config.on_stop = Some(Arc::new(move |ctx: Context| match ctx.downcast::<C>() {
            Ok(ctx) => Box::pin(teardown(*ctx)),
            // The context was built by this builder's `init`, of type `C`
            // (a new context type resets `on_stop`), so this cannot happen;
            // if it did, the context is dropped and the miss reported.
            Err(_) => mismatched_teardown(),
        }));
        self
    }

    /// Test-only: the pool thread panics outside every guard after `jobs`
    /// jobs.
    #[cfg(test)]
    pub(crate) fn fault_after(mut self, jobs: usize) -> Self {
        self.config.limits.fault_after = Some(jobs);
        self
    }
}

/// A teardown given a context of another type (see `on_stop`): fails as
/// `on_stop` would, inside its task (reported, never let through).
#[cold]
#[inline(never)]
fn mismatched_teardown() -> LocalBoxFuture<()> {
    Box::pin(async { panic!("on_stop was given a context of another type") })
}
