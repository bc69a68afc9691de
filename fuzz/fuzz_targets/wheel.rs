//! Differential fuzzing of the timer wheel against a `BTreeMap` model.
//!
//! The input is decoded into insert / cancel / advance operations; after each
//! one the wheel must agree with the model: `advance(now)` yields exactly the
//! entries due at `now` (none early, none lost, none twice), `cancel` agrees on
//! `Some`/`None` (stale keys included), `len` agrees, and `next_expiration` is
//! `Some` iff something is pending, never before `elapsed`, never after the
//! earliest deadline, and equal to `elapsed` when something is already due.

#![no_main]

use concurrent_tasks::time::wheel::{TimerKey, TimerWheel};
use libfuzzer_sys::fuzz_target;

#[path = "input.rs"]
mod input;
use input::Input;

/// The wheel and its `BTreeMap` model (the unit tests and the proptest use
/// the same one).
#[path = "../../src/time/wheel/model.rs"]
mod model;
use model::{Harness, Op, HORIZON};

/// Bounds the work per input.
const MAX_OPS: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mut harness = Harness::new(|_| {});
    let mut ops = 0;
    while !input.is_empty() && ops < MAX_OPS {
        ops += 1;
        let op = match input.byte() % 16 {
            // Near deadlines: every low level.
            0..=2 => Op::Insert(input.bytes(1)),
            3..=4 => Op::Insert(input.bytes(3)),
            // Any magnitude.
            5 => Op::Insert(input.scaled()),
            // Rare absolute deadlines: the end of time, the horizon, the past.
            6 => {
                let elapsed = harness.elapsed();
                Op::InsertAt(match input.byte() % 5 {
                    0 => u64::MAX - input.bytes(1),
                    1 => input.bytes(8),
                    2 => elapsed.saturating_add(HORIZON - 128 + input.bytes(1)),
                    3 => elapsed.saturating_sub(input.bytes(2)),
                    _ => u64::MAX - (input.bytes(1) << 30) - input.bytes(1),
                })
            }
            7..=8 => Op::Cancel(input.bytes(2) as usize),
            9..=10 => Op::Advance(input.bytes(1)),
            11 => Op::Advance(input.bytes(3)),
            12 => Op::Advance(input.scaled()),
            // Absolute: possibly behind `elapsed`, possibly the end of time.
            13 => Op::AdvanceTo(match input.byte() % 3 {
                0 => u64::MAX - input.bytes(1),
                1 => input.bytes(8),
                _ => input.bytes(2),
            }),
            // Drop the iterator after a few items.
            14 => Op::AdvancePartial(input.bytes(3), usize::from(input.byte() % 4)),
            _ => Op::Advance(0),
        };
        harness.apply(&op);
    }
    // Nothing may be lost: everything fires by the end of time.
    harness.finish();
});
