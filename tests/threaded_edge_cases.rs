//! Edge cases of the pools' lifecycles: cancels before a task ever ran, and
//! an async start abandoned half-way.

use concurrent_tasks::{
    block_on, sleep, AsyncThreadedTaskPool, BlockingThreadedTaskPool, TaskError, TaskPool,
};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(10);

#[test]
fn p5_stop_returns_after_tasks_cancelled_before_they_ever_ran() {
    let pool = BlockingThreadedTaskPool::builder().size(1).start().unwrap();
    let blocker = pool
        .create_task(async { sleep(Duration::from_millis(50)).await })
        .unwrap();
    // Cancelled while still in the inbox or the buffer: never polled.
    let cancelled: Vec<_> = (0..50)
        .map(|_| pool.create_task(async { 1 }).unwrap())
        .collect();
    for h in &cancelled {
        h.cancel();
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let stopped = pool.stop();
        let _ = tx.send((stopped, pool.stats()));
    });
    let (stopped, stats) = rx.recv_timeout(LIMIT).expect("stop hung");
    assert_eq!(stopped, Ok(()));
    assert_eq!(stats.queued, 0);
    assert_eq!(blocker.wait(), Ok(()));
    for h in cancelled {
        assert_eq!(h.wait(), Err(TaskError::Cancelled));
    }
}

#[test]
fn l1_local_stop_returns_after_tasks_cancelled_before_they_ever_ran() {
    block_on(async {
        let pool = TaskPool::builder().size(1).build();
        let handles: Vec<_> = (0..10).map(|_| pool.create_task(async { 1 })).collect();
        for h in &handles {
            h.cancel();
        }
        let stopped = concurrent_tasks::timeout(LIMIT, pool.stop()).await;
        assert_eq!(stopped, Ok(()), "stop hung");
        assert_eq!(pool.stats().queued, 0);
        for h in handles {
            assert_eq!(h.await, Err(TaskError::Cancelled));
        }
    });
}

/// Polls a future once, then drops it.
struct PollOnce<F>(Option<Pin<Box<F>>>);

impl<F: Future> Future for PollOnce<F> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(mut f) = self.0.take() {
            let _ = f.as_mut().poll(cx);
        }
        Poll::Ready(())
    }
}

#[test]
fn p9_an_abandoned_async_start_leaves_the_pool_startable() {
    let pool = AsyncThreadedTaskPool::builder()
        .name("abandoned")
        .async_context(|| async {
            sleep(Duration::from_millis(20)).await;
            Ok::<_, String>(())
        })
        .build();
    block_on(async {
        // Start, then give up while the context is being built.
        PollOnce(Some(Box::pin(pool.start()))).await;
        assert!(!pool.is_running());
        // The pool is usable again: start, run, stop.
        concurrent_tasks::timeout(LIMIT, pool.start())
            .await
            .expect("start hung")
            .unwrap();
        assert_eq!(pool.run(async { 3 }).await, Ok(3));
        pool.stop().await.unwrap();
    });
}

#[test]
fn p5_a_daemon_pool_stop_cancels_waiting_and_running_tasks() {
    let pool = BlockingThreadedTaskPool::builder()
        .name("daemon")
        .size(1)
        .daemon(true)
        .start()
        .unwrap();
    let running = pool
        .create_task(async { sleep(Duration::from_secs(3600)).await })
        .unwrap();
    let waiting: Vec<_> = (0..20)
        .map(|_| {
            pool.create_task(async { sleep(Duration::from_secs(3600)).await })
                .unwrap()
        })
        .collect();
    let (tx, rx) = std::sync::mpsc::channel();
    let start = std::time::Instant::now();
    std::thread::spawn(move || {
        let _ = tx.send(pool.stop());
    });
    assert_eq!(rx.recv_timeout(LIMIT).expect("stop hung"), Ok(()));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "stop waited for the tasks"
    );
    assert_eq!(running.wait(), Err(TaskError::Cancelled));
    for h in waiting {
        assert_eq!(h.wait(), Err(TaskError::Cancelled));
    }
}
