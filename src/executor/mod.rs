//! The single-thread executor: a task table, a run queue, wakers and the run
//! loop, with a timer driver for `sleep` and friends.
//!
//! # How a task runs
//! 1. [`LocalExecutor::spawn`] boxes the future (wrapped so its outcome lands
//!    in the task's completion slot), files it in the task table and queues it.
//! 2. A turn of the loop moves wakes from other threads into the local run
//!    queue, fires due timers (waking their tasks), then polls every task that
//!    was queued when the turn began.
//! 3. A task's waker is its shared header. Woken on the executor's own thread
//!    it goes straight to the local run queue (no lock, no channel); from
//!    another thread it goes to the remote queue and unparks the executor.
//!    Either way a task already queued is not queued twice.
//! 4. With nothing to run, [`block_on`](LocalExecutor::block_on) parks the
//!    thread until a wake or the next timer deadline: no busy loop.
//!
//! # Ground rules
//! - `Inner` is touched only from the thread that owns the executor (it is
//!   `!Send`); the `RefCell`s are never borrowed across a poll, a drop of a
//!   future or a wake, so user code may spawn and wake freely.
//! - What other threads reach lives in [`task::Shared`] and the timer driver,
//!   both behind `Arc` and the crate's one lock type.

pub(crate) mod cell;
#[cfg(feature = "std")]
pub(crate) mod current;
mod join;
mod state;
pub(crate) mod task;
mod yield_now;

pub use join::JoinHandle;
pub use yield_now::{yield_now, YieldNow};

/// The most iterations a loop of the crate (a schedule, a worker, a
/// dispatcher) runs before it yields to its executor (K4).
#[cfg_attr(not(feature = "std"), allow(dead_code))] // the loops need std
pub(crate) const YIELD_EVERY: usize = 64;

use crate::slab::{Key, Slab};
use crate::time::clock::{Clock, ClockKind};
use crate::time::driver::TimerDriver;
use crate::time::Sleep;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::rc::Rc;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::fmt;
use core::future::Future;

use core::task::{Context, Waker};
use core::time::Duration;
use task::{PollAction, Shared, TaskRun};

/// A single-thread executor with its own timer wheel.
///
/// It runs `!Send` futures, and is itself `!Send`: it stays on the thread
/// that created it. Drive it with [`block_on`](Self::block_on) (parks while
/// idle), or by hand with [`run_until_stalled`](Self::run_until_stalled) and,
/// on a [`ManualClock`](crate::time::ManualClock),
/// [`advance_time`](Self::advance_time) — the way a no_std program does.
///
/// ```
/// use concurrent_tasks::LocalExecutor;
/// use std::time::Duration;
///
/// let ex = LocalExecutor::new();
/// let a = ex.spawn(async { 1 });
/// let b = ex.spawn({
///     let nap = ex.sleep(Duration::from_millis(5));
///     async move { nap.await; 2 }
/// });
/// let sum = ex.block_on(async { a.await.unwrap() + b.await.unwrap() });
/// assert_eq!(sum, 3);
/// ```
///
/// It is not `Send`:
///
/// ```compile_fail
/// fn is_send<T: Send>() {}
/// is_send::<concurrent_tasks::LocalExecutor>();
/// ```
pub struct LocalExecutor {
    inner: Rc<Inner>,
}

/// The executor's state, owned by its thread.
pub(crate) struct Inner {
    tasks: RefCell<Slab<Option<TaskRun>>>,
    ready: RefCell<VecDeque<Key>>,
    shared: Arc<Shared>,
    driver: Arc<TimerDriver>,
    /// Reused every turn: remote wakes moved in, due timer wakers.
    remote_scratch: RefCell<Vec<Key>>,
    due_scratch: RefCell<Vec<Waker>>,
    /// Before parking, spin and then yield a few times (as crossbeam's
    /// `recv`), instead of a brief spin only: see
    /// [`expect_remote_wakes`](Inner::expect_remote_wakes).
    #[cfg(feature = "std")]
    long_spin: core::cell::Cell<bool>,
}

// === impl LocalExecutor ===

