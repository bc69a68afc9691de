//! The timer driver: one per executor, shared (behind `Arc`) by every timer
//! future created on it, so those futures are `Send` and can be dropped on any
//! thread.
//!
//! Time is kept as `u64` nanoseconds since the driver's origin. Timers are
//! filed in the [`TimerWheel`] by 1 ms tick, rounded up so the wheel never
//! fires one early. To wake each timer at its *exact* deadline rather than at
//! the end of its millisecond, a turn pulls the wheel one tick ahead of now:
//! entries due within the next millisecond move to `soon`, a small heap
//! ordered by exact deadline, and the executor parks until the earliest of
//! those (or until the wheel's next tick starts).
//!
//! # Ground rules
//! - `state` is locked for a handful of operations at a time and never while
//!   a waker runs: due wakers are collected under the lock and woken after.
//! - Every timer is one entry in `entries`, found by a generation-checked
//!   [`Key`] that its timer future holds. The wheel and `soon` only point at
//!   entries. Cancelling removes the entry (and its wheel link) at once, in
//!   O(1), wherever it is; a `soon` item left pointing at a removed entry is
//!   skipped when it comes up.
//! - A key whose entry fired or was cancelled is stale: `cancel` ignores it
//!   and `register` files a fresh entry.
//! - `parked_until` is set by the owning executor just before it parks. A
//!   timer registered from another thread with an earlier deadline wakes it.

use super::clock::{Clock, ClockKind};
use super::sleep::Registration;
use super::wheel::{TimerKey, TimerWheel};
use crate::slab::{Key, Slab};
use crate::sync::Mutex;
use alloc::collections::BinaryHeap;
use alloc::vec::Vec;
use core::cmp::Ordering;
use core::fmt;
#[cfg(target_has_atomic = "64")]
use core::sync::atomic::AtomicU64;
use core::sync::atomic::{self, AtomicUsize};
use core::task::{Poll, Waker};
use core::time::Duration;

/// Nanoseconds per wheel tick (1 ms).
pub(crate) const TICK_NANOS: u64 = 1_000_000;

/// Converts a duration to nanoseconds; `None` when it does not fit in `u64`
/// (about 584 years), which callers treat as "never".
pub(crate) fn duration_nanos(d: Duration) -> Option<u64> {
    u64::try_from(d.as_nanos()).ok()
}

/// The wheel tick of an exact deadline: rounded up, never early.
fn tick_of(deadline: u64) -> u64 {
    deadline.div_ceil(TICK_NANOS)
}

struct Entry {
    /// Exact deadline in nanoseconds.
    deadline: u64,
    waker: Waker,
    /// The wheel link while the entry is filed there; `None` once it moved
    /// to `soon`.
    wheel: Option<TimerKey>,
}

/// An entry due within the current millisecond, ordered by deadline (the
/// heap is a max-heap, so the order is reversed).
struct Soon {
    deadline: u64,
    entry: Key,
}

impl PartialEq for Soon {
    fn eq(&self, other: &Self) -> bool {
        self.deadline == other.deadline
    }
}
impl Eq for Soon {}
impl PartialOrd for Soon {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Soon {
    fn cmp(&self, other: &Self) -> Ordering {
        other.deadline.cmp(&self.deadline)
    }
}

struct State {
    entries: Slab<Entry>,
    wheel: TimerWheel<Key>,
    soon: BinaryHeap<Soon>,
    /// The owning executor is parked until this time (`u64::MAX`: no limit).
    parked_until: Option<u64>,
    /// The executor is gone; no timer will ever fire again.
    closed: bool,
}

/// Shared timer state of one executor.
pub(crate) struct TimerDriver {
    clock: Clock,
    /// What `Instant` the driver's time zero stands for.
    #[cfg(feature = "std")]
    origin: std::time::Instant,
    /// Wakes the owning executor's thread (when it parks).
    unpark: Waker,
    /// Number of live entries, mirrored out of the lock so a turn with no
    /// timers skips both the lock and the clock.
    armed: AtomicUsize,
    /// A time the clock has shown (the last reading, roughly): a deadline at
    /// or before it has passed, no clock read needed. Only ever a real
    /// reading, so it is never ahead of the clock. (Targets without 64-bit
    /// atomics skip this shortcut: a due timer fires at the next turn.)
    #[cfg(target_has_atomic = "64")]
    seen: AtomicU64,
    state: Mutex<State>,
}

impl TimerDriver {
    pub(crate) fn new(clock: Clock, unpark: Waker) -> Self {
        TimerDriver {
            #[cfg(feature = "std")]
            origin: match clock.kind() {
                ClockKind::System => std::time::Instant::now(),
                // A manual clock's zero is its own origin: map it to "now".
                ClockKind::Manual(m) => std::time::Instant::now()
                    .checked_sub(m.now())
                    .unwrap_or_else(std::time::Instant::now),
            },
            clock,
            unpark,
            armed: AtomicUsize::new(0),
            #[cfg(target_has_atomic = "64")]
            seen: AtomicU64::new(0),
            state: Mutex::new(State {
                entries: Slab::new(),
                wheel: TimerWheel::new(),
                soon: BinaryHeap::new(),
                parked_until: None,
                closed: false,
            }),
        }
    }

    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Now, in nanoseconds since the origin.
    pub(crate) fn now(&self) -> u64 {
        let now = match self.clock.kind() {
            #[cfg(feature = "std")]
            ClockKind::System => duration_nanos(self.origin.elapsed()).unwrap_or(u64::MAX),
            ClockKind::Manual(m) => m.nanos(),
        };
        // Racing readers may store out of order: `seen` can lag, never lead.
        #[cfg(target_has_atomic = "64")]
        self.seen.store(now, atomic::Ordering::Relaxed);
        now
    }

