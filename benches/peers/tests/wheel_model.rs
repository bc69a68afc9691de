//! `TimerWheel` against a `BTreeMap` model, through its public API only:
//! proptest throws random operation sequences at both (inserts near, far,
//! past the horizon and at `u64::MAX`; cancels of live and stale keys; full
//! and partial advances, backwards too) and checks they agree after each.
//!
//! The wheel's own unit tests (`src/time/wheel/tests.rs`) run a fixed-seed
//! version of the same model with its internal invariants checked too, small
//! enough for Miri; this one searches wider, with shrinking.

use concurrent_tasks::time::wheel::{TimerKey, TimerWheel};
use proptest::prelude::*;
use std::collections::BTreeMap;

/// Ticks the wheel tells apart before clamping to its top level (six levels
/// of 64 slots); the operations cluster around it.
const HORIZON: u64 = 1 << 36;

#[derive(Clone, Debug)]
enum Op {
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
struct Harness {
    wheel: TimerWheel<u32>,
    model: BTreeMap<(u64, u64), u32>,
    /// Every key issued, by id.
    issued: Vec<Issued>,
    last_elapsed: u64,
}

impl Harness {
    fn new() -> Self {
        Harness {
            wheel: TimerWheel::new(),
            model: BTreeMap::new(),
            issued: Vec::new(),
            last_elapsed: 0,
        }
    }

    fn apply(&mut self, op: &Op) {
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
        let next = self.wheel.next_expiration();
        let Some(&(earliest, _)) = self.model.keys().next() else {
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

    /// Drains everything at the end so nothing is lost.
    fn finish(&mut self) {
        self.advance(u64::MAX, usize::MAX);
        self.check();
        assert!(self.model.is_empty());
    }
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => prop_oneof![0..64u64, 0..5_000u64, 0..10_000_000u64].prop_map(Op::Insert),
        1 => (HORIZON - 64..HORIZON + 64).prop_map(Op::Insert),
        2 => prop_oneof![
            Just(u64::MAX),
            Just(u64::MAX - 1),
            u64::MAX - 5_000..=u64::MAX,
            any::<u64>(),
            HORIZON - 100..HORIZON + 100,
            0..1_000u64,
        ]
        .prop_map(Op::InsertAt),
        4 => any::<usize>().prop_map(Op::Cancel),
        6 => prop_oneof![
            Just(0u64),
            0..64u64,
            0..5_000u64,
            0..20_000_000u64,
            (1u64 << 30)..(1u64 << 40),
        ]
        .prop_map(Op::Advance),
        1 => prop_oneof![0..1_000u64, any::<u64>(), Just(u64::MAX)].prop_map(Op::AdvanceTo),
        1 => (0..10_000_000u64, 0..4usize).prop_map(|(delta, n)| Op::AdvancePartial(delta, n)),
    ]
}

proptest! {
    // Regressions live beside this file (`wheel_model.proptest-regressions`),
    // not in a folder at the repository's top level.
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn wheel_matches_btreemap_model(ops in proptest::collection::vec(op(), 1..200)) {
        let mut harness = Harness::new();
        for op in &ops {
            harness.apply(op);
        }
        harness.finish();
    }
}
