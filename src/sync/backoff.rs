//! A short, bounded wait before parking a thread.
//!
//! Parking and unparking a thread costs a system call each, and waking a
//! thread on another CPU tens of microseconds. When the awaited event is
//! usually microseconds away (a pool's reply, the next submission in a
//! burst), checking a few more times first avoids both. Both waits here are
//! bounded to a few microseconds, so an idle thread still parks at once and
//! uses no CPU afterwards.

/// Checks of `ready()` (with a `yield_now` between them) before giving up.
const YIELD_LIMIT: u32 = 10;
/// `spin_briefly_until` pauses 1, 2, 4 … 2^SPIN_STEPS times between checks.
const SPIN_STEPS: u32 = 4;

/// Waits for another thread: checks `ready()`, yielding the CPU in between,
/// a bounded number of times; returns `ready()`. Yielding (rather than
/// spinning) lets a peer that shares this CPU run at once and produce what
/// we wait for; on a CPU of its own the yield returns at once and acts as a
/// short spin.
pub(crate) fn spin_until(mut ready: impl FnMut() -> bool) -> bool {
    for _ in 0..YIELD_LIMIT {
        if ready() {
            return true;
        }
        std::thread::yield_now();
    }
    ready()
}

/// Spins (no yields) until `ready()` holds or a few dozen pause
/// instructions went by (well under a microsecond). For an executor about
/// to park: it catches a wake already on its way, while a yield on a loaded
/// machine could give away a whole time slice and make its timers late.
pub(crate) fn spin_briefly_until(mut ready: impl FnMut() -> bool) -> bool {
    for step in 0..=SPIN_STEPS {
        if ready() {
            return true;
        }
        for _ in 0..1u32 << step {
            core::hint::spin_loop();
        }
    }
    ready()
}
