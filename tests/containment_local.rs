//! Containment (K1, K3–K6) on the executor (`block_on`, `spawn`,
//! `LocalExecutor`), the local `TaskPool` and the task primitives: user code
//! that panics in a destructor, a hook, a factory or a `Clone` neither
//! unwinds an executor nor leaves a caller hanging; handles resolve whatever
//! is dropped first; no schedule starves its executor; waiting on yourself
//! returns; timers outlive their executor.

mod common;

use common::poll_once;
use common::{within, Gate, Unhandled, LONG};
use concurrent_tasks::time::MissedTickBehavior;
use concurrent_tasks::{
    block_on, sleep, spawn, timeout, yield_now, AsyncDebouncer, Debouncer, LocalExecutor,
    OnTimePeriodicTask, PeriodicTask, RestartableTask, TaskError, TaskPool,
};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

/// A future that is ready with its output at its first poll (or pending
/// forever, without one) and panics when it is dropped, after noting the
/// drop in `dropped`.
struct PanicsOnDrop<T> {
    output: Option<T>,
    dropped: Arc<AtomicBool>,
}

impl<T> PanicsOnDrop<T> {
    fn ready(output: T) -> (Self, Arc<AtomicBool>) {
        let dropped = Arc::new(AtomicBool::new(false));
        let future = PanicsOnDrop {
            output: Some(output),
            dropped: dropped.clone(),
        };
        (future, dropped)
    }

    fn pending() -> (Self, Arc<AtomicBool>) {
        let dropped = Arc::new(AtomicBool::new(false));
        let future = PanicsOnDrop {
            output: None,
            dropped: dropped.clone(),
        };
        (future, dropped)
    }
}

impl<T: Unpin> Future for PanicsOnDrop<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<T> {
        match self.output.take() {
            Some(output) => Poll::Ready(output),
            None => Poll::Pending,
        }
    }
}

impl<T> Drop for PanicsOnDrop<T> {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
        if !std::thread::panicking() {
            panic!("the future's drop panicked");
        }
    }
}

/// An output whose `Clone` panics.
#[derive(Debug, PartialEq)]
struct BadClone(u32);

impl Clone for BadClone {
    fn clone(&self) -> Self {
        panic!("clone of the output panicked");
    }
}

fn clone_panicked() -> TaskError {
    TaskError::Panicked("clone of the output panicked".into())
}

/// A task body that panics (its output type is `()`).
async fn boom(message: &'static str) {
    panic!("{message}");
}

/// Checks `cond` every millisecond on the current executor; fails after 10 s.
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + LONG;
    while !cond() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        sleep(Duration::from_millis(1)).await;
    }
}

/// The message of a caught panic.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string payload>".to_owned()
    }
}

// === K1: panicking destructors on `block_on` and `spawn` ===

#[test]
fn k1_a_spawned_future_whose_drop_panics_after_it_returned_keeps_its_output() {
    let (future, dropped) = PanicsOnDrop::ready(7u32);
    let out = within(LONG, move || block_on(async move { spawn(future).await }));
    assert_eq!(out, Ok(7), "the output survives the panicking drop");
    assert!(dropped.load(Ordering::SeqCst), "the future was dropped");
}

#[test]
fn k1_a_pending_future_whose_drop_panics_on_cancel_gives_cancelled() {
    let (future, dropped) = PanicsOnDrop::<u32>::pending();
    let out = within(LONG, move || {
        block_on(async move {
            let handle = spawn(future);
            yield_now().await; // it runs once and stays pending
            assert!(!handle.is_finished());
            handle.cancel();
            handle.await
        })
    });
    assert_eq!(out, Err(TaskError::Cancelled));
    assert!(dropped.load(Ordering::SeqCst), "the future was dropped");
}

#[test]
fn k1_a_detached_task_whose_drop_panics_when_the_executor_ends_lets_block_on_return() {
    let (future, dropped) = PanicsOnDrop::<u32>::pending();
    let out = within(LONG, move || {
        block_on(async move {
            spawn(future).detach();
            yield_now().await; // polled once, left pending
            "returned"
        })
    });
    assert_eq!(out, "returned");
    assert!(
        dropped.load(Ordering::SeqCst),
        "dropped with the executor, its panic contained"
    );
}

