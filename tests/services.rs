//! S1–S5: services on a pool (`start_on`, `spawn_service`), the order and
//! bounds of a pool's stop, timers made on plain threads, restartable
//! drivers whose pool stops, and background / periodic tasks shared across
//! threads.

mod common;

use common::{wait, wait_until, within, Gate, Unhandled, LONG};
use concurrent_tasks::{
    block_on, interval, sleep, timeout, AsyncThreadedTaskPool, BackgroundTask,
    BlockingThreadedTaskPool, OnTimePeriodicTask, PeriodicTask, RestartableTask, Spawn, TaskError,
    TaskHandle, TaskPool,
};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::time::{Duration, Instant, SystemTime};

const MS: Duration = Duration::from_millis(1);

fn count(n: &AtomicUsize) -> usize {
    n.load(Ordering::SeqCst)
}

/// A heartbeat every `every`, counting its beats.
fn heartbeat(
    every: Duration,
    beats: &Arc<AtomicUsize>,
) -> PeriodicTask<impl FnMut() -> std::future::Ready<()> + Send + 'static> {
    let beats = beats.clone();
    PeriodicTask::new(every, move || {
        beats.fetch_add(1, Ordering::SeqCst);
        std::future::ready(())
    })
}

/// Waits, inside an executor, until `cond` holds; fails after 10 s.
async fn until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + LONG;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        sleep(2 * MS).await;
    }
}

/// Waits, inside an executor (which keeps running), for a thread's result.
async fn join_thread<T>(thread: std::thread::JoinHandle<T>) -> T {
    until("the helper thread", || thread.is_finished()).await;
    thread
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Pushes its label into a shared log when dropped.
struct Logs(Arc<Mutex<Vec<&'static str>>>, &'static str);

impl Drop for Logs {
    fn drop(&mut self) {
        self.0.lock().unwrap().push(self.1);
    }
}

/// Records the name of the thread it is dropped on.
struct DroppedOn(Arc<Mutex<Option<Option<String>>>>);

impl Drop for DroppedOn {
    fn drop(&mut self) {
        *self.0.lock().unwrap() = Some(std::thread::current().name().map(String::from));
    }
}

/// Counts its drops.
struct CountDrop(Arc<AtomicUsize>);

impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

// === S1: services run outside the size limit, the timeout and the capacity ===

#[test]
fn s1_a_heartbeat_on_a_threaded_pool_outlives_the_timeout_and_holds_no_place() {
    within(LONG, || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("s1-heartbeat")
            .size(1)
            .timeout(100 * MS)
            .start()
            .unwrap();
        let beats = Arc::new(AtomicUsize::new(0));
        let task = heartbeat(20 * MS, &beats);
        let handle = task.start_on(&pool).unwrap();
        wait_until("10 beats (200 ms, past the 100 ms timeout)", || {
            count(&beats) >= 10
        });
        assert!(task.is_running(), "the pool's timeout does not end it");
        assert!(!handle.is_finished(), "not TimedOut");
        assert_eq!(pool.stats().services, 1);
        assert_eq!(pool.stats().running, 0, "a service is not a task");
        // The one place of a size(1) pool is free.
        assert_eq!(wait(pool.create_task(async { 1 }).unwrap()), Ok(1));
        assert_eq!(pool.run(async { 2 }), Ok(2));
        assert!(task.is_running());
        pool.stop().unwrap();
        assert_eq!(wait(handle), Err(TaskError::Cancelled));
        assert!(!task.is_running());
    });
}

#[test]
fn s1_a_heartbeat_on_a_local_pool_and_its_spawner_outlives_the_timeout_and_holds_no_place() {
    within(LONG, || {
        block_on(async {
            let pool = TaskPool::builder()
                .name("s1-local")
                .size(1)
                .timeout(100 * MS)
                .build();
            let beats = Arc::new(AtomicUsize::new(0));
            let task = heartbeat(20 * MS, &beats);
            let handle = task.start_on(&pool).unwrap();
            until("10 beats", || count(&beats) >= 10).await;
            assert!(task.is_running());
            assert!(!handle.is_finished(), "not TimedOut");
            assert_eq!(pool.stats().services, 1);
            assert_eq!(pool.run(async { 1 }).await, Ok(1), "the one place is free");

            // The same from another thread, through the spawner.
            let spawner = pool.spawner();
            let other = std::thread::spawn(move || {
                let beats = Arc::new(AtomicUsize::new(0));
                let task = heartbeat(20 * MS, &beats);
                let handle = task.start_on(&spawner).unwrap();
                wait_until("10 beats through the spawner", || count(&beats) >= 10);
                assert!(task.is_running());
                assert!(!handle.is_finished(), "not TimedOut");
                assert_eq!(spawner.stats().services, 2);
                let h = spawner.spawn_task(async { 3 }).unwrap();
                let r = wait(h);
                (task, handle, r)
            });
            let (task2, handle2, r) = join_thread(other).await;
            assert_eq!(r, Ok(3), "the one place is free");
            pool.stop().await;
            assert_eq!(handle.await, Err(TaskError::Cancelled));
            assert_eq!(handle2.await, Err(TaskError::Cancelled));
            assert!(!task.is_running() && !task2.is_running());
        });
    });
}

