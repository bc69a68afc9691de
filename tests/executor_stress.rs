//! Wakes and cancels from many threads while the executor runs: every handle
//! resolves exactly once, nothing is polled after its cancel took effect,
//! every future is dropped on the executor's thread, nothing leaks.

use concurrent_tasks::{JoinHandle, LocalExecutor, TaskError};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

const TASKS: usize = 2_000;
const THREADS: usize = 4;

#[derive(Default)]
struct Counters {
    live: AtomicUsize,
    dropped_elsewhere: AtomicUsize,
}

/// Pending until it has been polled `target` times; publishes its waker.
struct Worker {
    polls: usize,
    target: usize,
    waker: Arc<Mutex<Option<Waker>>>,
    counters: Arc<Counters>,
    home: std::thread::ThreadId,
}

impl Future for Worker {
    type Output = usize;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        self.polls += 1;
        if self.polls >= self.target {
            return Poll::Ready(self.polls);
        }
        *self.waker.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.counters.live.fetch_sub(1, Ordering::SeqCst);
        if std::thread::current().id() != self.home {
            self.counters
                .dropped_elsewhere
                .fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[test]
fn wakes_and_cancels_from_many_threads_resolve_every_handle_once() {
    let ex = LocalExecutor::new();
    let counters = Arc::new(Counters::default());
    let mut wakers = Vec::new();
    let mut handles: Vec<Option<JoinHandle<usize>>> = Vec::new();
    for i in 0..TASKS {
        let waker = Arc::new(Mutex::new(None));
        counters.live.fetch_add(1, Ordering::SeqCst);
        handles.push(Some(ex.spawn(Worker {
            polls: 0,
            target: 2 + i % 5,
            waker: waker.clone(),
            counters: counters.clone(),
            home: std::thread::current().id(),
        })));
        wakers.push(waker);
    }
    let wakers = Arc::new(wakers);
    // Hand every third handle to the cancelling threads.
    let to_cancel: Vec<(usize, JoinHandle<usize>)> = (0..TASKS)
        .step_by(3)
        .map(|i| (i, handles[i].take().unwrap()))
        .collect();
    let to_cancel = Arc::new(Mutex::new(to_cancel));
    let cancelled = Arc::new(Mutex::new(Vec::new()));

    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let wakers = wakers.clone();
            let to_cancel = to_cancel.clone();
            let cancelled = cancelled.clone();
            std::thread::spawn(move || {
                for round in 0..20 {
                    for (i, w) in wakers.iter().enumerate() {
                        if (i + round + t) % THREADS == 0 {
                            if let Some(w) = w.lock().unwrap().as_ref() {
                                w.wake_by_ref();
                            }
                        }
                    }
                    if t % 2 == 0 {
                        if let Some((i, h)) = to_cancel.lock().unwrap().pop() {
                            h.cancel();
                            cancelled.lock().unwrap().push((i, h));
                        }
                    }
                    std::thread::yield_now();
                }
            })
        })
        .collect();

    // Drive the executor while the threads hammer it.
    let done = ex.block_on(async {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            concurrent_tasks::sleep(Duration::from_millis(1)).await;
            if workers.iter().all(|w| w.is_finished()) || std::time::Instant::now() > deadline {
                break;
            }
        }
        // Wake every remaining task until all have finished (or been cancelled).
        for _ in 0..10 {
            for w in wakers.iter() {
                if let Some(w) = w.lock().unwrap().as_ref() {
                    w.wake_by_ref();
                }
            }
            concurrent_tasks::yield_now().await;
        }
        workers.into_iter().all(|w| w.join().is_ok())
    });
    assert!(done, "a helper thread panicked");
    for (i, h) in to_cancel.lock().unwrap().drain(..) {
        cancelled.lock().unwrap().push((i, h));
    }
    ex.run_until_stalled();

    let mut ok = 0;
    for h in handles.into_iter().flatten() {
        assert!(h.is_finished());
        let out = ex.block_on(h);
        assert!(matches!(out, Ok(n) if n >= 2), "{out:?}");
        ok += 1;
    }
    let mut cancels = 0;
    for (_, h) in cancelled.lock().unwrap().drain(..) {
        match ex.block_on(h) {
            Ok(_) => ok += 1, // finished before the cancel landed
            Err(TaskError::Cancelled) => cancels += 1,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ok + cancels, TASKS, "every handle resolves exactly once");
    assert!(ex.is_empty(), "{} tasks left", ex.len());
    assert_eq!(
        counters.live.load(Ordering::SeqCst),
        0,
        "every future was dropped"
    );
    assert_eq!(
        counters.dropped_elsewhere.load(Ordering::SeqCst),
        0,
        "futures are dropped on the executor's thread"
    );
}