#[test]
fn k1_a_local_pool_task_whose_drop_panics_keeps_its_output_and_is_reported() {
    let unhandled = Unhandled::default();
    let hook = unhandled.hook();
    let (returned, dropped) = PanicsOnDrop::ready(3u32);
    let (stuck, stuck_dropped) = PanicsOnDrop::<u32>::pending();
    let (a, b) = within(LONG, move || {
        block_on(async move {
            let pool = TaskPool::builder().on_unhandled(hook).build();
            let a = pool.create_task(returned).await;
            let stuck = pool.create_task(stuck);
            yield_now().await;
            stuck.cancel();
            let b = stuck.await;
            pool.stop().await;
            (a, b)
        })
    });
    assert_eq!(a, Ok(3), "a future that returned keeps its output");
    assert_eq!(b, Err(TaskError::Cancelled), "a cancelled one is Cancelled");
    assert!(dropped.load(Ordering::SeqCst) && stuck_dropped.load(Ordering::SeqCst));
    let panic = TaskError::Panicked("the future's drop panicked".into());
    assert_eq!(
        unhandled.take(),
        vec![panic.clone(), panic],
        "both drop panics reported to on_unhandled"
    );
}

// === K1: a panicking on_unhandled hook on a local pool ===

#[test]
fn k1_a_local_pool_whose_hook_panics_keeps_serving_and_stops() {
    let hook_calls = Arc::new(AtomicUsize::new(0));
    let calls = hook_calls.clone();
    let served = within(LONG, move || {
        block_on(async move {
            let counted = calls.clone();
            let pool = TaskPool::builder()
                .name("bad-hook")
                .on_unhandled(move |_| {
                    counted.fetch_add(1, Ordering::SeqCst);
                    panic!("the hook panicked");
                })
                .build();
            pool.create_task(boom("detached task panicked")).detach();
            eventually("the hook was called", || calls.load(Ordering::SeqCst) == 1).await;
            let served = pool.run(async { 2 }).await;
            // A second unread failure: the hook is called again, still contained.
            pool.create_task(boom("again")).detach();
            eventually("the hook was called again", || {
                calls.load(Ordering::SeqCst) == 2
            })
            .await;
            pool.stop().await;
            served
        })
    });
    assert_eq!(served, Ok(2), "the pool keeps serving");
    assert_eq!(hook_calls.load(Ordering::SeqCst), 2);
}

// === K3: TaskPoolSpawner ===

#[test]
fn k3_a_job_accepted_before_its_pool_was_dropped_still_runs() {
    let out = within(LONG, || {
        block_on(async {
            let pool = TaskPool::builder().name("dropped-pool").build();
            let spawner = pool.spawner();
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let _ = tx.send(spawner.create_task(async { 5 }));
            });
            // This thread is blocked: the job waits in the inbox, undispatched.
            let handle = rx
                .recv_timeout(LONG)
                .expect("the spawner thread answered")
                .expect("the spawner accepted the task");
            drop(pool);
            // The executor keeps running: the dispatcher runs the job.
            timeout(LONG, handle).await.expect("the handle resolved")
        })
    });
    assert_eq!(out, Ok(5));
}

#[test]
fn k3_a_job_whose_pool_executor_was_dropped_resolves_cancelled_and_the_spawner_refuses() {
    let (mut handle, refused_while_pool_alive, spawner) = within(LONG, || {
        let ex = LocalExecutor::new();
        let pool = ex.block_on(async { TaskPool::builder().name("gone").build() });
        let spawner = pool.spawner();
        let remote = spawner.clone();
        let handle = std::thread::spawn(move || remote.create_task(async { 5 }))
            .join()
            .expect("spawner thread")
            .expect("accepted while the pool runs");
        // The whole executor goes before the job was dispatched; the pool
        // value itself is still alive.
        drop(ex);
        let remote = spawner.clone();
        let refused = std::thread::spawn(move || remote.create_task(async { 6 }).err())
            .join()
            .expect("spawner thread");
        drop(pool);
        (handle, refused, spawner)
    });
    assert_eq!(
        handle.wait_timeout(LONG),
        Some(Err(TaskError::Cancelled)),
        "the accepted task resolves"
    );
    assert!(
        matches!(refused_while_pool_alive, Some(TaskError::NotRunning { ref pool }) if pool == "gone"),
        "{refused_while_pool_alive:?}"
    );
    assert!(matches!(
        spawner.create_task(async { 7 }),
        Err(TaskError::NotRunning { .. })
    ));
}

