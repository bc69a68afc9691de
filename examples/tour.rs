//! A tour of concurrent-tasks: run with `cargo run --release --example tour`.
//!
//! Each section prints what it shows; the whole tour takes about a second.

use concurrent_tasks::time::{ManualClock, MissedTickBehavior};
use concurrent_tasks::{
    block_on, interval, sleep, spawn, timeout, yield_now, BlockingThreadedTaskPool, Debouncer,
    LocalExecutor, OnTimePeriodicTask, PeriodicTask, RestartableTask, TaskError,
};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

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

    // 8. A pool on its own thread, fed from this (synchronous) thread.
    let pool = BlockingThreadedTaskPool::builder()
        .name("tour-pool")
        .size(2)
        .timeout(Duration::from_millis(100))
        .start()
        .expect("the pool starts");
    let start = Instant::now();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            pool.create_task(async move {
                sleep(Duration::from_millis(20)).await;
                i * 10
            })
            .expect("the pool runs")
        })
        .collect();
    let too_slow = pool
        .create_task(async { sleep(Duration::from_secs(5)).await })
        .expect("the pool runs");
    let results: Vec<_> = handles.into_iter().map(|h| h.wait().unwrap()).collect();
    let round_trips = Instant::now();
    for _ in 0..1_000 {
        pool.run(async {}).unwrap();
    }
    let per_trip = round_trips.elapsed() / 1_000;
    println!(
        "8. pool of size 2: {results:?} in {:.0?} (two at a time); a 5 s task: {:?}; \
         round trip from this thread: {per_trip:.1?}",
        start.elapsed(),
        too_slow.wait()
    );

    // 8b. A service on the same pool: a heartbeat started with start_on runs
    //     outside the pool's size limit and its 100 ms task timeout, and a
    //     timer built here, on the main thread, runs on the pool.
    let beats = Arc::new(AtomicU32::new(0));
    let b = beats.clone();
    let heartbeat = PeriodicTask::new(Duration::from_millis(20), move || {
        b.fetch_add(1, Ordering::Relaxed);
        async {}
    });
    heartbeat.start_on(&pool).expect("the pool runs").detach();
    let cut_off = pool
        .run(timeout(
            Duration::from_millis(30),
            sleep(Duration::from_secs(5)),
        ))
        .expect("the pool runs");
    std::thread::sleep(Duration::from_millis(150)); // past the task timeout
    let stats = pool.stats();
    let stopped = Instant::now();
    let cancelled = pool
        .stop_timeout(Duration::from_secs(1))
        .expect("the pool stops");
    println!(
        "8b. heartbeat service: {} beats over 180 ms (services: {}, it holds no place and no timeout); \
         timeout built on the main thread, run on the pool: {cut_off:?}; \
         stop_timeout: {cancelled} tasks cut off, stopped in {:.1?}",
        beats.load(Ordering::Relaxed),
        stats.services,
        stopped.elapsed()
    );

    // 9. Periodic and on-time tasks: a heartbeat, and a run at a wall-clock time.
    let beats = Arc::new(AtomicU32::new(0));
    let b = beats.clone();
    let heartbeat = PeriodicTask::new(Duration::from_millis(10), move || {
        b.fetch_add(1, Ordering::Relaxed);
        async {}
    });
    let at = SystemTime::now() + Duration::from_millis(35);
    let alarm = OnTimePeriodicTask::new(|| async {}, at);
    let late = block_on(async {
        heartbeat.start().detach();
        alarm.start().await.unwrap();
        SystemTime::now().duration_since(at).unwrap()
    });
    println!(
        "9. heartbeat every 10 ms: {} beats until a wall-clock alarm 35 ms away rang ({late:.1?} after its time)",
        beats.load(Ordering::Relaxed)
    );

    // 10. A restartable request: sent again after each reconnect, completed
    //     from another thread, awaited across the restarts.
    let sends = Arc::new(AtomicU32::new(0));
    let s = sends.clone();
    let request = RestartableTask::new(move || {
        s.fetch_add(1, Ordering::Relaxed); // "send the request"
        async {}
    })
    .timeout(Duration::from_secs(1));
    let reply = block_on(async {
        request.start();
        request.cancel(); // connection lost
        request.start(); // connection back: sent again
        let reader = request.clone();
        std::thread::spawn(move || reader.set_result("pong"));
        request.join().await
    });
    println!(
        "10. restartable request: {reply:?} after {} sends",
        sends.load(Ordering::Relaxed)
    );

    // 11. A debouncer: a burst of calls, one trailing run with the last argument.
    let runs = Arc::new(AtomicU32::new(0));
    let r = runs.clone();
    let search = Arc::new(Debouncer::lazy(
        Duration::from_millis(20),
        move |query: String| {
            r.fetch_add(1, Ordering::Relaxed);
            async move { format!("results for {query:?}") }
        },
    ));
    let answers = block_on(async {
        let calls: Vec<_> = ["r", "ru", "rus", "rust"]
            .into_iter()
            .map(|q| {
                let search = search.clone();
                spawn(async move { search.call(q.to_string()).await })
            })
            .collect();
        let mut answers = Vec::new();
        for call in calls {
            answers.push(call.await.unwrap());
        }
        answers
    });
    println!(
        "11. debouncer: 4 calls, {} run, every caller got {:?}",
        runs.load(Ordering::Relaxed),
        answers[0]
    );
}
