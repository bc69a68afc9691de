//! Containment (K1, K3, K5) on the threaded pools: user code that panics in
//! a hook, a destructor, a builder, a context or a teardown never takes a
//! pool down; a closed stderr does not kill the default reporter; a pool's
//! own task waiting on its pool fails instead of hanging; every handle
//! resolves when the pool stops or is dropped.
//!
//! Each case runs on both fronts, through the small [`Front`] / [`Pool`]
//! traits below (the async front is driven with `block_on` from the test
//! thread). The expected panics print their default messages on stderr: no
//! panic hook is installed, so nothing leaks into other tests.

mod common;

use common::{counting, wait, wait_until, within, Gate, Unhandled, LONG};
use concurrent_tasks::front::{Async, Blocking};
use concurrent_tasks::{
    block_on, AsyncThreadedTaskPool, BlockingThreadedTaskPool, PoolStats, TaskError, TaskHandle,
    ThreadedTaskPoolBuilder,
};
use std::future::{pending, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

// === the two fronts, behind one interface ===

/// A front of the threaded pool: how to build and start one.
trait Front: Sized + 'static {
    type Pool<C: 'static>: Pool<C>;

    fn builder() -> ThreadedTaskPoolBuilder<Self>;

    fn start<C: 'static>(
        builder: ThreadedTaskPoolBuilder<Self, C>,
    ) -> Result<Self::Pool<C>, TaskError>;
}

/// A started threaded pool, used from a plain thread (the async front's
/// calls are driven by `block_on` here).
trait Pool<C>: Send + Sync + 'static {
    fn create<F>(&self, future: F) -> Result<TaskHandle<F::Output>, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    fn create_with<M, Fut>(&self, make: M) -> Result<TaskHandle<Fut::Output>, TaskError>
    where
        M: FnOnce(&C) -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static;

    fn run_here<F>(&self, future: F) -> Result<F::Output, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    fn run_with_here<M, Fut>(&self, make: M) -> Result<Fut::Output, TaskError>
    where
        M: FnOnce(&C) -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static;

    fn stop_here(&self) -> Result<(), TaskError>;

    fn stop_timeout_here(&self, timeout: Duration) -> Result<usize, TaskError>;

    fn running(&self) -> bool;

    fn stats_now(&self) -> PoolStats;
}

impl Front for Blocking {
    type Pool<C: 'static> = BlockingThreadedTaskPool<C>;

    fn builder() -> ThreadedTaskPoolBuilder<Self> {
        BlockingThreadedTaskPool::builder()
    }

    fn start<C: 'static>(
        builder: ThreadedTaskPoolBuilder<Self, C>,
    ) -> Result<Self::Pool<C>, TaskError> {
        builder.start()
    }
}

impl Front for Async {
    type Pool<C: 'static> = AsyncThreadedTaskPool<C>;

    fn builder() -> ThreadedTaskPoolBuilder<Self> {
        AsyncThreadedTaskPool::builder()
    }

    fn start<C: 'static>(
        builder: ThreadedTaskPoolBuilder<Self, C>,
    ) -> Result<Self::Pool<C>, TaskError> {
        block_on(builder.start())
    }
}

impl<C: 'static> Pool<C> for BlockingThreadedTaskPool<C> {
    fn create<F>(&self, future: F) -> Result<TaskHandle<F::Output>, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.create_task(future)
    }

    fn create_with<M, Fut>(&self, make: M) -> Result<TaskHandle<Fut::Output>, TaskError>
    where
        M: FnOnce(&C) -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        self.create_task_with(make)
    }

    fn run_here<F>(&self, future: F) -> Result<F::Output, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.run(future)
    }

    fn run_with_here<M, Fut>(&self, make: M) -> Result<Fut::Output, TaskError>
    where
        M: FnOnce(&C) -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        self.run_with(make)
    }

    fn stop_here(&self) -> Result<(), TaskError> {
        self.stop()
    }

    fn stop_timeout_here(&self, timeout: Duration) -> Result<usize, TaskError> {
        self.stop_timeout(timeout)
    }

    fn running(&self) -> bool {
        self.is_running()
    }

    fn stats_now(&self) -> PoolStats {
        self.stats()
    }
}

