//! B7: `PeriodicTask` runs f every interval, f's run time subtracted from the
//! wait; overruns follow `MissedTickBehavior`.

mod common;

use common::{within, LONG};
use concurrent_tasks::time::{ManualClock, MissedTickBehavior};
use concurrent_tasks::{
    block_on, sleep, BlockingThreadedTaskPool, LocalExecutor, PeriodicTask, TaskError,
};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

const MS: Duration = Duration::from_millis(1);

/// Runs a periodic task on a manual clock for `for_ms` and returns the start
/// times (ms) of its runs. `work(i)` is how long run `i` takes.
fn run_starts(
    period_ms: u64,
    behavior: Option<MissedTickBehavior>,
    work: impl Fn(usize) -> u64 + 'static,
    for_ms: u64,
) -> Vec<u64> {
    let clock = ManualClock::new();
    let ex = LocalExecutor::with_clock(clock.clone());
    let starts = Rc::new(RefCell::new(Vec::new()));
    let (log, c) = (starts.clone(), clock.clone());
    let mut task = PeriodicTask::new(Duration::from_millis(period_ms), move || {
        let run = log.borrow().len();
        log.borrow_mut().push(c.now().as_millis() as u64);
        let busy = Duration::from_millis(work(run));
        async move { sleep(busy).await }
    });
    if let Some(behavior) = behavior {
        task = task.missed_tick_behavior(behavior);
    }
    ex.block_on(async {
        task.start().detach();
        sleep(Duration::from_millis(for_ms)).await;
        task.cancel();
    });
    let starts = starts.borrow().clone();
    starts
}

#[test]
fn b7_40ms_of_work_every_50ms_starts_on_the_grid() {
    // The Python library's scenario, on a manual clock: exact.
    assert_eq!(
        run_starts(50, None, |_| 40, 260),
        vec![0, 50, 100, 150, 200, 250]
    );
}

#[test]
fn b7_40ms_of_work_every_50ms_runs_5_or_6_times_in_260ms_of_real_time() {
    within(LONG, || {
        let runs = Arc::new(AtomicU32::new(0));
        let r = runs.clone();
        let task = PeriodicTask::new(50 * MS, move || {
            r.fetch_add(1, Ordering::SeqCst);
            async { sleep(40 * MS).await }
        });
        let start = Instant::now();
        block_on(async {
            task.start().detach();
            sleep(260 * MS).await;
            task.cancel();
        });
        let runs = runs.load(Ordering::SeqCst);
        // Loaded machine: the 260 ms may stretch, never shrink.
        let limit = (start.elapsed().as_millis() / 50 + 1) as u32;
        assert!((5..=limit.max(6)).contains(&runs), "{runs} runs");
    });
}

#[test]
fn b7_missed_ticks_burst_delay_or_skip() {
    // The first run takes 120 ms (misses the tick at 50 and 100), the rest 10 ms.
    let work = |run| if run == 0 { 120 } else { 10 };
    assert_eq!(
        run_starts(50, Some(MissedTickBehavior::Burst), work, 260),
        vec![0, 120, 130, 150, 200, 250],
        "burst: every missed tick runs, then back on the grid"
    );
    assert_eq!(
        run_starts(50, None, work, 260),
        vec![0, 120, 170, 220],
        "delay (default): the next run at once, the schedule restarts from it"
    );
    assert_eq!(
        run_starts(50, Some(MissedTickBehavior::Skip), work, 260),
        vec![0, 120, 150, 200, 250],
        "skip: one late run, then the next grid point"
    );
}

#[test]
fn b7_an_overrun_starts_the_next_run_at_once_by_default() {
    // Every run takes 70 ms of a 50 ms period: runs back to back.
    assert_eq!(
        run_starts(50, None, |_| 70, 300),
        vec![0, 70, 140, 210, 280]
    );
}

#[test]
fn b7_cancel_stops_it_start_again_restarts_the_schedule_and_drop_cancels() {
    let clock = ManualClock::new();
    let ex = LocalExecutor::with_clock(clock.clone());
    let starts = Rc::new(RefCell::new(Vec::new()));
    let (log, c) = (starts.clone(), clock.clone());
    let task = PeriodicTask::new(50 * MS, move || {
        log.borrow_mut().push(c.now().as_millis() as u64);
        async {}
    });
    let first = task.start_in(&ex);
    ex.block_on(ex.sleep(60 * MS));
    task.cancel();
    ex.run_until_stalled();
    assert_eq!(first.try_take(), Some(Err(TaskError::Cancelled)));
    assert!(!task.is_running());
    ex.block_on(ex.sleep(100 * MS)); // now 160: nothing runs
    assert_eq!(*starts.borrow(), vec![0, 50]);
    task.start_in(&ex).detach();
    ex.block_on(ex.sleep(60 * MS)); // now 220
    assert_eq!(*starts.borrow(), vec![0, 50, 160, 210], "a fresh schedule");
    drop(task);
    ex.block_on(ex.sleep(100 * MS));
    assert_eq!(starts.borrow().len(), 4, "dropping it cancelled it");
}

#[test]
fn b7_start_on_a_pool_runs_on_the_pool_thread_from_any_thread() {
    within(LONG, || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("ticker")
            .start()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let task = PeriodicTask::new(5 * MS, move || {
            let _ = tx.send(std::thread::current().name().map(String::from));
            async {}
        });
        let handle = task.start_on(&pool).unwrap();
        for _ in 0..3 {
            assert_eq!(rx.recv_timeout(LONG).unwrap().as_deref(), Some("ticker"));
        }
        task.cancel();
        assert_eq!(common::wait(handle), Err(TaskError::Cancelled));
        pool.stop().unwrap();
    });
}

#[test]
fn b7_a_panicking_run_ends_the_schedule_with_panicked() {
    block_on(async {
        let task = PeriodicTask::new(MS, || async { panic!("tick failed") });
        assert_eq!(
            task.start().await,
            Err(TaskError::Panicked("tick failed".into()))
        );
    });
}

#[test]
fn b7_a_zero_period_is_refused_at_construction() {
    let refused = std::panic::catch_unwind(|| PeriodicTask::new(Duration::ZERO, || async {}));
    assert!(refused.is_err());
    // The longest period is fine: one run, then centuries of waiting.
    let ex = LocalExecutor::new_manual();
    let runs = Rc::new(RefCell::new(0));
    let r = runs.clone();
    let task = PeriodicTask::new(Duration::MAX, move || {
        *r.borrow_mut() += 1;
        async {}
    });
    task.start_in(&ex).detach();
    ex.run_until_stalled();
    ex.advance_time(Duration::from_secs(100 * 365 * 86_400));
    ex.run_until_stalled();
    assert_eq!(*runs.borrow(), 1, "one run in a century");
}

#[test]
fn b7_periodic_tasks_are_send_when_f_is() {
    fn assert_send<T: Send>(_: &T) {}
    let task = PeriodicTask::new(MS, || async {});
    assert_send(&task);
    assert!(format!("{task:?}").contains("PeriodicTask"));
}
