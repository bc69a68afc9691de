//! The executor task behind a pool task: wait at the pool's gate for a
//! place, run the user's future under the pool's timeout (counted from the
//! start), deliver the outcome to the handle's slot, give the place back.
//!
//! A task created by a threaded pool's `create_task` is built here on the
//! caller's thread and boxed once: that box travels through the inbox and
//! becomes the executor's task as it is (no second box). Until it reaches
//! the pool's thread it carries only `Send` data; it finds its pool there
//! through [`PoolLink`] — a thread-local for a threaded pool's thread, an
//! `Rc` for tasks made on the pool's own thread.
//!
//! # Ground rules
//! - Everything here that touches the pool runs on the pool's thread, and
//!   wakes the gate's wakers after its `RefCell` borrow ended.
//! - A task counts in the pool's `live` (and `tasks`) from
//!   [`PoolInner::spawn_task`] until it finished (its future dropped) or is
//!   dropped; as queued until its first granted poll, as running after.

use super::gate::Entry;
use super::local::PoolInner;
use crate::error::TaskError;
use crate::executor::cell::{unread_failure, Delivery, TaskCell, TaskShared};
use crate::executor::task::Delivers;
use crate::guard::{call_user, drop_user, poll_user, Guarded};
use crate::pinned::{PinnedFuture, TaskRest};
use crate::slab::Key;
use crate::time::Sleep;
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// How a pool task reaches its pool, on the pool's thread.
pub(crate) trait PoolLink {
    /// Runs `f` with the pool, if it is still there.
    fn with<R>(&self, f: impl FnOnce(&Rc<PoolInner>) -> R) -> Option<R>;

    /// What [`polling_task_of`] compares: the pool's address, or
    /// [`THREAD_MARK`] for "this thread's threaded pool".
    fn mark(&self) -> usize;
}

impl PoolLink for Rc<PoolInner> {
    fn with<R>(&self, f: impl FnOnce(&Rc<PoolInner>) -> R) -> Option<R> {
        Some(f(self))
    }

    fn mark(&self) -> usize {
        Rc::as_ptr(self) as usize
    }
}

/// The mark of the tasks of this thread's threaded pool (never the address
/// of a `PoolInner`, which is aligned).
const THREAD_MARK: usize = 1;

std::thread_local! {
    /// The pool of the threaded pool whose thread this is.
    static THREAD_POOL: RefCell<Option<Rc<PoolInner>>> = const { RefCell::new(None) };
    /// The mark of the pool whose task is being polled on this thread (0:
    /// none), so a pool can tell that it is waited on by one of its own
    /// tasks (K5).
    static POLLING: Cell<usize> = const { Cell::new(0) };
}

/// `true` while a task of `pool` holding a place (not a service) is polled
/// on this thread.
pub(crate) fn polling_task_of(pool: &Rc<PoolInner>) -> bool {
    match POLLING.try_with(Cell::get).unwrap_or(0) {
        0 => false,
        THREAD_MARK => ThreadLink.with(|p| Rc::ptr_eq(p, pool)).unwrap_or(false),
        mark => mark == Rc::as_ptr(pool) as usize,
    }
}

/// `true` while a task (not a service) of this thread's threaded pool is
/// polled on this thread.
pub(crate) fn polling_thread_task() -> bool {
    POLLING.try_with(Cell::get).unwrap_or(0) == THREAD_MARK
}

/// Marks the task of the pool with `mark` as being polled, until dropped.
struct Polling(usize);

impl Polling {
    fn enter(mark: usize) -> Self {
        Polling(POLLING.try_with(|p| p.replace(mark)).unwrap_or(0))
    }
}

impl Drop for Polling {
    fn drop(&mut self) {
        let _ = POLLING.try_with(|p| p.set(self.0));
    }
}

/// The link of a task built on another thread for a threaded pool: the
/// pool of the thread it runs on. `Send`, and no bigger than nothing.
#[derive(Debug)]
pub(crate) struct ThreadLink;

impl PoolLink for ThreadLink {
    fn with<R>(&self, f: impl FnOnce(&Rc<PoolInner>) -> R) -> Option<R> {
        // A shared borrow: `f` may wake and re-enter `with` (borrows nest);
        // only the pool thread's bind and unbind borrow mutably, around
        // every task of the pool.
        THREAD_POOL
            .try_with(|p| p.try_borrow().ok()?.as_ref().map(f))
            .ok()
            .flatten()
    }