#[test]
fn s1_a_restartable_driver_on_a_timed_pool_is_not_timed_out() {
    within(LONG, || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("s1-restartable")
            .timeout(100 * MS)
            .start()
            .unwrap();
        let dropped = Arc::new(AtomicUsize::new(0));
        let d = dropped.clone();
        let task = RestartableTask::<u32>::new(move || {
            let guard = CountDrop(d.clone());
            async move {
                let _guard = guard;
                std::future::pending::<()>().await
            }
        });
        assert_eq!(task.start_on(&pool), Ok(true));
        assert_eq!(
            task.wait_timeout(300 * MS),
            None,
            "still waiting after 300 ms"
        );
        assert_eq!(pool.stats().services, 1, "the driver is alive");
        assert_eq!(count(&dropped), 0, "the attempt was not cut off");
        assert!(task.set_result(7));
        assert_eq!(task.wait_timeout(LONG), Some(Ok(7)));
        wait_until("the driver to end", || pool.stats().services == 0);
        assert_eq!(count(&dropped), 1);
        pool.stop().unwrap();
    });
}

#[test]
fn s1_an_unjoined_panicking_background_task_on_a_pool_reaches_on_unhandled() {
    within(LONG, || {
        let unhandled = Unhandled::default();
        let pool = BlockingThreadedTaskPool::builder()
            .size(1)
            .timeout(100 * MS)
            .on_unhandled(unhandled.hook())
            .start()
            .unwrap();
        let task = BackgroundTask::new(|| async { panic!("background boom") });
        drop(task.start_on(&pool).unwrap());
        wait_until("the attempt to panic", || !task.is_running());
        drop(task); // nobody can join it any more
        assert_eq!(
            unhandled.take(),
            vec![TaskError::Panicked("background boom".into())]
        );
        pool.stop().unwrap();
        assert_eq!(unhandled.take(), vec![], "reported once");
    });
    // The same on a local pool.
    within(LONG, || {
        let unhandled = Unhandled::default();
        block_on(async {
            let pool = TaskPool::builder().on_unhandled(unhandled.hook()).build();
            let task = BackgroundTask::new(|| async { panic!("local boom") });
            drop(task.start_on(&pool).unwrap());
            until("the attempt to panic", || !task.is_running()).await;
            drop(task);
            pool.stop().await;
        });
        assert_eq!(
            unhandled.take(),
            vec![TaskError::Panicked("local boom".into())]
        );
    });
}

#[test]
fn s1_a_cancelled_service_is_uncounted_and_an_unread_service_panic_is_reported() {
    within(LONG, || {
        let unhandled = Unhandled::default();
        let pool = BlockingThreadedTaskPool::builder()
            .on_unhandled(unhandled.hook())
            .start()
            .unwrap();
        let service = pool.spawn_service(std::future::pending::<()>()).unwrap();
        let beats = Arc::new(AtomicUsize::new(0));
        let task = heartbeat(10 * MS, &beats);
        task.start_on(&pool).unwrap().detach();
        wait_until("two services", || pool.stats().services == 2);
        service.cancel();
        task.cancel();
        wait_until("no service", || pool.stats().services == 0);
        assert_eq!(wait(service), Err(TaskError::Cancelled));
        pool.spawn_service(async {
            sleep(5 * MS).await;
            panic!("service boom")
        })
        .unwrap()
        .detach();
        wait_until("the report", || {
            unhandled.take() == vec![TaskError::Panicked("service boom".into())]
        });
        pool.stop().unwrap();
        assert_eq!(unhandled.take(), vec![], "cancellations are not reported");
    });
    within(LONG, || {
        let unhandled = Unhandled::default();
        block_on(async {
            let pool = TaskPool::builder().on_unhandled(unhandled.hook()).build();
            let service = pool.spawn_service(std::future::pending::<()>()).unwrap();
            until("one service", || pool.stats().services == 1).await;
            service.cancel();
            until("no service", || pool.stats().services == 0).await;
            pool.spawn_service(async { panic!("local service boom") })
                .unwrap()
                .detach();
            // Let it run (a stop would cancel it before its first poll).
            until("the service to end", || pool.stats().services == 0).await;
            pool.stop().await;
        });
        assert_eq!(
            unhandled.take(),
            vec![TaskError::Panicked("local service boom".into())]
        );
    });
}

