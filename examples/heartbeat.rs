//! A long-running synchronous program on one pool: a heartbeat service,
//! timed jobs sent from the main thread, a request that survives a
//! reconnect, and a shutdown that returns.
//!
//! Run with `cargo run --release --example heartbeat`.

use concurrent_tasks::{
    sleep, timeout, BlockingThreadedTaskPool, PeriodicTask, RestartableTask, TaskError,
};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A stand-in for an async client call (an HTTP request, a database query):
/// the higher the id, the slower.
async fn fetch(id: u32) -> String {
    sleep(Duration::from_millis(20 * u64::from(id))).await;
    format!("reply #{id}")
}

fn main() -> Result<(), TaskError> {
    let start = Instant::now();
    let ms = move || start.elapsed().as_millis();
    let pool = BlockingThreadedTaskPool::builder()
        .name("service-pool")
        .size(2) // at most two jobs at once
        .timeout(Duration::from_millis(200)) // per job; services are not timed
        .on_unhandled(|error| eprintln!("unhandled: {error}"))
        .start()?;

    // The heartbeat is a service of the pool: it beats every 100 ms for the
    // program's whole life, outside the size limit and the job timeout.
    let beats = Arc::new(AtomicU32::new(0));
    let heartbeat = PeriodicTask::new(Duration::from_millis(100), {
        let beats = beats.clone();
        move || {
            let n = beats.fetch_add(1, Ordering::Relaxed) + 1;
            println!("  [{:>4} ms] heartbeat {n}", ms());
            async {}
        }
    });
    heartbeat.start_on(&pool)?.detach();

    // Timed jobs, built here on the main thread and run on the pool: the
    // timeout counts from when the pool first polls it.
    for id in 1..=4 {
        std::thread::sleep(Duration::from_millis(100)); // blocking work here
        match pool.run(timeout(Duration::from_millis(50), fetch(id)))? {
            Ok(reply) => println!("[{:>4} ms] job {id}: {reply}", ms()),
            Err(e) => println!("[{:>4} ms] job {id}: {e} (cut off at 50 ms)", ms()),
        }
    }

    // A request that survives a reconnect: its driver is a service of the
    // pool; `start` sends, `cancel` drops the attempt, `start` sends again.
    let sends = Arc::new(AtomicU32::new(0));
    let request = RestartableTask::new({
        let sends = sends.clone();
        move || {
            sends.fetch_add(1, Ordering::Relaxed); // "write the request"
            async {}
        }
    })
    .timeout(Duration::from_secs(1));
    request.start_on(&pool)?;
    std::thread::sleep(Duration::from_millis(30));
    request.cancel(); // the connection dropped
    println!("[{:>4} ms] connection lost, reconnecting", ms());
    std::thread::sleep(Duration::from_millis(30));
    request.start(); // back: the request is sent again
    let reader = request.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(40));
        reader.set_result("pong"); // the reply arrives on the reader thread
    });
    let reply = request.wait();
    println!(
        "[{:>4} ms] request: {reply:?} after {} sends",
        ms(),
        sends.load(Ordering::Relaxed)
    );

    // Shutdown: the jobs drain (for at most a second), then the heartbeat
    // and the request's driver are cancelled, and the pool thread ends.
    let stopping = Instant::now();
    let cut_off = pool.stop_timeout(Duration::from_secs(1))?;
    println!(
        "[{:>4} ms] stopped in {:.1?} ({cut_off} jobs cut off) after {} heartbeats",
        ms(),
        stopping.elapsed(),
        beats.load(Ordering::Relaxed)
    );
    Ok(())
}
