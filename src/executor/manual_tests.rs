//! The executor driven by hand, as a no_std program drives it: `spawn`,
//! `sleep`, `timeout`, `advance_time`, `run_until_stalled` and nothing else.
//! Runs in both builds (`cargo test --no-default-features --lib` exercises the
//! no_std paths: spin lock, manual clock, remote wake queue) and under Miri.

use crate::{yield_now, LocalExecutor, TaskError};
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::time::Duration;

const MS: Duration = Duration::from_millis(1);

#[test]
fn t5_tasks_and_timers_run_when_driven_by_hand() {
    let ex = LocalExecutor::new_manual();
    let log = Rc::new(RefCell::new(Vec::new()));
    for (name, ms) in [("slow", 30), ("fast", 10), ("mid", 20)] {
        let log = log.clone();
        let nap = ex.sleep(ms * MS);
        ex.spawn(async move {
            nap.await;
            log.borrow_mut().push(name);
        })
        .detach();
    }
    ex.run_until_stalled();
    assert!(log.borrow().is_empty());
    for _ in 0..3 {
        ex.advance_time(10 * MS);
        ex.run_until_stalled();
    }
    assert_eq!(*log.borrow(), ["fast", "mid", "slow"]);
    assert!(ex.is_empty());
    assert_eq!(ex.timers(), 0);
}

#[test]
fn t4_timeout_when_driven_by_hand() {
    let ex = LocalExecutor::new_manual();
    let quick = ex.spawn(ex.timeout(5 * MS, async { 1 }));
    let slow = ex.spawn(ex.timeout(5 * MS, ex.sleep(6 * MS)));
    ex.run_until_stalled();
    assert_eq!(quick.try_take(), Some(Ok(Ok(1))));
    ex.advance_time(5 * MS);
    ex.run_until_stalled();
    assert_eq!(slow.try_take(), Some(Ok(Err(TaskError::TimedOut))));
    assert_eq!(ex.timers(), 0, "the timed-out sleep is cancelled");
}

#[test]
fn t2_cancelling_a_sleep_in_its_last_millisecond_frees_it() {
    let ex = LocalExecutor::new_manual();
    // 1.5 ms: after 1 ms it sits in the sub-millisecond queue.
    let h = ex.spawn(ex.sleep(Duration::from_micros(1_500)));
    ex.run_until_stalled();
    ex.advance_time(MS);
    ex.run_until_stalled();
    assert_eq!(ex.timers(), 1);
    h.cancel();
    ex.run_until_stalled();
    assert_eq!(ex.timers(), 0);
    assert_eq!(h.try_take(), Some(Err(TaskError::Cancelled)));
}

#[test]
fn a_reset_to_a_later_deadline_fires_only_at_the_new_one() {
    let ex = LocalExecutor::new_manual();
    let mut nap = ex.sleep(10 * MS);
    let done = Rc::new(RefCell::new(false));
    let d = done.clone();
    let waker_poll = ex.spawn(async move {
        // Register at 10 ms, then push the deadline to 25 ms.
        core::future::poll_fn(|cx| {
            let _ = core::pin::Pin::new(&mut nap).poll(cx);
            core::task::Poll::Ready(())
        })
        .await;
        nap.reset_after(25 * MS);
        nap.await;
        *d.borrow_mut() = true;
    });
    ex.run_until_stalled();
    ex.advance_time(10 * MS);
    ex.run_until_stalled();
    assert!(!*done.borrow(), "fired at the old deadline");
    ex.advance_time(14 * MS);
    ex.run_until_stalled();
    assert!(!*done.borrow());
    ex.advance_time(MS);
    ex.run_until_stalled();
    assert!(*done.borrow());
    assert!(waker_poll.is_finished());
}

#[test]
fn many_tasks_yielding_interleave_fairly() {
    let ex = LocalExecutor::new_manual();
    let turns = Rc::new(RefCell::new(Vec::new()));
    for id in 0..3 {
        let turns = turns.clone();
        ex.spawn(async move {
            for _ in 0..3 {
                turns.borrow_mut().push(id);
                yield_now().await;
            }
        })
        .detach();
    }
    ex.run_until_stalled();
    assert_eq!(*turns.borrow(), [0, 1, 2, 0, 1, 2, 0, 1, 2]);
}

use core::future::Future;
