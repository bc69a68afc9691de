//! A hierarchical timer wheel over integer ticks.
//!
//! Six levels of 64 slots: level 0 holds deadlines in the current 64-tick
//! window one tick per slot, level 1 the current 4096-tick window 64 ticks per
//! slot, and so on up to level 5 (64^6 ticks, about 2.2 years at 1 ms a tick).
//! An entry is filed at the lowest level whose window still contains both the
//! current tick and its deadline; when time reaches a higher-level slot, its
//! entries move down ("cascade") until they sit in level 0 and fire. Deadlines
//! past the horizon wait in the top level and cascade again on its next turn.
//!
//! Entries live in a slab with a free list (no allocation per timer once warm)
//! and are linked by index into their slot's list, so insert and cancel are
//! O(1). A [`TimerKey`] carries the slab generation, so a key kept after its
//! entry fired or was cancelled is rejected, never confused with a reuse.
//!
//! The wheel knows nothing of clocks: callers convert time to ticks, rounding
//! deadlines up so nothing fires early.
//!
//! ```
//! use concurrent_tasks::time::wheel::TimerWheel;
//!
//! let mut wheel = TimerWheel::new();
//! let soon = wheel.insert(5, "soon");
//! let _late = wheel.insert(4_100, "late");
//! assert_eq!(wheel.next_expiration(), Some(5));
//! assert_eq!(wheel.cancel(soon), Some("soon"));
//! assert_eq!(wheel.cancel(soon), None, "a stale key is rejected");
//! let fired: Vec<_> = wheel.advance(5_000).collect();
//! assert_eq!(fired, [(4_100, "late")]);
//! assert!(wheel.is_empty());
//! ```

mod level;

use crate::slab::{Key, Slab};
use core::fmt;
use level::{level_range, slot_for, Expiration, Level};

/// Bits of a deadline handled by each level.
const LEVEL_BITS: usize = 6;
/// Slots per level.
const SLOTS: usize = 1 << LEVEL_BITS;
/// Number of levels.
const LEVELS: usize = 6;
/// Ticks the wheel can tell apart before clamping to the top level.
const HORIZON: u64 = level_range(LEVELS - 1);
/// "No entry" in the intrusive lists.
const NIL: u32 = u32::MAX;

/// Handle to a timer in a [`TimerWheel`], returned by [`TimerWheel::insert`].
///
/// It stays valid until the entry fires or is cancelled; afterwards every
/// operation with it is a no-op, even if the wheel reuses the entry.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerKey(Key);

impl fmt::Debug for TimerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimerKey({:?})", self.0)
    }
}

/// Where an entry is linked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// In the list of entries already due, waiting to be yielded.
    Expired,
    Slot {
        level: u8,
        slot: u8,
    },
}

struct Node<T> {
    /// The true deadline, in ticks.
    when: u64,
    prev: u32,
    next: u32,
    place: Place,
    value: T,
}

/// A hierarchical timer wheel mapping deadlines (in ticks) to values.
///
/// See the [module docs](self) for how it works.
pub struct TimerWheel<T> {
    slab: Slab<Node<T>>,
    levels: [Level; LEVELS],
    /// Head of the list of entries whose deadline is at or before `elapsed`.
    expired: u32,
    /// Every deadline at or before this tick has been handed to `poll` (or
    /// sits in `expired`).
    elapsed: u64,
}

// === impl TimerWheel ===

impl<T> Default for TimerWheel<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> TimerWheel<T> {
    /// An empty wheel at tick 0.
    pub const fn new() -> Self {
        TimerWheel {
            slab: Slab::new(),
            levels: [
                Level::new(0),
                Level::new(1),
                Level::new(2),
                Level::new(3),
                Level::new(4),
                Level::new(5),
            ],
            expired: NIL,
            elapsed: 0,
        }
    }

    /// An empty wheel with room for `capacity` timers before it allocates.
    pub fn with_capacity(capacity: usize) -> Self {
        TimerWheel {
            slab: Slab::with_capacity(capacity),
            ..Self::new()
        }
    }

    /// Number of timers waiting (including due ones not yet yielded).
    pub fn len(&self) -> usize {
        self.slab.len()
    }

    /// `true` when no timer is waiting.
    pub fn is_empty(&self) -> bool {
        self.slab.len() == 0
    }

    /// The tick up to which time has been processed.
    pub fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Adds a timer that fires once time reaches `when` (any `u64`; one at or
    /// before [`elapsed`](Self::elapsed) fires on the next [`advance`](Self::advance)).
    pub fn insert(&mut self, when: u64, value: T) -> TimerKey {
        let key = self.slab.insert(Node {
            when,
            prev: NIL,
            next: NIL,
            place: Place::Expired,
            value,
        });
        self.link(key.index);
        TimerKey(key)
    }

    /// Removes a timer before it fires and returns its value; `None` when the
    /// key is stale (the timer already fired or was cancelled).
    pub fn cancel(&mut self, key: TimerKey) -> Option<T> {
        self.slab.get(key.0)?;
        self.unlink(key.0.index);
        self.slab.remove(key.0).map(|node| node.value)
    }

    /// The deadline of a waiting timer, or `None` for a stale key.
    pub fn deadline(&self, key: TimerKey) -> Option<u64> {
        self.slab.get(key.0).map(|node| node.when)
    }

    /// The value of a waiting timer, or `None` for a stale key.
    pub fn get_mut(&mut self, key: TimerKey) -> Option<&mut T> {
        self.slab.get_mut(key.0).map(|node| &mut node.value)
    }

    /// The tick at which [`advance`](Self::advance) next has work to do: a
    /// timer fires then, or a higher-level slot cascades. Never later than the
    /// earliest deadline; `None` when the wheel is empty.
    pub fn next_expiration(&self) -> Option<u64> {
        if self.expired != NIL {
            return Some(self.elapsed);
        }
        self.next_slot().map(|next| next.deadline)
    }

    /// Moves time forward to `now` and yields `(deadline, value)` for every
    /// timer whose deadline is at or before `now`. Timers not yet due stay.
    ///
    /// Time never moves back: a `now` before [`elapsed`](Self::elapsed) only
    /// yields what was already due. Dropping the iterator early keeps the
    /// remaining due timers for the next call.
    pub fn advance(&mut self, now: u64) -> Advance<'_, T> {
        Advance { wheel: self, now }
    }

