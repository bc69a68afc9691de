//! The K2 backstop, proven with a fault injected outside every guard (user
//! code cannot reach that far any more: K1 contains it).

use crate::{BlockingThreadedTaskPool, TaskError};
use std::time::{Duration, Instant};

/// Waits for `cond`, failing after 10 s instead of hanging.
fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
#[cfg_attr(miri, ignore)] // real threads and clock: slow under Miri
fn k2_a_pool_thread_that_ends_abnormally_resolves_every_handle_and_stop_returns() {
    let pool = BlockingThreadedTaskPool::builder()
        .name("k2")
        .size(1)
        .fault_after(3)
        .build();
    pool.start().unwrap();
    let running = pool.create_task(std::future::pending::<()>()).unwrap();
    let buffered = pool.create_task(async {}).unwrap();
    // The third job trips the fault; later ones may still sit in the inbox.
    let late: Vec<_> = (0..20)
        .map(|i| pool.create_task(async move { i }))
        .collect();
    wait_until("the pool thread to end", || !pool.is_running());
    for mut handle in [running, buffered] {
        assert_eq!(
            handle.wait_timeout(Duration::from_secs(10)),
            Some(Err(TaskError::Cancelled))
        );
    }
    for handle in late {
        match handle {
            Ok(mut handle) => assert_eq!(
                handle.wait_timeout(Duration::from_secs(10)),
                Some(Err(TaskError::Cancelled)),
                "a job left in the inbox resolves"
            ),
            Err(error) => assert!(matches!(error, TaskError::NotRunning { .. })),
        }
    }
    assert!(matches!(
        pool.create_task(async {}),
        Err(TaskError::NotRunning { .. })
    ));
    assert!(matches!(
        pool.run(async {}),
        Err(TaskError::NotRunning { .. })
    ));
    match pool.stop() {
        Err(TaskError::Panicked(message)) => assert!(message.contains("injected fault")),
        other => panic!("stop after an abnormal end: {other:?}"),
    }
    assert!(matches!(pool.stop(), Err(TaskError::NotRunning { .. })));
    // It can be started again; the fault trips again after three jobs.
    pool.start().unwrap();
    assert_eq!(pool.run(async { 5 }), Ok(5));
}

#[test]
#[cfg_attr(miri, ignore)] // real threads and clock: slow under Miri
fn k2_dropping_a_pool_whose_thread_died_returns() {
    let pool = BlockingThreadedTaskPool::builder()
        .name("k2-drop")
        .fault_after(1)
        .build();
    pool.start().unwrap();
    let handle = pool.create_task(async { 1 }).unwrap();
    wait_until("the pool thread to end", || !pool.is_running());
    assert_eq!(handle.wait(), Err(TaskError::Cancelled));
    drop(pool); // must not hang
}
