//! The state both threaded fronts share ([`Core`]): the pool's lifecycle
//! (start, stop, a thread that died), submissions and the capacity. Not
//! generic over the context (erased: see `builder.rs`), so the lifecycle is
//! compiled once, in the library; only `submit_with` knows its type.

use super::builder::{InitFn, Limits, StopFn, ThreadedConfig};
use super::thread::{PoolThread, StopRequest};
use crate::error::TaskError;
use crate::executor::cell::{TaskCell, TaskRef};
use crate::executor::task::Shared;
use crate::executor::JoinHandle;
use crate::guard::{call_user, Guarded};
use crate::pool::config::PoolSettings;
use crate::pool::handle::{this_thread, PoolOwner, TaskHandle};
use crate::pool::inbox::InboxSender;
use crate::pool::stats::{PoolStats, Stats};
use crate::pool::task::{
    polling_thread_task, MakeJob, PoolTask, ServiceJob, ThreadJob, ThreadLink, Unsent,
};
use crate::pool::{BoxService, SendFuture, ServiceHost, Spawned, Submit};
use crate::slot::Slot;
use parking_lot::{Mutex, RwLock};
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

/// A job for the pool thread: gets the context and the pool. Most are the
/// boxed pool task itself (`create_task`), spawned as it is.
pub(super) type BoxJob = Box<dyn ThreadJob>;

/// The state both fronts share.
pub(crate) struct Core {
    /// Name, size, timeout and sink, handed to each run's thread.
    settings: PoolSettings,
    limits: Limits,
    init: InitFn,
    on_stop: Option<StopFn>,
    lifecycle: RwLock<Lifecycle>,
}

enum Lifecycle {
    Stopped,
    Starting,
    Running(Running),
    /// A stop began (or a start was abandoned): the thread is ending.
    Stopping(Arc<Ending>),
}

struct Running {
    sender: InboxSender<BoxJob>,
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

/// What the pool thread sends back once its context is built.
pub(crate) struct Started {
    pub(super) sender: InboxSender<BoxJob>,
    pub(super) owner: Arc<PoolOwner>,
    pub(super) shared: Arc<Shared>,
}

/// A start in progress: wait on `started` (blocking or async), then
/// [`Core::finish_start`].
pub(crate) struct Starting {
    started: Arc<Slot<Started>>,
    ending: Arc<Ending>,
    stop: Arc<StopRequest>,
}

impl Starting {
    /// The slot the pool thread completes once its context is built.
    pub(crate) fn started(&self) -> &Slot<Started> {
        &self.started
    }

