//! P1 (tasks run concurrently on the pool thread) and P4 (`create_task` and
//! `run` from any number of threads at once, handles waited on from yet
//! another thread), on both threaded fronts; P11 on a foreign executor.
//!
//! Timing bounds: sleeps of 50 ms, 40 ms of slack for a loaded 2-core machine.

mod common;

use common::{wait, within, LONG};
use concurrent_tasks::{
    block_on, sleep, AsyncThreadedTaskPool, BlockingThreadedTaskPool, TaskHandle,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const NAP: Duration = Duration::from_millis(50);
const SLACK: Duration = Duration::from_millis(40);
fn assert_concurrent(took: Duration) {
    assert!(
        took >= NAP,
        "finished after {took:?}, before one 50 ms sleep"
    );
    assert!(
        took < 2 * NAP - Duration::from_millis(10),
        "finished after {took:?}: the 50 ms sleeps did not overlap"
    );
}

// === P1 ===

#[test]
fn p1_two_50ms_sleeps_finish_well_under_100ms() {
    within(Duration::from_secs(30), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p1-two")
            .start()
            .unwrap();
        // Warm up: the thread runs and has polled once.
        assert_eq!(pool.run(async { 0 }), Ok(0));
        let start = Instant::now();
        let a = pool
            .create_task(async {
                sleep(NAP).await;
                1
            })
            .unwrap();
        let b = pool
            .create_task(async {
                sleep(NAP).await;
                2
            })
            .unwrap();
        assert_eq!(wait(a), Ok(1));
        assert_eq!(wait(b), Ok(2));
        assert_concurrent(start.elapsed());
        pool.stop().unwrap();
    });
}

#[test]
fn p1_a_hundred_50ms_sleeps_finish_well_under_100ms() {
    within(Duration::from_secs(30), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p1-hundred")
            .start()
            .unwrap();
        let start = Instant::now();
        let handles: Vec<_> = (0..100u32)
            .map(|i| {
                pool.create_task(async move {
                    sleep(NAP).await;
                    i
                })
                .unwrap()
            })
            .collect();
        for (i, h) in (0..100u32).zip(handles) {
            assert_eq!(wait(h), Ok(i));
        }
        let took = start.elapsed();
        assert!(took >= NAP, "finished after {took:?}");
        assert!(
            took < NAP + SLACK,
            "finished after {took:?}: not concurrent"
        );
        pool.stop().unwrap();
    });
}

#[test]
fn p1_two_blocking_runs_from_two_threads_overlap() {
    within(Duration::from_secs(30), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p1-run")
            .start()
            .unwrap();
        let barrier = Barrier::new(2);
        let start = Instant::now();
        std::thread::scope(|s| {
            let runs: Vec<_> = (0..2u32)
                .map(|i| {
                    let (pool, barrier) = (&pool, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        pool.run(async move {
                            sleep(NAP).await;
                            i
                        })
                    })
                })
                .collect();
            for (i, r) in (0..2u32).zip(runs) {
                assert_eq!(r.join().unwrap(), Ok(i));
            }
        });
        assert_concurrent(start.elapsed());
        pool.stop().unwrap();
    });
}

#[test]
fn p1_async_front_two_50ms_sleeps_finish_well_under_100ms() {
    within(Duration::from_secs(30), || {
        block_on(async {
            let pool = AsyncThreadedTaskPool::builder()
                .name("p1-async")
                .start()
                .await
                .unwrap();
            assert_eq!(pool.run(async { 0 }).await, Ok(0));
            let start = Instant::now();
            let a = pool
                .create_task(async {
                    sleep(NAP).await;
                    1
                })
                .unwrap();
            let b = pool.run(async {
                sleep(NAP).await;
                2
            });
            assert_eq!(b.await, Ok(2));
            assert_eq!(a.await, Ok(1));
            assert_concurrent(start.elapsed());
            pool.stop().await.unwrap();
        });
    });
}

// === P4 ===

const THREADS: usize = 8;
const PER_THREAD: usize = 200;

