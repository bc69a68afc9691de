//! D1–D4: `Debouncer` (eager, lazy, eager+lazy) and `AsyncDebouncer`, mostly
//! on a manual clock; the scenarios of the Python library
//! asyncio-concurrent-tasks (its test_debounce.py) come first in each group,
//! with a window of `D` where it uses 10 ms.

mod common;

use common::poll_once;
use common::{wait, within, LONG};
use concurrent_tasks::{
    block_on, sleep, spawn, AsyncDebouncer, BlockingThreadedTaskPool, Debouncer, JoinHandle,
    LocalExecutor, TaskError,
};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const D: Duration = Duration::from_millis(100);
const MS: Duration = Duration::from_millis(1);

/// Records every call of the debounced function (at the call, before its
/// future runs) and every run that completed.
#[derive(Clone, Default)]
struct Calls {
    started: Arc<Mutex<Vec<u32>>>,
    finished: Arc<Mutex<Vec<u32>>>,
}

impl Calls {
    fn started(&self) -> Vec<u32> {
        self.started.lock().unwrap().clone()
    }

    fn finished(&self) -> Vec<u32> {
        self.finished.lock().unwrap().clone()
    }

    /// `f(n) = n`, done at once.
    fn echo(&self) -> impl Fn(u32) -> std::future::Ready<u32> + Send + Sync + 'static {
        let calls = self.clone();
        move |n| {
            calls.started.lock().unwrap().push(n);
            calls.finished.lock().unwrap().push(n);
            std::future::ready(n)
        }
    }

    /// `f(n) = n` after `run` of sleep; panics for 0.
    fn slow_echo(
        &self,
        run: Duration,
    ) -> impl Fn(u32) -> Pin<Box<dyn Future<Output = u32>>> + Send + Sync + 'static {
        let calls = self.clone();
        move |n| {
            calls.started.lock().unwrap().push(n);
            let finished = calls.finished.clone();
            Box::pin(async move {
                sleep(run).await;
                assert!(n != 0, "f got zero");
                finished.lock().unwrap().push(n);
                n
            })
        }
    }

    /// For `AsyncDebouncer`: records `n`, then sleeps `run`; panics for 0.
    fn sink(
        &self,
        run: Duration,
    ) -> impl Fn(u32) -> Pin<Box<dyn Future<Output = ()>>> + Send + Sync + 'static {
        let echo = self.slow_echo(run);
        move |n| {
            let fut = echo(n);
            Box::pin(async move {
                fut.await;
            })
        }
    }
}

/// Spawns `d.call(n)` on the current executor.
fn call<T: Clone + 'static>(d: &Rc<Debouncer<u32, T>>, n: u32) -> JoinHandle<T> {
    let d = d.clone();
    spawn(async move { d.call(n).await })
}

/// Spawns `d.call(n)` on `ex`.
fn call_on<T: Clone + 'static>(
    ex: &LocalExecutor,
    d: &Rc<Debouncer<u32, T>>,
    n: u32,
) -> JoinHandle<T> {
    let d = d.clone();
    ex.spawn(async move { d.call(n).await })
}

/// Advances the manual clock and runs what became ready.
fn step(ex: &LocalExecutor, by: Duration) {
    ex.advance_time(by);
    ex.run_until_stalled();
}

// === D1: eager ===

#[test]
fn d1_eager_first_call_runs_at_once() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = Debouncer::eager(D, calls.echo());
    assert_eq!(ex.block_on(d.call(1)), 1);
    assert_eq!(ex.now(), Duration::ZERO, "no wait");
    assert_eq!(calls.started(), [1]);
}

#[test]
fn d1_eager_calls_within_the_duration_return_the_last_result() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = Rc::new(Debouncer::eager(D, calls.slow_echo(MS)));
    // Upstream's test_debounce_eager_debounced: two calls at once.
    let both = ex.block_on(async {
        let (a, b) = (call(&d, 1), call(&d, 2));
        (a.await, b.await)
    });
    assert_eq!(both, (Ok(1), Ok(1)));
    assert_eq!(calls.started(), [1]);
    assert_eq!(
        ex.now(),
        MS,
        "the second call waited for the run, not the window"
    );
    // Still inside the window (it started with the run, at 0).
    step(&ex, D - 2 * MS);
    assert_eq!(ex.block_on(d.call(3)), 1);
    assert_eq!(calls.started(), [1], "f did not run again");
    // Upstream's test_debounce_eager_subsequent: after the window, f runs.
    step(&ex, MS);
    assert_eq!(ex.block_on(d.call(4)), 4);
    assert_eq!(calls.started(), [1, 4]);
}

