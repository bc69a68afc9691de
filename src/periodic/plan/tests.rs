//! The wall-clock schedule, walked without any clock: each test asks a plan
//! what to do at chosen times (B8, K4).

use super::*;
use std::time::UNIX_EPOCH;
use Step::Done;

/// A wall-clock time: `ms` milliseconds after a fixed instant.
fn t(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_millis(ms)
}

fn every(ms: u64) -> Rule {
    Rule::Every(Duration::from_millis(ms))
}

fn wait(ms: u64) -> Step {
    Step::Wait(t(ms))
}

fn run_now(ms: u64) -> Step {
    Step::RunNow(t(ms))
}

/// Walks `plan` through `script`: at each `(now, expected)`, the plan asked
/// at `now` must answer `expected`, and the run it schedules (`Wait` or
/// `RunNow`) then happens.
#[track_caller]
fn walk(mut plan: Plan, script: &[(u64, Step)]) {
    for &(now, expected) in script {
        let step = plan.step(t(now));
        assert_eq!(step, expected, "asked at {now} ms");
        if let Step::Wait(at) | Step::RunNow(at) = step {
            plan.ran(at);
        }
    }
}

#[test]
fn b8_a_single_run_waits_for_its_time_then_ends() {
    walk(
        Plan::new(t(100), Rule::Once, true),
        &[(0, wait(100)), (101, Done)],
    );
    let due_now = Plan::new(t(100), Rule::Once, true).step(t(100));
    assert_eq!(due_now, wait(100), "due now: no wait");
}

#[test]
fn b8_the_python_librarys_late_start_scenario_in_both_modes() {
    // at = now - 450 ms, every 175 ms, f takes 200 ms, watched 550 ms.
    let now = t(1_000);
    let at = t(550);
    for (ignore_overdue, expected) in [
        (true, vec![1_075, 1_425]),
        (false, vec![1_075, 1_275, 1_475]),
    ] {
        let mut plan = Plan::new(at, every(175), ignore_overdue);
        let mut clock = now;
        let mut runs = Vec::new();
        while clock < t(1_550) {
            let scheduled = match plan.step(clock) {
                Step::Done => break,
                Step::Busy => continue,
                Step::Wait(at) => {
                    clock = at;
                    at
                }
                Step::RunNow(at) => at,
            };
            if clock >= t(1_550) {
                break;
            }
            runs.push(clock.duration_since(t(0)).unwrap().as_millis() as u64);
            clock += Duration::from_millis(200);
            plan.ran(scheduled);
        }
        assert_eq!(runs, expected, "ignore_overdue = {ignore_overdue}");
    }
}

#[test]
fn b8_a_single_overdue_run_is_skipped_or_run_at_once() {
    assert_eq!(Plan::new(t(100), Rule::Once, true).step(t(150)), Done);
    walk(
        Plan::new(t(100), Rule::Once, false),
        &[(150, run_now(100)), (160, Done)],
    );
}

#[test]
fn b8_repeating_runs_stay_on_the_grid_whatever_the_run_time() {
    // The run at 100 took 30 ms: the next is still on the grid.
    let script = [(0, wait(100)), (130, wait(150)), (150, wait(200))];
    walk(Plan::new(t(100), every(50), true), &script);
}

#[test]
fn b8_started_after_at_it_runs_at_the_first_grid_point_ahead_in_both_modes() {
    for ignore_overdue in [true, false] {
        let plan = || Plan::new(t(100), every(50), ignore_overdue);
        assert_eq!(plan().step(t(1_020)), wait(1_050));
        assert_eq!(plan().step(t(1_000)), wait(1_000), "on a grid point");
    }
}

#[test]
fn k4_grid_points_closer_than_a_tick_merge_into_one_run() {
    let nanos = Rule::Every(Duration::from_nanos(1));
    walk(
        Plan::new(t(100), nanos, false),
        &[(100, wait(100)), (100, wait(101))],
    );
    // The first grid point at least 1 ms later: 100 ms + 4 × 300 µs.
    let next = Step::Wait(t(100) + Duration::from_micros(1_200));
    let micros = Rule::Every(Duration::from_micros(300));
    walk(
        Plan::new(t(100), micros, true),
        &[(100, wait(100)), (100, next)],
    );
}

