//! Unit tests of `pool/task.rs`: the jobs' paths no public API reaches.

use super::*;
use crate::executor::cell::TaskRef;
use crate::executor::{current, JoinHandle, LocalExecutor};
use crate::pool::local::TaskPool;

/// Runs `job` on a fresh pool with `ctx` as the pool's context; the outcome
/// of the task behind `handle`.
fn run_job<T: 'static>(
    ctx: &dyn Any,
    job: impl FnOnce(Arc<TaskCell<T>>) -> Box<dyn ThreadJob>,
) -> Result<T, TaskError> {
    LocalExecutor::new().block_on(async {
        let pool = TaskPool::builder().build();
        let shared = current::with_current(|ex| ex.shared().clone()).expect("inside block_on");
        let cell = TaskCell::new(shared);
        let handle = JoinHandle::new(TaskRef::Cell(cell.clone()));
        job(cell).run(ctx, pool.inner());
        let outcome = handle.await;
        pool.stop().await;
        outcome
    })
}

#[test]
fn p12_a_make_job_finds_its_context_by_type() {
    let outcome = run_job(&7u32, |cell| {
        Box::new(MakeJob::<u32, _, _>::new(
            |ctx: &u32| {
                let ctx = *ctx;
                async move { ctx + 1 }
            },
            Unsent::new(cell),
            false,
        ))
    });
    assert_eq!(outcome, Ok(8));
}

#[test]
fn p12_a_make_job_given_a_context_of_another_type_refuses_its_task() {
    let outcome = run_job(&"not a u32", |cell| {
        Box::new(MakeJob::<u32, _, _>::new(
            |_: &u32| async { 1 },
            Unsent::new(cell),
            false,
        ))
    });
    match outcome {
        Err(TaskError::Panicked(message)) => assert!(message.contains("not of the type")),
        other => panic!("a mismatched context: {other:?}"),
    }
}
