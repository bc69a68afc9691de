//! `TaskPool`: a pool of tasks inside the current executor — size limit
//! with a FIFO buffer, per-task timeout from the task's start, cancel, drain
//! on stop — its services, and its `Send` spawner for other threads.
//!
//! Every task created on the pool is an executor task at once: its future
//! first waits at the pool's gate for a place (FIFO), then runs the user's
//! future under the timeout. So cancelling a buffered task is the
//! executor's ordinary cancel: it is dropped at the gate, never polled.
//! A *service* (S1) is a plain executor task the pool counts and cancels at
//! the end of its stop: no place, no timeout.
//!
//! # Ground rules
//! - `Gate` state lives in a `RefCell` on the executor's thread; no borrow is
//!   held while a waker runs.
//! - `live` counts tasks created and not yet dropped; the stop waits for it
//!   to reach zero (and the inbox to be empty), then cancels the services
//!   and waits for them to be gone. Spawners send jobs through the inbox
//!   while `open` is read locked; `stop` (and the drop of the `TaskPool`)
//!   write-locks it to close, then the dispatcher runs what was sent.
//! - A job that never runs (the executor was dropped first) resolves its
//!   handle with `Cancelled` (see [`Unsent`](super::task::Unsent)): nothing accepted is lost.

mod spawner;

pub use spawner::TaskPoolSpawner;

use super::config::{pool_setters, PoolConfig, PoolSettings};
use super::dispatch::dispatch;
use super::gate::Gate;
use super::handle::{PoolOwner, TaskHandle};
use super::inbox::{inbox, Inbox, InboxSender};
use super::stats::{PoolStats, Stats};
use super::task::{polling_task_of, PoolLink, PoolTask, ThreadJob};
use super::{sealed, SendFuture, ServiceHost, Spawned, Submit};
use crate::error::TaskError;
use crate::executor::cell::{Split, TaskCell, TaskRef, TaskShared};
use crate::executor::task::{deliver_to, Shared};
use crate::executor::{current, Inner, JoinHandle};
use crate::slab::Key;
use crate::slot::Waiters;
use parking_lot::RwLock;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

/// A job sent by a spawner, run on the pool's thread.
type Job = Box<dyn ThreadJob>;

/// Builds a [`TaskPool`] on the current executor.
///
/// ```
/// use concurrent_tasks::{block_on, TaskPool};
/// use std::time::Duration;
///
/// block_on(async {
///     let pool = TaskPool::builder()
///         .name("fetch")
///         .size(2)
///         .timeout(Duration::from_secs(5))
///         .on_unhandled(|err| eprintln!("lost: {err}"))
///         .build();
///     assert_eq!(pool.run(async { 1 }).await, Ok(1));
///     pool.stop().await;
/// });
/// ```
#[must_use = "a builder does nothing until .build()"]
pub struct TaskPoolBuilder {
    config: PoolConfig,
}

impl fmt::Debug for TaskPoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TaskPoolBuilder")
            .field(&self.config)
            .finish()
    }
}

impl TaskPoolBuilder {
    pool_setters!(config);

    /// Builds the pool on the current executor.
    ///
    /// # Panics
    /// Outside an executor; [`try_build`](Self::try_build) returns
    /// `Err(NoExecutor)` instead.
    #[track_caller]
    pub fn build(self) -> TaskPool {
        match self.try_build() {
            Ok(pool) => pool,
            Err(_) => panic!(
                "TaskPool::build called outside an executor: build it inside block_on(..) \
                 or a pool task"
            ),
        }
    }

    /// Builds the pool on the current executor, or `Err(NoExecutor)`.
    pub fn try_build(self) -> Result<TaskPool, TaskError> {
        TaskPool::with_settings(self.config.resolve(), Arc::default())
    }
}

/// A pool of tasks on the current executor — a size limit, a per-task
/// timeout, cancel and a draining stop, as the threaded pools have, inside
/// any executor of ours — plus a [`spawner`](Self::spawner)
/// for other threads.
///
/// ```
/// use concurrent_tasks::{block_on, sleep, TaskPool};
/// use std::time::{Duration, Instant};
///
/// block_on(async {
///     let pool = TaskPool::builder().size(2).build();
///     let start = Instant::now();
///     let handles: Vec<_> = (0..4)
///         .map(|_| pool.create_task(async { sleep(Duration::from_millis(20)).await }))
///         .collect();
///     for h in handles {
///         h.await.unwrap();
///     }
///     // Two at a time: two rounds of 20 ms.
///     assert!(start.elapsed() >= Duration::from_millis(40));
/// });
/// ```
pub struct TaskPool {
    inner: Rc<PoolInner>,
}

