//! The timer driver alone: a manual clock and a counting unpark waker.

use super::*;
use alloc::sync::Arc;
use core::sync::atomic::AtomicUsize;

/// A driver on a manual clock whose "unpark" counts wakes.
fn counted_driver() -> (Arc<TimerDriver>, Arc<AtomicUsize>) {
    let unparks = Arc::new(AtomicUsize::new(0));
    let counter = unparks.clone();
    let unpark = waker_fn::waker_fn(move || {
        counter.fetch_add(1, atomic::Ordering::SeqCst);
    });
    let clock = crate::time::ManualClock::new();
    (Arc::new(TimerDriver::new(clock.into(), unpark)), unparks)
}

#[test]
fn t1_a_timer_filed_from_another_thread_before_the_parked_deadline_unparks_the_owner() {
    let (driver, unparks) = counted_driver();
    let noop = waker_fn::waker_fn(|| {});
    let mut far = None;
    let _ = driver.poll_timer(&mut far, 10 * TICK_NANOS, &noop);
    assert_eq!(driver.prepare_park(), Some(9 * TICK_NANOS));
    let filer = {
        let driver = driver.clone();
        std::thread::spawn(move || {
            let mut near = None;
            let noop = waker_fn::waker_fn(|| {});
            let _ = driver.poll_timer(&mut near, 2 * TICK_NANOS, &noop);
            let mut later = None;
            let _ = driver.poll_timer(&mut later, 20 * TICK_NANOS, &noop);
        })
    };
    filer.join().unwrap();
    assert_eq!(
        unparks.load(atomic::Ordering::SeqCst),
        1,
        "only the earlier deadline wakes the parked owner"
    );
    driver.unparked();
}

#[test]
fn t3_a_deadline_the_clock_has_shown_is_ready_at_the_first_poll() {
    let (driver, _) = counted_driver();
    let noop = waker_fn::waker_fn(|| {});
    let now = driver.now();
    let mut zero = None;
    assert!(driver.poll_timer(&mut zero, now, &noop).is_ready());
    assert!(zero.is_none(), "nothing registered");
    let mut ahead = None;
    assert!(driver.poll_timer(&mut ahead, now + 1, &noop).is_pending());
    assert_eq!(driver.len(), 1);
}
