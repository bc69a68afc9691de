//! The timer driver of the executor running on this thread: where a timer
//! registers at its first poll (S3).
//!
//! Kept here, in `time`, so timers need nothing from the executor: an
//! executor entering its loop on a thread calls [`enter`], and every timer
//! polled on that thread finds the driver through [`with_driver`].

use super::driver::TimerDriver;
use alloc::sync::Arc;
use core::cell::RefCell;

std::thread_local! {
    static CURRENT: RefCell<Option<Arc<TimerDriver>>> = const { RefCell::new(None) };
}

/// Makes `driver` this thread's current timer driver until the guard drops
/// (which restores the one before).
pub(crate) fn enter(driver: Arc<TimerDriver>) -> DriverGuard {
    let previous = CURRENT.with(|current| current.borrow_mut().replace(driver));
    DriverGuard(previous)
}

/// See [`enter`].
pub(crate) struct DriverGuard(Option<Arc<TimerDriver>>);

impl Drop for DriverGuard {
    fn drop(&mut self) {
        let previous = self.0.take();
        let leaving = CURRENT
            .try_with(|current| core::mem::replace(&mut *current.borrow_mut(), previous))
            .ok()
            .flatten();
        drop(leaving); // after the borrow ended
    }
}

/// Runs `f` with this thread's current timer driver, if there is one.
pub(crate) fn with_driver<R>(f: impl FnOnce(&Arc<TimerDriver>) -> R) -> Option<R> {
    CURRENT
        .try_with(|current| current.try_borrow().ok()?.as_ref().map(f))
        .ok()
        .flatten()
}

/// This thread's current timer driver, if there is one.
pub(crate) fn driver() -> Option<Arc<TimerDriver>> {
    with_driver(Arc::clone)
}
