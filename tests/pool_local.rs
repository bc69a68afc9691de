//! L1: `TaskPool` gives P1–P3 and P5–P7 inside an executor of ours
//! (`block_on`); its `spawner()` is `Send + Sync + Clone` and creates tasks
//! from other threads; `NotRunning` after stop.

mod common;

use common::{counting, within, Gate, Tracker, Unhandled, LONG};
use concurrent_tasks::{
    block_on, sleep, yield_now, TaskError, TaskHandle, TaskPool, TaskPoolSpawner,
};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

const NAP: Duration = Duration::from_millis(50);
const SLACK: Duration = Duration::from_millis(40);
const LIMIT: Duration = Duration::from_millis(100);
const FITS: Duration = Duration::from_millis(60);
const TOO_LONG: Duration = Duration::from_millis(200);
/// Lets the executor run other tasks until `cond` holds (at most 10 000
/// turns: everything here is on one thread, so a few suffice).
async fn settle(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..10_000 {
        if cond() {
            return;
        }
        yield_now().await;
    }
    panic!("never happened: {what}");
}

/// Like [`settle`], for conditions that need timers: checks every
/// millisecond for at most 10 s.
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + LONG;
    while !cond() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        sleep(Duration::from_millis(1)).await;
    }
}

struct DropProbe(mpsc::Sender<ThreadId>);

impl Drop for DropProbe {
    fn drop(&mut self) {
        let _ = self.0.send(std::thread::current().id());
    }
}

fn cancel_from_another_thread<T: Send>(handle: &TaskHandle<T>) {
    std::thread::scope(|s| {
        s.spawn(|| handle.cancel());
    });
}

// === P1 ===

#[test]
fn l1_p1_two_50ms_sleeps_finish_well_under_100ms() {
    within(Duration::from_secs(30), || {
        block_on(async {
            let pool = TaskPool::builder().name("l1-p1").build();
            let start = Instant::now();
            let a = pool.create_task(async {
                sleep(NAP).await;
                1
            });
            let b = pool.run(async {
                sleep(NAP).await;
                2
            });
            assert_eq!(b.await, Ok(2));
            assert_eq!(a.await, Ok(1));
            let took = start.elapsed();
            assert!(took >= NAP, "{took:?}");
            assert!(
                took < 2 * NAP - Duration::from_millis(10),
                "{took:?}: not concurrent"
            );
            pool.stop().await;
        });
    });
}

// === P2 ===

#[test]
fn l1_p2_size_limit_and_fifo_order() {
    within(Duration::from_secs(30), || {
        block_on(async {
            let pool = TaskPool::builder().name("l1-p2").size(3).build();
            let (tracker, gate) = (Tracker::default(), Gate::default());
            let handles: Vec<_> = (0..12)
                .map(|i| pool.create_task(tracker.task_yielding(i, &gate)))
                .collect();
            settle("3 running", || tracker.running() == 3).await;
            for _ in 0..100 {
                yield_now().await;
            }
            assert_eq!(tracker.running(), 3, "a fourth started while 3 ran");
            let stats = pool.stats();
            assert_eq!((stats.queued, stats.running), (9, 3), "{stats:?}");
            gate.open();
            for (i, h) in handles.into_iter().enumerate() {
                assert_eq!(h.await, Ok(i));
            }
            assert_eq!(tracker.max(), 3);
            assert_eq!(tracker.order(), (0..12).collect::<Vec<_>>());
            assert_eq!(pool.stats().completed, 12);
            pool.stop().await;
        });
    });
}

#[test]
fn l1_p2_size_0_and_unset_are_unlimited() {
    within(Duration::from_secs(30), || {
        block_on(async {
            for pool in [
                TaskPool::builder().size(0).build(),
                TaskPool::builder().build(),
            ] {
                let (tracker, gate) = (Tracker::default(), Gate::default());
                let handles: Vec<_> = (0..64)
                    .map(|i| pool.create_task(tracker.task_yielding(i, &gate)))
                    .collect();
                settle("all 64 running", || tracker.running() == 64).await;
                gate.open();
                for (i, h) in handles.into_iter().enumerate() {
                    assert_eq!(h.await, Ok(i));
                }
                pool.stop().await;
            }
        });
    });
}

