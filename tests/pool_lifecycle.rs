//! P5 (stop and drop drain every task, buffered ones included), P9
//! (`NotRunning`, `AlreadyRunning`, `WouldDeadlock` naming the pool; restart
//! any number of times) and P10 (`name` names the thread; NUL is
//! `InvalidName`), on both threaded fronts.

mod common;

use common::{wait, wait_until, within, Gate, LONG};
use concurrent_tasks::{
    block_on, sleep, yield_now, AsyncThreadedTaskPool, BlockingThreadedTaskPool, TaskError,
    TaskHandle,
};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::time::Duration;

/// Whether a thread whose name starts with `name` (Linux truncates thread
/// names to 15 bytes) exists in this process. `None` off Linux.
fn thread_named(name: &str) -> Option<bool> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    let short = &name[..name.len().min(15)];
    Some(tasks.flatten().any(|t| {
        std::fs::read_to_string(t.path().join("comm")).is_ok_and(|comm| comm.trim_end() == short)
    }))
}

/// A task that naps 20 ms, then counts itself done.
fn counted(i: usize, done: &Arc<AtomicUsize>) -> impl Future<Output = usize> + Send + 'static {
    let done = done.clone();
    async move {
        sleep(Duration::from_millis(20)).await;
        done.fetch_add(1, Ordering::SeqCst);
        i
    }
}

fn assert_names_pool(error: &TaskError, pool: &str) {
    let text = error.to_string();
    assert!(text.contains(pool), "{text:?} does not name pool {pool:?}");
}

// === P5 ===

#[test]
fn p5_stop_completes_every_task_buffered_ones_included() {
    within(Duration::from_secs(30), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p5-stop")
            .size(2)
            .start()
            .unwrap();
        let done = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..10)
            .map(|i| pool.create_task(counted(i, &done)).unwrap())
            .collect();
        // At most 2 of 10 can have started: the rest are buffered (or still
        // in the inbox) when stop is called.
        assert!(pool.stats().queued >= 8, "{:?}", pool.stats());
        pool.stop().unwrap();
        assert!(!pool.is_running());
        assert_eq!(
            done.load(Ordering::SeqCst),
            10,
            "stop returned before every task ran"
        );
        assert!(
            handles.iter().all(TaskHandle::is_finished),
            "a handle was unresolved when stop returned"
        );
        for (i, mut h) in handles.into_iter().enumerate() {
            assert_eq!(h.wait_timeout(Duration::ZERO), Some(Ok(i)));
        }
    });
}

#[test]
fn p5_drop_completes_every_task_buffered_ones_included() {
    within(Duration::from_secs(30), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p5-drop")
            .size(1)
            .start()
            .unwrap();
        let done = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..5)
            .map(|i| pool.create_task(counted(i, &done)).unwrap())
            .collect();
        drop(pool);
        assert_eq!(
            done.load(Ordering::SeqCst),
            5,
            "drop returned before every task ran"
        );
        assert!(handles.iter().all(TaskHandle::is_finished));
        for (i, mut h) in handles.into_iter().enumerate() {
            assert_eq!(h.wait_timeout(Duration::ZERO), Some(Ok(i)));
        }
    });
}

#[test]
fn p5_stop_resolves_a_run_blocked_in_another_thread() {
    within(Duration::from_secs(30), || {
        let pool = Arc::new(
            BlockingThreadedTaskPool::builder()
                .name("p5-run")
                .start()
                .unwrap(),
        );
        let (started_tx, started_rx) = mpsc::channel();
        let runner = {
            let pool = pool.clone();
            std::thread::spawn(move || {
                pool.run(async move {
                    started_tx.send(()).unwrap();
                    sleep(Duration::from_millis(50)).await;
                    7
                })
            })
        };
        started_rx.recv_timeout(LONG).expect("run's task started");
        pool.stop().unwrap();
        assert_eq!(runner.join().unwrap(), Ok(7));
    });
}

