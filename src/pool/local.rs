//! `TaskPool`: a pool of tasks inside the current executor — size limit
//! with a FIFO buffer, per-task timeout from the task's start, cancel, drain
//! on stop — and its `Send` spawner for other threads.
//!
//! Every task created on the pool is an executor task at once: its future
//! first waits at the pool's gate for a place (FIFO), then runs the user's
//! future under the timeout. So cancelling a buffered task is the
//! executor's ordinary cancel: it is dropped at the gate, never polled.
//!
//! # Ground rules
//! - `Gate` state lives in a `RefCell` on the executor's thread; no borrow is
//!   held while a waker runs.
//! - `live` counts tasks created and not yet dropped; `stop` waits for it to
//!   reach zero. Spawners send jobs through the inbox while `open` is read
//!   locked; `stop` write-locks it to close, then drains what was sent.

use super::gate::Gate;
use super::handle::{stderr_reporter, PoolOwner, TaskHandle};
use super::inbox::{inbox, Inbox, InboxSender};
use super::stats::{PoolStats, Stats};
use super::task::{PoolLink, PoolTask};
use crate::error::TaskError;
use crate::executor::cell::{Split, TaskCell, TaskRef, TaskShared};
use crate::executor::task::{Reporter, Shared};
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
type Job = Box<dyn FnOnce(&Rc<PoolInner>) + Send>;

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
    name: Option<String>,
    size: usize,
    timeout: Option<Duration>,
    report: Option<Reporter>,
    /// Counters shared with a threaded front.
    stats: Option<Arc<Stats>>,
    /// Keep the live tasks' headers (for `cancel_all`).
    track_tasks: bool,
}

impl fmt::Debug for TaskPoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskPoolBuilder")
            .field("name", &self.name)
            .field("size", &self.size)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl TaskPoolBuilder {
    /// The pool's name, used in error messages (default `"task-pool"`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// At most `size` tasks run at once; the rest wait in FIFO order.
    /// `0` (the default) is unlimited.
    pub fn size(mut self, size: usize) -> Self {
        self.size = size;
        self
    }

    /// Cancels a task running longer than `timeout` from its start (time
    /// waiting in the buffer does not count); its handle yields `TimedOut`.
    /// `Duration::MAX` is no limit.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Receives every `Panicked` or `TimedOut` outcome that no handle will
    /// read (the handle was dropped). Default: one line on stderr.
    pub fn on_unhandled(mut self, hook: impl Fn(TaskError) + Send + Sync + 'static) -> Self {
        self.report = Some(Arc::new(hook));
        self
    }

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

    /// Shares `stats` with a threaded front.
    pub(crate) fn stats(mut self, stats: Arc<Stats>) -> Self {
        self.stats = Some(stats);
        self
    }

    /// Keeps the live tasks' headers, so `cancel_all` can reach them.
    pub(crate) fn track_tasks(mut self, track: bool) -> Self {
        self.track_tasks = track;
        self
    }

    /// Sets the hook for failures nobody reads (already shared).
    pub(crate) fn reporter(mut self, report: Reporter) -> Self {
        self.report = Some(report);
        self
    }

    /// Builds the pool on the current executor, or `Err(NoExecutor)`.
    pub fn try_build(self) -> Result<TaskPool, TaskError> {
        current::with_current(|ex| TaskPool::new_on(ex, self)).ok_or(TaskError::NoExecutor)
    }
}

/// A pool of tasks on the current executor: P1–P3 and P5–P7 of the crate's
/// contract inside any executor of ours, plus a [`spawner`](Self::spawner)
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
    /// Their keys in the executor's table, to cancel them all (a daemon
    /// pool's stop); `None` unless asked for, to keep pending tasks small.
    tasks: Option<RefCell<std::collections::HashSet<Key>>>,
    /// Waiters for `live == 0` (`stop`).
    drained: RefCell<Waiters>,
    stopped: Cell<bool>,
    /// `true` while spawners may send; write-locked to close.
    open: Arc<RwLock<bool>>,
    sender: InboxSender<Job>,
}

// === impl TaskPool ===

impl TaskPool {
    /// A builder: `TaskPool::builder().size(n).timeout(d).build()`.
    pub fn builder() -> TaskPoolBuilder {
        TaskPoolBuilder {
            name: None,
            size: 0,
            timeout: None,
            report: None,
            stats: None,
            track_tasks: false,
        }
    }

