//! What both debouncers share with their worker (`Core`: `f` and the
//! state), and the worker task that runs the debounced function.
//!
//! A call never runs `f` itself: the state decides, under the lock, which
//! run it gets. One worker task, spawned on the caller's executor when none
//! is alive, runs the committed runs one after another: never two runs of
//! `f` at once, as the lock of the Python library asyncio-concurrent-tasks
//! ensures. Because the worker is a task of
//! its own, a caller that drops its `call` future loses nothing: the run
//! happens and the other callers get its outcome.
//!
//! # Ground rules
//! - Every decision is a transition of `State` (`state`), made under
//!   `Core::state`; what it decides is done by [`Core::decide`] after the
//!   lock.
//!   The lock is never held across an `.await`, while `f` runs, while a
//!   waker runs, or while a worker is spawned.
//! - The worker polls its `Sleep` with the lock held (the timer driver's lock
//!   nests inside ours, never the other way): a call that moves the deadline
//!   and the worker's check cannot interleave.

use super::run::{Run, Until};
use super::state::{Call, Decision, Job, Mode, Next, State};
use crate::error::TaskError;
use crate::guard::{call_user, poll_user, Guarded};
use crate::sync::Mutex;
use crate::time::{try_now, Sleep};
use alloc::boxed::Box;
use alloc::sync::Arc;
use core::fmt;
use core::future::{poll_fn, Future};
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::time::Instant;

/// `f`, with its future boxed so the debouncer types need not name it.
pub(crate) type BoxFn<A, T> = Box<dyn Fn(A) -> Pin<Box<dyn Future<Output = T>>> + Send + Sync>;

