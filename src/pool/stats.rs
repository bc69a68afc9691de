//! Counters of a pool, readable from any thread.

use crate::slot::Waiters;
use crate::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::sync::Mutex;
use std::task::{Context, Poll};

/// A snapshot of a pool's task counts, from `stats()`.
///
/// ```
/// use concurrent_tasks::{block_on, TaskPool};
/// block_on(async {
///     let pool = TaskPool::builder().size(1).build();
///     let a = pool.create_task(async { 1 });
///     let b = pool.create_task(async { 2 });
///     let s = pool.stats();
///     assert_eq!((s.queued, s.running, s.completed), (2, 0, 0));
///     assert_eq!((a.await, b.await), (Ok(1), Ok(2)));
///     assert_eq!(pool.stats().completed, 2);
/// });
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PoolStats {
    /// Tasks accepted and not started yet (in the inbox or the buffer).
    pub queued: usize,
    /// Tasks started and not finished.
    pub running: usize,
    /// Tasks finished (with any outcome), since the pool was built.
    pub completed: usize,
    /// Services running now (started with `start_on` or `spawn_service`:
    /// outside the size limit, the timeout and the capacity).
    pub services: usize,
}

/// The live counters, and the bound on queued tasks (`capacity`).
///
/// `queued` changes on any thread (submissions); `running` and `completed`
/// only on the pool's thread, so they are bumped with a plain load and
/// store (no locked instruction), and read from anywhere.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    queued: AtomicUsize,
    running: AtomicUsize,
    completed: AtomicUsize,
    services: AtomicUsize,
    /// Most tasks queued at once; `0`: no bound.
    capacity: usize,
    /// Callers waiting for room under the bound.
    room: Mutex<Waiters>,
    room_wanted: AtomicBool,
}

impl Stats {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Stats {
            capacity,
            ..Stats::default()
        }
    }

    pub(crate) fn queued(&self) {
        self.queued.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one more queued task if the bound allows.
    pub(crate) fn try_queue(&self) -> bool {
        if self.capacity == 0 {
            self.queued();
            return true;
        }
        let mut queued = self.queued.load(Ordering::Acquire);
        while queued < self.capacity {
            match self.queued.compare_exchange_weak(
                queued,
                queued + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(now) => queued = now,
            }
        }
        false
    }

    /// Like [`try_queue`](Self::try_queue), registering `cx` to be woken
    /// when room may have appeared.
    pub(crate) fn poll_queue(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.try_queue() {
            return Poll::Ready(());
        }
        self.room.lock().register(cx.waker());
        // A swap, not a store: read-modify-writes of `room_wanted` are
        // totally ordered, so either the freer's swap reads our `true` (and
        // wakes us), or ours reads its `false` and synchronises with it, and
        // the retry below sees the place it freed (no lost wake; loom model
        // below).
        let _ = self.room_wanted.swap(true, Ordering::SeqCst);
        if self.try_queue() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// A queued task left the queue, on the pool's thread: started
    /// (`true`) or cancelled.
    pub(crate) fn dequeued(&self, started: bool) {
        if started {
            bump(&self.running, 1);
        } else {
            bump(&self.completed, 1);
        }
        self.unqueued();
    }

    /// A task counted as queued was refused before it reached the pool
    /// (any thread).
    pub(crate) fn unqueued(&self) {
        self.queued.fetch_sub(1, Ordering::AcqRel);
        // Without a bound nobody ever waits for room.
        if self.capacity != 0 && self.room_wanted.swap(false, Ordering::SeqCst) {
            let waiters = core::mem::take(&mut *self.room.lock());
            waiters.wake_all();
        }
    }

    /// A running task finished, on the pool's thread.
    pub(crate) fn finished(&self) {
        bump(&self.running, usize::MAX); // wrapping: minus one
        bump(&self.completed, 1);
    }

    /// A service started, on the pool's thread.
    pub(crate) fn service_started(&self) {
        bump(&self.services, 1);
    }

    /// A service ended, on the pool's thread.
    pub(crate) fn service_ended(&self) {
        bump(&self.services, usize::MAX); // wrapping: minus one
    }

    /// Services running now.
    pub(crate) fn services(&self) -> usize {
        self.services.load(Ordering::Relaxed)
    }

    pub(crate) fn snapshot(&self) -> PoolStats {
        PoolStats {
            queued: self.queued.load(Ordering::Relaxed),
            running: self.running.load(Ordering::Relaxed),
            completed: self.completed.load(Ordering::Relaxed),
            services: self.services.load(Ordering::Relaxed),
        }
    }
}

/// Adds `delta` (wrapping) to a counter that only one thread writes.
fn bump(counter: &AtomicUsize, delta: usize) {
    let now = counter.load(Ordering::Relaxed);
    counter.store(now.wrapping_add(delta), Ordering::Relaxed);
}

#[cfg(test)]
mod loom_tests;
