//! Tests for the timer wheel.
//!
//! * `t2_*`: cancelling a pending timer is O(1) and frees its entry; stale
//!   keys are rejected even after the entry is reused.
//! * `t3_*`: deadlines from 0 to `u64::MAX` are accepted; one past the
//!   horizon waits in the top level and cascades; no overflow, no panic.
//! * the rest: `advance`/`poll`/`next_expiration` semantics, `level_for`, and
//!   random operation sequences checked against a `BTreeMap` model.
//!
//! Every test is cheap enough to run under Miri (the proptest against the
//! same model lives in `benches/peers/tests/wheel_model.rs`).

// `std` is only implicit when the `std` feature is on.
#[cfg(not(feature = "std"))]
extern crate std;

use super::level::{level_range, slot_range};
use super::*;
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

// === helpers ===

/// Everything `advance(now)` yields, sorted.
fn fire<T: Ord>(wheel: &mut TimerWheel<T>, now: u64) -> Vec<(u64, T)> {
    let mut fired: Vec<_> = wheel.advance(now).collect();
    fired.sort();
    fired
}

/// The tick at which the slot `slot` of `level` is next processed, computed
/// independently of `Level::next_expiration`.
fn slot_turn(elapsed: u64, level: usize, slot: usize) -> u64 {
    let span = slot_range(level);
    let level_span = span << LEVEL_BITS;
    let now_slot = ((elapsed / span) % SLOTS as u64) as usize;
    let level_start = elapsed - elapsed % level_span;
    if slot > now_slot {
        level_start + slot as u64 * span
    } else {
        // Behind (or at) `elapsed`: the slot's next turn.
        (level_start + slot as u64 * span).saturating_add(level_span)
    }
}

/// Walks every list and checks the links and the filing invariants: each live
/// entry is linked exactly once, `prev`/`next` agree, `place` names its list,
/// due entries are in the expired list, every other entry sits at
/// `level_for(elapsed, when)` in `slot_for(when, level)`, and its slot's next
/// turn is no later than its deadline.
fn check_invariants<T>(wheel: &TimerWheel<T>) {
    let elapsed = wheel.elapsed;
    // Slab index -> linked; a plain vector keeps this cheap under Miri.
    let mut seen: Vec<bool> = Vec::new();
    let mut linked = 0;
    let mut walk = |head: u32, place: Place| {
        let mut prev = NIL;
        let mut index = head;
        while index != NIL {
            let i = index as usize;
            if seen.len() <= i {
                seen.resize(i + 1, false);
            }
            assert!(!seen[i], "entry {index} linked twice");
            seen[i] = true;
            linked += 1;
            let node = wheel.slab.at(index);
            assert_eq!(node.prev, prev, "broken prev link at {index}");
            assert!(node.place == place, "entry {index} in the wrong list");
            match place {
                Place::Expired => assert!(node.when <= elapsed, "early entry in expired"),
                Place::Slot { level, slot } => {
                    let (level, slot) = (level as usize, slot as usize);
                    assert!(node.when > elapsed, "due entry left in a slot");
                    assert_eq!(level, level_for(elapsed, node.when), "wrong level");
                    assert_eq!(slot, slot_for(node.when, level), "wrong slot");
                    let turn = slot_turn(elapsed, level, slot);
                    assert!(
                        turn <= node.when,
                        "slot turn {turn} after deadline {}",
                        node.when
                    );
                }
            }
            prev = index;
            index = node.next;
        }
    };
    walk(wheel.expired, Place::Expired);
    for level in 0..LEVELS {
        for slot in 0..SLOTS {
            let place = Place::Slot {
                level: level as u8,
                slot: slot as u8,
            };
            walk(wheel.levels[level].head(slot), place);
        }
    }
    assert_eq!(linked, wheel.len(), "a live entry is not linked");
}

/// Tiny deterministic PRNG (xorshift64*) for the Miri-friendly random tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The ticks either side of each level's span (64, 4096, … 2^36): where a
/// deadline, or a distance from `elapsed`, moves up a level.
fn around_level_spans() -> impl Iterator<Item = u64> {
    (0..LEVELS).flat_map(|level| {
        let span = level_range(level);
        [span - 1, span, span + 1]
    })
}

