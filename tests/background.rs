//! B1–B6: background tasks — run until cancelled, cancel, join, many at once,
//! restart from the factory, `join` without an attempt.

mod common;

use common::{wait, within, Unhandled, LONG};
use concurrent_tasks::{
    block_on, sleep, time::ManualClock, BackgroundTask, BlockingThreadedTaskPool, LocalExecutor,
    TaskError,
};
use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const MS: Duration = Duration::from_millis(1);

/// Counts how many of its futures are alive.
#[derive(Clone, Default)]
struct Live(Arc<AtomicUsize>);

struct LiveGuard(Arc<AtomicUsize>);

impl Live {
    fn guard(&self) -> LiveGuard {
        self.0.fetch_add(1, Ordering::SeqCst);
        LiveGuard(self.0.clone())
    }
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A heartbeat: counts a beat every `every` until dropped.
fn heartbeat(
    every: Duration,
    beats: Rc<Cell<u32>>,
    live: &Live,
) -> impl std::future::Future<Output = ()> {
    let guard = live.guard();
    async move {
        let _guard = guard;
        loop {
            beats.set(beats.get() + 1);
            sleep(every).await;
        }
    }
}

#[test]
fn b1_runs_in_the_background_until_dropped_which_cancels_silently() {
    let clock = ManualClock::new();
    let ex = LocalExecutor::with_clock(clock.clone());
    let beats = Rc::new(Cell::new(0));
    let live = Live::default();
    let (b, l) = (beats.clone(), live.clone());
    let task = BackgroundTask::new(move || heartbeat(10 * MS, b.clone(), &l));
    ex.block_on(async {
        let _attempt = task.start();
        sleep(95 * MS).await; // the main work; the heartbeat runs meanwhile
    });
    assert_eq!(beats.get(), 10, "beats at 0, 10, …, 90 ms");
    assert!(task.is_running());
    assert_eq!(live.count(), 1);
    drop(task); // no error, no panic
    ex.run_until_stalled();
    assert_eq!(live.count(), 0, "the attempt's future was dropped");
    ex.advance_time(100 * MS);
    ex.run_until_stalled();
    assert_eq!(beats.get(), 10, "no beat after the drop");
}

#[test]
fn b1_dropping_a_task_started_on_a_pool_reports_nothing() {
    let unhandled = Unhandled::default();
    let pool = BlockingThreadedTaskPool::builder()
        .on_unhandled(unhandled.hook())
        .start()
        .unwrap();
    let live = Live::default();
    let l = live.clone();
    let task = BackgroundTask::new(move || {
        let guard = l.guard();
        async move {
            let _guard = guard;
            std::future::pending::<()>().await
        }
    });
    task.start_on(&pool).unwrap().detach();
    common::wait_until("the attempt to run", || live.count() == 1);
    drop(task);
    common::wait_until("the attempt to be dropped", || live.count() == 0);
    pool.stop().unwrap();
    assert_eq!(unhandled.take(), vec![], "a cancellation is never reported");
}

#[test]
fn b2_cancel_stops_it_and_its_handle_yields_cancelled() {
    let ex = LocalExecutor::new_manual();
    let beats = Rc::new(Cell::new(0));
    let live = Live::default();
    let (b, l) = (beats.clone(), live.clone());
    let task = BackgroundTask::new(move || heartbeat(10 * MS, b.clone(), &l));
    let handle = task.start_in(&ex);
    ex.run_until_stalled();
    for _ in 0..2 {
        ex.advance_time(10 * MS);
        ex.run_until_stalled();
    }
    assert_eq!(beats.get(), 3, "beats at 0, 10 and 20 ms");
    task.cancel();
    ex.run_until_stalled();
    assert_eq!(handle.try_take(), Some(Err(TaskError::Cancelled)));
    assert_eq!(live.count(), 0, "dropped at once, on the executor");
    assert!(!task.is_running());
    ex.advance_time(100 * MS);
    ex.run_until_stalled();
    assert_eq!(beats.get(), 3, "no beat after cancel");
    task.cancel(); // again: nothing to do
}

#[test]
fn b2_cancel_from_a_pool_attempt_yields_cancelled_through_join() {
    within(LONG, || {
        let pool = BlockingThreadedTaskPool::new();
        pool.start().unwrap();
        let task = BackgroundTask::new(std::future::pending::<u8>);
        let handle = task.start_on(&pool).unwrap();
        task.cancel();
        assert_eq!(wait(handle), Err(TaskError::Cancelled));
        pool.stop().unwrap();
    });
}

#[test]
fn b3_join_yields_the_output() {
    block_on(async {
        let task = BackgroundTask::new(|| async {
            sleep(5 * MS).await;
            "done"
        });
        task.start().detach();
        assert_eq!(task.join().await, Some(Ok("done")));
    });
}

#[test]
fn b3_join_reads_a_pool_attempt_even_after_its_handle_was_dropped() {
    within(LONG, || {
        let pool = BlockingThreadedTaskPool::builder().start().unwrap();
        let task = BackgroundTask::new(|| async {
            sleep(5 * MS).await;
            std::thread::current().name().map(String::from)
        });
        drop(task.start_on(&pool).unwrap());
        let name = block_on(task.join());
        assert!(matches!(name, Some(Ok(Some(_)))), "{name:?}");
        pool.stop().unwrap();
    });
}

#[test]
fn b3_a_panicking_attempt_yields_panicked() {
    block_on(async {
        let task = BackgroundTask::new(|| async { panic!("boom") });
        task.start().detach();
        assert_eq!(
            task.join().await,
            Some(Err(TaskError::Panicked("boom".into())))
        );
    });
}

/// A background task's future, boxed so the factory type can be named.
type BoxedAttempt = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// A pool reporting to `Unhandled`, and a background task whose attempt on
/// it panicked: the task, and the caller's share of the attempt's handle.
fn a_failed_pool_attempt() -> (
    BlockingThreadedTaskPool,
    Unhandled,
    BackgroundTask<(), impl FnMut() -> BoxedAttempt>,
    concurrent_tasks::TaskHandle<()>,
) {
    let unhandled = Unhandled::default();
    let pool = BlockingThreadedTaskPool::builder()
        .on_unhandled(unhandled.hook())
        .start()
        .unwrap();
    let task = BackgroundTask::new(|| Box::pin(async { panic!("lost") }) as BoxedAttempt);
    let shared = task.start_on(&pool).unwrap();
    common::wait_until("the attempt to fail", || shared.is_finished());
    (pool, unhandled, task, shared)
}

#[test]
fn b3_an_unread_panic_on_a_pool_is_reported_once_when_the_task_is_dropped() {
    within(LONG, || {
        let (pool, unhandled, task, shared) = a_failed_pool_attempt();
        drop(shared); // the shared handle leaves the outcome to the task
        assert_eq!(unhandled.take(), vec![]);
        drop(task);
        assert_eq!(unhandled.take(), vec![TaskError::Panicked("lost".into())]);
        pool.stop().unwrap();
    });
}

#[test]
fn b3_an_unread_panic_is_reported_by_whichever_handle_goes_last() {
    within(LONG, || {
        let (pool, unhandled, task, shared) = a_failed_pool_attempt();
        drop(task); // cancelling a finished attempt changes nothing
        assert_eq!(
            unhandled.take(),
            vec![],
            "the caller's handle can still read it"
        );
        drop(shared);
        assert_eq!(unhandled.take(), vec![TaskError::Panicked("lost".into())]);
        pool.stop().unwrap();
    });
}

#[test]
fn b4_many_background_tasks_run_concurrently() {
    let clock = ManualClock::new();
    let ex = LocalExecutor::with_clock(clock.clone());
    let mut tasks: Vec<_> = (0..100u32)
        .map(|i| {
            BackgroundTask::new(move || async move {
                sleep(50 * MS).await;
                i
            })
        })
        .collect();
    ex.block_on(async {
        for task in &mut tasks {
            task.start().detach();
        }
        for (i, task) in tasks.iter_mut().enumerate() {
            assert_eq!(task.join().await, Some(Ok(i as u32)));
        }
    });
    assert_eq!(clock.now(), 50 * MS, "all hundred slept at once");
}

#[test]
fn b5_start_again_cancels_the_running_attempt_then_starts_a_fresh_one() {
    let ex = LocalExecutor::new_manual();
    let calls = Rc::new(Cell::new(0u32));
    let live = Live::default();
    let (c, l) = (calls.clone(), live.clone());
    let task = BackgroundTask::new(move || {
        c.set(c.get() + 1);
        let attempt = c.get();
        let guard = l.guard();
        async move {
            let _guard = guard;
            sleep(10 * MS).await;
            attempt
        }
    });
    let first = task.start_in(&ex);
    ex.run_until_stalled();
    assert_eq!(live.count(), 1);
    let second = task.start_in(&ex);
    assert_eq!(calls.get(), 2, "the factory made a fresh attempt");
    ex.run_until_stalled();
    assert_eq!(first.try_take(), Some(Err(TaskError::Cancelled)));
    assert_eq!(live.count(), 1, "the first attempt was dropped");
    ex.advance_time(10 * MS);
    ex.run_until_stalled();
    assert_eq!(second.try_take(), Some(Ok(2)));
}

#[test]
fn b6_join_without_an_attempt_or_after_the_output_was_taken_is_none() {
    block_on(async {
        let task = BackgroundTask::new(|| async { 1 });
        assert_eq!(task.join().await, None, "never started");
        let handle = task.start();
        assert_eq!(handle.await, Ok(1));
        assert_eq!(task.join().await, None, "taken by the handle");
        task.start().detach();
        assert_eq!(task.join().await, Some(Ok(1)));
        assert_eq!(task.join().await, None, "taken by join");
    });
}

#[test]
fn start_outside_an_executor_is_no_executor_and_calls_no_factory() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let task = BackgroundTask::new(move || {
        c.fetch_add(1, Ordering::SeqCst);
        async {}
    });
    assert!(matches!(task.try_start(), Err(TaskError::NoExecutor)));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task.start()))
        .expect_err("start outside an executor panics");
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    assert!(message.contains("start_on"), "says what to do: {message}");
}

