//! `Debouncer`: calls of an async function, collapsed so that `f` runs at
//! most once per window, every caller getting a run's output.

use super::run::Join;
use super::shared::{box_fn, Core};
use super::state::Mode;
use crate::error::TaskError;
use alloc::sync::Arc;
use core::fmt;
use core::future::Future;
use core::time::Duration;

/// Debounces an async function `f: Fn(A) -> Fut`: the calls made within a
/// window of `duration` share one run of `f`, and every caller gets a clone of
/// that run's output.
///
/// - [`eager`](Self::eager): a call outside any window runs `f` at
///   once and opens a window; calls within it return the output of that run
///   (waiting for it if it is still going) without running `f` again.
/// - [`lazy`](Self::lazy): a call opens a window and waits; at its
///   end `f` runs once, with the last call's argument, and every caller of the
///   window gets that output.
/// - [`eager_lazy`](Self::eager_lazy): the first call runs `f` at
///   once and returns its output; later calls within the window wait for one
///   trailing run, at the window's end, with the last argument.
///
/// As in the Python library this follows, a window is fixed: it lasts
/// `duration` from the start of the run that opened it (lazy: from the call
/// that opened it), and calls inside it do not extend it.
/// [`extend_on_call(true)`](Self::extend_on_call) makes each call push the
/// window's end to `duration` after it instead (the classic debounce).
///
/// `f` never runs twice at once: a run that falls due while another is in
/// progress starts when it ends. Runs happen in a task spawned on the
/// executor of the call that needed it, so a caller that drops its `call`
/// future loses nothing: the run happens, and the other callers get it.
///
/// `call` needs an executor of this crate on the thread (inside
/// [`block_on`](crate::block_on), a pool task, or a [`LocalExecutor`]'s
/// tasks); time is that executor's, so on a
/// [`ManualClock`](crate::time::ManualClock) windows follow the test's clock.
/// With `Duration::ZERO` nothing is debounced except calls made at the same
/// instant; `Duration::MAX` never closes a window (eager: every later call
/// gets the first output; lazy: the run never comes) and sets no timer.
///
/// `Debouncer<A, T>` is `Send + Sync` when `A` and `T` are `Send` (`f` must be
/// `Send + Sync`; its future need not be `Send`), so it can be shared through
/// an `Arc` across pool threads.
///
/// ```
/// use concurrent_tasks::{spawn, Debouncer, LocalExecutor};
/// use std::{rc::Rc, time::Duration};
///
/// let ex = LocalExecutor::new_manual(); // a test clock: windows pass in no time
/// ex.block_on(async {
///     let search = Rc::new(Debouncer::eager_lazy(Duration::from_millis(300), |q: String| async move {
///         format!("results for {q}")
///     }));
///     let first = search.call("r".into()).await; // runs at once
///     assert_eq!(first, "results for r");
///     let typing: Vec<_> = ["ru", "rus", "rust"]
///         .into_iter()
///         .map(|q| { let s = search.clone(); spawn(async move { s.call(q.into()).await }) })
///         .collect();
///     for h in typing { // one trailing run, with the last argument, for all of them
///         assert_eq!(h.await.unwrap(), "results for rust");
///     }
/// });
/// assert_eq!(ex.now(), Duration::from_millis(300));
/// ```
///
/// It is not `Send` for an argument that is not:
///
/// ```compile_fail
/// use concurrent_tasks::Debouncer;
/// fn send<T: Send>(_: &T) {}
/// let d = Debouncer::eager(std::time::Duration::ZERO, |n: std::rc::Rc<u8>| async move { *n });
/// send(&d);
/// ```
///
/// [`LocalExecutor`]: crate::LocalExecutor
#[must_use = "a debouncer does nothing until called"]
pub struct Debouncer<A, T> {
    core: Arc<Core<A, T>>,
}