/// Ticks the wheel is advanced to before inserting.
const STARTS: [u64; 7] = [
    0,
    100,
    4096 + 7,
    (1 << 36) - 10,
    1 << 36,
    (1 << 40) + 12_345,
    u64::MAX - 70,
];

/// The starts to test from: all of them, or under Miri zero, mid-block and
/// just below the horizon.
fn starts() -> Vec<u64> {
    if cfg!(miri) {
        vec![STARTS[0], STARTS[1], STARTS[3]]
    } else {
        STARTS.to_vec()
    }
}

fn deadlines_from(start: u64) -> Vec<u64> {
    // Absolute level boundaries, the ends of the range, and the same
    // boundaries as distances from `start`.
    let mut all: Vec<u64> = vec![0, 1, u64::MAX - 1, u64::MAX];
    all.extend(around_level_spans());
    let offsets = core::iter::once(1).chain(around_level_spans());
    all.extend(offsets.filter_map(|off| start.checked_add(off)));
    all.sort_unstable();
    all.dedup();
    all
}

// === T3: the whole deadline range ===

#[test]
fn t3_constants_describe_six_levels_of_64_slots() {
    assert_eq!(SLOTS, 64);
    assert_eq!(LEVELS, 6);
    assert_eq!(HORIZON, 1 << 36);
    assert_eq!(slot_range(0), 1);
    assert_eq!(slot_range(5), 1 << 30);
}

#[test]
fn t3_each_boundary_deadline_fires_exactly_at_its_tick() {
    for start in starts() {
        for when in deadlines_from(start) {
            // Stepping: nothing at `when - 1`, the entry at `when`.
            let mut wheel = TimerWheel::new();
            assert!(fire(&mut wheel, start).is_empty());
            assert_eq!(wheel.elapsed(), start);
            let key = wheel.insert(when, when);
            assert_eq!(wheel.deadline(key), Some(when));
            check_invariants(&wheel);
            check_next(&wheel, Some(when));
            if when <= start {
                assert_eq!(wheel.next_expiration(), Some(start));
                assert_eq!(fire(&mut wheel, start), [(when, when)], "{start} {when}");
            } else {
                assert!(
                    fire(&mut wheel, when - 1).is_empty(),
                    "deadline {when} fired early (from {start})"
                );
                assert_eq!(wheel.elapsed(), when - 1);
                assert_eq!(wheel.len(), 1);
                assert_eq!(wheel.deadline(key), Some(when));
                check_invariants(&wheel);
                check_next(&wheel, Some(when));
                assert_eq!(wheel.next_expiration(), Some(when), "one tick left");
                assert_eq!(fire(&mut wheel, when), [(when, when)], "{start} {when}");
            }
            assert!(wheel.is_empty());
            assert_eq!(wheel.cancel(key), None, "fired key is stale");
            check_next(&wheel, None);
            assert!(fire(&mut wheel, u64::MAX).is_empty(), "fired exactly once");

            // Jumping: straight from `start` to `when` in one call.
            let mut wheel = TimerWheel::new();
            assert!(fire(&mut wheel, start).is_empty());
            wheel.insert(when, when);
            assert_eq!(fire(&mut wheel, when), [(when, when)], "{start} {when}");
            assert_eq!(wheel.elapsed(), when.max(start));
            assert!(wheel.is_empty());
        }
    }
}