    fn mark(&self) -> usize {
        THREAD_MARK
    }
}

/// Makes `pool` the one [`ThreadLink`] tasks of this thread find, until the
/// guard is dropped.
pub(crate) fn bind_thread_pool(pool: &Rc<PoolInner>) -> ThreadPoolGuard {
    THREAD_POOL.with(|p| *p.borrow_mut() = Some(pool.clone()));
    ThreadPoolGuard(())
}

/// See [`bind_thread_pool`].
pub(crate) struct ThreadPoolGuard(());

impl Drop for ThreadPoolGuard {
    fn drop(&mut self) {
        let pool = THREAD_POOL
            .try_with(|p| p.borrow_mut().take())
            .ok()
            .flatten();
        drop(pool); // after the borrow ended
    }
}

/// A job for a threaded pool's thread: given the pool's context (erased:
/// only [`MakeJob`] reads it, so the dispatch machinery is not generic over
/// its type) and pool.
pub(crate) trait ThreadJob: Send {
    fn run(self: Box<Self>, ctx: &dyn Any, pool: &Rc<PoolInner>);
}

/// The handle side of a job whose task is not made yet: completes the
/// handle with `Cancelled` if the job is dropped unrun (the pool thread is
/// gone), so no accepted task is lost.
pub(crate) struct Unsent<T>(Option<Arc<TaskCell<T>>>);

impl<T> Unsent<T> {
    pub(crate) fn new(cell: Arc<TaskCell<T>>) -> Self {
        Unsent(Some(cell))
    }

    /// The cell, for the job that runs now.
    fn take(&mut self) -> Arc<TaskCell<T>> {
        self.0.take().expect("a job runs once")
    }
}

impl<T> Drop for Unsent<T> {
    fn drop(&mut self) {
        if let Some(cell) = self.0.take() {
            let _ = cell.slot.complete(Err(TaskError::Cancelled));
        }
    }
}

/// A job that builds its task on the pool's thread (`create_task_with`,
/// `run_with`): the user's builder runs there, behind the guard; a panic in
/// it is the task's outcome (`Panicked`). `C` is the context type `make`
/// takes, which it finds by downcasting the pool's context.
pub(crate) struct MakeJob<C, M, T> {
    make: Guarded<M>,
    unsent: Unsent<T>,
    /// Counted as queued at submission already (threaded fronts).
    queued: bool,
    context: PhantomData<fn(&C)>,
}

impl<C, M, T> MakeJob<C, M, T> {
    pub(crate) fn new(make: M, unsent: Unsent<T>, queued: bool) -> Self {
        MakeJob {
            make: Guarded::new(make),
            unsent,
            queued,
            context: PhantomData,
        }
    }
}

impl<C, M, Fut, T> ThreadJob for MakeJob<C, M, T>
where
    C: 'static,
    M: FnOnce(&C) -> Fut + Send,
    Fut: Future<Output = T> + 'static,
    T: Send + 'static,
{
    fn run(mut self: Box<Self>, ctx: &dyn Any, pool: &Rc<PoolInner>) {
        let make = self.make.take();
        let cell = self.unsent.take();
        if !self.queued {
            pool.stats.queued();
        }
        // The typed front fixes `C` to the type its builder's `init` makes,
        // so this finds it; were it ever not so, the task is refused (its
        // builder dropped here, behind the guard), not the thread panicked.
        let made = match ctx.downcast_ref::<C>() {
            Some(ctx) => call_user(|| make(ctx)),
            None => Err(mismatched_context(drop_user(make).err())),
        };
        match made {
            Ok(future) => pool.spawn_future(cell, future, true),
            Err(message) => pool.refuse_made(&cell, TaskError::Panicked(message)),
        }
    }
}

/// Why a [`MakeJob`] given a context of another type was refused (cold, not
/// generic: built once).
#[cold]
#[inline(never)]
fn mismatched_context(drop_panic: Option<String>) -> String {
    let message = String::from("the pool's context is not of the type the task takes");
    match drop_panic {
        None => message,
        Some(panic) => format!("{message} (and dropping its builder panicked: {panic})"),
    }
}

/// A job that starts a service on the pool's thread (S1).
pub(crate) struct ServiceJob<F: Future> {
    pub(crate) future: Guarded<F>,
    pub(crate) unsent: Unsent<F::Output>,
}

