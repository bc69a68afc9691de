//! A short, bounded wait before parking a thread.
//!
//! Parking and unparking a thread costs a system call each, and waking a
//! thread on another CPU tens of microseconds. When the awaited event is
//! usually microseconds away (a pool's reply, the next submission in a
//! burst), spinning briefly first avoids both. The spin is bounded — about a
//! hundred pause instructions, then a few `yield_now`s, which also lets a
//! peer sharing this CPU run — so an idle thread still parks within
//! microseconds and uses no CPU afterwards. The schedule follows
//! crossbeam's `Backoff`.

/// Spins (1, 2, 4 … 64 pause instructions), then yields; done after that.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    step: u32,
}

const SPIN_LIMIT: u32 = 6;
const YIELD_LIMIT: u32 = 10;

impl Backoff {
    /// Waits a little longer than last time.
    pub(crate) fn snooze(&mut self) {
        if self.step <= SPIN_LIMIT {
            for _ in 0..1u32 << self.step {
                core::hint::spin_loop();
            }
        } else {
            std::thread::yield_now();
        }
        self.step += 1;
    }

    /// `true` once the budget is spent: park now.
    pub(crate) fn is_completed(&self) -> bool {
        self.step > YIELD_LIMIT
    }
}

/// Snoozes until `ready()` holds or the budget is spent; returns `ready()`.
/// For a thread waiting on another one (which the yields let run when both
/// share a CPU).
pub(crate) fn spin_until(mut ready: impl FnMut() -> bool) -> bool {
    let mut backoff = Backoff::default();
    loop {
        if ready() {
            return true;
        }
        if backoff.is_completed() {
            return false;
        }
        backoff.snooze();
    }
}

/// Spins (no yields) until `ready()` holds or about a hundred pause
/// instructions went by. For an executor about to park: a `yield_now` on a
/// loaded machine can give away a whole time slice and make its timers late.
pub(crate) fn spin_briefly_until(mut ready: impl FnMut() -> bool) -> bool {
    for step in 0..=SPIN_LIMIT {
        if ready() {
            return true;
        }
        for _ in 0..1u32 << step {
            core::hint::spin_loop();
        }
    }
    ready()
}
