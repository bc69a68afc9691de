//! The state machine's transitions, one event at a time: no executor, no
//! worker task, no clock (instants are made by hand).

use super::*;
use core::sync::atomic::{AtomicUsize, Ordering};

const D: Duration = Duration::from_secs(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Counts the wakes of the wakers made from it.
#[derive(Default)]
struct Wakes(AtomicUsize);

impl std::task::Wake for Wakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Wakes {
    fn waker() -> (Waker, Arc<Wakes>) {
        let wakes = Arc::new(Wakes::default());
        (Waker::from(wakes.clone()), wakes)
    }

    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A debouncer's state, of `u32` arguments and outputs, with windows of `D`.
fn debouncer(mode: Mode) -> State<u32, u32> {
    State::new(mode, D)
}

fn noop() -> Waker {
    waker_fn::waker_fn(|| {})
}

/// The job the worker gets at `now`; panics if it would wait or end.
fn run_at(state: &mut State<u32, u32>, now: Instant) -> Job<u32, u32> {
    match state.next_run(Some(now), &noop()) {
        Next::Run(job) => job,
        Next::Wait(deadline) => panic!("the worker waits for {deadline:?}"),
        Next::Exit => panic!("the worker ends"),
    }
}

/// Asserts that the worker runs `arg` at `now`, in `run`.
fn assert_runs(state: &mut State<u32, u32>, now: Instant, arg: u32, run: &Arc<Run<u32>>) {
    let job = run_at(state, now);
    assert_eq!(job.arg, arg);
    assert!(Arc::ptr_eq(&job.run, run), "the run its callers hold");
}

/// What the worker waits for at `now`; panics if it would run or end.
fn waits_at(state: &mut State<u32, u32>, now: Instant) -> Until {
    match state.next_run(Some(now), &noop()) {
        Next::Wait(deadline) => deadline,
        Next::Run(job) => panic!("the worker runs {}", job.arg),
        Next::Exit => panic!("the worker ends"),
    }
}

/// The worker runs its next job at `now` to the end at `end`.
fn run_through(state: &mut State<u32, u32>, now: Instant, end: Instant) -> u32 {
    let job = run_at(state, now);
    let _ = state.run_finished(Some(end));
    job.arg
}

fn exits(state: &mut State<u32, u32>) -> bool {
    matches!(state.next_run(None, &noop()), Next::Exit)
}

#[test]
fn d1_eager_first_call_starts_at_once_and_asks_for_the_one_worker() {
    let (mut s, t0) = (debouncer(Mode::Eager), Instant::now());
    let first = s.call(t0, 1);
    assert!(!first.answer.debounced);
    assert!(first.spawn_worker && first.unused.is_none());
    assert_runs(&mut s, t0, 1, &first.answer.run);
    let joined = s.call(t0 + ms(10), 2);
    assert!(joined.answer.debounced && !joined.spawn_worker);
    assert!(
        Arc::ptr_eq(&joined.answer.run, &first.answer.run),
        "the run in progress"
    );
    assert_eq!(
        joined.unused,
        Some(2),
        "no run takes it: dropped after the lock"
    );
}

#[test]
fn d1_eager_calls_within_the_window_get_the_latest_run_without_a_worker() {
    let (mut s, t0) = (debouncer(Mode::Eager), Instant::now());
    let first = s.call(t0, 1);
    assert_eq!(run_through(&mut s, t0, t0 + ms(10)), 1);
    assert!(exits(&mut s));
    let inside = s.call(t0 + ms(999), 2);
    assert!(Arc::ptr_eq(&inside.answer.run, &first.answer.run));
    assert!(!inside.spawn_worker, "nothing to run");
    let after = s.call(t0 + D, 3);
    assert!(
        !after.answer.debounced,
        "the window, from the run's start, is over"
    );
    assert!(after.spawn_worker, "the last worker ended");
}

#[test]
fn d1_eager_call_after_the_window_while_f_runs_waits_for_that_run_to_end() {
    let (mut s, t0) = (debouncer(Mode::Eager), Instant::now());
    let _ = s.call(t0, 1);
    let _ = run_at(&mut s, t0); // f(1) runs past the window
    s.set_extend(true);
    let late = s.call(t0 + D, 2);
    assert!(late.answer.debounced);
    let _ = s.call(t0 + D + ms(500), 3); // does not push a run that only waits
    let _ = s.run_finished(Some(t0 + D + ms(600)));
    assert_runs(&mut s, t0 + D + ms(600), 3, &late.answer.run);
}

#[test]
fn d2_lazy_calls_share_one_pending_run_and_the_last_argument_wins() {
    let (mut s, t0) = (debouncer(Mode::Lazy), Instant::now());
    let first = s.call(t0, 1);
    assert!(first.answer.debounced && first.spawn_worker);
    let second = s.call(t0 + ms(500), 2);
    assert!(Arc::ptr_eq(&first.answer.run, &second.answer.run));
    assert!(!second.spawn_worker);
    assert_eq!(
        second.unused,
        Some(1),
        "the replaced argument goes to the caller, to drop after the lock"
    );
    assert_eq!(waits_at(&mut s, t0 + ms(500)), Until::At(t0 + D));
    assert_runs(&mut s, t0 + D, 2, &first.answer.run);
}

#[test]
fn d2_window_is_fixed_unless_calls_extend_it() {
    let (mut fixed, t0) = (debouncer(Mode::Lazy), Instant::now());
    let _ = fixed.call(t0, 1);
    let _ = fixed.call(t0 + ms(900), 2);
    assert_eq!(waits_at(&mut fixed, t0 + ms(900)), Until::At(t0 + D));
    let mut extended = debouncer(Mode::Lazy);
    extended.set_extend(true);
    let _ = extended.call(t0, 1);
    let _ = extended.call(t0 + ms(900), 2);
    assert_eq!(waits_at(&mut extended, t0 + D), Until::At(t0 + ms(1900)));
}

#[test]
fn d2_the_timer_firing_starts_the_pending_run() {
    let (mut s, t0) = (debouncer(Mode::Lazy), Instant::now());
    let call = s.call(t0, 1);
    let (waker, woken) = Wakes::waker();
    assert!(matches!(s.next_run(Some(t0), &waker), Next::Wait(_)));
    let job = s.pending_due(Some(t0 + D));
    assert!(Arc::ptr_eq(&job.run, &call.answer.run));
    assert!(s.flush().wake_worker.is_none(), "it waits no more");
    assert_eq!(woken.count(), 0);
}

#[test]
fn d2_max_duration_never_runs_until_flushed() {
    let (mut s, t0) = (
        State::<u32, u32>::new(Mode::Lazy, Duration::MAX),
        Instant::now(),
    );
    let _ = s.call(t0, 1);
    assert_eq!(waits_at(&mut s, t0 + D), Until::Never);
    let _ = s.flush();
    assert_eq!(run_at(&mut s, t0 + D).arg, 1);
}

#[test]
fn d3_eager_lazy_later_calls_share_one_trailing_run_at_the_windows_end() {
    let (mut s, t0) = (debouncer(Mode::EagerLazy), Instant::now());
    assert!(!s.call(t0, 1).answer.debounced);
    assert_eq!(run_through(&mut s, t0, t0 + ms(10)), 1);
    let trailing = s.call(t0 + ms(200), 2);
    let last = s.call(t0 + ms(300), 3);
    assert!(trailing.answer.debounced && Arc::ptr_eq(&trailing.answer.run, &last.answer.run));
    assert_eq!(waits_at(&mut s, t0 + ms(300)), Until::At(t0 + D));
    assert_eq!(run_at(&mut s, t0 + D).arg, 3);
    // The trailing run opens the next window, from its start.
    let _ = s.call(t0 + D + ms(500), 4);
    assert_eq!(waits_at(&mut s, t0 + D + ms(500)), Until::At(t0 + D + D));
}

#[test]
fn d4_async_call_in_a_quiet_moment_starts_the_rest_are_debounced() {
    let (mut s, t0) = (debouncer(Mode::Async), Instant::now());
    assert!(!s.call(t0, 1).answer.debounced);
    let _ = run_at(&mut s, t0);
    assert!(
        s.call(t0 + ms(50), 2).answer.debounced,
        "a run is in progress"
    );
    let _ = s.run_finished(Some(t0 + ms(100)));
    assert_eq!(s.call(t0 + ms(200), 3).unused, Some(2));
    assert_eq!(waits_at(&mut s, t0 + ms(200)), Until::At(t0 + ms(1050)));
    assert_eq!(run_through(&mut s, t0 + ms(1050), t0 + ms(1100)), 3);
    assert!(exits(&mut s));
    // The window runs from the end of the last run.
    assert!(s.call(t0 + ms(2099), 4).answer.debounced);
    let _ = run_through(&mut s, t0 + ms(3099), t0 + ms(3100));
    assert!(!s.call(t0 + ms(4100), 5).answer.debounced);
}

#[test]
fn d4_flush_makes_the_pending_run_due_and_waits_for_every_run_committed() {
    let (mut s, t0) = (debouncer(Mode::Async), Instant::now());
    let _ = s.call(t0, 1);
    let _ = s.call(t0, 2);
    let (worker, worker_woken) = Wakes::waker();
    let _ = run_at(&mut s, t0);
    let flush = s.flush();
    let target = flush.answer;
    assert_eq!(target, 2);
    assert!(flush.wake_worker.is_none() && !flush.spawn_worker);
    let (flusher, flusher_woken) = Wakes::waker();
    assert!(s.poll_flush(target, &flusher).answer.is_pending());
    s.run_finished(Some(t0)).wake_all();
    assert_eq!(flusher_woken.count(), 1);
    assert_eq!(run_at(&mut s, t0).arg, 2, "due at once: flushed");
    let _ = s.run_finished(Some(t0));
    assert!(s.poll_flush(target, &flusher).answer.is_ready());
    // A call after the flush waits for its window, until the next flush.
    let _ = s.call(t0, 3);
    assert!(matches!(s.next_run(Some(t0), &worker), Next::Wait(_)));
    s.flush().wake_worker.expect("waiting").wake();
    assert_eq!(worker_woken.count(), 1);
    assert_eq!(run_at(&mut s, t0).arg, 3);
}

#[test]
fn k3_runs_left_by_a_dead_worker_are_taken_over_by_a_waiter_or_a_call() {
    let (mut s, t0) = (debouncer(Mode::Lazy), Instant::now());
    let call = s.call(t0, 1);
    assert!(!s.take_over().spawn_worker, "the worker is alive");
    let died = s.worker_died(false, None);
    assert_eq!(died.left.len(), 1);
    assert!(
        Arc::ptr_eq(&died.left[0], &call.answer.run),
        "its waiters are told"
    );
    assert!(
        s.take_over().spawn_worker,
        "a waiter spawns the next worker"
    );
    assert!(!s.take_over().spawn_worker, "only one");
    let _ = s.worker_died(false, None);
    let replacing = s.call(t0 + ms(10), 2);
    assert!(replacing.spawn_worker, "or the next call does");
    assert_eq!(run_at(&mut s, t0 + D).arg, 2);
}

#[test]
fn k3_a_worker_dropped_mid_run_counts_the_run_finished_and_flush_replaces_it() {
    let (mut s, t0) = (debouncer(Mode::Async), Instant::now());
    let _ = s.call(t0, 1);
    let _ = run_at(&mut s, t0);
    let _ = s.call(t0, 2);
    let target = s.flush().answer;
    let (flusher, woken) = Wakes::waker();
    let _ = s.poll_flush(target, &flusher);
    let died = s.worker_died(true, Some(t0));
    assert_eq!(died.left.len(), 1, "run 2 stays");
    died.flushers.wake_all();
    assert_eq!(woken.count(), 1);
    let waiting = s.poll_flush(target, &flusher);
    assert!(waiting.answer.is_pending(), "run 2 is not done");
    assert!(waiting.spawn_worker, "the flush takes over");
    assert_eq!(run_at(&mut s, t0).arg, 2, "due at once");
    let _ = s.run_finished(Some(t0));
    assert!(s.poll_flush(target, &flusher).answer.is_ready());
}

#[test]
fn k3_nothing_to_take_over_spawns_nothing_and_a_worker_without_work_ends() {
    let mut s = debouncer(Mode::Async);
    assert!(!s.take_over().spawn_worker);
    assert!(!s.flush().spawn_worker);
    let _ = s.call(Instant::now(), 1);
    let _ = run_through(&mut s, Instant::now(), Instant::now());
    assert!(exits(&mut s));
    assert!(!s.take_over().spawn_worker);
}

#[test]
fn d1_debug_shows_the_state() {
    let mut s = debouncer(Mode::Lazy);
    s.set_extend(true);
    let _ = s.call(Instant::now(), 1);
    assert_eq!(
        format!("{s:?}"),
        "State { pending: true, mode: Lazy, duration: 1s, extend_on_call: true, \
         running: false, worker: true, runs: 0/1 }"
    );
}
