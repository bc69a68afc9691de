//! [`TaskPoolSpawner`]: a `Send` handle that creates tasks and services on
//! a [`TaskPool`](super::TaskPool) from any thread, through the pool's inbox.

use super::Job;
use crate::error::TaskError;
use crate::executor::cell::{TaskCell, TaskRef};
use crate::executor::task::Shared;
use crate::executor::JoinHandle;
use crate::guard::Guarded;
use crate::pool::handle::{PoolOwner, TaskHandle};
use crate::pool::inbox::InboxSender;
use crate::pool::stats::{PoolStats, Stats};
use crate::pool::task::{MakeJob, ServiceJob, Unsent};
use crate::pool::{sealed, BoxService, SendFuture, ServiceHost, Spawned, Submit};
use parking_lot::RwLock;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

/// Creates tasks on a [`TaskPool`](crate::TaskPool) from any thread.
///
/// `Send + Sync + Clone`. The futures it takes must be `Send` (they travel
/// to the pool's thread); after the pool stopped or was dropped,
/// `create_task` gives `Err(NotRunning)`. A task it accepted always
/// resolves: if the pool's executor is dropped before the task reached it,
/// the handle yields `Cancelled`.
#[derive(Clone)]
pub struct TaskPoolSpawner {
    pub(super) sender: InboxSender<Job>,
    pub(super) open: Arc<RwLock<bool>>,
    pub(super) shared: Arc<Shared>,
    pub(super) owner: Arc<PoolOwner>,
    pub(super) stats: Arc<Stats>,
}

impl TaskPoolSpawner {
    /// Creates a task on the pool from any thread.
    pub fn create_task<F>(&self, future: F) -> Result<TaskHandle<F::Output>, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        sealed::Sealed::submit(self, future, Submit::Task)
    }

    /// Starts `future` as a service of the pool, from any thread (see
    /// [`TaskPool::spawn_service`](crate::TaskPool::spawn_service)).
    pub fn spawn_service<F>(&self, future: F) -> Result<TaskHandle<F::Output>, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        sealed::Sealed::submit(self, future, Submit::Service)
    }

    /// Makes the handle and sends the job `job` builds around its cell.
    fn send<T: Send + 'static>(
        &self,
        job: impl FnOnce(Unsent<T>) -> Job,
    ) -> Result<TaskHandle<T>, TaskError> {
        let refused = {
            let open = self.open.read();
            if !*open {
                return Err(self.not_running());
            }
            let cell = TaskCell::new(self.shared.clone());
            let handle = TaskHandle::new(
                JoinHandle::new(TaskRef::Cell(cell.clone())),
                self.owner.clone(),
            );
            match self.sender.send(job(Unsent::new(cell))) {
                Ok(()) => return Ok(handle),
                Err(job) => (job, handle),
            }
        };
        // The pool's executor is gone: the job never runs. Dropped after the
        // lock (it holds the user's future).
        drop(refused);
        Err(self.not_running())
    }

    fn not_running(&self) -> TaskError {
        TaskError::not_running(&self.owner.name)
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

impl sealed::Sealed for TaskPoolSpawner {
    fn service_host(&self) -> Arc<dyn ServiceHost> {
        Arc::new(self.clone())
    }

    /// Sends the job that makes the task (on the pool's thread, where its
    /// pool's gate is) or starts the service.
    fn submit<F: SendFuture>(&self, future: F, kind: Submit) -> Spawned<F::Output> {
        self.send(|unsent| match kind {
            Submit::Task => Box::new(MakeJob::new(move |_: &()| future, unsent, false)),
            Submit::Service => Box::new(ServiceJob {
                future: Guarded::new(future),
                unsent,
            }),
        })
    }
}

impl ServiceHost for TaskPoolSpawner {
    fn spawn_service(&self, future: BoxService) -> Result<(), TaskError> {
        TaskPoolSpawner::spawn_service(self, future).map(TaskHandle::detach)
    }
}
