//! A vector of reusable entries with a free list and per-entry generations.
//!
//! Both the executor's task table and the timer wheel store their entries
//! here: inserting after warm-up reuses a freed entry (no allocation), and a
//! [`Key`] carries the generation it was issued with, so a key kept after its
//! entry was removed is rejected instead of reaching whatever reused the entry.

use alloc::vec::Vec;
use core::fmt;

/// Index of an entry plus the generation it was issued under.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}v{}", self.index, self.generation)
    }
}

/// End of the free list.
const NONE: u32 = u32::MAX;

struct Entry<T> {
    /// Bumped on every removal, so stale keys stop matching.
    generation: u32,
    state: State<T>,
}

enum State<T> {
    Occupied(T),
    Vacant { next_free: u32 },
}

pub(crate) struct Slab<T> {
    entries: Vec<Entry<T>>,
    free_head: u32,
    len: usize,
}

impl<T> Slab<T> {
    pub(crate) const fn new() -> Self {
        Slab {
            entries: Vec::new(),
            free_head: NONE,
            len: 0,
        }
    }

    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Slab {
            entries: Vec::with_capacity(capacity),
            free_head: NONE,
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Stores `value`, reusing a free entry when there is one.
    ///
    /// # Panics
    /// When more than `u32::MAX - 1` entries are live at once.
    pub(crate) fn insert(&mut self, value: T) -> Key {
        self.len += 1;
        if self.free_head != NONE {
            let index = self.free_head;
            let entry = &mut self.entries[index as usize];
            match entry.state {
                State::Vacant { next_free } => self.free_head = next_free,
                State::Occupied(_) => unreachable!("free list points at an occupied entry"),
            }
            entry.state = State::Occupied(value);
            return Key {
                index,
                generation: entry.generation,
            };
        }
        let index = u32::try_from(self.entries.len())
            .ok()
            .filter(|&i| i != NONE)
            .expect("slab holds more than u32::MAX - 1 entries");
        self.entries.push(Entry {
            generation: 0,
            state: State::Occupied(value),
        });
        Key {
            index,
            generation: 0,
        }
    }

    /// The key the next [`insert`](Self::insert) will return.
    pub(crate) fn vacant_key(&self) -> Key {
        if self.free_head != NONE {
            self.key_at(self.free_head)
        } else {
            Key {
                index: self.entries.len() as u32,
                generation: 0,
            }
        }
    }

    /// Removes and returns the value under `key`, or `None` for a stale key.
    pub(crate) fn remove(&mut self, key: Key) -> Option<T> {
        let index = self.live_index(key)?;
        let entry = &mut self.entries[index as usize];
        let old = core::mem::replace(
            &mut entry.state,
            State::Vacant {
                next_free: self.free_head,
            },
        );
        entry.generation = entry.generation.wrapping_add(1);
        self.free_head = key.index;
        self.len -= 1;
        match old {
            State::Occupied(value) => Some(value),
            State::Vacant { .. } => unreachable!(),
        }
    }

    /// The index of `key`'s entry while it still holds the value `key` was
    /// given for (not removed, not reused since).
    fn live_index(&self, key: Key) -> Option<u32> {
        let entry = self.entries.get(key.index as usize)?;
        let live = entry.generation == key.generation && matches!(entry.state, State::Occupied(_));
        live.then_some(key.index)
    }

    pub(crate) fn get(&self, key: Key) -> Option<&T> {
        Some(self.at(self.live_index(key)?))
    }

    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        let index = self.live_index(key)?;
        Some(self.at_mut(index))
    }

    /// The live entry at `index`, whatever its generation. For structures that
    /// link entries by index and keep those links valid themselves.
    pub(crate) fn at(&self, index: u32) -> &T {
        match &self.entries[index as usize].state {
            State::Occupied(value) => value,
            State::Vacant { .. } => panic!("slab index {index} is vacant"),
        }
    }

    /// Mutable twin of [`Slab::at`].
    pub(crate) fn at_mut(&mut self, index: u32) -> &mut T {
        match &mut self.entries[index as usize].state {
            State::Occupied(value) => value,
            State::Vacant { .. } => panic!("slab index {index} is vacant"),
        }
    }

    /// The key of the live entry at `index`.
    pub(crate) fn key_at(&self, index: u32) -> Key {
        Key {
            index,
            generation: self.entries[index as usize].generation,
        }
    }

    /// The values in the slab, in index order.
    #[cfg_attr(not(feature = "std"), allow(dead_code))] // a pool's stop
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.entries.iter().filter_map(|e| match &e.state {
            State::Occupied(value) => Some(value),
            State::Vacant { .. } => None,
        })
    }

    /// Removes every entry, handing the values out (generations are bumped, so
    /// old keys stay stale).
    pub(crate) fn drain(&mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len);
        for index in 0..self.entries.len() as u32 {
            let key = self.key_at(index);
            if let Some(value) = self.remove(key) {
                out.push(value);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
