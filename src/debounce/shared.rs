//! The state both debouncers share, and the worker task that runs the
//! debounced function.
//!
//! A call never runs `f` itself: it decides, under the lock, whether to join
//! a run (the latest one, or the pending one), to commit a run that starts at
//! once (`starting`), or to file a pending run that starts at a deadline. One
//! worker task, spawned on the caller's executor when none is alive, runs the
//! committed runs one after another: never two runs of `f` at once, as
//! upstream's lock ensures. Because the worker is a task of its own, a caller
//! that drops its `call` future loses nothing: the run happens and the other
//! callers get its outcome.
//!
//! # Ground rules
//! - Everything below lives in `State` behind `Core::state`; the lock is never
//!   held across an `.await`, while `f` runs, or while a waker runs (wakers are
//!   taken out and woken after the guard is dropped).
//! - The worker polls its `Sleep` with the lock held (the timer driver's lock
//!   nests inside ours, never the other way): a call that moves the deadline
//!   and the worker's check cannot interleave.
//! - `worker` is true from the spawn of a worker until it finds nothing left
//!   to do (and says so under the lock) or is dropped. Whoever commits work
//!   while it is false spawns a new one first.
//! - `committed` counts runs filed (a pending run whose argument is replaced
//!   counts once), `finished` the runs completed or cancelled: `flush` waits
//!   for `finished` to reach the `committed` it saw.

use super::run::{new_run, Run, Until};
use crate::error::TaskError;
use crate::guard::{call_user, poll_user, Guarded};
use crate::slot::Waiters;
use crate::sync::Mutex;
use crate::time::{try_now, Sleep};
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::future::{poll_fn, Future};
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll, Waker};
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

/// A run waiting for its deadline; calls until then replace its argument.
pub(crate) struct Pending<A, T> {
    pub(crate) arg: A,
    pub(crate) deadline: Until,
    /// Later calls push the deadline to `duration` after them (only when the
    /// debouncer extends windows, and not for a run that only waits for the
    /// one in progress).
    pub(crate) extendable: bool,
    /// Run it now (`flush`, or the debouncer was dropped).
    pub(crate) flush: bool,
    pub(crate) run: Arc<Run<T>>,
}

pub(crate) struct State<A, T> {
    /// Calls before this are debounced; `None`: no window yet.
    pub(crate) window_end: Option<Until>,
    /// A run is committed (`starting`) or in progress and not finished.
    pub(crate) running: bool,
    /// The run started last (in progress or finished): what an eager
    /// debouncer hands to calls inside the window.
    pub(crate) latest: Option<Arc<Run<T>>>,
    /// A run committed to start at once, its argument fixed.
    pub(crate) starting: Option<(A, Arc<Run<T>>)>,
    pub(crate) pending: Option<Pending<A, T>>,
    pub(crate) worker: bool,
    /// The worker's waker while it waits for a deadline (for `flush`).
    worker_waker: Option<Waker>,
    pub(crate) committed: u64,
    finished: u64,
    /// `flush` callers waiting for `finished` to move.
    flushers: Waiters,
}

impl<A, T> State<A, T> {
    pub(crate) fn window_open(&self, now: Instant) -> bool {
        self.window_end.is_some_and(|end| !end.passed(now))
    }

    /// Marks the pending run due now; returns the worker's waker to wake.
    pub(crate) fn flush_pending(&mut self) -> Option<Waker> {
        let pending = self.pending.as_mut()?;
        pending.flush = true;
        self.worker_waker.take()
    }

    fn has_work(&self) -> bool {
        self.starting.is_some() || self.pending.is_some()
    }
}

/// What a finished run moves the window by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WindowFrom {
    /// From the start of the latest run (`Debouncer`).
    RunStart,
    /// From the end of the latest run (`AsyncDebouncer`).
    RunEnd,
}

/// What both debouncers share with their worker.
pub(crate) struct Core<A, T> {
    f: BoxFn<A, T>,
    pub(crate) duration: Duration,
    window_from: WindowFrom,
    extend: AtomicBool,
    pub(crate) state: Mutex<State<A, T>>,
}