impl<C: 'static> Pool<C> for AsyncThreadedTaskPool<C> {
    fn create<F>(&self, future: F) -> Result<TaskHandle<F::Output>, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.create_task(future)
    }

    fn create_with<M, Fut>(&self, make: M) -> Result<TaskHandle<Fut::Output>, TaskError>
    where
        M: FnOnce(&C) -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        self.create_task_with(make)
    }

    fn run_here<F>(&self, future: F) -> Result<F::Output, TaskError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        block_on(self.run(future))
    }

    fn run_with_here<M, Fut>(&self, make: M) -> Result<Fut::Output, TaskError>
    where
        M: FnOnce(&C) -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        block_on(self.run_with(make))
    }

    fn stop_here(&self) -> Result<(), TaskError> {
        block_on(self.stop())
    }

    fn stop_timeout_here(&self, timeout: Duration) -> Result<usize, TaskError> {
        block_on(self.stop_timeout(timeout))
    }

    fn running(&self) -> bool {
        self.is_running()
    }

    fn stats_now(&self) -> PoolStats {
        self.stats()
    }
}

/// Runs a test's body on its own thread, failing it instead of hanging if
/// something the finer bounds do not cover (a `stop`, a `run`) never returns.
fn bounded(body: impl FnOnce() + Send + 'static) {
    within(Duration::from_secs(60), body)
}

// === user code that panics ===

/// A value whose destructor panics with its message.
struct PanicsOnDrop(&'static str);

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("{}", self.0);
    }
}

/// `inner`, carrying a [`PanicsOnDrop`]: the future's own `Drop` panics,
/// whether it completed or is cancelled.
struct BombFuture<F> {
    inner: Pin<Box<F>>,
    _bomb: PanicsOnDrop,
}

fn bomb<F: Future>(message: &'static str, inner: F) -> BombFuture<F> {
    BombFuture {
        inner: Box::pin(inner),
        _bomb: PanicsOnDrop(message),
    }
}

impl<F: Future> Future for BombFuture<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.inner.as_mut().poll(cx)
    }
}

/// A hook that records what it receives (in `seen`), then panics.
fn panicking_hook(seen: &Unhandled) -> impl Fn(TaskError) + Send + Sync + 'static {
    let record = seen.hook();
    move |err| {
        record(err);
        panic!("the on_unhandled hook panicked");
    }
}

/// Waits until `seen` holds `n` reports, and takes them.
fn reports(seen: &Unhandled, n: usize) -> Vec<TaskError> {
    let got = std::sync::Mutex::new(Vec::new());
    wait_until(&format!("{n} report(s) to the hook"), || {
        let mut got = got.lock().unwrap();
        got.extend(seen.take());
        got.len() >= n
    });
    got.into_inner().unwrap()
}

/// `true` for a `Panicked` whose message contains `part`.
fn panicked_with(err: &TaskError, part: &str) -> bool {
    matches!(err, TaskError::Panicked(m) if m.contains(part))
}

/// The pool still serves: running, a new task yields its value, a
/// blocking-style run works.
fn assert_goes_on<C, P: Pool<C>>(pool: &P) {
    assert!(pool.running(), "the pool is still running");
    assert_eq!(wait(pool.create(async { 7 }).unwrap()), Ok(7));
    assert_eq!(pool.run_here(async { 8 }), Ok(8));
}

// === K1, case 1 and 2: a panicking hook ===

/// A detached task fails with `failing` (a panic or a timeout); the hook
/// panics on it: the pool goes on, the hook keeps being called, and both
/// `stop` and drop return.
fn hook_panics_on<F: Front, Fut>(
    timeout: Option<Duration>,
    failing: fn() -> Fut,
    expected: fn(&TaskError) -> bool,
) where
    Fut: Future<Output = ()> + Send + 'static,
{
    for stop in [true, false] {
        let seen = Unhandled::default();
        let mut builder = F::builder().on_unhandled(panicking_hook(&seen));
        if let Some(timeout) = timeout {
            builder = builder.timeout(timeout);
        }
        let pool = F::start(builder).unwrap();
        pool.create(failing()).unwrap().detach();
        let first = reports(&seen, 1);
        assert!(expected(&first[0]), "the hook got {first:?}");
        assert_goes_on(&pool);
        // The hook panicked once; it is still called for the next failure.
        pool.create(failing()).unwrap().detach();
        let second = reports(&seen, 1);
        assert!(expected(&second[0]), "the hook got {second:?}");
        assert_goes_on(&pool);
        if stop {
            assert_eq!(pool.stop_here(), Ok(()));
            assert!(!pool.running());
        } else {
            within(LONG, move || drop(pool));
        }
    }
}