pub(crate) struct PoolInner {
    executor: Weak<Inner>,
    shared: Arc<Shared>,
    /// The executor's timers, for the per-task deadline.
    pub(super) driver: Arc<crate::time::driver::TimerDriver>,
    pub(super) owner: Arc<PoolOwner>,
    pub(super) timeout: Option<Duration>,
    pub(super) stats: Arc<Stats>,
    pub(super) gate: RefCell<Gate>,
    /// Tasks created and not yet dropped.
    live: Cell<usize>,
    /// The services' entries in the executor's table (pruned as they end).
    services: RefCell<Vec<Key>>,
    /// Waiters for the end of the stop: no task, no job, no service left.
    drained: RefCell<Waiters>,
    stopped: Cell<bool>,
    /// The services were cancelled (once the tasks drained after a stop).
    services_cancelled: Cell<bool>,
    /// `true` while spawners may send; write-locked to close.
    open: Arc<RwLock<bool>>,
    sender: InboxSender<Job>,
}

// === impl TaskPool ===

impl TaskPool {
    /// A builder: `TaskPool::builder().size(n).timeout(d).build()`.
    pub fn builder() -> TaskPoolBuilder {
        TaskPoolBuilder {
            config: PoolConfig::default(),
        }
    }

    /// A pool on the current executor with resolved `settings`, counting
    /// into `stats` (shared with a threaded front), or `Err(NoExecutor)`.
    pub(crate) fn with_settings(
        settings: PoolSettings,
        stats: Arc<Stats>,
    ) -> Result<TaskPool, TaskError> {
        current::with_current(|ex| TaskPool::new_on(ex, settings, stats))
            .ok_or(TaskError::NoExecutor)
    }

    fn new_on(ex: &Rc<Inner>, settings: PoolSettings, stats: Arc<Stats>) -> TaskPool {
        let (sender, inbox) = inbox::<Job>();
        let pool = TaskPool {
            inner: Rc::new(PoolInner {
                executor: Rc::downgrade(ex),
                shared: ex.shared().clone(),
                driver: ex.timer_driver().clone(),
                owner: Arc::new(PoolOwner {
                    name: settings.name,
                    thread: std::thread::current().id(),
                    report: settings.report,
                }),
                timeout: settings.timeout,
                stats,
                gate: RefCell::new(Gate::new(settings.size)),
                live: Cell::new(0),
                services: RefCell::new(Vec::new()),
                drained: RefCell::new(Waiters::None),
                stopped: Cell::new(false),
                services_cancelled: Cell::new(false),
                open: Arc::new(RwLock::new(true)),
                sender,
            }),
        };
        ex.spawn(serve_spawners(pool.inner.clone(), inbox)).detach();
        pool
    }

