//! The threaded core shared by both fronts: one OS thread running a
//! [`LocalExecutor`](crate::LocalExecutor) with a [`TaskPool`] on it, the
//! pool's context, and an inbox fed from any thread.
//!
//! # Lifecycle
//! `Stopped` → `start` → `Starting` (the thread builds the context) →
//! `Running` → `stop` → `Stopped`, any number of times. `start` returns once
//! the context is built (or its error came back, and the thread is gone).
//! `stop` closes the inbox; the pool thread runs every job already sent,
//! drains the pool (buffered tasks included), tears the context down, and
//! ends.
//!
//! # Ground rules
//! - `lifecycle` is read-locked to submit (so a stop waits for submissions in
//!   flight) and write-locked only to change state; never held while waiting
//!   for the pool thread.
//! - Every task is counted as queued at submission, against `capacity`.

use super::handle::{stderr_reporter, PoolOwner, TaskHandle};
use super::inbox::{inbox, InboxSender};
use super::local::{PoolInner, TaskPool};
use super::stats::{PoolStats, Stats};
use super::task::{bind_thread_pool, MakeJob, PoolTask, ThreadJob, ThreadLink};
use crate::error::TaskError;
use crate::executor::cell::{TaskCell, TaskRef};
use crate::executor::task::{Reporter, Shared};
use crate::executor::{current, JoinHandle, LocalExecutor};
use crate::slot::Slot;
use parking_lot::RwLock;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;
type InitFn<C> = Arc<dyn Fn() -> LocalBoxFuture<Result<C, String>> + Send + Sync>;
type StopFn<C> = Arc<dyn Fn(C) -> LocalBoxFuture<()> + Send + Sync>;
/// A job for the pool thread: gets the context and the pool. Most are the
/// boxed pool task itself (`create_task`), spawned as it is.
type BoxJob<C> = Box<dyn ThreadJob<C>>;

/// Marker for the builder of a [`BlockingThreadedTaskPool`](crate::BlockingThreadedTaskPool).
#[derive(Debug)]
pub enum Blocking {}

/// Marker for the builder of an [`AsyncThreadedTaskPool`](crate::AsyncThreadedTaskPool).
#[derive(Debug)]
pub enum Async {}

/// Configures a threaded task pool; one builder for both fronts.
///
/// `P` is the front ([`Blocking`] or [`Async`]), `C` the context type built
/// on the pool thread ([`context`](Self::context) /
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
///     .on_unhandled(|err| eprintln!("io pool: {err}"))
///     .start()?;
/// assert_eq!(pool.run(async { 1 })?, 1);
/// pool.stop()?;
/// # Ok::<(), concurrent_tasks::TaskError>(())
/// ```
#[must_use = "a builder does nothing until .build() or .start()"]
pub struct ThreadedTaskPoolBuilder<P, C = ()> {
    config: Config<C>,
    front: PhantomData<fn() -> P>,
}

pub(crate) struct Config<C> {
    pub(crate) name: Option<String>,
    size: usize,
    timeout: Option<Duration>,
    capacity: usize,
    report: Option<Reporter>,
    init: InitFn<C>,
    on_stop: Option<StopFn<C>>,
    daemon: bool,
}

impl<P, C> fmt::Debug for ThreadedTaskPoolBuilder<P, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadedTaskPoolBuilder")
            .field("name", &self.config.name)
            .field("size", &self.config.size)
            .field("timeout", &self.config.timeout)
            .field("capacity", &self.config.capacity)
            .field("daemon", &self.config.daemon)
            .finish()
    }
}

impl<P> ThreadedTaskPoolBuilder<P, ()> {
    pub(crate) fn new() -> Self {
        ThreadedTaskPoolBuilder {
            config: Config {
                name: None,
                size: 0,
                timeout: None,
                capacity: 0,
                report: None,
                init: Arc::new(|| Box::pin(std::future::ready(Ok(())))),
                on_stop: None,
                daemon: false,
            },
            front: PhantomData,
        }
    }
}

