//! The shared completion slot: the one mechanism behind every handle that can
//! be completed, cancelled or awaited from several places.
//!
//! A slot holds a task's outcome (`Result<T, TaskError>`) and the wakers of
//! whoever waits for it, behind one lock.
//!
//! # Ground rules
//! - The state, and with it the waiters (kept in `Empty`: once there is an
//!   outcome nobody waits), change only under `inner`'s lock.
//! - Completing takes the waiters out under the lock and wakes them after it is
//!   released, so a waker that re-enters the slot (polls it again) cannot
//!   deadlock, and the lock is held for a few instructions only.
//! - Registering a waiter and checking the state happen under one lock
//!   acquisition, so a completion can never fall between them (no lost wake).
//! - The first completion wins; later ones hand their value back.
//! - A slot may carry a companion state `X` (default `()`) under the same
//!   lock, for a handle whose state machine must change together with the
//!   outcome.
//! - Blocking waits on a slot (`wait_take`, `wait_with`) live with the other
//!   blocking waits, in `crate::wait`. [`Slot::with`] runs a closure under the
//!   lock with both at hand and wakes what it completed after releasing it.

use crate::error::TaskError;
#[cfg(feature = "std")]
use crate::sync::atomic::AtomicU8;
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::Mutex;
use alloc::vec::Vec;
use core::fmt;
use core::task::{Context, Poll, Waker};

/// Where a slot's outcome is.
///
/// The waiters live in `Empty`, the only state with any: laid out around
/// the outcome's `Result` (in its niche), they cost a slot no extra space.
pub(crate) enum SlotState<T> {
    /// Nothing yet; these wait for it.
    Empty(Waiters),
    /// The outcome, waiting to be taken.
    Full(Result<T, TaskError>),
    /// The outcome was taken by a poll, `join` or `wait`.
    Taken,
    /// The handle is gone: an outcome arriving now is refused (handed back
    /// to the completer, which may report it).
    #[cfg_attr(not(feature = "std"), allow(dead_code))] // readers detach with std
    Detached,
}

impl<T> SlotState<T> {
    /// Number of registered waiters.
    fn waiters(&self) -> usize {
        match self {
            SlotState::Empty(waiters) => waiters.len(),
            _ => 0,
        }
    }
}

/// Wakers of the tasks or threads waiting on a slot. One waiter (the common
/// case: a single handle) needs no allocation.
#[derive(Default, Debug)]
pub(crate) enum Waiters {
    #[default]
    None,
    One(Waker),
    Many(Vec<Waker>),
}

impl Waiters {
    /// Adds `waker` unless an equivalent one is already registered.
    pub(crate) fn register(&mut self, waker: &Waker) {
        match self {
            Waiters::None => *self = Waiters::One(waker.clone()),
            Waiters::One(w) if w.will_wake(waker) => {}
            Waiters::One(_) => {
                let Waiters::One(first) = core::mem::take(self) else {
                    unreachable!()
                };
                *self = Waiters::Many(alloc::vec![first, waker.clone()]);
            }
            Waiters::Many(list) => {
                if !list.iter().any(|w| w.will_wake(waker)) {
                    list.push(waker.clone());
                }
            }
        }
    }

    /// Wakes every waiter. Call it with no lock held.
    pub(crate) fn wake_all(self) {
        match self {
            Waiters::None => {}
            Waiters::One(w) => w.wake(),
            Waiters::Many(list) => list.into_iter().for_each(Waker::wake),
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Waiters::None => 0,
            Waiters::One(_) => 1,
            Waiters::Many(list) => list.len(),
        }
    }
}

struct Inner<T, X> {
    state: SlotState<T>,
    /// The companion state (see the ground rules).
    extra: X,
}

/// A task's outcome, shared between the side that produces it and the
/// handles that wait for it; optionally with a companion state `X` under the
/// same lock.
pub(crate) struct Slot<T, X = ()> {
    inner: Mutex<Inner<T, X>>,
    /// Set once an outcome is stored: `is_complete` without the lock (a
    /// waiter spinning on it does not contend with the completer).
    filled: AtomicBool,
    /// Reader handles that detach the slot when the last is dropped (see
    /// `drop_handle`); 1 at first. Sits in the padding after `filled`: no
    /// extra space.
    #[cfg(feature = "std")]
    handles: AtomicU8,
}

impl<T> Slot<T> {
    pub(crate) fn new() -> Self {
        Self::with_extra(())
    }
}