#[test]
fn k3_a_job_whose_pool_and_then_executor_were_dropped_resolves_cancelled() {
    let (mut handle, spawner) = within(LONG, || {
        let ex = LocalExecutor::new();
        let pool = ex.block_on(async { TaskPool::builder().build() });
        let spawner = pool.spawner();
        let remote = spawner.clone();
        let handle = std::thread::spawn(move || remote.create_task(async { 5 }))
            .join()
            .expect("spawner thread")
            .expect("accepted while the pool runs");
        drop(pool);
        drop(ex);
        (handle, spawner)
    });
    assert_eq!(handle.wait_timeout(LONG), Some(Err(TaskError::Cancelled)));
    assert!(matches!(
        spawner.create_task(async { 7 }),
        Err(TaskError::NotRunning { .. })
    ));
}

// === K3: debouncers whose worker's executor ends ===

/// The arguments a debounced `f` was called with.
type Log = Arc<Mutex<Vec<u32>>>;

/// A lazy debouncer of `f(n) = 10·n` with a 30 ms window, logging arguments.
fn lazy_tens() -> (Arc<Debouncer<u32, u32>>, Log) {
    let args = Arc::new(Mutex::new(Vec::new()));
    let log = args.clone();
    let d = Debouncer::lazy(Duration::from_millis(30), move |n: u32| {
        log.lock().unwrap().push(n);
        async move { n * 10 }
    });
    (Arc::new(d), args)
}

#[test]
fn k3_a_debounce_caller_on_another_thread_takes_over_when_the_workers_executor_ends() {
    let (d, args) = lazy_tens();
    let (out, took) = within(LONG, move || {
        let a = LocalExecutor::new();
        let first = a.spawn({
            let d = d.clone();
            async move { d.try_call(1).await }
        });
        a.run_until_stalled(); // caller 1 opened the window; the worker waits on A
        let (joined_tx, joined_rx) = mpsc::channel();
        let second = std::thread::spawn({
            let d = d.clone();
            move || {
                block_on(async move {
                    let mut call = pin!(d.try_call(2));
                    assert!(poll_once(call.as_mut()).await.is_none(), "joined, waiting");
                    joined_tx.send(()).unwrap();
                    let start = Instant::now();
                    let out = call.await;
                    (out, start.elapsed())
                })
            }
        });
        joined_rx
            .recv_timeout(LONG)
            .expect("caller 2 joined the run");
        drop(a); // the worker's executor ends while caller 2 waits
        assert_eq!(
            common::foreign_block_on(first),
            Err(TaskError::Cancelled),
            "caller 1's own task went with its executor"
        );
        second.join().expect("caller 2's thread")
    });
    assert_eq!(out, Ok(20), "f ran with the last argument");
    assert_eq!(*args.lock().unwrap(), [2], "f ran once");
    assert!(took < Duration::from_secs(5), "resolved late: {took:?}");
}

#[test]
fn k3_a_debounce_caller_on_another_executor_takes_over_a_dead_worker() {
    let (d, args) = lazy_tens();
    let out = within(LONG, move || {
        let a = LocalExecutor::new();
        let b = LocalExecutor::new();
        let first = a.spawn({
            let d = d.clone();
            async move { d.try_call(1).await }
        });
        // The window is open and the worker, having run, waits on A (one
        // that never ran: the ignored test below).
        a.run_until_stalled();
        let second = b.spawn({
            let d = d.clone();
            async move { d.try_call(2).await }
        });
        b.run_until_stalled(); // caller 2 joined the pending run
        assert!(!second.is_finished());
        drop(a);
        drop(first);
        b.block_on(second)
    });
    assert_eq!(out, Ok(Ok(20)));
    assert_eq!(*args.lock().unwrap(), [2]);
}