impl<F> ThreadJob for ServiceJob<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn run(mut self: Box<Self>, _ctx: &dyn Any, pool: &Rc<PoolInner>) {
        let future = self.future.take();
        let cell = self.unsent.take();
        pool.spawn_service(cell, future);
    }
}

/// Where a pool task is in its life. Plain data (no drop glue): the stage
/// changes several times per task, on the hot path.
#[derive(Clone, Copy)]
enum Stage {
    /// Built on another thread, not yet counted by the pool.
    Sent,
    /// Counted by the pool (live, queued); not polled yet.
    Adopted,
    /// In line at the gate.
    Waiting(Key),
    /// Holding a place, under the tracker's `deadline` if the pool has a
    /// timeout.
    Running,
    /// Its outcome delivered (or being dropped): counted out of the pool.
    Finished,
}

/// The pool's bookkeeping of one task and the delivery of its outcome. Its
/// `Drop` counts the task out of the pool, then (the `delivery` field)
/// completes the slot with `Cancelled` if nothing was delivered.
pub(crate) struct Tracker<L: PoolLink, S: TaskShared> {
    stage: Stage,
    /// The running task's deadline, if its pool has a timeout (boxed: most
    /// pools have none, and a pending task stays small).
    deadline: Option<Box<Sleep>>,
    link: L,
    delivery: Delivery<S>,
}

impl<L: PoolLink, S: TaskShared> Tracker<L, S> {
    /// Waits for a place; once there, starts the deadline. One trip to the
    /// pool per poll.
    fn poll_start(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let ticket = match self.stage {
            Stage::Running => return Poll::Ready(()),
            Stage::Adopted => None,
            Stage::Waiting(key) => Some(key),
            Stage::Sent => unreachable!("a pool task is adopted before it is spawned"),
            Stage::Finished => unreachable!("a finished pool task is not polled again"),
        };
        let started = self.link.with(|p| {
            let entry = {
                let mut gate = p.gate.borrow_mut();
                match ticket {
                    None => gate.enter(cx.waker()),
                    Some(key) => gate.poll_ticket(key, cx.waker()),
                }
            };
            match entry {
                Entry::Granted => {
                    p.stats.dequeued(true);
                    Ok(p.timeout
                        .map(|t| Box::new(Sleep::after(p.driver.clone(), t))))
                }
                Entry::Wait(key) => Err(key),
            }
        });
        match started {
            Some(Ok(deadline)) => {
                self.stage = Stage::Running;
                self.deadline = deadline;
                Poll::Ready(())
            }
            Some(Err(key)) => {
                self.stage = Stage::Waiting(key);
                Poll::Pending
            }
            None => Poll::Pending, // the pool is gone: the executor drops us
        }
    }

    /// `true` once the running task's deadline passed.
    fn timed_out(&mut self, cx: &mut Context<'_>) -> bool {
        match &mut self.deadline {
            Some(deadline) => Pin::new(&mut **deadline).poll(cx).is_ready(),
            None => false,
        }
    }

    /// The task ended with `outcome` (its future is gone): it gives its
    /// place back and counts out of the pool, and the outcome goes to the
    /// handle — a failure nobody will read to the pool's `on_unhandled`.
    fn finish(&mut self, outcome: Result<S::Output, TaskError>) {
        let stage = std::mem::replace(&mut self.stage, Stage::Finished);
        self.count_out(stage);
        if let Some(error) = self.delivery.deliver(outcome).and_then(unread_failure) {
            self.report(error);
        }
    }

    /// Hands a failure nobody will read to the pool's `on_unhandled` (or,
    /// with the pool gone, to its executor's sink).
    fn report(&self, error: TaskError) {
        let header = self.delivery.shared.header();
        let mut error = Some(error);
        self.link.with(|p| {
            if let Some(error) = error.take() {
                p.owner.report.report(error);
            }
        });
        if let Some(error) = error {
            header.shared.report(error);
        }
    }

