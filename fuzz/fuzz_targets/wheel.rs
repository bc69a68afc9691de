//! Differential fuzzing of the timer wheel against a `BTreeMap` model.
//!
//! The input is decoded into insert / cancel / advance operations; after each
//! one the wheel must agree with the model: `advance(now)` yields exactly the
//! entries due at `now` (none early, none lost, none twice), `cancel` agrees on
//! `Some`/`None` (stale keys included), `len` agrees, and `next_expiration` is
//! `Some` iff something is pending, never before `elapsed`, never after the
//! earliest deadline, and equal to `elapsed` when something is already due.

#![no_main]

use std::collections::BTreeMap;

use concurrent_tasks::time::wheel::{TimerKey, TimerWheel};
use libfuzzer_sys::fuzz_target;

#[path = "input.rs"]
mod input;
use input::Input;

/// Ticks the wheel tells apart before clamping to its top level.
const HORIZON: u64 = 1 << 36;
/// Bounds the work per input.
const MAX_OPS: usize = 4096;

struct Harness {
    wheel: TimerWheel<u64>,
    /// `(deadline, seq) -> id`; ids are seqs.
    model: BTreeMap<(u64, u64), u64>,
    /// Every key issued, by id: key, deadline.
    keys: Vec<(TimerKey, u64)>,
    last_elapsed: u64,
}

impl Harness {
    fn insert(&mut self, when: u64) {
        let id = self.keys.len() as u64;
        let key = self.wheel.insert(when, id);
        assert_eq!(self.wheel.deadline(key), Some(when));
        self.model.insert((when, id), id);
        self.keys.push((key, when));
    }

    fn cancel(&mut self, index: usize) {
        if self.keys.is_empty() {
            return;
        }
        let id = index % self.keys.len();
        let (key, when) = self.keys[id];
        let expected = self.model.remove(&(when, id as u64));
        assert_eq!(self.wheel.deadline(key), expected.map(|_| when));
        assert_eq!(self.wheel.get_mut(key).copied(), expected);
        assert_eq!(
            self.wheel.cancel(key),
            expected,
            "cancel disagrees with the model"
        );
        assert_eq!(self.wheel.cancel(key), None, "second cancel");
    }

    fn advance(&mut self, now: u64, limit: usize) {
        let before = self.wheel.elapsed();
        let effective = now.max(before);
        let due: Vec<(u64, u64)> = self
            .model
            .range(..=(effective, u64::MAX))
            .map(|(&(when, _), &id)| (when, id))
            .collect();
        let mut fired: Vec<(u64, u64)> = self.wheel.advance(now).take(limit).collect();
        for &(when, id) in &fired {
            assert!(when <= effective, "{when} yielded by advance({effective})");
            let (_, key_when) = self.keys[id as usize];
            assert_eq!(when, key_when, "wrong deadline for {id}");
            assert_eq!(
                self.model.remove(&(when, id)),
                Some(id),
                "{id} yielded twice or cancelled"
            );
        }
        fired.sort_unstable();
        let after = self.wheel.elapsed();
        assert!(
            before <= after && after <= effective,
            "elapsed {before} -> {after}, now {now}"
        );
        if limit > due.len() {
            assert_eq!(fired, due, "advance({effective}) from {before}");
            assert_eq!(after, effective);
        } else {
            assert_eq!(fired.len(), limit);
        }
    }

    fn check(&mut self) {
        let elapsed = self.wheel.elapsed();
        assert!(elapsed >= self.last_elapsed, "time moved back");
        self.last_elapsed = elapsed;
        assert_eq!(self.wheel.len(), self.model.len());
        assert_eq!(self.wheel.is_empty(), self.model.is_empty());
        let next = self.wheel.next_expiration();
        match self.model.keys().next() {
            None => assert_eq!(next, None),
            Some(&(earliest, _)) => {
                let next = next.expect("non-empty wheel has a next expiration");
                assert!(next >= elapsed, "next {next} before elapsed {elapsed}");
                if earliest <= elapsed {
                    assert_eq!(next, elapsed, "something is due");
                } else {
                    assert!(next <= earliest, "next {next} after earliest {earliest}");
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mut harness = Harness {
        wheel: TimerWheel::new(),
        model: BTreeMap::new(),
        keys: Vec::new(),
        last_elapsed: 0,
    };
    let mut ops = 0;
    while !input.is_empty() && ops < MAX_OPS {
        ops += 1;
        let elapsed = harness.wheel.elapsed();
        match input.byte() % 16 {
            // Near deadlines: every low level.
            0..=2 => {
                let delta = input.bytes(1);
                harness.insert(elapsed.saturating_add(delta));
            }
            3..=4 => {
                let delta = input.bytes(3);
                harness.insert(elapsed.saturating_add(delta));
            }
            // Any magnitude.
            5 => {
                let delta = input.scaled();
                harness.insert(elapsed.saturating_add(delta));
            }
            // Rare absolute deadlines: the end of time, the horizon, the past.
            6 => {
                let when = match input.byte() % 5 {
                    0 => u64::MAX - input.bytes(1),
                    1 => input.bytes(8),
                    2 => elapsed.saturating_add(HORIZON - 128 + input.bytes(1)),
                    3 => elapsed.saturating_sub(input.bytes(2)),
                    _ => u64::MAX - (input.bytes(1) << 30) - input.bytes(1),
                };
                harness.insert(when);
            }
            7..=8 => {
                let index = input.bytes(2) as usize;
                harness.cancel(index);
            }
            9..=10 => {
                let delta = input.bytes(1);
                harness.advance(elapsed.saturating_add(delta), usize::MAX);
            }
            11 => {
                let delta = input.bytes(3);
                harness.advance(elapsed.saturating_add(delta), usize::MAX);
            }
            12 => {
                let delta = input.scaled();
                harness.advance(elapsed.saturating_add(delta), usize::MAX);
            }
            // Absolute: possibly behind `elapsed`, possibly the end of time.
            13 => {
                let now = match input.byte() % 3 {
                    0 => u64::MAX - input.bytes(1),
                    1 => input.bytes(8),
                    _ => input.bytes(2),
                };
                harness.advance(now, usize::MAX);
            }
            // Drop the iterator after a few items.
            14 => {
                let delta = input.bytes(3);
                let limit = usize::from(input.byte() % 4);
                harness.advance(elapsed.saturating_add(delta), limit);
            }
            _ => harness.advance(elapsed, usize::MAX),
        }
        harness.check();
    }
    // Nothing may be lost: everything fires by the end of time.
    harness.advance(u64::MAX, usize::MAX);
    harness.check();
    assert!(harness.model.is_empty());
});
