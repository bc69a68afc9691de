//! When an on-time periodic task runs next: the wall-clock schedule
//! (`at`, then `at + k·interval` or a caller's calendar rule) and what to do
//! with runs whose time has passed. Pure logic over `SystemTime` values,
//! tested without any clock.

use alloc::sync::Arc;
use core::fmt;
use core::time::Duration;
use std::time::SystemTime;

/// A calendar rule: the run after one scheduled at `last`, or `None` to end.
pub(crate) type ScheduleFn = Arc<dyn Fn(SystemTime) -> Option<SystemTime> + Send + Sync>;

/// Runs closer together than this (one timer tick) are merged into one
/// (K4): a schedule can never run `f` back to back.
const MIN_GAP: Duration = Duration::from_millis(1);

/// How often a calendar rule is asked in a row to move past [`MIN_GAP`];
/// past that, the next run is [`MIN_GAP`] after the last.
const MERGE_TRIES: usize = 64;

/// Passed times `step` skips before it hands control back (K4).
const STEP_LIMIT: usize = 64;

/// How the runs after the first are found.
#[derive(Clone)]
pub(crate) enum Rule {
    /// One run at `at`.
    Once,
    /// Every `at + k·period` (never drifting with the runs' duration).
    Every(Duration),
    /// Whatever the caller's rule says.
    Custom(ScheduleFn),
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Once => f.write_str("Once"),
            Rule::Every(period) => f.debug_tuple("Every").field(period).finish(),
            Rule::Custom(_) => f.write_str("Custom"),
        }
    }
}

/// What the task does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub(crate) enum Step {
    /// Wait until the wall clock reads this time, then run (scheduled there).
    Wait(SystemTime),
    /// Run now: this run's time has passed and overdue runs are not ignored.
    RunNow(SystemTime),
    /// Many passed times were skipped: let the executor run, then ask again.
    Busy,
    /// No run is left.
    Done,
}

/// Walks the schedule of one start of the task.
#[derive(Debug)]
pub(crate) struct Plan {
    rule: Rule,
    ignore_overdue: bool,
    /// The next scheduled run; `None` once the schedule ended.
    next: Option<SystemTime>,
    /// The rule's answer for `next`, when `step` already asked for it
    /// (a calendar rule is asked once per scheduled time).
    after_next: Option<Option<SystemTime>>,
    /// Nothing ran or was skipped yet: a start after the first time goes to
    /// the first time still ahead (in both `ignore_overdue` modes).
    started: bool,
}

impl Plan {
    pub(crate) fn new(at: SystemTime, rule: Rule, ignore_overdue: bool) -> Self {
        Plan {
            rule,
            ignore_overdue,
            next: Some(at),
            after_next: None,
            started: false,
        }
    }

    /// What to do at wall-clock time `now`.
    ///
    /// - A start after `at` (nothing ran yet) waits for the first time still
    ///   ahead, skipping the passed ones, in both modes (as the Python
    ///   library does: the latest grid point at or before now, then the
    ///   next). A single run at a past `at` is overdue.
    /// - Times that passed while `f` ran (it overran) are overdue: skipped
    ///   when overdue runs are ignored; otherwise the latest of them runs at
    ///   once — once, however many passed.
    pub(crate) fn step(&mut self, now: SystemTime) -> Step {
        for _ in 0..STEP_LIMIT {
            let Some(due) = self.next else {
                return Step::Done;
            };
            if due >= now {
                self.started = true;
                return Step::Wait(due);
            }
            let late_start = !self.started;
            match self.rule.clone() {
                Rule::Once => {
                    self.started = true;
                    if self.ignore_overdue {
                        self.next = None;
                        return Step::Done;
                    }
                    return Step::RunNow(due);
                }
                Rule::Every(period) => {
                    let (latest_passed, first_ahead) = grid_around(due, period, now);
                    if late_start || self.ignore_overdue || latest_passed.is_none() {
                        self.next = first_ahead;
                        continue;
                    }
                    self.started = true;
                    self.next = latest_passed;
                    return Step::RunNow(latest_passed.expect("checked"));
                }
                Rule::Custom(_) => {
                    let after = self.following(due);
                    match after {
                        // Not the latest passed run: skip it.
                        Some(later) if later < now => self.next = Some(later),
                        _ if late_start || self.ignore_overdue => self.next = after,
                        _ => {
                            self.started = true;
                            self.after_next = Some(after);
                            return Step::RunNow(due);
                        }
                    }
                }
            }
        }
        Step::Busy
    }

    /// Records that the run scheduled at `scheduled` happened.
    pub(crate) fn ran(&mut self, scheduled: SystemTime) {
        self.started = true;
        let cached = self.after_next.take();
        self.next = match &self.rule {
            Rule::Once => None,
            Rule::Every(_) => self.following(scheduled),
            Rule::Custom(_) => match cached {
                Some(after) => after,
                None => self.following(scheduled),
            },
        };
    }