#[test]
fn k3_a_debounce_worker_dropped_before_its_first_poll_is_taken_over() {
    let (d, args) = lazy_tens();
    let out = within(LONG, move || {
        let a = LocalExecutor::new();
        // Caller 1 opens the window; the worker is spawned on A but A is
        // dropped before it ever ran.
        let opened = a.block_on({
            let d = d.clone();
            async move { poll_once(d.try_call(1)).await.is_none() }
        });
        assert!(opened);
        drop(a);
        block_on(d.try_call(2))
    });
    assert_eq!(out, Ok(20));
    assert_eq!(*args.lock().unwrap(), [2]);
}

#[test]
fn k3_an_async_debouncers_call_whose_worker_never_ran_is_run_by_a_flush_elsewhere() {
    let ran = Arc::new(Mutex::new(Vec::new()));
    let log = ran.clone();
    let d = AsyncDebouncer::new(Duration::from_secs(60), move |n: u32| {
        log.lock().unwrap().push(n);
        async {}
    });
    within(LONG, move || {
        let a = LocalExecutor::new();
        // The call spawns a worker on A, which is dropped before it ran.
        assert!(!a.block_on(d.call(1)), "runs at once (on the worker)");
        drop(a);
        block_on(d.flush());
    });
    assert_eq!(*ran.lock().unwrap(), [1], "the committed call ran");
}

#[test]
fn k3_an_async_debouncers_pending_call_is_run_by_a_flush_on_another_executor() {
    let ran = Arc::new(Mutex::new(Vec::new()));
    let log = ran.clone();
    // A window of a minute: only the flush can run the pending call in time.
    let d = AsyncDebouncer::new(Duration::from_secs(60), move |n: u32| {
        log.lock().unwrap().push(n);
        async {}
    });
    let seen = ran.clone();
    let took = within(LONG, move || {
        let a = LocalExecutor::new();
        a.block_on(async {
            assert!(!d.call(1).await, "runs at once");
            eventually("call 1 ran", || *seen.lock().unwrap() == [1]).await;
            assert!(d.call(2).await, "debounced: waits for the window's end");
            // The worker has run and waits on A's timer. (A worker that
            // never ran is the ignored test above.)
            yield_now().await;
        });
        drop(a);
        assert_eq!(*seen.lock().unwrap(), [1], "call 2 still pending");
        let start = Instant::now();
        std::thread::spawn(move || block_on(d.flush()))
            .join()
            .expect("the flushing thread");
        start.elapsed()
    });
    assert_eq!(*ran.lock().unwrap(), [1, 2], "the pending call ran");
    assert!(took < Duration::from_secs(5), "flush took {took:?}");
}

// === K4: no schedule starves its executor ===

/// Calls `start` inside `block_on` (it starts a schedule and returns what
/// keeps it alive), sleeps 30 ms there and returns: how many runs were
/// counted and how long it all took.
fn run_for_30ms<K: 'static>(
    start: impl FnOnce() -> K + Send + 'static,
    runs: Arc<AtomicUsize>,
) -> (usize, Duration) {
    within(LONG, move || {
        let began = Instant::now();
        block_on(async move {
            let _schedule = start();
            sleep(Duration::from_millis(30)).await;
        });
        (runs.load(Ordering::SeqCst), began.elapsed())
    })
}

/// A counting `f` whose future is ready at once.
fn counting_f(runs: &Arc<AtomicUsize>) -> impl FnMut() -> std::future::Ready<()> + Send + 'static {
    let runs = runs.clone();
    move || {
        runs.fetch_add(1, Ordering::SeqCst);
        std::future::ready(())
    }
}

fn assert_merged(runs: usize, took: Duration) {
    let bound = took.as_millis() as usize + 2;
    assert!(runs >= 1, "f never ran");
    assert!(
        runs <= bound,
        "{runs} runs in {took:?}: points closer than 1 ms must merge (at most {bound})"
    );
}