impl Default for LocalExecutor {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalExecutor {
    /// An executor on the default clock (the system clock with `std`, a
    /// [`ManualClock`](crate::time::ManualClock) without).
    pub fn new() -> Self {
        Self::with_clock(Clock::default())
    }

    /// An executor reading time from `clock` — pass a
    /// [`ManualClock`](crate::time::ManualClock) to drive time from a test.
    pub fn with_clock(clock: impl Into<Clock>) -> Self {
        let unpark = unpark_waker();
        LocalExecutor {
            inner: Rc::new(Inner {
                tasks: RefCell::new(Slab::new()),
                ready: RefCell::new(VecDeque::new()),
                shared: Arc::new(Shared::new(unpark.clone())),
                driver: Arc::new(TimerDriver::new(clock.into(), unpark)),
                remote_scratch: RefCell::new(Vec::new()),
                due_scratch: RefCell::new(Vec::new()),
                #[cfg(feature = "std")]
                long_spin: core::cell::Cell::new(false),
            }),
        }
    }

    /// An executor on a fresh [`ManualClock`](crate::time::ManualClock)
    /// (time starts at zero and moves only by
    /// [`advance_time`](Self::advance_time)).
    pub fn new_manual() -> Self {
        Self::with_clock(crate::time::ManualClock::new())
    }

    /// Spawns `future` on this executor. It first runs at the executor's next
    /// turn; the returned handle yields its output.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        self.inner.spawn(future)
    }