#[test]
fn t3_all_boundaries_in_one_wheel_fire_in_turn() {
    for start in starts() {
        let deadlines = deadlines_from(start);
        let mut wheel = TimerWheel::new();
        assert!(fire(&mut wheel, start).is_empty());
        // Two entries per deadline, so slot lists hold more than one.
        let mut pending: BTreeMap<u64, usize> = BTreeMap::new();
        for (i, &when) in deadlines.iter().enumerate() {
            wheel.insert(when, i);
            wheel.insert(when, i + 1000);
            pending.insert(when, i);
        }
        check_invariants(&wheel);
        check_next(&wheel, pending.keys().next().copied());
        let due: Vec<_> = pending.range(..=start).map(|(&w, &i)| (w, i)).collect();
        let fired = fire(&mut wheel, start);
        let mut expected: Vec<_> = due
            .iter()
            .flat_map(|&(w, i)| [(w, i), (w, i + 1000)])
            .collect();
        expected.sort_unstable();
        assert_eq!(fired, expected);
        for (when, _) in due {
            pending.remove(&when);
        }
        while let Some((&when, &i)) = pending.iter().next() {
            check_next(&wheel, Some(when));
            assert!(fire(&mut wheel, when - 1).is_empty(), "{when} fired early");
            check_invariants(&wheel);
            check_next(&wheel, Some(when));
            assert_eq!(fire(&mut wheel, when), [(when, i), (when, i + 1000)]);
            check_invariants(&wheel);
            pending.remove(&when);
        }
        assert!(wheel.is_empty());
        check_next(&wheel, None);
    }
}

#[test]
fn t3_past_the_horizon_waits_in_the_top_level_and_cascades() {
    let mut wheel = TimerWheel::new();
    let key = wheel.insert(HORIZON + 1, "far");
    let place = |wheel: &TimerWheel<&str>| wheel.slab.get(key.0).map(|node| node.place);
    assert!(place(&wheel) == Some(Place::Slot { level: 5, slot: 0 }));
    // Slot 0 of the top level is the one `elapsed` is in: next turn.
    assert_eq!(wheel.next_expiration(), Some(HORIZON));
    assert!(fire(&mut wheel, HORIZON).is_empty());
    assert!(place(&wheel) == Some(Place::Slot { level: 0, slot: 1 }));
    assert_eq!(wheel.next_expiration(), Some(HORIZON + 1));
    assert_eq!(fire(&mut wheel, HORIZON + 1), [(HORIZON + 1, "far")]);

    // u64::MAX clamps to top-level slot 63 and comes back there each turn.
    let mut wheel = TimerWheel::new();
    let key = wheel.insert(u64::MAX, "end");
    let place = |wheel: &TimerWheel<&str>| wheel.slab.get(key.0).map(|node| node.place);
    assert!(place(&wheel) == Some(Place::Slot { level: 5, slot: 63 }));
    let turn = 63 << 30;
    assert_eq!(wheel.next_expiration(), Some(turn));
    assert!(fire(&mut wheel, turn).is_empty());
    assert!(place(&wheel) == Some(Place::Slot { level: 5, slot: 63 }));
    assert_eq!(wheel.next_expiration(), Some(turn + HORIZON));
    check_invariants(&wheel);
    assert!(fire(&mut wheel, u64::MAX - 1).is_empty());
    assert!(place(&wheel) == Some(Place::Slot { level: 0, slot: 63 }));
    assert_eq!(wheel.next_expiration(), Some(u64::MAX));
    assert_eq!(fire(&mut wheel, u64::MAX), [(u64::MAX, "end")]);
    assert_eq!(wheel.elapsed(), u64::MAX);

    // At the end of time everything inserted is due at once.
    wheel.insert(u64::MAX, "again");
    wheel.insert(3, "past");
    assert_eq!(wheel.next_expiration(), Some(u64::MAX));
    assert_eq!(
        fire(&mut wheel, u64::MAX),
        [(3, "past"), (u64::MAX, "again")]
    );
}

