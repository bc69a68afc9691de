//! `BackgroundTask`: a task made again and again from a factory, running in
//! the background until cancelled — the `BackgroundTask` of the Python
//! library asyncio-concurrent-tasks (a heartbeat, a listener, a watcher).
//!
//! Each `start` calls the factory and spawns the future it returns as a
//! fresh *attempt*, cancelling the running one first. The value keeps the
//! attempt's handle: `cancel`, `join`, and dropping the value (which cancels
//! silently) act on it. Every method takes `&self` (S5), so another thread
//! can stop or join a heartbeat without a lock of its own.

mod attempt;
mod methods;
#[cfg(test)]
mod tests;

pub(crate) use attempt::Attempt;
pub(crate) use methods::attempt_methods;
#[cfg(feature = "std")]
pub(crate) use methods::outside_executor;

use crate::sync::Mutex;
use alloc::boxed::Box;
use core::fmt;
use core::future::Future;
use core::pin::Pin;

/// The factory of a [`BackgroundTask`] made with
/// [`BackgroundTask::boxed`]: a nameable type, for struct fields.
pub type BoxFactory<T> = Box<dyn FnMut() -> Pin<Box<dyn Future<Output = T>>>>;

/// A task that runs in the background until cancelled, restarted from its
/// factory by each [`start`](Self::start).
///
/// - **Start it** inside an executor ([`start`](Self::start): inside
///   [`block_on`](crate::block_on) or a pool task), on a given executor
///   ([`start_in`](Self::start_in), also without `std`), or on a pool from
///   any thread ([`start_on`](Self::start_on)). Starting again cancels the
///   running attempt first, then starts a fresh one from the factory.
/// - **Stop it** with [`cancel`](Self::cancel), or by dropping the value:
///   that cancels the attempt silently (no error is reported anywhere).
/// - **Await its output** with [`join`](Self::join), or through the handle
///   `start` returned; the output is taken once, by whichever asks first.
///
/// The heartbeat of the Python library asyncio-concurrent-tasks' docs:
///
/// ```
/// use concurrent_tasks::{block_on, sleep, BackgroundTask};
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// async fn beat(every: Duration, beats: Arc<AtomicUsize>) {
///     loop {
///         beats.fetch_add(1, Ordering::Relaxed); // send a heartbeat
///         sleep(every).await;
///     }
/// }
///
/// let beats = Arc::new(AtomicUsize::new(0));
/// block_on(async {
///     let counter = beats.clone();
///     let heartbeat =
///         BackgroundTask::new(move || beat(Duration::from_millis(5), counter.clone()));
///     let _attempt = heartbeat.start();
///     sleep(Duration::from_millis(30)).await; // do the real work meanwhile
///     heartbeat.cancel();
///     assert!(heartbeat.join().await.unwrap().is_err(), "cancelled");
/// });
/// assert!(beats.load(Ordering::Relaxed) >= 2);
/// ```
///
/// `BackgroundTask<T, F>` is generic over its factory `F`; to name the type
/// (a struct field), make it with [`boxed`](Self::boxed): it is then a
/// `BackgroundTask<T>`.
///
/// Every method takes `&self`, and the type is `Send + Sync` when its
/// factory and output are `Send`: share it (`Arc`) and stop or join it from
/// any thread.
///
/// ```
/// use concurrent_tasks::{BackgroundTask, BlockingThreadedTaskPool, TaskError};
/// use std::sync::Arc;
///
/// let pool = BlockingThreadedTaskPool::builder().start()?;
/// let watcher = Arc::new(BackgroundTask::new(|| std::future::pending::<()>()));
/// watcher.start_on(&pool)?.detach();
/// let other = watcher.clone();
/// std::thread::spawn(move || other.cancel()).join().unwrap();
/// # Ok::<(), TaskError>(())
/// ```
pub struct BackgroundTask<T, F = BoxFactory<T>> {
    factory: Mutex<F>,
    /// The thread calling the factory now (a `start` from inside the
    /// factory would wait for itself).
    #[cfg(feature = "std")]
    calling: Mutex<Option<std::thread::ThreadId>>,
    attempt: Attempt<T>,
}

