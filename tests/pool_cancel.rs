//! P7: cancel through the handle, from any thread. A task cancelled before
//! it started is never polled; one cancelled while running is dropped at its
//! next await point, on the pool thread; its handle yields `Cancelled`.

mod common;

use common::{counting, wait, within, Gate, LONG};
use concurrent_tasks::{
    block_on, sleep, yield_now, AsyncThreadedTaskPool, BlockingThreadedTaskPool, TaskError,
    TaskHandle,
};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::ThreadId;
use std::time::Duration;

/// Reports the thread (name, id) it is dropped on.
struct DropProbe(mpsc::Sender<(Option<String>, ThreadId)>);

impl Drop for DropProbe {
    fn drop(&mut self) {
        let t = std::thread::current();
        let _ = self.0.send((t.name().map(str::to_owned), t.id()));
    }
}

/// Cancels `handle` from a thread of its own.
fn cancel_from_another_thread<T>(handle: &TaskHandle<T>) -> ThreadId
where
    T: Send,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            handle.cancel();
            std::thread::current().id()
        })
        .join()
        .unwrap()
    })
}

#[test]
fn p7_cancelled_while_buffered_is_never_polled() {
    within(Duration::from_secs(30), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p7-buffer")
            .size(1)
            .start()
            .unwrap();
        let gate = Gate::default();
        let (started_tx, started_rx) = mpsc::channel();
        let holder = {
            let gate = gate.wait();
            pool.create_task(async move {
                started_tx.send(()).unwrap();
                gate.await;
                1
            })
            .unwrap()
        };
        started_rx
            .recv_timeout(LONG)
            .expect("the first task started");
        let polls = Arc::new(AtomicUsize::new(0));
        let buffered = pool.create_task(counting(&polls, async { 2 })).unwrap();
        let after = pool.create_task(async { 3 }).unwrap();
        cancel_from_another_thread(&buffered);
        assert_eq!(wait(buffered), Err(TaskError::Cancelled));
        gate.open();
        assert_eq!(wait(holder), Ok(1));
        assert_eq!(wait(after), Ok(3), "the next in line still runs");
        pool.stop().unwrap();
        assert_eq!(
            polls.load(Ordering::SeqCst),
            0,
            "a cancelled task was polled"
        );
    });
}

#[test]
fn p7_cancelled_before_the_pool_thread_saw_it_is_never_polled() {
    within(Duration::from_secs(30), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p7-inbox")
            .start()
            .unwrap();
        // Hold the pool thread itself (a blocking task) so the next job stays
        // in the inbox while it is cancelled.
        let (hold_tx, hold_rx) = mpsc::channel::<()>();
        let (held_tx, held_rx) = mpsc::channel();
        let blocker = pool
            .create_task(async move {
                held_tx.send(()).unwrap();
                hold_rx.recv_timeout(LONG).expect("released");
            })
            .unwrap();
        held_rx.recv_timeout(LONG).expect("the pool thread is held");
        let polls = Arc::new(AtomicUsize::new(0));
        let h = pool.create_task(counting(&polls, async { 5 })).unwrap();
        cancel_from_another_thread(&h);
        assert!(!h.is_finished(), "the pool thread is held: nothing ran yet");
        hold_tx.send(()).unwrap();
        assert_eq!(wait(blocker), Ok(()));
        assert_eq!(wait(h), Err(TaskError::Cancelled));
        assert_eq!(pool.run(async { 6 }), Ok(6));
        pool.stop().unwrap();
        assert_eq!(
            polls.load(Ordering::SeqCst),
            0,
            "a cancelled task was polled"
        );
    });
}

#[test]
fn p7_cancelled_while_running_is_dropped_at_its_await_on_the_pool_thread() {
    within(Duration::from_secs(30), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p7-running")
            .start()
            .unwrap();
        let pool_thread = pool.run(async { std::thread::current().id() }).unwrap();
        let (drop_tx, drop_rx) = mpsc::channel();
        let (started_tx, started_rx) = mpsc::channel();
        let resumed = Arc::new(AtomicBool::new(false));
        let h = {
            let resumed = resumed.clone();
            pool.create_task(async move {
                let _probe = DropProbe(drop_tx);
                started_tx.send(()).unwrap();
                sleep(Duration::from_secs(3600)).await;
                resumed.store(true, Ordering::SeqCst);
            })
            .unwrap()
        };
        started_rx.recv_timeout(LONG).expect("the task started");
        assert!(!h.is_finished());
        let canceller = cancel_from_another_thread(&h);
        assert_eq!(wait(h), Err(TaskError::Cancelled));
        let (name, id) = drop_rx.recv_timeout(LONG).expect("the future was dropped");
        assert_eq!(
            name.as_deref(),
            Some("p7-running"),
            "dropped off the pool thread"
        );
        assert_eq!(id, pool_thread, "dropped off the pool thread");
        assert_ne!(id, canceller);
        assert_ne!(id, std::thread::current().id());
        assert!(!resumed.load(Ordering::SeqCst), "ran past its await point");
        assert_eq!(pool.run(async { 1 }), Ok(1), "the pool keeps serving");
        pool.stop().unwrap();
    });
}

