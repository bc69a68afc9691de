//! A spawned task: its header (state bits and table entry, reached by its
//! wakers), the executor-local record holding the future, and the future
//! wrapper that delivers the output to the task's completion slot.
//!
//! # Ground rules
//! - `Header` is shared by the executor, every waker of the task and its
//!   handle (alone in an `Arc`, or inside a [`TaskCell`](super::cell::TaskCell));
//!   it holds only atomics and immutable data.
//! - Once spawned, the future never leaves the executor's thread: it lives
//!   in the executor's task table (`TaskRun`), so `!Send` futures are fine.
//!   (A `Send` future may be built on another thread and moved in.)
//! - The output goes through a [`Slot`](crate::slot::Slot). Whatever ends
//!   the future — output, panic, cancel, executor dropped — completes the
//!   slot exactly once.

use super::cell::{unread_failure, Delivery, TaskShared};
use super::state::{CANCELLED, DONE, SCHEDULED};
use crate::error::TaskError;
use crate::guard::poll_user;
use crate::pinned::{PinnedFuture, TaskRest};
use crate::report::Reporter;
use crate::slab::Key;
use crate::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};
use crate::sync::Mutex;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::task::Wake;
use alloc::vec::Vec;
use core::future::Future;
use core::pin::Pin;
use core::task::{Poll, Waker};

/// The part of an executor that other threads reach: the queue of tasks
/// woken from elsewhere, and the means to wake the executor's thread.
pub(crate) struct Shared {
    /// Tasks woken from a thread that is not running this executor.
    remote: Mutex<Vec<Key>>,
    /// Fast check that `remote` has something, without taking the lock.
    has_remote: AtomicBool,
    /// Wakes the executor's thread when it parks (no-op without `std`).
    pub(crate) unpark: Waker,
    /// Where failures nobody will read go (set by whoever owns the
    /// executor's thread); `None`: nowhere (the panic hook has printed them).
    unhandled: Mutex<Option<Reporter>>,
}

impl Shared {
    pub(crate) fn new(unpark: Waker) -> Self {
        Shared {
            remote: Mutex::new(Vec::new()),
            has_remote: AtomicBool::new(false),
            unpark,
            unhandled: Mutex::new(None),
        }
    }

    /// Sends this executor's unread failures to `report` from now on.
    #[cfg(feature = "std")]
    pub(crate) fn set_unhandled(&self, report: Reporter) {
        *self.unhandled.lock() = Some(report);
    }

    /// Reports a failure nobody will read (see [`Unhandled`](crate::report::Unhandled)).
    pub(crate) fn report(&self, error: TaskError) {
        let sink = self.unhandled.lock().clone();
        if let Some(sink) = sink {
            sink.report(error);
        }
    }

    fn push_remote(&self, key: Key) {
        self.remote.lock().push(key);
        #[cfg(not(all(test, concurrent_tasks_loom)))]
        self.has_remote.store(true, Ordering::Release);
        // The same store, as loom can model it next to `drain_remote`'s
        // swap (see "loom's store/RMW gap" in `crate::sync::loom`).
        #[cfg(all(test, concurrent_tasks_loom))]
        self.has_remote.swap(true, Ordering::Release);
        self.unpark.wake_by_ref();
    }

    pub(crate) fn has_remote(&self) -> bool {
        self.has_remote.load(Ordering::Acquire)
    }

    /// Moves the remote wakes into `into` (swap, no allocation when warm).
    pub(crate) fn drain_remote(&self, into: &mut Vec<Key>) {
        if self.has_remote.swap(false, Ordering::Acquire) {
            core::mem::swap(&mut *self.remote.lock(), into);
        }
    }
}

/// What every waker and handle of a task shares.
///
/// A header can be made before its task is spawned (a task made on another
/// thread hands out its handle first): it starts `SCHEDULED`, so
/// no wake can queue it before the executor [binds](Header::bind) its table
/// entry and queues it for the first poll.
pub(crate) struct Header {
    state: AtomicU8,
    /// The task's entry in its executor's table, set once by `bind` before
    /// the first poll; published to other threads by the `state` changes
    /// that any waker or cancel must go through.
    index: AtomicU32,
    generation: AtomicU32,
    pub(crate) shared: Arc<Shared>,
}

impl Header {
    /// A header for a task not yet in its executor's table.
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Header {
            state: AtomicU8::new(SCHEDULED),
            index: AtomicU32::new(u32::MAX),
            generation: AtomicU32::new(0),
            shared,
        }
    }

    /// Records the task's table entry (the executor, before queuing it).
    pub(crate) fn bind(&self, key: Key) {
        self.index.store(key.index, Ordering::Relaxed);
        self.generation.store(key.generation, Ordering::Release);
    }

    pub(crate) fn key(&self) -> Key {
        Key {
            generation: self.generation.load(Ordering::Acquire),
            index: self.index.load(Ordering::Relaxed),
        }
    }

    /// Queues the task unless it is already queued or done.
    pub(crate) fn schedule(&self) {
        let prev = self.state.fetch_or(SCHEDULED, Ordering::AcqRel);
        if prev & (SCHEDULED | DONE) != 0 {
            return;
        }
        let key = self.key();
        #[cfg(feature = "std")]
        if super::current::push_local(&self.shared, key) {
            return;
        }
        self.shared.push_remote(key);
    }

    /// Asks the executor to drop the task at its next turn.
    pub(crate) fn cancel(&self) {
        let prev = self.state.fetch_or(CANCELLED, Ordering::AcqRel);
        if prev & (CANCELLED | DONE) == 0 {
            self.schedule();
        }
    }

    /// Called by the executor right before a poll: clears `SCHEDULED` (so
    /// wakes during the poll queue the task again) and says whether the task
    /// was cancelled instead.
    pub(crate) fn start_poll(&self) -> PollAction {
        let prev = self.state.fetch_and(!SCHEDULED, Ordering::AcqRel);
        if prev & CANCELLED != 0 {
            PollAction::Drop
        } else {
            PollAction::Poll
        }
    }

    /// Marks the task done: no wake will ever queue it again. A plain
    /// store: no other bit matters once `DONE` is set, and a wake racing
    /// with it may queue a stale key either way (the executor skips it).
    pub(crate) fn set_done(&self) {
        #[cfg(not(all(test, concurrent_tasks_loom)))]
        self.state.store(DONE | SCHEDULED, Ordering::Release);
        // The same store, as loom can model it next to the wakers' RMWs
        // (see "loom's store/RMW gap" in `crate::sync::loom`).
        #[cfg(all(test, concurrent_tasks_loom))]
        self.state.swap(DONE | SCHEDULED, Ordering::Release);
    }
}

