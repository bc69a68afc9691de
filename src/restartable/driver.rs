//! The driver: one long-lived task on an executor that runs a restartable
//! task's attempts.
//!
//! `start` (from any thread) only changes the shared state and hands the
//! attempt's future over; the driver polls that future together with the
//! attempt's deadline (a [`Sleep`] on its executor's clock), drops it on
//! cancel (on the driver's thread), idles while cancelled, and ends when the
//! task completes. Dropped with its executor, it tells the shared state,
//! which counts the running attempt as cancelled; the next `start` spawns a
//! new driver.

use super::shared::{AttemptFuture, Shared};
use super::state::DriverAction;
use crate::guard::poll_user;
use crate::time::driver::TimerDriver;
use crate::time::Sleep;
use alloc::sync::Arc;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

/// The driver task's future. `Send` (so it can go to a pool) and `Unpin`.
pub(crate) struct Driver<T> {
    shared: Arc<Shared<T>>,
    id: u64,
    polled: bool,
    /// The attempt whose future and timer are held below.
    epoch: u64,
    /// The attempt's future until it completes (its output is dropped).
    attempt: Option<AttemptFuture>,
    /// The timer for the attempt's deadline.
    timer: Option<AttemptTimer>,
}

/// A timer for an attempt's deadline, on the driver's executor.
struct AttemptTimer {
    deadline: u64,
    sleep: Sleep,
}

impl<T> Driver<T> {
    pub(super) fn new(shared: Arc<Shared<T>>, id: u64) -> Self {
        Driver {
            shared,
            id,
            polled: false,
            epoch: 0,
            attempt: None,
            timer: None,
        }
    }

    /// Polls the attempt, and drops it once it completed or panicked (with
    /// `std`: the panic hook printed it, and the attempt still waits for a
    /// result until its deadline).
    fn poll_attempt(&mut self, cx: &mut Context<'_>) {
        let Some(attempt) = self.attempt.as_mut() else {
            return;
        };
        if poll_user(attempt.as_mut(), cx).is_ready() {
            self.attempt = None;
        }
    }

    /// Polls the timer for `deadline` (making it if needed): `true` when it
    /// fired.
    fn poll_timer(
        &mut self,
        deadline: u64,
        clock: Option<Arc<TimerDriver>>,
        cx: &mut Context<'_>,
    ) -> bool {
        let timer = match &mut self.timer {
            Some(timer) if timer.deadline == deadline => timer,
            _ => {
                let Some(clock) = clock else {
                    unreachable!("a deadline is set only where the clock is known")
                };
                let sleep = Sleep::at(clock, Some(deadline));
                self.timer.insert(AttemptTimer { deadline, sleep })
            }
        };
        Pin::new(&mut timer.sleep).poll(cx).is_ready()
    }
}

impl<T> Future for Driver<T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        loop {
            let first = !core::mem::replace(&mut this.polled, true);
            let drive = this.shared.drive(this.id, cx.waker(), first);
            match drive.action {
                DriverAction::Exit => return Poll::Ready(()),
                DriverAction::Idle => {
                    // Cancelled: end the attempt here, on the driver's thread.
                    this.attempt = None;
                    this.timer = None;
                    return Poll::Pending;
                }
                DriverAction::Run { epoch, deadline } => {
                    if epoch != this.epoch {
                        this.attempt = None;
                        this.timer = None;
                        this.epoch = epoch;
                    }
                    if let Some(handoff) = drive.handoff.filter(|h| h.epoch == epoch) {
                        this.attempt = Some(handoff.future);
                    }
                    this.poll_attempt(cx);
                    let Some(deadline) = deadline else {
                        this.timer = None;
                        return Poll::Pending;
                    };
                    if !this.poll_timer(deadline, drive.clock, cx) {
                        return Poll::Pending;
                    }
                    if this.shared.timer_fired(epoch) {
                        return Poll::Ready(());
                    }
                    // The attempt changed meanwhile: look again.
                    this.timer = None;
                }
            }
        }
    }
}

impl<T> Drop for Driver<T> {
    fn drop(&mut self) {
        self.shared.driver_dropped(self.id);
        // `attempt` and `timer` drop after this, with no lock held.
    }
}

impl<T> fmt::Debug for Driver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("id", &self.id)
            .field("epoch", &self.epoch)
            .field("attempt", &self.attempt.is_some())
            .finish()
    }
}