#[test]
fn k4_a_calendar_rule_closer_than_a_tick_is_merged() {
    // A rule that moves by 100 µs, then one that moves by a nanosecond:
    // merged to one tick all the same.
    let gaps = [
        (Duration::from_micros(100), true),
        (Duration::from_nanos(1), false),
    ];
    for (gap, ignore_overdue) in gaps {
        let rule: ScheduleFn = Arc::new(move |last| Some(last + gap));
        let plan = Plan::new(t(100), Rule::Custom(rule), ignore_overdue);
        walk(plan, &[(100, wait(100)), (100, wait(101))]);
    }
}

#[test]
fn k4_skipping_many_passed_times_hands_control_back() {
    // A start a minute late on a 1 ms rule: 60 000 times to skip (a
    // second's worth under Miri, which is slow).
    let late: u64 = if cfg!(miri) { 1_000 } else { 60_000 };
    let rule: ScheduleFn = Arc::new(|last| Some(last + Duration::from_millis(1)));
    let mut plan = Plan::new(t(0), Rule::Custom(rule), true);
    let now = t(late);
    let mut busy = 0;
    let step = loop {
        match plan.step(now) {
            Step::Busy => busy += 1,
            other => break other,
        }
    };
    assert_eq!(step, wait(late));
    assert!(
        busy >= late as usize / STEP_LIMIT - 1,
        "handed back {busy} times"
    );
}

#[test]
fn b8_overdue_repeating_runs_are_skipped_or_the_latest_runs_once() {
    // A run at 100 overran to 235: 150 and 200 have passed.
    walk(
        Plan::new(t(100), every(50), true),
        &[(100, wait(100)), (235, wait(250))],
    );
    walk(
        Plan::new(t(100), every(50), false),
        &[(100, wait(100)), (235, run_now(200)), (240, wait(250))],
    );
}

#[test]
fn b8_a_calendar_rule_is_asked_once_per_scheduled_time() {
    let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = asked.clone();
    // Runs at 100, 300, 700, 1500 … (doubling gaps), then stops after 3100.
    let rule: ScheduleFn = Arc::new(move |last: SystemTime| {
        log.lock().unwrap().push(last);
        let gap = last.duration_since(t(0)).unwrap() + Duration::from_millis(100);
        Some(last + gap).filter(|next| *next <= t(3_100))
    });
    let calendar = |ignore_overdue| Plan::new(t(100), Rule::Custom(rule.clone()), ignore_overdue);
    // Away from 300 until 1000: 300 and 700 have passed and are skipped.
    let script = [
        (0, wait(100)),
        (120, wait(300)),
        (1_000, wait(1_500)),
        (1_500, wait(3_100)),
        (3_100, Done),
    ];
    walk(calendar(true), &script);
    assert_eq!(
        *asked.lock().unwrap(),
        vec![t(100), t(300), t(700), t(1_500), t(3_100)],
        "each scheduled time, run or skipped, once"
    );
    // A late start goes to the first time ahead in both modes.
    assert_eq!(calendar(false).step(t(1_000)), wait(1_500));
    // Not ignoring overdue runs: after an overrun the latest passed one
    // runs at once, and the rule is not asked twice for it.
    let script = [(0, wait(100)), (1_000, run_now(700)), (1_001, wait(1_500))];
    walk(calendar(false), &script);
}

#[test]
fn b8_a_rule_that_does_not_move_forward_ends_the_schedule() {
    let stuck: ScheduleFn = Arc::new(Some);
    walk(
        Plan::new(t(100), Rule::Custom(stuck), true),
        &[(0, wait(100)), (100, Done)],
    );
}

#[test]
fn b8_grid_arithmetic_near_the_end_of_time_does_not_overflow() {
    // The next run would be past `SystemTime`'s range: the schedule ends.
    let forever = || Rule::Every(Duration::MAX);
    walk(Plan::new(t(0), forever(), true), &[(0, wait(0)), (1, Done)]);
    let no_point_ahead = Plan::new(t(0), forever(), true).step(t(1));
    assert_eq!(no_point_ahead, Done, "no grid point ahead");
    let nanos = Rule::Every(Duration::from_nanos(1));
    assert_eq!(Plan::new(t(0), nanos, true).step(t(5)), wait(5));
    let half_of_time = Rule::Every(Duration::from_secs(u64::MAX / 2));
    walk(
        Plan::new(t(0), half_of_time, true),
        &[(0, wait(0)), (1, Done)],
    );
}