#[test]
fn l1_p2_set_size_growing_starts_buffered_tasks_at_once() {
    within(Duration::from_secs(30), || {
        block_on(async {
            let pool = TaskPool::builder().name("l1-grow").size(1).build();
            let (tracker, gate) = (Tracker::default(), Gate::default());
            let handles: Vec<_> = (0..6)
                .map(|i| pool.create_task(tracker.task_yielding(i, &gate)))
                .collect();
            settle("1 running", || tracker.running() == 1).await;
            for _ in 0..100 {
                yield_now().await;
            }
            assert_eq!(tracker.running(), 1);
            // No task can finish (the gate is shut): only set_size starts more.
            pool.set_size(3);
            settle("3 running after set_size(3)", || tracker.running() == 3).await;
            assert_eq!(tracker.order(), [0, 1, 2]);
            pool.set_size(0);
            settle("all running after set_size(0)", || tracker.running() == 6).await;
            assert_eq!(tracker.order(), (0..6).collect::<Vec<_>>());
            gate.open();
            for (i, h) in handles.into_iter().enumerate() {
                assert_eq!(h.await, Ok(i));
            }
            pool.stop().await;
        });
    });
}

#[test]
fn l1_p2_set_size_shrinking_lets_running_tasks_finish() {
    within(Duration::from_secs(30), || {
        block_on(async {
            let pool = TaskPool::builder().size(4).build();
            let (tracker, gate) = (Tracker::default(), Gate::default());
            let handles: Vec<_> = (0..8)
                .map(|i| pool.create_task(tracker.task_yielding(i, &gate)))
                .collect();
            settle("4 running", || tracker.running() == 4).await;
            pool.set_size(1);
            gate.open();
            for (i, h) in handles.into_iter().enumerate() {
                assert_eq!(h.await, Ok(i), "running tasks are not cancelled");
            }
            assert_eq!(tracker.max(), 4);
            assert_eq!(tracker.order(), (0..8).collect::<Vec<_>>());
            pool.stop().await;
        });
    });
}

// === P3 ===

#[test]
fn l1_p3_timeout_counts_from_task_start_not_buffer_time() {
    within(Duration::from_secs(30), || {
        block_on(async {
            let pool = TaskPool::builder()
                .name("l1-p3")
                .size(1)
                .timeout(LIMIT)
                .build();
            let submitted = Instant::now();
            let nap = |d: Duration| async move {
                sleep(d).await;
                d
            };
            let a = pool.create_task(nap(FITS));
            let b = pool.create_task(nap(FITS));
            let c = pool.create_task(nap(FITS));
            let slow = pool.create_task(nap(TOO_LONG));
            let after = pool.create_task(nap(FITS));
            assert_eq!(a.await, Ok(FITS));
            assert_eq!(b.await, Ok(FITS));
            assert_eq!(c.await, Ok(FITS), "buffer time counted against the timeout");
            assert!(submitted.elapsed() >= 3 * FITS);
            let slow_start = Instant::now();
            assert_eq!(slow.await, Err(TaskError::TimedOut));
            let cut = slow_start.elapsed();
            assert!(cut < LIMIT + SLACK, "cut after {cut:?}");
            assert_eq!(after.await, Ok(FITS), "the next task is unaffected");
            pool.stop().await;
        });
    });
}

// === P5 ===

#[test]
fn l1_p5_stop_completes_every_task_buffered_and_spawned_ones_included() {
    within(Duration::from_secs(30), || {
        block_on(async {
            let pool = TaskPool::builder().name("l1-p5").size(2).build();
            let done = Arc::new(AtomicUsize::new(0));
            let task = |i: usize| {
                let done = done.clone();
                async move {
                    sleep(Duration::from_millis(10)).await;
                    done.fetch_add(1, Ordering::SeqCst);
                    i
                }
            };
            let mut handles: Vec<_> = (0..6).map(|i| pool.create_task(task(i))).collect();
            // Sent from another thread before stop (the thread is joined).
            let spawner = pool.spawner();
            let remote: Vec<_> = (6..10).map(task).collect();
            let remote = std::thread::spawn(move || {
                remote
                    .into_iter()
                    .map(|f| spawner.create_task(f).unwrap())
                    .collect::<Vec<_>>()
            })
            .join()
            .unwrap();
            handles.extend(remote);
            pool.stop().await;
            assert_eq!(done.load(Ordering::SeqCst), 10, "stop returned early");
            assert!(
                handles.iter().all(TaskHandle::is_finished),
                "a handle was unresolved when stop returned"
            );
            for (i, h) in handles.into_iter().enumerate() {
                assert_eq!(h.await, Ok(i));
            }
        });
    });
}