/// Regression: a top-level slot holding only entries for its *next* turn (the
/// slot `elapsed` is in) used to hide every later slot of the top level, so
/// `next_expiration` overshot and `advance` fired late.
#[test]
fn t3_clamped_entry_does_not_hide_nearer_top_level_slots() {
    let mut wheel = TimerWheel::new();
    wheel.insert(HORIZON + 5, 'a'); // top slot 0, next turn
    wheel.insert((1 << 30) + 1, 'b'); // top slot 1, this turn
    check_invariants(&wheel);
    check_next(&wheel, Some((1 << 30) + 1));
    assert!(fire(&mut wheel, 1 << 30).is_empty());
    assert_eq!(fire(&mut wheel, (1 << 30) + 1), [((1 << 30) + 1, 'b')]);
    check_next(&wheel, Some(HORIZON + 5));
    assert_eq!(fire(&mut wheel, HORIZON + 5), [(HORIZON + 5, 'a')]);

    // The same from the middle of a top-level slot.
    let start = (5 << 30) + 7;
    let mut wheel = TimerWheel::new();
    assert!(fire(&mut wheel, start).is_empty());
    wheel.insert(start + HORIZON, 'a'); // slot 5 again: next turn
    wheel.insert((6 << 30) + 3, 'b');
    wheel.insert((63 << 30) + 9, 'c');
    check_invariants(&wheel);
    check_next(&wheel, Some((6 << 30) + 3));
    assert_eq!(fire(&mut wheel, (6 << 30) + 3), [((6 << 30) + 3, 'b')]);
    check_next(&wheel, Some((63 << 30) + 9));
    assert_eq!(fire(&mut wheel, (63 << 30) + 9), [((63 << 30) + 9, 'c')]);
    assert_eq!(fire(&mut wheel, start + HORIZON), [(start + HORIZON, 'a')]);
}

/// Regression: advancing far past the horizon used to re-cascade far timers
/// once per top-level turn (2^28 turns per occupied slot on the way to
/// `u64::MAX`, close to a minute in debug for a single timer).
#[test]
fn t3_advance_to_u64_max_in_one_call() {
    let mut wheel = TimerWheel::new();
    let mut expected = Vec::new();
    let step = if cfg!(miri) { 5 } else { 1 };
    for slot in (0..64u64).step_by(step) {
        for when in [
            u64::MAX - (slot << 30),
            (1 << 40) + (slot << 30) + slot,
            (slot << 50) | 0x1234,
        ] {
            wheel.insert(when, slot);
            expected.push((when, slot));
        }
    }
    expected.sort_unstable();
    check_invariants(&wheel);
    assert_eq!(fire(&mut wheel, u64::MAX), expected);
    assert!(wheel.is_empty());
    assert_eq!(wheel.elapsed(), u64::MAX);

    // A far jump that stops short of the far timers keeps them, correctly
    // filed, and they still fire at their deadlines.
    let mut wheel = TimerWheel::new();
    wheel.insert(u64::MAX - 1, 1);
    wheel.insert(u64::MAX, 2);
    wheel.insert(1 << 63, 3);
    assert!(fire(&mut wheel, (1 << 63) - 1).is_empty());
    check_invariants(&wheel);
    assert_eq!(wheel.elapsed(), (1 << 63) - 1);
    assert_eq!(fire(&mut wheel, 1 << 63), [(1 << 63, 3)]);
    assert!(fire(&mut wheel, u64::MAX - 2).is_empty());
    check_invariants(&wheel);
    assert_eq!(fire(&mut wheel, u64::MAX - 1), [(u64::MAX - 1, 1)]);
    assert_eq!(fire(&mut wheel, u64::MAX), [(u64::MAX, 2)]);
}

#[test]
fn t3_stepping_by_next_expiration_fires_each_entry_at_its_deadline() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let count = if cfg!(miri) { 40 } else { 2_000 };
    let mut wheel = TimerWheel::new();
    let mut expected = Vec::new();
    for i in 0..count {
        // Spread over every level, up to 2^40 (16 top-level turns).
        let shift = 24 + rng.below(40);
        let when = rng.next() >> shift;
        wheel.insert(when, i);
        expected.push((when, i));
    }
    expected.sort_unstable();
    let mut fired = Vec::new();
    let mut steps = 0;
    while let Some(next) = wheel.next_expiration() {
        for (when, i) in wheel.advance(next) {
            assert_eq!(when, next, "next_expiration skipped a deadline");
            fired.push((when, i));
        }
        steps += 1;
        assert!(steps < 64 * count, "no progress");
    }
    fired.sort_unstable();
    assert_eq!(fired, expected);
}

// === T2: cancel and entry reuse ===

