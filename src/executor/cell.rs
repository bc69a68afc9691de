//! What a task's handle, its wakers and its future share: the task's
//! [`Header`] (state bits, table entry, executor) and its completion
//! [`Slot`] — in one allocation when the output is `Send`, in two otherwise.
//!
//! A waker must be `Send + Sync`, so it can point into the slot only when
//! the output may cross threads. [`TaskCell`] is the one-allocation form,
//! for `Send` outputs (a task whose handle may be made on another thread,
//! before the task reaches its executor); [`Split`] keeps the header alone
//! behind the wakers, for `spawn`'s `!Send` outputs.
//!
//! Without `std` there are no other threads, and only [`Split`] is used.
//!
//! # Ground rules
//! - The header holds only atomics and immutable data; the slot has its own
//!   lock (see [`Slot`]). Neither is touched under the other's guard.

#![cfg_attr(not(feature = "std"), allow(dead_code))]

use super::task::{Header, Shared};
use crate::error::TaskError;
use crate::slot::Slot;
use alloc::sync::Arc;
use alloc::task::Wake;
use core::task::Waker;

/// A task's header and slot in one allocation; it is also the task's waker.
pub(crate) struct TaskCell<T> {
    pub(crate) header: Header,
    pub(crate) slot: Slot<T>,
}

impl<T> TaskCell<T> {
    /// The cell of a task not yet in `shared`'s executor's table.
    pub(crate) fn new(shared: Arc<Shared>) -> Arc<Self> {
        Arc::new(TaskCell {
            header: Header::new(shared),
            slot: Slot::new(),
        })
    }
}

impl<T: Send + 'static> Wake for TaskCell<T> {
    fn wake(self: Arc<Self>) {
        self.header.schedule();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.header.schedule();
    }
}

/// A task's header and slot in two allocations (any output).
pub(crate) struct Split<T> {
    pub(crate) header: Arc<Header>,
    pub(crate) slot: Arc<Slot<T>>,
}

impl<T> Split<T> {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Split {
            header: Arc::new(Header::new(shared)),
            slot: Arc::new(Slot::new()),
        }
    }
}

impl<T> Clone for Split<T> {
    fn clone(&self) -> Self {
        Split {
            header: self.header.clone(),
            slot: self.slot.clone(),
        }
    }
}

/// The task's side of its shared part: [`TaskCell`] or [`Split`].
pub(crate) trait TaskShared {
    type Output;
    /// The task's header and completion slot.
    fn parts(&self) -> (&Header, &Slot<Self::Output>);
    fn header(&self) -> &Header {
        self.parts().0
    }
    fn slot(&self) -> &Slot<Self::Output> {
        self.parts().1
    }
    /// A waker that queues the task.
    fn waker(&self) -> Waker;
    /// `true` when nothing else holds the slot: no handle can read an
    /// outcome (a waker of a cell counts as a holder: a safe "maybe").
    fn slot_alone(&self) -> bool;
}

impl<T: Send + 'static> TaskShared for Arc<TaskCell<T>> {
    type Output = T;

    fn parts(&self) -> (&Header, &Slot<T>) {
        (&self.header, &self.slot)
    }

    fn waker(&self) -> Waker {
        Waker::from(self.clone())
    }

    fn slot_alone(&self) -> bool {
        Arc::strong_count(self) == 1
    }
}

impl<T> TaskShared for Split<T> {
    type Output = T;

    fn parts(&self) -> (&Header, &Slot<T>) {
        (&self.header, &self.slot)
    }

    fn waker(&self) -> Waker {
        Waker::from(self.header.clone())
    }

    fn slot_alone(&self) -> bool {
        Arc::strong_count(&self.slot) == 1
    }
}

/// The handles' side: what a [`JoinHandle`](super::JoinHandle) holds.
pub(crate) enum TaskRef<T> {
    Split(Split<T>),
    Cell(Arc<TaskCell<T>>),
}

impl<T> TaskRef<T> {
    pub(crate) fn header(&self) -> &Header {
        match self {
            TaskRef::Split(s) => &s.header,
            TaskRef::Cell(c) => &c.header,
        }
    }

    pub(crate) fn slot(&self) -> &Slot<T> {
        match self {
            TaskRef::Split(s) => &s.slot,
            TaskRef::Cell(c) => &c.slot,
        }
    }

    /// Another reference to the same task (a second handle).
    pub(crate) fn share(&self) -> Self {
        match self {
            TaskRef::Split(s) => TaskRef::Split(Split {
                header: s.header.clone(),
                slot: s.slot.clone(),
            }),
            TaskRef::Cell(c) => TaskRef::Cell(c.clone()),
        }
    }
}

/// Delivers a task's outcome to its slot once; completes it with
/// `Cancelled` if the task is dropped first.
///
/// It keeps no "delivered" flag (a task's memory is its bookkeeping): the
/// slot says whether it has an outcome, and refuses a second one.
pub(crate) struct Delivery<S: TaskShared> {
    pub(crate) shared: S,
}

impl<S: TaskShared> Delivery<S> {
    pub(crate) fn new(shared: S) -> Self {
        Delivery { shared }
    }

    /// Delivers `outcome`. Returns it back when nobody will read it: the
    /// handle was dropped, or the slot was completed first (by an earlier
    /// delivery, or elsewhere).
    pub(crate) fn deliver(
        &mut self,
        outcome: Result<S::Output, TaskError>,
    ) -> Option<Result<S::Output, TaskError>> {
        // Nobody else holds the slot: skip the lock.
        if self.shared.slot_alone() {
            return Some(outcome);
        }
        self.shared.slot().complete(outcome).err()
    }
}

/// What is left to say about an outcome nobody will read: its failure, or —
/// for an output — the panic of its drop (dropped here, behind the guard).
pub(crate) fn unread_failure<T>(outcome: Result<T, TaskError>) -> Option<TaskError> {
    match outcome {
        Err(error) => Some(error),
        Ok(output) => crate::guard::drop_user(output)
            .err()
            .map(TaskError::Panicked),
    }
}

impl<S: TaskShared> Drop for Delivery<S> {
    /// Nothing delivered (the slot has no outcome) and someone may read it:
    /// `Cancelled`. A delivery refused by a detached slot tries again here,
    /// and is refused again.
    fn drop(&mut self) {
        let slot = self.shared.slot();
        if !slot.is_complete() && !self.shared.slot_alone() {
            let _ = slot.complete(Err(TaskError::Cancelled));
        }
    }
}

#[cfg(test)]
mod tests;
