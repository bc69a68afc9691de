//! P6: a task's own `Err` reaches the caller unchanged; a panic is
//! `Panicked(message)` and the pool keeps serving; a failure nobody can see
//! (handle dropped, before or after the failure) goes to `on_unhandled`
//! exactly once; `Cancelled` is never reported.

mod common;

use common::{wait, wait_until, within, Gate, Unhandled};
use concurrent_tasks::{
    block_on, sleep, AsyncThreadedTaskPool, BlockingThreadedTaskPool, TaskError,
};
use std::future::Future;
use std::time::Duration;

/// Panics with `message` once `gate` opens (a `String` payload).
fn panics_after(gate: &Gate, message: &str) -> impl Future<Output = u8> + Send + 'static {
    let (gate, message) = (gate.wait(), message.to_owned());
    async move {
        gate.await;
        if !message.is_empty() {
            panic!("{message}");
        }
        0
    }
}

#[test]
fn p6_task_err_output_reaches_the_caller_unchanged() {
    within(Duration::from_secs(30), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p6-err")
            .start()
            .unwrap();
        let failing = pool
            .create_task(async { Err::<u8, String>("no such user".into()) })
            .unwrap();
        assert_eq!(wait(failing), Ok(Err("no such user".to_owned())));
        let fine = pool.create_task(async { Ok::<u8, String>(7) }).unwrap();
        assert_eq!(wait(fine), Ok(Ok(7)));
        assert_eq!(
            pool.run(async { Err::<u8, String>("via run".into()) }),
            Ok(Err("via run".to_owned()))
        );
        // A TaskError as the task's own output is not confused with the pool's.
        assert_eq!(
            pool.run(async { Err::<(), TaskError>(TaskError::TimedOut) }),
            Ok(Err(TaskError::TimedOut))
        );
        pool.stop().unwrap();
    });
}

#[test]
fn p6_panicking_task_is_panicked_with_its_message_and_the_pool_keeps_serving() {
    within(Duration::from_secs(30), || {
        let unhandled = Unhandled::default();
        let pool = BlockingThreadedTaskPool::builder()
            .name("p6-panic")
            .on_unhandled(unhandled.hook())
            .start()
            .unwrap();
        let str_payload = pool.create_task(async { panic!("kaboom") }).unwrap();
        assert_eq!(wait(str_payload), Err(TaskError::Panicked("kaboom".into())));
        let code = 42;
        let string_payload = pool
            .create_task(async move {
                sleep(Duration::from_millis(1)).await;
                panic!("failed with code {code}")
            })
            .unwrap();
        assert_eq!(
            wait(string_payload),
            Err(TaskError::Panicked("failed with code 42".into()))
        );
        assert_eq!(
            pool.run(async { panic!("in run") }),
            Err::<(), _>(TaskError::Panicked("in run".into()))
        );
        // Still serving, many times over.
        for i in 0..10 {
            assert_eq!(pool.run(async move { i }), Ok(i));
        }
        pool.stop().unwrap();
        assert_eq!(
            unhandled.take(),
            [],
            "failures read through a handle are not unhandled"
        );
    });
}

#[test]
fn p6_failures_of_dropped_handles_reach_on_unhandled_exactly_once() {
    within(Duration::from_secs(30), || {
        let unhandled = Unhandled::default();
        let pool = BlockingThreadedTaskPool::builder()
            .name("p6-hook")
            .timeout(Duration::from_millis(50))
            .on_unhandled(unhandled.hook())
            .start()
            .unwrap();
        let gate = Gate::default();

        // Panic, handle dropped before the failure.
        let h = pool
            .create_task(panics_after(&gate, "dropped before"))
            .unwrap();
        drop(h);
        // Panic, handle dropped after the failure.
        let panicked_after = pool
            .create_task(panics_after(&gate, "dropped after"))
            .unwrap();
        // Timeout, handle dropped before the failure.
        pool.create_task(std::future::pending::<()>())
            .unwrap()
            .detach();
        // Timeout, handle dropped after the failure.
        let timed_out_after = pool.create_task(std::future::pending::<()>()).unwrap();
        // Cancelled, dropped before and after: never reported.
        let cancelled_before = pool.create_task(std::future::pending::<()>()).unwrap();
        cancelled_before.cancel();
        drop(cancelled_before);
        let cancelled_after = pool.create_task(std::future::pending::<()>()).unwrap();
        cancelled_after.cancel();
        // Success, dropped: nothing to report.
        pool.create_task(async { 1 }).unwrap().detach();
        // A failure that was read is not reported either.
        let read = pool.create_task(panics_after(&gate, "read")).unwrap();

        gate.open();
        wait_until("the failures to land", || {
            panicked_after.is_finished()
                && timed_out_after.is_finished()
                && cancelled_after.is_finished()
                && read.is_finished()
        });
        assert_eq!(wait(read), Err(TaskError::Panicked("read".into())));
        drop(panicked_after);
        drop(timed_out_after);
        drop(cancelled_after);
        // stop: every task has ended and every report was made.
        pool.stop().unwrap();

        let mut seen = unhandled.take();
        seen.sort_by_key(|e| e.to_string());
        let mut expected = vec![
            TaskError::Panicked("dropped before".into()),
            TaskError::Panicked("dropped after".into()),
            TaskError::TimedOut,
            TaskError::TimedOut,
        ];
        expected.sort_by_key(|e| e.to_string());
        assert_eq!(seen, expected);
    });
}

#[test]
fn p6_dropping_handles_racing_their_failure_reports_each_exactly_once() {
    within(Duration::from_secs(30), || {
        let unhandled = Unhandled::default();
        let pool = BlockingThreadedTaskPool::builder()
            .name("p6-race")
            .on_unhandled(unhandled.hook())
            .start()
            .unwrap();
        const N: usize = 300;
        for i in 0..N {
            let h = pool.create_task(async move { panic!("race {i}") }).unwrap();
            if i % 2 == 0 {
                std::thread::yield_now();
            }
            drop(h);
        }
        pool.stop().unwrap();
        let mut seen: Vec<String> = unhandled
            .take()
            .into_iter()
            .map(|e| match e {
                TaskError::Panicked(m) => m,
                other => panic!("unexpected report {other:?}"),
            })
            .collect();
        seen.sort();
        let mut expected: Vec<String> = (0..N).map(|i| format!("race {i}")).collect();
        expected.sort();
        assert_eq!(seen, expected);
    });
}

#[test]
fn p6_async_front_panic_and_unhandled() {
    within(Duration::from_secs(30), || {
        let unhandled = Unhandled::default();
        block_on(async {
            let pool = AsyncThreadedTaskPool::builder()
                .name("p6-async")
                .on_unhandled(unhandled.hook())
                .start()
                .await
                .unwrap();
            assert_eq!(
                pool.run(async { panic!("async front") }).await,
                Err::<(), _>(TaskError::Panicked("async front".into()))
            );
            assert_eq!(
                pool.run(async { Err::<(), String>("mine".into()) }).await,
                Ok(Err("mine".to_owned()))
            );
            pool.create_task(async { panic!("nobody reads this") })
                .unwrap()
                .detach();
            assert_eq!(pool.run(async { 1 }).await, Ok(1));
            pool.stop().await.unwrap();
        });
        assert_eq!(
            unhandled.take(),
            [TaskError::Panicked("nobody reads this".into())]
        );
    });
}