#[test]
fn d1_eager_call_after_the_window_while_f_still_runs_waits_for_a_fresh_run() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = Rc::new(Debouncer::eager(D, calls.slow_echo(3 * D)));
    let first = call_on(&ex, &d, 1);
    ex.run_until_stalled();
    step(&ex, 2 * D); // the window is over, run 1 goes on
    let second = call_on(&ex, &d, 2);
    ex.run_until_stalled();
    step(&ex, D / 2);
    let third = call_on(&ex, &d, 3); // replaces the waiting argument
    ex.run_until_stalled();
    assert_eq!(calls.started(), [1], "never two runs at once");
    assert_eq!(ex.block_on(first), Ok(1));
    assert_eq!(ex.block_on(second), Ok(3));
    assert_eq!(ex.block_on(third), Ok(3));
    assert_eq!(calls.started(), [1, 3]);
    assert_eq!(ex.now(), 6 * D, "run 3 started when run 1 ended, at 3 D");
}

// === D2: lazy ===

#[test]
fn d2_lazy_runs_once_at_the_end_with_the_last_argument() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = Rc::new(Debouncer::lazy(D, calls.echo()));
    // Upstream's test_debounce_lazy_use_last_params, with a third caller.
    let all = ex.block_on(async {
        let hs = [call(&d, 1), call(&d, 2), call(&d, 3)];
        let mut out = Vec::new();
        for h in hs {
            out.push(h.await.unwrap());
        }
        out
    });
    assert_eq!(all, [3, 3, 3]);
    assert_eq!(calls.started(), [3]);
    assert_eq!(ex.now(), D, "at the end of the window");
}

#[test]
fn d2_lazy_subsequent_calls_each_wait_a_window() {
    // Upstream's test_debounce_lazy_subsequent.
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = Debouncer::lazy(D, calls.echo());
    assert_eq!(ex.block_on(d.call(1)), 1);
    assert_eq!(ex.block_on(d.call(2)), 2);
    assert_eq!(calls.started(), [1, 2]);
    assert_eq!(ex.now(), 2 * D);
}

#[test]
fn d2_lazy_window_is_fixed_from_its_first_call() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = Rc::new(Debouncer::lazy(D, calls.echo()));
    let a = call_on(&ex, &d, 1);
    ex.run_until_stalled();
    step(&ex, 40 * MS);
    let b = call_on(&ex, &d, 2);
    ex.run_until_stalled();
    step(&ex, 40 * MS);
    let c = call_on(&ex, &d, 3);
    ex.run_until_stalled();
    step(&ex, 19 * MS);
    assert!(calls.started().is_empty(), "never early");
    step(&ex, MS);
    assert_eq!(calls.started(), [3], "at 100 ms, not extended by the calls");
    for h in [a, b, c] {
        assert_eq!(h.try_take(), Some(Ok(3)));
    }
    step(&ex, 20 * MS);
    let next = call_on(&ex, &d, 4); // a new window, from 120 ms
    assert_eq!(ex.block_on(next), Ok(4));
    assert_eq!(ex.now(), 220 * MS);
}

#[test]
fn d2_dropped_first_caller_does_not_lose_the_trailing_run() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = Rc::new(Debouncer::lazy(D, calls.echo()));
    let starter = call_on(&ex, &d, 1);
    let other = call_on(&ex, &d, 2);
    ex.run_until_stalled();
    starter.cancel(); // drops the future that opened the window
    ex.run_until_stalled();
    assert_eq!(starter.try_take(), Some(Err(TaskError::Cancelled)));
    assert_eq!(ex.block_on(other), Ok(2));
    assert_eq!(calls.started(), [2]);
    assert_eq!(ex.now(), D);
}

#[test]
fn d2_every_caller_dropped_still_runs_the_trailing_call() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = Rc::new(Debouncer::lazy(D, calls.echo()));
    let hs = [call_on(&ex, &d, 1), call_on(&ex, &d, 2)];
    ex.run_until_stalled();
    hs.iter().for_each(JoinHandle::cancel);
    ex.run_until_stalled();
    step(&ex, D);
    assert_eq!(calls.started(), [2], "the run is not lost with its callers");
}

