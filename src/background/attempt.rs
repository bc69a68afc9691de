//! The attempt a background or periodic task is running: the handle it keeps
//! on the task it last spawned, to cancel it, replace it and join it — from
//! any thread, through `&self`.
//!
//! # Ground rules
//! - One attempt at a time: starting a new one cancels the old one first.
//! - The output is taken once, by `join` or by the handle `start` gave away,
//!   whichever gets there first; the other then sees nothing (`None`).
//! - Dropping the attempt cancels it. A cancellation is never reported.
//! - `current` is locked for a few instructions only: no user code runs
//!   under it (a replaced handle, whose drop may report to a pool's
//!   `on_unhandled` hook, is dropped after the lock is released).

use crate::error::TaskError;
use crate::executor::{JoinHandle, LocalExecutor};
#[cfg(feature = "std")]
use crate::pool::{Spawn, TaskHandle};
use crate::sync::Mutex;
use core::fmt;
use core::future::Future;

/// The handle kept on an attempt: from the current executor, or from a pool
/// (whose last handle, when dropped, hands an unread failure to the pool's
/// `on_unhandled` hook).
enum Handle<T> {
    Local(JoinHandle<T>),
    #[cfg(feature = "std")]
    Pool(TaskHandle<T>),
}

impl<T> Handle<T> {
    fn cancel(&self) {
        match self {
            Handle::Local(h) => h.cancel(),
            #[cfg(feature = "std")]
            Handle::Pool(h) => h.cancel(),
        }
    }

    fn is_finished(&self) -> bool {
        match self {
            Handle::Local(h) => h.is_finished(),
            #[cfg(feature = "std")]
            Handle::Pool(h) => h.is_finished(),
        }
    }

    /// Another handle on the same attempt (the output is still taken once).
    fn share(&self) -> Self {
        match self {
            Handle::Local(h) => Handle::Local(h.share()),
            #[cfg(feature = "std")]
            Handle::Pool(h) => Handle::Pool(h.share()),
        }
    }

    async fn take(self) -> Result<T, TaskError> {
        match self {
            Handle::Local(h) => h.await,
            #[cfg(feature = "std")]
            Handle::Pool(h) => h.await,
        }
    }
}

/// The current attempt of a restartable-by-`start` task, if any.
pub(crate) struct Attempt<T> {
    current: Mutex<Option<Handle<T>>>,
}

impl<T> Attempt<T> {
    pub(crate) fn new() -> Self {
        Attempt {
            current: Mutex::new(None),
        }
    }

    /// Starts `make()` as the new attempt on the executor running on this
    /// thread, cancelling the previous one first. Without an executor:
    /// `NoExecutor`, and `make` is not called.
    #[cfg(feature = "std")]
    pub(crate) fn start_here<Fut>(
        &self,
        make: impl FnOnce() -> Fut,
    ) -> Result<JoinHandle<T>, TaskError>
    where
        Fut: Future<Output = T> + 'static,
        T: 'static,
    {
        if !crate::executor::current::is_inside() {
            return Err(TaskError::NoExecutor);
        }
        self.cancel();
        let handle = crate::executor::current::try_spawn(make())?;
        self.install(Handle::Local(handle.share()));
        Ok(handle)
    }

    /// Starts `make()` as the new attempt on `executor`.
    pub(crate) fn start_in<Fut>(
        &self,
        executor: &LocalExecutor,
        make: impl FnOnce() -> Fut,
    ) -> JoinHandle<T>
    where
        Fut: Future<Output = T> + 'static,
        T: 'static,
    {
        self.cancel();
        let handle = executor.spawn(make());
        self.install(Handle::Local(handle.share()));
        handle
    }

    /// Starts `make()` as the new attempt on `pool`, as a service (S1):
    /// outside the pool's size limit, timeout and capacity, cancelled by
    /// its stop once the tasks have drained. The previous attempt is
    /// cancelled even when the pool refuses the new one. The caller gets a
    /// share of the kept handle; whichever of the two is dropped last
    /// detaches the task (and reports an unread failure).
    #[cfg(feature = "std")]
    pub(crate) fn start_on<S, Fut>(
        &self,
        pool: &S,
        make: impl FnOnce() -> Fut,
    ) -> Result<TaskHandle<T>, TaskError>
    where
        S: Spawn + ?Sized,
        Fut: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.cancel();
        let handle = pool.spawn_service(make())?;
        let shared = handle.share();
        self.install(Handle::Pool(handle));
        Ok(shared)
    }

    /// Makes `next` the current attempt; the one it replaces (started by a
    /// racing `start`) is cancelled, and dropped after the lock.
    fn install(&self, next: Handle<T>) {
        let previous = self.current.lock().replace(next);
        if let Some(previous) = previous {
            previous.cancel();
        }
    }

    /// Cancels the current attempt (its handles then yield `Cancelled`).
    pub(crate) fn cancel(&self) {
        if let Some(handle) = &*self.current.lock() {
            handle.cancel();
        }
    }

    /// `true` while an attempt was started and has not finished.
    pub(crate) fn is_running(&self) -> bool {
        self.current
            .lock()
            .as_ref()
            .is_some_and(|h| !h.is_finished())
    }

    /// Waits for the current attempt's outcome and takes it: `None` when
    /// there is no attempt or its outcome was already taken.
    pub(crate) fn join(&self) -> impl Future<Output = Option<Result<T, TaskError>>> {
        let handle = self.current.lock().as_ref().map(Handle::share);
        async move {
            match handle?.take().await {
                Err(TaskError::AlreadyTaken) => None,
                outcome => Some(outcome),
            }
        }
    }

    /// The `Debug` of the task keeping this attempt: its name, its own
    /// `fields`, then the attempt's state.
    pub(crate) fn debug_task(
        &self,
        f: &mut fmt::Formatter<'_>,
        task: &str,
        fields: &[(&str, &dyn fmt::Debug)],
    ) -> fmt::Result {
        let mut d = f.debug_struct(task);
        for (name, value) in fields {
            d.field(name, value);
        }
        d.field("attempt", self).finish_non_exhaustive()
    }
}

impl<T> Drop for Attempt<T> {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl<T> fmt::Debug for Attempt<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.current.try_lock().as_deref() {
            None => "<locked>",
            Some(None) => "never started",
            Some(Some(h)) if h.is_finished() => "finished",
            Some(Some(_)) => "running",
        };
        f.write_str(state)
    }
}
