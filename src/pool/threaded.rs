//! The threaded core shared by both fronts: one OS thread running a
//! [`LocalExecutor`](crate::LocalExecutor) with a [`TaskPool`] on it, the
//! pool's context, and an inbox fed from any thread.
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
//! - The pool thread always completes its [`Ending`]'s `exited` slot, even
//!   when its body panics (K2): nothing waits on a thread that is gone. A
//!   `Running` pool whose thread has exited counts as stopped.

use super::handle::{PoolOwner, TaskHandle};
use super::inbox::{inbox, InboxSender};
use super::local::TaskPool;
use super::stats::{PoolStats, Stats};
use super::task::{
    bind_thread_pool, polling_thread_task, MakeJob, PoolTask, ServiceJob, ThreadJob, ThreadLink,
    Unsent,
};
use crate::error::TaskError;
use crate::executor::cell::{TaskCell, TaskRef};
use crate::executor::task::Shared;
use crate::executor::{current, JoinHandle, LocalExecutor};
use crate::guard::{call_user, drop_user, Guarded};
use crate::report::{Hook, Reporter, Unhandled};
use crate::slot::Slot;
use parking_lot::{Mutex, RwLock};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;
type InitFn<C> = Arc<dyn Fn() -> LocalBoxFuture<Result<C, String>> + Send + Sync>;
type StopFn<C> = Arc<dyn Fn(C) -> LocalBoxFuture<()> + Send + Sync>;
/// A job for the pool thread: gets the context and the pool. Most are the
/// boxed pool task itself (`create_task`), spawned as it is.
type BoxJob<C> = Box<dyn ThreadJob<C>>;

/// Rounds of "cancel everything, let the executor drop it" at the end of a
/// stop; a destructor that spawns again and again is cut off after these
/// (what is left is dropped with the executor).
const CANCEL_ROUNDS: usize = 64;

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
///     .stop_timeout(Duration::from_secs(2))
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
    pub(crate) size: usize,
    timeout: Option<Duration>,
    capacity: usize,
    hook: Option<Hook>,
    init: InitFn<C>,
    on_stop: Option<StopFn<C>>,
    daemon: bool,
    stop_timeout: Option<Duration>,
    /// Test-only: the pool thread panics outside every guard after this many
    /// jobs (to prove the K2 backstop).
    #[cfg(test)]
    pub(crate) fault_after: Option<usize>,
}

