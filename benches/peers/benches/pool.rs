//! Threaded pool benchmarks: `BlockingThreadedTaskPool` against the same job
//! done by tokio's current-thread runtime on a dedicated thread,
//! `async_executor::Executor` on a dedicated thread, and a hand-written floor
//! (a thread draining a crossbeam inbox of boxed closures, a per-task result
//! slot, park/unpark; no executor). See `benches/README.md` ("## pool").
//!
//! 1. `round trip`: a synchronous caller runs a trivial task on the peer's
//!    thread and blocks for its result, with caller and pool thread pinned
//!    to the same CPU and to different CPUs; across CPUs also against a
//!    spinning ping-pong (`spin floor`: nobody parks).
//! 2. `burst 100k`: create 100 000 trivial tasks, then wait for each, from 1
//!    submitter thread or 4 (25 000 each, each waiting for its own); every
//!    thread pinned to one CPU.
//! 3. `bytes per pending task` (printed after the criterion groups, not a
//!    criterion measurement): live heap bytes, counted by this binary's
//!    global allocator, per task created and left pending, handle included.
//!
//! Then a summary of the medians with the ratios ours/peer.

use concurrent_tasks::BlockingThreadedTaskPool;
use criterion::{black_box, BenchmarkGroup, BenchmarkId, Criterion, Throughput};
use crossbeam_channel::Sender;
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{JoinHandle, Thread};
use std::time::Duration;

// === counting allocator ===

/// Live heap bytes, counted only while `COUNTING` is set (so the timed
/// benchmarks pay one relaxed load of a line nobody writes, not a shared
/// counter bouncing between CPUs).
static LIVE: AtomicIsize = AtomicIsize::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);
/// Live allocations by size (in 8-byte steps up to 512 B) while counting,
/// and the live bytes of larger ones: where a peer's bytes go.
const SMALL: usize = 64;
static BY_SIZE: [AtomicIsize; SMALL + 1] = [const { AtomicIsize::new(0) }; SMALL + 1];
static LARGE: AtomicIsize = AtomicIsize::new(0);

fn count(size: usize, sign: isize) {
    LIVE.fetch_add(sign * size as isize, Ordering::Relaxed);
    match size.div_ceil(8) {
        steps @ 0..=SMALL => BY_SIZE[steps].fetch_add(sign, Ordering::Relaxed),
        _ => LARGE.fetch_add(sign * size as isize, Ordering::Relaxed),
    };
}

fn start_counting() {
    LIVE.store(0, Ordering::SeqCst);
    LARGE.store(0, Ordering::SeqCst);
    for b in &BY_SIZE {
        b.store(0, Ordering::SeqCst);
    }
    COUNTING.store(true, Ordering::SeqCst);
}

/// Stops counting; returns the live bytes since `start_counting`.
fn stop_counting() -> isize {
    COUNTING.store(false, Ordering::SeqCst);
    LIVE.load(Ordering::SeqCst)
}

/// The live allocations counted, biggest share first: "10000 × 40 B, …".
fn breakdown() -> String {
    let mut parts: Vec<(isize, String)> = BY_SIZE
        .iter()
        .enumerate()
        .filter_map(|(steps, n)| {
            let n = n.load(Ordering::SeqCst);
            (n != 0).then(|| (n * 8 * steps as isize, format!("{n} × {} B", steps * 8)))
        })
        .collect();
    let large = LARGE.load(Ordering::SeqCst);
    if large != 0 {
        parts.push((large, format!("{large} B in blocks > {} B", SMALL * 8)));
    }
    parts.sort_by_key(|(bytes, _)| -bytes.abs());
    parts
        .into_iter()
        .map(|(_, s)| s)
        .collect::<Vec<_>>()
        .join(", ")
}

struct CountingAlloc;

