//! Executor unit tests that need no real time, so Miri runs them too.
//! (Timing behaviour is proven in `tests/time_*.rs`.)

use crate::time::ManualClock;
use crate::{try_spawn, yield_now, JoinHandle, LocalExecutor, TaskError};
use alloc::rc::Rc;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::Cell;
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::sync::Mutex;

/// A future that counts its polls and drops, stores its latest waker, and
/// stays pending until `ready` is set.
#[derive(Default)]
struct Probe {
    polls: AtomicUsize,
    drops: AtomicUsize,
    ready: core::sync::atomic::AtomicBool,
    waker: Mutex<Option<Waker>>,
    drop_thread: Mutex<Option<std::thread::ThreadId>>,
}

struct ProbeFuture(Arc<Probe>);

impl Future for ProbeFuture {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        self.0.polls.fetch_add(1, Ordering::SeqCst);
        *self.0.waker.lock().unwrap() = Some(cx.waker().clone());
        if self.0.ready.load(Ordering::SeqCst) {
            Poll::Ready(7)
        } else {
            Poll::Pending
        }
    }
}

impl Drop for ProbeFuture {
    fn drop(&mut self) {
        self.0.drops.fetch_add(1, Ordering::SeqCst);
        *self.0.drop_thread.lock().unwrap() = Some(std::thread::current().id());
    }
}

impl Probe {
    fn spawn_on(ex: &LocalExecutor) -> (Arc<Probe>, JoinHandle<u32>) {
        let probe = Arc::new(Probe::default());
        let handle = ex.spawn(ProbeFuture(probe.clone()));
        (probe, handle)
    }
    fn polls(&self) -> usize {
        self.polls.load(Ordering::SeqCst)
    }
    fn drops(&self) -> usize {
        self.drops.load(Ordering::SeqCst)
    }
    fn waker(&self) -> Waker {
        self.waker
            .lock()
            .unwrap()
            .clone()
            .expect("polled at least once")
    }
}

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn join_handle_and_sleep_are_send_and_sync() {
    assert_send_sync::<JoinHandle<u32>>();
    assert_send_sync::<crate::Sleep>();
    assert_send_sync::<TaskError>();
    fn assert_send<T: Send>(_: &T) {}
    crate::block_on(async {
        let fut = async { crate::sleep(Duration::from_millis(1)).await };
        assert_send(&fut);
        let t = crate::timeout(Duration::from_millis(1), async {});
        assert_send(&t);
    });
}

#[test]
fn t5_block_on_runs_spawned_tasks_on_the_same_executor() {
    let ex = LocalExecutor::new();
    let out = ex.block_on(async {
        let inner = crate::spawn(async { crate::spawn(async { 40 }).await.unwrap() + 2 });
        inner.await
    });
    assert_eq!(out, Ok(42));
    assert!(ex.is_empty(), "finished tasks leave the table");
}

#[test]
fn t5_spawn_accepts_non_send_futures() {
    let ex = LocalExecutor::new();
    let shared = Rc::new(Cell::new(0));
    let s = shared.clone();
    let h = ex.spawn(async move {
        s.set(s.get() + 1);
        Rc::new(5) // a !Send output is fine too
    });
    ex.run_until_stalled();
    assert_eq!(shared.get(), 1);
    assert_eq!(ex.block_on(h).map(|rc| *rc), Ok(5));
}

#[test]
fn t5_try_spawn_outside_an_executor_is_an_error() {
    assert!(matches!(try_spawn(async {}), Err(TaskError::NoExecutor)));
    assert!(matches!(
        crate::time::try_sleep(Duration::from_millis(1)),
        Err(TaskError::NoExecutor)
    ));
}

#[test]
#[should_panic(expected = "spawn called outside an executor")]
fn t5_spawn_outside_an_executor_panics_with_advice() {
    crate::spawn(async {}).detach();
}

#[test]
#[should_panic(expected = "concurrent_tasks::sleep was polled outside an executor")]
fn t5_a_sleep_polled_outside_an_executor_panics_with_advice() {
    let sleep = crate::sleep(Duration::from_millis(1)); // made anywhere: fine
    let mut sleep = std::pin::pin!(sleep);
    let _ = sleep
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
}

#[test]
#[should_panic(expected = "cannot block inside an executor")]
fn t5_nested_block_on_panics_instead_of_deadlocking() {
    crate::block_on(async { crate::block_on(async {}) });
}

