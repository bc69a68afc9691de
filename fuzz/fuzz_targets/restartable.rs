//! Differential fuzzing of `RestartableTask` (no_std build) against a plain
//! state-table model, on a `LocalExecutor` with a manual clock driven by hand.
//!
//! Ops: start, cancel, set_result(v), advance time (ms), run the executor,
//! make / poll / drop a join future, drop the executor (its driver goes: the
//! running attempt counts as cancelled) and make a new one on the same clock.
//! After each op the task must agree with the model: the return values, the
//! outcome (a result, `TimedOut` at the deadline, `NotStarted` before the
//! first start), `f`'s call count, the live attempt futures once the
//! executor has run, and every pending join woken once the task completes.

#![no_main]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use concurrent_tasks::time::ManualClock;
use concurrent_tasks::{LocalExecutor, RestartableJoin, RestartableTask, TaskError};
use libfuzzer_sys::fuzz_target;

#[path = "input.rs"]
mod input;
use input::Input;

const MAX_OPS: usize = 2048;
const MS: u64 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    Idle,
    Running { deadline: Option<u64> },
    Cancelled,
    Done,
}

/// The plain model: a state table, the outcome, `f`'s call count, time.
struct Model {
    phase: Phase,
    outcome: Option<Result<u8, TaskError>>,
    calls: usize,
    now: u64,
    timeout: Option<u64>,
}

impl Model {
    /// Time passed the running attempt's deadline: timed out.
    fn settle(&mut self) {
        if let Phase::Running { deadline: Some(at) } = self.phase {
            if self.now >= at {
                self.phase = Phase::Done;
                self.outcome = Some(Err(TaskError::TimedOut));
            }
        }
    }

    fn start(&mut self) -> bool {
        self.settle();
        match self.phase {
            Phase::Idle | Phase::Cancelled => {
                self.calls += 1;
                let deadline = self.timeout.and_then(|t| self.now.checked_add(t));
                self.phase = Phase::Running { deadline };
                // A zero timeout is over at once.
                self.settle();
                true
            }
            Phase::Running { .. } | Phase::Done => false,
        }
    }

    fn cancel(&mut self) -> bool {
        self.settle();
        if let Phase::Running { .. } = self.phase {
            self.phase = Phase::Cancelled;
            true
        } else {
            false
        }
    }

    fn set_result(&mut self, v: u8) -> bool {
        self.settle();
        if self.phase == Phase::Done {
            return false;
        }
        self.phase = Phase::Done;
        self.outcome = Some(Ok(v));
        true
    }

    /// What a join poll gives now.
    fn join(&mut self) -> Poll<Result<u8, TaskError>> {
        self.settle();
        match (&self.outcome, self.phase) {
            (Some(outcome), _) => Poll::Ready(outcome.clone()),
            (None, Phase::Idle) => Poll::Ready(Err(TaskError::NotStarted)),
            (None, _) => Poll::Pending,
        }
    }

    /// The executor went away: a running attempt counts as cancelled.
    fn executor_dropped(&mut self) {
        self.settle();
        if let Phase::Running { .. } = self.phase {
            self.phase = Phase::Cancelled;
        }
    }
}

/// Counts its wakes.
#[derive(Default)]
struct CountWake(AtomicUsize);

impl Wake for CountWake {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A join future under test, with its own waker and whether its last poll
/// was pending.
struct Awaiter {
    join: RestartableJoin<u8>,
    wakes: Arc<CountWake>,
    pending: bool,
}

/// Counts live attempt futures (made by `f`, dropped by the driver).
struct Live(Arc<AtomicUsize>);

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let timeout = match input.byte() % 4 {
        0 => None,
        1 => Some(0),
        _ => Some(u64::from(input.byte()) * MS),
    };
    let calls = Arc::new(AtomicUsize::new(0));
    let live = Arc::new(AtomicUsize::new(0));
    let task = {
        let (calls, live) = (calls.clone(), live.clone());
        RestartableTask::<u8>::new(move || {
            calls.fetch_add(1, Ordering::SeqCst);
            live.fetch_add(1, Ordering::SeqCst);
            let guard = Live(live.clone());
            async move {
                let _guard = guard;
                std::future::pending::<()>().await
            }
        })
        .timeout(timeout.map_or(Duration::MAX, Duration::from_nanos))
    };
    let clock = ManualClock::new();
    let mut ex = LocalExecutor::with_clock(clock.clone());
    let mut model = Model {
        phase: Phase::Idle,
        outcome: None,
        calls: 0,
        now: 0,
        timeout,
    };
    let mut awaiters: Vec<Awaiter> = Vec::new();
    let mut ops = 0;
    while !input.is_empty() && ops < MAX_OPS {
        ops += 1;
        match input.byte() % 12 {
            0..=1 => assert_eq!(task.start_in(&ex), model.start(), "start"),
            2..=3 => assert_eq!(task.cancel(), model.cancel(), "cancel"),
            4 => {
                let v = input.byte();
                assert_eq!(task.set_result(v), model.set_result(v), "set_result");
            }
            5 => {
                let ms = u64::from(input.byte() % 64);
                ex.advance_time(Duration::from_nanos(ms * MS));
                model.now += ms * MS;
            }
            6..=7 => {
                ex.run_until_stalled();
                model.settle();
                // The driver has caught up: one attempt future lives while an
                // attempt runs, none otherwise.
                let running = matches!(model.phase, Phase::Running { .. });
                assert_eq!(
                    live.load(Ordering::SeqCst),
                    usize::from(running),
                    "live attempts"
                );
            }
            8 => awaiters.push(Awaiter {
                join: task.join(),
                wakes: Arc::default(),
                pending: false,
            }),
            9 => {
                if !awaiters.is_empty() {
                    let i = usize::from(input.byte()) % awaiters.len();
                    let a = &mut awaiters[i];
                    let waker = Waker::from(a.wakes.clone());
                    let got = Pin::new(&mut a.join).poll(&mut Context::from_waker(&waker));
                    assert_eq!(got, model.join(), "join poll");
                    a.pending = got.is_pending();
                }
            }
            10 => {
                if !awaiters.is_empty() {
                    let i = usize::from(input.byte()) % awaiters.len();
                    drop(awaiters.swap_remove(i));
                }
            }
            _ => {
                // The executor goes away with the driver; a new one, same clock.
                drop(std::mem::replace(
                    &mut ex,
                    LocalExecutor::with_clock(clock.clone()),
                ));
                model.executor_dropped();
                assert_eq!(
                    live.load(Ordering::SeqCst),
                    0,
                    "attempt dropped with its driver"
                );
            }
        }
        model.settle();
        assert_eq!(task.is_finished(), model.outcome.is_some(), "is_finished");
        assert_eq!(calls.load(Ordering::SeqCst), model.calls, "f calls");
        if model.outcome.is_some() {
            for a in &awaiters {
                if a.pending {
                    assert!(
                        a.wakes.0.load(Ordering::SeqCst) >= 1,
                        "a pending awaiter was not woken"
                    );
                }
            }
        }
    }
    // Complete it, then every awaiter sees the same outcome.
    let _ = task.set_result(0);
    let _ = model.set_result(0);
    for a in &mut awaiters {
        let waker = Waker::from(a.wakes.clone());
        let got = Pin::new(&mut a.join).poll(&mut Context::from_waker(&waker));
        assert_eq!(got, model.join(), "final join");
    }
    ex.run_until_stalled();
    assert!(ex.is_empty(), "the driver ended with the task");
    assert_eq!(live.load(Ordering::SeqCst), 0);
});