impl<P, C: 'static> ThreadedTaskPoolBuilder<P, C> {
    /// Names the pool and its thread (`std::thread::current().name()` in a
    /// task). A name with a NUL byte makes `start` fail with `InvalidName`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.config.name = Some(name.into());
        self
    }

    /// At most `size` tasks run at once; the rest wait in FIFO order.
    /// `0` (the default) is unlimited.
    pub fn size(mut self, size: usize) -> Self {
        self.config.size = size;
        self
    }

    /// Cancels a task running longer than `timeout` from its start (not
    /// counting time in the buffer); its handle yields `TimedOut`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = Some(timeout);
        self
    }

    /// Bounds the tasks waiting to start (inbox and buffer): past it
    /// `create_task` gives `Err(Full)` and `run` waits for room. `0` (the
    /// default) is no bound.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.config.capacity = capacity;
        self
    }

    /// Receives every `Panicked` or `TimedOut` outcome that no handle will
    /// read. Default: one line on stderr.
    pub fn on_unhandled(mut self, hook: impl Fn(TaskError) + Send + Sync + 'static) -> Self {
        self.config.report = Some(Arc::new(hook));
        self
    }

    /// Makes `stop` (and drop) cancel the tasks still waiting or running
    /// instead of waiting for them: their handles yield `Cancelled`, and
    /// `stop` returns once they are dropped (at their next await point).
    /// Default `false`: stop finishes every task.
    pub fn daemon(mut self, daemon: bool) -> Self {
        self.config.daemon = daemon;
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
            config: Config {
                name: self.config.name,
                size: self.config.size,
                timeout: self.config.timeout,
                capacity: self.config.capacity,
                report: self.config.report,
                init: Arc::new(move || {
                    let fut = init();
                    Box::pin(async move { fut.await.map_err(|e| e.to_string()) })
                }),
                on_stop: None,
                daemon: self.config.daemon,
            },
            front: PhantomData,
        }
    }

    /// An async teardown of the context, run on the pool thread after the
    /// last task, once per start. Without it the context is dropped there.
    pub fn on_stop<F, Fut>(mut self, teardown: F) -> Self
    where
        F: Fn(C) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        self.config.on_stop = Some(Arc::new(move |ctx| Box::pin(teardown(ctx))));
        self
    }

    pub(crate) fn into_core(self) -> Arc<Core<C>> {
        let name = self
            .config
            .name
            .clone()
            .unwrap_or_else(|| "task-pool".to_owned());
        Arc::new(Core {
            report: self
                .config
                .report
                .clone()
                .unwrap_or_else(|| stderr_reporter(&name)),
            name,
            config: self.config,
            lifecycle: RwLock::new(Lifecycle::Stopped),
        })
    }
}

/// The state both fronts share.
pub(crate) struct Core<C> {
    pub(crate) name: String,
    report: Reporter,
    config: Config<C>,
    lifecycle: RwLock<Lifecycle<C>>,
}

enum Lifecycle<C> {
    Stopped,
    Starting,
    Running(Running<C>),
}

struct Running<C> {
    sender: InboxSender<BoxJob<C>>,
    owner: Arc<PoolOwner>,
    shared: Arc<Shared>,
    stats: Arc<Stats>,
    exited: Arc<Slot<()>>,
    thread: std::thread::JoinHandle<()>,
}

/// What the pool thread sends back once its context is built.
pub(crate) struct Started<C> {
    sender: InboxSender<BoxJob<C>>,
    owner: Arc<PoolOwner>,
    shared: Arc<Shared>,
}

/// A start in progress: wait on `started` (blocking or async), then
/// [`Core::finish_start`].
pub(crate) struct Starting<C> {
    started: Arc<Slot<Started<C>>>,
    exited: Arc<Slot<()>>,
    thread: std::thread::JoinHandle<()>,
    stats: Arc<Stats>,
}

impl<C> Starting<C> {
    pub(crate) fn exited(&self) -> &Arc<Slot<()>> {
        &self.exited
    }
}

/// A stop in progress: wait on `exited`, then [`Stopping::join`].
pub(crate) struct Stopping {
    pub(crate) exited: Arc<Slot<()>>,
    thread: std::thread::JoinHandle<()>,
}

impl Stopping {
    pub(crate) fn join(self) -> Result<(), TaskError> {
        self.thread
            .join()
            .map_err(|p| TaskError::Panicked(crate::executor::task::panic_message(&*p)))
    }
}

// === impl Core ===