impl<A: 'static, T: Clone + 'static> Debouncer<A, T> {
    fn new<F, Fut>(duration: Duration, mode: Mode, f: F) -> Self
    where
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = T> + 'static,
    {
        Debouncer {
            core: Core::new(mode, duration, box_fn(f)),
        }
    }

    /// A debouncer that runs `f` at once for a call outside any window and
    /// gives calls within the window the output of that run.
    ///
    /// ```
    /// use concurrent_tasks::{block_on, Debouncer};
    /// use std::{sync::atomic::{AtomicU32, Ordering}, sync::Arc, time::Duration};
    ///
    /// let runs = Arc::new(AtomicU32::new(0));
    /// let counted = runs.clone();
    /// let load = Debouncer::eager(Duration::from_secs(60), move |n: u32| {
    ///     counted.fetch_add(1, Ordering::Relaxed);
    ///     async move { n * 10 }
    /// });
    /// block_on(async {
    ///     assert_eq!(load.call(1).await, 10);
    ///     assert_eq!(load.call(2).await, 10); // within the minute: the last output
    /// });
    /// assert_eq!(runs.load(Ordering::Relaxed), 1);
    /// ```
    pub fn eager<F, Fut>(duration: Duration, f: F) -> Self
    where
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = T> + 'static,
    {
        Self::new(duration, Mode::Eager, f)
    }

    /// A debouncer that runs `f` once at the end of each window, with the
    /// last call's argument; every caller of the window gets its output.
    ///
    /// ```
    /// use concurrent_tasks::{spawn, time::ManualClock, Debouncer, LocalExecutor};
    /// use std::{rc::Rc, time::Duration};
    ///
    /// let ex = LocalExecutor::with_clock(ManualClock::new());
    /// let save = Rc::new(Debouncer::lazy(Duration::from_secs(1), |text: &'static str| async move {
    ///     text.len()
    /// }));
    /// let (a, b) = (save.clone(), save.clone());
    /// let total = ex.block_on(async move {
    ///     let first = spawn(async move { a.call("draft").await });
    ///     let last = spawn(async move { b.call("final draft").await });
    ///     first.await.unwrap() + last.await.unwrap()
    /// });
    /// assert_eq!(total, 2 * "final draft".len());
    /// assert_eq!(ex.now(), Duration::from_secs(1)); // at the end of the window
    /// ```
    pub fn lazy<F, Fut>(duration: Duration, f: F) -> Self
    where
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = T> + 'static,
    {
        Self::new(duration, Mode::Lazy, f)
    }

    /// A debouncer whose first call runs `f` at once and returns, while later
    /// calls within the window wait for one trailing run with the last
    /// argument.
    ///
    /// ```
    /// use concurrent_tasks::{time::ManualClock, Debouncer, LocalExecutor};
    /// use std::time::Duration;
    ///
    /// let ex = LocalExecutor::with_clock(ManualClock::new());
    /// let d = Debouncer::eager_lazy(Duration::from_secs(1), |n: u32| async move { n });
    /// ex.block_on(async {
    ///     assert_eq!(d.call(1).await, 1); // at once
    ///     assert_eq!(d.call(2).await, 2); // trailing run, at the end of the window
    /// });
    /// assert_eq!(ex.now(), Duration::from_secs(1));
    /// ```
    pub fn eager_lazy<F, Fut>(duration: Duration, f: F) -> Self
    where
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = T> + 'static,
    {
        Self::new(duration, Mode::EagerLazy, f)
    }