impl<A: 'static, T: 'static> Core<A, T> {
    pub(crate) fn new(duration: Duration, window_from: WindowFrom, f: BoxFn<A, T>) -> Arc<Self> {
        Arc::new(Core {
            f,
            duration,
            window_from,
            extend: AtomicBool::new(false),
            state: Mutex::new(State {
                window_end: None,
                running: false,
                latest: None,
                starting: None,
                pending: None,
                worker: false,
                worker_waker: None,
                committed: 0,
                finished: 0,
                flushers: Waiters::None,
            }),
        })
    }

    pub(crate) fn extends(&self) -> bool {
        self.extend.load(Ordering::Relaxed)
    }

    pub(crate) fn set_extend(&self, extend: bool) {
        self.extend.store(extend, Ordering::Relaxed);
    }

    /// Spawns a worker on the current executor unless one is alive. Call it
    /// before changing the state, so a failure changes nothing.
    pub(crate) fn ensure_worker(
        self: &Arc<Self>,
        state: &mut State<A, T>,
    ) -> Result<(), TaskError> {
        if state.worker {
            return Ok(());
        }
        // The worker's guard exists from the spawn on, inside the task's
        // future: a worker dropped before its first poll (its executor
        // ended) still clears `worker`, so another takes over (K3). It is
        // made only once an executor is there, since its drop takes the
        // lock the caller holds.
        let core = self.clone();
        crate::executor::current::with_current(move |ex| {
            ex.spawn(work(WorkerGuard {
                core,
                current: None,
                finished: false,
            }))
            .detach();
        })
        .ok_or(TaskError::NoExecutor)?;
        state.worker = true;
        Ok(())
    }

    /// Starts a worker on the current executor if work is committed and no
    /// worker is alive (its executor was dropped). `Err(NoExecutor)` when
    /// one is needed and there is no executor here.
    pub(crate) fn take_over(self: &Arc<Self>) -> Result<(), TaskError> {
        let mut state = self.state.lock();
        if state.worker || !state.has_work() {
            return Ok(());
        }
        self.ensure_worker(&mut state)
    }

    /// Commits a run that starts at once with `arg`.
    pub(crate) fn commit_start(&self, state: &mut State<A, T>, arg: A) -> Arc<Run<T>> {
        let run = new_run();
        state.starting = Some((arg, run.clone()));
        state.running = true;
        state.committed += 1;
        run
    }

    /// Files a pending run.
    pub(crate) fn commit_pending(
        &self,
        state: &mut State<A, T>,
        arg: A,
        deadline: Until,
        extendable: bool,
    ) -> Arc<Run<T>> {
        let run = new_run();
        state.pending = Some(Pending {
            arg,
            deadline,
            extendable,
            flush: false,
            run: run.clone(),
        });
        state.committed += 1;
        run
    }

