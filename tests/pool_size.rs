//! P2: `size(n)` runs at most n tasks at once; the rest wait in a FIFO buffer
//! and start in submission order; `size(0)` / unset is unlimited. (`set_size`
//! growing at run time is a `TaskPool` method: see `pool_local.rs`.) Also the
//! builder's `capacity(n)` bound on waiting tasks.
//!
//! No sleep-and-hope: tasks hold at a [`Gate`] the test opens once it has
//! seen (through counters) the state it wants to check.

mod common;

use common::{wait, wait_until, within, Gate, Tracker, LONG};
use concurrent_tasks::{block_on, AsyncThreadedTaskPool, BlockingThreadedTaskPool, TaskError};
use std::sync::{mpsc, Arc};
use std::time::Duration;

#[test]
fn p2_size_3_runs_at_most_3_at_once_in_fifo_order() {
    within(Duration::from_secs(30), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p2-size")
            .size(3)
            .start()
            .unwrap();
        let (tracker, gate) = (Tracker::default(), Gate::default());
        let handles: Vec<_> = (0..12)
            .map(|i| pool.create_task(tracker.task(i, &gate)).unwrap())
            .collect();
        wait_until("3 tasks running", || tracker.running() == 3);
        wait_until("stats to show 3 running", || pool.stats().running == 3);
        let stats = pool.stats();
        assert_eq!((stats.queued, stats.running), (9, 3), "{stats:?}");
        assert_eq!(tracker.order(), [0, 1, 2], "the first three start first");
        gate.open();
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(wait(h), Ok(i));
        }
        assert_eq!(tracker.max(), 3, "more than 3 ran at once");
        assert_eq!(tracker.order(), (0..12).collect::<Vec<_>>(), "not FIFO");
        let stats = pool.stats();
        assert_eq!(
            (stats.queued, stats.running, stats.completed),
            (0, 0, 12),
            "{stats:?}"
        );
        pool.stop().unwrap();
    });
}

#[test]
fn p2_size_1_serialises_tasks_in_submission_order() {
    within(Duration::from_secs(30), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p2-one")
            .size(1)
            .start()
            .unwrap();
        let tracker = Tracker::default();
        let gate = Gate::default();
        gate.open();
        let handles: Vec<_> = (0..50)
            .map(|i| pool.create_task(tracker.task(i, &gate)).unwrap())
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(wait(h), Ok(i));
        }
        assert_eq!(tracker.max(), 1);
        assert_eq!(tracker.order(), (0..50).collect::<Vec<_>>());
        pool.stop().unwrap();
    });
}

#[test]
fn p2_fifo_order_holds_for_submissions_from_several_threads() {
    // Each thread's own submissions start in its order (the global order is
    // the inbox's interleaving).
    within(Duration::from_secs(30), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p2-threads")
            .size(2)
            .start()
            .unwrap();
        let (tracker, gate) = (Tracker::default(), Gate::default());
        std::thread::scope(|s| {
            for t in 0..4 {
                let (pool, tracker, gate) = (&pool, &tracker, &gate);
                s.spawn(move || {
                    for i in 0..25 {
                        let task = tracker.task(t * 100 + i, gate);
                        pool.create_task(task).unwrap().detach();
                    }
                });
            }
        });
        wait_until("2 tasks running", || tracker.running() == 2);
        gate.open();
        wait_until("all 100 tasks done", || pool.stats().completed == 100);
        assert_eq!(tracker.max(), 2);
        let order = tracker.order();
        assert_eq!(order.len(), 100);
        for t in 0..4 {
            let mine: Vec<_> = order.iter().filter(|id| **id / 100 == t).collect();
            let expected: Vec<_> = (0..25).map(|i| t * 100 + i).collect();
            assert_eq!(mine, expected.iter().collect::<Vec<_>>(), "thread {t}");
        }
        pool.stop().unwrap();
    });
}

#[test]
fn p2_size_0_and_unset_are_unlimited() {
    within(Duration::from_secs(30), || {
        for (name, size) in [("p2-zero", Some(0)), ("p2-unset", None)] {
            let mut builder = BlockingThreadedTaskPool::builder().name(name);
            if let Some(size) = size {
                builder = builder.size(size);
            }
            let pool = builder.start().unwrap();
            let (tracker, gate) = (Tracker::default(), Gate::default());
            let handles: Vec<_> = (0..64)
                .map(|i| pool.create_task(tracker.task(i, &gate)).unwrap())
                .collect();
            // All 64 run at once while none can finish.
            wait_until("all 64 tasks running at once", || tracker.running() == 64);
            gate.open();
            for (i, h) in handles.into_iter().enumerate() {
                assert_eq!(wait(h), Ok(i));
            }
            assert_eq!(tracker.max(), 64, "{name}");
            pool.stop().unwrap();
        }
    });
}