impl<P, C> fmt::Debug for ThreadedTaskPoolBuilder<P, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadedTaskPoolBuilder")
            .field("name", &self.config.name)
            .field("size", &self.config.size)
            .field("timeout", &self.config.timeout)
            .field("capacity", &self.config.capacity)
            .field("daemon", &self.config.daemon)
            .field("stop_timeout", &self.config.stop_timeout)
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
                hook: None,
                init: Arc::new(|| Box::pin(std::future::ready(Ok(())))),
                on_stop: None,
                daemon: false,
                stop_timeout: None,
                #[cfg(test)]
                fault_after: None,
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
    /// `0` (the default) is unlimited. Services (`start_on`,
    /// `spawn_service`) do not take a place.
    ///
    /// A task holds its place while it awaits a nested `run` of its own
    /// pool (async front): with `size(1)` that run could never start, so it
    /// gets `Err(WouldDeadlock)` at once. With a larger size, nested runs
    /// deadlock only when every place is held by a task waiting that way —
    /// keep such nesting below the size, or use a second pool.
    pub fn size(mut self, size: usize) -> Self {
        self.config.size = size;
        self
    }

    /// Cancels a task running longer than `timeout` from its start (not
    /// counting time in the buffer); its handle yields `TimedOut`. Services
    /// are not timed.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = Some(timeout);
        self
    }

    /// Bounds the tasks waiting to start (inbox and buffer): past it
    /// `create_task` gives `Err(Full)` and `run` waits for room. `0` (the
    /// default) is no bound. Services do not count.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.config.capacity = capacity;
        self
    }

    /// Receives every `Panicked` or `TimedOut` outcome that no handle will
    /// read, and the panics of users' code outside a task's poll (a
    /// destructor, a context's drop, `on_stop`). Default: one line on
    /// stderr. A hook that panics is reported once on stderr and otherwise
    /// ignored: it never takes the pool down.
    pub fn on_unhandled(mut self, hook: impl Fn(TaskError) + Send + Sync + 'static) -> Self {
        self.config.hook = Some(Box::new(hook));
        self
    }

    /// Makes `stop` (and drop) cancel the tasks still waiting or running
    /// instead of waiting for them — the same as
    /// [`stop_timeout(Duration::ZERO)`](Self::stop_timeout): their handles
    /// yield `Cancelled`, and `stop` returns once they are dropped (at their
    /// next await point). Default `false`: stop finishes every task.
    pub fn daemon(mut self, daemon: bool) -> Self {
        self.config.daemon = daemon;
        self
    }

    /// Bounds how long `stop()` (and drop) waits for the tasks to drain:
    /// what is still buffered or running `timeout` after the stop began is
    /// cancelled. Default: no bound. See
    /// [`BlockingThreadedTaskPool::stop_timeout`](crate::BlockingThreadedTaskPool::stop_timeout).
    pub fn stop_timeout(mut self, timeout: Duration) -> Self {
        self.config.stop_timeout = Some(timeout);
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
        let config = self.config;
        ThreadedTaskPoolBuilder {
            config: Config {
                name: config.name,
                size: config.size,
                timeout: config.timeout,
                capacity: config.capacity,
                hook: config.hook,
                init: Arc::new(move || {
                    let fut = init();
                    Box::pin(async move { fut.await.map_err(|e| e.to_string()) })
                }),
                on_stop: None,
                daemon: config.daemon,
                stop_timeout: config.stop_timeout,
                #[cfg(test)]
                fault_after: config.fault_after,
            },
            front: PhantomData,
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
        self.config.on_stop = Some(Arc::new(move |ctx| Box::pin(teardown(ctx))));
        self
    }

    /// Test-only: the pool thread panics outside every guard after `jobs`
    /// jobs.
    #[cfg(test)]
    pub(crate) fn fault_after(mut self, jobs: usize) -> Self {
        self.config.fault_after = Some(jobs);
        self
    }

    pub(crate) fn into_core(mut self) -> Arc<Core<C>> {
        let name = self
            .config
            .name
            .clone()
            .unwrap_or_else(|| "task-pool".to_owned());
        let report = Unhandled::new(name.clone(), self.config.hook.take());
        Arc::new(Core {
            report,
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
    /// A stop began (or a start was abandoned): the thread is ending.
    Stopping(Arc<Ending>),
}

struct Running<C> {
    sender: InboxSender<BoxJob<C>>,
    owner: Arc<PoolOwner>,
    shared: Arc<Shared>,
    stop: Arc<StopRequest>,
    ending: Arc<Ending>,
}

/// What a pool thread leaves behind: its end, and how to join it.
pub(crate) struct Ending {
    exited: Arc<Slot<Exit>>,
    thread_id: ThreadId,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    stats: Arc<Stats>,
}

impl Ending {
    fn has_exited(&self) -> bool {
        self.exited.is_complete()
    }

    /// Joins the thread (it has completed `exited`, so it is ending).
    fn join(&self) {
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
    }
}

/// How a pool thread ended.
#[derive(Clone, Debug)]
pub(crate) struct Exit {
    /// Tasks the stop's bound cancelled.
    cancelled: usize,
    /// The panic that ended the thread abnormally (K2).
    failure: Option<String>,
}

/// The bound of the stop under way, set before the inbox is closed.
#[derive(Default)]
struct StopRequest {
    /// Cancel what is left at this time; `None`: wait for every task.
    deadline: Mutex<Option<Instant>>,
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
    ending: Arc<Ending>,
    stop: Arc<StopRequest>,
}

impl<C> Starting<C> {
    pub(crate) fn exited(&self) -> &Arc<Slot<Exit>> {
        &self.ending.exited
    }
}

/// What [`Core::begin_start`] did.
pub(crate) enum BeginStart<C> {
    /// The thread is starting.
    Ready(Starting<C>),
    /// An earlier thread is still ending: wait for its exit, then ask again.
    WaitFor(Stopping),
}

/// A stop in progress: wait on [`exited`](Self::exited), then
/// [`Core::finish_stop`].
pub(crate) struct Stopping {
    ending: Arc<Ending>,
    /// This caller's stop closed the pool (the others only wait for it).
    primary: bool,
}

impl Stopping {
    pub(crate) fn exited(&self) -> &Arc<Slot<Exit>> {
        &self.ending.exited
    }
}

// === impl Core ===

impl<C: 'static> Core<C> {
    pub(crate) fn not_running(&self) -> TaskError {
        TaskError::not_running(&self.name)
    }

    pub(crate) fn would_deadlock(&self) -> TaskError {
        TaskError::would_deadlock(&self.name)
    }

    /// `true` on the pool's own thread (while it runs or stops).
    pub(crate) fn on_pool_thread(&self) -> bool {
        let here = std::thread::current().id();
        match &*self.lifecycle.read() {
            Lifecycle::Running(r) => r.ending.thread_id == here,
            Lifecycle::Stopping(ending) => ending.thread_id == here,
            Lifecycle::Stopped | Lifecycle::Starting => false,
        }
    }

    /// `true` when a nested `run` awaited here could never start: a task of
    /// this pool, holding its only place, is being polled (K5).
    pub(crate) fn nested_run_would_deadlock(&self) -> bool {
        self.config.size == 1 && polling_thread_task() && self.on_pool_thread()
    }

    pub(crate) fn is_running(&self) -> bool {
        matches!(&*self.lifecycle.read(), Lifecycle::Running(r) if !r.ending.has_exited())
    }

    /// The bound a plain `stop()` (or drop) uses.
    pub(crate) fn default_stop_bound(&self) -> Option<Duration> {
        if self.config.daemon {
            Some(Duration::ZERO)
        } else {
            self.config.stop_timeout
        }
    }

    /// Spawns the pool thread; the caller then waits on the result. While
    /// an earlier thread is still ending (a stop under way, an abandoned
    /// start), the caller waits for that end first and asks again.
    pub(crate) fn begin_start(&self) -> Result<BeginStart<C>, TaskError> {
        if self.name.contains('\0') {
            return Err(TaskError::InvalidName(self.name.clone()));
        }
        {
            let mut lifecycle = self.lifecycle.write();
            let reap = match &*lifecycle {
                Lifecycle::Stopped => None,
                // A thread that has ended (stopped, or died: K2) is reaped.
                Lifecycle::Stopping(ending) if ending.has_exited() => Some(ending.clone()),
                Lifecycle::Running(r) if r.ending.has_exited() => Some(r.ending.clone()),
                Lifecycle::Stopping(ending) => {
                    return Ok(BeginStart::WaitFor(Stopping {
                        ending: ending.clone(),
                        primary: false,
                    }))
                }
                Lifecycle::Running(_) | Lifecycle::Starting => {
                    return Err(TaskError::already_running(&self.name))
                }
            };
            if let Some(ending) = reap {
                ending.join();
            }
            *lifecycle = Lifecycle::Starting;
        }
        let started = Arc::new(Slot::new());
        let exited = Arc::new(Slot::new());
        let stats = Arc::new(Stats::with_capacity(self.config.capacity));
        let stop = Arc::new(StopRequest::default());
        let body = PoolThread {
            name: self.name.clone(),
            size: self.config.size,
            timeout: self.config.timeout,
            report: self.report.clone(),
            init: self.config.init.clone(),
            on_stop: self.config.on_stop.clone(),
            stats: stats.clone(),
            started: started.clone(),
            stop: stop.clone(),
            #[cfg(test)]
            fault_after: self.config.fault_after,
        };
        let thread = std::thread::Builder::new().name(self.name.clone()).spawn({
            let (exited, started) = (exited.clone(), started.clone());
            move || {
                // The backstop (K2): whatever happens in the body, the
                // thread says it has ended, and a start still waiting hears.
                let exit = match call_user(|| body.run()) {
                    Ok(cancelled) => Exit {
                        cancelled,
                        failure: None,
                    },
                    Err(message) => Exit {
                        cancelled: 0,
                        failure: Some(message),
                    },
                };
                if let Some(failure) = &exit.failure {
                    let _ = started.complete(Err(TaskError::Init(format!(
                        "the pool thread ended: {failure}"
                    ))));
                }
                let _ = exited.complete(Ok(exit));
            }
        });
        match thread {
            Ok(thread) => Ok(BeginStart::Ready(Starting {
                started,
                ending: Arc::new(Ending {
                    exited,
                    thread_id: thread.thread().id(),
                    thread: Mutex::new(Some(thread)),
                    stats,
                }),
                stop,
            })),
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
        *self.lifecycle.write() = Lifecycle::Stopping(starting.ending);
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
                    stop: starting.stop,
                    ending: starting.ending,
                });
                Ok(())
            }
            Err(error) => {
                // The thread ends right after reporting the failure.
                starting.ending.join();
                *self.lifecycle.write() = Lifecycle::Stopped;
                Err(error)
            }
        }
    }

    /// Closes the inbox with the stop's bound (`None`: drain every task);
    /// the caller then waits on [`Stopping::exited`]. A second caller while
    /// a stop is under way waits for the same end (then gets `NotRunning`).
    pub(crate) fn begin_stop(&self, bound: Option<Duration>) -> Result<Stopping, TaskError> {
        let mut lifecycle = self.lifecycle.write();
        match std::mem::replace(&mut *lifecycle, Lifecycle::Stopped) {
            Lifecycle::Running(running) => {
                *running.stop.deadline.lock() = bound.and_then(|b| Instant::now().checked_add(b));
                running.sender.close();
                *lifecycle = Lifecycle::Stopping(running.ending.clone());
                Ok(Stopping {
                    ending: running.ending,
                    primary: true,
                })
            }
            Lifecycle::Stopping(ending) => {
                *lifecycle = Lifecycle::Stopping(ending.clone());
                Ok(Stopping {
                    ending,
                    primary: false,
                })
            }
            other => {
                *lifecycle = other;
                Err(self.not_running())
            }
        }
    }

    /// Ends a stop once the thread has exited: `Ok(tasks the bound
    /// cancelled)` for the caller whose stop closed the pool, `NotRunning`
    /// for the others, `Panicked` when the thread ended abnormally.
    pub(crate) fn finish_stop(&self, stopping: Stopping, exit: Exit) -> Result<usize, TaskError> {
        if !stopping.primary {
            return Err(self.not_running());
        }
        stopping.ending.join();
        {
            let mut lifecycle = self.lifecycle.write();
            if matches!(&*lifecycle, Lifecycle::Stopping(e) if Arc::ptr_eq(e, &stopping.ending)) {
                *lifecycle = Lifecycle::Stopped;
            }
        }
        match exit.failure {
            None => Ok(exit.cancelled),
            Some(message) => Err(TaskError::Panicked(message)),
        }
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
        self.send(Count::Task { reserved }, |cell| {
            Box::new(PoolTask::sent(future, cell, ThreadLink))
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
        self.send(Count::Task { reserved }, |cell| {
            Box::new(MakeJob {
                make: Guarded::new(make),
                unsent: Unsent::new(cell),
                queued: true,
            })
        })
    }

    /// Starts `future` as a service on the pool's executor (S1).
    pub(crate) fn submit_service<F>(&self, future: F) -> Result<TaskHandle<F::Output>, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.send(Count::Service, |cell| {
            Box::new(ServiceJob {
                future: Guarded::new(future),
                unsent: Unsent::new(cell),
            })
        })
    }

    /// Counts a task in, makes its handle, and sends the job `job` builds.
    fn send<T: Send + 'static>(
        &self,
        count: Count,
        job: impl FnOnce(Arc<TaskCell<T>>) -> BoxJob<C>,
    ) -> Result<TaskHandle<T>, TaskError> {
        let refused = {
            let lifecycle = self.lifecycle.read();
            let Lifecycle::Running(running) = &*lifecycle else {
                return Err(self.not_running());
            };
            let stats = &running.ending.stats;
            let counted = match count {
                Count::Task { reserved: true } => true,
                Count::Task { reserved: false } => {
                    if !stats.try_queue() {
                        return Err(TaskError::Full);
                    }
                    true
                }
                Count::Service => false,
            };
            let cell = TaskCell::new(running.shared.clone());
            let handle = TaskHandle::new(
                JoinHandle::new(TaskRef::Cell(cell.clone())),
                running.owner.clone(),
            );
            match running.sender.send(job(cell)) {
                Ok(()) => return Ok(handle),
                Err(job) => {
                    if counted {
                        stats.unqueued();
                    }
                    (job, handle)
                }
            }
        };
        // The pool thread is gone (K2): the job never runs. Dropping it (the
        // user's future, behind the guard) resolves the handle; both go
        // after the lock, since user code may call back into the pool.
        drop(refused);
        Err(self.not_running())
    }

    /// Waits (by `cx`) for room under the capacity and reserves it.
    pub(crate) fn poll_room(&self, cx: &mut Context<'_>) -> Poll<Result<(), TaskError>> {
        let lifecycle = self.lifecycle.read();
        let Lifecycle::Running(running) = &*lifecycle else {
            return Poll::Ready(Err(self.not_running()));
        };
        if running.ending.has_exited() {
            return Poll::Ready(Err(self.not_running()));
        }
        running.ending.stats.poll_queue(cx).map(Ok)
    }

    pub(crate) fn stats(&self) -> PoolStats {
        match &*self.lifecycle.read() {
            Lifecycle::Running(running) => running.ending.stats.snapshot(),
            Lifecycle::Stopping(ending) => ending.stats.snapshot(),
            Lifecycle::Stopped | Lifecycle::Starting => PoolStats::default(),
        }
    }
}