impl<T: 'static> BackgroundTask<T> {
    /// A background task whose factory is boxed, so its type can be named:
    /// `BackgroundTask<T>`.
    ///
    /// ```
    /// use concurrent_tasks::{block_on, BackgroundTask};
    ///
    /// struct Service {
    ///     watcher: BackgroundTask<u32>,
    /// }
    /// let service = Service { watcher: BackgroundTask::boxed(|| async { 7 }) };
    /// block_on(async {
    ///     service.watcher.start().detach();
    ///     assert_eq!(service.watcher.join().await, Some(Ok(7)));
    /// });
    /// ```
    pub fn boxed<F, Fut>(mut factory: F) -> Self
    where
        F: FnMut() -> Fut + 'static,
        Fut: Future<Output = T> + 'static,
    {
        BackgroundTask::new(Box::new(move || {
            Box::pin(factory()) as Pin<Box<dyn Future<Output = T>>>
        }) as BoxFactory<T>)
    }
}

impl<T, F> BackgroundTask<T, F> {
    /// A background task that makes each attempt with `factory`. Nothing runs
    /// until [`start`](Self::start).
    ///
    /// ```
    /// use concurrent_tasks::BackgroundTask;
    /// let task = BackgroundTask::new(|| async { "made on start" });
    /// assert!(!task.is_running());
    /// ```
    pub fn new<Fut>(factory: F) -> Self
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = T>,
    {
        BackgroundTask {
            factory: Mutex::new(factory),
            #[cfg(feature = "std")]
            calling: Mutex::new(None),
            attempt: Attempt::new(),
        }
    }

    /// Calls the factory (on this thread, under its own lock: two threads
    /// starting at once take turns).
    ///
    /// # Panics
    /// When called from inside the factory itself (it would wait for
    /// itself), and when the factory panics (its panic goes on to the
    /// caller; the task is left as it was).
    #[track_caller]
    fn make<Fut>(&self) -> Fut
    where
        F: FnMut() -> Fut,
    {
        #[cfg(feature = "std")]
        if *self.calling.lock() == Some(std::thread::current().id()) {
            panic!("BackgroundTask::start called from inside its own factory: it would wait for itself");
        }
        let mut factory = self.factory.lock();
        #[cfg(feature = "std")]
        let _calling = {
            *self.calling.lock() = Some(std::thread::current().id());
            Calling(&self.calling)
        };
        (factory)()
    }