/// A pending task and a service outliving a 50 ms timeout, given to `on`.
fn task_and_service<S: Spawn>(on: &S) -> (TaskHandle<()>, TaskHandle<u32>) {
    let task = on.spawn_task(std::future::pending::<()>()).unwrap();
    let service = on
        .spawn_service(async {
            sleep(150 * MS).await;
            5
        })
        .unwrap();
    (task, service)
}

#[test]
fn s1_spawn_task_is_timed_and_spawn_service_is_not_on_a_threaded_pool() {
    within(LONG, || {
        let pool = BlockingThreadedTaskPool::builder()
            .timeout(50 * MS)
            .start()
            .unwrap();
        let (task, service) = task_and_service(&pool);
        assert_eq!(wait(task), Err(TaskError::TimedOut));
        assert_eq!(wait(service), Ok(5));
        wait_until("the service to be uncounted", || pool.stats().services == 0);
        pool.stop().unwrap();
    });
    within(LONG, || {
        block_on(async {
            let pool = AsyncThreadedTaskPool::builder()
                .timeout(50 * MS)
                .start()
                .await
                .unwrap();
            let (task, service) = task_and_service(&pool);
            assert_eq!(task.await, Err(TaskError::TimedOut));
            assert_eq!(service.await, Ok(5));
            pool.stop().await.unwrap();
        });
    });
}

#[test]
fn s1_spawn_task_is_timed_and_spawn_service_is_not_on_a_local_pool_and_its_spawner() {
    within(LONG, || {
        block_on(async {
            let pool = TaskPool::builder().timeout(50 * MS).build();
            let (task, service) = task_and_service(&pool);
            assert_eq!(task.await, Err(TaskError::TimedOut));
            assert_eq!(service.await, Ok(5));
            assert_eq!(pool.stats().services, 0, "the service ended");

            let spawner = pool.spawner();
            let other = std::thread::spawn(move || {
                let (task, service) = task_and_service(&spawner);
                (wait(task), wait(service))
            });
            assert_eq!(join_thread(other).await, (Err(TaskError::TimedOut), Ok(5)));
            pool.stop().await;
        });
    });
}

#[test]
fn s1_services_are_outside_a_full_pools_capacity() {
    within(LONG, || {
        let pool = BlockingThreadedTaskPool::builder()
            .size(1)
            .capacity(1)
            .start()
            .unwrap();
        let gate = Gate::default();
        let running = pool.create_task(gate.wait()).unwrap();
        wait_until("the first task to run", || pool.stats().running == 1);
        let buffered = pool.create_task(gate.wait()).unwrap();
        assert!(matches!(pool.create_task(async {}), Err(TaskError::Full)));
        // The pool is full and its one place is taken: services still run.
        assert_eq!(wait(pool.spawn_service(async { 4 }).unwrap()), Ok(4));
        let beats = Arc::new(AtomicUsize::new(0));
        let task = heartbeat(10 * MS, &beats);
        task.start_on(&pool).unwrap().detach();
        wait_until("3 beats on a full pool", || count(&beats) >= 3);
        gate.open();
        assert_eq!((wait(running), wait(buffered)), (Ok(()), Ok(())));
        pool.stop().unwrap();
    });
}

// === S2: stop drains tasks, cancels services and the rest, then on_stop ===

#[test]
fn s2_stop_finishes_tasks_then_drops_services_then_runs_on_stop() {
    within(LONG, || {
        let events = Arc::new(Mutex::new(Vec::new()));
        let on_stop_log = events.clone();
        let pool = BlockingThreadedTaskPool::builder()
            .on_stop(move |()| {
                let log = on_stop_log.clone();
                async move { log.lock().unwrap().push("on_stop") }
            })
            .start()
            .unwrap();
        let guard = Logs(events.clone(), "service dropped");
        let service = pool
            .spawn_service(async move {
                let _guard = guard;
                std::future::pending::<()>().await
            })
            .unwrap();
        let log = events.clone();
        let task = pool
            .create_task(async move {
                sleep(50 * MS).await;
                log.lock().unwrap().push("task done");
            })
            .unwrap();
        wait_until("the service to start", || pool.stats().services == 1);
        pool.stop().unwrap();
        assert_eq!(
            *events.lock().unwrap(),
            vec!["task done", "service dropped", "on_stop"]
        );
        assert_eq!(wait(task), Ok(()));
        assert_eq!(wait(service), Err(TaskError::Cancelled));
    });
}