    /// Leaves the gate (the place or the line) and the pool's counts, as a
    /// task that was in `stage`.
    fn count_out(&mut self, stage: Stage) {
        if self.deadline.is_some() {
            self.deadline = None; // its timer goes now
        }
        let (started, ticket) = match stage {
            Stage::Sent | Stage::Finished => return, // not counted (now)
            Stage::Adopted => (false, None),
            Stage::Waiting(key) => (false, Some(key)),
            Stage::Running => (true, None),
        };
        let wake = self.link.with(|p| {
            let wake = {
                let mut gate = p.gate.borrow_mut();
                match ticket {
                    _ if started => gate.release(),
                    Some(ticket) => gate.leave(ticket),
                    None => Vec::new(),
                }
            };
            p.count_out(started);
            wake
        });
        if let Some(wake) = wake.filter(|wake| !wake.is_empty()) {
            wake.into_iter().for_each(Waker::wake);
        }
    }
}

impl<L: PoolLink, S: TaskShared> Drop for Tracker<L, S> {
    fn drop(&mut self) {
        let stage = std::mem::replace(&mut self.stage, Stage::Finished);
        self.count_out(stage);
    }
}

impl<L: PoolLink, S: TaskShared> TaskRest for Tracker<L, S> {
    /// Dropped before it delivered (cancelled, timed out of the buffer, its
    /// pool gone): the panic of the future's drop is reported; the tracker
    /// then counts the task out and completes the handle with `Cancelled`.
    fn future_drop_panicked(&mut self, message: String) {
        self.report(TaskError::Panicked(message));
    }
}

/// See the module docs. A named future, not an `async` block, so the user's
/// future is stored once; the future is pinned inside, next to the pool's
/// bookkeeping (dropped after it: the pool's counts, then the delivery that
/// completes the slot).
pub(crate) type PoolTask<F, L, S> = PinnedFuture<F, Tracker<L, S>>;

impl<F, L, S> PoolTask<F, L, S>
where
    F: Future,
    L: PoolLink,
    S: TaskShared<Output = F::Output>,
{
    /// A task not yet counted by its pool (see [`PoolInner::spawn_task`]).
    pub(crate) fn sent(future: F, shared: S, link: L) -> Self {
        PinnedFuture::new(
            future,
            Tracker {
                stage: Stage::Sent,
                deadline: None,
                link,
                delivery: Delivery::new(shared),
            },
        )
    }

    /// The pool counted the task in.
    pub(crate) fn adopted(&mut self) {
        self.rest_mut().stage = Stage::Adopted;
    }

    /// The pool refused the task (its executor is gone).
    pub(crate) fn refuse(mut self, error: TaskError) {
        let _ = self.rest_mut().delivery.deliver(Err(error));
    }
}

impl<F, L, S> Future for PoolTask<F, L, S>
where
    F: Future,
    L: PoolLink,
    S: TaskShared<Output = F::Output>,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        if this.future.is_none() {
            return Poll::Ready(()); // already delivered
        }
        if this.rest.poll_start(cx).is_pending() {
            return Poll::Pending;
        }
        let Some(inner) = this.future.as_mut().as_pin_mut() else {
            unreachable!("checked above: the future is there");
        };
        let polled = {
            let _polling = Polling::enter(this.rest.link.mark());
            poll_user(inner, cx)
        };
        let outcome = match polled {
            Poll::Ready(outcome) => outcome,
            Poll::Pending if this.rest.timed_out(cx) => Err(TaskError::TimedOut),
            Poll::Pending => return Poll::Pending,
        };
        // End the user's future here, on the pool's thread, before its
        // handle can see the outcome. A panic in its drop is reported; the
        // outcome is kept.
        if let Err(message) = this.end_future() {
            this.rest.report(TaskError::Panicked(message));
        }
        this.rest.finish(outcome);
        Poll::Ready(())
    }
}

impl<L: PoolLink, S: TaskShared> Delivers for Tracker<L, S> {
    type Shared = S;

    fn delivery(&self) -> &Delivery<S> {
        &self.delivery
    }
}

impl<F> ThreadJob for PoolTask<F, ThreadLink, Arc<TaskCell<F::Output>>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn run(self: Box<Self>, _ctx: &dyn Any, pool: &Rc<PoolInner>) {
        pool.spawn_task(self);
    }
}

impl<F, L, S> fmt::Debug for PoolTask<F, L, S>
where
    F: Future,
    L: PoolLink,
    S: TaskShared<Output = F::Output>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = match self.rest().stage {
            Stage::Sent => "sent",
            Stage::Adopted => "adopted",
            Stage::Waiting(_) => "waiting",
            Stage::Running => "running",
            Stage::Finished => "finished",
        };
        f.debug_struct("PoolTask").field("stage", &stage).finish()
    }
}

#[cfg(test)]
mod tests;