// SAFETY: every call is forwarded unchanged to `System`; the counters are
// plain atomics.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() && COUNTING.load(Ordering::Relaxed) {
            count(layout.size(), 1);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() && COUNTING.load(Ordering::Relaxed) {
            count(layout.size(), 1);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        if COUNTING.load(Ordering::Relaxed) {
            count(layout.size(), -1);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() && COUNTING.load(Ordering::Relaxed) {
            count(layout.size(), -1);
            count(new_size, 1);
        }
        p
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

// === CPU placement ===

/// The first two CPUs this process may run on: "cpu 0" and "cpu 1". Read
/// once, before anything is pinned.
fn cpus() -> (usize, usize) {
    static CPUS: std::sync::OnceLock<(usize, usize)> = std::sync::OnceLock::new();
    *CPUS.get_or_init(|| {
        // SAFETY: `set` is a plain bit set, written by the kernel.
        let allowed: Vec<usize> = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            let r = libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set);
            assert_eq!(
                r,
                0,
                "sched_getaffinity: {}",
                std::io::Error::last_os_error()
            );
            (0..libc::CPU_SETSIZE as usize)
                .filter(|&c| libc::CPU_ISSET(c, &set))
                .collect()
        };
        assert!(
            allowed.len() >= 2,
            "these benchmarks need two CPUs, this process may use {allowed:?}"
        );
        (allowed[0], allowed[1])
    })
}

/// Pins the calling thread to `cpu`.
fn pin_to(cpu: usize) {
    // SAFETY: `set` is a plain bit set; pid 0 is the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        let r = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        assert_eq!(
            r,
            0,
            "sched_setaffinity: {}",
            std::io::Error::last_os_error()
        );
    }
}

// === the peers ===

/// A task that never finishes (for the memory measurement).
async fn forever() -> u32 {
    std::future::pending::<()>().await;
    1
}

/// Undoes what `Peer::pending` left behind.
type Release<'a> = Box<dyn FnOnce() + 'a>;

/// A thread that runs tasks for synchronous callers.
trait Peer: Sync {
    /// Runs a trivial task on the peer's thread and waits for its result.
    fn round_trip(&self) -> u32;
    /// Creates `n` trivial tasks, then waits for each.
    fn burst(&self, n: usize);
    /// Creates `n` tasks that never finish and keeps their handles; returns
    /// once the peer's thread has taken all of them in (polled them once,
    /// or, for the floor, with the closures still queued).
    fn pending(&self, n: usize) -> Release<'_>;
}

/// Starts a peer whose thread is pinned to `cpu`.
type Start = fn(usize) -> Box<dyn Peer>;

const PEERS: [(&str, Start); 4] = [
    ("ours", Ours::start),
    ("floor", Floor::start),
    ("tokio", Tokio::start),
    ("async-executor", AsyncEx::start),
];

// --- ours ---

struct Ours(BlockingThreadedTaskPool);

impl Ours {
    fn start(cpu: usize) -> Box<dyn Peer> {
        let pool = BlockingThreadedTaskPool::builder()
            .name("bench-pool")
            .start()
            .expect("start");
        pool.run(async move { pin_to(cpu) }).expect("pin");
        Box::new(Ours(pool))
    }
}

impl Peer for Ours {
    fn round_trip(&self) -> u32 {
        self.0.run(async { 1 }).unwrap()
    }

    fn burst(&self, n: usize) {
        let handles: Vec<_> = (0..n)
            .map(|_| self.0.create_task(async { 1u32 }).unwrap())
            .collect();
        for h in handles {
            black_box(h.wait().unwrap());
        }
    }

    fn pending(&self, n: usize) -> Release<'_> {
        let mut handles = Vec::with_capacity(n);
        for _ in 0..n {
            handles.push(self.0.create_task(forever()).unwrap());
        }
        // FIFO: once this has run, every task before it was spawned and
        // polled once.
        self.0.run(async {}).unwrap();
        Box::new(move || {
            for h in &handles {
                h.cancel();
            }
            for h in handles {
                let _ = h.wait();
            }
        })
    }
}