async fn task_panics() {
    panic!("task")
}

fn is_task_panic(err: &TaskError) -> bool {
    *err == TaskError::Panicked("task".into())
}

#[test]
fn k1_a_panicking_hook_does_not_take_a_blocking_pool_down_after_a_task_panic() {
    bounded(|| hook_panics_on::<Blocking, _>(None, task_panics, is_task_panic));
}

#[test]
fn k1_a_panicking_hook_does_not_take_an_async_pool_down_after_a_task_panic() {
    bounded(|| hook_panics_on::<Async, _>(None, task_panics, is_task_panic));
}

fn is_timeout(err: &TaskError) -> bool {
    *err == TaskError::TimedOut
}

#[test]
fn k1_a_panicking_hook_does_not_take_a_blocking_pool_down_after_a_timeout() {
    bounded(|| {
        hook_panics_on::<Blocking, _>(Some(Duration::from_millis(20)), pending::<()>, is_timeout)
    });
}

#[test]
fn k1_a_panicking_hook_does_not_take_an_async_pool_down_after_a_timeout() {
    bounded(|| {
        hook_panics_on::<Async, _>(Some(Duration::from_millis(20)), pending::<()>, is_timeout)
    });
}

// === K1, case 3: a future whose drop panics after it completed ===

fn drop_panics_after_completion<F: Front>() {
    let seen = Unhandled::default();
    let pool = F::start(F::builder().on_unhandled(seen.hook())).unwrap();
    let h = pool
        .create(bomb("future dropped after completing", async { 1 }))
        .unwrap();
    assert_eq!(wait(h), Ok(1), "the output is kept, not Cancelled");
    let got = reports(&seen, 1);
    assert!(
        panicked_with(&got[0], "future dropped after completing"),
        "the hook got {got:?}"
    );
    assert_goes_on(&pool);
    assert_eq!(pool.stop_here(), Ok(()));
    assert_eq!(seen.take(), [], "reported once");
}

#[test]
fn k1_a_blocking_pool_task_whose_future_panics_in_drop_after_completing_keeps_its_output() {
    bounded(drop_panics_after_completion::<Blocking>);
}

#[test]
fn k1_an_async_pool_task_whose_future_panics_in_drop_after_completing_keeps_its_output() {
    bounded(drop_panics_after_completion::<Async>);
}

// === K1, case 4: a future whose drop panics when it is cancelled ===

/// Starts a pending task whose drop panics; returns its handle once it has
/// been polled (it runs).
fn running_bomb<C, P: Pool<C>>(pool: &P, message: &'static str) -> TaskHandle<()> {
    let polls = Arc::new(AtomicUsize::new(0));
    let h = pool
        .create(bomb(message, counting(&polls, pending::<()>())))
        .unwrap();
    wait_until("the task to run", || polls.load(Ordering::SeqCst) >= 1);
    h
}

fn drop_panics_on_cancel<F: Front>() {
    let seen = Unhandled::default();
    let pool = F::start(F::builder().on_unhandled(seen.hook())).unwrap();
    let h = running_bomb(&pool, "future dropped when cancelled");
    h.cancel();
    assert_eq!(wait(h), Err(TaskError::Cancelled));
    let got = reports(&seen, 1);
    assert!(
        panicked_with(&got[0], "future dropped when cancelled"),
        "the hook got {got:?}"
    );
    assert_goes_on(&pool);
    assert_eq!(pool.stop_here(), Ok(()));
    assert_eq!(seen.take(), [], "reported once");
}

#[test]
fn k1_a_blocking_pool_task_whose_future_panics_in_drop_on_cancel_gives_cancelled() {
    bounded(drop_panics_on_cancel::<Blocking>);
}

#[test]
fn k1_an_async_pool_task_whose_future_panics_in_drop_on_cancel_gives_cancelled() {
    bounded(drop_panics_on_cancel::<Async>);
}