    attempt_methods! {
        "BackgroundTask" -> T,
        where [F: FnMut() -> Fut, Fut: Future<Output = T> + 'static, T: 'static],
        send [F: FnMut() -> Fut, Fut: Future<Output = T> + Send + 'static, T: Send + 'static];
        // start
        /// Starts an attempt on the executor running on this thread (inside
        /// [`block_on`](crate::block_on) or a pool task) and returns its handle.
        /// A running attempt is cancelled first.
        ///
        /// The returned handle and [`join`](Self::join) share the attempt's
        /// output: whichever asks first takes it. Dropping the handle detaches
        /// it; the task keeps its own.
        ///
        /// ```
        /// use concurrent_tasks::{block_on, BackgroundTask, TaskError};
        ///
        /// block_on(async {
        ///     let task = BackgroundTask::new(std::future::pending::<()>);
        ///     let first = task.start();
        ///     let _second = task.start(); // cancels the first attempt
        ///     assert_eq!(first.await, Err(TaskError::Cancelled));
        /// });
        /// ```
        ;
        // try_start
        /// ```
        /// use concurrent_tasks::{BackgroundTask, TaskError};
        /// let task = BackgroundTask::new(|| async {});
        /// assert!(matches!(task.try_start(), Err(TaskError::NoExecutor)));
        /// ```
        ;
        // start_in
        /// Starts an attempt on `executor` (works without `std`, and from
        /// outside the executor). A running attempt is cancelled first.
        ///
        /// ```
        /// use concurrent_tasks::{BackgroundTask, LocalExecutor};
        ///
        /// let ex = LocalExecutor::new();
        /// let task = BackgroundTask::new(|| async { 5 });
        /// let h = task.start_in(&ex);
        /// ex.run_until_stalled();
        /// assert_eq!(h.try_take(), Some(Ok(5)));
        /// ```
        ;
        // start_on
        /// Starts an attempt on a pool (any [`Spawn`](crate::Spawn): a threaded pool,
        /// a [`TaskPool`](crate::TaskPool) or its spawner), from any thread, as a
        /// *service* of the pool: it runs outside the pool's size limit,
        /// per-task timeout and capacity, and the pool's stop cancels it once the
        /// tasks have drained. A running attempt is cancelled first. The factory runs
        /// here; its future must be `Send`.
        ///
        /// Errors are the pool's (`NotRunning`); the running attempt is
        /// cancelled even then.
        ///
        /// ```
        /// use concurrent_tasks::{BackgroundTask, BlockingThreadedTaskPool};
        ///
        /// let pool = BlockingThreadedTaskPool::builder().start()?;
        /// let task = BackgroundTask::new(|| async { std::thread::current().name().map(String::from) });
        /// let h = task.start_on(&pool)?;
        /// assert!(h.wait()?.is_some());
        /// # Ok::<(), concurrent_tasks::TaskError>(())
        /// ```
        ///
        /// A future that cannot leave its thread is refused at compile time:
        ///
        /// ```compile_fail
        /// use concurrent_tasks::{BackgroundTask, BlockingThreadedTaskPool};
        /// use std::rc::Rc;
        ///
        /// let pool = BlockingThreadedTaskPool::new();
        /// let task = BackgroundTask::new(|| {
        ///     let local = Rc::new(1);
        ///     async move { *local }
        /// });
        /// let _ = task.start_on(&pool); // error: `Rc<i32>` cannot be sent between threads
        /// ```
        ;
        // cancel
        /// Cancels the running attempt, from any thread: it is dropped on its
        /// executor's thread at its next await point, and its handle (and
        /// [`join`](Self::join)) yields
        /// [`TaskError::Cancelled`](crate::TaskError::Cancelled). Does nothing when
        /// nothing runs.
        ///
        /// ```
        /// use concurrent_tasks::{block_on, BackgroundTask, TaskError};
        ///
        /// block_on(async {
        ///     let task = BackgroundTask::new(std::future::pending::<()>);
        ///     task.start().detach();
        ///     task.cancel();
        ///     assert_eq!(task.join().await, Some(Err(TaskError::Cancelled)));
        /// });
        /// ```
        ;
        // is_running
        /// `true` while an attempt runs (started, not finished). A cancelled
        /// attempt counts as running until its executor has dropped it.
        ;
        // join
        /// Waits for the current attempt's outcome and takes it: `Some(Ok(output))`,
        /// `Some(Err(Cancelled | Panicked(..)))`, or `None` when never started or
        /// when the outcome was already taken (by `join` or by the handle `start`
        /// returned).
        ///
        /// ```
        /// use concurrent_tasks::{block_on, BackgroundTask};
        ///
        /// block_on(async {
        ///     let task = BackgroundTask::new(|| async { 2 + 2 });
        ///     assert_eq!(task.join().await, None, "never started");
        ///     task.start().detach();
        ///     assert_eq!(task.join().await, Some(Ok(4)));
        ///     assert_eq!(task.join().await, None, "already taken");
        /// });
        /// ```
        ;
    }
}

/// Clears, when dropped (even by the factory's panic), the record of the
/// thread calling a factory.
#[cfg(feature = "std")]
struct Calling<'a>(&'a Mutex<Option<std::thread::ThreadId>>);

#[cfg(feature = "std")]
impl Drop for Calling<'_> {
    fn drop(&mut self) {
        *self.0.lock() = None;
    }
}

impl<T, F> fmt::Debug for BackgroundTask<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.attempt.debug_task(f, "BackgroundTask", &[])
    }
}