impl Drop for Ours {
    fn drop(&mut self) {
        self.0.stop().expect("stop");
    }
}

// --- the floor: a crossbeam inbox of closures, a slot, park/unpark ---

type Job = Box<dyn FnOnce() + Send>;

struct Floor {
    inbox: Option<Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

/// A task's result, and the thread to unpark when it is there.
struct FloorSlot<T> {
    done: AtomicBool,
    value: parking_lot::Mutex<Option<T>>,
    waiter: Thread,
}

impl<T> FloorSlot<T> {
    fn wait(&self) -> T {
        while !self.done.load(Ordering::Acquire) {
            std::thread::park();
        }
        self.value.lock().take().expect("set once")
    }
}

impl Floor {
    fn start(cpu: usize) -> Box<dyn Peer> {
        let (tx, rx) = crossbeam_channel::unbounded::<Job>();
        let thread = std::thread::Builder::new()
            .name("bench-floor".into())
            .spawn(move || {
                pin_to(cpu);
                for job in rx {
                    job();
                }
            })
            .unwrap();
        Box::new(Floor {
            inbox: Some(tx),
            thread: Some(thread),
        })
    }

    fn submit<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Arc<FloorSlot<T>> {
        let slot = Arc::new(FloorSlot {
            done: AtomicBool::new(false),
            value: parking_lot::Mutex::new(None),
            waiter: std::thread::current(),
        });
        let s = slot.clone();
        let job: Job = Box::new(move || {
            *s.value.lock() = Some(f());
            s.done.store(true, Ordering::Release);
            s.waiter.unpark();
        });
        self.inbox.as_ref().unwrap().send(job).unwrap();
        slot
    }
}

impl Peer for Floor {
    fn round_trip(&self) -> u32 {
        self.submit(|| 1u32).wait()
    }

    fn burst(&self, n: usize) {
        let slots: Vec<_> = (0..n).map(|_| self.submit(|| 1u32)).collect();
        for s in slots {
            black_box(s.wait());
        }
    }

    fn pending(&self, n: usize) -> Release<'_> {
        // A closure has no pending state: block the thread so that the
        // closures stay queued in the inbox.
        let (blocked_tx, blocked) = crossbeam_channel::bounded(1);
        let (release_tx, release) = crossbeam_channel::bounded::<()>(1);
        let blocker = self.submit(move || {
            blocked_tx.send(()).unwrap();
            release.recv().unwrap();
        });
        blocked.recv().unwrap();
        let slots: Vec<_> = (0..n).map(|_| self.submit(|| 1u32)).collect();
        Box::new(move || {
            release_tx.send(()).unwrap();
            blocker.wait();
            for s in slots {
                s.wait();
            }
        })
    }
}

impl Drop for Floor {
    fn drop(&mut self) {
        drop(self.inbox.take());
        self.thread.take().unwrap().join().unwrap();
    }
}

// --- the spinning floor of the round trip: nobody ever parks ---

/// A thread spinning on a crossbeam inbox, and a caller spinning on the
/// reply: the cost of two cache-line hand-offs between CPUs, the least any
/// round trip across CPUs can take. Only for split CPUs (on one CPU a
/// spinner waits out the other's time slice).
struct SpinFloor {
    inbox: Sender<u32>,
    reply: Arc<AtomicU32>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SpinFloor {
    fn start(cpu: usize) -> Self {
        let (tx, rx) = crossbeam_channel::unbounded::<u32>();
        let reply = Arc::new(AtomicU32::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let (reply, stop) = (reply.clone(), stop.clone());
            move || {
                pin_to(cpu);
                while !stop.load(Ordering::Relaxed) {
                    match rx.try_recv() {
                        Ok(n) => reply.store(n, Ordering::Release),
                        Err(_) => std::hint::spin_loop(),
                    }
                }
            }
        });
        SpinFloor {
            inbox: tx,
            reply,
            stop,
            thread: Some(thread),
        }
    }