#[test]
fn t2_cancel_is_o1_and_frees_entry() {
    let mut wheel = TimerWheel::with_capacity(2);
    let a = wheel.insert(100, 'a');
    let b = wheel.insert(100, 'b');
    assert_eq!(wheel.len(), 2);
    assert_eq!(wheel.cancel(a), Some('a'));
    assert_eq!(wheel.len(), 1);
    check_invariants(&wheel);
    assert_eq!(wheel.cancel(a), None, "double cancel");

    // The freed entry is reused; the old key must not reach the new timer.
    let c = wheel.insert(7, 'c');
    assert_eq!(
        c.0.index, a.0.index,
        "cancel put the entry on the free list"
    );
    assert_ne!(c, a);
    assert_eq!(wheel.cancel(a), None);
    assert_eq!(wheel.deadline(a), None);
    assert_eq!(wheel.get_mut(a), None);
    assert_eq!(wheel.deadline(c), Some(7));
    *wheel.get_mut(c).expect("live key") = 'C';
    assert_eq!(wheel.len(), 2);
    check_invariants(&wheel);
    assert_eq!(fire(&mut wheel, 100), [(7, 'C'), (100, 'b')]);
    for key in [a, b, c] {
        assert_eq!(wheel.cancel(key), None);
        assert_eq!(wheel.deadline(key), None);
        assert_eq!(wheel.get_mut(key), None);
    }

    // Cancel unlinks in place: it does not walk the slot list, so cancelling
    // from a slot holding many entries leaves the list intact around it.
    let n: usize = if cfg!(miri) { 50 } else { 10_000 };
    let mut wheel = TimerWheel::new();
    let keys: Vec<_> = (0..n).map(|i| wheel.insert(5_000, i)).collect();
    for key in keys.iter().step_by(3) {
        assert!(wheel.cancel(*key).is_some());
    }
    check_invariants(&wheel);
    let left: Vec<_> = wheel.advance(5_000).map(|(_, i)| i).collect();
    assert_eq!(left.len(), n - n.div_ceil(3));
    assert!(left.iter().all(|i| i % 3 != 0));
}

#[test]
fn t2_cancel_after_fire_returns_none() {
    let mut wheel = TimerWheel::new();
    let key = wheel.insert(10, "x");
    assert_eq!(fire(&mut wheel, 10), [(10, "x")]);
    assert_eq!(wheel.cancel(key), None);
    assert_eq!(wheel.deadline(key), None);
    assert_eq!(wheel.get_mut(key), None);

    // Fired then reused: still stale.
    let reuse = wheel.insert(20, "y");
    assert_eq!(reuse.0.index, key.0.index);
    assert_eq!(wheel.cancel(key), None);
    assert_eq!(wheel.deadline(reuse), Some(20));
    assert_eq!(wheel.cancel(reuse), Some("y"));
}

#[test]
fn t2_stale_keys_stay_stale_across_many_reuses() {
    let rounds = if cfg!(miri) { 100 } else { 2_000 };
    let mut wheel = TimerWheel::new();
    let mut old = Vec::new();
    for round in 0..rounds {
        let key = wheel.insert(round, round);
        assert!(old.iter().all(|&stale| stale != key));
        if round % 2 == 0 {
            assert_eq!(wheel.cancel(key), Some(round));
        } else {
            assert_eq!(wheel.poll(round), Some((round, round)));
        }
        old.push(key);
        assert!(wheel.is_empty());
    }
    for key in old {
        assert_eq!(wheel.cancel(key), None);
        assert_eq!(wheel.deadline(key), None);
    }
}

/// Cancels the head, a middle entry and the tail of one list (entries are
/// pushed at the head, so the first inserted is the tail) and checks the rest
/// still fire.
fn cancel_head_middle_tail(start: u64, deadlines: [u64; 5]) {
    let mut wheel = TimerWheel::new();
    assert!(fire(&mut wheel, start).is_empty());
    let keys: Vec<_> = deadlines
        .iter()
        .enumerate()
        .map(|(i, &when)| wheel.insert(when, i))
        .collect();
    // All five share one list.
    let places: Vec<_> = keys
        .iter()
        .map(|&k| wheel.slab.get(k.0).unwrap().place)
        .collect();
    assert!(places.iter().all(|&p| p == places[0]), "not one list");
    check_invariants(&wheel);
    assert_eq!(wheel.cancel(keys[4]), Some(4), "head");
    check_invariants(&wheel);
    assert_eq!(wheel.cancel(keys[2]), Some(2), "middle");
    check_invariants(&wheel);
    assert_eq!(wheel.cancel(keys[0]), Some(0), "tail");
    check_invariants(&wheel);
    assert_eq!(wheel.len(), 2);
    let last = deadlines.iter().copied().max().unwrap().max(start);
    let fired = fire(&mut wheel, last);
    let mut expected = vec![(deadlines[1], 1), (deadlines[3], 3)];
    expected.sort_unstable();
    assert_eq!(fired, expected);
    for key in keys {
        assert_eq!(wheel.cancel(key), None);
    }
}