    /// The deadline `after` from now; `None` ("never") when it overflows.
    pub(crate) fn deadline_after(&self, after: Duration) -> Option<u64> {
        duration_nanos(after).and_then(|d| self.now().checked_add(d))
    }

    #[cfg(feature = "std")]
    pub(crate) fn to_instant(&self, nanos: u64) -> Option<std::time::Instant> {
        self.origin.checked_add(Duration::from_nanos(nanos))
    }

    /// An `Instant` in driver time: clamped to 0 when before the origin,
    /// `None` ("never") when past the `u64` range.
    #[cfg(feature = "std")]
    pub(crate) fn nanos_at(&self, at: std::time::Instant) -> Option<u64> {
        duration_nanos(at.saturating_duration_since(self.origin))
    }

    /// Files, refreshes or completes the timer of a timer future.
    ///
    /// `registration` is the future's entry and filed deadline, `None`
    /// before its first poll. Returns `Ready` when the timer has fired.
    ///
    /// - First poll: a deadline at or before the last clock reading is
    ///   `Ready` at once (a zero sleep completes at its first poll);
    ///   otherwise the entry is filed without reading the clock, and one
    ///   due meanwhile fires at the executor's next turn.
    /// - Entry still waiting and filed no later than `deadline`: only the
    ///   waker is refreshed. So pushing a deadline later (a reset, a
    ///   debounce) costs no removal: the entry fires at the old time, the
    ///   future sees it is not due and files again.
    /// - Entry gone: it fired at its filed deadline. `Ready` if that was not
    ///   before `deadline`, otherwise the clock decides.
    /// - Deadline moved earlier: the entry is replaced.
    pub(crate) fn poll_timer(
        &self,
        registration: &mut Option<Registration>,
        deadline: u64,
        waker: &Waker,
    ) -> Poll<()> {
        #[cfg(target_has_atomic = "64")]
        if registration.is_none() && deadline <= self.seen.load(atomic::Ordering::Relaxed) {
            return Poll::Ready(());
        }
        // An entry this replaces; declared first, so it drops after the lock.
        let mut replaced = None;
        let mut guard = self.state.lock();
        let state = &mut *guard;
        // With `std` a timer rebinds to the executor polling it, which is
        // running; without, it stays on the one that made it.
        assert!(
            !state.closed,
            "concurrent_tasks: a timer was polled after the executor that made it was \
             dropped (without std a timer stays on its executor)"
        );
        if let Some(Registration { key, filed }) = *registration {
            match state.entries.get_mut(key) {
                Some(entry) if filed <= deadline => {
                    if !entry.waker.will_wake(waker) {
                        entry.waker = waker.clone();
                    }
                    return Poll::Pending;
                }
                Some(_) => replaced = state.remove(key),
                None => {
                    *registration = None;
                    if deadline <= filed || self.now() >= deadline {
                        return Poll::Ready(());
                    }
                }
            }
        }
        let key = state.entries.insert(Entry {
            deadline,
            waker: waker.clone(),
            wheel: None,
        });
        let link = state.wheel.insert(tick_of(deadline), key);
        state.entries.get_mut(key).expect("just inserted").wheel = Some(link);
        self.armed
            .store(state.entries.len(), atomic::Ordering::Relaxed);
        *registration = Some(Registration {
            key,
            filed: deadline,
        });
        let wake_owner = matches!(state.parked_until, Some(until) if deadline < until);
        drop(guard); // wakers run and drop outside the lock
        drop(replaced);
        if wake_owner {
            self.unpark.wake_by_ref();
        }
        Poll::Pending
    }

