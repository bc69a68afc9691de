//! The shared completion slot: the one mechanism behind every handle that can
//! be completed, cancelled or awaited from several places.
//!
//! A slot holds a task's outcome (`Result<T, TaskError>`) and the wakers of
//! whoever waits for it, behind one lock.
//!
//! # Ground rules
//! - `state` and `waiters` change only under `inner`'s lock.
//! - Completing takes the waiters out under the lock and wakes them after it is
//!   released, so a waker that re-enters the slot (polls it again) cannot
//!   deadlock, and the lock is held for a few instructions only.
//! - Registering a waiter and checking the state happen under one lock
//!   acquisition, so a completion can never fall between them (no lost wake).
//! - The first completion wins; later ones hand their value back.

use crate::error::TaskError;
use crate::sync::Mutex;
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll, Waker};

/// Where a slot's outcome is.
pub(crate) enum SlotState<T> {
    /// Nothing yet.
    Empty,
    /// The outcome, waiting to be taken.
    Full(Result<T, TaskError>),
    /// The outcome was taken by a poll, `join` or `wait`.
    Taken,
    /// The handle is gone: an outcome arriving now is refused (handed back
    /// to the completer, which may report it).
    Detached,
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

struct Inner<T> {
    state: SlotState<T>,
    waiters: Waiters,
}

/// A task's outcome, shared between the side that produces it and the
/// handles that wait for it.
pub(crate) struct Slot<T> {
    inner: Mutex<Inner<T>>,
    /// Set once an outcome is stored: `is_complete` without the lock (a
    /// waiter spinning on it does not contend with the completer).
    filled: AtomicBool,
}

impl<T> Slot<T> {
    pub(crate) const fn new() -> Self {
        Slot {
            inner: Mutex::new(Inner {
                state: SlotState::Empty,
                waiters: Waiters::None,
            }),
            filled: AtomicBool::new(false),
        }
    }

    /// Stores the outcome and wakes every waiter. Returns the outcome back
    /// when the slot already had one (first completion wins).
    pub(crate) fn complete(
        &self,
        outcome: Result<T, TaskError>,
    ) -> Result<(), Result<T, TaskError>> {
        let waiters = {
            let mut inner = self.inner.lock();
            if !matches!(inner.state, SlotState::Empty) {
                return Err(outcome);
            }
            inner.state = SlotState::Full(outcome);
            self.filled.store(true, Ordering::Release);
            core::mem::take(&mut inner.waiters)
        };
        waiters.wake_all();
        Ok(())
    }

    /// `true` once an outcome was stored (taken or not).
    pub(crate) fn is_complete(&self) -> bool {
        self.filled.load(Ordering::Acquire)
    }

    /// Says the handle is gone. Returns the outcome if one was stored and
    /// never read; an outcome arriving later is refused by `complete`.
    pub(crate) fn detach(&self) -> Option<Result<T, TaskError>> {
        let mut inner = self.inner.lock();
        inner.waiters = Waiters::None;
        match core::mem::replace(&mut inner.state, SlotState::Detached) {
            SlotState::Full(outcome) => {
                inner.state = SlotState::Taken;
                Some(outcome)
            }
            SlotState::Taken => {
                inner.state = SlotState::Taken;
                None
            }
            SlotState::Empty | SlotState::Detached => None,
        }
    }

    /// Takes the outcome if there is one; else registers `cx`'s waker.
    /// Once taken, every later poll is `Err(AlreadyTaken)`.
    pub(crate) fn poll_take(&self, cx: &mut Context<'_>) -> Poll<Result<T, TaskError>> {
        let mut inner = self.inner.lock();
        match core::mem::replace(&mut inner.state, SlotState::Taken) {
            SlotState::Full(outcome) => Poll::Ready(outcome),
            SlotState::Taken | SlotState::Detached => Poll::Ready(Err(TaskError::AlreadyTaken)),
            SlotState::Empty => {
                inner.state = SlotState::Empty;
                inner.waiters.register(cx.waker());
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
            SlotState::Empty => {
                inner.state = SlotState::Empty;
                None
            }
        }
    }

    /// Number of registered waiters (for tests).
    #[cfg(test)]
    pub(crate) fn waiter_count(&self) -> usize {
        self.inner.lock().waiters.len()
    }
}

#[cfg(feature = "std")]
#[cfg_attr(not(test), allow(dead_code))] // the pools' blocking `wait` (next issue)
impl<T> Slot<T> {
    /// Blocks the calling thread until the outcome is there or `timeout`
    /// passes (`None`: no limit), then takes it.
    pub(crate) fn wait_take(
        &self,
        timeout: Option<std::time::Duration>,
    ) -> Option<Result<T, TaskError>> {
        use std::time::Instant;
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        if let Some(outcome) = self.try_take() {
            return Some(outcome);
        }
        if timeout == Some(std::time::Duration::ZERO) {
            return None;
        }
        // The outcome is often microseconds away: spin briefly before parking.
        if crate::sync::backoff::spin_until(|| self.is_complete()) {
            return self.try_take();
        }
        let thread = std::thread::current();
        let waker = waker_fn::waker_fn(move || thread.unpark());
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(outcome) = self.poll_take(&mut cx) {
                return Some(outcome);
            }
            match deadline {
                // No limit, or one so far it overflows `Instant`: wait for the wake.
                None => std::thread::park(),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return self.try_take();
                    }
                    std::thread::park_timeout(deadline - now);
                }
            }
        }
    }
}

