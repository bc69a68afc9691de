//! The executor running on this thread, and the free functions that use it:
//! [`block_on`], [`spawn`], [`try_spawn`].
//!
//! A thread runs at most one executor at a time. While it does, wakes of that
//! executor's tasks made on this thread go straight to its local run queue
//! (no lock, no channel); `spawn`, `sleep` and friends find it here.

use super::{Inner, JoinHandle, LocalExecutor};
use crate::error::TaskError;
use crate::slab::Key;
use alloc::rc::Rc;
use alloc::sync::Arc;
use core::cell::RefCell;
use core::future::Future;

use super::task::Shared;

std::thread_local! {
    static CURRENT: RefCell<Option<Rc<Inner>>> = const { RefCell::new(None) };
}

/// Proof that this thread is running `inner`; leaving restores "no executor"
/// (and no current timer driver).
pub(crate) struct EnterGuard(#[allow(dead_code)] crate::time::current::DriverGuard);

/// Makes `inner` this thread's current executor.
///
/// # Panics
/// When this thread is already running an executor: blocking inside it would
/// stall every task of the outer one, and waiting there for one of them would
/// deadlock.
#[track_caller]
pub(crate) fn enter(inner: &Rc<Inner>) -> EnterGuard {
    CURRENT.with(|current| {
        let mut current = current.borrow_mut();
        if current.is_some() {
            panic!(
                "concurrent_tasks: cannot block inside an executor (block_on or \
                 run_until_stalled called from a task or from inside block_on): \
                 this would stall the running executor and can deadlock; .await the \
                 future, or spawn it, instead"
            );
        }
        *current = Some(inner.clone());
    });
    EnterGuard(crate::time::current::enter(inner.driver.clone()))
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        // Take the executor out first and drop it after the borrow ends: its
        // drop can run task destructors that wake other tasks.
        let previous = CURRENT.with(|current| current.borrow_mut().take());
        drop(previous);
    }
}

/// Runs `f` with this thread's executor, if there is one.
pub(crate) fn with_current<R>(f: impl FnOnce(&Rc<Inner>) -> R) -> Option<R> {
    let inner = CURRENT
        .try_with(|current| current.try_borrow().ok().and_then(|c| c.clone()))
        .ok()
        .flatten()?;
    Some(f(&inner))
}

/// `true` when an executor runs on this thread (`spawn` would succeed).
pub(crate) fn is_inside() -> bool {
    with_current(|_| ()).is_some()
}

/// Queues `key` on this thread's run queue if this thread is running the
/// executor that `shared` belongs to. `false`: wake it remotely instead.
pub(crate) fn push_local(shared: &Arc<Shared>, key: Key) -> bool {
    CURRENT
        .try_with(|current| match current.try_borrow() {
            Ok(current) => match current.as_ref() {
                Some(inner) if Arc::ptr_eq(&inner.shared, shared) => inner.push_ready(key),
                _ => false,
            },
            Err(_) => false,
        })
        .unwrap_or(false)
}

/// Runs `future` to completion on a new [`LocalExecutor`] on this thread,
/// with its timers and every task it spawns.
///
/// The thread parks while there is nothing to do: until a wake or the next
/// timer deadline. Tasks still running when `future` completes are dropped
/// (cancelled) with the executor.
///
/// ```
/// use concurrent_tasks::{block_on, sleep, spawn};
/// use std::time::Duration;
///
/// let seven = block_on(async {
///     let h = spawn(async { sleep(Duration::from_millis(10)).await; 7 });
///     h.await.unwrap()
/// });
/// assert_eq!(seven, 7);
/// ```
///
/// # Panics
/// When called from inside a running executor (a task, or another
/// `block_on`): that would stall it and can deadlock. `.await` instead.
#[track_caller]
pub fn block_on<F: Future>(future: F) -> F::Output {
    LocalExecutor::new().block_on(future)
}

/// Spawns `future` on the executor running on this thread (`!Send` futures
/// are fine) and returns its [`JoinHandle`].
///
/// ```
/// use concurrent_tasks::{block_on, spawn};
/// use std::rc::Rc;
///
/// block_on(async {
///     let local = Rc::new(5); // not Send: fine on our executor
///     let h = spawn(async move { *local + 1 });
///     assert_eq!(h.await, Ok(6));
/// });
/// ```
///
/// # Panics
/// Outside an executor (not inside [`block_on`] or a pool task). Use
/// [`try_spawn`] to get [`TaskError::NoExecutor`] instead, or
/// [`LocalExecutor::spawn`].
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    match try_spawn(future) {
        Ok(handle) => handle,
        Err(_) => panic!(
            "concurrent_tasks::spawn called outside an executor: call it inside \
             block_on(..) or a pool task, use LocalExecutor::spawn, or use try_spawn \
             to get an error instead"
        ),
    }
}

/// Like [`spawn`], but returns [`TaskError::NoExecutor`] instead of panicking
/// when no executor runs on this thread.
///
/// ```
/// use concurrent_tasks::{try_spawn, TaskError};
/// assert!(matches!(try_spawn(async {}), Err(TaskError::NoExecutor)));
/// ```
pub fn try_spawn<F>(future: F) -> Result<JoinHandle<F::Output>, TaskError>
where
    F: Future + 'static,
{
    // In an `Option` the closure moves it out of; without an executor the
    // closure never runs, and the future is dropped here, never polled.
    let mut future = Some(future);
    with_current(|inner| inner.spawn(future.take().expect("spawned once")))
        .ok_or(TaskError::NoExecutor)
}

/// Reports a failure nobody will read to the sink of the executor running
/// on this thread, if any (see [`Shared::report`]).
pub(crate) fn report_here(error: TaskError) {
    with_current(|inner| inner.shared.report(error));
}