/// What the executor does with a task it popped from the run queue.
#[must_use]
pub(crate) enum PollAction {
    Poll,
    /// It was cancelled: drop the future without polling it.
    Drop,
}

impl Wake for Header {
    fn wake(self: Arc<Self>) {
        self.schedule();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.schedule();
    }
}

/// A spawned task as its executor holds it: a future that delivers its own
/// outcome, and the way to its header and waker. The executor's table
/// keeps only the box (`TaskRun`); the waker is made for each poll.
pub(crate) trait Task: Future<Output = ()> {
    fn header(&self) -> &Header;
    fn waker(&self) -> Waker;
}

/// The executor-local record of a task, taken out of the task table while
/// it is polled.
pub(crate) type TaskRun = Pin<Box<dyn Task>>;

/// Wraps `future` so that its outcome lands in `shared`'s slot: its output,
/// a `Panicked` error (with `std`) or `Cancelled` if it is dropped first. A
/// failure that lands after every handle was dropped goes to `report`, or to
/// the executor's sink without one.
pub(crate) fn deliver_to<F, S>(future: F, shared: S, report: Option<Reporter>) -> DeliverTo<F, S>
where
    F: Future,
    S: TaskShared<Output = F::Output>,
{
    PinnedFuture::new(
        future,
        Deliver {
            report,
            delivery: Delivery::new(shared),
        },
    )
}

/// The future of a spawned task: the user's future, then the delivery of
/// its outcome. It is the task wrapper of the crate's panic guard: the
/// user's poll, the drop of the user's future and the drop of an output
/// nobody will read all happen behind [`crate::guard`], here.
///
/// A named future rather than an `async` block: an `async` block would keep
/// the user's future twice (once as captured, once pinned in its body —
/// rustc does not overlap the two), doubling every task's memory.
pub(crate) type DeliverTo<F, S> = PinnedFuture<F, Deliver<S>>;

/// What a [`DeliverTo`] keeps beside the user's future.
pub(crate) struct Deliver<S: TaskShared> {
    report: Option<Reporter>,
    delivery: Delivery<S>,
}

impl<S: TaskShared> Deliver<S> {
    /// Hands a failure nobody will read to the task's sink.
    fn report(&self, error: TaskError) {
        match &self.report {
            Some(report) => report.report(error),
            None => self.delivery.shared.header().shared.report(error),
        }
    }
}

impl<S: TaskShared> TaskRest for Deliver<S> {
    /// Dropped before it delivered (cancelled, or its executor dropped):
    /// the panic of the future's drop is reported; the delivery then
    /// completes the slot with `Cancelled`.
    fn future_drop_panicked(&mut self, message: String) {
        self.report(TaskError::Panicked(message));
    }
}

impl<S: TaskShared> Delivers for Deliver<S> {
    type Shared = S;

    fn delivery(&self) -> &Delivery<S> {
        &self.delivery
    }
}

/// The unpinned rest of a task wrapper: it holds the delivery of the
/// task's outcome, and with it the task's header and waker.
pub(crate) trait Delivers: TaskRest {
    type Shared: TaskShared;

    fn delivery(&self) -> &Delivery<Self::Shared>;
}

/// Every task wrapper reaches its header and waker through its delivery.
impl<F, R: Delivers> Task for PinnedFuture<F, R>
where
    Self: Future<Output = ()>,
{
    fn header(&self) -> &Header {
        self.rest().delivery().shared.header()
    }

    fn waker(&self) -> Waker {
        self.rest().delivery().shared.waker()
    }
}

impl<F, S> Future for DeliverTo<F, S>
where
    F: Future,
    S: TaskShared<Output = F::Output>,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut core::task::Context<'_>) -> Poll<()> {
        let mut this = self.project();
        let Some(inner) = this.future.as_mut().as_pin_mut() else {
            return Poll::Ready(()); // already delivered
        };
        let outcome = match poll_user(inner, cx) {
            Poll::Ready(outcome) => outcome,
            Poll::Pending => return Poll::Pending,
        };
        // End the user's future here, before its handle can see the
        // outcome. A panic in its drop is reported; the outcome is kept.
        if let Err(message) = this.end_future() {
            this.rest.report(TaskError::Panicked(message));
        }
        // An outcome nobody will read is reported (a failure) or dropped
        // behind the guard (an output).
        if let Some(error) = this.rest.delivery.deliver(outcome).and_then(unread_failure) {
            this.rest.report(error);
        }
        Poll::Ready(())
    }
}

#[cfg(test)]
mod loom_tests;