    /// Runs `future` to completion on this thread, together with the spawned
    /// tasks and timers, parking while there is nothing to do.
    ///
    /// On a [`ManualClock`](crate::time::ManualClock), when everything waits
    /// for a timer, the clock jumps to the next deadline instead of parking.
    ///
    /// # Panics
    /// When this thread is already running an executor (this one or another):
    /// blocking there would stall it and can deadlock. `.await` instead.
    #[cfg(feature = "std")]
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let mut future = core::pin::pin!(future);
        let mut output = None;
        self.run_until(&mut |cx| match future.as_mut().poll(cx) {
            core::task::Poll::Ready(value) => {
                output = Some(value);
                true
            }
            core::task::Poll::Pending => false,
        });
        match output {
            Some(output) => output,
            None => unreachable!("`run_until` returns once the future is ready"),
        }
    }

    /// `block_on`'s loop, compiled once rather than once per future type:
    /// polls the main future through `poll_main` (`true`: it is ready) when
    /// it was woken, runs the tasks, spins briefly, parks.
    #[cfg(feature = "std")]
    #[track_caller]
    fn run_until(&self, poll_main: &mut dyn FnMut(&mut Context<'_>) -> bool) {
        let _enter = current::enter(&self.inner);
        let main = Arc::new(MainWake {
            woken: core::sync::atomic::AtomicBool::new(true),
            thread: std::thread::current(),
        });
        let waker = {
            let main = main.clone();
            waker_fn::waker_fn(move || main.wake())
        };
        let mut cx = Context::from_waker(&waker);
        loop {
            if main.take_woken() && poll_main(&mut cx) {
                return;
            }
            self.inner.turn();
            if main.is_woken() || self.inner.has_ready() {
                continue;
            }
            // A wake from another thread is often microseconds away (the
            // next piece of work, a reply): spin briefly before parking.
            let woken = || main.is_woken() || self.inner.has_ready();
            let spun = if self.inner.long_spin.get() {
                crate::sync::backoff::spin_until(woken)
            } else {
                crate::sync::backoff::spin_briefly_until(woken)
            };
            if spun {
                continue;
            }
            self.inner.park();
        }
    }

    /// Runs every task that can make progress now — including those woken by
    /// timers due at the current time — until none can. Never parks.
    ///
    /// ```
    /// use concurrent_tasks::{LocalExecutor, yield_now};
    /// let ex = LocalExecutor::new();
    /// let h = ex.spawn(async { yield_now().await; yield_now().await; "done" });
    /// assert!(!h.is_finished());
    /// ex.run_until_stalled();
    /// assert!(h.is_finished());
    /// ```
    ///
    /// # Panics
    /// With `std`, when this thread is already running an executor.
    #[track_caller]
    pub fn run_until_stalled(&self) {
        #[cfg(feature = "std")]
        let _enter = current::enter(&self.inner);
        while self.inner.turn() || self.inner.has_ready() {}
    }

    /// Moves this executor's [`ManualClock`](crate::time::ManualClock)
    /// forward by `by` and fires the timers that became due (their tasks run
    /// at the next [`run_until_stalled`](Self::run_until_stalled) or turn).
    ///
    /// ```
    /// use concurrent_tasks::{time::ManualClock, LocalExecutor};
    /// use std::time::Duration;
    ///
    /// let ex = LocalExecutor::with_clock(ManualClock::new());
    /// let nap = ex.sleep(Duration::from_millis(30));
    /// let h = ex.spawn(nap);
    /// ex.run_until_stalled();
    /// ex.advance_time(Duration::from_millis(29));
    /// ex.run_until_stalled();
    /// assert!(!h.is_finished(), "never early");
    /// ex.advance_time(Duration::from_millis(1));
    /// ex.run_until_stalled();
    /// assert!(h.is_finished());
    /// ```
    ///
    /// # Panics
    /// On an executor that reads the system clock, which cannot be moved.
    #[track_caller]
    pub fn advance_time(&self, by: Duration) {
        match self.inner.driver.clock().kind() {
            ClockKind::Manual(clock) => clock.advance(by),
            #[cfg(feature = "std")]
            ClockKind::System => panic!(
                "LocalExecutor::advance_time needs a manual clock: build the executor \
                 with LocalExecutor::with_clock(ManualClock::new())"
            ),
        }
        let _ = self.inner.fire_timers();
    }

    /// A [`Sleep`] on this executor's timer driver that completes `duration`
    /// from now. This is how to sleep without a current executor (no_std).
    pub fn sleep(&self, duration: Duration) -> Sleep {
        Sleep::after(self.inner.driver.clone(), duration)
            .made_by(crate::time::sleep::MadeBy::ExecutorSleep)
    }

    /// Runs `future` for at most `duration` from now on this executor's
    /// timers: its output, or `Err(TaskError::TimedOut)`. The way to time out
    /// without a current executor (no_std).
    ///
    /// ```
    /// use concurrent_tasks::{time::ManualClock, LocalExecutor, TaskError};
    /// use std::time::Duration;
    ///
    /// let ex = LocalExecutor::with_clock(ManualClock::new());
    /// let h = ex.spawn(ex.timeout(Duration::from_secs(1), std::future::pending::<()>()));
    /// ex.run_until_stalled();
    /// ex.advance_time(Duration::from_secs(1));
    /// ex.run_until_stalled();
    /// assert_eq!(h.try_take(), Some(Ok(Err(TaskError::TimedOut))));
    /// ```
    pub fn timeout<F: Future>(
        &self,
        duration: Duration,
        future: F,
    ) -> impl Future<Output = Result<F::Output, crate::TaskError>> {
        crate::time::timeout::race(self.sleep(duration), future)
    }

    /// Time since this executor's clock origin.
    pub fn now(&self) -> Duration {
        Duration::from_nanos(self.inner.driver.now())
    }

    /// The clock this executor reads.
    pub fn clock(&self) -> &Clock {
        self.inner.driver.clock()
    }

    /// This executor's timer driver (its clock and wheel).
    pub(crate) fn timer_driver(&self) -> &Arc<TimerDriver> {
        &self.inner.driver
    }

    #[cfg(feature = "std")]
    pub(crate) fn inner(&self) -> &Rc<Inner> {
        &self.inner
    }

    /// Number of tasks spawned and not yet finished.
    pub fn len(&self) -> usize {
        self.inner.tasks.borrow().len()
    }

    /// `true` when no spawned task is left.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of timers waiting on this executor's wheel.
    pub fn timers(&self) -> usize {
        self.inner.driver.len()
    }
}

