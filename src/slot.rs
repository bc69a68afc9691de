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
//! - A slot may carry a companion state `X` (default `()`) under the same
//!   lock, for handles whose state machine must change together with the
//!   outcome (a restartable task). [`Slot::with`] runs a closure under the
//!   lock with both at hand and wakes what it completed after releasing it.

use crate::error::TaskError;
use crate::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use crate::sync::Mutex;
use alloc::vec::Vec;
use core::fmt;
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
    #[cfg_attr(not(feature = "std"), allow(dead_code))] // pool handles detach
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

struct Inner<T, X> {
    state: SlotState<T>,
    waiters: Waiters,
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
    /// Handles that detach the slot when dropped (see `drop_handle`); 1 at
    /// first. Sits in the padding after `filled`: no extra space.
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
                state: SlotState::Empty,
                waiters: Waiters::None,
                extra,
            }),
            filled: AtomicBool::new(false),
            handles: AtomicU8::new(1),
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

    /// Wakes every waiter without completing the slot (they poll again and
    /// re-register): for a producer that went away and must be replaced by
    /// one of them.
    #[cfg_attr(not(feature = "std"), allow(dead_code))] // debouncers
    pub(crate) fn wake_waiters(&self) {
        let waiters = core::mem::take(&mut self.inner.lock().waiters);
        waiters.wake_all();
    }

    /// Counts one more handle that will call [`drop_handle`](Self::drop_handle).
    #[cfg_attr(not(feature = "std"), allow(dead_code))] // pool handles
    pub(crate) fn add_handle(&self) {
        let before = self.handles.fetch_add(1, Ordering::Relaxed);
        debug_assert!(before < u8::MAX, "a slot has at most a few handles");
    }

    /// A handle is gone: the last one detaches the slot (see
    /// [`detach`](Self::detach), whose unread outcome it returns).
    #[cfg_attr(not(feature = "std"), allow(dead_code))] // pool handles
    pub(crate) fn drop_handle(&self) -> Option<Result<T, TaskError>> {
        if self.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.detach()
        } else {
            None
        }
    }

    /// Says the handle is gone. Returns the outcome if one was stored and
    /// never read; an outcome arriving later is refused by `complete`.
    #[cfg_attr(not(feature = "std"), allow(dead_code))] // pool handles
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

    /// A clone of the outcome, leaving it in place for other readers; else
    /// registers `cx`'s waker. (A taken outcome reads as `AlreadyTaken`.)
    #[cfg_attr(not(feature = "std"), allow(dead_code))] // debouncers
    pub(crate) fn poll_clone(&self, cx: &mut Context<'_>) -> Poll<Result<T, TaskError>>
    where
        T: Clone,
    {
        let mut inner = self.inner.lock();
        match &inner.state {
            SlotState::Full(outcome) => Poll::Ready(clone_outcome(outcome)),
            SlotState::Taken | SlotState::Detached => Poll::Ready(Err(TaskError::AlreadyTaken)),
            SlotState::Empty => {
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
impl<T, X> Slot<T, X> {
    /// Blocks the calling thread until the outcome is there or `timeout`
    /// passes (`None`: no limit), then takes it.
    pub(crate) fn wait_take(
        &self,
        timeout: Option<std::time::Duration>,
    ) -> Option<Result<T, TaskError>> {
        let deadline = deadline_after(timeout);
        // The fast paths register no waker: the outcome is there, or it is
        // microseconds away (spin briefly before parking).
        if let Some(outcome) = self.try_take() {
            return Some(outcome);
        }
        if timeout == Some(std::time::Duration::ZERO) {
            return None;
        }
        if crate::sync::backoff::spin_until(|| self.is_complete()) {
            return self.try_take();
        }
        let waker = park_waker();
        self.park_until(deadline, &mut Context::from_waker(&waker), |cx| {
            self.poll_take(cx)
        })
    }

    /// Polls `poll` until it is ready, parking the thread between polls
    /// (its waker unparks it) until `deadline` (`None`: no limit); one last
    /// poll at the deadline.
    fn park_until<R>(
        &self,
        deadline: Option<std::time::Instant>,
        cx: &mut Context<'_>,
        mut poll: impl FnMut(&mut Context<'_>) -> Poll<R>,
    ) -> Option<R> {
        loop {
            if let Poll::Ready(r) = poll(cx) {
                return Some(r);
            }
            match deadline {
                // No limit, or one so far it overflows `Instant`: wait for the wake.
                None => std::thread::park(),
                Some(deadline) => {
                    let now = std::time::Instant::now();
                    if now >= deadline {
                        // One last look: the outcome may have just arrived.
                        return match poll(cx) {
                            Poll::Ready(r) => Some(r),
                            Poll::Pending => None,
                        };
                    }
                    std::thread::park_timeout(deadline - now);
                }
            }
        }
    }
}

/// A clone of `outcome` for one more reader; `T::clone` is the user's code,
/// called behind the guard: a panic there is this reader's `Panicked`.
pub(crate) fn clone_outcome<T: Clone>(outcome: &Result<T, TaskError>) -> Result<T, TaskError> {
    crate::guard::call_user(|| outcome.clone()).unwrap_or_else(|m| Err(TaskError::Panicked(m)))
}

/// When a wait of `timeout` from now ends; `None`: never (no limit, or past
/// what `Instant` can hold).
#[cfg(feature = "std")]
fn deadline_after(timeout: Option<std::time::Duration>) -> Option<std::time::Instant> {
    timeout.and_then(|t| std::time::Instant::now().checked_add(t))
}

// === impl Slot: companion state ===

/// The outcome side of a locked slot, handed to [`Slot::with`]'s closure
/// next to the companion state. What it completes is woken after the lock is
/// released.
pub(crate) struct Outcome<'a, T> {
    state: &'a mut SlotState<T>,
    waiters: &'a mut Waiters,
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
        if !matches!(self.state, SlotState::Empty) {
            return Err(outcome);
        }
        *self.state = SlotState::Full(outcome);
        self.filled.store(true, Ordering::Release);
        self.woken = core::mem::take(self.waiters);
        Ok(())
    }

    /// Registers `waker` to be woken at completion (stored once per task).
    pub(crate) fn register(&mut self, waker: &Waker) {
        self.waiters.register(waker);
    }

    /// Number of registered waiters.
    pub(crate) fn waiters(&self) -> usize {
        self.waiters.len()
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
            waiters: &mut inner.waiters,
            filled: &self.filled,
            woken: Waiters::None,
        };
        let result = f(&mut inner.extra, &mut outcome);
        (result, outcome.woken)
    }
}

#[cfg(feature = "std")]
std::thread_local! {
    /// One unpark waker per thread, reused by every blocking wait: a wait
    /// that times out again and again re-registers the same waker, which the
    /// waiters list stores once, instead of piling up a new one each time.
    static PARK_WAKER: Waker = {
        let thread = std::thread::current();
        waker_fn::waker_fn(move || thread.unpark())
    };
}

/// This thread's unpark waker (a fresh one while the thread is being torn
/// down and its thread-locals are gone).
#[cfg(feature = "std")]
fn park_waker() -> Waker {
    PARK_WAKER.try_with(Waker::clone).unwrap_or_else(|_| {
        let thread = std::thread::current();
        waker_fn::waker_fn(move || thread.unpark())
    })
}

#[cfg(feature = "std")]
impl<T, X> Slot<T, X> {
    /// Blocks the calling thread until `poll` is ready or `timeout` passes
    /// (`None`: no limit; `Some(ZERO)`: poll once). `poll` is the caller's
    /// poll function over this slot (it registers the waker it is given,
    /// through [`with`](Self::with)); the wait spins briefly on
    /// [`is_complete`](Self::is_complete) before parking.
    pub(crate) fn wait_with<R>(
        &self,
        timeout: Option<std::time::Duration>,
        mut poll: impl FnMut(&mut Context<'_>) -> Poll<R>,
    ) -> Option<R> {
        let deadline = deadline_after(timeout);
        let waker = park_waker();
        let mut cx = Context::from_waker(&waker);
        if let Poll::Ready(r) = poll(&mut cx) {
            return Some(r);
        }
        if timeout == Some(std::time::Duration::ZERO) {
            return None;
        }
        // The outcome is often microseconds away: spin briefly before parking.
        crate::sync::backoff::spin_until(|| self.is_complete());
        self.park_until(deadline, &mut cx, poll)
    }
}

impl<T, X> fmt::Debug for Slot<T, X> {
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
    fn poll_clone_gives_every_reader_the_outcome_and_wakes_waiting_ones() {
        let slot = Slot::new();
        let (w, woken) = counting_waker();
        let mut cx = Context::from_waker(&w);
        assert!(slot.poll_clone(&mut cx).is_pending());
        slot.complete(Ok(alloc::string::String::from("hit")))
            .unwrap();
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        for _ in 0..3 {
            assert_eq!(slot.poll_clone(&mut cx), Poll::Ready(Ok("hit".into())));
        }
        assert_eq!(
            slot.try_take(),
            Some(Ok("hit".into())),
            "still there to take"
        );
        assert_eq!(
            slot.poll_clone(&mut cx),
            Poll::Ready(Err(TaskError::AlreadyTaken))
        );
    }

    #[test]
    fn the_last_of_several_handles_detaches_the_slot() {
        let slot: Slot<u8> = Slot::new();
        slot.add_handle();
        slot.complete(Err(TaskError::TimedOut)).unwrap();
        assert_eq!(slot.drop_handle(), None, "another handle still reads it");
        assert_eq!(
            slot.drop_handle(),
            Some(Err(TaskError::TimedOut)),
            "the last one hands back the unread outcome"
        );
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

    /// A poll function over a `Slot<u8, u32>` that counts its polls in the
    /// companion state and clones the outcome.
    fn poll_counting(slot: &Slot<u8, u32>, cx: &mut Context<'_>) -> Poll<Result<u8, TaskError>> {
        slot.with(|polls, out| {
            *polls += 1;
            match out.peek() {
                Some(outcome) => Poll::Ready(outcome.clone()),
                None => {
                    out.register(cx.waker());
                    Poll::Pending
                }
            }
        })
    }

    #[test]
    fn with_changes_companion_and_outcome_together_and_wakes_after_unlock() {
        let slot: Arc<Slot<u8, u32>> = Arc::new(Slot::with_extra(0));
        // The waker re-enters the slot: it would deadlock if woken under the lock.
        let seen = Arc::new(AtomicUsize::new(usize::MAX));
        let waker = {
            let (slot, seen) = (slot.clone(), seen.clone());
            waker_fn::waker_fn(move || {
                let extra = slot.with(|extra, out| {
                    assert!(out.is_complete());
                    *extra
                });
                seen.store(extra as usize, Ordering::SeqCst);
            })
        };
        let mut cx = Context::from_waker(&waker);
        assert!(poll_counting(&slot, &mut cx).is_pending());
        assert_eq!(slot.with(|_, out| out.waiters()), 1);
        let refused = slot.with(|extra, out| {
            *extra = 7;
            assert_eq!(out.complete(Ok(1)), Ok(()));
            assert_eq!(out.peek(), Some(&Ok(1)));
            out.complete(Ok(2))
        });
        assert_eq!(refused, Err(Ok(2)), "first completion wins");
        assert_eq!(
            seen.load(Ordering::SeqCst),
            7,
            "woken once, after the unlock"
        );
        assert!(slot.is_complete());
        // Peeking does not take: every poll gets the outcome.
        assert_eq!(poll_counting(&slot, &mut cx), Poll::Ready(Ok(1)));
        assert_eq!(poll_counting(&slot, &mut cx), Poll::Ready(Ok(1)));
        assert_eq!(slot.complete(Ok(3)), Err(Ok(3)));
        assert_eq!(slot.with(|extra, _| *extra), 9, "7 + two polls");
    }

    #[test]
    fn try_with_gives_up_while_the_lock_is_held() {
        let slot: Slot<u8, u32> = Slot::with_extra(5);
        assert_eq!(slot.try_with(|extra, _| *extra), Some(5));
        let inside = slot.with(|_, _| slot.try_with(|extra, _| *extra));
        assert_eq!(inside, None);
        assert_eq!(
            slot.try_take(),
            None,
            "the taking methods work with a companion"
        );
    }

    #[cfg(feature = "std")]
    #[test]
    fn wait_with_returns_what_another_thread_completes() {
        let slot: Arc<Slot<u8, u32>> = Arc::new(Slot::with_extra(0));
        let s = slot.clone();
        let t = std::thread::spawn(move || s.complete(Ok(4)));
        let got = slot.wait_with(None, |cx| poll_counting(&slot, cx));
        assert_eq!(got, Some(Ok(4)));
        t.join().unwrap().unwrap();
    }

    #[cfg(feature = "std")]
    #[test]
    fn wait_with_times_out_and_repeated_waits_register_one_waker() {
        let slot: Slot<u8, u32> = Slot::with_extra(0);
        assert_eq!(
            slot.wait_with(Some(std::time::Duration::ZERO), |cx| poll_counting(
                &slot, cx
            )),
            None
        );
        assert_eq!(slot.with(|polls, _| *polls), 1, "ZERO polls once");
        for _ in 0..3 {
            let got = slot.wait_with(Some(std::time::Duration::from_millis(1)), |cx| {
                poll_counting(&slot, cx)
            });
            assert_eq!(got, None);
        }
        if !cfg!(miri) {
            assert_eq!(slot.waiter_count(), 1, "the thread's waker is reused");
        }
    }
}

#[cfg(test)]
mod loom_tests {
    use super::*;
    use crate::sync::loom::model::{flag_waker, model, thread};
    use alloc::sync::Arc;

    /// One thread completes the slot while another polls it with a waker
    /// that sets a flag.
    ///
    /// Property, no lost wake: the poll takes the value, or it returned
    /// `Pending` and its waker was woken (completion takes the waiters
    /// under the same lock that `poll_take` registers under), and the next
    /// poll takes the value. A completion that `is_complete` reports is
    /// there to take.
    #[test]
    fn loom_slot_complete_wakes_a_poll_that_went_pending() {
        model(|| {
            let slot = Arc::new(Slot::<u8>::new());
            let woken = Arc::new(AtomicBool::new(false));
            let waker = flag_waker(&woken);
            let completer = {
                let slot = slot.clone();
                thread::spawn(move || slot.complete(Ok(1)))
            };
            let mut cx = Context::from_waker(&waker);
            let seen_complete = slot.is_complete();
            let first = slot.poll_take(&mut cx);
            if seen_complete {
                assert_eq!(
                    first,
                    Poll::Ready(Ok(1)),
                    "is_complete, then nothing to take"
                );
            }
            assert_eq!(completer.join().unwrap(), Ok(()));
            match first {
                Poll::Ready(outcome) => assert_eq!(outcome, Ok(1)),
                Poll::Pending => {
                    assert!(
                        woken.load(Ordering::SeqCst),
                        "lost wake: Pending, and the completion never woke the poll"
                    );
                    assert_eq!(slot.poll_take(&mut cx), Poll::Ready(Ok(1)));
                }
            }
        });
    }

    /// The last two handles of a slot are dropped on two threads while a
    /// third completes it.
    ///
    /// Property: exactly one handle drop detaches the slot (`handles`
    /// counts down to 0 once), and the outcome goes exactly once either to
    /// that drop (stored first: read, unread) or back to the completer
    /// (refused: the slot was detached first) — never both, never lost.
    #[test]
    fn loom_slot_outcome_is_read_or_handed_back_exactly_once() {
        model(|| {
            let slot = Arc::new(Slot::<u8>::new());
            slot.add_handle();
            let droppers: Vec<_> = (0..2)
                .map(|_| {
                    let slot = slot.clone();
                    thread::spawn(move || slot.drop_handle())
                })
                .collect();
            let completed = slot.complete(Ok(1));
            let read: Vec<_> = droppers
                .into_iter()
                .filter_map(|d| d.join().unwrap())
                .collect();
            match completed {
                Ok(()) => assert_eq!(read, [Ok(1)], "stored, so the detaching drop reads it"),
                Err(back) => {
                    assert_eq!(back, Ok(1));
                    assert!(read.is_empty(), "handed back and read: {read:?}");
                }
            }
            assert_eq!(slot.handles.load(Ordering::Relaxed), 0);
        });
    }
}