/// How a submission counts against the pool's capacity.
#[derive(Clone, Copy)]
enum Count {
    /// A task; `reserved`: its room was reserved already (`run`).
    Task { reserved: bool },
    /// A service: outside the capacity.
    Service,
}

/// A threaded pool as a place to start services later, from any thread (a
/// restartable task's next driver, S4). Holds the pool weakly.
pub(crate) struct CoreHost<C>(pub(crate) std::sync::Weak<Core<C>>);

impl<C: 'static> super::ServiceHost for CoreHost<C> {
    fn spawn_service(&self, future: super::BoxService) -> Result<(), TaskError> {
        match self.0.upgrade() {
            Some(core) => core.submit_service(future).map(TaskHandle::detach),
            None => Err(TaskError::not_running("a dropped pool")),
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
    stats: Arc<Stats>,
    started: Arc<Slot<Started<C>>>,
    stop: Arc<StopRequest>,
    #[cfg(test)]
    fault_after: Option<usize>,
}

impl<C: 'static> PoolThread<C> {
    /// Runs the pool until it stops; returns the tasks the stop's bound
    /// cancelled.
    fn run(self) -> usize {
        let executor = LocalExecutor::new();
        executor.inner().expect_remote_wakes();
        // Failures nobody reads, on this executor, go to the pool's sink.
        executor.inner().shared().set_unhandled(self.report.clone());
        executor.block_on(self.main())
    }

    async fn main(self) -> usize {
        let Some(ctx) = self.build_context().await else {
            return 0;
        };
        let mut builder = TaskPool::builder()
            .name(self.name.clone())
            .size(self.size)
            .reporter(self.report.clone())
            .stats(self.stats.clone());
        if let Some(timeout) = self.timeout {
            builder = builder.timeout(timeout);
        }
        let pool = builder.build();
        // Tasks built on callers' threads find the pool through this thread.
        let _bound = bind_thread_pool(pool.inner());
        let (sender, jobs) = inbox::<BoxJob<C>>();
        let shared = current::with_current(|ex| ex.shared().clone()).expect("inside block_on");
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
        #[cfg(test)]
        let mut served = 0;
        while let Some(job) = std::future::poll_fn(|cx| jobs.poll_recv(cx)).await {
            #[cfg(test)]
            {
                served += 1;
                if self.fault_after == Some(served) {
                    panic!("injected fault in the pool thread");
                }
            }
            job.run(&ctx, pool.inner());
            batch += 1;
            if batch == super::JOB_BATCH {
                batch = 0;
                crate::yield_now().await;
            }
        }
        let deadline = *self.stop.deadline.lock();
        let cancelled = drain(&pool, deadline).await;
        cancel_the_rest().await;
        self.tear_down(ctx).await;
        cancelled
    }

    /// Runs the initialiser as a task (its panic comes back as `Panicked`);
    /// on failure answers the start with `Init` and gives `None`.
    async fn build_context(&self) -> Option<C> {
        let init = self.init.clone();
        let error = match crate::spawn(async move { init().await }).await {
            Ok(Ok(ctx)) => return Some(ctx),
            Ok(Err(message)) => TaskError::Init(message),
            Err(TaskError::Panicked(message)) => {
                TaskError::Init(format!("initialiser panicked: {message}"))
            }
            Err(other) => TaskError::Init(other.to_string()),
        };
        let _ = self.started.complete(Err(error));
        None
    }

    /// Hands the context to `on_stop` (a task run to its end), or drops it;
    /// a panic in either is reported, never let through.
    async fn tear_down(&self, ctx: C) {
        match &self.on_stop {
            Some(teardown) => {
                let teardown = teardown.clone();
                if let Err(TaskError::Panicked(m)) =
                    crate::spawn(async move { teardown(ctx).await }).await
                {
                    self.report
                        .report(TaskError::Panicked(format!("on_stop panicked: {m}")));
                }
            }
            None => {
                if let Err(m) = drop_user(ctx) {
                    self.report.report(TaskError::Panicked(format!(
                        "the pool's context panicked when dropped: {m}"
                    )));
                }
            }
        }
    }
}

/// Waits for the pool's tasks (and services) to drain; at `deadline`,
/// cancels what is left. Returns the tasks the deadline cancelled.
async fn drain(pool: &TaskPool, deadline: Option<Instant>) -> usize {
    let Some(deadline) = deadline else {
        pool.stop().await;
        return 0;
    };
    let in_time = crate::time::timeout::race(crate::sleep_until(deadline), pool.stop()).await;
    if in_time.is_ok() {
        return 0;
    }
    let cancelled = pool.inner().live();
    current::with_current(|ex| ex.cancel_all());
    pool.stop().await;
    cancelled
}

/// Cancels whatever else runs on this executor (tasks spawned from pool
/// tasks, services' leftovers) and lets the executor drop it, on this
/// thread, before the context is torn down.
async fn cancel_the_rest() {
    for _ in 0..CANCEL_ROUNDS {
        let left = current::with_current(|ex| {
            ex.cancel_all();
            ex.task_count()
        });
        if left.unwrap_or(0) == 0 {
            return;
        }
        crate::yield_now().await;
    }
}

#[cfg(test)]
mod tests;