impl fmt::Debug for LocalExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("LocalExecutor");
        match self.inner.tasks.try_borrow() {
            Ok(tasks) => d.field("tasks", &tasks.len()),
            Err(_) => d.field("tasks", &"<running>"),
        };
        match self.inner.ready.try_borrow() {
            Ok(ready) => d.field("ready", &ready.len()),
            Err(_) => d.field("ready", &"<running>"),
        };
        d.field("timers", &self.inner.driver).finish()
    }
}

// === impl Inner ===

impl Inner {
    /// The part other threads reach (remote wakes, the unhandled sink).
    #[cfg(feature = "std")]
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The timer driver (its clock and wheel).
    #[cfg(feature = "std")]
    pub(crate) fn timer_driver(&self) -> &Arc<TimerDriver> {
        &self.driver
    }

    /// Says this executor is fed mostly from other threads, its next wake
    /// usually microseconds away: before parking it then spins and yields a
    /// few times (as crossbeam's `recv`), so a feeding thread on the same CPU
    /// gets to run. Others keep a brief spin only: on a loaded machine a
    /// yield can cost a time slice and make timers late.
    #[cfg(feature = "std")]
    pub(crate) fn expect_remote_wakes(&self) {
        self.long_spin.set(true);
    }

    pub(crate) fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        let shared = cell::Split::new(self.shared.clone());
        self.spawn_boxed(Box::pin(task::deliver_to(future, shared.clone(), None)));
        JoinHandle::new(cell::TaskRef::Split(shared))
    }

    /// Spawns a task boxed already (possibly built on another thread, see
    /// `Header`): it delivers its own outcome. Returns its key.
    pub(crate) fn spawn_boxed(&self, task: TaskRun) -> Key {
        let header = task.header();
        debug_assert!(Arc::ptr_eq(&header.shared, &self.shared));
        let key = {
            let mut tasks = self.tasks.borrow_mut();
            header.bind(tasks.vacant_key());
            tasks.insert(Some(task))
        };
        self.ready.borrow_mut().push_back(key);
        key
    }

    /// Cancels every task in the table (each is dropped, unpolled, at the
    /// next turn; its handle yields `Cancelled`).
    #[cfg(feature = "std")]
    pub(crate) fn cancel_all(&self) {
        for task in self.tasks.borrow().iter().flatten() {
            // Only atomics and the run queue: no borrow of `tasks` again.
            task.header().cancel();
        }
    }

    /// Cancels the task under `key`, if it is still in the table.
    #[cfg(feature = "std")]
    pub(crate) fn cancel_task(&self, key: Key) {
        if let Some(Some(task)) = self.tasks.borrow().get(key) {
            task.header().cancel();
        }
    }

    /// `true` while the task under `key` has not ended. (A task being
    /// polled right now counts as live.)
    #[cfg(feature = "std")]
    pub(crate) fn contains_task(&self, key: Key) -> bool {
        self.tasks.borrow().get(key).is_some()
    }

    /// Number of tasks in the table (running or not).
    #[cfg(feature = "std")]
    pub(crate) fn task_count(&self) -> usize {
        self.tasks.borrow().len()
    }

    /// Queues a task woken on this thread. `false` if the run queue is busy
    /// (the caller then takes the remote path, which is always correct).
    #[cfg(feature = "std")]
    pub(crate) fn push_ready(&self, key: Key) -> bool {
        match self.ready.try_borrow_mut() {
            Ok(mut ready) => {
                ready.push_back(key);
                true
            }
            Err(_) => false,
        }
    }

    fn has_ready(&self) -> bool {
        !self.ready.borrow().is_empty() || self.shared.has_remote()
    }

    /// One turn: take in remote wakes, fire due timers, then poll each task
    /// that is queued at this point once (tasks woken meanwhile wait for the
    /// next turn, so a task that keeps waking itself cannot starve timers).
    /// Returns whether anything fired or ran.
    fn turn(&self) -> bool {
        self.take_remote_wakes();
        let fired = self.fire_timers();
        let batch = self.ready.borrow().len();
        for _ in 0..batch {
            let next = self.ready.borrow_mut().pop_front();
            match next {
                Some(key) => self.run_task(key),
                None => break,
            }
        }
        fired || batch > 0
    }

    fn take_remote_wakes(&self) {
        let mut keys = core::mem::take(&mut *self.remote_scratch.borrow_mut());
        self.shared.drain_remote(&mut keys);
        self.ready.borrow_mut().extend(keys.drain(..));
        *self.remote_scratch.borrow_mut() = keys;
    }

    /// Wakes the tasks of due timers; returns whether there were any.
    fn fire_timers(&self) -> bool {
        if !self.driver.has_timers() {
            return false;
        }
        let mut due = core::mem::take(&mut *self.due_scratch.borrow_mut());
        self.driver.fire(self.driver.now(), &mut due);
        let fired = !due.is_empty();
        // Wake with no borrow held: a waker may be anyone's.
        due.drain(..).for_each(Waker::wake);
        *self.due_scratch.borrow_mut() = due;
        fired
    }

    fn run_task(&self, key: Key) {
        // Take the task out of the table for the poll, so the poll may spawn.
        let Some(mut run) = self.tasks.borrow_mut().get_mut(key).and_then(Option::take) else {
            return; // stale wake of a finished task
        };
        let finished = match run.header().start_poll() {
            PollAction::Drop => true,
            PollAction::Poll => {
                let waker = run.waker();
                let mut cx = Context::from_waker(&waker);
                run.as_mut().poll(&mut cx).is_ready()
            }
        };
        if finished {
            run.header().set_done();
            self.tasks.borrow_mut().remove(key);
            drop_task(run); // with no borrow held
        } else if let Some(entry) = self.tasks.borrow_mut().get_mut(key) {
            *entry = Some(run);
        }
    }

    /// Parks the thread until a wake or the next timer deadline.
    #[cfg(feature = "std")]
    fn park(&self) {
        let next = self.driver.prepare_park();
        match self.driver.clock().kind() {
            ClockKind::System => {
                let now = self.driver.now();
                match next {
                    Some(at) if at <= now => {}
                    Some(at) => std::thread::park_timeout(Duration::from_nanos(at - now)),
                    None => std::thread::park(),
                }
            }
            ClockKind::Manual(clock) => match next {
                // Nothing to do but wait for a timer: jump to it.
                Some(at) => clock.advance_to(Duration::from_nanos(at)),
                None => std::thread::park(),
            },
        }
        self.driver.unparked();
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Dropping a future may spawn or wake; repeat until the table is empty.
        loop {
            let runs = self.tasks.get_mut().drain();
            if runs.is_empty() {
                break;
            }
            for run in runs.into_iter().flatten() {
                run.header().set_done();
                drop_task(run);
            }
        }
        self.driver.close();
    }
}

