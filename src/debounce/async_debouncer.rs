//! `AsyncDebouncer`: fire-and-forget debounced calls; `call` only says
//! whether the call was debounced.

use super::shared::{box_fn, Core};
use super::state::{Mode, State};
use crate::error::TaskError;
use alloc::sync::Arc;
use core::fmt;
use core::future::Future;
use core::time::Duration;

/// Debounces an async function whose output does not matter
/// (`f: Fn(A) -> Fut`, `Fut: Future<Output = ()>`).
///
/// - A call in a quiet moment — no run of `f` in progress or due, and the
///   last run ended at least `duration` ago — starts a run of `f` with its
///   argument at once and returns `false` (not debounced).
/// - Any other call is debounced and returns `true`: its argument waits
///   for a run `duration` after the first debounced call (or after the run in
///   progress ends, if later); a later debounced call replaces the waiting
///   argument, so that run gets the last one.
/// - [`flush`](Self::flush) runs the waiting argument at once and waits until
///   every call made so far has been handled.
///
/// `call` returns at once in both cases: the runs happen in a task spawned on
/// the caller's executor. **Nothing is lost silently**: a caller dropping its
/// future after `call` returned changes nothing, and dropping the debouncer
/// runs a waiting argument at once, in that task (on the executor of the
/// call that made it wait). Only if that executor itself is dropped first is
/// the waiting argument run by the next `call`, `flush` or drop that has an
/// executor.
///
/// A panic in `f` is caught (the panic hook has reported it): the debouncer
/// goes on. `f` never runs twice at once. [`extend_on_call(true)`](Self::extend_on_call)
/// makes each debounced call push the waiting run to `duration` after it.
///
/// `Send + Sync` when `A: Send` (`f` must be `Send + Sync`; its future need
/// not be `Send`).
///
/// ```
/// use concurrent_tasks::{block_on, AsyncDebouncer};
/// use std::{sync::{Arc, Mutex}, time::Duration};
///
/// let saved = Arc::new(Mutex::new(Vec::new()));
/// let store = saved.clone();
/// let save = AsyncDebouncer::new(Duration::from_millis(20), move |doc: &'static str| {
///     store.lock().unwrap().push(doc);
///     async {}
/// });
/// block_on(async {
///     assert!(!save.call("v1").await); // runs at once
///     assert!(save.call("v2").await); // debounced...
///     assert!(save.call("v3").await); // ...and replaced: v3 runs at the window's end
///     save.flush().await; // or now
/// });
/// assert_eq!(*saved.lock().unwrap(), ["v1", "v3"]);
/// ```
#[must_use = "dropping an AsyncDebouncer runs its waiting call at once"]
pub struct AsyncDebouncer<A: 'static> {
    core: Arc<Core<A, ()>>,
}

