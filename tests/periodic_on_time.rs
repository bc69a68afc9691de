//! B8: `OnTimePeriodicTask` runs at wall-clock times — at `at`, then on the
//! `at + k·interval` grid or a calendar rule — never early, skipping or
//! running overdue runs; a stepped wall clock does not make it run early.

mod common;

use common::{within, LONG};
use concurrent_tasks::time::ManualClock;
use concurrent_tasks::{block_on, sleep, LocalExecutor, OnTimePeriodicTask, TaskError};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const MS: Duration = Duration::from_millis(1);

/// A wall clock for tests: a fixed base, plus the executor's manual clock,
/// plus a step the test can change (a clock set forward or back).
#[derive(Clone)]
struct TestWall {
    base: SystemTime,
    clock: ManualClock,
    step_ms: Arc<AtomicI64>,
}

impl TestWall {
    fn new(clock: &ManualClock) -> Self {
        TestWall {
            base: UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            clock: clock.clone(),
            step_ms: Arc::default(),
        }
    }
    /// Wall time `ms` after the base (the clock unstepped).
    fn at(&self, ms: u64) -> SystemTime {
        self.base + Duration::from_millis(ms)
    }
    fn now(&self) -> SystemTime {
        let unstepped = self.base + self.clock.now();
        let step = self.step_ms.load(Ordering::SeqCst);
        if step >= 0 {
            unstepped + Duration::from_millis(step as u64)
        } else {
            unstepped - Duration::from_millis(step.unsigned_abs())
        }
    }
    fn reader(&self) -> impl Fn() -> SystemTime + Send + Sync + 'static {
        let me = self.clone();
        move || me.now()
    }
    fn step_by(&self, ms: i64) {
        self.step_ms.fetch_add(ms, Ordering::SeqCst);
    }
}

/// One run's record: (monotonic ms, wall ms after base) when it started.
type Runs = Rc<RefCell<Vec<(u64, i64)>>>;

/// A task whose run `i` takes `work(i)` ms, logging when each run starts.
fn logged(
    wall: &TestWall,
    at_ms: u64,
    work: impl Fn(usize) -> u64 + 'static,
) -> (
    OnTimePeriodicTask<impl FnMut() -> concurrent_tasks::Sleep>,
    Runs,
) {
    let runs: Runs = Rc::default();
    let (log, w) = (runs.clone(), wall.clone());
    let task = OnTimePeriodicTask::new(
        move || {
            let i = log.borrow().len();
            let wall_ms = match w.now().duration_since(w.base) {
                Ok(d) => d.as_millis() as i64,
                Err(e) => -(e.duration().as_millis() as i64),
            };
            log.borrow_mut()
                .push((w.clock.now().as_millis() as u64, wall_ms));
            sleep(Duration::from_millis(work(i)))
        },
        wall.at(at_ms),
    )
    .wall_clock(wall.reader());
    (task, runs)
}

/// Monotonic start times (ms) of the runs.
fn starts(runs: &Runs) -> Vec<u64> {
    runs.borrow().iter().map(|r| r.0).collect()
}

/// Runs `main` on a manual-clock executor that starts at `start_ms`.
fn on_manual_clock<T>(start_ms: u64, main: impl FnOnce(&TestWall, &LocalExecutor) -> T) -> T {
    let clock = ManualClock::new();
    clock.advance(Duration::from_millis(start_ms));
    let ex = LocalExecutor::with_clock(clock.clone());
    main(&TestWall::new(&clock), &ex)
}

#[test]
fn b8_a_single_run_happens_at_its_wall_clock_time_never_before() {
    on_manual_clock(0, |wall, ex| {
        let (task, runs) = logged(wall, 100, |_| 0);
        assert_eq!(ex.block_on(task.start_in(ex)), Ok(()), "one run, then done");
        assert_eq!(*runs.borrow(), vec![(100, 100)]);
    });
}