impl<T, X> Slot<T, X> {
    /// An empty slot with `extra` as its companion state.
    pub(crate) fn with_extra(extra: X) -> Self {
        Slot {
            inner: Mutex::new(Inner {
                state: SlotState::Empty(Waiters::None),
                extra,
            }),
            filled: AtomicBool::new(false),
            #[cfg(feature = "std")]
            handles: AtomicU8::new(1),
        }
    }

    /// Stores the outcome and wakes every waiter. Returns the outcome back
    /// when the slot already had one (first completion wins).
    pub(crate) fn complete(
        &self,
        outcome: Result<T, TaskError>,
    ) -> Result<(), Result<T, TaskError>> {
        self.with(|_, out| out.complete(outcome))
    }

    /// `true` once an outcome was stored (taken or not).
    pub(crate) fn is_complete(&self) -> bool {
        self.filled.load(Ordering::Acquire)
    }

    /// Takes the outcome if there is one; else registers `cx`'s waker.
    /// Once taken, every later poll is `Err(AlreadyTaken)`.
    pub(crate) fn poll_take(&self, cx: &mut Context<'_>) -> Poll<Result<T, TaskError>> {
        let mut inner = self.inner.lock();
        match core::mem::replace(&mut inner.state, SlotState::Taken) {
            SlotState::Full(outcome) => Poll::Ready(outcome),
            SlotState::Taken | SlotState::Detached => Poll::Ready(Err(TaskError::AlreadyTaken)),
            SlotState::Empty(mut waiters) => {
                waiters.register(cx.waker());
                inner.state = SlotState::Empty(waiters);
                Poll::Pending
            }
        }
    }

    /// Takes the outcome if there is one, without waiting.
    pub(crate) fn try_take(&self) -> Option<Result<T, TaskError>> {
        let mut inner = self.inner.lock();
        match core::mem::replace(&mut inner.state, SlotState::Taken) {
            SlotState::Full(outcome) => Some(outcome),
            SlotState::Taken | SlotState::Detached => Some(Err(TaskError::AlreadyTaken)),
            empty @ SlotState::Empty(_) => {
                inner.state = empty;
                None
            }
        }
    }

    /// Number of registered waiters (for tests).
    #[cfg(test)]
    pub(crate) fn waiter_count(&self) -> usize {
        self.inner.lock().state.waiters()
    }
}

// === impl Slot: several readers (std: their handles live on other threads) ===

#[cfg(feature = "std")]
impl<T, X> Slot<T, X> {
    /// Wakes every waiter without completing the slot (they poll again and
    /// re-register): for a producer that went away and must be replaced by
    /// one of its waiters.
    pub(crate) fn wake_waiters(&self) {
        let waiters = match &mut self.inner.lock().state {
            SlotState::Empty(waiters) => core::mem::take(waiters),
            _ => Waiters::None,
        };
        waiters.wake_all();
    }

    /// Counts one more reader handle that will call
    /// [`drop_handle`](Self::drop_handle).
    pub(crate) fn add_handle(&self) {
        let before = self.handles.fetch_add(1, Ordering::Relaxed);
        debug_assert!(before < u8::MAX, "a slot has at most a few handles");
    }

    /// A handle is gone: the last one detaches the slot (see
    /// [`detach`](Self::detach), whose unread outcome it returns).
    pub(crate) fn drop_handle(&self) -> Option<Result<T, TaskError>> {
        if self.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.detach()
        } else {
            None
        }
    }

    /// Says the handle is gone. Returns the outcome if one was stored and
    /// never read; an outcome arriving later is refused by `complete`.
    pub(crate) fn detach(&self) -> Option<Result<T, TaskError>> {
        let mut inner = self.inner.lock();
        match core::mem::replace(&mut inner.state, SlotState::Detached) {
            SlotState::Full(outcome) => {
                inner.state = SlotState::Taken;
                Some(outcome)
            }
            SlotState::Taken => {
                inner.state = SlotState::Taken;
                None
            }
            SlotState::Empty(_) | SlotState::Detached => None,
        }
    }

    /// A clone of the outcome, leaving it in place for other readers; else
    /// registers `cx`'s waker. (A taken outcome reads as `AlreadyTaken`.)
    pub(crate) fn poll_clone(&self, cx: &mut Context<'_>) -> Poll<Result<T, TaskError>>
    where
        T: Clone,
    {
        let mut inner = self.inner.lock();
        match &mut inner.state {
            SlotState::Full(outcome) => Poll::Ready(clone_outcome(outcome)),
            SlotState::Taken | SlotState::Detached => Poll::Ready(Err(TaskError::AlreadyTaken)),
            SlotState::Empty(waiters) => {
                waiters.register(cx.waker());
                Poll::Pending
            }
        }
    }
}