    fn round_trip(&self, n: u32) -> u32 {
        self.inbox.send(n).unwrap();
        while self.reply.load(Ordering::Acquire) != n {
            std::hint::spin_loop();
        }
        n
    }
}

impl Drop for SpinFloor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap();
    }
}

// --- tokio: current-thread runtime on its own thread ---

struct Tokio {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Tokio {
    fn start(cpu: usize) -> Box<dyn Peer> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let handle = rt.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("bench-tokio".into())
            .spawn(move || {
                pin_to(cpu);
                rt.block_on(async {
                    let _ = stopped.await;
                });
            })
            .unwrap();
        Box::new(Tokio {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Peer for Tokio {
    fn round_trip(&self) -> u32 {
        futures_lite::future::block_on(self.handle.spawn(async { 1u32 })).unwrap()
    }

    fn burst(&self, n: usize) {
        let handles: Vec<_> = (0..n).map(|_| self.handle.spawn(async { 1u32 })).collect();
        for h in handles {
            black_box(futures_lite::future::block_on(h).unwrap());
        }
    }

    fn pending(&self, n: usize) -> Release<'_> {
        let mut handles = Vec::with_capacity(n);
        for _ in 0..n {
            handles.push(self.handle.spawn(forever()));
        }
        // The current-thread scheduler takes remote spawns in order.
        futures_lite::future::block_on(self.handle.spawn(async {})).unwrap();
        Box::new(move || {
            for h in &handles {
                h.abort();
            }
            for h in handles {
                let _ = futures_lite::future::block_on(h);
            }
        })
    }
}

impl Drop for Tokio {
    fn drop(&mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.thread.take().unwrap().join().unwrap();
    }
}

// --- async-executor: an Executor run on its own thread ---

struct AsyncEx {
    ex: Arc<async_executor::Executor<'static>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl AsyncEx {
    fn start(cpu: usize) -> Box<dyn Peer> {
        let ex = Arc::new(async_executor::Executor::new());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("bench-async-ex".into())
            .spawn({
                let ex = ex.clone();
                move || {
                    pin_to(cpu);
                    futures_lite::future::block_on(ex.run(async {
                        let _ = stopped.await;
                    }));
                }
            })
            .unwrap();
        Box::new(AsyncEx {
            ex,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Peer for AsyncEx {
    fn round_trip(&self) -> u32 {
        futures_lite::future::block_on(self.ex.spawn(async { 1u32 }))
    }

    fn burst(&self, n: usize) {
        let tasks: Vec<_> = (0..n).map(|_| self.ex.spawn(async { 1u32 })).collect();
        for t in tasks {
            black_box(futures_lite::future::block_on(t));
        }
    }

    fn pending(&self, n: usize) -> Release<'_> {
        let mut tasks = Vec::with_capacity(n);
        for _ in 0..n {
            tasks.push(self.ex.spawn(forever()));
        }
        // One runner thread, FIFO queue: this runs after every task above
        // was polled once.
        futures_lite::future::block_on(self.ex.spawn(async {}));
        // Dropping a `Task` cancels it.
        Box::new(move || drop(tasks))
    }
}

impl Drop for AsyncEx {
    fn drop(&mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.thread.take().unwrap().join().unwrap();
    }
}

// === criterion groups ===

/// Benchmarks that ran in this process ("group/placement/peer").
static RAN: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn ran(name: String) {
    let mut ran = RAN.lock().unwrap();
    if !ran.contains(&name) {
        ran.push(name);
    }
}

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

const ROUND_TRIP: &str = "round trip";
/// The round trip's spinning floor (split CPUs only).
const SPIN_FLOOR: &str = "spin floor";
const PLACEMENTS: [&str; 2] = ["same cpu", "split cpus"];

fn round_trips(c: &mut Criterion) {
    let (cpu0, cpu1) = cpus();
    pin_to(cpu0);
    let mut group: Group<'_> = c.benchmark_group(ROUND_TRIP);
    group
        .sample_size(50)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for (placement, pool_cpu) in PLACEMENTS.into_iter().zip([cpu0, cpu1]) {
        for (name, start) in PEERS {
            let peer = start(pool_cpu);
            group.bench_function(BenchmarkId::new(placement, name), |b| {
                ran(format!("{ROUND_TRIP}/{placement}/{name}"));
                b.iter(|| black_box(peer.round_trip()))
            });
        }
    }
    let spin = SpinFloor::start(cpu1);
    let mut n = 0u32;
    group.bench_function(BenchmarkId::new("split cpus", SPIN_FLOOR), |b| {
        ran(format!("{ROUND_TRIP}/split cpus/{SPIN_FLOOR}"));
        b.iter(|| {
            n = n.wrapping_add(1).max(1);
            black_box(spin.round_trip(n))
        })
    });
    drop(spin);
    group.finish();
}

/// Tasks per burst iteration.
const BURST: usize = 100_000;
const BURST_GROUP: &str = "burst 100k";
const SUBMITTERS: [(usize, &str); 2] = [(1, "1 submitter"), (4, "4 submitters")];

fn bursts(c: &mut Criterion) {
    let (cpu0, _) = cpus();
    pin_to(cpu0);
    let mut group: Group<'_> = c.benchmark_group(BURST_GROUP);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(BURST as u64));
    for (submitters, label) in SUBMITTERS {
        for (name, start) in PEERS {
            let peer = start(cpu0);
            let peer = &*peer;
            group.bench_function(BenchmarkId::new(label, name), |b| {
                ran(format!("{BURST_GROUP}/{label}/{name}"));
                b.iter(|| {
                    if submitters == 1 {
                        peer.burst(BURST);
                    } else {
                        std::thread::scope(|s| {
                            for _ in 0..submitters {
                                s.spawn(|| {
                                    pin_to(cpu0);
                                    peer.burst(BURST / submitters);
                                });
                            }
                        });
                    }
                })
            });
        }
    }
    group.finish();
}

// === bytes per pending task ===

const PENDING: usize = 10_000;

fn bytes_report() {
    let (cpu0, cpu1) = cpus();
    pin_to(cpu0);
    let mut results = BTreeMap::new();
    let mut details = Vec::new();
    for (name, start) in PEERS {
        let peer = start(cpu1);
        // One-time setup (thread-locals, first blocks) out of the way.
        peer.round_trip();
        peer.pending(1)();
        start_counting();
        let release = peer.pending(PENDING);
        let bytes = stop_counting();
        details.push(format!("  {name}: {}", breakdown()));
        release();
        results.insert(name, bytes as f64 / PENDING as f64);
    }
    // Ours again with the pool thread blocked: the tasks stay in the inbox,
    // not yet spawned on the executor.
    let queued = {
        let pool = BlockingThreadedTaskPool::builder()
            .name("bench-pool-blocked")
            .start()
            .unwrap();
        let (blocked_tx, blocked) = crossbeam_channel::bounded(1);
        let (release_tx, release) = crossbeam_channel::bounded::<()>(1);
        let blocker = pool
            .create_task(async move {
                blocked_tx.send(()).unwrap();
                release.recv().unwrap();
            })
            .unwrap();
        blocked.recv().unwrap();
        start_counting();
        let mut handles = Vec::with_capacity(PENDING);
        for _ in 0..PENDING {
            handles.push(pool.create_task(forever()).unwrap());
        }
        let bytes = stop_counting();
        details.push(format!("  ours, still in the inbox: {}", breakdown()));
        for h in &handles {
            h.cancel();
        }
        release_tx.send(()).unwrap();
        blocker.wait().unwrap();
        for h in handles {
            let _ = h.wait();
        }
        pool.stop().unwrap();
        bytes as f64 / PENDING as f64
    };
    let line: Vec<String> = ["ours", "tokio", "async-executor", "floor"]
        .iter()
        .map(|name| format!("{name} {:.0}", results[name]))
        .collect();
    println!("\nbytes per pending task: {}", line.join(", "));
    println!(
        "  ({PENDING} tasks awaiting `pending()`, polled once, handles kept by the caller; \
         the floor's are closures queued behind its blocked thread)"
    );
    println!("  ours with the pool thread blocked (tasks still in the inbox): {queued:.0}");
    println!("live allocations per peer, for {PENDING} pending tasks:");
    for d in details {
        println!("{d}");
    }
}

// === summary of the medians ===

/// Where criterion keeps its results (the rules criterion itself follows).
fn criterion_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    // target/release/deps/pool-<hash>
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .map(|t| t.join("criterion"))
        .unwrap_or_else(|| "target/criterion".into())
}

/// The median (ns per iteration) criterion estimated for `name`.
fn median_ns(name: &str) -> Option<f64> {
    let path = criterion_home().join(name).join("new/estimates.json");
    let json = std::fs::read_to_string(path).ok()?;
    let median = &json[json.find("\"median\"")?..];
    let value = &median[median.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    let end = value.find([',', '}'])?;
    value[..end].trim().parse().ok()
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1000.0 {
        format!("{:.2} µs", ns / 1000.0)
    } else {
        format!("{ns:.0} ns")
    }
}

fn summary() {
    let ran = RAN.lock().unwrap().clone();
    if ran.is_empty() {
        return;
    }
    let mut medians = BTreeMap::new();
    for name in &ran {
        if let Some(m) = median_ns(name) {
            medians.insert(name.clone(), m);
        }
    }
    let table = |title: &str, group: &str, columns: &[&str], per: f64| {
        println!("\n{title}");
        print!("  {:<20}", "");
        for c in columns {
            print!("{c:>16}");
        }
        println!();
        let get = |col: &str, peer: &str| {
            medians
                .get(&format!("{group}/{col}/{peer}"))
                .map(|m| m / per)
        };
        for peer in PEERS.map(|(peer, _)| peer).into_iter().chain([SPIN_FLOOR]) {
            if columns.iter().all(|c| get(c, peer).is_none()) {
                continue;
            }
            print!("  {peer:<20}");
            for c in columns {
                match get(c, peer) {
                    Some(v) => print!("{:>16}", fmt_ns(v)),
                    None => print!("{:>16}", "-"),
                }
            }
            println!();
        }
        for peer in PEERS
            .map(|(peer, _)| peer)
            .into_iter()
            .skip(1)
            .chain([SPIN_FLOOR])
        {
            if columns.iter().all(|c| get(c, peer).is_none()) {
                continue;
            }
            print!("  {:<20}", format!("ours/{peer}"));
            for c in columns {
                match (get(c, "ours"), get(c, peer)) {
                    (Some(o), Some(p)) => print!("{:>16}", format!("{:.2}x", o / p)),
                    _ => print!("{:>16}", "-"),
                }
            }
            println!();
        }
    };
    println!("\nsummary: criterion medians");
    table(
        "round trip run(trivial) from a sync thread, per round trip",
        ROUND_TRIP,
        &PLACEMENTS,
        1.0,
    );
    table(
        "burst: 100k create_task then wait each, same cpu, per task",
        BURST_GROUP,
        &SUBMITTERS.map(|(_, label)| label),
        BURST as f64,
    );
}

// === main ===

#[path = "support/args.rs"]
mod args;

fn main() {
    let mut c = Criterion::default().configure_from_args();
    round_trips(&mut c);
    bursts(&mut c);
    c.final_summary();
    if args::real_run().is_some() {
        if args::wanted("bytes per pending task", "bytes") {
            bytes_report();
        }
        summary();
    }
}