    fn new_on(ex: &Rc<Inner>, config: TaskPoolBuilder) -> TaskPool {
        let name = config.name.unwrap_or_else(|| "task-pool".to_owned());
        let report = config.report.unwrap_or_else(|| stderr_reporter(&name));
        let (sender, inbox) = inbox::<Job>();
        let pool = TaskPool {
            inner: Rc::new(PoolInner {
                executor: Rc::downgrade(ex),
                shared: ex.shared.clone(),
                driver: ex.driver.clone(),
                owner: Arc::new(PoolOwner {
                    name,
                    thread: std::thread::current().id(),
                    report,
                }),
                timeout: config.timeout.filter(|t| *t != Duration::MAX),
                stats: config.stats.unwrap_or_default(),
                gate: RefCell::new(Gate::new(config.size)),
                live: Cell::new(0),
                tasks: config
                    .track_tasks
                    .then(|| RefCell::new(std::collections::HashSet::new())),
                drained: RefCell::new(Waiters::None),
                stopped: Cell::new(false),
                open: Arc::new(RwLock::new(true)),
                sender,
            }),
        };
        ex.spawn(dispatch(Rc::downgrade(&pool.inner), inbox))
            .detach();
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
    pub async fn run<F>(&self, future: F) -> Result<F::Output, TaskError>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.create_task(future).await
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

    /// Current counts of queued, running and completed tasks.
    pub fn stats(&self) -> PoolStats {
        self.inner.stats.snapshot()
    }

    /// Stops taking tasks and waits until every task created so far —
    /// buffered ones included, and those sent by spawners — has finished.
    pub async fn stop(&self) {
        self.inner.stopped.set(true);
        *self.inner.open.write() = false;
        // Jobs sent before the close are accepted tasks: run them too.
        self.inner.sender.nudge();
        std::future::poll_fn(|cx| {
            if self.inner.live.get() == 0 && self.inner.sender.len() == 0 {
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

    /// Cancels every task created so far (waiting or running); each is
    /// dropped at its next turn and its handle yields `Cancelled`.
    pub(crate) fn cancel_all(&self) {
        let Some(tasks) = &self.inner.tasks else {
            debug_assert!(false, "cancel_all needs a pool built with track_tasks");
            return;
        };
        let keys: Vec<Key> = tasks.borrow().iter().copied().collect();
        if let Some(executor) = self.inner.executor.upgrade() {
            keys.into_iter().for_each(|key| executor.cancel_task(key));
        }
    }

    pub(crate) fn owner(&self) -> Arc<PoolOwner> {
        self.inner.owner.clone()
    }
}

impl PoolInner {
    fn not_running(&self) -> TaskError {
        TaskError::NotRunning {
            pool: self.owner.name.clone(),
        }
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
        self.spawn_task(Box::new(PoolTask::new(future, shared, self.clone())));
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
        let key = executor.spawn_boxed(Box::into_pin(task));
        if let Some(tasks) = &self.tasks {
            tasks.borrow_mut().insert(key);
        }
    }

    /// A task counted in by [`spawn_task`](Self::spawn_task) is gone:
    /// started (`true`: it finished) or not (it left the queue).
    pub(super) fn count_out(&self, started: bool, key: Key) {
        if started {
            self.stats.finished();
        } else {
            self.stats.dequeued(false);
        }
        if let Some(tasks) = &self.tasks {
            tasks.borrow_mut().remove(&key);
        }
        self.live.set(self.live.get() - 1);
        if self.live.get() == 0 {
            self.drained.take().wake_all();
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
        // ends. Tasks already created run on (detached).
        *self.inner.open.write() = false;
        self.inner.sender.nudge();
    }
}

/// Runs spawners' jobs as they arrive, while the pool lives and is open.
async fn dispatch(pool: Weak<PoolInner>, inbox: Inbox<Job>) {
    let mut batch = 0;
    loop {
        let job = std::future::poll_fn(|cx| match pool.upgrade() {
            None => Poll::Ready(None),
            Some(p) => match inbox.poll_recv(cx) {
                Poll::Ready(job) => Poll::Ready(job),
                // Closed and nothing left: done.
                Poll::Pending if !*p.open.read() => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
        })
        .await;
        let (Some(job), Some(inner)) = (job, pool.upgrade()) else {
            break;
        };
        job(&inner);
        drop(inner);
        // Let the pool's tasks run between batches of submissions.
        batch += 1;
        if batch == super::JOB_BATCH {
            batch = 0;
            crate::yield_now().await;
        }
    }
    // Let a `stop` waiting on the inbox see it is empty.
    if let Some(p) = pool.upgrade() {
        p.drained.take().wake_all();
    }
}

/// Creates tasks on a [`TaskPool`] from any thread.
///
/// `Send + Sync + Clone`. The futures it takes must be `Send` (they travel
/// to the pool's thread); after the pool stopped or was dropped,
/// `create_task` gives `Err(NotRunning)`.
#[derive(Clone)]
pub struct TaskPoolSpawner {
    sender: InboxSender<Job>,
    open: Arc<RwLock<bool>>,
    shared: Arc<Shared>,
    owner: Arc<PoolOwner>,
    stats: Arc<Stats>,
}

impl TaskPoolSpawner {
    /// Creates a task on the pool from any thread.
    pub fn create_task<F>(&self, future: F) -> Result<TaskHandle<F::Output>, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.create_task_with(move || future)
    }

    /// Creates a task from a `Send` closure that builds the future on the
    /// pool's thread (so the future itself need not be `Send`).
    pub(crate) fn create_task_with<F, Fut>(
        &self,
        make: F,
    ) -> Result<TaskHandle<Fut::Output>, TaskError>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        let open = self.open.read();
        if !*open {
            return Err(TaskError::NotRunning {
                pool: self.owner.name.clone(),
            });
        }
        let cell = TaskCell::new(self.shared.clone());
        let handle = TaskHandle::new(
            JoinHandle::new(TaskRef::Cell(cell.clone())),
            self.owner.clone(),
        );
        let job: Job = Box::new(move |pool: &Rc<PoolInner>| pool.spawn_future(cell, make(), false));
        self.sender.send(job).map_err(|_| TaskError::NotRunning {
            pool: self.owner.name.clone(),
        })?;
        Ok(handle)
    }

    /// Current counts of the pool's tasks.
    pub fn stats(&self) -> PoolStats {
        let mut stats = self.stats.snapshot();
        stats.queued += self.sender.len();
        stats
    }
}

impl fmt::Debug for TaskPoolSpawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskPoolSpawner")
            .field("pool", &self.owner.name)
            .field("open", &self.open.try_read().map(|o| *o))
            .finish()
    }
}