#[test]
fn t2_cancel_head_middle_tail_keeps_the_others_firing() {
    // Level 0, one deadline.
    cancel_head_middle_tail(0, [10; 5]);
    // Level 1 slot [192, 256), mixed deadlines.
    cancel_head_middle_tail(0, [200, 255, 192, 230, 201]);
    // Top-level slot, some past the horizon (next turn).
    cancel_head_middle_tail(
        100,
        [
            3 << 30,
            (3 << 30) + 5,
            HORIZON + (3 << 30),
            u64::MAX - (60 << 30),
            (3 << 30) + 1,
        ],
    );
    // The expired list.
    cancel_head_middle_tail(1_000, [0, 1_000, 999, 5, 1_000]);
}

#[test]
fn t2_cancel_due_entry_after_partial_drain() {
    let mut wheel = TimerWheel::new();
    let keys: Vec<_> = (0..6).map(|i| wheel.insert(10 + i, i)).collect();
    let first: Vec<_> = wheel.advance(100).take(2).collect();
    assert_eq!(first.len(), 2);
    // A due but not yet yielded entry can still be cancelled.
    let (_, victim) = (0..6u64)
        .map(|i| (10 + i, i))
        .find(|item| !first.contains(item))
        .unwrap();
    assert_eq!(wheel.cancel(keys[victim as usize]), Some(victim));
    check_invariants(&wheel);
    let rest = fire(&mut wheel, 100);
    assert_eq!(rest.len(), 3);
    let mut all: Vec<_> = first.into_iter().chain(rest).collect();
    all.push((10 + victim, victim));
    all.sort_unstable();
    assert_eq!(all, (0..6).map(|i| (10 + i, i)).collect::<Vec<_>>());
}

// === advance / poll semantics ===

#[test]
fn new_default_and_with_capacity_start_empty_at_zero() {
    let wheels: [TimerWheel<u8>; 3] = [
        TimerWheel::new(),
        TimerWheel::default(),
        TimerWheel::with_capacity(16),
    ];
    for mut wheel in wheels {
        assert!(wheel.is_empty());
        assert_eq!(wheel.len(), 0);
        assert_eq!(wheel.elapsed(), 0);
        assert_eq!(wheel.next_expiration(), None);
        assert_eq!(wheel.poll(0), None);
        let text = std::format!("{wheel:?}");
        assert!(text.contains("TimerWheel") && text.contains("elapsed: 0"));
        let text = std::format!("{:?}", wheel.advance(1));
        assert!(text.contains("Advance") && text.contains("now: 1"));
    }
}

#[test]
fn insert_at_or_before_elapsed_fires_on_next_advance() {
    let mut wheel = TimerWheel::new();
    assert!(fire(&mut wheel, 1_000).is_empty());
    wheel.insert(1_000, 'a');
    wheel.insert(5, 'b');
    wheel.insert(0, 'c');
    wheel.insert(1_001, 'd');
    check_invariants(&wheel);
    assert_eq!(wheel.next_expiration(), Some(1_000));
    // Even a `now` behind `elapsed` yields what is already due.
    assert_eq!(fire(&mut wheel, 999), [(0, 'c'), (5, 'b'), (1_000, 'a')]);
    assert_eq!(wheel.elapsed(), 1_000);
    assert_eq!(wheel.next_expiration(), Some(1_001));
    assert_eq!(fire(&mut wheel, 1_001), [(1_001, 'd')]);
}

