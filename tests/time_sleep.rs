//! T1, T3: `sleep` / `sleep_until` on the real clock. Bounds leave 40 ms of
//! slack for a loaded 2-core machine; precision is measured in `benches/`.

mod common;

use concurrent_tasks::{block_on, sleep, sleep_until, spawn, LocalExecutor};
use std::time::{Duration, Instant};

const SLACK: Duration = Duration::from_millis(40);

#[test]
fn t1_sleep_wakes_no_earlier_than_its_duration() {
    block_on(async {
        for ms in [1, 7, 50] {
            let d = Duration::from_millis(ms);
            let start = Instant::now();
            sleep(d).await;
            let took = start.elapsed();
            assert!(took >= d, "woke after {took:?}, before {d:?}");
            assert!(took < d + SLACK, "woke after {took:?}, far past {d:?}");
        }
    });
}

#[test]
fn t1_many_concurrent_sleepers_each_wake_after_their_own_deadline() {
    let early = block_on(async {
        let start = Instant::now();
        let handles: Vec<_> = (0..200u64)
            .map(|i| {
                let d = Duration::from_micros(250 * i);
                spawn(async move {
                    let deadline = start + d;
                    sleep_until(deadline).await;
                    Instant::now().checked_duration_since(deadline).is_none()
                })
            })
            .collect();
        let mut early = 0;
        for h in handles {
            early += usize::from(h.await.unwrap());
        }
        assert!(start.elapsed() < Duration::from_millis(50) + SLACK);
        early
    });
    assert_eq!(early, 0, "sleepers woke before their deadline");
}

#[test]
fn t3_zero_and_past_deadlines_complete_at_once() {
    block_on(async {
        let start = Instant::now();
        sleep(Duration::ZERO).await;
        sleep_until(start - Duration::from_secs(1)).await;
        assert!(start.elapsed() < SLACK);
    });
}

#[test]
fn t3_huge_durations_are_accepted_without_overflow() {
    let ex = LocalExecutor::new();
    ex.block_on(async {
        for d in [
            Duration::MAX,
            Duration::from_secs(u64::MAX),
            Duration::from_secs(u64::MAX / 1_000_000_000),
            Duration::from_secs(10 * 365 * 24 * 3600),
        ] {
            let s = sleep(d);
            let r = concurrent_tasks::timeout(Duration::from_millis(2), s).await;
            assert!(r.is_err(), "{d:?} must not complete now");
        }
    });
    assert_eq!(ex.timers(), 0, "timed-out sleeps are cancelled");
}

#[test]
fn k6_a_sleep_moved_to_another_executor_rebinds_there_keeping_its_deadline() {
    // Made (and registered) on one executor, then polled on another thread's
    // executor: it fires there, at its deadline, never early.
    let ex = LocalExecutor::new();
    let start = Instant::now();
    let mut near = ex.sleep(Duration::from_millis(40));
    let pending = ex.block_on(std::future::poll_fn(|cx| {
        Poll::Ready(Pin::new(&mut near).poll(cx).is_pending())
    }));
    assert!(pending);
    assert_eq!(ex.timers(), 1, "registered on the first executor");
    let other = std::thread::spawn(move || {
        block_on(async move {
            near.await;
            Instant::now()
        })
    });
    let fired_at = other.join().unwrap();
    assert_eq!(ex.timers(), 0, "moved off the first executor's wheel");
    let took = fired_at - start;
    assert!(took >= Duration::from_millis(40), "fired early: {took:?}");
    assert!(took < Duration::from_secs(2), "fired late: {took:?}");
}

#[test]
fn k6_a_sleep_that_outlives_its_executor_rebinds_to_the_next_one() {
    let start = Instant::now();
    // Made (so bound, and counting) inside an executor that then ends.
    let [nap] = block_on(async { [sleep(Duration::from_millis(30))] });
    // Its executor is gone; another one polls it and keeps the deadline.
    block_on(nap);
    assert!(start.elapsed() >= Duration::from_millis(30), "never early");
}

#[test]
#[should_panic(expected = "concurrent_tasks::sleep was polled outside an executor")]
fn k6_a_sleep_polled_outside_every_executor_panics_naming_sleep() {
    let [nap] = block_on(async { [sleep(Duration::from_millis(1))] });
    common::foreign_block_on(nap);
}

#[test]
fn s3_sleeps_made_outside_an_executor_count_from_their_first_poll() {
    let made = sleep(Duration::from_millis(30));
    std::thread::sleep(Duration::from_millis(40)); // not counted
    let start = Instant::now();
    block_on(made);
    assert!(
        start.elapsed() >= Duration::from_millis(30),
        "counted from the first poll, not from creation"
    );
}

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