    /// The time after `last`, at least [`MIN_GAP`] later (closer times merge
    /// into one run: a calendar rule's times are skipped up to it, and if
    /// the rule still has not moved past it after [`MERGE_TRIES`] answers,
    /// the run is at `last + MIN_GAP`). A calendar rule's time not later
    /// than `last` would repeat forever: it ends the schedule.
    fn following(&self, last: SystemTime) -> Option<SystemTime> {
        let min = last.checked_add(MIN_GAP)?;
        match &self.rule {
            Rule::Once => None,
            Rule::Every(period) => {
                // The first grid point at least MIN_GAP after `last`.
                let steps = MIN_GAP.as_nanos().div_ceil(period.as_nanos().max(1)).max(1);
                let gap = period.checked_mul(u32::try_from(steps).ok()?)?;
                last.checked_add(gap)
            }
            Rule::Custom(rule) => {
                let mut next = rule(last).filter(|next| *next > last)?;
                for _ in 1..MERGE_TRIES {
                    if next >= min {
                        return Some(next);
                    }
                    next = rule(next).filter(|later| *later > next)?;
                }
                Some(next.max(min))
            }
        }
    }
}

/// For a grid `due + k·period` with `due < now`: the latest grid point before
/// `now` and the first one at or after it (`None`: past `SystemTime`'s end).
fn grid_around(
    due: SystemTime,
    period: Duration,
    now: SystemTime,
) -> (Option<SystemTime>, Option<SystemTime>) {
    let behind = now.duration_since(due).unwrap_or_default().as_nanos();
    let period_ns = period.as_nanos().max(1);
    // Whole periods strictly before `now`: k with due + k·period < now.
    let k_before = (behind - 1) / period_ns;
    let at = |k: u128| {
        let offset = period_ns.checked_mul(k)?;
        let secs = u64::try_from(offset / 1_000_000_000).ok()?;
        due.checked_add(Duration::new(secs, (offset % 1_000_000_000) as u32))
    };
    (at(k_before), at(k_before + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn t(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_millis(ms)
    }

    fn every(ms: u64) -> Rule {
        Rule::Every(Duration::from_millis(ms))
    }

    #[test]
    fn b8_a_single_run_waits_for_its_time_then_ends() {
        let mut plan = Plan::new(t(100), Rule::Once, true);
        assert_eq!(plan.step(t(0)), Step::Wait(t(100)));
        assert_eq!(plan.step(t(100)), Step::Wait(t(100)), "due now: no wait");
        plan.ran(t(100));
        assert_eq!(plan.step(t(101)), Step::Done);
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
        assert_eq!(Plan::new(t(100), Rule::Once, true).step(t(150)), Step::Done);
        let mut plan = Plan::new(t(100), Rule::Once, false);
        assert_eq!(plan.step(t(150)), Step::RunNow(t(100)));
        plan.ran(t(100));
        assert_eq!(plan.step(t(160)), Step::Done);
    }

    #[test]
    fn b8_repeating_runs_stay_on_the_grid_whatever_the_run_time() {
        let mut plan = Plan::new(t(100), every(50), true);
        assert_eq!(plan.step(t(0)), Step::Wait(t(100)));
        plan.ran(t(100));
        // The run took 30 ms: the next is still on the grid.
        assert_eq!(plan.step(t(130)), Step::Wait(t(150)));
        plan.ran(t(150));
        assert_eq!(plan.step(t(150)), Step::Wait(t(200)));
    }

    #[test]
    fn b8_started_after_at_it_runs_at_the_first_grid_point_ahead_in_both_modes() {
        for ignore_overdue in [true, false] {
            let mut plan = Plan::new(t(100), every(50), ignore_overdue);
            assert_eq!(plan.step(t(1_020)), Step::Wait(t(1_050)));
            let mut plan = Plan::new(t(100), every(50), ignore_overdue);
            assert_eq!(plan.step(t(1_000)), Step::Wait(t(1_000)), "on a grid point");
        }
    }

    #[test]
    fn k4_grid_points_closer_than_a_tick_merge_into_one_run() {
        let mut plan = Plan::new(t(100), Rule::Every(Duration::from_nanos(1)), false);
        assert_eq!(plan.step(t(100)), Step::Wait(t(100)));
        plan.ran(t(100));
        assert_eq!(plan.step(t(100)), Step::Wait(t(101)), "one tick later");
        let mut plan = Plan::new(t(100), Rule::Every(Duration::from_micros(300)), true);
        plan.ran(t(100));
        // The first grid point at least 1 ms later: 100 ms + 4 × 300 µs.
        let next = t(100) + Duration::from_micros(1_200);
        assert_eq!(plan.step(t(100)), Step::Wait(next));
    }

    #[test]
    fn k4_a_calendar_rule_closer_than_a_tick_is_merged() {
        let rule: ScheduleFn = Arc::new(|last| Some(last + Duration::from_micros(100)));
        let mut plan = Plan::new(t(100), Rule::Custom(rule), true);
        plan.ran(t(100));
        assert_eq!(plan.step(t(100)), Step::Wait(t(101)));
        // A rule that moves by a nanosecond: merged to one tick all the same.
        let tiny: ScheduleFn = Arc::new(|last| Some(last + Duration::from_nanos(1)));
        let mut plan = Plan::new(t(100), Rule::Custom(tiny), false);
        plan.ran(t(100));
        assert_eq!(plan.step(t(100)), Step::Wait(t(101)));
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
        assert_eq!(step, Step::Wait(t(late)));
        assert!(
            busy >= late as usize / STEP_LIMIT - 1,
            "handed back {busy} times"
        );
    }

    #[test]
    fn b8_overdue_repeating_runs_are_skipped_or_the_latest_runs_once() {
        // A run at 100 overran to 235: 150 and 200 have passed.
        let mut plan = Plan::new(t(100), every(50), true);
        plan.ran(t(100));
        assert_eq!(plan.step(t(235)), Step::Wait(t(250)));
        let mut plan = Plan::new(t(100), every(50), false);
        plan.ran(t(100));
        assert_eq!(plan.step(t(235)), Step::RunNow(t(200)));
        plan.ran(t(200));
        assert_eq!(plan.step(t(240)), Step::Wait(t(250)));
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
        let mut plan = Plan::new(t(100), Rule::Custom(rule.clone()), true);
        assert_eq!(plan.step(t(0)), Step::Wait(t(100)));
        plan.ran(t(100));
        assert_eq!(plan.step(t(120)), Step::Wait(t(300)));
        // Away until 1000: 300 and 700 have passed and are skipped.
        plan.ran(t(300));
        assert_eq!(plan.step(t(1_000)), Step::Wait(t(1_500)));
        plan.ran(t(1_500));
        assert_eq!(plan.step(t(1_500)), Step::Wait(t(3_100)));
        plan.ran(t(3_100));
        assert_eq!(plan.step(t(3_100)), Step::Done);
        assert_eq!(
            *asked.lock().unwrap(),
            vec![t(100), t(300), t(700), t(1_500), t(3_100)],
            "each scheduled time, run or skipped, once"
        );
        // A late start goes to the first time ahead in both modes.
        let mut plan = Plan::new(t(100), Rule::Custom(rule.clone()), false);
        assert_eq!(plan.step(t(1_000)), Step::Wait(t(1_500)));
        // Not ignoring overdue runs: after an overrun the latest passed one
        // runs at once, and the rule is not asked twice for it.
        let mut plan = Plan::new(t(100), Rule::Custom(rule), false);
        assert_eq!(plan.step(t(0)), Step::Wait(t(100)));
        plan.ran(t(100));
        assert_eq!(plan.step(t(1_000)), Step::RunNow(t(700)));
        plan.ran(t(700));
        assert_eq!(plan.step(t(1_001)), Step::Wait(t(1_500)));
    }

    #[test]
    fn b8_a_rule_that_does_not_move_forward_ends_the_schedule() {
        let stuck: ScheduleFn = Arc::new(Some);
        let mut plan = Plan::new(t(100), Rule::Custom(stuck), true);
        assert_eq!(plan.step(t(0)), Step::Wait(t(100)));
        plan.ran(t(100));
        assert_eq!(plan.step(t(100)), Step::Done);
    }

    #[test]
    fn b8_grid_arithmetic_near_the_end_of_time_does_not_overflow() {
        // The next run would be past `SystemTime`'s range: the schedule ends.
        let mut plan = Plan::new(t(0), Rule::Every(Duration::MAX), true);
        plan.ran(t(0));
        assert_eq!(plan.step(t(1)), Step::Done);
        let mut plan = Plan::new(t(0), Rule::Every(Duration::MAX), true);
        assert_eq!(plan.step(t(1)), Step::Done, "no grid point ahead");
        let mut plan = Plan::new(t(0), Rule::Every(Duration::from_nanos(1)), true);
        assert!(matches!(plan.step(t(5)), Step::Wait(at) if at == t(5)));
        let mut plan = Plan::new(t(0), Rule::Every(Duration::from_secs(u64::MAX / 2)), true);
        plan.ran(t(0));
        assert_eq!(plan.step(t(1)), Step::Done, "past the end of time");
    }
}
