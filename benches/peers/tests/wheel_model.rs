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

#[path = "../../../src/time/wheel/model.rs"]
mod model;

use model::{Harness, Op, HORIZON};

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
        let mut harness = Harness::new(|_| {});
        for op in &ops {
            harness.apply(op);
        }
        harness.finish();
    }
}
