//! An idle executor parks: no CPU while it waits for a timer.

use concurrent_tasks::{block_on, sleep};
use std::time::{Duration, Instant};

/// CPU time this thread has used, from the scheduler's own accounting.
#[cfg(target_os = "linux")]
fn thread_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").expect("schedstat");
    let ns: u64 = stat.split_whitespace().next().unwrap().parse().unwrap();
    Duration::from_nanos(ns)
}

#[cfg(target_os = "linux")]
#[test]
fn idle_block_on_waiting_for_a_200ms_sleep_uses_no_cpu() {
    let cpu_before = thread_cpu_time();
    let start = Instant::now();
    block_on(async { sleep(Duration::from_millis(200)).await });
    let wall = start.elapsed();
    let cpu = thread_cpu_time() - cpu_before;
    assert!(wall >= Duration::from_millis(200));
    // A busy loop would burn ~200 ms; parking costs microseconds. The bound
    // is generous for a loaded machine.
    assert!(
        cpu < Duration::from_millis(20),
        "used {cpu:?} of CPU over {wall:?}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn idle_block_on_with_a_far_timer_and_a_near_one_uses_no_cpu() {
    let cpu_before = thread_cpu_time();
    block_on(async {
        let _hour = concurrent_tasks::spawn(sleep(Duration::from_secs(3600)));
        sleep(Duration::from_millis(200)).await;
    });
    let cpu = thread_cpu_time() - cpu_before;
    assert!(cpu < Duration::from_millis(20), "used {cpu:?} of CPU");
}