#[test]
fn b8_a_single_overdue_run_is_skipped_by_default_or_run_at_once() {
    on_manual_clock(150, |wall, ex| {
        let (task, runs) = logged(wall, 100, |_| 0);
        assert_eq!(ex.block_on(task.start_in(ex)), Ok(()));
        assert!(runs.borrow().is_empty(), "skipped");
        let (task, runs) = logged(wall, 100, |_| 0);
        let task = task.ignore_overdue(false);
        assert_eq!(ex.block_on(task.start_in(ex)), Ok(()));
        assert_eq!(starts(&runs), vec![150], "run at once");
    });
}

#[test]
fn b8_repeating_runs_stay_on_the_grid_whatever_they_take() {
    on_manual_clock(0, |wall, ex| {
        let (task, runs) = logged(wall, 100, |_| 30);
        let task = task.interval(50 * MS);
        task.start_in(ex).detach();
        ex.block_on(ex.sleep(260 * MS));
        assert_eq!(starts(&runs), vec![100, 150, 200, 250], "no drift");
    });
}

#[test]
fn b8_repeating_overdue_runs_are_skipped_or_the_latest_runs_at_once() {
    // The run at 100 takes 120 ms: the runs at 150 and 200 are overdue.
    let work = |i| if i == 0 { 120 } else { 0 };
    on_manual_clock(0, |wall, ex| {
        let (task, runs) = logged(wall, 100, work);
        let task = task.interval(50 * MS);
        task.start_in(ex).detach();
        ex.block_on(ex.sleep(310 * MS));
        assert_eq!(starts(&runs), vec![100, 250, 300], "skipped 150 and 200");
    });
    on_manual_clock(0, |wall, ex| {
        let (task, runs) = logged(wall, 100, work);
        let task = task.interval(50 * MS).ignore_overdue(false);
        task.start_in(ex).detach();
        ex.block_on(ex.sleep(310 * MS));
        assert_eq!(
            starts(&runs),
            vec![100, 220, 250, 300],
            "200 ran at once (150 with it: once, not twice)"
        );
    });
}

#[test]
fn b8_started_after_at_it_runs_at_the_first_grid_point_ahead() {
    on_manual_clock(1_020, |wall, ex| {
        let (task, runs) = logged(wall, 100, |_| 0);
        let task = task.interval(50 * MS);
        task.start_in(ex).detach();
        ex.block_on(ex.sleep(90 * MS));
        assert_eq!(starts(&runs), vec![1_050, 1_100]);
    });
}

#[test]
fn b8_the_schedule_hook_gets_every_scheduled_time_and_none_ends_the_task() {
    on_manual_clock(0, |wall, ex| {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (log, w) = (seen.clone(), wall.clone());
        let (task, runs) = logged(wall, 100, |i| if i == 1 { 250 } else { 0 });
        // Gaps of 100, 200, 300 … ms; nothing after 1100.
        let task = task.interval(MS).schedule(move |last| {
            let since = last.duration_since(w.base).unwrap();
            log.lock().unwrap().push(since.as_millis() as u64);
            let next = last + since; // 100 → 200 → 400 → 800 → 1600
            (next <= w.at(1_100)).then_some(next)
        });
        // The run at 200 takes 250 ms: 400 is overdue (skipped), then 800.
        assert_eq!(ex.block_on(task.start_in(ex)), Ok(()));
        assert_eq!(starts(&runs), vec![100, 200, 800]);
        assert_eq!(
            *seen.lock().unwrap(),
            vec![100, 200, 400, 800],
            "run, run, skipped, run: each given to the hook once"
        );
    });
}

#[test]
fn b8_a_clock_stepped_back_does_not_run_it_early() {
    on_manual_clock(0, |wall, ex| {
        let (task, runs) = logged(wall, 100, |_| 0);
        let handle = task.start_in(ex);
        ex.run_until_stalled();
        ex.advance_time(60 * MS);
        wall.step_by(-50); // wall clock set back 50 ms at 60
        ex.run_until_stalled();
        assert_eq!(ex.block_on(handle), Ok(()));
        // Without the recheck it would have run at 100 (wall 50 ms).
        assert_eq!(
            *runs.borrow(),
            vec![(150, 100)],
            "at the wall time, not before"
        );
    });
}