pub(crate) fn box_fn<A, T, F, Fut>(f: F) -> BoxFn<A, T>
where
    F: Fn(A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = T> + 'static,
{
    Box::new(move |arg| Box::pin(f(arg)))
}

/// What both debouncers share with their worker.
pub(crate) struct Core<A, T> {
    f: BoxFn<A, T>,
    /// Changed only through its transitions; see [`Core::decide`].
    state: Mutex<State<A, T>>,
}

impl<A: 'static, T: 'static> Core<A, T> {
    pub(crate) fn new(mode: Mode, duration: Duration, f: BoxFn<A, T>) -> Arc<Self> {
        let state = Mutex::new(State::new(mode, duration));
        Arc::new(Core { f, state })
    }

    pub(crate) fn duration(&self) -> Duration {
        self.state.lock().duration()
    }

    pub(crate) fn set_extend(&self, extend: bool) {
        self.state.lock().set_extend(extend);
    }

    /// Makes a transition under the lock and does what it decided after
    /// the lock: drops an unused argument (the user's value) behind the
    /// guard, wakes the worker, or spawns one on the current executor.
    /// Returns the transition's answer; `Err(NoExecutor)` when it needed a
    /// worker and there is no executor here.
    pub(crate) fn decide<R>(
        self: &Arc<Self>,
        transition: impl FnOnce(&mut State<A, T>) -> Decision<A, R>,
    ) -> Result<R, TaskError> {
        let decision = transition(&mut self.state.lock());
        drop(Guarded::new(decision.unused));
        if let Some(waker) = decision.wake_worker {
            waker.wake();
        }
        if decision.spawn_worker {
            // The worker's guard exists from here on: a worker never spawned
            // (no executor) or dropped before its first poll (its executor
            // ended) still tells the state, so another takes over (K3).
            let guard = WorkerGuard {
                core: self.clone(),
                current: None,
                finished: false,
            };
            crate::executor::current::with_current(move |ex| ex.spawn(work(guard)).detach())
                .ok_or(TaskError::NoExecutor)?;
        }
        Ok(decision.answer)
    }

    /// A call with `arg`, at the current executor's time.
    pub(crate) fn call(self: &Arc<Self>, arg: A) -> Result<Call<T>, TaskError> {
        let now = try_now()?;
        self.decide(|state| state.call(now, arg))
    }

    /// Waits until every run committed so far has finished. A worker that
    /// died with its executor is replaced on the current one; without one,
    /// it gives up rather than hang.
    pub(crate) async fn flush(self: &Arc<Self>) {
        let Ok(target) = self.decide(State::flush) else {
            return; // nowhere to run it
        };
        poll_fn(|cx| {
            self.decide(|state| state.poll_flush(target, cx.waker()))
                .unwrap_or(Poll::Ready(())) // nowhere to run it
        })
        .await;
    }
}

/// Polls the worker's sleep toward `at`, making it or moving it first. A later
/// deadline only moves the sleep's true deadline: the timer entry stays where
/// it was filed, fires there, and is filed once more — one wheel operation
/// per window, however many calls pushed it.
fn poll_sleep(sleep: &mut Option<Sleep>, at: Instant, cx: &mut Context<'_>) -> Poll<()> {
    let sleep = match sleep {
        Some(sleep) => {
            sleep.reset(at);
            sleep
        }
        None => match crate::time::try_sleep_until(at) {
            Ok(made) => sleep.insert(made),
            Err(_) => return Poll::Ready(()), // no executor: do not wait forever
        },
    };
    Pin::new(sleep).poll(cx)
}

/// The worker task: runs committed runs one after another until none is left.
async fn work<A: 'static, T: 'static>(mut guard: WorkerGuard<A, T>) {
    let core = guard.core.clone();
    let mut sleep = None;
    let mut runs = 0usize;
    loop {
        // Never starve the executor, however fast runs follow each other (K4).
        runs += 1;
        if runs % crate::executor::YIELD_EVERY == 0 {
            crate::yield_now().await;
        }
        // The sleep is polled under the lock (see the module docs).
        let next = poll_fn(|cx| {
            let mut state = core.state.lock();
            let now = try_now().ok();
            match state.next_run(now, cx.waker()) {
                Next::Wait(Until::At(at)) if poll_sleep(&mut sleep, at, cx).is_ready() => {
                    Poll::Ready(Next::Run(state.pending_due(now)))
                }
                Next::Wait(_) => Poll::Pending,
                next => Poll::Ready(next),
            }
        })
        .await;
        let Next::Run(Job { arg, run }) = next else {
            guard.finished = true; // the state counts no worker any more
            return;
        };
        sleep = None; // the next wait files a fresh timer
        guard.current = Some(run.clone());
        let outcome = run_catching(&core.f, arg).await;
        guard.current = None;
        // The first outcome wins. The clock is read under the lock: the timer
        // driver's lock nests inside ours.
        let _ = run.complete(outcome);
        let flushers = core.state.lock().run_finished(try_now().ok());
        flushers.wake_all();
    }
}

/// Calls `f(arg)` and awaits it, turning a panic (in `f`, in the poll of
/// its future) into `Err(Panicked)`; the future is dropped behind the guard.
async fn run_catching<A, T>(f: &BoxFn<A, T>, arg: A) -> Result<T, TaskError> {
    let future = call_user(|| f(arg)).map_err(TaskError::Panicked)?;
    let mut future = Guarded::new(future);
    let running = future.get_mut().expect("made above");
    poll_fn(|cx| poll_user(running.as_mut(), cx)).await
}

/// Cleans up when the worker is dropped before it ran out of work (its
/// executor was dropped or the task cancelled): the run it was executing
/// ends `Cancelled`; committed runs stay for the next worker.
struct WorkerGuard<A: 'static, T: 'static> {
    core: Arc<Core<A, T>>,
    current: Option<Arc<Run<T>>>,
    finished: bool,
}

impl<A: 'static, T: 'static> Drop for WorkerGuard<A, T> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let current = self.current.take();
        let now = current.as_ref().and_then(|_| try_now().ok());
        let died = self.core.state.lock().worker_died(current.is_some(), now);
        if let Some(run) = current {
            let _ = run.complete(Err(TaskError::Cancelled));
        }
        died.left.iter().for_each(|run| run.wake_waiters());
        died.flushers.wake_all();
    }
}

impl<A, T> fmt::Debug for Core<A, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.state.try_lock() {
            Some(state) => fmt::Debug::fmt(&*state, f),
            None => f.debug_struct("State").finish_non_exhaustive(),
        }
    }
}