#[test]
fn d2_many_calls_keep_one_timer_registered() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = Rc::new(Debouncer::lazy(D, calls.echo()).extend_on_call(true));
    let count = 200;
    for n in 0..count {
        call_on(&ex, &d, n).detach();
        ex.run_until_stalled();
        assert_eq!(ex.timers(), 1, "call {n}: one timer for the window");
        step(&ex, MS);
    }
    assert!(calls.started().is_empty(), "every call pushed the end");
    step(&ex, D - 2 * MS);
    assert!(calls.started().is_empty(), "never early");
    step(&ex, MS);
    assert_eq!(calls.started(), [count - 1]);
    assert_eq!(ex.now(), (count - 1) * MS + D);
    assert_eq!(ex.timers(), 0);
}

#[test]
fn d2_fixed_window_many_calls_keep_one_timer_registered() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = Rc::new(Debouncer::eager_lazy(D, calls.echo()));
    for n in 0..90 {
        call_on(&ex, &d, n).detach();
        ex.run_until_stalled();
        assert!(ex.timers() <= 1, "call {n}: {} timers", ex.timers());
        step(&ex, MS);
    }
    step(&ex, 10 * MS);
    assert_eq!(calls.started(), [0, 89]);
}

// === D3: eager + lazy ===

#[test]
fn d3_eager_lazy_first_call_returns_at_once_later_calls_share_one_trailing_run() {
    // Upstream's test_debounce_full.
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = Rc::new(Debouncer::eager_lazy(D, calls.echo()));
    let hs = [
        call_on(&ex, &d, 1),
        call_on(&ex, &d, 2),
        call_on(&ex, &d, 3),
    ];
    ex.run_until_stalled();
    assert_eq!(hs[0].try_take(), Some(Ok(1)), "the first returns at once");
    assert!(!hs[1].is_finished() && !hs[2].is_finished());
    step(&ex, D - MS);
    assert_eq!(calls.started(), [1]);
    step(&ex, MS);
    assert_eq!(hs[1].try_take(), Some(Ok(3)));
    assert_eq!(hs[2].try_take(), Some(Ok(3)));
    assert_eq!(calls.started(), [1, 3]);
}

#[test]
fn d3_eager_lazy_trailing_run_ends_the_window_and_opens_the_next() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = Rc::new(Debouncer::eager_lazy(D, calls.echo()));
    assert_eq!(ex.block_on(d.call(1)), 1);
    step(&ex, 60 * MS);
    assert_eq!(ex.block_on(d.call(2)), 2);
    assert_eq!(ex.now(), D, "at the end of run 1's window, not 60 ms + D");
    step(&ex, 50 * MS); // inside the trailing run's window
    assert_eq!(ex.block_on(d.call(3)), 3);
    assert_eq!(ex.now(), 2 * D);
    step(&ex, D); // quiet: at once again
    assert_eq!(ex.block_on(d.call(4)), 4);
    assert_eq!(ex.now(), 3 * D);
    assert_eq!(calls.started(), [1, 2, 3, 4]);
}

#[test]
fn d3_dropped_caller_does_not_lose_the_trailing_run() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = Rc::new(Debouncer::eager_lazy(D, calls.echo()));
    assert_eq!(ex.block_on(d.call(1)), 1);
    let starter = call_on(&ex, &d, 2);
    let other = call_on(&ex, &d, 3);
    ex.run_until_stalled();
    starter.cancel();
    assert_eq!(ex.block_on(other), Ok(3));
    assert_eq!(calls.started(), [1, 3]);
}

#[test]
#[cfg_attr(miri, ignore)] // real clock
fn d3_eager_lazy_on_the_real_clock() {
    let u = Duration::from_millis(50);
    let slack = Duration::from_millis(40);
    within(LONG, move || {
        let calls = Calls::default();
        let d = Rc::new(Debouncer::eager_lazy(u, calls.echo()));
        block_on(async {
            let start = Instant::now();
            let hs = [call(&d, 1), call(&d, 2), call(&d, 3)];
            let [a, b, c] = hs;
            assert_eq!(a.await, Ok(1));
            assert!(
                start.elapsed() < slack,
                "first at once: {:?}",
                start.elapsed()
            );
            assert_eq!(b.await, Ok(3));
            assert_eq!(c.await, Ok(3));
            let took = start.elapsed();
            assert!(took >= u && took < u + slack, "trailing after {took:?}");
        });
        assert_eq!(calls.started(), [1, 3]);
    });
}

// === D4: AsyncDebouncer ===