#[test]
fn b8_a_clock_stepped_forward_is_noticed_within_a_minute() {
    on_manual_clock(0, |wall, ex| {
        let hour = 3_600_000;
        let (task, runs) = logged(wall, hour, |_| 0);
        let handle = task.start_in(ex);
        ex.run_until_stalled();
        ex.advance_time(10 * MS);
        wall.step_by(hour as i64); // the wall clock jumps an hour ahead
        assert_eq!(ex.block_on(handle), Ok(()));
        let (mono, wall_ms) = runs.borrow()[0];
        assert!(mono <= 60_000, "ran {mono} ms after start");
        assert!(wall_ms >= hour as i64, "never early: wall {wall_ms}");
    });
}

#[test]
fn b8_cancel_stops_the_schedule_and_start_again_starts_from_at() {
    on_manual_clock(0, |wall, ex| {
        let (task, runs) = logged(wall, 100, |_| 0);
        let task = task.interval(100 * MS);
        let first = task.start_in(ex);
        ex.block_on(ex.sleep(150 * MS));
        task.cancel();
        ex.run_until_stalled();
        assert_eq!(first.try_take(), Some(Err(TaskError::Cancelled)));
        ex.block_on(ex.sleep(200 * MS)); // 350: nothing ran
        assert_eq!(starts(&runs), vec![100]);
        task.start_in(ex).detach(); // at = 100 is past: first grid point ahead
        ex.block_on(ex.sleep(100 * MS));
        assert_eq!(starts(&runs), vec![100, 400]);
        drop(task);
        ex.block_on(ex.sleep(300 * MS));
        assert_eq!(starts(&runs), vec![100, 400], "dropping it cancelled it");
    });
}

#[test]
fn b8_the_python_librarys_on_time_scenario_single_and_repeating_on_the_real_clock() {
    within(LONG, || {
        let ran = Arc::new(Mutex::new(Vec::new()));
        let log = ran.clone();
        let at = SystemTime::now() + 50 * MS;
        let task = OnTimePeriodicTask::new(
            move || {
                log.lock().unwrap().push(SystemTime::now());
                async {}
            },
            at,
        )
        .interval(50 * MS);
        block_on(async {
            task.start().detach();
            sleep(180 * MS).await; // runs at 50, 100, 150
            task.cancel();
        });
        let ran = ran.lock().unwrap();
        assert!((2..=3).contains(&ran.len()), "{} runs", ran.len());
        for (k, t) in ran.iter().enumerate() {
            let due = at + 50 * MS * k as u32;
            let late = t.duration_since(due).expect("never early");
            assert!(late < 40 * MS, "run {k} late by {late:?}");
        }
    });
}

#[test]
fn b8_the_python_librarys_late_start_scenario_runs_on_the_grid_ahead_in_both_modes() {
    // `at` is 450 ms in the past, the interval 175 ms, `f` takes 200 ms:
    // the grid is −450, −275, −100, 75, 250, 425, 600 … ms after the start.
    // The first run is at 75 (the first point ahead) in both modes; the run
    // at 75 overruns 250, which is skipped (then 425) or run at once at 275
    // (whose run overruns 425, run at once at 475).
    for (ignore_overdue, expected) in [(true, vec![75, 425]), (false, vec![75, 275, 475])] {
        on_manual_clock(450, |wall, ex| {
            let (task, runs) = logged(wall, 0, |_| 200);
            let task = task.interval(175 * MS).ignore_overdue(ignore_overdue);
            task.start_in(ex).detach();
            ex.block_on(ex.sleep(550 * MS));
            let after_start: Vec<u64> = starts(&runs).iter().map(|t| t - 450).collect();
            assert_eq!(after_start, expected, "ignore_overdue({ignore_overdue})");
        });
    }
}