#[test]
fn p5_handles_of_submissions_racing_stop_are_all_resolved() {
    within(Duration::from_secs(30), || {
        let pool = Arc::new(
            BlockingThreadedTaskPool::builder()
                .name("p5-race")
                .size(4)
                .start()
                .unwrap(),
        );
        let done = Arc::new(AtomicUsize::new(0));
        let submitted = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(Barrier::new(3));
        let submitters: Vec<_> = (0..2)
            .map(|_| {
                let (pool, done, submitted, barrier) = (
                    pool.clone(),
                    done.clone(),
                    submitted.clone(),
                    barrier.clone(),
                );
                std::thread::spawn(move || {
                    barrier.wait();
                    let mut handles = Vec::new();
                    loop {
                        let done = done.clone();
                        match pool.create_task(async move {
                            yield_now().await;
                            done.fetch_add(1, Ordering::SeqCst);
                        }) {
                            Ok(h) => handles.push(h),
                            Err(e) => {
                                assert_eq!(
                                    e,
                                    TaskError::NotRunning {
                                        pool: "p5-race".into()
                                    }
                                );
                                return handles;
                            }
                        }
                        submitted.fetch_add(1, Ordering::SeqCst);
                        if handles.len() % 64 == 0 {
                            // Keep the backlog small: this test is about the
                            // race with stop, not about throughput.
                            std::thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        barrier.wait();
        wait_until("some tasks submitted", || {
            submitted.load(Ordering::SeqCst) > 500
        });
        pool.stop().unwrap();
        let finished_at_stop = done.load(Ordering::SeqCst);
        let mut accepted = 0;
        for s in submitters {
            for mut h in s.join().unwrap() {
                assert!(
                    h.is_finished(),
                    "an accepted task was unresolved after stop"
                );
                assert_eq!(h.wait_timeout(Duration::ZERO), Some(Ok(())));
                accepted += 1;
            }
        }
        assert!(accepted > 500);
        assert_eq!(
            finished_at_stop, accepted,
            "stop returned before every task ran"
        );
    });
}

#[test]
fn p5_async_front_stop_completes_every_task_buffered_ones_included() {
    within(Duration::from_secs(30), || {
        block_on(async {
            let pool = AsyncThreadedTaskPool::builder()
                .name("p5-async")
                .size(2)
                .start()
                .await
                .unwrap();
            let done = Arc::new(AtomicUsize::new(0));
            let handles: Vec<_> = (0..8)
                .map(|i| pool.create_task(counted(i, &done)).unwrap())
                .collect();
            pool.stop().await.unwrap();
            assert_eq!(done.load(Ordering::SeqCst), 8);
            assert!(handles.iter().all(TaskHandle::is_finished));
            for (i, h) in handles.into_iter().enumerate() {
                assert_eq!(h.await, Ok(i));
            }
        });
    });
}

#[test]
fn p5_async_front_drop_still_completes_every_task() {
    // Dropping the async front cannot block its caller: the pool thread
    // finishes every task in the background, none is cancelled.
    within(Duration::from_secs(30), || {
        let pool = block_on(
            AsyncThreadedTaskPool::builder()
                .name("p5-async-drop")
                .size(1)
                .start(),
        )
        .unwrap();
        let done = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..5)
            .map(|i| pool.create_task(counted(i, &done)).unwrap())
            .collect();
        drop(pool);
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(wait(h), Ok(i));
        }
        assert_eq!(done.load(Ordering::SeqCst), 5);
        wait_until("the pool thread to end", || {
            thread_named("p5-async-drop") != Some(true)
        });
    });
}

// === P9 ===

#[test]
fn p9_not_running_for_create_task_run_and_stop_naming_the_pool() {
    within(Duration::from_secs(30), || {
        let pool = BlockingThreadedTaskPool::builder().name("p9-idle").build();
        let not_running = TaskError::NotRunning {
            pool: "p9-idle".into(),
        };
        for round in 0..2 {
            assert!(!pool.is_running());
            assert_eq!(
                pool.create_task(async { 1 }).err(),
                Some(not_running.clone())
            );
            assert_eq!(
                pool.create_task_with(|_: &()| async { 1 }).err(),
                Some(not_running.clone())
            );
            assert_eq!(pool.run(async { 1 }), Err(not_running.clone()));
            assert_eq!(pool.stop(), Err(not_running.clone()));
            assert_names_pool(&not_running, "p9-idle");
            if round == 0 {
                // Again after a start/stop cycle.
                pool.start().unwrap();
                assert!(pool.is_running());
                pool.stop().unwrap();
            }
        }
    });
}

#[test]
fn p9_async_front_not_running_naming_the_pool() {
    within(Duration::from_secs(30), || {
        block_on(async {
            let pool = AsyncThreadedTaskPool::builder().name("p9-aidle").build();
            let not_running = TaskError::NotRunning {
                pool: "p9-aidle".into(),
            };
            assert_eq!(
                pool.create_task(async { 1 }).err(),
                Some(not_running.clone())
            );
            assert_eq!(pool.run(async { 1 }).await, Err(not_running.clone()));
            assert_eq!(pool.stop().await, Err(not_running.clone()));
            pool.start().await.unwrap();
            pool.stop().await.unwrap();
            assert_eq!(pool.run(async { 1 }).await, Err(not_running.clone()));
            assert_eq!(pool.stop().await, Err(not_running));
        });
    });
}

#[test]
fn p9_start_twice_is_already_running_and_the_pool_keeps_working() {
    within(Duration::from_secs(30), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p9-twice")
            .start()
            .unwrap();
        let error = pool.start().unwrap_err();
        assert_eq!(
            error,
            TaskError::AlreadyRunning {
                pool: "p9-twice".into()
            }
        );
        assert_names_pool(&error, "p9-twice");
        assert!(pool.is_running());
        assert_eq!(pool.run(async { 3 }), Ok(3));
        pool.stop().unwrap();
        assert_eq!(
            pool.stop(),
            Err(TaskError::NotRunning {
                pool: "p9-twice".into()
            })
        );
    });
}

#[test]
fn p9_concurrent_starts_one_wins_the_other_is_already_running() {
    within(Duration::from_secs(30), || {
        for _ in 0..20 {
            let pool = BlockingThreadedTaskPool::builder().name("p9-race").build();
            let barrier = Barrier::new(2);
            let outcomes: Vec<_> = std::thread::scope(|s| {
                let starts: Vec<_> = (0..2)
                    .map(|_| {
                        s.spawn(|| {
                            barrier.wait();
                            pool.start()
                        })
                    })
                    .collect();
                starts.into_iter().map(|t| t.join().unwrap()).collect()
            });
            let oks = outcomes.iter().filter(|o| o.is_ok()).count();
            assert_eq!(oks, 1, "{outcomes:?}");
            assert!(outcomes.contains(&Err(TaskError::AlreadyRunning {
                pool: "p9-race".into()
            })));
            assert_eq!(pool.run(async { 1 }), Ok(1));
            pool.stop().unwrap();
        }
    });
}

#[test]
fn p9_concurrent_stops_one_wins_the_other_is_not_running() {
    within(Duration::from_secs(30), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p9-stops")
            .start()
            .unwrap();
        let long = pool
            .create_task(async { sleep(Duration::from_millis(30)).await })
            .unwrap();
        let barrier = Barrier::new(2);
        let outcomes: Vec<_> = std::thread::scope(|s| {
            let stops: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        pool.stop()
                    })
                })
                .collect();
            stops.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert!(outcomes.contains(&Ok(())), "{outcomes:?}");
        assert!(
            outcomes.contains(&Err(TaskError::NotRunning {
                pool: "p9-stops".into()
            })),
            "{outcomes:?}"
        );
        assert!(long.is_finished());
    });
}