#[test]
fn start_on_a_stopped_pool_is_not_running_and_cancels_the_previous_attempt() {
    within(LONG, || {
        let running = BlockingThreadedTaskPool::builder().start().unwrap();
        let stopped = BlockingThreadedTaskPool::builder().name("off").build();
        let task = BackgroundTask::new(std::future::pending::<()>);
        let first = task.start_on(&running).unwrap();
        match task.start_on(&stopped) {
            Err(TaskError::NotRunning { pool }) => assert_eq!(pool, "off"),
            other => panic!("expected NotRunning, got {other:?}"),
        }
        assert_eq!(wait(first), Err(TaskError::Cancelled));
        running.stop().unwrap(); // nothing left to drain
    });
}

#[test]
fn boxed_tasks_can_be_named_and_started_on_a_pool_from_another_thread() {
    within(LONG, || {
        let pool = Arc::new(BlockingThreadedTaskPool::builder().start().unwrap());
        let p = pool.clone();
        let out = std::thread::spawn(move || {
            let task = BackgroundTask::new(|| async { 40 + 2 });
            wait(task.start_on(&*p).unwrap())
        })
        .join()
        .unwrap();
        assert_eq!(out, Ok(42));
        let named: BackgroundTask<&str> = BackgroundTask::boxed(|| async { "boxed" });
        assert_eq!(
            block_on(async {
                named.start().detach();
                named.join().await
            }),
            Some(Ok("boxed"))
        );
        pool.stop().unwrap();
    });
}