#[test]
// The pool task hands back the handle of the task it spawned, on purpose.
#[allow(clippy::async_yields_async)]
fn s2_a_task_spawned_by_a_pool_task_is_cancelled_and_dropped_on_the_pool_thread() {
    within(LONG, || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("s2-spawned")
            .start()
            .unwrap();
        let dropped_on = Arc::new(Mutex::new(None));
        let guard = DroppedOn(dropped_on.clone());
        let inner = pool
            .run(async move {
                concurrent_tasks::spawn(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await
                })
            })
            .unwrap();
        let service_dropped_on = Arc::new(Mutex::new(None));
        let guard = DroppedOn(service_dropped_on.clone());
        let service = pool
            .spawn_service(async move {
                let _guard = guard;
                std::future::pending::<()>().await
            })
            .unwrap();
        assert!(!inner.is_finished(), "it never ends by itself");
        pool.stop().unwrap();
        assert_eq!(block_on(inner), Err(TaskError::Cancelled));
        assert_eq!(wait(service), Err(TaskError::Cancelled));
        let on_pool = Some(Some("s2-spawned".to_owned()));
        assert_eq!(*dropped_on.lock().unwrap(), on_pool, "task dropped there");
        assert_eq!(
            *service_dropped_on.lock().unwrap(),
            on_pool,
            "service dropped there"
        );
    });
}

#[test]
fn s2_stop_timeout_cancels_what_is_left_and_counts_it() {
    within(LONG, || {
        let pool = BlockingThreadedTaskPool::builder().start().unwrap();
        let stuck = pool.create_task(std::future::pending::<()>()).unwrap();
        let quick = pool.create_task(sleep(10 * MS)).unwrap();
        assert_eq!(pool.stop_timeout(50 * MS), Ok(1));
        assert_eq!(wait(quick), Ok(()));
        assert_eq!(wait(stuck), Err(TaskError::Cancelled));
        assert!(!pool.is_running());
    });
}

#[test]
fn s2_stop_timeout_counts_running_and_buffered_tasks_but_not_services() {
    within(LONG, || {
        let pool = BlockingThreadedTaskPool::builder().size(1).start().unwrap();
        let running = pool.create_task(std::future::pending::<()>()).unwrap();
        let buffered = pool.create_task(std::future::pending::<()>()).unwrap();
        let service = pool.spawn_service(std::future::pending::<()>()).unwrap();
        wait_until("the first task and the service to run", || {
            let stats = pool.stats();
            stats.running == 1 && stats.queued == 1 && stats.services == 1
        });
        assert_eq!(pool.stop_timeout(50 * MS), Ok(2));
        assert_eq!(wait(running), Err(TaskError::Cancelled));
        assert_eq!(wait(buffered), Err(TaskError::Cancelled));
        assert_eq!(wait(service), Err(TaskError::Cancelled));
    });
}

// s2_an_async_stop_timeout_under_tokio_returns_the_cancelled_count: in
// benches/peers/tests/services.rs (it needs tokio).

#[test]
fn s2_the_builders_stop_timeout_bounds_stop_and_drop() {
    let stopped = BlockingThreadedTaskPool::builder()
        .stop_timeout(50 * MS)
        .start()
        .unwrap();
    let stuck = stopped.create_task(std::future::pending::<()>()).unwrap();
    assert_eq!(within(LONG, move || stopped.stop()), Ok(()));
    assert_eq!(wait(stuck), Err(TaskError::Cancelled));

    let dropped = BlockingThreadedTaskPool::builder()
        .stop_timeout(50 * MS)
        .start()
        .unwrap();
    let stuck = dropped.create_task(std::future::pending::<()>()).unwrap();
    within(LONG, move || drop(dropped));
    assert_eq!(wait(stuck), Err(TaskError::Cancelled));
}

#[test]
fn s2_the_builders_stop_timeout_bounds_an_async_pools_stop_and_drop() {
    within(LONG, || {
        let pool = block_on(
            AsyncThreadedTaskPool::builder()
                .stop_timeout(50 * MS)
                .start(),
        )
        .unwrap();
        let stuck = pool.create_task(std::future::pending::<()>()).unwrap();
        assert_eq!(block_on(pool.stop()), Ok(()));
        assert_eq!(wait(stuck), Err(TaskError::Cancelled));

        let pool = block_on(
            AsyncThreadedTaskPool::builder()
                .stop_timeout(50 * MS)
                .start(),
        )
        .unwrap();
        let stuck = pool.create_task(std::future::pending::<()>()).unwrap();
        drop(pool); // never blocks; the pool thread keeps the bound
        assert_eq!(wait(stuck), Err(TaskError::Cancelled));
    });
}

