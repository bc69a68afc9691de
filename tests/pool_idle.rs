//! An idle threaded pool parks its thread: no CPU and no wake-ups while it
//! waits for work, with or without a far timer pending (the DESIGN's "idle
//! CPU" target: 0 wake-ups/s).
//!
//! The pool thread is found by its name in `/proc/self/task/*/comm`, and
//! measured from the kernel's accounting in `/proc/self/task/<tid>/schedstat`
//! (time on CPU in ns, time waiting to run, number of times it ran).

#![cfg(target_os = "linux")]

use concurrent_tasks::{sleep, BlockingThreadedTaskPool, TaskError};
use std::time::{Duration, Instant};

/// Idle time measured.
const IDLE: Duration = Duration::from_millis(500);
/// Generous bound on CPU over `IDLE`: a busy loop burns ~500 ms, a 1 ms
/// polling tick a few ms; parking costs nothing.
const MAX_CPU: Duration = Duration::from_millis(20);
/// Bound on the times the thread ran over `IDLE`: 0 expected; a periodic
/// tick of even 10 ms would give 50.
const MAX_RUNS: u64 = 5;

/// The thread id of the only thread of this process named `name`.
fn tid_named(name: &str) -> u64 {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
        let path = entry.unwrap().path();
        let Ok(comm) = std::fs::read_to_string(path.join("comm")) else {
            continue; // the thread ended meanwhile
        };
        if comm.trim_end() == name {
            found.push(path.file_name().unwrap().to_str().unwrap().parse().unwrap());
        }
    }
    assert_eq!(found.len(), 1, "threads named {name:?}: {found:?}");
    found[0]
}

/// (time on CPU, times run) of thread `tid` so far.
fn schedstat(tid: u64) -> (Duration, u64) {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat"))
        .expect("schedstat (needs CONFIG_SCHEDSTATS or CONFIG_SCHED_INFO)");
    let fields: Vec<u64> = stat
        .split_whitespace()
        .map(|f| f.parse().unwrap())
        .collect();
    (Duration::from_nanos(fields[0]), fields[2])
}

/// Measures the pool thread over `IDLE` and checks it stayed asleep.
fn assert_idle(name: &str, what: &str) {
    let tid = tid_named(name);
    // Let the thread finish what it was doing and park.
    std::thread::sleep(Duration::from_millis(50));
    let (cpu0, runs0) = schedstat(tid);
    assert!(
        runs0 > 0,
        "thread {tid} ({name}) never ran: not the pool thread?"
    );
    let start = Instant::now();
    std::thread::sleep(IDLE);
    let (cpu1, runs1) = schedstat(tid);
    let wall = start.elapsed();
    let (cpu, runs) = (cpu1 - cpu0, runs1 - runs0);
    println!("{what}: pool thread used {cpu:?} of CPU and ran {runs} times over {wall:?}");
    assert!(
        cpu < MAX_CPU,
        "{what}: the pool thread used {cpu:?} of CPU over {wall:?} idle"
    );
    assert!(
        runs <= MAX_RUNS,
        "{what}: the pool thread woke {runs} times over {wall:?} idle"
    );
}

#[test]
fn idle_pool_uses_no_cpu_and_does_not_wake() {
    const NAME: &str = "idle-pool-a";
    let pool = BlockingThreadedTaskPool::builder()
        .name(NAME)
        .size(4)
        .timeout(Duration::from_secs(5))
        .start()
        .unwrap();
    // Warm it up: a task with a timer and one without, both finished.
    assert_eq!(pool.run(async { 1 }), Ok(1));
    assert_eq!(
        pool.run(async {
            sleep(Duration::from_millis(5)).await;
            2
        }),
        Ok(2)
    );
    assert_idle(NAME, "idle pool");
    // Still serving afterwards.
    assert_eq!(pool.run(async { 3 }), Ok(3));
    pool.stop().unwrap();
}

#[test]
fn idle_pool_uses_no_cpu_with_a_1h_timer_pending() {
    const NAME: &str = "idle-pool-b";
    let pool = BlockingThreadedTaskPool::builder()
        .name(NAME)
        .start()
        .unwrap();
    let (started_tx, started) = crossbeam_channel::bounded(1);
    let hour = pool
        .create_task(async move {
            started_tx.send(()).unwrap();
            sleep(Duration::from_secs(3600)).await;
        })
        .unwrap();
    started
        .recv_timeout(Duration::from_secs(30))
        .expect("the task started");
    assert_idle(NAME, "pool with a 1 h sleep pending");
    assert!(!hour.is_finished());
    // stop() would wait the hour: cancel first.
    hour.cancel();
    assert_eq!(hour.wait(), Err(TaskError::Cancelled));
    pool.stop().unwrap();
}

#[test]
fn idle_pool_uses_no_cpu_with_a_1h_pool_timeout_pending() {
    // The pool's own timeout timer of a running task (one hour) is pending
    // too, next to the task's sleep.
    const NAME: &str = "idle-pool-c";
    let pool = BlockingThreadedTaskPool::builder()
        .name(NAME)
        .timeout(Duration::from_secs(3600))
        .start()
        .unwrap();
    let (started_tx, started) = crossbeam_channel::bounded(1);
    let waiting = pool
        .create_task(async move {
            started_tx.send(()).unwrap();
            std::future::pending::<()>().await;
        })
        .unwrap();
    started
        .recv_timeout(Duration::from_secs(30))
        .expect("the task started");
    assert_idle(NAME, "pool with a 1 h task timeout pending");
    waiting.cancel();
    assert_eq!(waiting.wait(), Err(TaskError::Cancelled));
    pool.stop().unwrap();
}