#[test]
fn background_tasks_and_their_join_futures_are_send_when_their_parts_are() {
    fn assert_send<T: Send>(_: &T) {}
    let task = BackgroundTask::new(|| async { 1u8 });
    assert_send(&task);
    assert_send(&task.join());
    let named: BackgroundTask<u8> = BackgroundTask::boxed(|| async { 1 });
    assert!(format!("{named:?}").contains("never started"));
}

#[test]
fn b5_stress_restarts_and_cancels_from_many_threads_on_one_pool() {
    const THREADS: usize = 4;
    const ROUNDS: usize = 300;
    within(LONG, || {
        let pool = Arc::new(
            BlockingThreadedTaskPool::builder()
                .name("stress")
                .start()
                .unwrap(),
        );
        let live = Live::default();
        let wrong_thread = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (pool, live, wrong) = (pool.clone(), live.clone(), wrong_thread.clone());
                std::thread::spawn(move || {
                    let made = Arc::new(AtomicUsize::new(0));
                    let polled = Arc::new(AtomicUsize::new(0)); // attempts polled so far
                    let (m, p) = (made.clone(), polled.clone());
                    let task = BackgroundTask::new(move || {
                        let n = m.fetch_add(1, Ordering::SeqCst);
                        let guard = live.guard();
                        let (wrong, polled) = (wrong.clone(), p.clone());
                        async move {
                            let _guard = guard;
                            polled.fetch_max(n + 1, Ordering::SeqCst);
                            let _on_pool = OnThread("stress", wrong);
                            // Some attempts end at once, the rest wait to be cancelled.
                            if n % 3 == 0 {
                                n
                            } else {
                                std::future::pending().await
                            }
                        }
                    });
                    let mut handles = Vec::new();
                    for round in 0..ROUNDS {
                        handles.push(task.start_on(&*pool).unwrap());
                        match (round + t) % 4 {
                            // Let this attempt run before the next start cancels it.
                            0 => common::wait_until("the attempt to run", || {
                                polled.load(Ordering::SeqCst) > round
                            }),
                            1 => task.cancel(),
                            _ => {} // the next start cancels it, run or not
                        }
                    }
                    task.cancel();
                    let last = block_on(task.join());
                    assert!(
                        matches!(last, Some(Ok(_)) | Some(Err(TaskError::Cancelled)) | None),
                        "{last:?}"
                    );
                    let (mut finished, mut cancelled) = (0, 0);
                    for handle in handles {
                        match wait(handle) {
                            Ok(n) => {
                                assert_eq!(n % 3, 0, "only those that end return");
                                finished += 1;
                            }
                            Err(TaskError::Cancelled) => cancelled += 1,
                            Err(TaskError::AlreadyTaken) => {} // taken by `join`
                            Err(other) => panic!("unexpected outcome {other:?}"),
                        }
                    }
                    assert!(
                        finished > 0 && cancelled > 0,
                        "{finished} ended, {cancelled} cancelled"
                    );
                    assert_eq!(made.load(Ordering::SeqCst), ROUNDS, "one attempt per start");
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        common::wait_until("every attempt to be dropped", || live.count() == 0);
        assert_eq!(
            wrong_thread.load(Ordering::SeqCst),
            0,
            "every attempt was dropped on the pool thread"
        );
        pool.stop().unwrap();
    });
}

/// Counts a drop that happens off the thread named `.0`.
struct OnThread(&'static str, Arc<AtomicUsize>);

impl Drop for OnThread {
    fn drop(&mut self) {
        if std::thread::current().name() != Some(self.0) {
            self.1.fetch_add(1, Ordering::SeqCst);
        }
    }
}
