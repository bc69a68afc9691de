//! The inbox of a pool: jobs sent from any thread, received by a task on the
//! pool's executor without blocking it.
//!
//! A crossbeam channel carries the jobs; [`Notify`] wakes the receiving task
//! when it sleeps on an empty inbox.
//!
//! # Ground rules
//! - Sender: push the job, then `wake`. Receiver: find the inbox empty,
//!   register its waker, arm, then look again before sleeping. The SeqCst
//!   fences between "push / look" and "arm / disarm" make sure one side sees
//!   the other: no job is left unseen while the receiver sleeps.

use crate::sync::atomic::{fence, AtomicBool, Ordering};
use crate::sync::Mutex;
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// Wakes the receiver of an inbox.
#[derive(Default)]
pub(crate) struct Notify {
    waker: Mutex<Option<Waker>>,
    /// The receiver sleeps and wants a wake.
    armed: AtomicBool,
}

impl Notify {
    pub(crate) fn wake(&self) {
        fence(Ordering::SeqCst);
        // Look before the locked swap: the receiver is seldom asleep in a
        // stream of jobs.
        if self.armed.load(Ordering::Relaxed) && self.armed.swap(false, Ordering::AcqRel) {
            let waker = self.waker.lock().clone();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }

    fn arm(&self, waker: &Waker) {
        {
            let mut slot = self.waker.lock();
            if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
                *slot = Some(waker.clone());
            }
        }
        self.armed.store(true, Ordering::Release);
        fence(Ordering::SeqCst);
    }
}

/// Sending end; cloned freely.
pub(crate) struct InboxSender<J> {
    tx: Sender<J>,
    notify: Arc<Notify>,
}

impl<J> Clone for InboxSender<J> {
    fn clone(&self) -> Self {
        InboxSender {
            tx: self.tx.clone(),
            notify: self.notify.clone(),
        }
    }
}

impl<J> InboxSender<J> {
    /// Sends `job`; gives it back if the receiver is gone.
    pub(crate) fn send(&self, job: J) -> Result<(), J> {
        self.tx.send(job).map_err(|e| e.0)?;
        self.notify.wake();
        Ok(())
    }

    /// Jobs sent and not yet received.
    pub(crate) fn len(&self) -> usize {
        self.tx.len()
    }

    /// Wakes the receiver without a job (it re-checks its stop condition).
    pub(crate) fn nudge(&self) {
        self.notify.wake();
    }

    /// Drops this sender and wakes the receiver, which sees the inbox
    /// disconnected once every sender is gone.
    pub(crate) fn close(self) {
        let notify = self.notify.clone();
        drop(self);
        notify.wake();
    }
}

/// Receiving end, polled by one task.
pub(crate) struct Inbox<J> {
    rx: Receiver<J>,
    notify: Arc<Notify>,
}

pub(crate) fn inbox<J>() -> (InboxSender<J>, Inbox<J>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let notify = Arc::new(Notify::default());
    (
        InboxSender {
            tx,
            notify: notify.clone(),
        },
        Inbox { rx, notify },
    )
}

impl<J> Inbox<J> {
    /// The next job; `Ready(None)` once every sender is gone, `Pending` (with
    /// a wake on the next send or nudge) when the inbox is empty.
    pub(crate) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<J>> {
        match self.rx.try_recv() {
            Ok(job) => return Poll::Ready(Some(job)),
            Err(TryRecvError::Disconnected) => return Poll::Ready(None),
            Err(TryRecvError::Empty) => {}
        }
        self.notify.arm(cx.waker());
        match self.rx.try_recv() {
            Ok(job) => Poll::Ready(Some(job)),
            Err(TryRecvError::Disconnected) => Poll::Ready(None),
            Err(TryRecvError::Empty) => Poll::Pending,
        }
    }
}
