//! Task pools: [`TaskPool`] inside the current executor, and (next to it)
//! the threaded pools that run one on a dedicated thread.
//!
//! A pool task is an ordinary executor task whose future first waits for a
//! place (the size limit, FIFO), then runs the user's future under the
//! pool's timeout. Handles ([`TaskHandle`]) can be made on any thread before
//! the task exists on the pool's thread; they are awaited, waited on, or
//! cancelled from anywhere. A *service* (S1) runs on the pool's executor
//! outside the size limit, the timeout and the capacity, until the pool's
//! stop cancels it once the tasks have drained.

mod config;
mod dispatch;
mod gate;
mod handle;
mod inbox;
mod local;
mod stats;
mod task;
mod threaded;

pub use handle::TaskHandle;
pub use local::{TaskPool, TaskPoolBuilder, TaskPoolSpawner};
pub use stats::PoolStats;
pub use threaded::{
    Async, AsyncThreadedTaskPool, Blocking, BlockingThreadedTaskPool, Front, ThreadedTaskPool,
    ThreadedTaskPoolBuilder,
};

use crate::error::TaskError;
use std::future::Future;
use std::pin::Pin;

/// What submitting a future to a pool gives.
pub(crate) type Spawned<T> = Result<TaskHandle<T>, TaskError>;

/// A service's future, boxed to cross a type-erased [`ServiceHost`].
pub(crate) type BoxService = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Something that creates `Send` tasks and services on a pool, from any
/// thread: both threaded pools, [`TaskPool`] and [`TaskPoolSpawner`].
/// Background, periodic and restartable tasks take it in `start_on`, and
/// run there as services.
///
/// The trait is sealed: `start_on` may have to start a restartable task's
/// next driver on the same pool later, from another thread, so every
/// implementor must be able to hand out a `Send` way back to its pool —
/// which only the crate's pools can.
///
/// ```
/// use concurrent_tasks::{block_on, Spawn, TaskPool};
///
/// fn answer(on: &impl Spawn) -> concurrent_tasks::TaskHandle<u32> {
///     on.spawn_task(async { 42 }).unwrap()
/// }
/// block_on(async {
///     let pool = TaskPool::builder().build();
///     assert_eq!(answer(&pool).await, Ok(42));
///     assert_eq!(answer(&pool.spawner()).await, Ok(42));
/// });
/// ```
pub trait Spawn: sealed::Sealed {
    /// Creates a task running `future`: it takes a place under the pool's
    /// size limit, its timeout and (threaded pools) its capacity.
    fn spawn_task<F>(&self, future: F) -> Result<TaskHandle<F::Output>, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.submit(future, Submit::Task)
    }

    /// Starts `future` as a service: at once, outside the size limit,
    /// the timeout and the capacity; counted in [`PoolStats::services`];
    /// cancelled by the pool's stop once its tasks have drained. A panic
    /// nobody reads goes to the pool's `on_unhandled`.
    fn spawn_service<F>(&self, future: F) -> Result<TaskHandle<F::Output>, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.submit(future, Submit::Service)
    }
}

/// Every pool spawns through its one sealed `submit`.
impl<P: sealed::Sealed> Spawn for P {}

/// A pool as a place to start services later, from any thread: what a
/// restartable task keeps to start its next driver where the first ran.
pub(crate) use sealed::{SendFuture, ServiceHost, Submit};

#[allow(unreachable_pub)] // the sealed-trait pattern: public, unnameable
mod sealed {
    use super::{BoxService, Spawned};
    use crate::error::TaskError;
    use std::future::Future;
    use std::sync::Arc;

    /// See [`Spawn`](super::Spawn): only the crate's pools implement it.
    pub trait Sealed {
        /// A `Send` way back to this pool.
        fn service_host(&self) -> Arc<dyn ServiceHost>;

        /// Creates `future` on the pool as `kind`.
        fn submit<F: SendFuture>(&self, future: F, kind: Submit) -> Spawned<F::Output>;
    }

    /// What a submission becomes: a task (a place, the timeout, the
    /// capacity) or a service (S1).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Submit {
        Task,
        Service,
    }

    /// A future a pool takes from any thread: `Send`, with a `Send` output.
    pub trait SendFuture: Future<Output: Send + 'static> + Send + 'static {}

    impl<F: Future<Output: Send + 'static> + Send + 'static> SendFuture for F {}

    /// A pool that can start a service from any thread.
    pub trait ServiceHost: Send + Sync {
        /// Starts `future` as a service (detached).
        fn spawn_service(&self, future: BoxService) -> Result<(), TaskError>;
    }
}
