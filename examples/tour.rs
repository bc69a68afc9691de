//! A tour of concurrent-tasks: run with `cargo run --release --example tour`.
//!
//! Each section prints what it shows; the whole tour takes about a second.

use concurrent_tasks::time::{ManualClock, MissedTickBehavior};
use concurrent_tasks::{
    block_on, interval, sleep, spawn, timeout, yield_now, LocalExecutor, TaskError,
};
use std::time::{Duration, Instant};

fn main() {
    println!("concurrent-tasks tour\n");

    // 1. block_on runs a future on this thread, with its timers and tasks.
    let start = Instant::now();
    let seven = block_on(async {
        let h = spawn(async {
            sleep(Duration::from_millis(10)).await;
            7
        });
        let slow = timeout(Duration::from_millis(5), sleep(Duration::from_secs(9))).await;
        assert_eq!(slow, Err(TaskError::TimedOut));
        h.await.unwrap()
    });
    println!(
        "1. block_on + spawn + sleep + timeout: got {seven} in {:.1?} (the 9 s sleep timed out after 5 ms)",
        start.elapsed()
    );

    // 2. Many tasks sleep at once on one thread.
    let start = Instant::now();
    let n = block_on(async {
        let handles: Vec<_> = (0..10_000)
            .map(|i| {
                spawn(async move {
                    sleep(Duration::from_millis(50)).await;
                    i
                })
            })
            .collect();
        let mut n = 0;
        for h in handles {
            h.await.unwrap();
            n += 1;
        }
        n
    });
    println!(
        "2. {n} concurrent 50 ms sleeps on one thread finished in {:.1?}",
        start.elapsed()
    );

    // 3. Sleeps wake at their exact deadline, not at the end of a millisecond.
    let (worst, early) = block_on(async {
        let (mut worst, mut early) = (Duration::ZERO, 0);
        for i in 0..20u64 {
            let deadline = Instant::now() + Duration::from_micros(1_000 + 370 * i);
            concurrent_tasks::sleep_until(deadline).await;
            match Instant::now().checked_duration_since(deadline) {
                Some(late) => worst = worst.max(late),
                None => early += 1,
            }
        }
        (worst, early)
    });
    println!(
        "3. 20 sleeps of odd lengths (1.0-8.0 ms): worst lateness {worst:.1?}, {early} woke early"
    );

    // 4. An interval with a missed-tick policy.
    let start = Instant::now();
    let ticks = block_on(async {
        let mut every = interval(Duration::from_millis(20));
        every.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut at = Vec::new();
        for _ in 0..5 {
            every.tick().await;
            at.push(start.elapsed().as_millis());
        }
        at
    });
    println!("4. interval(20 ms) ticked at {ticks:?} ms");

    // 5. Cancel a task from another thread: it is dropped on its executor.
    let ex = LocalExecutor::new();
    let stuck = ex.spawn(std::future::pending::<()>());
    let stuck = std::thread::spawn(move || {
        stuck.cancel();
        stuck
    })
    .join()
    .unwrap();
    println!(
        "5. task cancelled from another thread: {:?}",
        ex.block_on(stuck)
    );

    // 6. A panicking task is caught; the executor goes on.
    let ex = LocalExecutor::new();
    std::panic::set_hook(Box::new(|_| {})); // keep the tour's output tidy
    let bad = ex.spawn(async { panic!("sensor offline") });
    let good = ex.spawn(async {
        yield_now().await;
        "still serving"
    });
    let (bad, good) = ex.block_on(async { (bad.await, good.await) });
    let _ = std::panic::take_hook();
    println!("6. panicking task: {bad:?}; its neighbour: {good:?}");

    // 7. A manual clock: an hour of timers in no time, exactly on schedule.
    let clock = ManualClock::new();
    let ex = LocalExecutor::with_clock(clock.clone());
    let start = Instant::now();
    let runs = ex.block_on(async {
        let mut every = interval(Duration::from_secs(60));
        let mut runs = 0;
        while clock.now() < Duration::from_secs(3600) {
            every.tick().await;
            runs += 1;
        }
        runs
    });
    println!(
        "7. manual clock: {runs} ticks of a 1-minute interval over a virtual hour, in {:.1?} of real time",
        start.elapsed()
    );
}