#[test]
fn p4_create_task_from_8_threads_waited_from_another_thread() {
    within(Duration::from_secs(60), || {
        let pool = Arc::new(
            BlockingThreadedTaskPool::builder()
                .name("p4-create")
                .start()
                .unwrap(),
        );
        let ran = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpsc::channel::<(usize, TaskHandle<usize>)>();
        // The waiter: yet another thread, receiving every handle.
        let waiter = std::thread::spawn(move || {
            let mut seen = vec![false; THREADS * PER_THREAD];
            let mut sum = 0usize;
            for (expected, h) in rx {
                let got = wait(h).expect("task failed");
                assert_eq!(got, expected);
                assert!(!seen[got], "output {got} delivered twice");
                seen[got] = true;
                sum += got;
            }
            assert!(seen.iter().all(|s| *s), "some task's output never arrived");
            sum
        });
        let barrier = Arc::new(Barrier::new(THREADS));
        let submitters: Vec<_> = (0..THREADS)
            .map(|t| {
                let (pool, tx, barrier, ran) =
                    (pool.clone(), tx.clone(), barrier.clone(), ran.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    for i in 0..PER_THREAD {
                        let id = t * PER_THREAD + i;
                        let ran = ran.clone();
                        let h = pool
                            .create_task(async move {
                                if id % 3 == 0 {
                                    sleep(Duration::from_millis(1)).await;
                                }
                                ran.fetch_add(1, Ordering::SeqCst);
                                id
                            })
                            .expect("create_task on a running pool");
                        tx.send((id, h)).unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        for s in submitters {
            s.join().unwrap();
        }
        let n = THREADS * PER_THREAD;
        assert_eq!(waiter.join().unwrap(), n * (n - 1) / 2);
        assert_eq!(ran.load(Ordering::SeqCst), n);
        pool.stop().unwrap();
    });
}

#[test]
fn p4_run_from_8_threads_at_once() {
    within(Duration::from_secs(60), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p4-run")
            .size(3)
            .start()
            .unwrap();
        let barrier = Barrier::new(THREADS);
        std::thread::scope(|s| {
            let threads: Vec<_> = (0..THREADS)
                .map(|t| {
                    let (pool, barrier) = (&pool, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        let mut sum = 0;
                        for i in 0..PER_THREAD / 4 {
                            let v = t * 1000 + i;
                            sum += pool.run(async move { v }).expect("run on a running pool");
                        }
                        sum
                    })
                })
                .collect();
            for (t, th) in threads.into_iter().enumerate() {
                let n = PER_THREAD / 4;
                assert_eq!(th.join().unwrap(), t * 1000 * n + n * (n - 1) / 2);
            }
        });
        pool.stop().unwrap();
    });
}

#[test]
fn p4_async_front_create_task_from_8_threads_awaited_elsewhere() {
    within(Duration::from_secs(60), || {
        let pool = Arc::new(
            block_on(
                AsyncThreadedTaskPool::builder()
                    .name("p4-async")
                    .size(4)
                    .start(),
            )
            .unwrap(),
        );
        let (tx, rx) = mpsc::channel::<TaskHandle<usize>>();
        let barrier = Arc::new(Barrier::new(THREADS));
        let submitters: Vec<_> = (0..THREADS)
            .map(|t| {
                let (pool, tx, barrier) = (pool.clone(), tx.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    for i in 0..PER_THREAD {
                        let id = t * PER_THREAD + i;
                        tx.send(pool.create_task(async move { id }).unwrap())
                            .unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        // Awaited (not waited) from yet another thread, on our executor.
        let sum = std::thread::spawn(move || {
            block_on(async move {
                let mut sum = 0;
                for h in rx {
                    sum += h.await.unwrap();
                }
                sum
            })
        });
        for s in submitters {
            s.join().unwrap();
        }
        let n = THREADS * PER_THREAD;
        assert_eq!(sum.join().unwrap(), n * (n - 1) / 2);
        block_on(pool.stop()).unwrap();
    });
}

#[test]
fn p4_tasks_run_while_another_thread_keeps_submitting() {
    within(Duration::from_secs(60), || {
        let pool = Arc::new(
            BlockingThreadedTaskPool::builder()
                .name("p4-flood")
                .start()
                .unwrap(),
        );
        let done = Arc::new(AtomicUsize::new(0));
        // Hold the pool thread until a backlog built up: from then on the
        // inbox loop always finds a job waiting.
        let (backlog_tx, backlog_rx) = mpsc::channel::<()>();
        pool.create_task(async move {
            let _ = backlog_rx.recv_timeout(LONG);
        })
        .unwrap()
        .detach();
        let flooder = {
            let (pool, done) = (pool.clone(), done.clone());
            std::thread::spawn(move || {
                let start = Instant::now();
                let mut sent = 0usize;
                let mut backlog_tx = Some(backlog_tx);
                // Back to back until a task has run (bounded, to keep the
                // backlog small).
                while done.load(Ordering::SeqCst) == 0
                    && sent < 400_000
                    && start.elapsed() < Duration::from_secs(3)
                {
                    let done = done.clone();
                    pool.create_task(async move {
                        done.fetch_add(1, Ordering::SeqCst);
                    })
                    .unwrap()
                    .detach();
                    sent += 1;
                    if sent == 20_000 {
                        drop(backlog_tx.take()); // releases the pool thread
                    }
                }
                (sent, done.load(Ordering::SeqCst), start.elapsed())
            })
        };
        let (sent, ran, took) = flooder.join().unwrap();
        pool.stop().unwrap();
        assert!(
            ran > 0,
            "no task ran while {sent} tasks were submitted back to back over {took:?} \
             (all {} ran only once stop closed the inbox)",
            done.load(Ordering::SeqCst)
        );
    });
}

/// Submits a job whose closure (run on the pool thread, by the inbox loop)
/// records how many tasks have run so far and submits the next link.
fn link(
    pool: &Arc<BlockingThreadedTaskPool>,
    left: usize,
    ran: &Arc<AtomicUsize>,
    seen: &Arc<std::sync::Mutex<Vec<usize>>>,
) {
    let (p, ran, seen) = (pool.clone(), ran.clone(), seen.clone());
    pool.create_task_with(move |_: &()| {
        seen.lock().unwrap().push(ran.load(Ordering::SeqCst));
        if left > 0 {
            link(&p, left - 1, &ran, &seen);
        }
        async move {
            ran.fetch_add(1, Ordering::SeqCst);
        }
    })
    .unwrap()
    .detach();
}

#[test]
fn p1_tasks_run_while_the_inbox_never_empties() {
    // Regression (inbox loop starving tasks, fixed by yielding every
    // JOB_BATCH jobs). Deterministic form: each job submits the next one from
    // the pool thread, so the inbox is never empty when the loop looks.
    within(Duration::from_secs(60), || {
        let pool = Arc::new(
            BlockingThreadedTaskPool::builder()
                .name("p1-chain")
                .start()
                .unwrap(),
        );
        let ran = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        const LINKS: usize = 10_000;
        link(&pool, LINKS - 1, &ran, &seen);
        let deadline = Instant::now() + LONG;
        while ran.load(Ordering::SeqCst) < LINKS {
            assert!(Instant::now() < deadline, "the chain's tasks never all ran");
            std::thread::sleep(Duration::from_millis(1));
        }
        pool.stop().unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), LINKS);
        assert!(
            *seen.last().unwrap() > 0,
            "none of the {} tasks created so far had run when the last job was handled",
            LINKS - 1
        );
    });
}

/// P11 without a peer runtime: a handle is `Send + Sync`, awaited on an
/// executor that is not ours (a bare park/unpark `block_on`) from another
/// thread, and its blocking `wait` gives the outcome once; the peers
/// (tokio, smol) await it in `benches/peers/tests/pool_interop.rs`.
#[test]
fn p11_a_task_handle_is_send_sync_and_awaits_on_a_foreign_executor() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    let pool = BlockingThreadedTaskPool::builder().start().unwrap();
    let handle = pool
        .create_task(async {
            sleep(Duration::from_millis(5)).await;
            7
        })
        .unwrap();
    send_sync(&handle);
    let awaited = std::thread::spawn(move || common::foreign_block_on(handle));
    assert_eq!(within(LONG, move || awaited.join().unwrap()), Ok(7));
    let waited = pool.create_task(async { 8 }).unwrap();
    assert_eq!(waited.wait(), Ok(8));
    pool.stop().unwrap();
}