    /// `true` when at least one timer waits (a hint read without the lock;
    /// the owner re-checks under the lock before parking).
    pub(crate) fn has_timers(&self) -> bool {
        self.armed.load(atomic::Ordering::Relaxed) != 0
    }

    /// Removes a registration (no-op for a stale key).
    pub(crate) fn cancel(&self, key: Key) {
        let mut state = self.state.lock();
        let entry = state.remove(key);
        self.armed
            .store(state.entries.len(), atomic::Ordering::Relaxed);
        drop(state);
        drop(entry); // its waker, outside the lock
    }

    /// Collects the wakers of every timer due at `now` into `due`.
    pub(crate) fn fire(&self, now: u64, due: &mut Vec<Waker>) {
        let mut state = self.state.lock();
        let state = &mut *state;
        // Pull everything due within the next tick out of the wheel; what is
        // not exactly due yet waits in `soon`.
        let look_ahead = now / TICK_NANOS + 1;
        while let Some((_, k)) = state.wheel.poll(look_ahead) {
            let entry = state
                .entries
                .get_mut(k)
                .expect("wheel links only live entries");
            if entry.deadline <= now {
                due.push(state.entries.remove(k).expect("live").waker);
            } else {
                entry.wheel = None;
                state.soon.push(Soon {
                    deadline: entry.deadline,
                    entry: k,
                });
            }
        }
        while state.soon.peek().is_some_and(|s| s.deadline <= now) {
            let soon = state.soon.pop().expect("peeked");
            // A cancelled entry is simply gone.
            if let Some(entry) = state.entries.remove(soon.entry) {
                due.push(entry.waker);
            }
        }
        self.armed
            .store(state.entries.len(), atomic::Ordering::Relaxed);
    }

    /// When the next timer needs attention, in nanoseconds (may be at or
    /// before now: then fire before parking).
    #[cfg_attr(not(feature = "std"), allow(dead_code))] // parking needs std
    fn next_deadline_of(state: &State) -> Option<u64> {
        let soon = state.soon.peek().map(|s| s.deadline);
        // A wheel tick T holds deadlines in (T-1 ms, T ms]: start looking at
        // T-1 ms, when `fire` pulls the tick into `soon`.
        let wheel = state
            .wheel
            .next_expiration()
            .map(|tick| tick.saturating_sub(1).saturating_mul(TICK_NANOS));
        soon.into_iter().chain(wheel).min()
    }

    /// Records that the owner is about to park and returns until when.
    #[cfg(feature = "std")]
    pub(crate) fn prepare_park(&self) -> Option<u64> {
        let mut state = self.state.lock();
        // Drop cancelled items from the top of `soon`, so they cause no
        // early wake-up.
        while let Some(top) = state.soon.peek() {
            if state.entries.get(top.entry).is_some() {
                break;
            }
            state.soon.pop();
        }
        let next = Self::next_deadline_of(&state);
        state.parked_until = Some(next.unwrap_or(u64::MAX));
        next
    }

    /// Records that the owner is awake again.
    #[cfg(feature = "std")]
    pub(crate) fn unparked(&self) {
        self.state.lock().parked_until = None;
    }

    /// Number of timers waiting.
    pub(crate) fn len(&self) -> usize {
        self.state.lock().entries.len()
    }

    /// Marks the driver dead and drops every pending waker (outside the lock).
    pub(crate) fn close(&self) {
        let mut state = self.state.lock();
        state.closed = true;
        state.wheel = TimerWheel::new();
        state.soon.clear();
        let entries = core::mem::replace(&mut state.entries, Slab::new());
        self.armed.store(0, atomic::Ordering::Relaxed);
        drop(state);
        drop(entries); // their wakers, outside the lock
    }
}

impl State {
    /// Removes an entry and its wheel link; `None` for a stale key.
    fn remove(&mut self, key: Key) -> Option<Entry> {
        let entry = self.entries.remove(key)?;
        if let Some(link) = entry.wheel {
            self.wheel.cancel(link);
        }
        Some(entry)
    }
}

impl fmt::Debug for TimerDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TimerDriver");
        d.field("clock", &self.clock);
        match self.state.try_lock() {
            Some(state) => d
                .field("timers", &state.entries.len())
                .field("closed", &state.closed),
            None => d.field("state", &"<locked>"),
        };
        d.finish()
    }
}

#[cfg(all(test, feature = "std"))]
mod tests;
