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
mod tests {
    use super::*;

    fn noop() -> Waker {
        waker_fn::waker_fn(|| {})
    }

    #[test]
    fn l1_gate_grants_in_order_and_skips_tasks_that_left() {
        let w = noop();
        let mut gate = Gate::new(1);
        assert!(matches!(gate.enter(&w), Entry::Granted));
        let Entry::Wait(a) = gate.enter(&w) else {
            panic!("full: must wait")
        };
        let Entry::Wait(b) = gate.enter(&w) else {
            panic!("full: must wait")
        };
        let Entry::Wait(c) = gate.enter(&w) else {
            panic!("full: must wait")
        };
        assert!(gate.leave(a).is_empty(), "a leaves before being granted");
        assert_eq!(gate.release().len(), 1, "the place goes to b");
        assert!(matches!(gate.poll_ticket(c, &w), Entry::Wait(_)));
        assert!(matches!(gate.poll_ticket(b, &w), Entry::Granted));
        // b granted, then c: growing the size grants c at once.
        gate.size = 2;
        assert_eq!(gate.grant().len(), 1);
        assert!(matches!(gate.poll_ticket(c, &w), Entry::Granted));
    }

    #[test]
    fn l1_gate_passes_on_a_place_granted_to_a_task_that_left() {
        let w = noop();
        let mut gate = Gate::new(1);
        assert!(matches!(gate.enter(&w), Entry::Granted));
        let Entry::Wait(a) = gate.enter(&w) else {
            panic!("full: must wait")
        };
        let Entry::Wait(b) = gate.enter(&w) else {
            panic!("full: must wait")
        };
        assert_eq!(gate.release().len(), 1, "granted to a");
        assert_eq!(gate.leave(a).len(), 1, "a's place goes on to b");
        assert!(matches!(gate.poll_ticket(b, &w), Entry::Granted));
        assert!(gate.release().is_empty());
        assert!(matches!(gate.enter(&w), Entry::Granted), "room again");
    }
}