impl<T> fmt::Debug for Slot<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inner.try_lock() {
            Some(inner) => {
                let state = match inner.state {
                    SlotState::Empty => "empty",
                    SlotState::Full(Ok(_)) => "ok",
                    SlotState::Full(Err(_)) => "err",
                    SlotState::Taken => "taken",
                    SlotState::Detached => "detached",
                };
                f.debug_struct("Slot")
                    .field("state", &state)
                    .field("waiters", &inner.waiters.len())
                    .finish()
            }
            None => f.write_str("Slot(<locked>)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::sync::Arc;
    use core::sync::atomic::{AtomicUsize, Ordering};

    fn counting_waker() -> (Waker, Arc<AtomicUsize>) {
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        (
            waker_fn::waker_fn(move || {
                c.fetch_add(1, Ordering::SeqCst);
            }),
            count,
        )
    }

    #[test]
    fn first_completion_wins_and_wakes_every_waiter_once() {
        let slot = Slot::new();
        let (w1, n1) = counting_waker();
        let (w2, n2) = counting_waker();
        assert!(slot.poll_take(&mut Context::from_waker(&w1)).is_pending());
        assert!(slot.poll_take(&mut Context::from_waker(&w1)).is_pending());
        assert!(slot.poll_take(&mut Context::from_waker(&w2)).is_pending());
        // `will_wake` is best-effort (Miri gives each codegen unit its own
        // vtable), so the de-duplication is checked natively only.
        if !cfg!(miri) {
            assert_eq!(
                slot.waiter_count(),
                2,
                "a re-registered waker is stored once"
            );
        }
        assert_eq!(slot.complete(Ok(1)), Ok(()));
        assert_eq!(
            slot.complete(Ok(2)),
            Err(Ok(2)),
            "second completion is refused"
        );
        assert_eq!(n2.load(Ordering::SeqCst), 1);
        let n1 = n1.load(Ordering::SeqCst);
        assert!(n1 == 1 || (cfg!(miri) && n1 == 2), "woken {n1} times");
        assert!(slot.is_complete());
        assert_eq!(slot.try_take(), Some(Ok(1)));
        assert_eq!(slot.try_take(), Some(Err(TaskError::AlreadyTaken)));
        let (w3, _) = counting_waker();
        assert_eq!(
            slot.poll_take(&mut Context::from_waker(&w3)),
            Poll::Ready(Err(TaskError::AlreadyTaken))
        );
    }

    #[test]
    fn detach_hands_back_an_unread_outcome_and_refuses_later_ones() {
        let slot: Slot<u8> = Slot::new();
        assert_eq!(slot.detach(), None);
        assert_eq!(slot.complete(Ok(1)), Err(Ok(1)), "refused after detach");
        assert!(!slot.is_complete());
        let slot: Slot<u8> = Slot::new();
        slot.complete(Err(TaskError::TimedOut)).unwrap();
        assert_eq!(slot.detach(), Some(Err(TaskError::TimedOut)));
        assert_eq!(slot.detach(), None, "handed back once");
    }

    #[test]
    fn empty_slot_has_nothing_to_take() {
        let slot: Slot<u8> = Slot::new();
        assert_eq!(slot.try_take(), None);
        assert!(!slot.is_complete());
        assert_eq!(
            alloc::format!("{slot:?}"),
            "Slot { state: \"empty\", waiters: 0 }"
        );
    }

    #[cfg(feature = "std")]
    #[test]
    fn wait_take_returns_value_completed_from_another_thread() {
        let slot = Arc::new(Slot::new());
        let s = slot.clone();
        let t = std::thread::spawn(move || s.complete(Ok(7)));
        assert_eq!(slot.wait_take(None), Some(Ok(7)));
        t.join().unwrap().unwrap();
    }

    #[cfg(feature = "std")]
    #[test]
    fn wait_take_times_out_on_an_empty_slot() {
        let slot: Slot<u8> = Slot::new();
        assert_eq!(slot.wait_take(Some(std::time::Duration::ZERO)), None);
        assert_eq!(
            slot.wait_take(Some(std::time::Duration::from_millis(1))),
            None
        );
        assert_eq!(
            slot.try_take(),
            None,
            "a timed-out wait leaves the slot usable"
        );
    }

    #[cfg(feature = "std")]
    #[test]
    fn completion_races_with_many_waiting_threads() {
        const THREADS: usize = 4;
        let rounds = if cfg!(miri) { 3 } else { 200 };
        for _ in 0..rounds {
            let slot = Arc::new(Slot::<Arc<u8>>::new());
            // Several threads poll; one takes the value, the others see AlreadyTaken.
            let waiters: Vec<_> = (0..THREADS)
                .map(|_| {
                    let s = slot.clone();
                    std::thread::spawn(move || s.wait_take(None).unwrap())
                })
                .collect();
            slot.complete(Ok(Arc::new(9))).unwrap();
            let outcomes: Vec<_> = waiters.into_iter().map(|h| h.join().unwrap()).collect();
            let oks = outcomes.iter().filter(|o| o.is_ok()).count();
            assert_eq!(oks, 1, "exactly one waiter takes the value: {outcomes:?}");
            assert!(outcomes
                .iter()
                .all(|o| matches!(o, Ok(_) | Err(TaskError::AlreadyTaken))));
        }
    }
}