    /// Creates a task on the pool. It starts when a place is free (at once
    /// without a size limit) and its handle yields its outcome. After
    /// [`stop`](Self::stop), the handle yields `Err(NotRunning)`.
    pub fn create_task<F>(&self, future: F) -> TaskHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let shared = Split::new(self.inner.shared.clone());
        let handle = TaskHandle::new(
            JoinHandle::new(TaskRef::Split(shared.clone())),
            self.inner.owner.clone(),
        );
        if self.inner.stopped.get() {
            let _ = shared.slot.complete(Err(self.inner.not_running()));
            return handle;
        }
        self.inner.spawn_future(shared, future, false);
        handle
    }

    /// Runs `future` on the pool and returns its outcome.
    ///
    /// Awaited by one of this pool's own tasks on a `size(1)` pool, it gives
    /// `Err(WouldDeadlock)` at once: the caller holds the only place (see
    /// [`TaskPoolBuilder::size`]).
    pub async fn run<F>(&self, future: F) -> Result<F::Output, TaskError>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        if self.inner.gate.borrow().size == 1 && polling_task_of(&self.inner) {
            return Err(self.inner.owner.would_deadlock());
        }
        self.create_task(future).await
    }

    /// Starts `future` as a service of the pool (S1): at once, outside the
    /// size limit and the timeout; counted in [`PoolStats::services`];
    /// cancelled at the end of [`stop`](Self::stop), after the tasks have
    /// drained. An unread panic goes to `on_unhandled`. `NotRunning` after
    /// `stop`.
    ///
    /// ```
    /// use concurrent_tasks::{block_on, TaskError, TaskPool};
    ///
    /// block_on(async {
    ///     let pool = TaskPool::builder().size(1).build();
    ///     let watcher = pool.spawn_service(std::future::pending::<()>())?;
    ///     assert_eq!(pool.run(async { 1 }).await, Ok(1)); // the one place is free
    ///     assert_eq!(pool.stats().services, 1);
    ///     pool.stop().await; // drains the tasks, then cancels the service
    ///     assert_eq!(watcher.await, Err(TaskError::Cancelled));
    ///     Ok::<(), TaskError>(())
    /// })?;
    /// # Ok::<(), TaskError>(())
    /// ```
    pub fn spawn_service<F>(&self, future: F) -> Result<TaskHandle<F::Output>, TaskError>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        if self.inner.stopped.get() {
            return Err(self.inner.not_running());
        }
        let shared = Split::new(self.inner.shared.clone());
        let handle = TaskHandle::new(
            JoinHandle::new(TaskRef::Split(shared.clone())),
            self.inner.owner.clone(),
        );
        self.inner.spawn_service(shared, future);
        Ok(handle)
    }

    /// Changes the size limit (`0`: unlimited). Growing it starts buffered
    /// tasks at once; shrinking lets running tasks finish.
    pub fn set_size(&self, size: usize) {
        let wake = {
            let mut gate = self.inner.gate.borrow_mut();
            gate.size = size;
            gate.grant()
        };
        wake.into_iter().for_each(std::task::Waker::wake);
    }

    /// Current counts of queued, running and completed tasks, and services.
    pub fn stats(&self) -> PoolStats {
        self.inner.stats.snapshot()
    }

    /// Stops taking tasks and waits until every task created so far —
    /// buffered ones included, and those sent by spawners — has finished;
    /// then cancels the pool's services and waits until they are gone.
    ///
    /// Awaited by one of the pool's own tasks, it closes the pool and
    /// returns at once (that task could never see the drain end, since the
    /// drain waits for it): the drain and the services' cancellation go on
    /// without it.
    pub async fn stop(&self) {
        self.inner.close();
        if polling_task_of(&self.inner) {
            return;
        }
        std::future::poll_fn(|cx| {
            if self.inner.try_finish_stop() {
                Poll::Ready(())
            } else {
                self.inner.drained.borrow_mut().register(cx.waker());
                Poll::Pending
            }
        })
        .await
    }

    /// A `Send + Sync + Clone` handle that creates tasks on this pool from
    /// any thread.
    ///
    /// ```
    /// use concurrent_tasks::{block_on, TaskPool};
    ///
    /// block_on(async {
    ///     let pool = TaskPool::builder().build();
    ///     let spawner = pool.spawner();
    ///     let h = std::thread::spawn(move || spawner.create_task(async { 5 }).unwrap())
    ///         .join()
    ///         .unwrap();
    ///     assert_eq!(h.await, Ok(5));
    /// });
    /// ```
    pub fn spawner(&self) -> TaskPoolSpawner {
        TaskPoolSpawner {
            sender: self.inner.sender.clone(),
            open: self.inner.open.clone(),
            shared: self.inner.shared.clone(),
            owner: self.inner.owner.clone(),
            stats: self.inner.stats.clone(),
        }
    }

    pub(crate) fn inner(&self) -> &Rc<PoolInner> {
        &self.inner
    }

    pub(crate) fn owner(&self) -> Arc<PoolOwner> {
        self.inner.owner.clone()
    }

    /// `true` once [`stop`](Self::stop) was called.
    pub(crate) fn is_stopped(&self) -> bool {
        self.inner.stopped.get()
    }
}

impl PoolInner {
    fn not_running(&self) -> TaskError {
        TaskError::not_running(&self.owner.name)
    }

    /// Closes the pool: no new task; jobs sent before still run.
    pub(crate) fn close(&self) {
        self.stopped.set(true);
        *self.open.write() = false;
        // Jobs sent before the close are accepted tasks: the dispatcher
        // runs them, then ends.
        self.sender.nudge();
    }

    /// `true` when a stop can end: no task, no job and no service left.
    /// Cancels the services (once) when the tasks have drained.
    pub(crate) fn try_finish_stop(&self) -> bool {
        if self.live.get() != 0 || self.sender.len() != 0 {
            return false;
        }
        if !self.services_cancelled.replace(true) {
            self.cancel_services();
        }
        self.stats.services() == 0
    }

    /// Cancels every service still running.
    fn cancel_services(&self) {
        let keys = std::mem::take(&mut *self.services.borrow_mut());
        if let Some(executor) = self.executor.upgrade() {
            keys.into_iter().for_each(|key| executor.cancel_task(key));
        }
    }

    /// Tasks counted in and not yet out (buffered or running).
    pub(crate) fn live(&self) -> usize {
        self.live.get()
    }

    /// Spawns the pool task for a handle made beforehand.
    ///
    /// `queued`: the caller already counted the task as queued (the
    /// threaded fronts do, at submission, to enforce their capacity).
    pub(crate) fn spawn_future<F, S>(self: &Rc<Self>, shared: S, future: F, queued: bool)
    where
        F: Future + 'static,
        S: TaskShared<Output = F::Output> + 'static,
    {
        if !queued {
            self.stats.queued();
        }
        self.spawn_task(Box::new(PoolTask::sent(future, shared, self.clone())));
    }