#[test]
fn k4_an_on_time_schedule_with_a_1ns_interval_does_not_starve_block_on() {
    let runs = Arc::new(AtomicUsize::new(0));
    let f = counting_f(&runs);
    let (runs, took) = run_for_30ms(
        move || {
            let task =
                OnTimePeriodicTask::new(f, SystemTime::now()).interval(Duration::from_nanos(1));
            task.start().detach();
            task
        },
        runs,
    );
    assert_merged(runs, took);
}

#[test]
fn k4_an_on_time_schedule_with_a_1ns_interval_not_ignoring_overdue_runs_is_merged() {
    let runs = Arc::new(AtomicUsize::new(0));
    let f = counting_f(&runs);
    let (runs, took) = run_for_30ms(
        move || {
            let task = OnTimePeriodicTask::new(f, SystemTime::now())
                .interval(Duration::from_nanos(1))
                .ignore_overdue(false);
            task.start().detach();
            task
        },
        runs,
    );
    assert_merged(runs, took);
}

#[test]
fn k4_an_on_time_schedule_with_a_1ns_rule_does_not_starve_block_on() {
    let runs = Arc::new(AtomicUsize::new(0));
    let f = counting_f(&runs);
    let (runs, took) = run_for_30ms(
        move || {
            let task = OnTimePeriodicTask::new(f, SystemTime::now())
                .schedule(|last| Some(last + Duration::from_nanos(1)));
            task.start().detach();
            task
        },
        runs,
    );
    assert_merged(runs, took);
}

#[test]
fn k4_an_on_time_schedule_with_a_1ns_rule_not_ignoring_overdue_runs_is_merged() {
    let runs = Arc::new(AtomicUsize::new(0));
    let f = counting_f(&runs);
    let (runs, took) = run_for_30ms(
        move || {
            let task = OnTimePeriodicTask::new(f, SystemTime::now())
                .schedule(|last| Some(last + Duration::from_nanos(1)))
                .ignore_overdue(false);
            task.start().detach();
            task
        },
        runs,
    );
    assert_merged(runs, took);
}

#[test]
fn k4_an_on_time_schedule_with_a_1us_rule_merges_points_closer_than_a_tick() {
    // Unlike the 1 ns rule, this one returns; it shows the merge alone.
    let runs = Arc::new(AtomicUsize::new(0));
    let f = counting_f(&runs);
    let (runs, took) = run_for_30ms(
        move || {
            let task = OnTimePeriodicTask::new(f, SystemTime::now())
                .schedule(|last| Some(last + Duration::from_micros(1)));
            task.start().detach();
            task
        },
        runs,
    );
    assert_merged(runs, took);
}

#[test]
fn k4_a_1ns_periodic_task_bursting_does_not_starve_another_task() {
    let runs = Arc::new(AtomicUsize::new(0));
    let f = counting_f(&runs);
    let counted = runs.clone();
    let other = within(LONG, move || {
        let task = PeriodicTask::new(Duration::from_nanos(1), f)
            .missed_tick_behavior(MissedTickBehavior::Burst);
        block_on(async {
            task.start().detach();
            let other = spawn(async {
                sleep(Duration::from_millis(30)).await;
                "slept"
            });
            other.await
        })
    });
    assert_eq!(other, Ok("slept"), "the other task's sleep completed");
    assert!(counted.load(Ordering::SeqCst) >= 1, "f ran");
}

// === K5: waiting on yourself ===

#[test]
fn k5_a_local_pool_stopped_from_its_own_task_returns_at_once() {
    let (stopper, held) = within(LONG, || {
        block_on(async {
            let pool = Rc::new(TaskPool::builder().name("self-stop").build());
            let gate = Gate::default();
            let held = pool.create_task(gate.wait());
            let p = pool.clone();
            let stopper = pool.create_task(async move {
                p.stop().await; // returns although `held` has not finished
                p.create_task(async {}).await // the pool is closed
            });
            let stopper = timeout(LONG, stopper)
                .await
                .expect("the self-stop returned at once");
            assert!(!held.is_finished(), "the drain goes on without it");
            gate.open();
            timeout(LONG, pool.stop())
                .await
                .expect("the outer stop returned");
            (stopper, held.await)
        })
    });
    assert!(
        matches!(stopper, Ok(Err(TaskError::NotRunning { ref pool })) if pool == "self-stop"),
        "{stopper:?}"
    );
    assert_eq!(held, Ok(()), "the drain finished the held task");
}

