//! The driver and the shared state on a hand-driven executor (no threads, no
//! real clock: these run without std and under Miri).

use super::*;
use alloc::format;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::task::Waker;

/// Counts factory calls, attempt polls and attempt drops.
#[derive(Clone, Default)]
struct Counters {
    calls: Arc<AtomicUsize>,
    polls: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
}

impl Counters {
    fn get(n: &Arc<AtomicUsize>) -> usize {
        n.load(Ordering::SeqCst)
    }

    /// A task whose attempts never finish on their own, counted.
    fn task<T: Send + 'static>(&self, timeout: Duration) -> RestartableTask<T> {
        let c = self.clone();
        RestartableTask::new(move || {
            c.calls.fetch_add(1, Ordering::SeqCst);
            let (polls, guard) = (c.polls.clone(), DropCount(c.drops.clone()));
            core::future::poll_fn(move |_| {
                let _keep = &guard;
                polls.fetch_add(1, Ordering::SeqCst);
                Poll::<()>::Pending
            })
        })
        .timeout(timeout)
    }
}

/// A counted task, `timeout` per attempt, started on a fresh manual executor.
struct Started {
    ex: LocalExecutor,
    c: Counters,
    task: RestartableTask<u8>,
}

impl Started {
    fn new(timeout: Duration) -> Self {
        let ex = LocalExecutor::new_manual();
        let c = Counters::default();
        let task = c.task::<u8>(timeout);
        assert!(task.start_in(&ex));
        Started { ex, c, task }
    }
}

struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (Waker, Arc<AtomicUsize>) {
    let n = Arc::new(AtomicUsize::new(0));
    let m = n.clone();
    let waker = waker_fn::waker_fn(move || {
        m.fetch_add(1, Ordering::SeqCst);
    });
    (waker, n)
}

fn poll_join<T: Clone + Send + 'static>(
    join: &mut RestartableJoin<T>,
    waker: &Waker,
) -> Poll<Result<T, TaskError>> {
    Pin::new(join).poll(&mut Context::from_waker(waker))
}

const MS: Duration = Duration::from_millis(1);

#[test]
fn factory_runs_in_start_and_the_driver_drops_a_cancelled_attempt() {
    let Started { ex, c, task } = Started::new(Duration::MAX);
    assert_eq!(Counters::get(&c.calls), 1, "f is called inside start");
    assert_eq!(Counters::get(&c.polls), 0, "its future runs on the driver");
    ex.run_until_stalled();
    assert_eq!(Counters::get(&c.polls), 1);
    assert!(task.cancel());
    assert_eq!(
        Counters::get(&c.drops),
        0,
        "dropped by the driver, not by cancel"
    );
    ex.run_until_stalled();
    assert_eq!(Counters::get(&c.drops), 1);
    assert_eq!(ex.len(), 1, "the driver idles while cancelled");
    assert!(task.start_in(&ex));
    assert_eq!(Counters::get(&c.calls), 2);
    ex.run_until_stalled();
    assert_eq!(Counters::get(&c.polls), 2);
    assert!(task.set_result(1));
    ex.run_until_stalled();
    assert_eq!(Counters::get(&c.drops), 2, "completion ends the attempt");
    assert!(ex.is_empty(), "and the driver");
    assert!(!task.start_in(&ex), "a complete task does not start");
    assert_eq!(Counters::get(&c.calls), 2);
}

#[test]
fn each_attempt_times_out_from_its_own_start() {
    let Started { ex, c, task } = Started::new(100 * MS);
    ex.run_until_stalled();
    ex.advance_time(60 * MS);
    assert!(task.cancel());
    assert!(task.start_in(&ex));
    ex.run_until_stalled();
    ex.advance_time(99 * MS);
    ex.run_until_stalled();
    assert!(
        !task.is_finished(),
        "159 ms: the second attempt began at 60"
    );
    ex.advance_time(MS);
    ex.run_until_stalled();
    assert!(task.is_finished());
    assert!(ex.is_empty(), "the driver ended");
    assert_eq!(Counters::get(&c.drops), 2);
    let (w, _) = counting_waker();
    assert_eq!(
        poll_join(&mut task.join(), &w),
        Poll::Ready(Err(TaskError::TimedOut))
    );
    assert!(!task.set_result(1), "too late");
}

#[test]
fn a_passed_deadline_wins_over_a_late_result_before_the_driver_runs() {
    let clock = crate::time::ManualClock::new();
    let ex = LocalExecutor::with_clock(clock.clone());
    let task = Counters::default().task::<u8>(10 * MS);
    task.start_in(&ex);
    // Time passes, but the driver has not looked yet (no turn ran).
    clock.advance(10 * MS);
    assert!(!task.set_result(1));
    let (w, _) = counting_waker();
    assert_eq!(
        poll_join(&mut task.join(), &w),
        Poll::Ready(Err(TaskError::TimedOut))
    );
}