/// What the blocking calls gave inside a task of their own pool.
type SelfCalls = (
    Result<u32, TaskError>,
    Result<(), TaskError>,
    Result<u32, TaskError>,
    Option<Result<u32, TaskError>>,
    Option<Result<u32, TaskError>>,
);

#[test]
fn p9_blocking_run_wait_and_stop_from_a_pool_task_are_would_deadlock() {
    within(Duration::from_secs(30), || {
        let pool = Arc::new(
            BlockingThreadedTaskPool::builder()
                .name("p9-self")
                .start()
                .unwrap(),
        );
        let inner = pool.clone();
        let calls: SelfCalls = wait(
            pool.create_task(async move {
                let run = inner.run(async { 1 });
                let stop = inner.stop();
                let waited = inner.create_task(async { 2 }).unwrap().wait();
                let mut h = inner.create_task(async { 3 }).unwrap();
                let timed = h.wait_timeout(Duration::from_secs(1));
                // A zero timeout only checks: it does not block, so it is fine.
                let checked = h.wait_timeout(Duration::ZERO);
                // Awaiting (not blocking) on the pool's own thread works.
                assert_eq!(h.await, Ok(3));
                (run, stop, waited, timed, checked)
            })
            .unwrap(),
        )
        .expect("the task itself ran");
        let deadlock = TaskError::WouldDeadlock {
            pool: "p9-self".into(),
        };
        assert_eq!(calls.0, Err(deadlock.clone()), "run");
        assert_eq!(calls.1, Err(deadlock.clone()), "stop");
        assert_eq!(calls.2, Err(deadlock.clone()), "wait");
        assert_eq!(calls.3, Some(Err(deadlock.clone())), "wait_timeout");
        assert_eq!(calls.4, None, "the task cannot have run yet");
        assert_names_pool(&deadlock, "p9-self");
        // The pool is still running and serving; stop from outside works.
        assert!(pool.is_running());
        assert_eq!(pool.run(async { 4 }), Ok(4));
        pool.stop().unwrap();
    });
}