#[test]
fn advance_backwards_does_not_move_time_back() {
    let mut wheel = TimerWheel::new();
    assert!(fire(&mut wheel, 500).is_empty());
    assert!(fire(&mut wheel, 10).is_empty());
    assert_eq!(wheel.elapsed(), 500);
    assert_eq!(wheel.poll(0), None);
    assert_eq!(wheel.elapsed(), 500);
    wheel.insert(505, 'x');
    wheel.insert(600, 'y');
    assert!(fire(&mut wheel, 400).is_empty());
    assert_eq!(wheel.elapsed(), 500);
    assert_eq!(fire(&mut wheel, 505), [(505, 'x')]);
    assert!(fire(&mut wheel, 0).is_empty());
    assert_eq!(wheel.elapsed(), 505);
    assert_eq!(fire(&mut wheel, 600), [(600, 'y')]);
}

#[test]
fn dropping_advance_early_keeps_remaining_due_entries() {
    let deadlines = [3, 64, 64, 100, 4_095, 4_096, 70_000, 1 << 31];
    let mut wheel = TimerWheel::new();
    for (i, &when) in deadlines.iter().enumerate() {
        wheel.insert(when, i);
    }
    wheel.insert((1 << 31) + 1, 99);
    let now = 1 << 31;
    // Dropped without a single `next`: nothing moves.
    {
        let _unused = wheel.advance(now);
    }
    assert_eq!(wheel.len(), deadlines.len() + 1);
    assert_eq!(wheel.elapsed(), 0);

    let mut fired: Vec<_> = wheel.advance(now).take(3).collect();
    assert_eq!(fired.len(), 3);
    assert_eq!(wheel.len(), deadlines.len() - 2);
    assert!(wheel.elapsed() <= now);
    check_invariants(&wheel);
    let remaining_min = deadlines
        .iter()
        .enumerate()
        .filter(|&(i, &when)| !fired.contains(&(when, i)))
        .map(|(_, &when)| when)
        .min();
    check_next(&wheel, remaining_min);
    let mut second: Vec<_> = wheel.advance(now).take(2).collect();
    assert_eq!(second.len(), 2);
    fired.append(&mut second);
    fired.extend(wheel.advance(now));
    fired.sort_unstable();
    let mut expected: Vec<_> = deadlines.iter().enumerate().map(|(i, &w)| (w, i)).collect();
    expected.sort_unstable();
    assert_eq!(fired, expected, "each due entry exactly once");
    assert_eq!(wheel.elapsed(), now);
    assert_eq!(wheel.len(), 1);
    assert_eq!(fire(&mut wheel, now + 1), [(now + 1, 99)]);
}

#[test]
fn poll_yields_one_due_entry_at_a_time() {
    let mut wheel = TimerWheel::new();
    wheel.insert(7, 'a');
    wheel.insert(7, 'b');
    wheel.insert(9, 'c');
    assert_eq!(wheel.poll(6), None);
    assert_eq!(wheel.elapsed(), 6);
    let mut got = vec![wheel.poll(8).unwrap(), wheel.poll(8).unwrap()];
    got.sort_unstable();
    assert_eq!(got, [(7, 'a'), (7, 'b')]);
    assert_eq!(wheel.poll(8), None);
    assert_eq!(wheel.elapsed(), 8);
    assert_eq!(wheel.poll(100), Some((9, 'c')));
    assert_eq!(wheel.poll(100), None);
    assert_eq!(wheel.elapsed(), 100);
}

#[test]
fn get_mut_and_deadline_see_the_live_entry() {
    let mut wheel = TimerWheel::new();
    let key = wheel.insert(4_097, 1);
    assert_eq!(wheel.deadline(key), Some(4_097));
    *wheel.get_mut(key).unwrap() += 41;
    assert!(fire(&mut wheel, 4_096).is_empty());
    assert_eq!(wheel.get_mut(key), Some(&mut 42));
    assert_eq!(fire(&mut wheel, 4_097), [(4_097, 42)]);
    assert_eq!(wheel.get_mut(key), None);
}

// === level_for ===

/// The lowest level whose window holds both ticks, or the top level when no
/// level's does (clamped), by brute force.
fn expected_level(elapsed: u64, when: u64) -> usize {
    (0..LEVELS)
        .find(|&level| {
            let shift = LEVEL_BITS * (level + 1);
            elapsed >> shift == when >> shift
        })
        .unwrap_or(LEVELS - 1)
}