#[test]
fn zero_timeout_times_out_at_once_and_max_never() {
    let Started { ex, c, task } = Started::new(Duration::ZERO);
    assert_eq!(Counters::get(&c.calls), 1);
    assert!(task.is_finished());
    ex.run_until_stalled();
    assert!(ex.is_empty());

    let task = c.task::<u8>(Duration::MAX);
    task.start_in(&ex);
    ex.run_until_stalled();
    ex.advance_time(Duration::from_secs(1 << 40));
    ex.run_until_stalled();
    assert!(!task.is_finished());
    assert_eq!(ex.timers(), 0, "no limit registers no timer");
}

#[test]
fn join_waits_across_cancel_and_restart_and_every_awaiter_gets_a_clone() {
    let ex = LocalExecutor::new_manual();
    let task = Counters::default().task::<alloc::string::String>(Duration::MAX);
    let (w1, n1) = counting_waker();
    let (w2, n2) = counting_waker();
    let mut early = task.join();
    assert_eq!(
        poll_join(&mut early, &w1),
        Poll::Ready(Err(TaskError::NotStarted))
    );
    task.start_in(&ex);
    let (mut a, mut b) = (task.join(), task.join());
    assert!(poll_join(&mut a, &w1).is_pending());
    task.cancel();
    ex.run_until_stalled();
    assert!(
        poll_join(&mut b, &w2).is_pending(),
        "cancelled: waits for a restart"
    );
    task.start_in(&ex);
    ex.run_until_stalled();
    assert_eq!((Counters::get(&n1), Counters::get(&n2)), (0, 0));
    assert!(task.set_result("reply".into()));
    assert_eq!((Counters::get(&n1), Counters::get(&n2)), (1, 1));
    assert_eq!(poll_join(&mut a, &w1), Poll::Ready(Ok("reply".into())));
    assert_eq!(poll_join(&mut b, &w2), Poll::Ready(Ok("reply".into())));
    assert_eq!(
        poll_join(&mut b, &w2),
        Poll::Ready(Ok("reply".into())),
        "again"
    );
}

#[test]
fn a_dropped_executor_cancels_the_attempt_and_the_next_start_spawns_a_driver() {
    let c = Counters::default();
    let task = c.task::<u8>(Duration::MAX);
    let ex = LocalExecutor::new_manual();
    task.start_in(&ex);
    ex.run_until_stalled();
    let (w, n) = counting_waker();
    let mut join = task.join();
    assert!(poll_join(&mut join, &w).is_pending());
    drop(ex);
    assert_eq!(Counters::get(&c.drops), 1);
    assert!(!task.cancel(), "the attempt already counts as cancelled");
    assert!(
        poll_join(&mut join, &w).is_pending(),
        "awaiters keep waiting"
    );
    let ex = LocalExecutor::new_manual();
    assert!(task.start_in(&ex));
    assert_eq!(ex.len(), 1, "a new driver");
    ex.run_until_stalled();
    assert_eq!(Counters::get(&c.polls), 2);
    task.set_result(9);
    assert!(Counters::get(&n) >= 1);
    assert_eq!(poll_join(&mut join, &w), Poll::Ready(Ok(9)));
}

#[test]
fn dropping_the_last_handle_ends_the_task_for_awaiters_left() {
    let Started { ex, c, task } = Started::new(Duration::MAX);
    ex.run_until_stalled();
    let mut join = task.join();
    let clone = task.clone();
    drop(task);
    let (w, _) = counting_waker();
    assert!(poll_join(&mut join, &w).is_pending(), "a clone is alive");
    drop(clone);
    assert_eq!(
        poll_join(&mut join, &w),
        Poll::Ready(Err(TaskError::Cancelled))
    );
    ex.run_until_stalled();
    assert!(ex.is_empty(), "the driver ended");
    assert_eq!(Counters::get(&c.drops), 1);
}

#[test]
fn a_restart_before_the_driver_looks_replaces_the_attempt() {
    let Started { ex, c, task } = Started::new(Duration::MAX);
    task.cancel();
    task.start_in(&ex);
    assert_eq!(Counters::get(&c.calls), 2);
    assert_eq!(
        Counters::get(&c.drops),
        1,
        "the stale future is dropped unpolled"
    );
    ex.run_until_stalled();
    assert_eq!(Counters::get(&c.polls), 1, "only the live attempt runs");
    assert_eq!(Counters::get(&c.drops), 1);
}

#[test]
fn debug_shows_the_phase_and_never_blocks() {
    let ex = LocalExecutor::new_manual();
    let task = Counters::default().task::<u8>(Duration::MAX);
    assert_eq!(
        format!("{task:?}"),
        "RestartableTask { phase: \"idle\", attempts: 0, awaiters: 0, driver: false }"
    );
    task.start_in(&ex);
    assert!(format!("{task:?}").contains("\"running\""));
    let locked = task.shared.slot.with(|_, _| format!("{:?}", task.join()));
    assert_eq!(locked, "RestartableJoin(<locked>)");
    task.set_result(1);
    assert!(format!("{task:?}").contains("\"complete\""));
}