#[test]
fn d4_async_debouncer_runs_at_once_then_the_last_debounced_argument() {
    // Upstream's test_async.
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = AsyncDebouncer::new(D, calls.sink(MS));
    ex.block_on(async {
        assert!(!d.call(1).await);
        assert!(d.call(2).await);
        assert!(d.call(3).await);
        sleep(D * 5 / 2).await;
        assert!(!d.call(4).await);
        d.flush().await;
    });
    assert_eq!(calls.started(), [1, 3, 4]);
    assert_eq!(calls.finished(), [1, 3, 4]);
}

#[test]
fn d4_call_returns_at_once() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = AsyncDebouncer::new(D, calls.sink(D));
    ex.block_on(async {
        assert_eq!(poll_once(d.call(1)).await, Some(false));
        assert_eq!(poll_once(d.call(2)).await, Some(true));
    });
    assert_eq!(ex.now(), Duration::ZERO);
    assert!(calls.finished().is_empty(), "call did not wait for f");
    ex.block_on(d.flush());
    assert_eq!(calls.finished(), [1, 2]);
}

#[test]
fn d4_pending_call_runs_at_the_end_of_the_window() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = AsyncDebouncer::new(D, calls.sink(Duration::ZERO));
    assert!(!ex.block_on(d.call(1)));
    ex.run_until_stalled();
    assert_eq!(calls.started(), [1]);
    step(&ex, 30 * MS);
    assert!(ex.block_on(d.call(2)), "within D of the end of run 1");
    step(&ex, D - MS);
    assert_eq!(calls.started(), [1], "never early");
    step(&ex, MS);
    assert_eq!(calls.started(), [1, 2], "D after the first debounced call");
    step(&ex, D);
    assert!(!ex.block_on(d.call(3)), "quiet again");
}

#[test]
fn d4_flush_runs_the_pending_call_at_once() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = AsyncDebouncer::new(Duration::from_secs(3600), calls.sink(Duration::ZERO));
    ex.block_on(async {
        d.flush().await; // nothing to do: returns at once
        assert!(!d.call(1).await);
        assert!(d.call(2).await);
        d.flush().await;
    });
    assert_eq!(calls.finished(), [1, 2]);
    assert_eq!(ex.now(), Duration::ZERO);
    assert_eq!(ex.timers(), 0);
}

#[test]
fn d4_flush_waits_for_the_run_in_progress() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = AsyncDebouncer::new(D, calls.sink(D));
    ex.block_on(async {
        assert!(!d.call(1).await);
        d.flush().await;
    });
    assert_eq!(calls.finished(), [1]);
    assert_eq!(ex.now(), D);
}

#[test]
fn d4_dropping_the_debouncer_runs_the_pending_call() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = AsyncDebouncer::new(Duration::from_secs(3600), calls.sink(Duration::ZERO));
    ex.block_on(async {
        assert!(!d.call(1).await);
        assert!(d.call(2).await);
    });
    drop(d);
    ex.run_until_stalled();
    assert_eq!(calls.finished(), [1, 2], "never lost");
    assert_eq!(ex.now(), Duration::ZERO, "at once, not after the hour");
    assert_eq!(ex.timers(), 0);
    assert!(ex.is_empty(), "the worker ended");
}

#[test]
fn d4_many_debounced_calls_keep_one_timer_registered() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = AsyncDebouncer::new(D, calls.sink(Duration::ZERO)).extend_on_call(true);
    assert!(!ex.block_on(d.call(0)));
    for n in 1..200 {
        assert!(ex.block_on(d.call(n)));
        ex.run_until_stalled();
        assert_eq!(ex.timers(), 1, "call {n}");
        step(&ex, MS);
    }
    step(&ex, D);
    assert_eq!(calls.started(), [0, 199]);
}

#[test]
fn d4_pending_call_survives_its_executor_and_runs_on_the_next() {
    let calls = Calls::default();
    let d = AsyncDebouncer::new(D, calls.sink(Duration::ZERO));
    {
        let first = LocalExecutor::new_manual();
        first.block_on(async {
            assert!(!d.call(1).await);
            assert!(d.call(2).await);
        });
        first.run_until_stalled();
    } // dropped with the worker waiting for the window's end
    assert_eq!(calls.started(), [1]);
    let second = LocalExecutor::new_manual();
    second.block_on(d.flush());
    assert_eq!(calls.started(), [1, 2]);
}

// === Edge cases: durations, panics, executors ===

#[test]
fn d1_zero_duration_runs_every_call() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = Debouncer::eager(Duration::ZERO, calls.echo());
    for n in 1..=3 {
        assert_eq!(ex.block_on(d.call(n)), n);
    }
    assert_eq!(calls.started(), [1, 2, 3]);
    assert_eq!(ex.timers(), 0);
}