/// `pool.run(async { 1 })` awaited from a task (`service: false`) or a
/// service of a local pool of `size`.
fn nested_run(size: usize, service: bool) -> Result<Result<u32, TaskError>, TaskError> {
    within(LONG, move || {
        block_on(async move {
            let pool = Rc::new(TaskPool::builder().name("nested").size(size).build());
            let p = pool.clone();
            let nested = async move { p.run(async { 1 }).await };
            let out = if service {
                pool.spawn_service(nested).expect("running").await
            } else {
                pool.create_task(nested).await
            };
            timeout(LONG, pool.stop()).await.expect("stopped");
            out
        })
    })
}

#[test]
fn k5_a_nested_run_on_a_size_1_local_pool_gives_would_deadlock() {
    let out = nested_run(1, false);
    assert!(
        matches!(out, Ok(Err(TaskError::WouldDeadlock { ref pool })) if pool == "nested"),
        "{out:?}"
    );
}

#[test]
fn k5_a_nested_run_on_a_size_2_local_pool_works() {
    assert_eq!(nested_run(2, false), Ok(Ok(1)));
}

#[test]
fn k5_a_service_of_a_size_1_local_pool_may_run_on_it() {
    assert_eq!(nested_run(1, true), Ok(Ok(1)));
}

// === K1: restartable factories and shared outputs ===

#[test]
fn k1_a_restartable_factory_that_panics_reaches_the_caller_and_the_task_restarts() {
    let out = within(LONG, || {
        block_on(async {
            let calls = Arc::new(AtomicUsize::new(0));
            let counted = calls.clone();
            let task = RestartableTask::<u32>::new(move || {
                if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                    panic!("the factory panicked");
                }
                async {}
            });
            let first = catch_unwind(AssertUnwindSafe(|| task.start()));
            let payload = first.expect_err("the factory's panic reaches the caller");
            assert_eq!(panic_text(&*payload), "the factory panicked");
            assert_eq!(calls.load(Ordering::SeqCst), 1);
            // An awaiter waits for the restart rather than failing or hanging.
            let awaiter = spawn({
                let task = task.clone();
                async move { task.join().await }
            });
            yield_now().await;
            assert!(!awaiter.is_finished(), "waits across the failed attempt");
            assert!(task.start(), "the next start begins an attempt");
            assert_eq!(calls.load(Ordering::SeqCst), 2, "f was called again");
            assert!(task.set_result(5));
            let joined = task.join().await;
            let awaited = timeout(LONG, awaiter).await.expect("the awaiter resolved");
            (joined, awaited)
        })
    });
    assert_eq!(out, (Ok(5), Ok(Ok(5))));
}

#[test]
fn k1_a_debounced_output_whose_clone_panics_gives_panicked_to_every_caller() {
    let outs = within(LONG, || {
        let ex = LocalExecutor::new_manual();
        let d = Rc::new(Debouncer::lazy(
            Duration::from_millis(30),
            |n: u32| async move { BadClone(n) },
        ));
        let callers: Vec<_> = [1, 2]
            .into_iter()
            .map(|n| {
                let d = d.clone();
                ex.spawn(async move { d.try_call(n).await })
            })
            .collect();
        let outs = ex.block_on(async {
            let mut outs = Vec::new();
            for caller in callers {
                outs.push(caller.await);
            }
            outs
        });
        // The debouncer is still usable afterwards.
        ex.block_on(sleep(Duration::from_millis(30)));
        let again = ex.block_on(d.try_call(3));
        (outs, again)
    });
    assert_eq!(
        outs,
        (
            vec![Ok(Err(clone_panicked())), Ok(Err(clone_panicked()))],
            Err(clone_panicked())
        )
    );
}

