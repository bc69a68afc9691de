//! Blocking waits: how a thread waits for something a future would await —
//! poll, park until woken (or a deadline), poll again — and the thread's
//! unpark waker that wakes it. Every blocking call of the crate
//! (`TaskHandle::wait`, a blocking pool's `start`/`stop`/`run`,
//! `RestartableTask::wait`) waits here.

use crate::slot::Slot;
use crate::TaskError;
use core::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

std::thread_local! {
    /// One unpark waker per thread, reused by every blocking wait: a wait
    /// that times out again and again re-registers the same waker, which a
    /// waiters list stores once, instead of piling up a new one each time.
    static PARK_WAKER: Waker = unpark_this_thread();
}

/// A waker that unparks the calling thread.
fn unpark_this_thread() -> Waker {
    let thread = std::thread::current();
    waker_fn::waker_fn(move || thread.unpark())
}

/// This thread's unpark waker (a fresh one while the thread is being torn
/// down and its thread-locals are gone).
pub(crate) fn park_waker() -> Waker {
    PARK_WAKER
        .try_with(Waker::clone)
        .unwrap_or_else(|_| unpark_this_thread())
}

/// When a wait of `timeout` from now ends; `None`: never (no limit, or past
/// what `Instant` can hold).
pub(crate) fn deadline_after(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|t| Instant::now().checked_add(t))
}

/// Polls `poll` until it is ready, parking the thread between polls (`cx`'s
/// waker must unpark it) until `deadline` (`None`: no limit); one last poll
/// at the deadline.
pub(crate) fn park_until<R>(
    deadline: Option<Instant>,
    cx: &mut Context<'_>,
    mut poll: impl FnMut(&mut Context<'_>) -> Poll<R>,
) -> Option<R> {
    loop {
        if let Poll::Ready(r) = poll(cx) {
            return Some(r);
        }
        match deadline {
            None => std::thread::park(),
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    // One last look: the outcome may have just arrived.
                    return match poll(cx) {
                        Poll::Ready(r) => Some(r),
                        Poll::Pending => None,
                    };
                }
                std::thread::park_timeout(deadline - now);
            }
        }
    }
}

/// Polls `poll` on this thread until it is ready, parking in between.
pub(crate) fn block_on_poll<T>(poll: impl FnMut(&mut Context<'_>) -> Poll<T>) -> T {
    let waker = park_waker();
    park_until(None, &mut Context::from_waker(&waker), poll).expect("an unlimited wait returns")
}

// === impl Slot: blocking waits ===

impl<T, X> Slot<T, X> {
    /// Blocks the calling thread until the outcome is there or `timeout`
    /// passes (`None`: no limit), then takes it.
    pub(crate) fn wait_take(&self, timeout: Option<Duration>) -> Option<Result<T, TaskError>> {
        let deadline = deadline_after(timeout);
        // The fast paths register no waker: the outcome is there, or it is
        // microseconds away (spin briefly before parking).
        if let Some(outcome) = self.try_take() {
            return Some(outcome);
        }
        if timeout == Some(Duration::ZERO) {
            return None;
        }
        if crate::sync::backoff::spin_until(|| self.is_complete()) {
            return self.try_take();
        }
        let waker = park_waker();
        park_until(deadline, &mut Context::from_waker(&waker), |cx| {
            self.poll_take(cx)
        })
    }

    /// Blocks the calling thread until `poll` is ready or `timeout` passes
    /// (`None`: no limit; `Some(ZERO)`: poll once). `poll` is the caller's
    /// poll function over this slot (it registers the waker it is given,
    /// through [`with`](Self::with)); the wait spins briefly on
    /// [`is_complete`](Self::is_complete) before parking.
    pub(crate) fn wait_with<R>(
        &self,
        timeout: Option<Duration>,
        mut poll: impl FnMut(&mut Context<'_>) -> Poll<R>,
    ) -> Option<R> {
        let deadline = deadline_after(timeout);
        let waker = park_waker();
        let mut cx = Context::from_waker(&waker);
        if let Poll::Ready(r) = poll(&mut cx) {
            return Some(r);
        }
        if timeout == Some(Duration::ZERO) {
            return None;
        }
        // The outcome is often microseconds away: spin briefly before parking.
        crate::sync::backoff::spin_until(|| self.is_complete());
        park_until(deadline, &mut cx, poll)
    }
}