#[test]
fn p9_async_front_awaits_from_its_own_task_work_and_stop_is_would_deadlock() {
    within(Duration::from_secs(30), || {
        let pool =
            Arc::new(block_on(AsyncThreadedTaskPool::builder().name("p9-aself").start()).unwrap());
        let inner = pool.clone();
        let (run, awaited, stop) = wait(
            pool.create_task(async move {
                let run = inner.run(async { 1 }).await;
                let awaited = inner.create_task(async { 2 }).unwrap().await;
                let stop = inner.stop().await;
                (run, awaited, stop)
            })
            .unwrap(),
        )
        .unwrap();
        assert_eq!(run, Ok(1));
        assert_eq!(awaited, Ok(2));
        assert_eq!(
            stop,
            Err(TaskError::WouldDeadlock {
                pool: "p9-aself".into()
            })
        );
        assert!(pool.is_running());
        block_on(pool.stop()).unwrap();
    });
}

#[test]
fn p9_last_reference_dropped_inside_a_pool_task_does_not_hang() {
    within(Duration::from_secs(30), || {
        let pool = Arc::new(
            BlockingThreadedTaskPool::builder()
                .name("p9-lastref")
                .start()
                .unwrap(),
        );
        let gate = Gate::default();
        let inner = pool.clone();
        let waiting = gate.wait();
        let h = pool
            .create_task(async move {
                waiting.await;
                drop(inner); // the last reference: the pool's drop runs here
                5
            })
            .unwrap();
        drop(pool);
        gate.open();
        assert_eq!(wait(h), Ok(5));
        wait_until("the pool thread to end", || {
            thread_named("p9-lastref") != Some(true)
        });
    });
}

#[test]
fn p9_a_stopped_pool_restarts_20_times() {
    within(Duration::from_secs(60), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p9-cycles")
            .size(2)
            .build();
        for cycle in 0..20u32 {
            pool.start().unwrap();
            assert!(pool.is_running());
            assert_eq!(pool.run(async move { cycle }), Ok(cycle));
            let handles: Vec<_> = (0..4u32)
                .map(|i| {
                    pool.create_task(async move {
                        sleep(Duration::from_millis(1)).await;
                        cycle * 10 + i
                    })
                    .unwrap()
                })
                .collect();
            pool.stop().unwrap();
            assert!(!pool.is_running());
            for (i, mut h) in (0..4u32).zip(handles) {
                assert_eq!(h.wait_timeout(Duration::ZERO), Some(Ok(cycle * 10 + i)));
            }
            assert!(matches!(
                pool.create_task(async {}),
                Err(TaskError::NotRunning { .. })
            ));
        }
    });
}

#[test]
fn p9_async_front_restarts_20_times() {
    within(Duration::from_secs(60), || {
        block_on(async {
            let pool = AsyncThreadedTaskPool::builder().name("p9-acycles").build();
            for cycle in 0..20u32 {
                pool.start().await.unwrap();
                assert_eq!(pool.run(async move { cycle }).await, Ok(cycle));
                pool.stop().await.unwrap();
                assert!(!pool.is_running());
            }
        });
    });
}

// === P10 ===

#[test]
fn p10_name_names_the_pool_thread() {
    within(Duration::from_secs(30), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p10-worker")
            .start()
            .unwrap();
        let name = pool.run(async { std::thread::current().name().map(str::to_owned) });
        assert_eq!(name, Ok(Some("p10-worker".to_owned())));
        assert!(thread_named("p10-worker").unwrap_or(true));
        pool.stop().unwrap();

        block_on(async {
            let pool = AsyncThreadedTaskPool::builder()
                .name("p10-async")
                .start()
                .await
                .unwrap();
            let name = pool
                .run(async { std::thread::current().name().map(str::to_owned) })
                .await;
            assert_eq!(name, Ok(Some("p10-async".to_owned())));
            pool.stop().await.unwrap();
        });
    });
}

#[test]
fn p10_a_name_with_a_nul_byte_is_invalid_name_not_a_panic() {
    within(Duration::from_secs(30), || {
        let bad = "bad\0name";
        let r = BlockingThreadedTaskPool::builder().name(bad).start();
        assert_eq!(r.err(), Some(TaskError::InvalidName(bad.into())));

        let pool = BlockingThreadedTaskPool::builder().name(bad).build();
        assert_eq!(pool.start(), Err(TaskError::InvalidName(bad.into())));
        assert!(!pool.is_running());
        assert!(matches!(
            pool.create_task(async {}),
            Err(TaskError::NotRunning { .. })
        ));
        drop(pool); // dropping a never-started pool is fine

        block_on(async {
            let r = AsyncThreadedTaskPool::builder().name(bad).start().await;
            assert_eq!(r.err(), Some(TaskError::InvalidName(bad.into())));
        });
    });
}