#[test]
fn l1_p5_dropping_the_pool_lets_every_task_finish() {
    within(Duration::from_secs(30), || {
        block_on(async {
            let pool = TaskPool::builder().size(1).build();
            let handles: Vec<_> = (0..4)
                .map(|i| {
                    pool.create_task(async move {
                        sleep(Duration::from_millis(5)).await;
                        i
                    })
                })
                .collect();
            drop(pool);
            for (i, h) in handles.into_iter().enumerate() {
                assert_eq!(h.await, Ok(i), "a buffered task of a dropped pool");
            }
        });
    });
}

// === P6 ===

#[test]
fn l1_p6_err_output_panics_and_unhandled_failures() {
    within(Duration::from_secs(30), || {
        let unhandled = Unhandled::default();
        block_on(async {
            let pool = TaskPool::builder()
                .name("l1-p6")
                .timeout(Duration::from_millis(30))
                .on_unhandled(unhandled.hook())
                .build();
            assert_eq!(
                pool.run(async { Err::<u8, String>("mine".into()) }).await,
                Ok(Err("mine".to_owned()))
            );
            assert_eq!(
                pool.create_task(async { panic!("local boom") }).await,
                Err::<(), _>(TaskError::Panicked("local boom".into()))
            );
            assert_eq!(pool.run(async { 1 }).await, Ok(1), "keeps serving");

            let gate = Gate::default();
            // Dropped before the failure: panic and timeout.
            let g = gate.wait();
            pool.create_task(async move {
                g.await;
                panic!("before")
            })
            .detach();
            pool.create_task(std::future::pending::<()>()).detach();
            // Dropped after the failure.
            let g = gate.wait();
            let after = pool.create_task(async move {
                g.await;
                panic!("after")
            });
            let timed_out = pool.create_task(std::future::pending::<()>());
            // Cancelled: never reported.
            let cancelled = pool.create_task(std::future::pending::<()>());
            cancelled.cancel();
            gate.open();
            eventually("failures landed", || {
                after.is_finished() && timed_out.is_finished() && cancelled.is_finished()
            })
            .await;
            drop((after, timed_out, cancelled));
            pool.stop().await;
        });
        let mut seen = unhandled.take();
        seen.sort_by_key(|e| e.to_string());
        let mut expected = vec![
            TaskError::Panicked("before".into()),
            TaskError::Panicked("after".into()),
            TaskError::TimedOut,
            TaskError::TimedOut,
        ];
        expected.sort_by_key(|e| e.to_string());
        assert_eq!(seen, expected);
    });
}

// === P7 ===

#[test]
fn l1_p7_cancelled_before_start_is_never_polled() {
    within(Duration::from_secs(30), || {
        block_on(async {
            let pool = TaskPool::builder().size(1).build();
            let gate = Gate::default();
            let holder = pool.create_task(gate.wait());
            let polls = Arc::new(AtomicUsize::new(0));
            let buffered = pool.create_task(counting(&polls, async { 2 }));
            let next = pool.create_task(async { 3 });
            yield_now().await;
            cancel_from_another_thread(&buffered);
            assert_eq!(buffered.await, Err(TaskError::Cancelled));
            gate.open();
            assert_eq!(holder.await, Ok(()));
            assert_eq!(next.await, Ok(3));
            // Cancelled before the executor ever ran it.
            let never = pool.create_task(counting(&polls, async { 4 }));
            never.cancel();
            assert_eq!(never.await, Err(TaskError::Cancelled));
            pool.stop().await;
            assert_eq!(polls.load(Ordering::SeqCst), 0);
        });
    });
}