#[test]
fn p2_async_front_size_2_limit_and_fifo() {
    within(Duration::from_secs(30), || {
        let pool = block_on(
            AsyncThreadedTaskPool::builder()
                .name("p2-async")
                .size(2)
                .start(),
        )
        .unwrap();
        let (tracker, gate) = (Tracker::default(), Gate::default());
        let handles: Vec<_> = (0..10)
            .map(|i| pool.create_task(tracker.task(i, &gate)).unwrap())
            .collect();
        wait_until("2 tasks running", || tracker.running() == 2);
        assert_eq!(tracker.order(), [0, 1]);
        gate.open();
        block_on(async {
            for (i, h) in handles.into_iter().enumerate() {
                assert_eq!(h.await, Ok(i));
            }
        });
        assert_eq!(tracker.max(), 2);
        assert_eq!(tracker.order(), (0..10).collect::<Vec<_>>());
        block_on(pool.stop()).unwrap();
    });
}

#[test]
fn p2_cancelled_buffered_task_gives_its_place_to_the_next_in_line() {
    within(Duration::from_secs(30), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p2-skip")
            .size(1)
            .start()
            .unwrap();
        let (tracker, gate) = (Tracker::default(), Gate::default());
        let first = pool.create_task(tracker.task(0, &gate)).unwrap();
        let second = pool.create_task(tracker.task(1, &gate)).unwrap();
        let third = pool.create_task(tracker.task(2, &gate)).unwrap();
        wait_until("the first task running", || tracker.running() == 1);
        second.cancel();
        assert_eq!(wait(second), Err(TaskError::Cancelled));
        gate.open();
        assert_eq!(wait(first), Ok(0));
        assert_eq!(wait(third), Ok(2));
        assert_eq!(tracker.order(), [0, 2]);
        assert_eq!(tracker.max(), 1);
        pool.stop().unwrap();
    });
}

#[test]
fn builder_capacity_gives_full_to_create_task_and_makes_run_wait_for_room() {
    within(Duration::from_secs(30), || {
        let pool = Arc::new(
            BlockingThreadedTaskPool::builder()
                .name("cap")
                .size(1)
                .capacity(2)
                .start()
                .unwrap(),
        );
        let (tracker, gate) = (Tracker::default(), Gate::default());
        let running = pool.create_task(tracker.task(0, &gate)).unwrap();
        wait_until("the first task running", || tracker.running() == 1);
        let queued: Vec<_> = (1..3)
            .map(|i| pool.create_task(tracker.task(i, &gate)).unwrap())
            .collect();
        assert_eq!(pool.stats().queued, 2);
        assert_eq!(
            pool.create_task(async { 99 }).err(),
            Some(TaskError::Full),
            "a third waiting task is over the capacity"
        );
        // `run` waits for room rather than failing.
        let (tx, rx) = mpsc::channel();
        let runner = {
            let pool = pool.clone();
            std::thread::spawn(move || {
                let r = pool.run(async { 7 });
                tx.send(()).unwrap();
                r
            })
        };
        assert!(
            rx.recv_timeout(Duration::from_millis(50)).is_err(),
            "run returned while the pool was full"
        );
        gate.open();
        assert_eq!(wait(running), Ok(0));
        for (i, h) in (1..).zip(queued) {
            assert_eq!(wait(h), Ok(i));
        }
        rx.recv_timeout(LONG).expect("run never got room");
        assert_eq!(runner.join().unwrap(), Ok(7));
        pool.stop().unwrap();
    });
}

#[test]
fn builder_capacity_run_waiting_for_room_gets_not_running_when_the_pool_stops() {
    within(Duration::from_secs(30), || {
        let pool = Arc::new(
            BlockingThreadedTaskPool::builder()
                .name("cap-stop")
                .size(1)
                .capacity(1)
                .start()
                .unwrap(),
        );
        let (tracker, gate) = (Tracker::default(), Gate::default());
        let running = pool.create_task(tracker.task(0, &gate)).unwrap();
        wait_until("the first task running", || tracker.running() == 1);
        let queued = pool.create_task(tracker.task(1, &gate)).unwrap();
        let runner = {
            let pool = pool.clone();
            std::thread::spawn(move || pool.run(async { 7 }))
        };
        let stopper = {
            let pool = pool.clone();
            std::thread::spawn(move || pool.stop())
        };
        wait_until("stop to begin", || !pool.is_running());
        gate.open();
        assert_eq!(stopper.join().unwrap(), Ok(()));
        assert_eq!(wait(running), Ok(0));
        assert_eq!(wait(queued), Ok(1));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || tx.send(runner.join().unwrap()));
        let outcome = rx.recv_timeout(LONG).expect("run waiting for room hung");
        assert_eq!(
            outcome,
            Err(TaskError::NotRunning {
                pool: "cap-stop".into()
            })
        );
    });
}
