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
mod tests;