impl<C: 'static> Core<C> {
    fn not_running(&self) -> TaskError {
        TaskError::NotRunning {
            pool: self.name.clone(),
        }
    }

    /// `true` on the pool's own thread (while it runs).
    pub(crate) fn on_pool_thread(&self) -> bool {
        match &*self.lifecycle.read() {
            Lifecycle::Running(r) => r.owner.on_own_thread(),
            _ => false,
        }
    }

    pub(crate) fn would_deadlock(&self) -> TaskError {
        TaskError::WouldDeadlock {
            pool: self.name.clone(),
        }
    }

    pub(crate) fn is_running(&self) -> bool {
        matches!(&*self.lifecycle.read(), Lifecycle::Running(_))
    }

    /// Spawns the pool thread; the caller then waits on the result.
    pub(crate) fn begin_start(&self) -> Result<Starting<C>, TaskError> {
        if self.name.contains('\0') {
            return Err(TaskError::InvalidName(self.name.clone()));
        }
        {
            let mut lifecycle = self.lifecycle.write();
            if !matches!(*lifecycle, Lifecycle::Stopped) {
                return Err(TaskError::AlreadyRunning {
                    pool: self.name.clone(),
                });
            }
            *lifecycle = Lifecycle::Starting;
        }
        let started = Arc::new(Slot::new());
        let exited = Arc::new(Slot::new());
        let stats = Arc::new(Stats::with_capacity(self.config.capacity));
        let body = PoolThread {
            name: self.name.clone(),
            size: self.config.size,
            timeout: self.config.timeout,
            report: self.report.clone(),
            init: self.config.init.clone(),
            on_stop: self.config.on_stop.clone(),
            daemon: self.config.daemon,
            stats: stats.clone(),
            started: started.clone(),
        };
        let thread = std::thread::Builder::new().name(self.name.clone()).spawn({
            let exited = exited.clone();
            move || {
                body.run();
                let _ = exited.complete(Ok(()));
            }
        });
        match thread {
            Ok(thread) => Ok(Starting {
                started,
                exited,
                thread,
                stats,
            }),
            Err(e) => {
                *self.lifecycle.write() = Lifecycle::Stopped;
                Err(TaskError::Init(format!(
                    "could not spawn the pool thread: {e}"
                )))
            }
        }
    }

    /// The slot the pool thread completes once its context is built.
    pub(crate) fn started_slot(starting: &Starting<C>) -> &Arc<Slot<Started<C>>> {
        &starting.started
    }

    /// Ends a start whose waiter went away (an async `start` future dropped
    /// mid-way): the pool thread, finding nobody to answer, or its inbox
    /// closed, drains and ends on its own.
    pub(crate) fn abandon_start(&self, starting: Starting<C>) {
        if let Some(Ok(started)) = starting.started.detach() {
            started.sender.close();
        }
        *self.lifecycle.write() = Lifecycle::Stopped;
    }

    /// Ends a start with the pool thread's answer. On failure the thread is
    /// gone (waited for) when this returns.
    pub(crate) fn finish_start(
        &self,
        starting: Starting<C>,
        answer: Result<Started<C>, TaskError>,
    ) -> Result<(), TaskError> {
        match answer {
            Ok(started) => {
                *self.lifecycle.write() = Lifecycle::Running(Running {
                    sender: started.sender,
                    owner: started.owner,
                    shared: started.shared,
                    stats: starting.stats,
                    exited: starting.exited,
                    thread: starting.thread,
                });
                Ok(())
            }
            Err(error) => {
                // The thread ends right after reporting the failure.
                let _ = starting.thread.join();
                *self.lifecycle.write() = Lifecycle::Stopped;
                Err(error)
            }
        }
    }

    /// Closes the inbox; the caller then waits for the thread to end.
    pub(crate) fn begin_stop(&self) -> Result<Stopping, TaskError> {
        let running = {
            let mut lifecycle = self.lifecycle.write();
            match std::mem::replace(&mut *lifecycle, Lifecycle::Stopped) {
                Lifecycle::Running(running) => running,
                other => {
                    *lifecycle = other;
                    return Err(self.not_running());
                }
            }
        };
        running.sender.close();
        Ok(Stopping {
            exited: running.exited,
            thread: running.thread,
        })
    }

    /// Submits a task: `Send` futures are built into their executor task
    /// here, on the caller's thread. Without `reserved`, a full pool gives
    /// `Err(Full)`; with it, room was already reserved by the caller.
    pub(crate) fn submit<F>(
        &self,
        future: F,
        reserved: bool,
    ) -> Result<TaskHandle<F::Output>, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.send(reserved, |cell| {
            Box::new(PoolTask::new(future, cell, ThreadLink))
        })
    }

    /// Submits a job that spawns the future `make(ctx)` returns, on the
    /// pool's thread (the future need not be `Send`).
    pub(crate) fn submit_with<T, F, Fut>(
        &self,
        make: F,
        reserved: bool,
    ) -> Result<TaskHandle<T>, TaskError>
    where
        F: FnOnce(&C) -> Fut + Send + 'static,
        Fut: Future<Output = T> + 'static,
        T: Send + 'static,
    {
        self.send(reserved, |cell| {
            let unsent = Unsent(Some(cell));
            Box::new(MakeJob(move |ctx: &C, pool: &Rc<PoolInner>| {
                let mut unsent = unsent;
                if let Some(cell) = unsent.0.take() {
                    pool.spawn_future(cell, make(ctx), true);
                }
            }))
        })
    }

    /// Counts a task in, makes its handle, and sends the job `job` builds.
    fn send<T: Send + 'static>(
        &self,
        reserved: bool,
        job: impl FnOnce(Arc<TaskCell<T>>) -> BoxJob<C>,
    ) -> Result<TaskHandle<T>, TaskError> {
        let lifecycle = self.lifecycle.read();
        let Lifecycle::Running(running) = &*lifecycle else {
            return Err(self.not_running());
        };
        if !reserved && !running.stats.try_queue() {
            return Err(TaskError::Full);
        }
        let cell = TaskCell::new(running.shared.clone());
        let handle = TaskHandle::new(
            JoinHandle::new(TaskRef::Cell(cell.clone())),
            running.owner.clone(),
        );
        if running.sender.send(job(cell)).is_err() {
            running.stats.unqueued();
            return Err(self.not_running());
        }
        Ok(handle)
    }

    /// Waits (by `cx`) for room under the capacity and reserves it.
    pub(crate) fn poll_room(&self, cx: &mut Context<'_>) -> Poll<Result<(), TaskError>> {
        let lifecycle = self.lifecycle.read();
        let Lifecycle::Running(running) = &*lifecycle else {
            return Poll::Ready(Err(self.not_running()));
        };
        running.stats.poll_queue(cx).map(Ok)
    }

    pub(crate) fn stats(&self) -> PoolStats {
        match &*self.lifecycle.read() {
            Lifecycle::Running(running) => running.stats.snapshot(),
            _ => PoolStats::default(),
        }
    }
}

