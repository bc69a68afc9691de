//! The size limit of a pool: how many of its tasks run, and the FIFO line
//! of tasks waiting for a place.
//!
//! A waiting task holds only a [`Key`] to its ticket (a `Send` value, so a
//! task built on another thread can carry it); the tickets live here, in a
//! slab, so the line costs no allocation per task once warm.
//!
//! # Ground rules
//! - The gate lives in a `RefCell` on the pool's thread; callers take the
//!   wakers [`grant`](Gate::grant) returns and wake them after the borrow
//!   ends.
//! - A ticket is removed when its task leaves the line (granted and taken,
//!   or cancelled); the key left in `waiting` then no longer matches (slab
//!   generations) and `grant` skips it.

use crate::slab::{Key, Slab};
use std::collections::VecDeque;
use std::task::Waker;

/// See the module docs.
pub(crate) struct Gate {
    /// Most tasks running at once; `0` is unlimited.
    pub(crate) size: usize,
    running: usize,
    waiting: VecDeque<Key>,
    tickets: Slab<Ticket>,
}

/// A waiting task's place in line.
struct Ticket {
    granted: bool,
    waker: Option<Waker>,
}

/// What [`Gate::enter`] and [`Gate::poll_ticket`] decided.
#[must_use]
pub(crate) enum Entry {
    /// The task holds a place now.
    Granted,
    /// The task waits in line under this ticket.
    Wait(Key),
}

impl Gate {
    pub(crate) fn new(size: usize) -> Self {
        Gate {
            size,
            running: 0,
            waiting: VecDeque::new(),
            tickets: Slab::new(),
        }
    }

    fn has_room(&self) -> bool {
        self.size == 0 || self.running < self.size
    }

    /// A task asks for a place: granted at once if there is room and nobody
    /// waits, else a ticket at the end of the line.
    pub(crate) fn enter(&mut self, waker: &Waker) -> Entry {
        if self.waiting.is_empty() && self.has_room() {
            self.running += 1;
            return Entry::Granted;
        }
        let key = self.tickets.insert(Ticket {
            granted: false,
            waker: Some(waker.clone()),
        });
        self.waiting.push_back(key);
        Entry::Wait(key)
    }

    /// A waiting task polls again: granted (its ticket is spent), or still
    /// waiting with `waker` registered.
    pub(crate) fn poll_ticket(&mut self, key: Key, waker: &Waker) -> Entry {
        match self.tickets.get_mut(key) {
            Some(ticket) if ticket.granted => {
                self.tickets.remove(key);
                Entry::Granted
            }
            Some(ticket) => {
                if !ticket.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
                    ticket.waker = Some(waker.clone());
                }
                Entry::Wait(key)
            }
            // Unreachable while the task holds its key; be safe anyway.
            None => Entry::Wait(key),
        }
    }

    /// A waiting task is dropped: it leaves the line. Returns the wakers to
    /// wake if it had been granted a place meanwhile (passed on).
    pub(crate) fn leave(&mut self, key: Key) -> Vec<Waker> {
        match self.tickets.remove(key) {
            Some(ticket) if ticket.granted => self.release(),
            _ => Vec::new(),
        }
    }

    /// A running task gives its place back; returns the wakers of the tasks
    /// that got a place.
    pub(crate) fn release(&mut self) -> Vec<Waker> {
        self.running -= 1;
        if self.waiting.is_empty() {
            return Vec::new();
        }
        self.grant()
    }

    /// Hands free places to waiting tickets, in order; returns their wakers.
    pub(crate) fn grant(&mut self) -> Vec<Waker> {
        let mut wake = Vec::new();
        while self.has_room() {
            let Some(key) = self.waiting.pop_front() else {
                break;
            };
            let Some(ticket) = self.tickets.get_mut(key) else {
                continue; // left the line
            };
            ticket.granted = true;
            self.running += 1;
            wake.extend(ticket.waker.take());
        }
        wake
    }
}

#[cfg(test)]
mod tests;