fn drop_panics_on_daemon_stop<F: Front>() {
    let seen = Unhandled::default();
    let pool = F::start(F::builder().daemon(true).on_unhandled(seen.hook())).unwrap();
    let h = running_bomb(&pool, "future dropped by the daemon stop");
    assert_eq!(within(LONG, move || pool.stop_here()), Ok(()));
    assert_eq!(wait(h), Err(TaskError::Cancelled));
    let got = reports(&seen, 1);
    assert!(
        panicked_with(&got[0], "future dropped by the daemon stop"),
        "the hook got {got:?}"
    );
    assert_eq!(seen.take(), [], "reported once");
}

#[test]
fn k1_a_daemon_blocking_pool_stop_survives_a_future_that_panics_in_drop() {
    bounded(drop_panics_on_daemon_stop::<Blocking>);
}

#[test]
fn k1_a_daemon_async_pool_stop_survives_a_future_that_panics_in_drop() {
    bounded(drop_panics_on_daemon_stop::<Async>);
}

// === K1, case 5: a detached task's output whose drop panics ===

fn detached_output_panics_in_drop<F: Front>() {
    let seen = Unhandled::default();
    let pool = F::start(F::builder().on_unhandled(seen.hook())).unwrap();
    let gate = Gate::default();
    let wait_gate = gate.wait();
    let h = pool
        .create(async move {
            wait_gate.await;
            PanicsOnDrop("output dropped unread")
        })
        .unwrap();
    drop(h); // detached before it finishes
    gate.open();
    let got = reports(&seen, 1);
    assert!(
        panicked_with(&got[0], "output dropped unread"),
        "the hook got {got:?}"
    );
    assert_goes_on(&pool);
    assert_eq!(pool.stop_here(), Ok(()));
    assert_eq!(seen.take(), [], "reported once");
}

#[test]
fn k1_a_blocking_pool_reports_a_detached_output_that_panics_in_drop() {
    bounded(detached_output_panics_in_drop::<Blocking>);
}

#[test]
fn k1_an_async_pool_reports_a_detached_output_that_panics_in_drop() {
    bounded(detached_output_panics_in_drop::<Async>);
}

// === K1, case 6: builders that panic ===

fn builder_panics<F: Front>() {
    let seen = Unhandled::default();
    let pool = F::start(F::builder().on_unhandled(seen.hook())).unwrap();
    let h = pool
        .create_with(|_: &()| -> std::future::Ready<i32> { panic!("create_task_with builder") })
        .unwrap();
    assert_eq!(
        wait(h),
        Err(TaskError::Panicked("create_task_with builder".into()))
    );
    assert_goes_on(&pool);
    let ran =
        pool.run_with_here(|_: &()| -> std::future::Ready<i32> { panic!("run_with builder") });
    assert_eq!(ran, Err(TaskError::Panicked("run_with builder".into())));
    assert_goes_on(&pool);
    assert_eq!(pool.stop_here(), Ok(()));
    assert_eq!(
        seen.take(),
        [],
        "a builder's panic is read through its handle"
    );
}

#[test]
fn k1_a_panicking_builder_gives_panicked_on_a_blocking_pool() {
    bounded(builder_panics::<Blocking>);
}

#[test]
fn k1_a_panicking_builder_gives_panicked_on_an_async_pool() {
    bounded(builder_panics::<Async>);
}

// === K1, case 7: contexts and teardowns that panic ===

fn context_panics_in_drop<F: Front>() {
    for stop in [true, false] {
        let seen = Unhandled::default();
        let pool = F::start(
            F::builder()
                .on_unhandled(seen.hook())
                .context(|| Ok::<_, String>(PanicsOnDrop("context dropped"))),
        )
        .unwrap();
        assert_goes_on(&pool);
        if stop {
            assert_eq!(within(LONG, move || pool.stop_here()), Ok(()));
        } else {
            within(LONG, move || drop(pool));
        }
        let got = reports(&seen, 1);
        assert!(
            panicked_with(&got[0], "context dropped"),
            "the hook got {got:?}"
        );
    }
}

#[test]
fn k1_a_context_that_panics_in_drop_is_reported_and_a_blocking_pool_stops() {
    bounded(context_panics_in_drop::<Blocking>);
}