/// Drops a task's record behind the panic guard. The task wrapper drops the
/// user's future itself (and reports a panic there); what is left may still
/// hold a user's value (an output whose last handle was dropped meanwhile),
/// so the drop as a whole is guarded too, and a panic goes to the sink.
fn drop_task(run: TaskRun) {
    let shared = run.header().shared.clone();
    if let Err(message) = crate::guard::drop_user(run) {
        shared.report(crate::TaskError::Panicked(message));
    }
}

/// The waker that gets the executor's thread out of `park`.
fn unpark_waker() -> Waker {
    #[cfg(feature = "std")]
    return crate::wait::park_waker();
    #[cfg(not(feature = "std"))]
    waker_fn::waker_fn(|| {})
}

/// Wake state of the future passed to `block_on`.
#[cfg(feature = "std")]
struct MainWake {
    woken: core::sync::atomic::AtomicBool,
    thread: std::thread::Thread,
}

#[cfg(feature = "std")]
impl MainWake {
    fn wake(&self) {
        use core::sync::atomic::Ordering;
        if !self.woken.swap(true, Ordering::AcqRel) {
            self.thread.unpark();
        }
    }

    fn take_woken(&self) -> bool {
        self.woken.swap(false, core::sync::atomic::Ordering::AcqRel)
    }

    fn is_woken(&self) -> bool {
        self.woken.load(core::sync::atomic::Ordering::Acquire)
    }
}

#[cfg(test)]
mod manual_tests;
#[cfg(all(test, feature = "std"))]
mod tests;