impl<A: 'static> AsyncDebouncer<A> {
    /// A debouncer of `f` with windows of `duration`.
    ///
    /// ```
    /// use concurrent_tasks::AsyncDebouncer;
    /// use std::time::Duration;
    /// let log = AsyncDebouncer::new(Duration::from_millis(300), |line: String| async move {
    ///     println!("{line}");
    /// });
    /// assert_eq!(log.duration(), Duration::from_millis(300));
    /// ```
    pub fn new<F, Fut>(duration: Duration, f: F) -> Self
    where
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        AsyncDebouncer {
            core: Core::new(Mode::Async, duration, box_fn(f)),
        }
    }

    /// With `true`, each debounced call pushes the waiting run to `duration`
    /// after it (the classic debounce), at no timer cost.
    ///
    /// ```
    /// use concurrent_tasks::{time::ManualClock, AsyncDebouncer, LocalExecutor};
    /// use std::{sync::{Arc, Mutex}, time::Duration};
    ///
    /// let ex = LocalExecutor::with_clock(ManualClock::new());
    /// let ran = Arc::new(Mutex::new(Vec::new()));
    /// let log = ran.clone();
    /// let d = AsyncDebouncer::new(Duration::from_secs(1), move |n: u32| {
    ///     log.lock().unwrap().push(n);
    ///     async {}
    /// })
    /// .extend_on_call(true);
    /// ex.block_on(async {
    ///     assert!(!d.call(1).await);
    ///     assert!(d.call(2).await);
    /// });
    /// ex.advance_time(Duration::from_millis(900));
    /// assert!(ex.block_on(d.call(3))); // pushes the run to 1.9 s
    /// ex.advance_time(Duration::from_millis(100));
    /// ex.run_until_stalled();
    /// assert_eq!(*ran.lock().unwrap(), [1]);
    /// ex.advance_time(Duration::from_millis(900));
    /// ex.run_until_stalled();
    /// assert_eq!(*ran.lock().unwrap(), [1, 3]);
    /// ```
    pub fn extend_on_call(self, extend: bool) -> Self {
        self.core.set_extend(extend);
        self
    }

    /// The window's length.
    ///
    /// ```
    /// use concurrent_tasks::AsyncDebouncer;
    /// use std::time::Duration;
    /// let d = AsyncDebouncer::new(Duration::from_secs(2), |_: ()| async {});
    /// assert_eq!(d.duration(), Duration::from_secs(2));
    /// ```
    pub fn duration(&self) -> Duration {
        self.core.duration()
    }

    /// Arranges for `f(arg)` to run and returns at once whether the call was
    /// debounced (`true`: its argument waits for the end of the window, where
    /// a later call may replace it; `false`: it starts now).
    ///
    /// ```
    /// use concurrent_tasks::{block_on, AsyncDebouncer};
    /// use std::time::Duration;
    ///
    /// let d = AsyncDebouncer::new(Duration::from_millis(10), |_: u8| async {});
    /// block_on(async {
    ///     assert!(!d.call(1).await);
    ///     assert!(d.call(2).await);
    /// });
    /// ```
    ///
    /// # Panics
    /// Outside an executor; [`try_call`](Self::try_call) returns
    /// [`TaskError::NoExecutor`] instead.
    pub async fn call(&self, arg: A) -> bool {
        match self.core.call(arg) {
            Ok(call) => call.debounced,
            Err(error) => panic!("concurrent_tasks::AsyncDebouncer::call: {error}"),
        }
    }

    /// Like [`call`](Self::call), but [`TaskError::NoExecutor`] outside an
    /// executor.
    ///
    /// ```
    /// use concurrent_tasks::{AsyncDebouncer, TaskError};
    /// use std::future::Future;
    /// use std::task::{Context, Poll, Waker};
    /// use std::time::Duration;
    ///
    /// let d = AsyncDebouncer::new(Duration::from_millis(10), |_: u8| async {});
    /// // Outside every executor: an error at the first poll, not a panic.
    /// let mut outside = std::pin::pin!(d.try_call(1));
    /// let poll = outside.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    /// assert_eq!(poll, Poll::Ready(Err(TaskError::NoExecutor)));
    /// ```
    pub async fn try_call(&self, arg: A) -> Result<bool, TaskError> {
        self.core.call(arg).map(|call| call.debounced)
    }

    /// Runs the waiting call (if any) at once, and returns when every call
    /// made before has been handled (run, or replaced by a later argument
    /// that ran).
    ///
    /// ```
    /// use concurrent_tasks::{time::ManualClock, AsyncDebouncer, LocalExecutor};
    /// use std::{sync::{Arc, Mutex}, time::Duration};
    ///
    /// let ex = LocalExecutor::with_clock(ManualClock::new());
    /// let ran = Arc::new(Mutex::new(Vec::new()));
    /// let log = ran.clone();
    /// let d = AsyncDebouncer::new(Duration::from_secs(3600), move |n: u32| {
    ///     log.lock().unwrap().push(n);
    ///     async {}
    /// });
    /// ex.block_on(async {
    ///     d.call(1).await;
    ///     d.call(2).await;
    ///     d.flush().await;
    /// });
    /// assert_eq!(*ran.lock().unwrap(), [1, 2]);
    /// assert_eq!(ex.now(), Duration::ZERO); // no waiting for the hour
    /// ```
    pub async fn flush(&self) {
        self.core.flush().await;
    }
}

impl<A: 'static> Drop for AsyncDebouncer<A> {
    /// Runs a waiting call at once, on the worker's executor (or, if that one
    /// is gone, on the current one).
    fn drop(&mut self) {
        // Best effort: without an executor here there is nowhere to run it
        // (its own executor was dropped before).
        let _ = self.core.decide(State::flush);
    }
}

impl<A: 'static> fmt::Debug for AsyncDebouncer<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AsyncDebouncer").field(&self.core).finish()
    }
}