#[test]
fn k1_a_context_that_panics_in_drop_is_reported_and_an_async_pool_stops() {
    bounded(context_panics_in_drop::<Async>);
}

fn on_stop_panics<F: Front>() {
    let seen = Unhandled::default();
    let pool = F::start(
        F::builder()
            .on_unhandled(seen.hook())
            .context(|| Ok::<_, String>(5_u8))
            .on_stop(|_ctx: u8| async { panic!("teardown") }),
    )
    .unwrap();
    assert_goes_on(&pool);
    assert_eq!(within(LONG, move || pool.stop_here()), Ok(()));
    let got = reports(&seen, 1);
    assert!(
        panicked_with(&got[0], "on_stop") && panicked_with(&got[0], "teardown"),
        "the hook got {got:?}"
    );
}

#[test]
fn k1_a_panicking_on_stop_is_reported_and_a_blocking_pool_stops() {
    bounded(on_stop_panics::<Blocking>);
}

#[test]
fn k1_a_panicking_on_stop_is_reported_and_an_async_pool_stops() {
    bounded(on_stop_panics::<Async>);
}

// === K1, case 8: the default reporter with a closed stderr ===

const CLOSED_STDERR_VAR: &str = "CT_CLOSED_STDERR_CHILD";
const CLOSED_STDERR_CHILD: &str = "k1_closed_stderr_child_body";

/// Detaches panicking and timing-out tasks on a pool with the default
/// reporter, waits until they are all done, and checks the pool goes on.
fn default_reporter_survives<F: Front>() {
    let pool = F::start(F::builder().timeout(Duration::from_millis(20))).unwrap();
    for _ in 0..3 {
        pool.create(async { panic!("task with nobody listening") })
            .unwrap()
            .detach();
        pool.create(pending::<()>()).unwrap().detach();
    }
    wait_until("the six failures", || pool.stats_now().completed >= 6);
    assert!(pool.running());
    assert_eq!(pool.run_here(async { 1 }), Ok(1));
    assert_eq!(pool.stop_here(), Ok(()));
}

/// The child side of
/// [`k1_the_default_reporter_survives_a_closed_stderr`]: a no-op unless
/// that test runs it as a child process with its stderr closed.
#[test]
fn k1_closed_stderr_child_body() {
    if std::env::var_os(CLOSED_STDERR_VAR).is_none() {
        return;
    }
    use std::io::Write;
    // The parent closes its end right after spawning: wait until writes
    // fail, so the failures below really meet a closed stderr.
    wait_until("stderr to be closed", || {
        writeln!(std::io::stderr(), "probe").is_err()
    });
    bounded(|| {
        default_reporter_survives::<Blocking>();
        default_reporter_survives::<Async>();
    });
    println!("closed-stderr child: done");
}

#[test]
fn k1_the_default_reporter_survives_a_closed_stderr() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            CLOSED_STDERR_CHILD,
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CLOSED_STDERR_VAR, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take()); // every write to stderr now fails (EPIPE)
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the closed-stderr child hung for 30 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = reader.join().unwrap();
    assert!(status.success(), "the child failed ({status}):\n{out}");
    assert!(
        out.contains("closed-stderr child: done") && out.contains("1 passed"),
        "the child test did not run to its end:\n{out}"
    );
}

// === K5: waiting on yourself ===

/// What a pool's own task gets from its pool's blocking `run` and `stop`
/// (only the blocking front has them).
type BlockingCalls<P> = fn(&P) -> (Result<i32, TaskError>, Result<(), TaskError>);

fn own_task_waits_on_own_pool<F: Front>(blocking_calls: Option<BlockingCalls<F::Pool<()>>>) {
    let pool = Arc::new(F::start(F::builder().name("k5-self")).unwrap());
    let p = pool.clone();
    let h = pool
        .create(async move {
            let mut inner = p.create(async { 2 }).unwrap();
            let timed = inner.wait_timeout(LONG);
            let waited = inner.wait();
            let blocking = blocking_calls.map(|calls| calls(&p));
            (timed, waited, blocking)
        })
        .unwrap();
    let deadlock = TaskError::WouldDeadlock {
        pool: "k5-self".into(),
    };
    let (timed, waited, blocking) = wait(h).unwrap();
    assert_eq!(timed, Some(Err(deadlock.clone())), "wait_timeout");
    assert_eq!(waited, Err(deadlock.clone()), "wait");
    if let Some((run, stop)) = blocking {
        assert_eq!(run, Err(deadlock.clone()), "run");
        assert_eq!(stop, Err(deadlock), "stop");
    }
    assert_goes_on(&*pool);
    assert_eq!(pool.stop_here(), Ok(()));
}