    pub(crate) fn exited(&self) -> &Arc<Slot<Exit>> {
        &self.ending.exited
    }
}

/// What [`Core::begin_start`] did.
pub(crate) enum BeginStart {
    /// The thread is starting.
    Ready(Starting),
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

impl Core {
    pub(super) fn new(config: ThreadedConfig) -> Self {
        Core {
            settings: config.pool.resolve(),
            limits: config.limits,
            init: config.init,
            on_stop: config.on_stop,
            lifecycle: RwLock::new(Lifecycle::Stopped),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.settings.name
    }

    pub(crate) fn not_running(&self) -> TaskError {
        TaskError::not_running(self.name())
    }

    pub(crate) fn would_deadlock(&self) -> TaskError {
        TaskError::would_deadlock(self.name())
    }

    /// `true` on the pool's own thread (while it runs or stops).
    pub(crate) fn on_pool_thread(&self) -> bool {
        let here = this_thread();
        match &*self.lifecycle.read() {
            Lifecycle::Running(r) => r.ending.thread_id == here,
            Lifecycle::Stopping(ending) => ending.thread_id == here,
            Lifecycle::Stopped | Lifecycle::Starting => false,
        }
    }

    /// `true` when a nested `run` awaited here could never start: a task of
    /// this pool, holding its only place, is being polled (K5).
    pub(crate) fn nested_run_would_deadlock(&self) -> bool {
        self.settings.size == 1 && polling_thread_task() && self.on_pool_thread()
    }

    pub(crate) fn is_running(&self) -> bool {
        matches!(&*self.lifecycle.read(), Lifecycle::Running(r) if !r.ending.has_exited())
    }

    /// The bound a plain `stop()` (or drop) uses.
    pub(crate) fn default_stop_bound(&self) -> Option<Duration> {
        if self.limits.daemon {
            Some(Duration::ZERO)
        } else {
            self.limits.stop_timeout
        }
    }

    /// Spawns the pool thread; the caller then waits on the result. While
    /// an earlier thread is still ending (a stop under way, an abandoned
    /// start), the caller waits for that end first and asks again.
    pub(crate) fn begin_start(&self) -> Result<BeginStart, TaskError> {
        if self.name().as_bytes().contains(&0) {
            return Err(TaskError::InvalidName(self.name().to_owned()));
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
                    return Err(TaskError::already_running(self.name()))
                }
            };
            if let Some(ending) = reap {
                ending.join();
            }
            *lifecycle = Lifecycle::Starting;
        }
        let started = Arc::new(Slot::new());
        let exited = Arc::new(Slot::new());
        let stats = Arc::new(Stats::with_capacity(self.limits.capacity));
        let stop = Arc::new(StopRequest::default());
        let body = PoolThread {
            settings: self.settings.clone(),
            init: self.init.clone(),
            on_stop: self.on_stop.clone(),
            stats: stats.clone(),
            started: started.clone(),
            stop: stop.clone(),
            #[cfg(test)]
            fault_after: self.limits.fault_after,
        };
        let thread = std::thread::Builder::new()
            .name(self.name().to_owned())
            .spawn({
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

    /// Ends a start whose waiter went away (an async `start` future dropped
    /// mid-way): the pool thread, finding nobody to answer, or its inbox
    /// closed, drains and ends on its own.
    pub(crate) fn abandon_start(&self, starting: Starting) {
        if let Some(Ok(started)) = starting.started.detach() {
            started.sender.close();
        }
        *self.lifecycle.write() = Lifecycle::Stopping(starting.ending);
    }

    /// Ends a start with the pool thread's answer. On failure the thread is
    /// gone (waited for) when this returns.
    pub(crate) fn finish_start(
        &self,
        starting: Starting,
        answer: Result<Started, TaskError>,
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

    /// Submits a `Send` future as a task or a service: it is built into its
    /// executor task here, on the caller's thread. A full pool gives
    /// `Err(Full)` to a task (services are not counted).
    pub(crate) fn submit<F: SendFuture>(&self, future: F, kind: Submit) -> Spawned<F::Output> {
        match kind {
            Submit::Task => self.submit_task(future, Count::Task),
            Submit::Service => self.send(Count::Service, |cell| {
                Box::new(ServiceJob {
                    future: Guarded::new(future),
                    unsent: Unsent::new(cell),
                })
            }),
        }
    }

    /// Submits a task, counted as `count` (a task or a run).
    pub(crate) fn submit_task<F: SendFuture>(&self, future: F, count: Count) -> Spawned<F::Output> {
        self.send(count, |cell| {
            Box::new(PoolTask::sent(future, cell, ThreadLink))
        })
    }

    /// Submits a job that spawns the future `make(ctx)` returns, on the
    /// pool's thread (the future need not be `Send`).
    pub(crate) fn submit_with<C, T, F, Fut>(
        &self,
        make: F,
        count: Count,
    ) -> Result<TaskHandle<T>, TaskError>
    where
        C: 'static,
        F: FnOnce(&C) -> Fut + Send + 'static,
        Fut: Future<Output = T> + 'static,
        T: Send + 'static,
    {
        self.send(count, |cell| {
            Box::new(MakeJob::<C, _, _>::new(make, Unsent::new(cell), true))
        })
    }

    /// Counts a task in, makes its handle, and sends the job `job` builds.
    /// Only the cell and the handle are typed: the checks and the inbox are
    /// in [`admit`](Self::admit) and [`post`], compiled once.
    fn send<T: Send + 'static>(
        &self,
        count: Count,
        job: impl FnOnce(Arc<TaskCell<T>>) -> BoxJob,
    ) -> Result<TaskHandle<T>, TaskError> {
        let refused = {
            let lifecycle = self.lifecycle.read();
            let (running, counted) = self.admit(&lifecycle, count)?;
            let cell = TaskCell::new(running.shared.clone());
            let handle = TaskHandle::new(
                JoinHandle::new(TaskRef::Cell(cell.clone())),
                running.owner.clone(),
            );
            match post(running, counted, job(cell)) {
                Ok(()) => return Ok(handle),
                Err(job) => (job, handle),
            }
        };
        // The pool thread is gone (K2): the job never runs. Dropping it (the
        // user's future, behind the guard) resolves the handle; both go
        // after the lock, since user code may call back into the pool.
        drop(refused);
        Err(self.not_running())
    }

    /// The running pool a task counted as `count` may go to, and whether it
    /// was counted in (queued); the refusal otherwise.
    fn admit<'a>(
        &self,
        lifecycle: &'a Lifecycle,
        count: Count,
    ) -> Result<(&'a Running, bool), TaskError> {
        let Lifecycle::Running(running) = lifecycle else {
            return Err(self.not_running());
        };
        let counted = match count {
            Count::Blocking if running.ending.thread_id == this_thread() => {
                return Err(self.would_deadlock());
            }
            Count::Reserved => true,
            Count::Task | Count::Blocking => {
                if !running.ending.stats.try_queue() {
                    return Err(TaskError::Full);
                }
                true
            }
            Count::Service => false,
        };
        Ok((running, counted))
    }

    /// `true` when tasks are bounded by a capacity (a `run` then reserves
    /// its room first).
    pub(crate) fn has_capacity(&self) -> bool {
        self.limits.capacity != 0
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

/// Sends `job` to the pool thread of `running`; gives it back (counted out
/// again) if that thread is gone.
fn post(running: &Running, counted: bool, job: BoxJob) -> Result<(), BoxJob> {
    running.sender.send(job).inspect_err(|_| {
        if counted {
            running.ending.stats.unqueued();
        }
    })
}

/// How a submission counts against the pool's capacity.
#[derive(Clone, Copy)]
pub(crate) enum Count {
    /// A task (`create_task`): `Full` at the capacity.
    Task,
    /// A task whose room under the capacity the caller reserved already
    /// (`run` under a capacity).
    Reserved,
    /// A task whose caller then blocks on its outcome (a blocking `run`
    /// without a capacity): refused on the pool's own thread
    /// (`WouldDeadlock`), checked under the submission's lock.
    Blocking,
    /// A service: outside the capacity.
    Service,
}

/// A threaded pool as a place to start services later, from any thread (a
/// restartable task's next driver, S4). Holds the pool weakly.
pub(crate) struct CoreHost(pub(crate) std::sync::Weak<Core>);

impl ServiceHost for CoreHost {
    fn spawn_service(&self, future: BoxService) -> Result<(), TaskError> {
        match self.0.upgrade() {
            Some(core) => core.submit(future, Submit::Service).map(TaskHandle::detach),
            None => Err(TaskError::not_running("a dropped pool")),
        }
    }
}