#[test]
fn l1_p7_cancelled_while_running_is_dropped_on_the_executor_thread() {
    within(Duration::from_secs(30), || {
        let (drop_tx, drop_rx) = mpsc::channel();
        let executor_thread = std::thread::current().id();
        block_on(async {
            let pool = TaskPool::builder().build();
            let started = Arc::new(AtomicBool::new(false));
            let resumed = Arc::new(AtomicBool::new(false));
            let h = {
                let (started, resumed) = (started.clone(), resumed.clone());
                pool.create_task(async move {
                    let _probe = DropProbe(drop_tx);
                    started.store(true, Ordering::SeqCst);
                    sleep(Duration::from_secs(3600)).await;
                    resumed.store(true, Ordering::SeqCst);
                })
            };
            settle("the task started", || started.load(Ordering::SeqCst)).await;
            cancel_from_another_thread(&h);
            assert_eq!(h.await, Err(TaskError::Cancelled));
            assert!(!resumed.load(Ordering::SeqCst));
            pool.stop().await;
        });
        let dropped_on = drop_rx.recv_timeout(LONG).expect("dropped");
        assert_eq!(dropped_on, executor_thread);
    });
}

// === Spawner ===

#[test]
fn l1_spawner_is_send_sync_clone() {
    fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync_clone::<TaskPoolSpawner>();
}