#[test]
fn t5_a_panicking_task_yields_panicked_and_the_executor_goes_on() {
    let ex = LocalExecutor::new();
    let bad = ex.spawn(async {
        if true {
            panic!("boom {}", 1);
        }
    });
    let good = ex.spawn(async { 3 });
    let (bad, good) = ex.block_on(async { (bad.await, good.await) });
    assert_eq!(bad, Err(TaskError::Panicked("boom 1".into())));
    assert_eq!(good, Ok(3));
    let h = ex.spawn(async { "still serving" });
    assert_eq!(ex.block_on(h), Ok("still serving"));
}

#[test]
fn output_is_taken_once_then_already_taken() {
    let ex = LocalExecutor::new();
    let mut h = ex.spawn(async { 1 });
    ex.run_until_stalled();
    assert!(h.is_finished());
    let waker = Waker::from(Arc::new(NoopWake));
    let mut cx = Context::from_waker(&waker);
    assert_eq!(Pin::new(&mut h).poll(&mut cx), Poll::Ready(Ok(1)));
    assert_eq!(
        Pin::new(&mut h).poll(&mut cx),
        Poll::Ready(Err(TaskError::AlreadyTaken))
    );
    assert_eq!(h.try_take(), Some(Err(TaskError::AlreadyTaken)));
}

struct NoopWake;
impl alloc::task::Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}

#[test]
fn a_task_woken_many_times_before_it_runs_is_polled_once() {
    let ex = LocalExecutor::new();
    let (probe, _h) = Probe::spawn_on(&ex);
    ex.run_until_stalled();
    assert_eq!(probe.polls(), 1);
    // Wakes on this thread while the executor is not running, then from
    // another thread: all collapse into one queued run.
    let waker = probe.waker();
    for _ in 0..10 {
        waker.wake_by_ref();
    }
    let w = waker.clone();
    std::thread::spawn(move || (0..10).for_each(|_| w.wake_by_ref()))
        .join()
        .unwrap();
    ex.run_until_stalled();
    assert_eq!(probe.polls(), 2);
    // Wakes from inside a running task (the local, lock-free path) too.
    let w = waker.clone();
    ex.block_on(async move {
        for _ in 0..10 {
            w.wake_by_ref();
        }
        yield_now().await;
    });
    assert_eq!(probe.polls(), 3);
}

#[test]
fn t6_stale_waker_woken_from_another_thread_is_harmless() {
    let ex = LocalExecutor::new();
    let (old, h) = Probe::spawn_on(&ex);
    ex.run_until_stalled();
    let stale = old.waker();
    old.ready.store(true, Ordering::SeqCst);
    stale.wake_by_ref();
    ex.run_until_stalled();
    assert_eq!(ex.block_on(h), Ok(7));
    // A new task reuses the finished task's table entry.
    let (new, _h2) = Probe::spawn_on(&ex);
    ex.run_until_stalled();
    assert_eq!(new.polls(), 1);
    let rounds = if cfg!(miri) { 10 } else { 1000 };
    std::thread::spawn(move || (0..rounds).for_each(|_| stale.wake_by_ref()))
        .join()
        .unwrap();
    ex.run_until_stalled();
    assert_eq!(
        new.polls(),
        1,
        "a stale waker must not wake the task that reused its entry"
    );
    assert_eq!(old.polls(), 2, "nor the finished task");
}

#[test]
fn cancel_before_start_never_polls_the_task() {
    let ex = LocalExecutor::new();
    let (probe, h) = Probe::spawn_on(&ex);
    h.cancel();
    h.cancel(); // twice is a no-op
    ex.run_until_stalled();
    assert_eq!((probe.polls(), probe.drops()), (0, 1));
    assert_eq!(ex.block_on(h), Err(TaskError::Cancelled));
    assert!(ex.is_empty());
}

#[test]
fn cancel_from_another_thread_drops_the_task_on_the_executor_thread() {
    let ex = LocalExecutor::new();
    let (probe, h) = Probe::spawn_on(&ex);
    ex.run_until_stalled();
    assert_eq!(probe.polls(), 1);
    let h = std::thread::spawn(move || {
        h.cancel();
        h
    })
    .join()
    .unwrap();
    assert!(!h.is_finished(), "resolved only once the future is dropped");
    ex.run_until_stalled();
    assert_eq!((probe.polls(), probe.drops()), (1, 1));
    assert_eq!(
        *probe.drop_thread.lock().unwrap(),
        Some(std::thread::current().id())
    );
    assert_eq!(ex.block_on(h), Err(TaskError::Cancelled));
}