    /// With `true`, each call within a window pushes its end to `duration`
    /// after the call (the classic debounce) instead of leaving it where the
    /// window's first run or call put it. Pushing costs no timer operation:
    /// the worker's one timer fires at the old end, sees the new one, and is
    /// filed once more.
    ///
    /// ```
    /// use concurrent_tasks::{time::ManualClock, Debouncer, LocalExecutor};
    /// use std::{rc::Rc, time::Duration};
    ///
    /// let ex = LocalExecutor::with_clock(ManualClock::new());
    /// let d = Rc::new(Debouncer::lazy(Duration::from_secs(1), |n: u32| async move { n })
    ///     .extend_on_call(true));
    /// let early = { let d = d.clone(); ex.spawn(async move { d.call(1).await }) };
    /// ex.run_until_stalled();
    /// ex.advance_time(Duration::from_millis(900));
    /// let late = { let d = d.clone(); ex.spawn(async move { d.call(2).await }) };
    /// ex.run_until_stalled();
    /// ex.advance_time(Duration::from_millis(100)); // the first window's end: pushed
    /// ex.run_until_stalled();
    /// assert!(!early.is_finished());
    /// assert_eq!(ex.block_on(late), Ok(2));
    /// assert_eq!(ex.now(), Duration::from_millis(1900));
    /// # drop(early);
    /// ```
    pub fn extend_on_call(self, extend: bool) -> Self {
        self.core.set_extend(extend);
        self
    }

    /// The window's length.
    ///
    /// ```
    /// use concurrent_tasks::Debouncer;
    /// use std::time::Duration;
    /// let d = Debouncer::eager(Duration::from_millis(300), |n: u8| async move { n });
    /// assert_eq!(d.duration(), Duration::from_millis(300));
    /// ```
    pub fn duration(&self) -> Duration {
        self.core.duration()
    }

    /// Calls the debounced function (or joins a run of it, see the type's
    /// docs) and returns that run's output.
    ///
    /// ```
    /// use concurrent_tasks::{block_on, Debouncer};
    /// use std::time::Duration;
    ///
    /// let d = Debouncer::lazy(Duration::from_millis(5), |n: u64| async move { n + 1 });
    /// assert_eq!(block_on(d.call(41)), 42);
    /// ```
    ///
    /// # Panics
    /// When `f` panicked in the run this call joined (every caller of that
    /// run panics with its message), outside an executor, or when the
    /// executor running the run was dropped first. [`try_call`](Self::try_call)
    /// returns these as errors instead.
    pub async fn call(&self, arg: A) -> T {
        match self.try_call(arg).await {
            Ok(output) => output,
            // The same panic, already reported by the panic hook where it
            // happened: carry its message on without a second report.
            Err(TaskError::Panicked(message)) => std::panic::resume_unwind(Box::new(message)),
            Err(error) => panic!("concurrent_tasks::Debouncer::call: {error}"),
        }
    }

    /// Like [`call`](Self::call), with failures as errors:
    /// [`TaskError::Panicked`] (the run's `f` panicked), [`TaskError::NoExecutor`]
    /// (called outside an executor), [`TaskError::Cancelled`] (the executor
    /// running the run was dropped first).
    ///
    /// ```
    /// use concurrent_tasks::{block_on, Debouncer, TaskError};
    /// use std::future::Future;
    /// use std::task::{Context, Poll, Waker};
    /// use std::time::Duration;
    ///
    /// let d = Debouncer::eager(Duration::from_millis(5), |n: u8| async move {
    ///     if n == 0 { panic!("zero") }
    ///     n
    /// });
    /// block_on(async {
    ///     assert_eq!(d.try_call(0).await, Err(TaskError::Panicked("zero".into())));
    ///     concurrent_tasks::sleep(Duration::from_millis(5)).await;
    ///     assert_eq!(d.try_call(7).await, Ok(7)); // it keeps working
    /// });
    /// // Outside every executor: an error at the first poll, not a panic.
    /// let mut outside = std::pin::pin!(d.try_call(1));
    /// let poll = outside.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    /// assert_eq!(poll, Poll::Ready(Err(TaskError::NoExecutor)));
    /// ```
    pub async fn try_call(&self, arg: A) -> Result<T, TaskError> {
        let run = self.core.call(arg)?.run;
        Join {
            core: self.core.clone(),
            run,
        }
        .await
    }
}

impl<A, T> fmt::Debug for Debouncer<A, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Debouncer").field(&self.core).finish()
    }
}
