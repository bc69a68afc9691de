//! T1, T3: `sleep` / `sleep_until` on the real clock. Bounds leave 40 ms of
//! slack for a loaded 2-core machine; precision is measured in `benches/`.

use concurrent_tasks::{block_on, sleep, sleep_until, spawn, LocalExecutor};
use std::time::{Duration, Instant};

const SLACK: Duration = Duration::from_millis(40);

#[test]
fn t1_sleep_wakes_no_earlier_than_its_duration() {
    block_on(async {
        for ms in [1, 7, 50] {
            let d = Duration::from_millis(ms);
            let start = Instant::now();
            sleep(d).await;
            let took = start.elapsed();
            assert!(took >= d, "woke after {took:?}, before {d:?}");
            assert!(took < d + SLACK, "woke after {took:?}, far past {d:?}");
        }
    });
}

#[test]
fn t1_many_concurrent_sleepers_each_wake_after_their_own_deadline() {
    let early = block_on(async {
        let start = Instant::now();
        let handles: Vec<_> = (0..200u64)
            .map(|i| {
                let d = Duration::from_micros(250 * i);
                spawn(async move {
                    let deadline = start + d;
                    sleep_until(deadline).await;
                    Instant::now().checked_duration_since(deadline).is_none()
                })
            })
            .collect();
        let mut early = 0;
        for h in handles {
            early += usize::from(h.await.unwrap());
        }
        assert!(start.elapsed() < Duration::from_millis(50) + SLACK);
        early
    });
    assert_eq!(early, 0, "sleepers woke before their deadline");
}

#[test]
fn t3_zero_and_past_deadlines_complete_at_once() {
    block_on(async {
        let start = Instant::now();
        sleep(Duration::ZERO).await;
        sleep_until(start - Duration::from_secs(1)).await;
        assert!(start.elapsed() < SLACK);
    });
}

#[test]
fn t3_huge_durations_are_accepted_without_overflow() {
    let ex = LocalExecutor::new();
    ex.block_on(async {
        for d in [
            Duration::MAX,
            Duration::from_secs(u64::MAX),
            Duration::from_secs(u64::MAX / 1_000_000_000),
            Duration::from_secs(10 * 365 * 24 * 3600),
        ] {
            let s = sleep(d);
            let r = concurrent_tasks::timeout(Duration::from_millis(2), s).await;
            assert!(r.is_err(), "{d:?} must not complete now");
        }
    });
    assert_eq!(ex.timers(), 0, "timed-out sleeps are cancelled");
}

#[test]
fn t1_sleep_registered_from_another_thread_wakes_a_parked_executor() {
    // The executor parks until a 10 s timer; a sleep of its wheel, polled on
    // another thread with an earlier deadline, must get it up in time.
    let ex = LocalExecutor::new();
    let mut far = ex.sleep(Duration::from_secs(10));
    let near = ex.sleep(Duration::from_millis(30));
    let fired = Arc::new(AtomicBool::new(false));
    let main_waker: Arc<Mutex<Option<Waker>>> = Arc::default();
    let start = Instant::now();
    let poller = {
        let signal = Arc::new(Signal {
            fired: fired.clone(),
            main: main_waker.clone(),
        });
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10)); // executor parks meanwhile
            let mut near = near;
            let waker = Waker::from(signal);
            let mut cx = Context::from_waker(&waker);
            assert!(Pin::new(&mut near).poll(&mut cx).is_pending());
            near // keep the registration alive
        })
    };
    ex.block_on(std::future::poll_fn(|cx| {
        *main_waker.lock().unwrap() = Some(cx.waker().clone());
        if fired.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        let _ = Pin::new(&mut far).poll(cx);
        Poll::Pending
    }));
    let took = start.elapsed();
    assert!(poller.join().unwrap().is_elapsed());
    assert!(took >= Duration::from_millis(30), "fired early: {took:?}");
    assert!(
        took < Duration::from_secs(2),
        "the parked executor slept on: {took:?}"
    );
}

/// Wakes `main` after setting `fired`.
struct Signal {
    fired: Arc<AtomicBool>,
    main: Arc<Mutex<Option<Waker>>>,
}

impl std::task::Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.fired.store(true, Ordering::SeqCst);
        if let Some(w) = self.main.lock().unwrap().take() {
            w.wake();
        }
    }
}

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
