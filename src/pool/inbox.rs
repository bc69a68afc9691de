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
//! - The protocol asks nothing of the channel but that a job pushed before
//!   the sender's fence is seen by a look after the receiver's fence; the
//!   loom build checks it with a stand-in channel that promises no more
//!   (see `chan`).

use self::chan::{Receiver, Sender, TryRecvError};
use crate::sync::atomic::{fence, AtomicBool, Ordering};
use crate::sync::Mutex;
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
    let (tx, rx) = chan::unbounded();
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

/// The channel under the inbox: crossbeam's, or in the loom build (loom
/// does not see crossbeam's atomics) a stand-in with the same small API.
#[cfg(not(all(test, concurrent_tasks_loom)))]
mod chan {
    pub(super) use crossbeam_channel::{unbounded, Receiver, Sender, TryRecvError};
}

/// A loom stand-in for crossbeam's unbounded channel: `send`, `try_recv`,
/// `len`, disconnection when every sender (or the receiver) is gone.
///
/// It is deliberately no stronger than the inbox protocol may assume: a
/// job is published by a Release increment of `len`, and a receiver that
/// finds the channel empty reads `len` alone (an Acquire load, no lock),
/// so only the `Notify` fences make a receiver that looks again after
/// arming see a job pushed before the sender's wake. (Looking under the
/// lock would order the two sides by the lock itself and hide a missing
/// fence.)
#[cfg(all(test, concurrent_tasks_loom))]
mod chan {
    use crate::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use crate::sync::Mutex;
    use std::collections::VecDeque;
    use std::sync::Arc;

    struct Chan<J> {
        queue: Mutex<VecDeque<J>>,
        /// Jobs in `queue`; bumped (Release) after the push.
        len: AtomicUsize,
        senders: AtomicUsize,
        receiver_gone: AtomicBool,
    }

    pub(crate) struct Sender<J>(Arc<Chan<J>>);
    pub(crate) struct Receiver<J>(Arc<Chan<J>>);

    pub(crate) struct SendError<J>(pub(crate) J);

    #[derive(Debug, PartialEq, Eq)]
    pub(crate) enum TryRecvError {
        Empty,
        Disconnected,
    }

    pub(crate) fn unbounded<J>() -> (Sender<J>, Receiver<J>) {
        let chan = Arc::new(Chan {
            queue: Mutex::new(VecDeque::new()),
            len: AtomicUsize::new(0),
            senders: AtomicUsize::new(1),
            receiver_gone: AtomicBool::new(false),
        });
        (Sender(chan.clone()), Receiver(chan))
    }

    impl<J> Sender<J> {
        pub(crate) fn send(&self, job: J) -> Result<(), SendError<J>> {
            if self.0.receiver_gone.load(Ordering::Acquire) {
                return Err(SendError(job));
            }
            self.0.queue.lock().push_back(job);
            self.0.len.fetch_add(1, Ordering::Release);
            Ok(())
        }

        pub(crate) fn len(&self) -> usize {
            self.0.len.load(Ordering::Relaxed)
        }
    }

    impl<J> Clone for Sender<J> {
        fn clone(&self) -> Self {
            self.0.senders.fetch_add(1, Ordering::Relaxed);
            Sender(self.0.clone())
        }
    }

    impl<J> Drop for Sender<J> {
        fn drop(&mut self) {
            self.0.senders.fetch_sub(1, Ordering::Release);
        }
    }

    impl<J> Receiver<J> {
        pub(crate) fn try_recv(&self) -> Result<J, TryRecvError> {
            if self.0.len.load(Ordering::Acquire) == 0 {
                // Every sender gone, and nothing they pushed before: closed.
                if self.0.senders.load(Ordering::Acquire) == 0
                    && self.0.len.load(Ordering::Acquire) == 0
                {
                    return Err(TryRecvError::Disconnected);
                }
                return Err(TryRecvError::Empty);
            }
            let job = self.0.queue.lock().pop_front();
            let job = job.expect("`len` counts pushed jobs");
            self.0.len.fetch_sub(1, Ordering::Relaxed);
            Ok(job)
        }
    }

    impl<J> Drop for Receiver<J> {
        fn drop(&mut self) {
            self.0.receiver_gone.store(true, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod loom_tests;