#[test]
fn s2_concurrent_stops_one_ok_one_not_running_both_after_on_stop() {
    within(LONG, || {
        for _ in 0..3 {
            let torn_down = Arc::new(AtomicBool::new(false));
            let flag = torn_down.clone();
            let pool = Arc::new(
                BlockingThreadedTaskPool::builder()
                    .on_stop(move |()| {
                        let flag = flag.clone();
                        async move {
                            sleep(50 * MS).await;
                            flag.store(true, Ordering::SeqCst);
                        }
                    })
                    .start()
                    .unwrap(),
            );
            let barrier = Arc::new(Barrier::new(2));
            let stoppers: Vec<_> = (0..2)
                .map(|_| {
                    let (pool, barrier, flag) = (pool.clone(), barrier.clone(), torn_down.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        let outcome = pool.stop();
                        (outcome, flag.load(Ordering::SeqCst))
                    })
                })
                .collect();
            let outcomes: Vec<_> = stoppers.into_iter().map(|t| t.join().unwrap()).collect();
            for (outcome, on_stop_done) in &outcomes {
                assert!(on_stop_done, "{outcome:?} returned before on_stop ended");
            }
            let oks = outcomes.iter().filter(|(o, _)| o.is_ok()).count();
            let not_running = outcomes
                .iter()
                .filter(|(o, _)| matches!(o, Err(TaskError::NotRunning { .. })))
                .count();
            assert_eq!((oks, not_running), (1, 1), "{outcomes:?}");
        }
    });
}

#[test]
fn s2_dropping_an_async_stop_future_does_not_undo_the_stop() {
    within(LONG, || {
        let pool = block_on(AsyncThreadedTaskPool::builder().name("s2-drop").start()).unwrap();
        let gate = Gate::default();
        let held = pool.create_task(gate.wait()).unwrap();
        {
            let mut stop = Box::pin(pool.stop());
            let first = common::foreign_block_on(common::poll_once(stop.as_mut()));
            assert!(first.is_none(), "the stop waits for the held task");
        } // the stop future is dropped here
        assert!(
            matches!(
                pool.create_task(async {}),
                Err(TaskError::NotRunning { .. })
            ),
            "the pool takes no more tasks"
        );
        gate.open();
        assert_eq!(wait(held), Ok(()), "drained");
        wait_until("the pool to end", || !pool.is_running());
        assert_eq!(block_on(pool.start()), Ok(()), "it can start again");
        assert_eq!(block_on(pool.run(async { 2 })), Ok(2));
        assert_eq!(block_on(pool.stop()), Ok(()));
    });
}

#[test]
fn s2_the_context_is_dropped_after_the_services_and_a_quick_stop_timeout_returns_early() {
    within(LONG, || {
        let events = Arc::new(Mutex::new(Vec::new()));
        let ctx_log = events.clone();
        let pool = BlockingThreadedTaskPool::builder()
            .context(move || Ok::<_, String>(Logs(ctx_log.clone(), "context dropped")))
            .start()
            .unwrap();
        let guard = Logs(events.clone(), "service dropped");
        pool.spawn_service(async move {
            let _guard = guard;
            std::future::pending::<()>().await
        })
        .unwrap()
        .detach();
        let quick = pool.create_task(sleep(10 * MS)).unwrap();
        wait_until("the service to start", || pool.stats().services == 1);
        let stopping = Instant::now();
        assert_eq!(pool.stop_timeout(Duration::from_secs(5)), Ok(0));
        assert!(
            stopping.elapsed() < Duration::from_secs(2),
            "waited for the bound: {:?}",
            stopping.elapsed()
        );
        assert_eq!(wait(quick), Ok(()));
        assert_eq!(
            *events.lock().unwrap(),
            vec!["service dropped", "context dropped"]
        );
    });
}

#[test]
fn s2_concurrent_async_stops_one_ok_one_not_running_both_after_on_stop() {
    within(LONG, || {
        let torn_down = Arc::new(AtomicBool::new(false));
        let flag = torn_down.clone();
        let pool = Arc::new(
            block_on(
                AsyncThreadedTaskPool::builder()
                    .on_stop(move |()| {
                        let flag = flag.clone();
                        async move {
                            sleep(50 * MS).await;
                            flag.store(true, Ordering::SeqCst);
                        }
                    })
                    .start(),
            )
            .unwrap(),
        );
        let barrier = Arc::new(Barrier::new(2));
        let stoppers: Vec<_> = (0..2)
            .map(|_| {
                let (pool, barrier, flag) = (pool.clone(), barrier.clone(), torn_down.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let outcome = block_on(pool.stop());
                    (outcome, flag.load(Ordering::SeqCst))
                })
            })
            .collect();
        let outcomes: Vec<_> = stoppers.into_iter().map(|t| t.join().unwrap()).collect();
        assert!(outcomes.iter().all(|(_, done)| *done), "{outcomes:?}");
        let oks = outcomes.iter().filter(|(o, _)| o.is_ok()).count();
        assert_eq!(oks, 1, "{outcomes:?}");
        assert!(
            outcomes
                .iter()
                .any(|(o, _)| matches!(o, Err(TaskError::NotRunning { .. }))),
            "{outcomes:?}"
        );
    });
}

