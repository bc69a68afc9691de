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
//!   (A pool task's `Send` future may be built elsewhere and moved in.)
//! - The output goes through a [`Slot`](crate::slot::Slot). Whatever ends
//!   the future — output, panic, cancel, executor dropped — completes the
//!   slot exactly once.

use super::cell::{Delivery, Split, TaskShared};
use super::state::{CANCELLED, DONE, SCHEDULED};
use crate::error::TaskError;
use crate::slab::Key;
use crate::sync::Mutex;
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::task::Wake;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};
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
}

impl Shared {
    pub(crate) fn new(unpark: Waker) -> Self {
        Shared {
            remote: Mutex::new(Vec::new()),
            has_remote: AtomicBool::new(false),
            unpark,
        }
    }

    fn push_remote(&self, key: Key) {
        self.remote.lock().push(key);
        self.has_remote.store(true, Ordering::Release);
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
/// A header can be made before its task is spawned (a pool's `create_task`
/// on another thread hands out the handle first): it starts `SCHEDULED`, so
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
        self.state.store(DONE | SCHEDULED, Ordering::Release);
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

/// Receives the failures of tasks whose handle is gone (a pool's
/// `on_unhandled` hook).
pub(crate) type Reporter = Arc<dyn Fn(TaskError) + Send + Sync>;

/// Hands `error` to `report` if it is a failure someone should hear about
/// (`Cancelled` never is: it is what the canceller asked for).
pub(crate) fn report_unhandled(report: Option<&Reporter>, error: TaskError) {
    if let Some(report) = report {
        if matches!(error, TaskError::Panicked(_) | TaskError::TimedOut) {
            report(error);
        }
    }
}

/// Wraps `future` so that its outcome lands in `slot`: `map(output)`, a
/// `Panicked` error (with `std`) or `Cancelled` if it is dropped first. A
/// failure that lands after the handle was dropped goes to `report`.
pub(crate) fn deliver_to<F, T, M>(
    future: F,
    shared: Split<T>,
    map: M,
    report: Option<Reporter>,
) -> DeliverTo<F, T, M>
where
    F: Future,
    M: FnOnce(F::Output) -> Result<T, TaskError>,
{
    DeliverTo {
        future: UnsafeCell::new(Some(future)),
        map: Some(map),
        report,
        delivery: Delivery::new(shared),
    }
}

/// The future of a spawned task: the user's future, then the delivery of
/// its outcome.
///
/// A named future rather than an `async` block: an `async` block would keep
/// the user's future twice (once as captured, once pinned in its body —
/// rustc does not overlap the two), doubling every task's memory.
///
/// # Pinning
/// `future` is structurally pinned: it is only reached through
/// `Pin<&mut Option<F>>` and ended in place with `Pin::set(None)`, never
/// moved. The other fields are never pinned. There is no `Drop` impl (the
/// fields drop in order: the user's future first, then the delivery that
/// completes the slot), and `DeliverTo` is `Unpin` only when `F` is.
pub(crate) struct DeliverTo<F, T, M> {
    /// In an `UnsafeCell` (used only through the safe `get_mut`): the
    /// executor reads the header through `&self` between polls, and under
    /// Stacked Borrows a shared reference over a self-referential future
    /// would invalidate the borrows it keeps into itself; bytes inside an
    /// `UnsafeCell` are exempt.
    future: UnsafeCell<Option<F>>,
    map: Option<M>,
    report: Option<Reporter>,
    /// Declared last: dropped after `future`.
    delivery: Delivery<Split<T>>,
}

impl<F, T, M> Task for DeliverTo<F, T, M>
where
    F: Future,
    M: FnOnce(F::Output) -> Result<T, TaskError>,
{
    fn header(&self) -> &Header {
        &self.delivery.shared.header
    }

    fn waker(&self) -> Waker {
        self.delivery.shared.waker()
    }
}

impl<F, T, M> Future for DeliverTo<F, T, M>
where
    F: Future,
    M: FnOnce(F::Output) -> Result<T, TaskError>,
{
    type Output = ();

    #[allow(unsafe_code)]
    fn poll(self: Pin<&mut Self>, cx: &mut core::task::Context<'_>) -> Poll<()> {
        // SAFETY: `future` is structurally pinned and nothing else is (see
        // the type's docs): it is never moved out of `self`, only polled in
        // place and ended with `Pin::set`; `self` has no `Drop` impl and is
        // `Unpin` only if `F` is. The other fields are used by `&mut`.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above — a projection to the pinned field.
        let mut future = unsafe { Pin::new_unchecked(this.future.get_mut()) };
        let Some(inner) = future.as_mut().as_pin_mut() else {
            return Poll::Ready(()); // already delivered
        };
        let outcome = match poll_catching(inner, cx) {
            Poll::Ready(outcome) => outcome,
            Poll::Pending => return Poll::Pending,
        };
        // End the user's future here, before its handle can see the outcome.
        future.set(None);
        let map = this.map.take().expect("mapped once");
        let outcome = outcome.and_then(map);
        if let Some(Err(error)) = this.delivery.deliver(outcome) {
            report_unhandled(this.report.as_ref(), error);
        }
        Poll::Ready(())
    }
}

/// Polls `future`, turning a panic into `Err(Panicked(message))`.
pub(crate) fn poll_catching<F: Future>(
    future: Pin<&mut F>,
    cx: &mut core::task::Context<'_>,
) -> Poll<Result<F::Output, TaskError>> {
    #[cfg(feature = "std")]
    {
        let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| future.poll(cx)));
        match polled {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(TaskError::Panicked(panic_message(&*payload)))),
        }
    }
    #[cfg(not(feature = "std"))]
    future.poll(cx).map(Ok)
}

/// The message of a panic payload (`&str` or `String`), else a placeholder.
#[cfg(feature = "std")]
pub(crate) fn panic_message(payload: &(dyn core::any::Any + Send)) -> alloc::string::String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).into()
    } else if let Some(s) = payload.downcast_ref::<alloc::string::String>() {
        s.clone()
    } else {
        "task panicked with a non-string payload".into()
    }
}
