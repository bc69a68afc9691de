//! Unit tests of `report.rs`.

use super::*;
use crate::sync::Mutex;
use alloc::vec::Vec;

#[test]
fn k1_only_panics_and_timeouts_reach_the_hook() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let hook_seen = seen.clone();
    let sink = Unhandled::new("p", Some(Box::new(move |e| hook_seen.lock().push(e))));
    sink.report(TaskError::Cancelled);
    sink.report(TaskError::TimedOut);
    sink.report(TaskError::Panicked("x".into()));
    assert_eq!(
        *seen.lock(),
        [TaskError::TimedOut, TaskError::Panicked("x".into())]
    );
}

#[cfg(feature = "std")]
#[test]
fn k1_a_panicking_hook_is_contained_and_noted_once() {
    let calls = Arc::new(core::sync::atomic::AtomicUsize::new(0));
    let counted = calls.clone();
    let sink = Unhandled::new(
        "p",
        Some(Box::new(move |_| {
            counted.fetch_add(1, Ordering::Relaxed);
            panic!("hook")
        })),
    );
    for _ in 0..3 {
        sink.report(TaskError::TimedOut);
    }
    assert_eq!(
        calls.load(Ordering::Relaxed),
        3,
        "still called, never let through"
    );
    assert!(sink.hook_panicked.load(Ordering::Relaxed));
}