#[test]
fn s2_a_dropped_async_stop_timeout_still_cancels_at_its_deadline() {
    within(LONG, || {
        let pool = block_on(AsyncThreadedTaskPool::builder().start()).unwrap();
        let stuck = pool.create_task(std::future::pending::<()>()).unwrap();
        {
            let mut stop = Box::pin(pool.stop_timeout(50 * MS));
            let first = common::foreign_block_on(common::poll_once(stop.as_mut()));
            assert!(first.is_none(), "the stop waits for the stuck task");
        } // dropped: the deadline is kept on the pool thread
        assert_eq!(wait(stuck), Err(TaskError::Cancelled));
        assert_eq!(block_on(pool.start()), Ok(()), "the pool ended");
        assert_eq!(block_on(pool.stop()), Ok(()));
    });
}

// === S3: timers made on any thread ===

#[test]
fn s3_a_sleep_made_on_a_plain_thread_runs_on_the_pool() {
    within(LONG, || {
        let pool = BlockingThreadedTaskPool::builder().start().unwrap();
        let start = Instant::now();
        assert_eq!(pool.run(sleep(20 * MS)), Ok(()));
        assert!(start.elapsed() >= 20 * MS, "{:?}", start.elapsed());
        let start = Instant::now();
        assert_eq!(pool.create_task(sleep(20 * MS)).unwrap().wait(), Ok(()));
        assert!(start.elapsed() >= 20 * MS, "{:?}", start.elapsed());
        pool.stop().unwrap();
    });
}

#[test]
fn s3_a_timeout_made_on_a_plain_thread_runs_on_the_pool() {
    within(LONG, || {
        let pool = BlockingThreadedTaskPool::builder().start().unwrap();
        assert_eq!(
            pool.run(timeout(20 * MS, std::future::pending::<()>())),
            Ok(Err(TaskError::TimedOut))
        );
        assert_eq!(
            pool.run(timeout(Duration::from_secs(5), async { 3 })),
            Ok(Ok(3))
        );
        pool.stop().unwrap();
    });
}

#[test]
fn s3_sleep_until_and_timeout_at_made_on_a_plain_thread_run_on_the_pool() {
    within(LONG, || {
        let pool = BlockingThreadedTaskPool::builder().start().unwrap();
        let at = Instant::now() + 20 * MS;
        assert_eq!(pool.run(concurrent_tasks::sleep_until(at)), Ok(()));
        assert!(Instant::now() >= at);
        let at = Instant::now() + 20 * MS;
        assert_eq!(
            pool.run(concurrent_tasks::timeout_at(
                at,
                std::future::pending::<()>()
            )),
            Ok(Err(TaskError::TimedOut))
        );
        assert!(Instant::now() >= at);
        pool.stop().unwrap();
    });
}

#[test]
fn s3_an_interval_made_on_the_main_thread_ticks_on_the_pool() {
    within(LONG, || {
        let pool = BlockingThreadedTaskPool::builder().start().unwrap();
        let mut ticks = interval(20 * MS);
        let start = Instant::now();
        let gaps = pool
            .run(async move {
                let a = ticks.tick().await;
                let b = ticks.tick().await;
                let c = ticks.tick().await;
                (b - a, c - b)
            })
            .unwrap();
        assert!(gaps.0 >= 20 * MS && gaps.1 >= 20 * MS, "{gaps:?}");
        assert!(start.elapsed() >= 40 * MS, "{:?}", start.elapsed());
        pool.stop().unwrap();
    });
}

#[test]
fn s3_a_timeout_polled_outside_every_executor_panics_naming_timeout() {
    let outcome = std::panic::catch_unwind(|| {
        common::foreign_block_on(timeout(20 * MS, std::future::pending::<()>()))
    });
    let payload = outcome.expect_err("it panics");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .expect("a text message");
    assert!(
        message.contains("concurrent_tasks::timeout"),
        "names timeout: {message}"
    );
    assert!(
        !message.contains("concurrent_tasks::sleep"),
        "not sleep: {message}"
    );
}

#[test]
fn s3_try_sleep_outside_an_executor_is_no_executor() {
    assert!(matches!(
        concurrent_tasks::time::try_sleep(MS),
        Err(TaskError::NoExecutor)
    ));
}

// === S4: a restartable task whose driver's pool stops ===

/// A restartable task whose attempts never end, counting `f`'s calls,
/// recording the thread each attempt runs on and counting the attempts'
/// drops.
struct Tracked {
    task: RestartableTask<u32>,
    calls: Arc<AtomicUsize>,
    ran_on: Arc<Mutex<Vec<Option<String>>>>,
    dropped: Arc<AtomicUsize>,
}