#[test]
fn k5_blocking_run_wait_and_stop_from_a_blocking_pools_own_task_would_deadlock() {
    bounded(|| own_task_waits_on_own_pool::<Blocking>(Some(|p| (p.run(async { 1 }), p.stop()))));
}

#[test]
fn k5_a_blocking_wait_from_an_async_pools_own_task_would_deadlock() {
    bounded(|| own_task_waits_on_own_pool::<Async>(None));
}

#[test]
fn k5_a_nested_run_on_a_size_1_async_pool_would_deadlock() {
    bounded(|| {
        let pool = Arc::new(
            block_on(
                AsyncThreadedTaskPool::builder()
                    .name("k5-nested")
                    .size(1)
                    .start(),
            )
            .unwrap(),
        );
        let p = pool.clone();
        let h = pool
            .create_task(async move {
                let run = p.run(async { 1 }).await;
                let run_with = p.run_with(|_: &()| async { 2 }).await;
                (run, run_with)
            })
            .unwrap();
        let deadlock = TaskError::WouldDeadlock {
            pool: "k5-nested".into(),
        };
        assert_eq!(wait(h), Ok((Err(deadlock.clone()), Err(deadlock))));
        assert_goes_on(&*pool);
        assert_eq!(pool.stop_here(), Ok(()));
    });
}

#[test]
fn k5_a_nested_run_on_a_size_2_async_pool_works() {
    bounded(|| {
        let pool = Arc::new(block_on(AsyncThreadedTaskPool::builder().size(2).start()).unwrap());
        let p = pool.clone();
        let h = pool
            .create_task(async move { p.run(async { 1 }).await })
            .unwrap();
        assert_eq!(wait(h), Ok(Ok(1)));
        assert_eq!(pool.stop_here(), Ok(()));
    });
}

// === K3: every handle resolves ===

fn buffered_handles_resolve_on_stop_timeout<F: Front>() {
    let pool = F::start(F::builder().size(1)).unwrap();
    let running = pool.create(pending::<()>()).unwrap();
    let buffered = pool.create(async { 1 }).unwrap();
    wait_until("one running and one buffered task", || {
        let s = pool.stats_now();
        (s.running, s.queued) == (1, 1)
    });
    let stopped = within(LONG, move || {
        pool.stop_timeout_here(Duration::from_millis(20))
    });
    assert_eq!(stopped, Ok(2), "running + buffered");
    assert_eq!(wait(running), Err(TaskError::Cancelled));
    assert_eq!(wait(buffered), Err(TaskError::Cancelled));
}

#[test]
fn k3_a_buffered_handle_resolves_when_a_blocking_pool_stops_with_a_timeout() {
    bounded(buffered_handles_resolve_on_stop_timeout::<Blocking>);
}

#[test]
fn k3_a_buffered_handle_resolves_when_an_async_pool_stops_with_a_timeout() {
    bounded(buffered_handles_resolve_on_stop_timeout::<Async>);
}

fn daemon_drop_resolves_every_handle<F: Front>() {
    let pool = F::start(F::builder().size(1).daemon(true)).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|_| pool.create(pending::<()>()).unwrap())
        .collect();
    wait_until("one running and three buffered tasks", || {
        let s = pool.stats_now();
        (s.running, s.queued) == (1, 3)
    });
    within(LONG, move || drop(pool));
    for h in handles {
        assert_eq!(wait(h), Err(TaskError::Cancelled));
    }
}

#[test]
fn k3_dropping_a_daemon_async_pool_resolves_every_handle() {
    bounded(daemon_drop_resolves_every_handle::<Async>);
}

#[test]
fn k3_dropping_a_daemon_blocking_pool_resolves_every_handle() {
    bounded(daemon_drop_resolves_every_handle::<Blocking>);
}