    /// Yields the next timer due at or before `now`, or moves time to `now`
    /// and returns `None` when there is none.
    pub fn poll(&mut self, now: u64) -> Option<(u64, T)> {
        loop {
            if self.expired != NIL {
                let index = self.expired;
                self.unlink(index);
                let key = self.slab.key_at(index);
                let node = self.slab.remove(key).expect("linked entry is live");
                return Some((node.when, node.value));
            }
            match self.next_slot() {
                Some(next)
                    if next.level == LEVELS - 1 && now.saturating_sub(next.deadline) >= HORIZON =>
                {
                    // A jump of more than a whole turn with only far timers
                    // left: skip straight to the earliest deadline (or `now`)
                    // instead of re-cascading them once per turn, which is
                    // 2^28 turns on the way to `u64::MAX`.
                    let target = now.min(self.earliest_top_deadline());
                    self.cascade(Expiration {
                        slot: slot_for(target, next.level),
                        deadline: target,
                        ..next
                    })
                }
                Some(next) if next.deadline <= now => self.cascade(next),
                _ => {
                    self.elapsed = self.elapsed.max(now);
                    return None;
                }
            }
        }
    }

    /// The next occupied slot of the whole wheel.
    fn next_slot(&self) -> Option<Expiration> {
        // A lower level's window lies inside the current window of every level
        // above it, so the first level with anything in it expires first.
        self.levels
            .iter()
            .find_map(|level| level.next_expiration(self.elapsed))
    }

    /// The earliest deadline in the top level. Only called when every lower
    /// level is empty, so it is the earliest deadline in the wheel.
    fn earliest_top_deadline(&self) -> u64 {
        let top = &self.levels[LEVELS - 1];
        let mut earliest = u64::MAX;
        for slot in 0..SLOTS {
            let mut index = top.head(slot);
            while index != NIL {
                let node = self.slab.at(index);
                earliest = earliest.min(node.when);
                index = node.next;
            }
        }
        earliest
    }

    /// Processes one slot at its tick: every entry in it moves to the expired
    /// list or to a lower level. The whole list is detached first, so entries
    /// refiled into the same slot (past the horizon) wait for its next turn.
    fn cascade(&mut self, at: Expiration) {
        let mut index = self.levels[at.level].head(at.slot);
        self.levels[at.level].set_head(at.slot, NIL);
        self.elapsed = at.deadline;
        while index != NIL {
            let next = self.slab.at(index).next;
            self.link(index);
            index = next;
        }
    }

    /// Files the (unlinked) entry at `index` by its deadline.
    fn link(&mut self, index: u32) {
        let when = self.slab.at(index).when;
        let place = if when <= self.elapsed {
            Place::Expired
        } else {
            let level = level_for(self.elapsed, when);
            Place::Slot {
                level: level as u8,
                slot: slot_for(when, level) as u8,
            }
        };
        let head = match place {
            Place::Expired => self.expired,
            Place::Slot { level, slot } => self.levels[level as usize].head(slot as usize),
        };
        {
            let node = self.slab.at_mut(index);
            node.place = place;
            node.prev = NIL;
            node.next = head;
        }
        if head != NIL {
            self.slab.at_mut(head).prev = index;
        }
        self.set_head(place, index);
    }

    /// Takes the entry at `index` out of whatever list holds it.
    fn unlink(&mut self, index: u32) {
        let Node {
            prev, next, place, ..
        } = *self.slab.at(index);
        if prev == NIL {
            self.set_head(place, next);
        } else {
            self.slab.at_mut(prev).next = next;
        }
        if next != NIL {
            self.slab.at_mut(next).prev = prev;
        }
    }

    fn set_head(&mut self, place: Place, head: u32) {
        match place {
            Place::Expired => self.expired = head,
            Place::Slot { level, slot } => {
                self.levels[level as usize].set_head(slot as usize, head)
            }
        }
    }
}

/// The lowest level whose current window holds both `elapsed` and `when`.
fn level_for(elapsed: u64, when: u64) -> usize {
    // Or-ing in the slot bits makes deadlines in the same 64-tick block land
    // on level 0; clamping sends everything past the horizon to the top level.
    let masked = ((elapsed ^ when) | (SLOTS as u64 - 1)).min(HORIZON - 1);
    let significant = 63 - masked.leading_zeros() as usize;
    significant / LEVEL_BITS
}

impl<T> fmt::Debug for TimerWheel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerWheel")
            .field("elapsed", &self.elapsed)
            .field("len", &self.len())
            .field("next_expiration", &self.next_expiration())
            .finish()
    }
}

/// Iterator returned by [`TimerWheel::advance`]: the timers due at its `now`.
pub struct Advance<'a, T> {
    wheel: &'a mut TimerWheel<T>,
    now: u64,
}

impl<T> Iterator for Advance<'_, T> {
    type Item = (u64, T);

    fn next(&mut self) -> Option<(u64, T)> {
        self.wheel.poll(self.now)
    }
}

impl<T> fmt::Debug for Advance<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Advance").field("now", &self.now).finish()
    }
}

#[cfg(test)]
mod model;
#[cfg(test)]
mod tests;