#[test]
fn p7_cancel_during_a_busy_poll_takes_effect_at_the_next_await() {
    within(Duration::from_secs(30), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p7-busy")
            .start()
            .unwrap();
        let (drop_tx, drop_rx) = mpsc::channel();
        let (busy_tx, busy_rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let steps = Arc::new(AtomicUsize::new(0));
        let h = {
            let steps = steps.clone();
            pool.create_task(async move {
                let _probe = DropProbe(drop_tx);
                // Synchronous work inside one poll: the cancel arrives here.
                busy_tx.send(()).unwrap();
                go_rx.recv_timeout(LONG).expect("released");
                steps.fetch_add(1, Ordering::SeqCst);
                yield_now().await; // the next await point
                steps.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap()
        };
        busy_rx.recv_timeout(LONG).expect("the task is in its poll");
        cancel_from_another_thread(&h);
        go_tx.send(()).unwrap();
        assert_eq!(wait(h), Err(TaskError::Cancelled));
        let (name, _) = drop_rx.recv_timeout(LONG).expect("the future was dropped");
        assert_eq!(name.as_deref(), Some("p7-busy"));
        assert_eq!(
            steps.load(Ordering::SeqCst),
            1,
            "the poll in progress completes; nothing after the await runs"
        );
        pool.stop().unwrap();
    });
}

#[test]
fn p7_cancel_after_completion_keeps_the_output() {
    within(Duration::from_secs(30), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p7-late")
            .start()
            .unwrap();
        let mut h = pool.create_task(async { 9 }).unwrap();
        let deadline = std::time::Instant::now() + LONG;
        while !h.is_finished() {
            assert!(std::time::Instant::now() < deadline);
            std::thread::yield_now();
        }
        h.cancel();
        h.cancel();
        assert_eq!(h.wait_timeout(LONG), Some(Ok(9)));
        pool.stop().unwrap();
    });
}

#[test]
fn p7_async_front_cancel_from_another_thread() {
    within(Duration::from_secs(30), || {
        let pool = block_on(AsyncThreadedTaskPool::builder().name("p7-async").start()).unwrap();
        let (drop_tx, drop_rx) = mpsc::channel();
        let (started_tx, started_rx) = mpsc::channel();
        let h = pool
            .create_task(async move {
                let _probe = DropProbe(drop_tx);
                started_tx.send(()).unwrap();
                std::future::pending::<()>().await;
            })
            .unwrap();
        started_rx.recv_timeout(LONG).expect("the task started");
        cancel_from_another_thread(&h);
        assert_eq!(block_on(h), Err(TaskError::Cancelled));
        let (name, _) = drop_rx.recv_timeout(LONG).expect("the future was dropped");
        assert_eq!(name.as_deref(), Some("p7-async"));
        block_on(pool.stop()).unwrap();
    });
}

#[test]
fn p7_cancel_from_a_task_on_the_pool_thread() {
    within(Duration::from_secs(30), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p7-local")
            .start()
            .unwrap();
        let (drop_tx, drop_rx) = mpsc::channel();
        let victim = pool
            .create_task(async move {
                let _probe = DropProbe(drop_tx);
                std::future::pending::<()>().await;
            })
            .unwrap();
        // Another task of the same pool cancels it (a wake from the
        // executor's own thread) and awaits the outcome.
        let canceller = pool
            .create_task(async move {
                yield_now().await;
                victim.cancel();
                victim.await
            })
            .unwrap();
        assert_eq!(wait(canceller), Ok(Err(TaskError::Cancelled)));
        let (name, _) = drop_rx.recv_timeout(LONG).expect("the future was dropped");
        assert_eq!(name.as_deref(), Some("p7-local"));
        pool.stop().unwrap();
    });
}
