//! The one dispatch loop: runs the jobs that other threads send to a pool
//! (a threaded pool's submissions, a spawner's tasks) on the pool's thread,
//! and yields to the executor every [`JOB_BATCH`] jobs, so a stream of
//! submissions cannot starve the tasks (and timers) already running (K4).

use super::inbox::Inbox;
use super::local::PoolInner;
use super::task::ThreadJob;
use std::any::Any;
use std::rc::Rc;
use std::task::Poll;

/// Jobs run between two yields to the executor.
const JOB_BATCH: usize = crate::executor::YIELD_EVERY;

/// Runs each job from `jobs` with the pool's context and pool, until the
/// inbox ends: every sender gone, or — checked when it is empty —
/// `closed()`. `before_job` runs before each job (test-only fault
/// injection; a no-op otherwise). The context is erased, so the loop is
/// compiled once per caller, not per context type.
pub(crate) async fn dispatch(
    jobs: &Inbox<Box<dyn ThreadJob>>,
    ctx: &dyn Any,
    pool: &Rc<PoolInner>,
    closed: impl Fn() -> bool,
    mut before_job: impl FnMut(),
) {
    let mut batch = 0;
    loop {
        let job = std::future::poll_fn(|cx| match jobs.poll_recv(cx) {
            Poll::Pending if closed() => Poll::Ready(None),
            polled => polled,
        })
        .await;
        let Some(job) = job else {
            return;
        };
        before_job();
        job.run(ctx, pool);
        batch += 1;
        if batch == JOB_BATCH {
            batch = 0;
            crate::yield_now().await;
        }
    }
}