    /// Waits until every run committed so far has finished. A worker that
    /// died with its executor is replaced on the current one; without one,
    /// it gives up rather than hang.
    pub(crate) async fn flush(self: &Arc<Self>) {
        let (target, waker) = {
            let mut state = self.state.lock();
            (state.committed, state.flush_pending())
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        poll_fn(|cx| {
            let mut state = self.state.lock();
            if state.finished >= target {
                return Poll::Ready(());
            }
            if !state.worker && state.has_work() {
                state.flush_pending();
                if self.ensure_worker(&mut state).is_err() {
                    return Poll::Ready(()); // nowhere to run it
                }
            }
            state.flushers.register(cx.waker());
            Poll::Pending
        })
        .await;
    }

    /// The worker's wait for its next run: `Some((arg, run))` once one is
    /// due, `None` (and `worker` cleared, under the same lock) when there is
    /// nothing left.
    fn poll_next(
        &self,
        cx: &mut Context<'_>,
        sleep: &mut Option<(Sleep, Instant)>,
    ) -> Poll<Option<(A, Arc<Run<T>>)>> {
        let mut state = self.state.lock();
        let state = &mut *state;
        if let Some(next) = state.starting.take() {
            return Poll::Ready(Some(next));
        }
        let Some(pending) = state.pending.as_ref() else {
            state.worker = false;
            state.worker_waker = None;
            return Poll::Ready(None);
        };
        let now = try_now().ok();
        let mut due = pending.flush || now.is_some_and(|now| pending.deadline.passed(now));
        if !due {
            if let Until::At(at) = pending.deadline {
                due = poll_sleep(sleep, at, cx).is_ready();
            }
        }
        if !due {
            state.worker_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let pending = state.pending.take().expect("checked above");
        state.running = true;
        state.latest = Some(pending.run.clone());
        if self.window_from == WindowFrom::RunStart {
            let now = now.unwrap_or_else(Instant::now);
            state.window_end = Some(Until::after(now, self.duration));
        }
        Poll::Ready(Some((pending.arg, pending.run)))
    }

    /// Bookkeeping after a run (completed or cancelled); returns the flush
    /// waiters to wake.
    fn finish_run(&self, state: &mut State<A, T>) -> Waiters {
        state.running = false;
        state.finished += 1;
        if self.window_from == WindowFrom::RunEnd {
            if let Ok(now) = try_now() {
                state.window_end = Some(Until::after(now, self.duration));
            }
        }
        core::mem::take(&mut state.flushers)
    }
}

/// Polls the worker's sleep toward `at`, making it or moving it first. A later
/// deadline only moves the sleep's true deadline: the timer entry stays where
/// it was filed, fires there, and is filed once more — one wheel operation
/// per window, however many calls pushed it.
fn poll_sleep(sleep: &mut Option<(Sleep, Instant)>, at: Instant, cx: &mut Context<'_>) -> Poll<()> {
    match sleep {
        Some((_, filed)) if *filed == at => {}
        Some((s, filed)) => {
            s.reset(at);
            *filed = at;
        }
        None => match crate::time::try_sleep_until(at) {
            Ok(s) => *sleep = Some((s, at)),
            Err(_) => return Poll::Ready(()), // no executor: do not wait forever
        },
    }
    let (s, _) = sleep.as_mut().expect("set above");
    Pin::new(s).poll(cx)
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
        let next = poll_fn(|cx| core.poll_next(cx, &mut sleep)).await;
        let Some((arg, run)) = next else {
            guard.finished = true;
            return;
        };
        sleep = None; // the next wait files a fresh timer
        guard.current = Some(run.clone());
        let outcome = run_catching(&core.f, arg).await;
        guard.current = None;
        let _ = run.complete(outcome); // the first outcome wins
        let flushers = core.finish_run(&mut core.state.lock());
        flushers.wake_all();
    }
}

/// Calls `f(arg)` and awaits it, turning a panic (in `f`, in the poll of
/// its future) into `Err(Panicked)`; the future is dropped behind the guard.
async fn run_catching<A, T>(f: &BoxFn<A, T>, arg: A) -> Result<T, TaskError> {
    let future = call_user(|| f(arg)).map_err(TaskError::Panicked)?;
    let mut future = Guarded::new(future);
    let outcome = poll_fn(|cx| match future.get_mut() {
        Some(running) => poll_user(running.as_mut(), cx),
        None => Poll::Ready(Err(TaskError::Cancelled)),
    })
    .await;
    future.clear();
    outcome
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
        let (flushers, left) = {
            let mut state = self.core.state.lock();
            state.worker = false;
            state.worker_waker = None;
            let flushers = if current.is_some() {
                self.core.finish_run(&mut state)
            } else {
                core::mem::take(&mut state.flushers)
            };
            // The runs committed for this worker stay; their waiters (on
            // other executors, maybe) are told, so one of them takes over.
            let left: Vec<_> = state
                .starting
                .iter()
                .map(|(_, run)| run.clone())
                .chain(state.pending.iter().map(|p| p.run.clone()))
                .collect();
            (flushers, left)
        };
        if let Some(run) = current {
            let _ = run.complete(Err(TaskError::Cancelled));
        }
        left.iter().for_each(|run| run.wake_waiters());
        flushers.wake_all();
    }
}

impl<A, T> fmt::Debug for Core<A, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        write!(f, "duration: {:?}", self.duration)?;
        if self.extend.load(Ordering::Relaxed) {
            f.write_str(", extend_on_call")?;
        }
        match self.state.try_lock() {
            Some(state) => write!(
                f,
                ", running: {}, pending: {}, worker: {}, runs: {}/{}",
                state.running,
                state.pending.is_some(),
                state.worker,
                state.finished,
                state.committed
            )?,
            None => f.write_str(", state: <locked>")?,
        }
        f.write_str("}")
    }
}
