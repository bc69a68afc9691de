//! The threaded pool under load from many threads: submissions, cancels and
//! timeouts racing one another, then a stop that drains everything.
//!
//! Backs P4 (create from any number of threads, wait from another one), P5
//! (stop resolves every handle), P7 (cancel from any thread: a task cancelled
//! before it started is never polled; a running one is dropped on the pool
//! thread and not polled again), and checks P2 (at most `size` run at once,
//! FIFO start) and P3 (timeouts) on the way.
//!
//! Every task future is wrapped in a [`Probe`] that shares a [`Track`] with
//! the test: it counts polls, live futures, the thread it is polled and
//! dropped on, and whether a poll began after the canceller's `cancel()` had
//! returned.

use concurrent_tasks::{
    sleep, timeout, yield_now, BlockingThreadedTaskPool, TaskError, TaskHandle,
};
use crossbeam_channel::{unbounded, Receiver, Sender};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Generous bound for anything that should take milliseconds: a hang fails
/// the test instead of blocking it forever.
const HANG: Duration = Duration::from_secs(60);

/// Nanoseconds since the first call (0 is kept for "never").
fn now_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64 + 1
}

/// Counters over every probe of one test.
struct Global {
    pool_thread: &'static str,
    /// Futures created and not dropped yet.
    live: AtomicUsize,
    /// Probes started (first poll) and not finished or dropped.
    running: AtomicUsize,
    max_running: AtomicUsize,
    /// Sequence of first polls (the start order).
    starts: AtomicU64,
    polled_elsewhere: AtomicUsize,
    dropped_elsewhere: AtomicUsize,
}

impl Global {
    fn new(pool_thread: &'static str) -> Arc<Self> {
        Arc::new(Global {
            pool_thread,
            live: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            max_running: AtomicUsize::new(0),
            starts: AtomicU64::new(0),
            polled_elsewhere: AtomicUsize::new(0),
            dropped_elsewhere: AtomicUsize::new(0),
        })
    }

    fn on_pool_thread(&self) -> bool {
        std::thread::current().name() == Some(self.pool_thread)
    }
}

/// What the test knows about one task.
#[derive(Default)]
struct Track {
    polls: AtomicU32,
    /// Polls that began after the canceller's `cancel()` had returned.
    polls_after_cancel: AtomicU32,
    /// Set by the canceller right after `cancel()` returns.
    cancel_returned: AtomicBool,
    /// The inner future returned `Ready`.
    completed: AtomicBool,
    dropped: AtomicBool,
    /// `now_ns()` at the first poll and at the drop (0: never).
    first_poll: AtomicU64,
    drop_at: AtomicU64,
    /// Start order (the `Global::starts` value taken at the first poll).
    start_seq: AtomicU64,
}

/// Wraps a task's future and reports to its [`Track`].
struct Probe {
    inner: Pin<Box<dyn Future<Output = u32> + Send>>,
    track: Arc<Track>,
    global: Arc<Global>,
    finished: bool,
}

impl Probe {
    fn new(
        inner: impl Future<Output = u32> + Send + 'static,
        track: Arc<Track>,
        global: Arc<Global>,
    ) -> Self {
        global.live.fetch_add(1, SeqCst);
        Probe {
            inner: Box::pin(inner),
            track,
            global,
            finished: false,
        }
    }
}

impl Future for Probe {
    type Output = u32;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let this = &mut *self;
        let (track, global) = (&this.track, &this.global);
        if track.cancel_returned.load(SeqCst) {
            track.polls_after_cancel.fetch_add(1, SeqCst);
        }
        if !global.on_pool_thread() {
            global.polled_elsewhere.fetch_add(1, SeqCst);
        }
        if track.polls.fetch_add(1, SeqCst) == 0 {
            track.first_poll.store(now_ns(), SeqCst);
            track
                .start_seq
                .store(global.starts.fetch_add(1, SeqCst), SeqCst);
            let running = global.running.fetch_add(1, SeqCst) + 1;
            global.max_running.fetch_max(running, SeqCst);
        }
        let out = this.inner.as_mut().poll(cx);
        if out.is_ready() {
            track.completed.store(true, SeqCst);
            this.finished = true;
            global.running.fetch_sub(1, SeqCst);
        }
        out
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        if self.track.polls.load(SeqCst) > 0 && !self.finished {
            self.global.running.fetch_sub(1, SeqCst);
        }
        if !self.global.on_pool_thread() {
            self.global.dropped_elsewhere.fetch_add(1, SeqCst);
        }
        self.track.drop_at.store(now_ns(), SeqCst);
        self.track.dropped.store(true, SeqCst);
        self.global.live.fetch_sub(1, SeqCst);
    }
}

