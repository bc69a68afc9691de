//! The body of a threaded pool's thread: build the context, serve the
//! inbox on a [`TaskPool`] until the stop closes it, drain (under the
//! stop's bound), cancel what is left, tear the context down (S2). The
//! context is erased (`Box<dyn Any>`): this is compiled once, in the library.

use super::builder::{Context, InitFn, StopFn};
use super::core::{BoxJob, Started};
use crate::error::TaskError;
use crate::executor::{current, LocalExecutor};
use crate::guard::drop_user;
use crate::pool::config::PoolSettings;
use crate::pool::dispatch::dispatch;
use crate::pool::inbox::inbox;
use crate::pool::local::TaskPool;
use crate::pool::stats::Stats;
use crate::pool::task::bind_thread_pool;
use crate::slot::Slot;
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Instant;

/// Rounds of "cancel everything, let the executor drop it" at the end of a
/// stop; a destructor that spawns again and again is cut off after these
/// (what is left is dropped with the executor).
const CANCEL_ROUNDS: usize = 64;

/// The bound of the stop under way, set before the inbox is closed.
#[derive(Default)]
pub(super) struct StopRequest {
    /// Cancel what is left at this time; `None`: wait for every task.
    pub(super) deadline: Mutex<Option<Instant>>,
}

/// Everything the pool thread needs, moved into it.
pub(super) struct PoolThread {
    pub(super) settings: PoolSettings,
    pub(super) init: InitFn,
    pub(super) on_stop: Option<StopFn>,
    pub(super) stats: Arc<Stats>,
    pub(super) started: Arc<Slot<Started>>,
    pub(super) stop: Arc<StopRequest>,
    #[cfg(test)]
    pub(super) fault_after: Option<usize>,
}

impl PoolThread {
    /// Runs the pool until it stops; returns the tasks the stop's bound
    /// cancelled.
    pub(super) fn run(self) -> usize {
        let executor = LocalExecutor::new();
        executor.inner().expect_remote_wakes();
        // Failures nobody reads, on this executor, go to the pool's sink.
        executor
            .inner()
            .shared()
            .set_unhandled(self.settings.report.clone());
        executor.block_on(self.main())
    }

    async fn main(self) -> usize {
        let Some(ctx) = self.build_context().await else {
            return 0;
        };
        let pool = TaskPool::with_settings(self.settings.clone(), self.stats.clone())
            .expect("inside block_on");
        // Tasks built on callers' threads find the pool through this thread.
        let _bound = bind_thread_pool(pool.inner());
        let (sender, jobs) = inbox::<BoxJob>();
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
        // Serve until every sender is gone (stop closed the inbox).
        #[cfg(test)]
        let mut served = 0;
        let before_job = || {
            #[cfg(test)]
            {
                served += 1;
                if self.fault_after == Some(served) {
                    panic!("injected fault in the pool thread");
                }
            }
        };
        // `&*ctx`: the context itself, not its box (also `Any`).
        dispatch(&jobs, &*ctx, pool.inner(), || false, before_job).await;
        let deadline = *self.stop.deadline.lock();
        let cancelled = drain(&pool, deadline).await;
        cancel_the_rest().await;
        self.tear_down(ctx).await;
        cancelled
    }

    /// Runs the initialiser as a task (its panic comes back as `Panicked`);
    /// on failure answers the start with `Init` and gives `None`.
    async fn build_context(&self) -> Option<Context> {
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
    async fn tear_down(&self, ctx: Context) {
        match &self.on_stop {
            Some(teardown) => {
                let teardown = teardown.clone();
                if let Err(TaskError::Panicked(m)) =
                    crate::spawn(async move { teardown(ctx).await }).await
                {
                    self.settings
                        .report
                        .report(TaskError::Panicked(format!("on_stop panicked: {m}")));
                }
            }
            None => {
                if let Err(m) = drop_user(ctx) {
                    self.settings.report.report(TaskError::Panicked(format!(
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