#[test]
fn d2_zero_duration_batches_only_calls_of_the_same_instant() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = Rc::new(Debouncer::lazy(Duration::ZERO, calls.echo()));
    let both = ex.block_on(async {
        let (a, b) = (call(&d, 1), call(&d, 2));
        (a.await, b.await)
    });
    assert_eq!(both, (Ok(2), Ok(2)));
    assert_eq!(ex.block_on(d.call(3)), 3);
    assert_eq!(calls.started(), [2, 3]);
    assert_eq!(ex.now(), Duration::ZERO);
}

#[test]
fn d4_zero_duration_debounces_only_while_a_run_is_due() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = AsyncDebouncer::new(Duration::ZERO, calls.sink(Duration::ZERO));
    ex.block_on(async {
        assert!(!d.call(1).await);
        assert!(d.call(2).await, "run 1 has not happened yet");
    });
    ex.run_until_stalled();
    assert!(!ex.block_on(d.call(3)));
    ex.run_until_stalled();
    assert_eq!(calls.started(), [1, 2, 3]);
}

#[test]
fn d1_max_duration_keeps_the_first_result_and_sets_no_timer() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = Debouncer::eager(Duration::MAX, calls.echo());
    assert_eq!(ex.block_on(d.call(1)), 1);
    step(&ex, Duration::from_secs(365 * 86_400));
    assert_eq!(ex.block_on(d.call(2)), 1);
    assert_eq!(calls.started(), [1]);
    assert_eq!(ex.timers(), 0);
}

#[test]
fn d2_max_duration_never_runs_and_sets_no_timer() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = Rc::new(Debouncer::lazy(Duration::MAX, calls.echo()));
    let h = call_on(&ex, &d, 1);
    ex.run_until_stalled();
    assert_eq!(ex.timers(), 0, "\"never\" registers nothing");
    step(&ex, Duration::from_secs(365 * 86_400));
    assert!(!h.is_finished());
    assert!(calls.started().is_empty());
    assert!(format!("{d:?}").contains("pending: true"), "{d:?}");
}

#[test]
fn d3_max_duration_returns_the_first_call_and_holds_the_rest() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = Rc::new(Debouncer::eager_lazy(Duration::MAX, calls.echo()));
    assert_eq!(ex.block_on(d.call(1)), 1);
    let later = call_on(&ex, &d, 2);
    step(&ex, Duration::from_secs(86_400));
    assert!(!later.is_finished());
    assert_eq!(ex.timers(), 0);
}

#[test]
fn d4_max_duration_holds_the_pending_call_until_flush() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = AsyncDebouncer::new(Duration::MAX, calls.sink(Duration::ZERO));
    ex.block_on(async {
        assert!(!d.call(1).await);
        assert!(d.call(2).await);
    });
    step(&ex, Duration::from_secs(365 * 86_400));
    assert_eq!(calls.started(), [1]);
    assert_eq!(ex.timers(), 0);
    ex.block_on(d.flush());
    assert_eq!(calls.started(), [1, 2]);
}

#[test]
fn d2_panicking_f_reaches_every_caller_of_its_run() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = Rc::new(Debouncer::lazy(D, calls.slow_echo(Duration::ZERO)));
    let (a, b) = (d.clone(), d.clone());
    let tried = ex.spawn(async move { a.try_call(5).await });
    let called = ex.spawn(async move { b.call(0).await });
    let panic = TaskError::Panicked("f got zero".into());
    assert_eq!(ex.block_on(tried), Ok(Err(panic.clone())));
    assert_eq!(ex.block_on(called), Err(panic), "call re-raises the panic");
    assert_eq!(ex.block_on(d.call(7)), 7, "the debouncer goes on");
    assert_eq!(calls.started(), [0, 7]);
}

#[test]
fn d1_panicking_f_is_the_last_result_within_the_window() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = Debouncer::eager(D, calls.slow_echo(Duration::ZERO));
    let panic = Err(TaskError::Panicked("f got zero".into()));
    assert_eq!(ex.block_on(d.try_call(0)), panic);
    assert_eq!(
        ex.block_on(d.try_call(1)),
        panic,
        "as the Python library's future"
    );
    step(&ex, D);
    assert_eq!(ex.block_on(d.try_call(2)), Ok(2));
}