#[test]
fn l1_spawner_creates_tasks_from_other_threads() {
    within(Duration::from_secs(30), || {
        block_on(async {
            let pool = TaskPool::builder().name("l1-spawn").size(3).build();
            let spawner = pool.spawner();
            let on_executor = std::thread::current().id();
            let threads: Vec<_> = (0..4)
                .map(|t| {
                    let spawner = spawner.clone();
                    std::thread::spawn(move || {
                        (0..50)
                            .map(|i| {
                                spawner
                                    .create_task(async move {
                                        sleep(Duration::from_millis(1)).await;
                                        (t * 100 + i, std::thread::current().id())
                                    })
                                    .unwrap()
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let handles: Vec<_> = threads
                .into_iter()
                .flat_map(|t| t.join().unwrap())
                .collect();
            let mut ids = Vec::new();
            for h in handles {
                let (id, ran_on) = h.await.unwrap();
                assert_eq!(
                    ran_on, on_executor,
                    "spawned tasks run on the pool's executor"
                );
                ids.push(id);
            }
            ids.sort_unstable();
            let expected: Vec<_> = (0..4)
                .flat_map(|t| (0..50).map(move |i| t * 100 + i))
                .collect();
            assert_eq!(ids, expected);
            pool.stop().await;
        });
    });
}

#[test]
fn l1_spawner_handle_waited_on_by_another_thread_while_the_executor_runs() {
    within(Duration::from_secs(30), || {
        block_on(async {
            let pool = TaskPool::builder().build();
            let spawner = pool.spawner();
            let done = Gate::default();
            let waiter = {
                let done = done.clone();
                std::thread::spawn(move || {
                    let mut h = spawner
                        .create_task(async {
                            sleep(Duration::from_millis(10)).await;
                            11
                        })
                        .unwrap();
                    let out = h.wait_timeout(LONG);
                    done.open();
                    out
                })
            };
            done.wait().await;
            assert_eq!(waiter.join().unwrap(), Some(Ok(11)));
            pool.stop().await;
        });
    });
}

#[test]
fn l1_not_running_after_stop_and_after_drop() {
    within(Duration::from_secs(30), || {
        block_on(async {
            let not_running = TaskError::NotRunning {
                pool: "l1-stopped".into(),
            };
            let pool = TaskPool::builder().name("l1-stopped").build();
            let spawner = pool.spawner();
            assert_eq!(spawner.create_task(async { 1 }).unwrap().await, Ok(1));
            pool.stop().await;
            let from_thread = {
                let spawner = spawner.clone();
                std::thread::spawn(move || spawner.create_task(async { 2 }).err())
                    .join()
                    .unwrap()
            };
            assert_eq!(from_thread, Some(not_running.clone()));
            assert_eq!(
                spawner.create_task(async { 3 }).err(),
                Some(not_running.clone())
            );
            assert_eq!(
                pool.create_task(async { 4 }).await,
                Err(not_running.clone())
            );
            assert_eq!(pool.run(async { 5 }).await, Err(not_running.clone()));
            assert!(not_running.to_string().contains("l1-stopped"));

            let pool = TaskPool::builder().name("l1-dropped").build();
            let spawner = pool.spawner();
            drop(pool);
            assert!(matches!(
                spawner.create_task(async {}),
                Err(TaskError::NotRunning { pool }) if pool == "l1-dropped"
            ));
        });
    });
}

#[test]
fn l1_blocking_wait_on_the_executor_thread_is_would_deadlock() {
    within(Duration::from_secs(30), || {
        block_on(async {
            let pool = TaskPool::builder().name("l1-self").build();
            let h = pool.create_task(async { 1 });
            assert_eq!(
                h.wait(),
                Err(TaskError::WouldDeadlock {
                    pool: "l1-self".into()
                })
            );
            pool.stop().await;
        });
    });
}

#[test]
fn l1_spawned_tasks_run_while_another_thread_keeps_submitting() {
    within(Duration::from_secs(60), || {
        block_on(async {
            let pool = TaskPool::builder().name("l1-flood").build();
            let spawner = pool.spawner();
            let done = Arc::new(AtomicUsize::new(0));
            let finished = Gate::default();
            let (backlog_tx, backlog_rx) = mpsc::channel();
            let flooder = {
                let (done, finished) = (done.clone(), finished.clone());
                std::thread::spawn(move || {
                    let start = Instant::now();
                    let mut sent = 0usize;
                    let mut backlog_tx = Some(backlog_tx);
                    while done.load(Ordering::SeqCst) == 0
                        && sent < 400_000
                        && start.elapsed() < Duration::from_secs(3)
                    {
                        let done = done.clone();
                        spawner
                            .create_task(async move {
                                done.fetch_add(1, Ordering::SeqCst);
                            })
                            .unwrap()
                            .detach();
                        sent += 1;
                        if sent == 20_000 {
                            backlog_tx.take().unwrap().send(()).unwrap();
                        }
                    }
                    let ran = done.load(Ordering::SeqCst);
                    finished.open();
                    (sent, ran, start.elapsed())
                })
            };
            // Hold the executor until a backlog built up: from here on the
            // dispatcher always finds a job waiting.
            let _ = backlog_rx.recv_timeout(LONG);
            finished.wait().await;
            let (sent, ran, took) = flooder.join().unwrap();
            pool.stop().await;
            assert!(
                ran > 0,
                "no task ran while {sent} tasks were sent back to back over {took:?}"
            );
        });
    });
}

#[test]
fn l1_task_pool_inside_a_threaded_pool_task() {
    within(Duration::from_secs(30), || {
        let outer = concurrent_tasks::BlockingThreadedTaskPool::builder()
            .name("l1-outer")
            .start()
            .unwrap();
        let (tracker, gate) = (Tracker::default(), Gate::default());
        let mut h = {
            let (tracker, gate) = (tracker.clone(), gate.clone());
            outer
                .create_task_with(move |_: &()| async move {
                    let pool = TaskPool::builder().name("l1-inner").size(2).build();
                    let start = Instant::now();
                    let naps: Vec<_> = (0..2).map(|_| pool.create_task(sleep(NAP))).collect();
                    for h in naps {
                        h.await.unwrap();
                    }
                    let took = start.elapsed();
                    let handles: Vec<_> = (0..6)
                        .map(|i| pool.create_task(tracker.task_yielding(i, &gate)))
                        .collect();
                    settle("2 running", || tracker.running() == 2).await;
                    gate.open();
                    let mut out = Vec::new();
                    for h in handles {
                        out.push(h.await.unwrap());
                    }
                    pool.stop().await;
                    (took, out)
                })
                .unwrap()
        };
        let (took, out) = h
            .wait_timeout(LONG)
            .expect("the outer task finished")
            .unwrap();
        assert!(took < 2 * NAP - Duration::from_millis(10), "{took:?}");
        assert_eq!(out, (0..6).collect::<Vec<_>>());
        assert_eq!(tracker.max(), 2);
        assert_eq!(tracker.order(), (0..6).collect::<Vec<_>>());
        outer.stop().unwrap();
    });
}