/// A task's handle parts whose job never ran (the pool thread is gone):
/// resolves the handle with `Cancelled` instead of leaving it hanging.
struct Unsent<T>(Option<Arc<TaskCell<T>>>);

impl<T> Drop for Unsent<T> {
    fn drop(&mut self) {
        if let Some(cell) = self.0.take() {
            let _ = cell.slot.complete(Err(TaskError::Cancelled));
        }
    }
}

/// Everything the pool thread needs, moved into it.
struct PoolThread<C> {
    name: String,
    size: usize,
    timeout: Option<Duration>,
    report: Reporter,
    init: InitFn<C>,
    on_stop: Option<StopFn<C>>,
    daemon: bool,
    stats: Arc<Stats>,
    started: Arc<Slot<Started<C>>>,
}

impl<C: 'static> PoolThread<C> {
    fn run(self) {
        let executor = LocalExecutor::new();
        executor.inner().patient.set(true);
        executor.block_on(self.main());
    }

    async fn main(self) {
        let init = self.init.clone();
        // Run the initialiser as a task: a panic comes back as `Panicked`.
        let ctx = match crate::spawn(async move { init().await }).await {
            Ok(Ok(ctx)) => ctx,
            Ok(Err(message)) => {
                let _ = self.started.complete(Err(TaskError::Init(message)));
                return;
            }
            Err(TaskError::Panicked(message)) => {
                let _ = self.started.complete(Err(TaskError::Init(format!(
                    "initialiser panicked: {message}"
                ))));
                return;
            }
            Err(other) => {
                let _ = self
                    .started
                    .complete(Err(TaskError::Init(other.to_string())));
                return;
            }
        };
        let mut builder = TaskPool::builder()
            .name(self.name.clone())
            .size(self.size)
            .reporter(self.report.clone())
            .stats(self.stats.clone())
            .track_tasks(self.daemon);
        if let Some(timeout) = self.timeout {
            builder = builder.timeout(timeout);
        }
        let pool = builder.build();
        // Tasks built on callers' threads find the pool through this thread.
        let _bound = bind_thread_pool(pool.inner());
        let (sender, jobs) = inbox::<BoxJob<C>>();
        let shared = current::with_current(|ex| ex.shared.clone()).expect("inside block_on");
        let answer = Started {
            sender,
            owner: pool.owner(),
            shared,
        };
        if self.started.complete(Ok(answer)).is_err() {
            // The start was abandoned (its future dropped): nobody will
            // send; the refused answer (with the only sender) is dropped,
            // so the loop below ends at once.
        }
        // Serve until every sender is gone (stop closed the inbox). Yield to
        // the executor every `JOB_BATCH` jobs, so a stream of submissions
        // cannot starve the tasks (and timers) already on the pool.
        let mut batch = 0;
        while let Some(job) = std::future::poll_fn(|cx| jobs.poll_recv(cx)).await {
            job.run(&ctx, pool.inner());
            batch += 1;
            if batch == super::JOB_BATCH {
                batch = 0;
                crate::yield_now().await;
            }
        }
        if self.daemon {
            pool.cancel_all();
        }
        pool.stop().await;
        match &self.on_stop {
            Some(teardown) => {
                let teardown = teardown.clone();
                if let Err(TaskError::Panicked(m)) =
                    crate::spawn(async move { teardown(ctx).await }).await
                {
                    (self.report)(TaskError::Panicked(format!("on_stop panicked: {m}")));
                }
            }
            None => drop(ctx),
        }
    }
}
