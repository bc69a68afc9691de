//! A synchronous program that keeps a heartbeat running on a task pool while
//! its main thread does blocking work and calls `run` for async requests.
//!
//! Run with `cargo run --release --example heartbeat`.

use concurrent_tasks::{sleep, timeout, BlockingThreadedTaskPool, PeriodicTask, TaskError};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A stand-in for an async client call (an HTTP request, a database query).
async fn fetch(id: u32) -> String {
    sleep(Duration::from_millis(30)).await;
    format!("reply #{id}")
}

fn main() -> Result<(), TaskError> {
    let start = Instant::now();
    let pool = BlockingThreadedTaskPool::builder()
        .name("heartbeat-pool")
        .timeout(Duration::from_secs(2))
        .start()?;

    // The heartbeat runs on the pool thread, every 100 ms, until cancelled.
    let beats = Arc::new(AtomicU32::new(0));
    let heartbeat = PeriodicTask::new(Duration::from_millis(100), {
        let beats = beats.clone();
        move || {
            let n = beats.fetch_add(1, Ordering::Relaxed) + 1;
            println!("  [{:>4} ms] heartbeat {n}", start.elapsed().as_millis());
            async {}
        }
    });
    let beating = heartbeat.start_on(&pool)?;

    for id in 1..=3 {
        // Blocking work on the main thread: the heartbeat carries on.
        std::thread::sleep(Duration::from_millis(150));
        // An async request, run on the pool and waited for here.
        let reply = pool.run(fetch(id))?;
        println!(
            "[{:>4} ms] main thread got {reply}",
            start.elapsed().as_millis()
        );
    }

    // Time-limited work: a request that takes too long is cut off.
    let slow = pool.run(async { timeout(Duration::from_millis(10), fetch(99)).await })?;
    println!(
        "[{:>4} ms] slow request: {slow:?}",
        start.elapsed().as_millis()
    );

    heartbeat.cancel();
    println!(
        "[{:>4} ms] heartbeat stopped after {} beats: {:?}",
        start.elapsed().as_millis(),
        beats.load(Ordering::Relaxed),
        beating.wait()
    );
    pool.stop()
}