#[test]
fn cancel_after_completion_keeps_the_output() {
    let ex = LocalExecutor::new();
    let h = ex.spawn(async { 5 });
    ex.run_until_stalled();
    h.cancel();
    ex.run_until_stalled();
    assert_eq!(ex.block_on(h), Ok(5));
}

#[test]
fn dropping_the_handle_detaches_the_task() {
    let ex = LocalExecutor::new();
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    ex.spawn(async move {
        yield_now().await;
        r.set(true);
    })
    .detach();
    ex.run_until_stalled();
    assert!(ran.get());
}

#[test]
fn dropping_the_executor_cancels_its_tasks() {
    let ex = LocalExecutor::new();
    let (probe, h) = Probe::spawn_on(&ex);
    ex.run_until_stalled();
    drop(ex);
    assert_eq!(probe.drops(), 1);
    assert_eq!(h.try_take(), Some(Err(TaskError::Cancelled)));
    // A waker outliving its executor is harmless too.
    probe.waker().wake();
}

#[test]
fn yield_now_lets_other_ready_tasks_run_first() {
    let ex = LocalExecutor::new();
    let log = Rc::new(core::cell::RefCell::new(Vec::new()));
    for name in ["a", "b"] {
        let log = log.clone();
        ex.spawn(async move {
            for i in 0..2 {
                log.borrow_mut().push((name, i));
                yield_now().await;
            }
        })
        .detach();
    }
    ex.run_until_stalled();
    assert_eq!(*log.borrow(), [("a", 0), ("b", 0), ("a", 1), ("b", 1)]);
}

#[test]
fn t3_manual_clock_fires_exactly_at_the_deadline_never_before() {
    let clock = ManualClock::new();
    let ex = LocalExecutor::with_clock(clock.clone());
    // 5.3 ms: filed in the 6 ms tick, but due at 5.3 ms exactly.
    let h = ex.spawn(ex.sleep(Duration::from_micros(5_300)));
    ex.run_until_stalled();
    assert_eq!(ex.timers(), 1);
    ex.advance_time(Duration::from_micros(5_299));
    ex.run_until_stalled();
    assert!(!h.is_finished(), "fired early");
    ex.advance_time(Duration::from_micros(1));
    ex.run_until_stalled();
    assert!(h.is_finished(), "not fired at its deadline");
    assert_eq!(ex.timers(), 0);
}

#[test]
fn t3_duration_max_never_fires_and_registers_nothing() {
    let clock = ManualClock::new();
    let ex = LocalExecutor::with_clock(clock.clone());
    let h = ex.spawn(ex.sleep(Duration::MAX));
    ex.run_until_stalled();
    assert_eq!(ex.timers(), 0);
    ex.advance_time(Duration::from_secs(u64::MAX));
    ex.run_until_stalled();
    assert!(!h.is_finished());
}

#[test]
fn t3_a_deadline_past_the_horizon_waits_and_cascades() {
    let clock = ManualClock::new();
    let ex = LocalExecutor::with_clock(clock.clone());
    let three_years = Duration::from_secs(3 * 365 * 24 * 3600); // wheel horizon ~2.2 years
    let h = ex.spawn(ex.sleep(three_years));
    ex.run_until_stalled();
    for _ in 0..3 {
        ex.advance_time(three_years / 3 - Duration::from_nanos(1));
        ex.run_until_stalled();
        assert!(!h.is_finished());
    }
    ex.advance_time(Duration::from_nanos(3));
    ex.run_until_stalled();
    assert!(h.is_finished());
}

#[test]
fn t2_dropping_a_pending_timer_frees_its_entry() {
    let ex = LocalExecutor::with_clock(ManualClock::new());
    let n = if cfg!(miri) { 20 } else { 1000 };
    let handles: Vec<_> = (1..=n)
        .map(|i| ex.spawn(ex.sleep(Duration::from_millis(i))))
        .collect();
    ex.run_until_stalled();
    assert_eq!(ex.timers(), n as usize);
    for h in &handles {
        h.cancel();
    }
    ex.run_until_stalled();
    assert_eq!(
        ex.timers(),
        0,
        "cancelled sleeps leave nothing in the wheel"
    );
}

#[test]
fn block_on_with_a_manual_clock_jumps_to_the_next_timer() {
    let clock = ManualClock::new();
    let ex = LocalExecutor::with_clock(clock.clone());
    let woke_at = ex.block_on(async {
        crate::sleep(Duration::from_secs(3600)).await;
        crate::time::now()
    });
    assert_eq!(clock.now(), Duration::from_secs(3600));
    let _ = woke_at;
}