#[test]
fn d4_panicking_f_does_not_stop_the_debouncer() {
    let ex = LocalExecutor::new_manual();
    let calls = Calls::default();
    let d = AsyncDebouncer::new(D, calls.sink(Duration::ZERO));
    ex.block_on(async {
        assert!(!d.call(0).await);
        assert!(d.call(1).await);
        d.flush().await;
    });
    assert_eq!(calls.started(), [0, 1]);
    assert_eq!(calls.finished(), [1]);
}

#[test]
fn d1_outside_an_executor_is_a_clear_error() {
    let calls = Calls::default();
    let d = Debouncer::eager(D, calls.echo());
    let a = AsyncDebouncer::new(D, calls.sink(D));
    assert_eq!(
        common::foreign_block_on(d.try_call(1)),
        Err(TaskError::NoExecutor)
    );
    assert_eq!(
        common::foreign_block_on(a.try_call(1)),
        Err(TaskError::NoExecutor)
    );
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        common::foreign_block_on(d.call(1))
    }))
    .expect_err("call panics outside an executor");
    let message = panic.downcast_ref::<String>().expect("a message");
    assert!(message.contains("no executor"), "{message}");
    assert!(calls.started().is_empty());
}

#[test]
fn d2_run_left_by_a_dropped_executor_is_taken_over_by_the_next_call() {
    let calls = Calls::default();
    let d = Rc::new(Debouncer::lazy(D, calls.echo()));
    {
        let first = LocalExecutor::new_manual();
        let h = call_on(&first, &d, 1);
        first.run_until_stalled();
        drop(h);
    }
    let second = LocalExecutor::new_manual();
    assert_eq!(second.block_on(d.call(2)), 2);
    assert_eq!(calls.started(), [2]);
}

#[test]
#[cfg_attr(miri, ignore)] // threads and the real clock
fn d2_shared_across_pool_threads() {
    within(LONG, || {
        let calls = Calls::default();
        // A long window, so the second call lands in it however loaded the
        // machine is; the first call has opened it before the second is made.
        let d = Arc::new(Debouncer::lazy(Duration::from_millis(300), calls.echo()));
        let a = BlockingThreadedTaskPool::builder().start().unwrap();
        let b = BlockingThreadedTaskPool::builder().start().unwrap();
        let (d1, d2) = (d.clone(), d.clone());
        let (opened, window_open) = std::sync::mpsc::channel();
        let first = a
            .create_task(async move {
                let mut call = std::pin::pin!(d1.call(1));
                assert!(poll_once(&mut call).await.is_none());
                opened.send(()).unwrap();
                call.await
            })
            .unwrap();
        window_open.recv_timeout(LONG).unwrap();
        let second = b.create_task(async move { d2.call(2).await }).unwrap();
        assert_eq!(wait(first), Ok(2));
        assert_eq!(wait(second), Ok(2));
        assert_eq!(calls.started(), [2]);
        let saved = Calls::default();
        let save = Arc::new(AsyncDebouncer::new(
            Duration::from_millis(50),
            saved.sink(MS),
        ));
        let s = save.clone();
        let debounced = a
            .run(async move { (s.call(1).await, s.call(2).await) })
            .unwrap();
        assert_eq!(debounced, (false, true));
        let s = save.clone();
        b.run(async move { s.flush().await }).unwrap();
        assert_eq!(saved.finished(), [1, 2]);
        a.stop().unwrap();
        b.stop().unwrap();
    });
}

#[test]
fn d1_call_futures_are_send_for_send_arguments() {
    fn send<T: Send>(_: &T) {}
    let d = Debouncer::eager(D, |n: u32| async move { n });
    let a = AsyncDebouncer::new(D, |_: String| async {});
    send(&d.call(1));
    send(&d.try_call(1));
    send(&a.call(String::new()));
    send(&a.flush());
}

#[test]
fn d1_debug_never_blocks_and_shows_the_state() {
    let ex = LocalExecutor::new_manual();
    let d = Rc::new(Debouncer::eager_lazy(D, |n: u32| async move { n }));
    assert_eq!(ex.block_on(d.call(1)), 1);
    let later = call_on(&ex, &d, 2);
    ex.run_until_stalled();
    let shown = format!("{d:?}");
    assert!(
        shown.contains("EagerLazy") && shown.contains("pending: true"),
        "{shown}"
    );
    assert_eq!(ex.block_on(later), Ok(2));
    let a = AsyncDebouncer::new(D, |_: u32| async {});
    assert!(format!("{a:?}").contains("pending: false"));
}