fn tracked() -> Tracked {
    let calls = Arc::new(AtomicUsize::new(0));
    let ran_on = Arc::new(Mutex::new(Vec::new()));
    let dropped = Arc::new(AtomicUsize::new(0));
    let (c, r, d) = (calls.clone(), ran_on.clone(), dropped.clone());
    let task = RestartableTask::new(move || {
        c.fetch_add(1, Ordering::SeqCst);
        let (ran_on, guard) = (r.clone(), CountDrop(d.clone()));
        async move {
            let _guard = guard;
            ran_on
                .lock()
                .unwrap()
                .push(std::thread::current().name().map(String::from));
            std::future::pending::<()>().await
        }
    });
    Tracked {
        task,
        calls,
        ran_on,
        dropped,
    }
}

#[test]
fn s4_a_pool_stop_cancels_the_attempt_and_start_returns_false_until_the_pool_runs_again() {
    within(LONG, || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("s4-pool")
            .start()
            .unwrap();
        let t = tracked();
        assert_eq!(t.task.start_on(&pool), Ok(true));
        wait_until("the attempt to run", || t.ran_on.lock().unwrap().len() == 1);
        pool.stop().unwrap();
        assert_eq!(count(&t.dropped), 1, "the running attempt was dropped");
        assert_eq!(
            t.task.wait_timeout(100 * MS),
            None,
            "cancelled, not an outcome"
        );
        assert!(!t.task.is_finished());

        assert!(!t.task.start(), "no driver, no pool, no executor: false");
        assert!(matches!(
            t.task.try_start(),
            Err(TaskError::NotRunning { .. })
        ));
        assert_eq!(count(&t.calls), 1, "f was not called");

        pool.start().unwrap();
        assert!(t.task.start(), "a new driver on the same pool");
        assert_eq!(count(&t.calls), 2);
        wait_until("the new attempt to run", || {
            t.ran_on.lock().unwrap().len() == 2
        });
        assert_eq!(
            *t.ran_on.lock().unwrap(),
            vec![Some("s4-pool".to_owned()), Some("s4-pool".to_owned())],
            "both attempts ran on the pool"
        );
        assert!(t.task.set_result(9));
        assert_eq!(t.task.wait_timeout(LONG), Some(Ok(9)));
        pool.stop().unwrap();
    });
}

#[test]
fn s4_set_result_works_from_any_thread_after_the_driver_went_away() {
    within(LONG, || {
        let pool = BlockingThreadedTaskPool::builder().start().unwrap();
        let t = tracked();
        assert_eq!(t.task.start_on(&pool), Ok(true));
        wait_until("the attempt to run", || t.ran_on.lock().unwrap().len() == 1);
        pool.stop().unwrap();
        let reader = t.task.clone();
        let completed = std::thread::spawn(move || reader.set_result(11))
            .join()
            .unwrap();
        assert!(completed, "no driver is needed to complete it");
        assert_eq!(t.task.wait_timeout(LONG), Some(Ok(11)));
        assert_eq!(t.task.wait(), Ok(11));
    });
}

#[test]
fn s4_a_cancelled_attempt_has_no_timeout_running_after_its_pool_stopped() {
    within(LONG, || {
        let pool = BlockingThreadedTaskPool::builder().start().unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let task = RestartableTask::<u32>::new(move || {
            c.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<()>()
        })
        .timeout(100 * MS);
        assert_eq!(task.start_on(&pool), Ok(true));
        pool.stop().unwrap();
        assert_eq!(
            task.wait_timeout(200 * MS),
            None,
            "no TimedOut while cancelled, past the 100 ms limit"
        );
        pool.start().unwrap();
        assert!(task.start());
        assert_eq!(count(&calls), 2);
        assert_eq!(
            task.wait_timeout(LONG),
            Some(Err(TaskError::TimedOut)),
            "the new attempt is timed again"
        );
        pool.stop().unwrap();
    });
}

#[test]
fn s4_after_a_local_pools_executor_ended_start_uses_the_current_executor_or_returns_false() {
    within(LONG, || {
        let t = tracked();
        block_on(async {
            let pool = TaskPool::builder().build();
            assert_eq!(t.task.start_on(&pool), Ok(true));
            until("the attempt to run", || t.ran_on.lock().unwrap().len() == 1).await;
        }); // the executor, its pool and the driver are gone
        assert_eq!(count(&t.dropped), 1, "the running attempt was dropped");
        assert_eq!(t.task.wait_timeout(50 * MS), None, "awaiters keep waiting");
        assert!(!t.task.start(), "nowhere to start: false, no panic");
        assert!(matches!(
            t.task.try_start(),
            Err(TaskError::NotRunning { .. } | TaskError::NoExecutor)
        ));
        assert_eq!(count(&t.calls), 1);
        let began = block_on(async {
            let began = t.task.start(); // a driver on this executor
            until("the new attempt to run", || {
                t.ran_on.lock().unwrap().len() == 2
            })
            .await;
            assert!(t.task.set_result(3));
            began
        });
        assert!(began);
        assert_eq!(count(&t.calls), 2);
        assert_eq!(t.task.wait_timeout(LONG), Some(Ok(3)));
    });
}