// === the stress test ===

const SUBMITTERS: usize = 8;
const PER_SUBMITTER: usize = 10_000;
const CANCELLERS: usize = 3;
const SIZE: usize = 3;
const TIMEOUT: Duration = Duration::from_millis(50);
const STRESS_POOL: &str = "p5-p7-stress";

/// The work of one task.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// `yield_now` n times (n may be 0).
    Yield(u32),
    /// `sleep` 0–2 ms, then yield once.
    Sleep(u64),
    /// An inner `timeout` of 1 ms around a 10 s sleep (handled inside).
    InnerTimeout,
    /// Sleeps far past the pool's timeout: must end `TimedOut` (or
    /// `Cancelled`). Seconds, not tens of milliseconds: if the pool thread
    /// is held up past the end of the task's own sleep too (a loaded
    /// machine; before c4b8a8d, any stream of submissions), both are due
    /// when the task is polled, `timeout` polls the future first, and the
    /// task finishes `Ok`.
    Long(u64),
}

/// A seeded PRNG (splitmix64): each thread draws the same stream every run.
struct Rng(u64);

impl Rng {
    fn seeded(seed: u64) -> Self {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// In `0..n` (a modulo: its tiny bias does not matter here).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True once in `n` draws on average.
    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

fn pick(rng: &mut Rng) -> Kind {
    match rng.below(1000) {
        0 => Kind::Long(2000 + rng.below(1000)),
        1..=10 => Kind::InnerTimeout,
        11..=50 => Kind::Sleep(rng.below(2001)),
        _ => Kind::Yield(rng.below(4) as u32),
    }
}

async fn work(kind: Kind, id: u32) -> u32 {
    match kind {
        Kind::Yield(n) => {
            for _ in 0..n {
                yield_now().await;
            }
        }
        Kind::Sleep(us) => {
            sleep(Duration::from_micros(us)).await;
            yield_now().await;
        }
        Kind::InnerTimeout => {
            let inner = timeout(Duration::from_millis(1), sleep(Duration::from_secs(10))).await;
            assert_eq!(inner, Err(TaskError::TimedOut));
        }
        Kind::Long(ms) => sleep(Duration::from_millis(ms)).await,
    }
    id
}

struct Entry {
    id: u32,
    kind: Kind,
    handle: TaskHandle<u32>,
    track: Arc<Track>,
    /// Handed to a canceller (which called `cancel()`).
    cancelled: bool,
    /// Outcome already taken by a canceller's wait.
    outcome: Option<Result<u32, TaskError>>,
}

fn watchdog<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = unbounded();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(HANG)
        .unwrap_or_else(|_| panic!("{what} did not return within {HANG:?}"))
}

#[test]
fn p5_p7_stress_8_submitters_cancels_and_timeouts_resolve_every_handle_once() {
    let global = Global::new(STRESS_POOL);
    let unhandled = Arc::new(AtomicUsize::new(0));
    let pool = Arc::new(
        BlockingThreadedTaskPool::builder()
            .name(STRESS_POOL)
            .size(SIZE)
            .timeout(TIMEOUT)
            .on_unhandled({
                let unhandled = unhandled.clone();
                move |_| {
                    unhandled.fetch_add(1, SeqCst);
                }
            })
            .start()
            .expect("start"),
    );
    let began = Instant::now();

    let (cancel_txs, cancel_rxs): (Vec<Sender<Entry>>, Vec<Receiver<Entry>>) =
        (0..CANCELLERS).map(|_| unbounded()).unzip();

    // Cancellers: cancel half of the handles they get at once (at varied
    // moments: right away, after a spin or a yield) — mostly before the task
    // starts — and the other half as soon as their task has started (so
    // while it runs, or just after it finished), until the pool stopped.
    // A sixteenth are then waited for from the canceller's thread.
    let stopped = Arc::new(AtomicBool::new(false));
    let cancellers: Vec<_> = cancel_rxs
        .into_iter()
        .enumerate()
        .map(|(c, rx)| {
            let stopped = stopped.clone();
            std::thread::spawn(move || {
                let mut rng = Rng::seeded(1000 + c as u64);
                let mut got = Vec::new();
                let mut deferred: Vec<Entry> = Vec::new();
                let mut cancel = |mut entry: Entry, rng: &mut Rng| {
                    entry.handle.cancel();
                    entry.track.cancel_returned.store(true, SeqCst);
                    entry.cancelled = true;
                    if rng.one_in(16) {
                        let outcome = entry
                            .handle
                            .wait_timeout(HANG)
                            .unwrap_or_else(|| panic!("task {} not resolved", entry.id));
                        entry.outcome = Some(outcome);
                    }
                    got.push(entry);
                };
                let mut open = true;
                while open || !deferred.is_empty() {
                    if open {
                        match rx.recv_timeout(Duration::from_micros(200)) {
                            Ok(entry) if rng.one_in(2) => deferred.push(entry),
                            Ok(entry) => {
                                match rng.below(4) {
                                    0 => std::thread::yield_now(),
                                    1 => {
                                        let spin = Duration::from_micros(rng.below(50));
                                        let until = Instant::now() + spin;
                                        while Instant::now() < until {
                                            std::hint::spin_loop();
                                        }
                                    }
                                    _ => {}
                                }
                                cancel(entry, &mut rng);
                            }
                            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => open = false,
                        }
                    } else {
                        std::thread::sleep(Duration::from_micros(200));
                    }
                    let all = stopped.load(SeqCst);
                    let mut i = 0;
                    while i < deferred.len() {
                        if all || deferred[i].track.polls.load(SeqCst) > 0 {
                            cancel(deferred.swap_remove(i), &mut rng);
                        } else {
                            i += 1;
                        }
                    }
                }
                got
            })
        })
        .collect();

    // Submitters: 10 000 tasks each, a random third handed to the cancellers.
    let submitters: Vec<_> = (0..SUBMITTERS)
        .map(|s| {
            let pool = pool.clone();
            let global = global.clone();
            let cancel_txs = cancel_txs.clone();
            std::thread::spawn(move || {
                let mut rng = Rng::seeded(s as u64);
                let mut kept = Vec::with_capacity(PER_SUBMITTER);
                for i in 0..PER_SUBMITTER {
                    let id = (s * PER_SUBMITTER + i) as u32;
                    let kind = pick(&mut rng);
                    let track = Arc::new(Track::default());
                    let probe = Probe::new(work(kind, id), track.clone(), global.clone());
                    let handle = pool.create_task(probe).expect("create_task while running");
                    let entry = Entry {
                        id,
                        kind,
                        handle,
                        track,
                        cancelled: false,
                        outcome: None,
                    };
                    if rng.one_in(3) {
                        let c = rng.below(CANCELLERS as u64) as usize;
                        cancel_txs[c].send(entry).expect("canceller alive");
                    } else {
                        kept.push(entry);
                    }
                }
                kept
            })
        })
        .collect();
    drop(cancel_txs);

    let mut entries: Vec<Entry> = Vec::with_capacity(SUBMITTERS * PER_SUBMITTER);
    for s in submitters {
        entries.extend(s.join().expect("submitter panicked"));
    }
    let submitted_in = began.elapsed();
    let backlog = pool.stats();

    // P5: stop drains everything still buffered or running (while the
    // cancellers still cancel).
    let stop_began = Instant::now();
    watchdog("stop", {
        let pool = pool.clone();
        move || pool.stop()
    })
    .expect("stop");
    let stopped_in = stop_began.elapsed();
    stopped.store(true, SeqCst);
    assert_eq!(global.live.load(SeqCst), 0, "futures leaked past stop");
    // Once stop returned the pool thread is gone: nothing can complete a
    // handle any more, so checking them after the cancellers end is the
    // same as checking them now.
    for c in cancellers {
        entries.extend(c.join().expect("canceller panicked"));
    }
    let unfinished: Vec<u32> = entries
        .iter()
        .filter(|e| e.outcome.is_none() && !e.handle.is_finished())
        .map(|e| e.id)
        .collect();
    assert!(
        unfinished.is_empty(),
        "P5: {} handles unresolved after stop returned, e.g. {:?}",
        unfinished.len(),
        &unfinished[..unfinished.len().min(10)]
    );

    // Every handle resolves exactly once, consistently with what its future
    // did.
    assert_eq!(entries.len(), SUBMITTERS * PER_SUBMITTER);
    let (mut ok, mut cancelled, mut timed_out) = (0usize, 0usize, 0usize);
    let (mut cancelled_unpolled, mut cancel_too_late, mut short_timed_out) = (0usize, 0, 0);
    let mut cancelled_running = 0usize;
    let mut straddling = 0usize;
    let mut problems = Vec::new();
    for e in &mut entries {
        let outcome = match e.outcome.take() {
            Some(outcome) => outcome,
            None => e
                .handle
                .wait_timeout(Duration::ZERO)
                .expect("finished handles have an outcome"),
        };
        assert_eq!(
            e.handle.wait_timeout(Duration::ZERO),
            Some(Err(TaskError::AlreadyTaken)),
            "task {}: the outcome is taken once",
            e.id
        );
        let t = &e.track;
        let polls = t.polls.load(SeqCst);
        let after = t.polls_after_cancel.load(SeqCst);
        straddling += after as usize;
        // P7: once `cancel()` returned, the executor drops the task at its
        // next turn; only a poll already under way when the cancel landed
        // can begin after it (at most one).
        if after > 1 {
            problems.push(format!(
                "task {} ({:?}): polled {after} times after cancel() returned",
                e.id, e.kind
            ));
        }
        if !t.dropped.load(SeqCst) {
            problems.push(format!("task {}: future never dropped", e.id));
        }
        match outcome {
            Ok(v) => {
                ok += 1;
                if v != e.id {
                    problems.push(format!("task {}: got the output of task {v}", e.id));
                }
                if !t.completed.load(SeqCst) {
                    problems.push(format!("task {}: Ok but its future never completed", e.id));
                }
                if let Kind::Long(ms) = e.kind {
                    problems.push(format!(
                        "task {}: slept {ms} ms under a {TIMEOUT:?} timeout and finished Ok",
                        e.id
                    ));
                }
                cancel_too_late += e.cancelled as usize;
            }
            Err(TaskError::Cancelled) => {
                cancelled += 1;
                if !e.cancelled {
                    problems.push(format!("task {}: Cancelled but nobody cancelled it", e.id));
                }
                if t.completed.load(SeqCst) {
                    problems.push(format!("task {}: Cancelled after it completed", e.id));
                }
                cancelled_unpolled += (polls == 0) as usize;
                cancelled_running += (polls > 0) as usize;
            }
            Err(TaskError::TimedOut) => {
                timed_out += 1;
                if t.completed.load(SeqCst) {
                    problems.push(format!("task {}: TimedOut after it completed", e.id));
                }
                // P3: the clock starts when the task starts, so a timed-out
                // task was polled and ran for the whole timeout (the timeout
                // is armed a few instructions before the first poll; 10 ms of
                // slack for a preemption there).
                let (first, dropped) = (t.first_poll.load(SeqCst), t.drop_at.load(SeqCst));
                if polls == 0 {
                    problems.push(format!("task {}: TimedOut but never started", e.id));
                } else if dropped.saturating_sub(first) < 40_000_000 {
                    problems.push(format!(
                        "task {}: TimedOut after {:?}",
                        e.id,
                        Duration::from_nanos(dropped.saturating_sub(first))
                    ));
                }
                if !matches!(e.kind, Kind::Long(_)) {
                    short_timed_out += 1;
                }
            }
            Err(other) => problems.push(format!("task {}: unexpected {other:?}", e.id)),
        }
    }
    let total = ok + cancelled + timed_out;
    println!(
        "{total} tasks: {ok} Ok, {cancelled} Cancelled ({cancelled_unpolled} never polled, {cancelled_running} while \
         running), \
         {timed_out} TimedOut ({short_timed_out} of them short tasks); {cancel_too_late} cancels \
         came after completion; {straddling} polls straddled a cancel; max running {}; \
         submitted in {submitted_in:?}, backlog at stop {backlog:?}, stop drained in {stopped_in:?}, \
         total {:?}",
        global.max_running.load(SeqCst),
        began.elapsed()
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems[..problems.len().min(20)].join("\n")
    );
    assert_eq!(
        total,
        SUBMITTERS * PER_SUBMITTER,
        "every handle resolves exactly once"
    );
    assert_eq!(
        global.polled_elsewhere.load(SeqCst),
        0,
        "futures are polled on the pool thread only"
    );
    assert_eq!(
        global.dropped_elsewhere.load(SeqCst),
        0,
        "P7: futures are dropped on the pool thread"
    );
    assert!(
        global.max_running.load(SeqCst) <= SIZE,
        "P2: {} tasks ran at once under size({SIZE})",
        global.max_running.load(SeqCst)
    );
    assert_eq!(global.running.load(SeqCst), 0);
    assert_eq!(
        unhandled.load(SeqCst),
        0,
        "every failure had a live handle: nothing goes to on_unhandled"
    );
    // The mix really exercised each path.
    assert!(cancelled > 0 && timed_out > 0 && ok > 0);
}

// === cancel before start, made deterministic by freezing the pool thread ===

/// A task that, on its first poll, tells the test and blocks the pool
/// thread until released (nothing else runs meanwhile: no poll, no timer);
/// then, holding the pool's only place, wakes itself until `want` tasks were
/// spawned, lets one more turn pass (so they reach the pool's gate), and
/// freezes the thread a second time.
struct Freezer {
    polls: u32,
    frozen: Sender<u32>,
    release: Receiver<()>,
    spawned: Arc<AtomicUsize>,
    want: usize,
    seen_all: bool,
}

impl Future for Freezer {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls += 1;
        let freeze = |this: &Self, n: u32| {
            this.frozen.send(n).unwrap();
            this.release
                .recv_timeout(HANG)
                .expect("the test releases the pool thread");
        };
        if self.polls == 1 {
            freeze(&self, 1);
        } else if self.seen_all {
            freeze(&self, 2);
            return Poll::Ready(());
        } else {
            self.seen_all = self.spawned.load(SeqCst) == self.want;
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn p7_cancelled_before_start_from_many_threads_is_never_polled() {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 500;
    const POOL: &str = "p7-frozen";
    let global = Global::new(POOL);
    // No timeout: the freezer may hold the only place as long as it likes.
    let pool = Arc::new(
        BlockingThreadedTaskPool::builder()
            .name(POOL)
            .size(1)
            .start()
            .unwrap(),
    );
    let (frozen_tx, frozen) = unbounded();
    let (release, release_rx) = unbounded();
    let spawned = Arc::new(AtomicUsize::new(0));
    let freezer = pool
        .create_task(Freezer {
            polls: 0,
            frozen: frozen_tx,
            release: release_rx,
            spawned: spawned.clone(),
            want: THREADS * PER_THREAD,
            seen_all: false,
        })
        .unwrap();
    assert_eq!(frozen.recv_timeout(HANG), Ok(1));

    // Phase 1, pool thread frozen: every thread creates its tasks (they wait
    // in the inbox) and cancels a random quarter of them at once.
    let cancels = |phase: u64, mut tasks: Vec<(usize, TaskHandle<u32>, Arc<Track>, bool)>| {
        let mut rng = Rng::seeded(phase);
        for (_, h, t, cancelled) in &mut tasks {
            if !*cancelled && rng.one_in(4) {
                h.cancel();
                t.cancel_returned.store(true, SeqCst);
                *cancelled = true;
            }
        }
        tasks
    };
    let per_thread: Vec<_> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|w| {
                let (pool, global, spawned) = (&pool, &global, &spawned);
                s.spawn(move || {
                    let tasks = (0..PER_THREAD)
                        .map(|i| {
                            let track = Arc::new(Track::default());
                            let probe = Probe::new(
                                std::future::ready(i as u32),
                                track.clone(),
                                global.clone(),
                            );
                            let spawned = spawned.clone();
                            // The closure runs on the pool thread as the task
                            // is spawned there.
                            let h = pool
                                .create_task_with(move |_: &()| {
                                    spawned.fetch_add(1, SeqCst);
                                    probe
                                })
                                .unwrap();
                            (i, h, track, false)
                        })
                        .collect();
                    cancels(w as u64, tasks)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    assert_eq!(spawned.load(SeqCst), 0, "the pool thread is frozen");

    // Phase 2: let the pool thread spawn them all; they queue behind the
    // freezer, which holds the only place, until it freezes the thread again.
    release.send(()).unwrap();
    assert_eq!(frozen.recv_timeout(HANG), Ok(2));
    assert_eq!(spawned.load(SeqCst), THREADS * PER_THREAD);
    assert_eq!(
        global.starts.load(SeqCst),
        0,
        "nothing starts while the freezer holds the only place"
    );
    let per_thread: Vec<_> = std::thread::scope(|s| {
        let workers: Vec<_> = per_thread
            .into_iter()
            .enumerate()
            .map(|(w, tasks)| s.spawn(move || cancels(100 + w as u64, tasks)))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap())
            .collect::<Vec<_>>()
    });
    release.send(()).unwrap();
    assert_eq!(freezer.wait_timeout_owned(), Ok(()));

    let mut cancelled = 0;
    for tasks in per_thread {
        let mut last_start = None;
        for (i, mut h, t, was_cancelled) in tasks {
            let outcome = h.wait_timeout(HANG).expect("resolved");
            let polls = t.polls.load(SeqCst);
            if was_cancelled {
                cancelled += 1;
                assert_eq!(outcome, Err(TaskError::Cancelled), "task {i}");
                assert_eq!(polls, 0, "P7: task {i} was cancelled before it started");
            } else {
                assert_eq!(outcome, Ok(i as u32));
                assert_eq!(polls, 1);
                // P2: one submitter's tasks start in its submission order.
                let seq = t.start_seq.load(SeqCst);
                assert!(last_start < Some(seq), "task {i} started out of order");
                last_start = Some(seq);
            }
        }
    }
    assert!(cancelled > THREADS * PER_THREAD / 4, "{cancelled}");
    watchdog("stop", move || pool.stop()).unwrap();
    assert_eq!(global.live.load(SeqCst), 0);
    assert_eq!(global.dropped_elsewhere.load(SeqCst), 0);
}

/// `wait` with the test's hang limit.
trait WaitOwned<T> {
    fn wait_timeout_owned(self) -> Result<T, TaskError>;
}

impl<T> WaitOwned<T> for TaskHandle<T> {
    fn wait_timeout_owned(mut self) -> Result<T, TaskError> {
        self.wait_timeout(HANG).expect("resolved in time")
    }
}

// === P3 under a stream of submissions ===

/// Busy-waits `d` (a stand-in for work, without giving the CPU away).
fn spin_for(d: Duration) {
    let until = Instant::now() + d;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// A task that sleeps 200 ms under a 50 ms timeout ends `TimedOut`, soon
/// after its 50 ms, while another thread keeps submitting faster than the
/// pool thread can take the submissions in.
///
/// The submitter sends a job every ~5 µs, and each job costs the pool thread
/// ~20 µs (the `create_task_with` closure runs there), so the inbox is never
/// empty while the stream lasts, on any machine.
///
/// Regression test: the pool thread used to run every queued inbox job
/// before its next executor turn (`PoolThread::main` looped on `poll_recv`,
/// which is `Ready` whenever a job is queued), so while the stream lasted no
/// timer fired and no task was polled: this test's task finished `Ok` ~400
/// ms after it started (its sleep and its timeout both over by then, and
/// `timeout` polls the future first), and a continuous stream of plain
/// `create_task`s from 4 threads starved every task forever (37 M tasks
/// queued in 30 s, none run). Fixed by c4b8a8d (the inbox loops yield to the
/// executor every 64 jobs).
#[test]
fn p3_timeout_holds_while_another_thread_keeps_submitting() {
    let pool = Arc::new(
        BlockingThreadedTaskPool::builder()
            .name("p3-flood")
            .timeout(Duration::from_millis(50))
            .start()
            .unwrap(),
    );
    let (started_tx, started) = unbounded();
    let mut long = pool
        .create_task(async move {
            started_tx.send(Instant::now()).unwrap();
            sleep(Duration::from_millis(200)).await;
        })
        .unwrap();
    let started = started.recv_timeout(HANG).unwrap();
    // The stream lasts until the long task is resolved, or 400 ms at most.
    let done = Arc::new(AtomicBool::new(false));
    let flood = std::thread::spawn({
        let (pool, done) = (pool.clone(), done.clone());
        move || {
            let until = Instant::now() + Duration::from_millis(400);
            let mut submitted = 0usize;
            while !done.load(SeqCst) && Instant::now() < until {
                pool.create_task_with(|_: &()| {
                    spin_for(Duration::from_micros(20));
                    async {}
                })
                .unwrap()
                .detach();
                submitted += 1;
                spin_for(Duration::from_micros(5));
            }
            submitted
        }
    });
    let outcome = long.wait_timeout(HANG);
    let resolved_after = started.elapsed();
    done.store(true, SeqCst);
    let submitted = flood.join().unwrap();
    assert_eq!(
        outcome,
        Some(Err(TaskError::TimedOut)),
        "resolved after {resolved_after:?}, {submitted} tasks submitted meanwhile"
    );
    // 50 ms plus generous slack for a loaded machine.
    assert!(
        resolved_after < Duration::from_millis(150),
        "TimedOut only after {resolved_after:?}, {submitted} tasks submitted meanwhile"
    );
    watchdog("stop", move || pool.stop()).unwrap();
}