#[test]
fn k1_a_restartable_result_whose_clone_panics_gives_panicked_to_every_awaiter() {
    let (awaited, joined, joined_again, waited) = within(LONG, || {
        block_on(async {
            let task = RestartableTask::<BadClone>::new(|| async {});
            assert!(task.start());
            let awaiter = spawn({
                let task = task.clone();
                async move { task.join().await }
            });
            yield_now().await; // it waits
            assert!(task.set_result(BadClone(5)));
            let awaited = timeout(LONG, awaiter).await.expect("the awaiter resolved");
            let joined = task.join().await;
            let joined_again = task.join().await; // the task's lock is fine
            let blocking = task.clone();
            let waited = std::thread::spawn(move || blocking.wait_timeout(LONG))
                .join()
                .expect("the waiting thread");
            (awaited, joined, joined_again, waited)
        })
    });
    assert_eq!(awaited, Ok(Err(clone_panicked())));
    assert_eq!(joined, Err(clone_panicked()));
    assert_eq!(joined_again, Err(clone_panicked()));
    assert_eq!(waited, Some(Err(clone_panicked())));
}

// === K6: handles and timers that outlive their executor ===

#[test]
fn k6_a_join_handle_that_outlives_its_executor_resolves_cancelled() {
    let (direct, from_block_on) = within(LONG, || {
        let ex = LocalExecutor::new();
        let handle = ex.spawn(std::future::pending::<()>());
        ex.run_until_stalled();
        drop(ex);
        let direct = common::foreign_block_on(handle);
        // In an array: a handle handed out of the block as it is.
        let [handle] = block_on(async {
            let handle = spawn(std::future::pending::<()>());
            yield_now().await;
            [handle]
        });
        (direct, common::foreign_block_on(handle))
    });
    assert_eq!(direct, Err(TaskError::Cancelled));
    assert_eq!(from_block_on, Err(TaskError::Cancelled));
}

#[test]
fn k6_a_timeout_that_outlives_its_executor_fires_on_the_next_one_never_early() {
    let (result, took) = within(LONG, || {
        let (made, [t]) = block_on(async {
            let made = Instant::now();
            (
                made,
                [timeout(
                    Duration::from_millis(30),
                    std::future::pending::<()>(),
                )],
            )
        });
        let result = block_on(t);
        (result, made.elapsed())
    });
    assert_eq!(result, Err(TaskError::TimedOut));
    assert!(took >= Duration::from_millis(30), "fired early: {took:?}");
}

#[test]
fn k6_a_timeout_that_outlives_its_executor_keeps_its_deadline() {
    // Made with 300 ms, polled again 250 ms later: it keeps its deadline
    // (about 50 ms left) rather than counting 300 ms from that poll.
    let (result, total, second) = within(LONG, || {
        let (made, [t]) = block_on(async {
            let made = Instant::now();
            (
                made,
                [timeout(
                    Duration::from_millis(300),
                    std::future::pending::<()>(),
                )],
            )
        });
        std::thread::sleep(Duration::from_millis(250));
        let polled = Instant::now();
        let result = block_on(t);
        (result, made.elapsed(), polled.elapsed())
    });
    assert_eq!(result, Err(TaskError::TimedOut));
    assert!(
        total >= Duration::from_millis(300),
        "fired early: {total:?}"
    );
    assert!(
        second < Duration::from_millis(250),
        "restarted at the new poll instead of keeping its deadline: {second:?}"
    );
}

#[test]
fn k6_a_timeout_polled_outside_every_executor_panics_naming_timeout() {
    let t = timeout(Duration::from_millis(30), std::future::pending::<()>());
    let caught = catch_unwind(AssertUnwindSafe(|| common::foreign_block_on(t)));
    let payload = caught.expect_err("polled outside every executor: a panic");
    let text = panic_text(&*payload);
    assert!(
        text.contains("concurrent_tasks::timeout was polled outside an executor"),
        "{text}"
    );
}

// === sleep(ZERO) ===

#[test]
fn k6_sleep_zero_is_ready_at_its_first_poll() {
    let polled = within(LONG, || {
        block_on(async { poll_once(sleep(Duration::ZERO)).await })
    });
    assert_eq!(polled, Some(()));
    let manual = LocalExecutor::new_manual();
    assert_eq!(
        manual.block_on(async { poll_once(sleep(Duration::ZERO)).await }),
        Some(()),
        "also on a manual clock"
    );
}
