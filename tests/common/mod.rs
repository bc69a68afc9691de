//! Helpers shared by the pool integration tests (each test binary declares
//! `mod common;` and uses what it needs).

#![allow(dead_code)]

use concurrent_tasks::{sleep, yield_now, TaskError, TaskHandle};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

pub const LONG: Duration = Duration::from_secs(10);

/// Runs `body` on its own thread and fails (instead of hanging) when it takes
/// longer than `limit`; a panic in `body` fails the test with its message.
pub fn within<T: Send + 'static>(limit: Duration, body: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let _ = tx.send(body());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => {
            thread.join().expect("test thread ended");
            value
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("test body hung for more than {limit:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(thread.join().expect_err("the body panicked"))
        }
    }
}

/// Waits for a handle, failing instead of hanging.
pub fn wait<T>(mut handle: TaskHandle<T>) -> Result<T, TaskError> {
    handle
        .wait_timeout(LONG)
        .expect("task did not finish within 10 s")
}

/// Polls `cond` every millisecond until it holds; fails after 10 s.
pub fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + LONG;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Runs `future` to its end on this thread as a foreign executor would,
/// outside every executor of the crate: a waker that unparks this thread.
pub fn foreign_block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}

/// Polls `future` once with the caller's waker: its output if that poll
/// finished it, `None` if it is pending (then it is dropped).
pub async fn poll_once<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|cx| match future.as_mut().poll(cx) {
        Poll::Ready(output) => Poll::Ready(Some(output)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

/// A one-way latch that async tasks on any executor wait at.
#[derive(Clone, Default)]
pub struct Gate(Arc<Mutex<(bool, Vec<Waker>)>>);

impl Gate {
    pub fn open(&self) {
        let wakers = {
            let mut state = self.0.lock().unwrap();
            state.0 = true;
            std::mem::take(&mut state.1)
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let gate = self.clone();
        std::future::poll_fn(move |cx| {
            let mut state = gate.0.lock().unwrap();
            if state.0 {
                Poll::Ready(())
            } else {
                state.1.push(cx.waker().clone());
                Poll::Pending
            }
        })
    }
}

/// `future`, counting how often it is polled.
pub fn counting<F: Future + Send + 'static>(
    polls: &Arc<AtomicUsize>,
    future: F,
) -> impl Future<Output = F::Output> + Send + 'static {
    let polls = polls.clone();
    let mut future = Box::pin(future);
    std::future::poll_fn(move |cx| {
        polls.fetch_add(1, Ordering::SeqCst);
        future.as_mut().poll(cx)
    })
}

/// What an `on_unhandled` hook received.
#[derive(Clone, Default)]
pub struct Unhandled(Arc<Mutex<Vec<TaskError>>>);

impl Unhandled {
    pub fn hook(&self) -> impl Fn(TaskError) + Send + Sync + 'static {
        let seen = self.0.clone();
        move |err| seen.lock().unwrap().push(err)
    }

    pub fn take(&self) -> Vec<TaskError> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// Counts tasks running now, the most at once, and the order they started.
#[derive(Clone, Default)]
pub struct Tracker {
    now: Arc<AtomicUsize>,
    max: Arc<AtomicUsize>,
    order: Arc<Mutex<Vec<usize>>>,
}

impl Tracker {
    /// A task that records its start, holds at `gate`, then naps a little
    /// (2 ms).
    pub fn task(&self, id: usize, gate: &Gate) -> impl Future<Output = usize> + Send + 'static {
        self.tracked(id, gate, || sleep(Duration::from_millis(2)))
    }

    /// Like [`Tracker::task`], but yields once instead of napping after the
    /// gate opens (no timer needed).
    pub fn task_yielding(
        &self,
        id: usize,
        gate: &Gate,
    ) -> impl Future<Output = usize> + Send + 'static {
        self.tracked(id, gate, yield_now)
    }

    /// Records the start, holds at `gate`, then awaits `pause()` (made only
    /// once the gate opens) before counting itself done.
    fn tracked<P: Future<Output = ()> + Send + 'static>(
        &self,
        id: usize,
        gate: &Gate,
        pause: impl FnOnce() -> P + Send + 'static,
    ) -> impl Future<Output = usize> + Send + 'static {
        let (t, gate) = (self.clone(), gate.wait());
        async move {
            t.order.lock().unwrap().push(id);
            let now = t.now.fetch_add(1, Ordering::SeqCst) + 1;
            t.max.fetch_max(now, Ordering::SeqCst);
            gate.await;
            pause().await;
            t.now.fetch_sub(1, Ordering::SeqCst);
            id
        }
    }

    pub fn running(&self) -> usize {
        self.now.load(Ordering::SeqCst)
    }

    pub fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }

    pub fn order(&self) -> Vec<usize> {
        self.order.lock().unwrap().clone()
    }
}