    /// Counts in a task (queued already) and spawns it on the executor, in
    /// the box it came in.
    pub(crate) fn spawn_task<F, L, S>(self: &Rc<Self>, mut task: Box<PoolTask<F, L, S>>)
    where
        F: Future + 'static,
        L: PoolLink + 'static,
        S: TaskShared<Output = F::Output> + 'static,
    {
        let Some(executor) = self.executor.upgrade() else {
            self.stats.dequeued(false);
            task.refuse(self.not_running());
            return;
        };
        self.live.set(self.live.get() + 1);
        task.adopted();
        executor.spawn_boxed(Box::into_pin(task));
    }

    /// A task whose builder panicked (`create_task_with`): it never starts;
    /// its handle gets `error`, or the pool's sink when nobody reads it.
    pub(crate) fn refuse_made<T>(&self, cell: &TaskCell<T>, error: TaskError) {
        self.stats.dequeued(false);
        if let Err(Err(error)) = cell.slot.complete(Err(error)) {
            self.owner.report.report(error);
        }
    }

    /// Spawns `future` as a service: a plain executor task, counted in
    /// `services` while it lives, its unread failures reported to the pool.
    pub(crate) fn spawn_service<F, S>(self: &Rc<Self>, shared: S, future: F)
    where
        F: Future + 'static,
        S: TaskShared<Output = F::Output> + 'static,
    {
        let Some(executor) = self.executor.upgrade() else {
            let _ = shared.slot().complete(Err(self.not_running()));
            return;
        };
        self.stats.service_started();
        let count = ServiceCount(Rc::downgrade(self));
        let service = async move {
            let _count = count;
            future.await
        };
        let task = deliver_to(service, shared, Some(self.owner.report.clone()));
        let key = executor.spawn_boxed(Box::pin(task));
        let mut services = self.services.borrow_mut();
        services.retain(|key| executor.contains_task(*key));
        services.push(key);
    }

    /// A task counted in by [`spawn_task`](Self::spawn_task) is gone:
    /// started (`true`: it finished) or not (it left the queue).
    pub(super) fn count_out(&self, started: bool) {
        if started {
            self.stats.finished();
        } else {
            self.stats.dequeued(false);
        }
        self.live.set(self.live.get() - 1);
        if self.live.get() == 0 {
            self.wake_drained();
        }
    }

    /// Wakes a stop waiting for the pool to empty; once stopped and
    /// drained, the services are cancelled even if nobody awaits the stop.
    fn wake_drained(&self) {
        if self.stopped.get() {
            let _ = self.try_finish_stop();
        }
        self.drained.take().wake_all();
    }
}

/// Counts a service in the pool's stats while it lives.
struct ServiceCount(Weak<PoolInner>);

impl Drop for ServiceCount {
    fn drop(&mut self) {
        if let Some(pool) = self.0.upgrade() {
            pool.stats.service_ended();
            if pool.stats.services() == 0 {
                pool.drained.take().wake_all();
            }
        }
    }
}

impl fmt::Debug for TaskPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskPool")
            .field("name", &self.inner.owner.name)
            .field("stats", &self.stats())
            .field("stopped", &self.inner.stopped.get())
            .finish()
    }
}

impl Drop for TaskPool {
    fn drop(&mut self) {
        // No more tasks from spawners; the dispatcher runs what was sent and
        // ends. Tasks and services already created run on (detached).
        *self.inner.open.write() = false;
        self.inner.sender.nudge();
    }
}

/// Runs spawners' jobs as they arrive, until the pool is closed and every
/// job sent before the close has run.
async fn serve_spawners(pool: Rc<PoolInner>, inbox: Inbox<Job>) {
    // Closed (no send can be in flight: `open` is write-locked to close)
    // and nothing left: done.
    let closed = || !*pool.open.read() && pool.sender.len() == 0;
    dispatch(&inbox, &(), &pool, closed, || {}).await;
    // Let a `stop` waiting on the inbox see it is empty.
    pool.wake_drained();
}

impl sealed::Sealed for TaskPool {
    fn service_host(&self) -> Arc<dyn ServiceHost> {
        Arc::new(self.spawner())
    }

    fn submit<F: SendFuture>(&self, future: F, kind: Submit) -> Spawned<F::Output> {
        match kind {
            Submit::Task if self.is_stopped() => Err(self.inner.not_running()),
            Submit::Task => Ok(self.create_task(future)),
            Submit::Service => self.spawn_service(future),
        }
    }
}