#[test]
fn level_for_picks_the_lowest_level_sharing_the_window() {
    let mut elapsed_values = vec![
        0,
        u64::MAX,
        u64::MAX >> 1,
        0xaaaa_aaaa_aaaa_aaaa,
        0x5555_5555_5555_5555,
    ];
    let step = if cfg!(miri) { 9 } else { 1 };
    for bit in (0..64).step_by(step) {
        let b = 1u64 << bit;
        elapsed_values.extend([b, b - 1, b + 1, b.wrapping_neg()]);
    }
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    for _ in 0..if cfg!(miri) { 4 } else { 200 } {
        let shift = rng.below(64);
        let value = rng.next() >> shift;
        elapsed_values.push(value);
    }
    let mut checked = 0u64;
    for &elapsed in &elapsed_values {
        for bit in (0..64).step_by(step) {
            let b = 1u64 << bit;
            let low = b - 1;
            let whens = [
                elapsed.wrapping_add(b),
                elapsed.wrapping_add(b).wrapping_sub(1),
                elapsed.wrapping_add(b).wrapping_add(1),
                elapsed ^ b,
                elapsed | low,
                elapsed & !low,
                elapsed.wrapping_sub(b),
            ];
            for when in whens {
                let level = level_for(elapsed, when);
                assert!(level < LEVELS);
                assert_eq!(
                    level,
                    expected_level(elapsed, when),
                    "{elapsed:#x} {when:#x}"
                );
                let shift = LEVEL_BITS * (level + 1);
                let clamped = elapsed >> 36 != when >> 36;
                if clamped {
                    assert_eq!(level, LEVELS - 1, "past the horizon clamps to the top");
                } else {
                    // The level's window holds both ticks...
                    assert_eq!(elapsed >> shift, when >> shift);
                    // ...and no lower level's does.
                    if level > 0 {
                        let lower = LEVEL_BITS * level;
                        assert_ne!(elapsed >> lower, when >> lower);
                    }
                    // A later deadline lands in a later slot of that window.
                    if when > elapsed && level > 0 {
                        assert!(slot_for(when, level) > slot_for(elapsed, level));
                    }
                }
                if when > elapsed && !clamped && level == 0 {
                    assert!(slot_for(when, 0) > slot_for(elapsed, 0));
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 100);
}

// === random operation sequences against a model (`model.rs`) ===

use super::model::{check_next, Harness, Op};

fn random_op(rng: &mut Rng) -> Op {
    match rng.below(20) {
        0..=3 => Op::Insert(rng.below(64)),
        4..=6 => Op::Insert(rng.below(10_000_000)),
        7 => Op::Insert(HORIZON - 64 + rng.below(128)),
        8 => Op::InsertAt(match rng.below(4) {
            0 => u64::MAX - rng.below(3),
            1 => rng.next(),
            2 => rng.below(1_000),
            _ => u64::MAX - rng.below(1 << 40),
        }),
        9..=11 => Op::Cancel(rng.next() as usize),
        12..=14 => {
            let scale = rng.below(20);
            Op::Advance(rng.below(64 << scale))
        }
        15 => {
            let shift = rng.below(64);
            Op::Advance(rng.next() >> shift)
        }
        16 => Op::Advance(0),
        17 => {
            let shift = rng.below(64);
            Op::AdvanceTo(rng.next() >> shift)
        }
        _ => Op::AdvancePartial(rng.below(1 << 24), rng.below(4) as usize),
    }
}

/// The model check with a fixed PRNG: small enough to run under Miri.
#[test]
fn random_operations_match_model() {
    let (seeds, ops) = if cfg!(miri) { (1, 150) } else { (50, 1_000) };
    for seed in 0..seeds {
        let mut rng = Rng(0x1234_5678_9abc_def1 ^ (seed * 0x9e37_79b9));
        let mut harness = Harness::new(check_invariants::<u32>);
        for _ in 0..ops {
            harness.apply(&random_op(&mut rng));
        }
        harness.finish();
    }
}

// The proptest of this model (wider, with shrinking): benches/peers/tests/wheel_model.rs.
