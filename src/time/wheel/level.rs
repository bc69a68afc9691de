//! One level of the wheel: 64 slots, each the head of a list of entries, and a
//! `u64` bitmap of the slots that hold anything.
//!
//! A slot at level `L` spans `64^L` ticks, so the level spans `64^(L+1)`.

use super::{LEVEL_BITS, NIL, SLOTS};

/// Ticks covered by one slot of `level`.
pub(super) const fn slot_range(level: usize) -> u64 {
    1 << (LEVEL_BITS * level)
}

/// Ticks covered by the whole of `level`.
pub(super) const fn level_range(level: usize) -> u64 {
    1 << (LEVEL_BITS * (level + 1))
}

/// Slot of `level` that the tick `when` falls in.
pub(super) const fn slot_for(when: u64, level: usize) -> usize {
    ((when >> (LEVEL_BITS * level)) % SLOTS as u64) as usize
}

/// The next slot to process: where it is and the tick at which it is due.
pub(super) struct Expiration {
    pub(super) level: usize,
    pub(super) slot: usize,
    /// Never before the `elapsed` it was computed at.
    pub(super) deadline: u64,
}

pub(super) struct Level {
    level: usize,
    /// Bit `s` is set iff `heads[s]` is not `NIL`.
    occupied: u64,
    /// First entry (a slab index) of each slot's doubly linked list.
    heads: [u32; SLOTS],
}

impl Level {
    pub(super) const fn new(level: usize) -> Self {
        Level {
            level,
            occupied: 0,
            heads: [NIL; SLOTS],
        }
    }

    pub(super) fn head(&self, slot: usize) -> u32 {
        self.heads[slot]
    }

    /// Sets the head of `slot`, keeping the bitmap in step.
    pub(super) fn set_head(&mut self, slot: usize, head: u32) {
        self.heads[slot] = head;
        if head == NIL {
            self.occupied &= !(1 << slot);
        } else {
            self.occupied |= 1 << slot;
        }
    }

    /// The next occupied slot at or after `elapsed`, if any.
    pub(super) fn next_expiration(&self, elapsed: u64) -> Option<Expiration> {
        if self.occupied == 0 {
            return None;
        }
        let slot_range = slot_range(self.level);
        let level_range = level_range(self.level);
        // Rotate the bitmap so bit 0 is the slot `elapsed` is in; the first set
        // bit is then the distance to the next occupied slot. The slot `elapsed`
        // is in can only hold entries waiting for its next turn (top level,
        // past the horizon), so it comes after every other occupied slot.
        let now_slot = (elapsed / slot_range) % SLOTS as u64;
        let rotated = self.occupied.rotate_right(now_slot as u32);
        let distance = match rotated & !1 {
            0 => 0,
            later => u64::from(later.trailing_zeros()),
        };
        let slot = ((now_slot + distance) % SLOTS as u64) as usize;
        let level_start = elapsed & !(level_range - 1);
        let mut deadline = level_start + slot as u64 * slot_range;
        if deadline <= elapsed {
            // Only the top level can hold a slot "behind" `elapsed`: deadlines
            // past the horizon are clamped there and wait for the slot's next
            // turn. Saturate: at the very end of time there is no next turn.
            deadline = deadline.saturating_add(level_range);
        }
        Some(Expiration {
            level: self.level,
            slot,
            deadline,
        })
    }
}