/// A clone of `outcome` for one more reader; `T::clone` is the user's code,
/// called behind the guard: a panic there is this reader's `Panicked`.
pub(crate) fn clone_outcome<T: Clone>(outcome: &Result<T, TaskError>) -> Result<T, TaskError> {
    crate::guard::call_user(|| outcome.clone()).unwrap_or_else(|m| Err(TaskError::Panicked(m)))
}

// === impl Slot: companion state ===

/// The outcome side of a locked slot, handed to [`Slot::with`]'s closure
/// next to the companion state. What it completes is woken after the lock is
/// released.
pub(crate) struct Outcome<'a, T> {
    state: &'a mut SlotState<T>,
    filled: &'a AtomicBool,
    /// Waiters taken out by `complete`, woken once the lock is released.
    woken: Waiters,
}

impl<T> Outcome<'_, T> {
    /// The stored outcome, if there is one and it was not taken.
    pub(crate) fn peek(&self) -> Option<&Result<T, TaskError>> {
        match &*self.state {
            SlotState::Full(outcome) => Some(outcome),
            _ => None,
        }
    }

    /// `true` once an outcome was stored (taken or not).
    pub(crate) fn is_complete(&self) -> bool {
        matches!(self.state, SlotState::Full(_) | SlotState::Taken)
    }

    /// Stores the outcome; every waiter is woken when the lock is released.
    /// Refused (handed back) when the slot is not empty, as in
    /// [`Slot::complete`].
    pub(crate) fn complete(
        &mut self,
        outcome: Result<T, TaskError>,
    ) -> Result<(), Result<T, TaskError>> {
        if !matches!(self.state, SlotState::Empty(_)) {
            return Err(outcome);
        }
        // Moved out whole: no drop of the old state to call.
        let SlotState::Empty(waiters) = core::mem::replace(self.state, SlotState::Full(outcome))
        else {
            unreachable!("checked above");
        };
        self.woken = waiters;
        self.filled.store(true, Ordering::Release);
        Ok(())
    }

    /// Registers `waker` to be woken at completion (stored once per task;
    /// nothing to wait for once there is an outcome).
    pub(crate) fn register(&mut self, waker: &Waker) {
        if let SlotState::Empty(waiters) = self.state {
            waiters.register(waker);
        }
    }

    /// Number of registered waiters.
    pub(crate) fn waiters(&self) -> usize {
        self.state.waiters()
    }
}

impl<T, X> Slot<T, X> {
    /// Runs `f` under the lock with the companion state and the outcome at
    /// hand, then — with the lock released — wakes the waiters of an outcome
    /// `f` stored. `f` must not call back into this slot (it would deadlock)
    /// and should not run user code (wakers, drops of user values: return
    /// them and let the caller drop or wake them).
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut X, &mut Outcome<'_, T>) -> R) -> R {
        let (result, woken) = self.run_locked(&mut *self.inner.lock(), f);
        woken.wake_all();
        result
    }

    /// Like [`with`](Self::with), but `None` instead of waiting when the lock
    /// is held elsewhere (for `Debug`, which must never block).
    pub(crate) fn try_with<R>(
        &self,
        f: impl FnOnce(&mut X, &mut Outcome<'_, T>) -> R,
    ) -> Option<R> {
        let (result, woken) = self.run_locked(&mut *self.inner.try_lock()?, f);
        woken.wake_all();
        Some(result)
    }

    /// Runs `f` over the locked state; returns its result and the waiters
    /// to wake once the lock is released.
    fn run_locked<R>(
        &self,
        inner: &mut Inner<T, X>,
        f: impl FnOnce(&mut X, &mut Outcome<'_, T>) -> R,
    ) -> (R, Waiters) {
        let mut outcome = Outcome {
            state: &mut inner.state,
            filled: &self.filled,
            woken: Waiters::None,
        };
        let result = f(&mut inner.extra, &mut outcome);
        (result, outcome.woken)
    }
}

impl<T, X> fmt::Debug for Slot<T, X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inner.try_lock() {
            Some(inner) => {
                let state = match inner.state {
                    SlotState::Empty(_) => "empty",
                    SlotState::Full(Ok(_)) => "ok",
                    SlotState::Full(Err(_)) => "err",
                    SlotState::Taken => "taken",
                    SlotState::Detached => "detached",
                };
                f.debug_struct("Slot")
                    .field("state", &state)
                    .field("waiters", &inner.state.waiters())
                    .finish()
            }
            None => f.write_str("Slot(<locked>)"),
        }
    }
}

#[cfg(test)]
mod tests;
