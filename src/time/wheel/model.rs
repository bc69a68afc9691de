//! `TimerWheel` against a `BTreeMap` model, through the public API: an
//! operation sequence is applied to both, and they must agree after each
//! operation. Shared by the wheel's unit tests (fixed seeds, internal
//! invariants added, small enough for Miri), the proptest of
//! `benches/peers/tests/wheel_model.rs` (wider search, shrinking) and the
//! fuzz target `fuzz/fuzz_targets/wheel.rs`, which include this file; so it
//! names the wheel through `super`.
#![allow(dead_code, unreachable_pub)] // each includer uses its part

use super::{TimerKey, TimerWheel};
use std::collections::BTreeMap;
use std::vec::Vec;

/// Ticks the wheel tells apart before clamping to its top level (six levels
/// of 64 slots); the operations cluster around it.
pub(crate) const HORIZON: u64 = 1 << 36;

#[derive(Clone, Debug)]
pub(crate) enum Op {
    /// Insert at `elapsed + delta` (saturating).
    Insert(u64),
    /// Insert at an absolute tick: huge, `u64::MAX`, or in the past.
    InsertAt(u64),
    /// Cancel the key at this index (modulo) of every key ever issued,
    /// stale ones included.
    Cancel(usize),
    /// Drain `advance(elapsed + delta)`.
    Advance(u64),
    /// Drain `advance(now)`, `now` possibly behind `elapsed`.
    AdvanceTo(u64),
    /// `advance(elapsed + delta)`, take at most `n`, drop the iterator.
    AdvancePartial(u64, usize),
}

/// A timer the harness issued: its key, deadline and insertion number.
#[derive(Clone, Copy)]
struct Issued {
    key: TimerKey,
    when: u64,
    seq: u64,
}

/// The wheel next to a model of it: `(deadline, seq) -> id`.
pub(crate) struct Harness {
    wheel: TimerWheel<u32>,
    /// More checks after each operation (the unit tests' internal invariants).
    extra: fn(&TimerWheel<u32>),
    model: BTreeMap<(u64, u64), u32>,
    /// Every key issued, by id.
    issued: Vec<Issued>,
    last_elapsed: u64,
}

impl Harness {
    pub(crate) fn new(extra: fn(&TimerWheel<u32>)) -> Self {
        Harness {
            wheel: TimerWheel::new(),
            extra,
            model: BTreeMap::new(),
            issued: Vec::new(),
            last_elapsed: 0,
        }
    }

    pub(crate) fn apply(&mut self, op: &Op) {
        let elapsed = self.wheel.elapsed();
        match *op {
            Op::Insert(delta) => self.insert(elapsed.saturating_add(delta)),
            Op::InsertAt(when) => self.insert(when),
            Op::Cancel(index) => self.cancel(index),
            Op::Advance(delta) => self.advance(elapsed.saturating_add(delta), usize::MAX),
            Op::AdvanceTo(now) => self.advance(now, usize::MAX),
            Op::AdvancePartial(delta, n) => self.advance(elapsed.saturating_add(delta), n),
        }
        self.check();
    }

    fn insert(&mut self, when: u64) {
        let seq = self.issued.len() as u64;
        let id = seq as u32;
        let key = self.wheel.insert(when, id);
        assert_eq!(self.wheel.deadline(key), Some(when));
        self.model.insert((when, seq), id);
        self.issued.push(Issued { key, when, seq });
    }

    fn cancel(&mut self, index: usize) {
        if self.issued.is_empty() {
            return;
        }
        let Issued { key, when, seq } = self.issued[index % self.issued.len()];
        let expected = self.model.remove(&(when, seq));
        assert_eq!(self.wheel.deadline(key), expected.map(|_| when));
        assert_eq!(self.wheel.get_mut(key).copied(), expected);
        assert_eq!(self.wheel.cancel(key), expected, "cancel disagrees");
        assert_eq!(self.wheel.cancel(key), None, "second cancel");
    }

    fn advance(&mut self, now: u64, limit: usize) {
        let before = self.wheel.elapsed();
        let effective = now.max(before);
        let due: Vec<(u64, u32)> = self
            .model
            .range(..=(effective, u64::MAX))
            .map(|(&(when, _), &id)| (when, id))
            .collect();
        let mut fired: Vec<(u64, u32)> = self.wheel.advance(now).take(limit).collect();
        for &(when, id) in &fired {
            assert!(when <= effective, "{when} yielded by advance({effective})");
            let issued = self.issued[id as usize];
            assert_eq!(when, issued.when, "wrong deadline for {id}");
            assert_eq!(
                self.model.remove(&(when, issued.seq)),
                Some(id),
                "{id} yielded twice"
            );
        }
        fired.sort_unstable();
        let after = self.wheel.elapsed();
        assert!(before <= after && after <= effective);
        if limit > due.len() {
            assert_eq!(fired, due, "advance({effective}) from {before}");
            assert_eq!(after, effective);
        } else {
            assert_eq!(fired.len(), limit);
        }
    }

    /// `len`/`is_empty` agree with the model; `next_expiration` is `Some`
    /// iff something is pending, never before `elapsed`, never after the
    /// earliest deadline, and exactly `elapsed` when something is due.
    fn check(&mut self) {
        let elapsed = self.wheel.elapsed();
        assert!(elapsed >= self.last_elapsed, "time moved back");
        self.last_elapsed = elapsed;
        assert_eq!(self.wheel.len(), self.model.len());
        assert_eq!(self.wheel.is_empty(), self.model.is_empty());
        (self.extra)(&self.wheel);
        check_next(&self.wheel, self.model.keys().next().map(|&(when, _)| when));
    }

    /// Drains everything at the end so nothing is lost.
    /// The wheel's `elapsed`.
    pub(crate) fn elapsed(&self) -> u64 {
        self.wheel.elapsed()
    }

    pub(crate) fn finish(&mut self) {
        self.advance(u64::MAX, usize::MAX);
        self.check();
        assert!(self.model.is_empty());
    }
}

/// `next_expiration` is `Some` iff something is pending, never before
/// `elapsed`, never after the earliest pending deadline, and exactly
/// `elapsed` when something is already due.
pub(crate) fn check_next<T>(wheel: &TimerWheel<T>, earliest: Option<u64>) {
    let next = wheel.next_expiration();
    let elapsed = wheel.elapsed();
    let Some(earliest) = earliest else {
        assert_eq!(next, None, "empty wheel has no next expiration");
        return;
    };
    let next = next.expect("a non-empty wheel has a next expiration");
    assert!(next >= elapsed, "next {next} before elapsed {elapsed}");
    if earliest <= elapsed {
        assert_eq!(next, elapsed, "a due entry makes next == elapsed");
    } else {
        assert!(next <= earliest, "next {next} after earliest {earliest}");
    }
}
