//! Task pools: [`TaskPool`] inside the current executor, and (next to it)
//! the threaded pools that run one on a dedicated thread.
//!
//! A pool task is an ordinary executor task whose future first waits for a
//! place (the size limit, FIFO), then runs the user's future under the
//! pool's timeout. Handles ([`TaskHandle`]) can be made on any thread before
//! the task exists on the pool's thread; they are awaited, waited on, or
//! cancelled from anywhere.

mod fronts;
mod gate;
mod handle;
mod inbox;
mod local;
mod stats;
mod task;
mod threaded;

pub use fronts::{AsyncThreadedTaskPool, BlockingThreadedTaskPool};
pub use handle::TaskHandle;
pub use local::{TaskPool, TaskPoolBuilder, TaskPoolSpawner};
pub use stats::PoolStats;
pub use threaded::{Async, Blocking, ThreadedTaskPoolBuilder};

use crate::error::TaskError;
use std::future::Future;

/// Jobs an inbox's receiver runs before it yields to the executor, so a
/// stream of submissions cannot starve the tasks already running.
const JOB_BATCH: usize = 64;

/// Something that creates `Send` tasks on a pool, from any thread: both
/// threaded pools, [`TaskPool`] and [`TaskPoolSpawner`]. Background and
/// periodic tasks take it in `start_on`.
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
pub trait Spawn {
    /// Creates a task running `future`.
    fn spawn_task<F>(&self, future: F) -> Result<TaskHandle<F::Output>, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
}

impl Spawn for TaskPool {
    fn spawn_task<F>(&self, future: F) -> Result<TaskHandle<F::Output>, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Ok(self.create_task(future))
    }
}

impl Spawn for TaskPoolSpawner {
    fn spawn_task<F>(&self, future: F) -> Result<TaskHandle<F::Output>, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.create_task(future)
    }
}
