//! The attempt a background or periodic task is running: the handle it keeps
//! on the task it last spawned, to cancel it, replace it and join it.
//!
//! # Ground rules
//! - One attempt at a time: starting a new one cancels the old one first.
//! - The output is taken once, by `join` or by the handle `start` gave away,
//!   whichever gets there first; the other then sees nothing (`None`).
//! - Dropping the attempt cancels it. A cancellation is never reported.

use crate::error::TaskError;
use crate::executor::{JoinHandle, LocalExecutor};
#[cfg(feature = "std")]
use crate::pool::{Spawn, TaskHandle};
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

    async fn take(&mut self) -> Result<T, TaskError> {
        match self {
            Handle::Local(h) => h.await,
            #[cfg(feature = "std")]
            Handle::Pool(h) => h.await,
        }
    }
}

/// The current attempt of a restartable-by-`start` task, if any.
pub(crate) struct Attempt<T> {
    current: Option<Handle<T>>,
}

impl<T> Attempt<T> {
    pub(crate) const fn new() -> Self {
        Attempt { current: None }
    }

    /// Starts `make()` as the new attempt on the executor running on this
    /// thread, cancelling the previous one. Without an executor: `NoExecutor`,
    /// and `make` is not called.
    #[cfg(feature = "std")]
    pub(crate) fn start_here<Fut>(
        &mut self,
        make: impl FnOnce() -> Fut,
    ) -> Result<JoinHandle<T>, TaskError>
    where
        Fut: Future<Output = T> + 'static,
        T: 'static,
    {
        if !crate::executor::current::is_inside() {
            return Err(TaskError::NoExecutor);
        }
        let handle = crate::executor::current::try_spawn(make())?;
        self.replace(Handle::Local(handle.share()));
        Ok(handle)
    }

    /// Starts `make()` as the new attempt on `executor`.
    pub(crate) fn start_in<Fut>(
        &mut self,
        executor: &LocalExecutor,
        make: impl FnOnce() -> Fut,
    ) -> JoinHandle<T>
    where
        Fut: Future<Output = T> + 'static,
        T: 'static,
    {
        let handle = executor.spawn(make());
        self.replace(Handle::Local(handle.share()));
        handle
    }

    /// Starts `make()` as the new attempt on `pool`. The previous attempt is
    /// cancelled even when the pool refuses the new one. The caller gets a
    /// share of the kept handle; whichever of the two is dropped last
    /// detaches the task (and reports an unread failure).
    #[cfg(feature = "std")]
    pub(crate) fn start_on<S, Fut>(
        &mut self,
        pool: &S,
        make: impl FnOnce() -> Fut,
    ) -> Result<TaskHandle<T>, TaskError>
    where
        S: Spawn + ?Sized,
        Fut: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.cancel();
        let handle = pool.spawn_task(make())?;
        let shared = handle.share();
        self.replace(Handle::Pool(handle));
        Ok(shared)
    }

    fn replace(&mut self, next: Handle<T>) {
        if let Some(previous) = self.current.replace(next) {
            previous.cancel();
        }
    }

    /// Cancels the current attempt (its handles then yield `Cancelled`).
    pub(crate) fn cancel(&self) {
        if let Some(handle) = &self.current {
            handle.cancel();
        }
    }

    /// `true` while an attempt was started and has not finished.
    pub(crate) fn is_running(&self) -> bool {
        self.current.as_ref().is_some_and(|h| !h.is_finished())
    }

    /// Waits for the current attempt's outcome and takes it: `None` when
    /// there is no attempt or its outcome was already taken.
    pub(crate) async fn join(&mut self) -> Option<Result<T, TaskError>> {
        match self.current.as_mut()?.take().await {
            Err(TaskError::AlreadyTaken) => None,
            outcome => Some(outcome),
        }
    }
}

impl<T> Drop for Attempt<T> {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl<T> fmt::Debug for Attempt<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.current {
            None => "never started",
            Some(h) if h.is_finished() => "finished",
            Some(_) => "running",
        };
        f.write_str(state)
    }
}

/// The panic of a `start` called outside an executor, naming the way out.
#[cfg(feature = "std")]
#[track_caller]
pub(crate) fn outside_executor(what: &str) -> ! {
    panic!(
        "{what}::start called outside an executor: call it inside block_on(..) or a \
         pool task, use start_in(&executor) or start_on(&pool), or use try_start to get \
         an error instead"
    )
}