// === S5: &self methods, Send + Sync, Panicked ends the schedule ===

#[test]
fn s5_a_shared_periodic_task_is_cancelled_and_joined_from_other_threads() {
    within(LONG, || {
        let pool = BlockingThreadedTaskPool::builder().start().unwrap();
        let beats = Arc::new(AtomicUsize::new(0));
        let task = Arc::new(heartbeat(20 * MS, &beats));
        task.start_on(&pool).unwrap().detach();
        wait_until("a beat", || count(&beats) >= 1);
        let (joining, joined) = mpsc::channel();
        let joiner = {
            let task = task.clone();
            std::thread::spawn(move || {
                let _ = joining.send(());
                block_on(task.join())
            })
        };
        joined.recv_timeout(LONG).unwrap();
        let canceller = {
            let task = task.clone();
            std::thread::spawn(move || task.cancel())
        };
        canceller.join().unwrap();
        assert_eq!(joiner.join().unwrap(), Some(Err(TaskError::Cancelled)));
        wait_until("the schedule to end", || !task.is_running());
        pool.stop().unwrap();
    });
}

fn assert_send_sync<T: Send + Sync>(_: &T) {}

#[test]
fn s5_background_periodic_and_on_time_tasks_are_send_and_sync_with_a_send_factory() {
    // Each closure owns a `Cell`: `Send`, but not `Sync`.
    let calls = Cell::new(0u32);
    let background: BackgroundTask<u32, _> = BackgroundTask::new(move || {
        calls.set(calls.get() + 1);
        let n = calls.get();
        async move { n }
    });
    let ticks = Cell::new(0u32);
    let periodic = PeriodicTask::new(Duration::from_secs(1), move || {
        ticks.set(ticks.get() + 1);
        async {}
    });
    let runs = Cell::new(0u32);
    let on_time = OnTimePeriodicTask::new(
        move || {
            runs.set(runs.get() + 1);
            async {}
        },
        SystemTime::now(),
    );
    assert_send_sync(&background);
    assert_send_sync(&periodic);
    assert_send_sync(&on_time);
    // And they work from another thread, by reference.
    within(LONG, move || {
        let pool = BlockingThreadedTaskPool::builder().start().unwrap();
        std::thread::scope(|s| {
            s.spawn(|| {
                assert_eq!(wait(background.start_on(&pool).unwrap()), Ok(1));
                periodic.start_on(&pool).unwrap().detach();
                periodic.cancel();
                assert_eq!(block_on(periodic.join()), Some(Err(TaskError::Cancelled)));
                assert!(!on_time.is_running());
            });
        });
        pool.stop().unwrap();
    });
}

#[test]
fn s5_a_panicking_schedule_rule_ends_an_on_time_task_with_panicked() {
    within(LONG, || {
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let task = OnTimePeriodicTask::new(
            move || {
                r.fetch_add(1, Ordering::SeqCst);
                async {}
            },
            SystemTime::now() + 10 * MS,
        )
        .schedule(|_| panic!("rule broke"));
        let outcome = block_on(async {
            task.start().detach();
            task.join().await
        });
        assert_eq!(outcome, Some(Err(TaskError::Panicked("rule broke".into()))));
        assert_eq!(count(&runs), 1, "the run at `at`, then the rule panicked");
        assert!(!task.is_running());
    });
}

#[test]
fn s5_a_periodic_task_whose_f_panics_ends_with_panicked() {
    within(LONG, || {
        let pool = BlockingThreadedTaskPool::builder().start().unwrap();
        let task = PeriodicTask::new(10 * MS, || async { panic!("sensor gone") });
        task.start_on(&pool).unwrap().detach();
        assert_eq!(
            block_on(task.join()),
            Some(Err(TaskError::Panicked("sensor gone".into())))
        );
        assert!(!task.is_running());
        pool.stop().unwrap();
    });
}

#[test]
fn s5_a_periodic_task_whose_f_panics_unjoined_on_a_pool_reaches_on_unhandled() {
    within(LONG, || {
        let unhandled = Unhandled::default();
        let pool = BlockingThreadedTaskPool::builder()
            .on_unhandled(unhandled.hook())
            .start()
            .unwrap();
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let task = PeriodicTask::new(10 * MS, move || {
            let n = r.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                if n == 3 {
                    panic!("third beat failed");
                }
            }
        });
        task.start_on(&pool).unwrap().detach();
        wait_until("the schedule to end", || !task.is_running());
        drop(task); // nobody joins it
        assert_eq!(
            unhandled.take(),
            vec![TaskError::Panicked("third beat failed".into())]
        );
        assert_eq!(count(&runs), 3, "the schedule ended at the panic");
        pool.stop().unwrap();
    });
}
