//! Timer benchmarks: `concurrent_tasks` against tokio, a `BTreeMap` and its own
//! bare `TimerWheel`. See `benches/README.md` for how to run and read them.
//!
//! 1. `timer insert+cancel, 100k random deadlines 1 ms–10 s` (criterion):
//!    create 100k sleeps with seeded random durations, poll each once so it
//!    registers, then drop them all (cancel). Throughput is 100k elements per
//!    iteration, so the reported time / 100k is the cost of one timer.
//! 2. `sleep lateness` (printed after the criterion run): 10k tasks sleep
//!    until deadlines spread uniformly over 200 ms and record how late they
//!    woke. Percentiles of lateness per runtime, a few rounds each (the peers
//!    alternate) and their median; an early wake is a bug.

use concurrent_tasks::time::wheel::{TimerKey, TimerWheel};
use concurrent_tasks::{LocalExecutor, Sleep};
use criterion::{black_box, criterion_group, Criterion, Throughput};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::{Duration, Instant};

/// Timers per iteration of the insert+cancel benchmark.
const TIMERS: usize = 100_000;
/// Sleepers in the lateness report.
const SLEEPERS: usize = 10_000;
/// The lateness report's deadlines are spread over this window.
const SPREAD: Duration = Duration::from_millis(200);
/// Time between the start of a lateness run and its first possible deadline,
/// so that spawning and first-polling every sleeper ends before any is due.
const LEAD: Duration = Duration::from_millis(30);
const SEED: u64 = 0x7153_5eed;

/// A waker that does nothing (`Waker::noop` is newer than the crate's MSRV).
struct NoopWake;

impl Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
    fn wake_by_ref(self: &Arc<Self>) {}
}

fn noop_waker() -> Waker {
    Waker::from(Arc::new(NoopWake))
}

/// `TIMERS` durations, uniform in [1 ms, 10 s], the same every run.
fn random_durations() -> Vec<Duration> {
    let mut rng = StdRng::seed_from_u64(SEED);
    (0..TIMERS)
        .map(|_| Duration::from_nanos(rng.gen_range(1_000_000..=10_000_000_000)))
        .collect()
}

/// Polls `future` once; it must stay pending (it registered its timer).
fn poll_once_pending<F: Future + ?Sized>(future: Pin<&mut F>, cx: &mut Context<'_>) {
    assert!(
        future.poll(cx).is_pending(),
        "a fresh sleep completed at once"
    );
}

fn insert_cancel(c: &mut Criterion) {
    let durations = random_durations();
    let waker = noop_waker();
    let mut group = c.benchmark_group("timer insert+cancel, 100k random deadlines 1 ms–10 s");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(TIMERS as u64));

    // Ours: `LocalExecutor::sleep`, polled once by hand (it registers in the
    // executor's wheel on that poll), stored unboxed (`Sleep` is `Unpin`).
    // A timer registers with the executor that polls it, so the polls run
    // inside `ex.block_on` (one call per batch of 100k); the turn after the
    // batch lets the wheel catch up with the clock, as a running executor
    // would.
    {
        let ex = LocalExecutor::new();
        let mut sleeps: Vec<Sleep> = Vec::with_capacity(TIMERS);
        // Sanity check, outside the measurement: every poll registers a timer
        // and every drop cancels it.
        ex.block_on(async {
            let mut cx = Context::from_waker(&waker);
            for &d in &durations {
                let mut sleep = ex.sleep(d);
                poll_once_pending(Pin::new(&mut sleep), &mut cx);
                sleeps.push(sleep);
            }
            assert_eq!(ex.timers(), TIMERS);
            sleeps.clear();
            assert_eq!(ex.timers(), 0);
        });
        group.bench_function("ours (LocalExecutor::sleep)", |b| {
            b.iter(|| {
                ex.block_on(async {
                    let mut cx = Context::from_waker(&waker);
                    for &d in &durations {
                        let mut sleep = ex.sleep(d);
                        poll_once_pending(Pin::new(&mut sleep), &mut cx);
                        sleeps.push(sleep);
                    }
                    sleeps.clear(); // drops = cancels, in creation order
                })
            })
        });
        // Same, but each sleep boxed: the same shape as the tokio peer, which
        // has to be boxed to be kept in a Vec (its `Sleep` is `!Unpin`).
        let mut boxed: Vec<Pin<Box<Sleep>>> = Vec::with_capacity(TIMERS);
        group.bench_function("ours boxed (Box::pin(LocalExecutor::sleep))", |b| {
            b.iter(|| {
                ex.block_on(async {
                    let mut cx = Context::from_waker(&waker);
                    for &d in &durations {
                        let mut sleep = Box::pin(ex.sleep(d));
                        poll_once_pending(sleep.as_mut(), &mut cx);
                        boxed.push(sleep);
                    }
                    boxed.clear();
                })
            })
        });
    }

    // tokio: current-thread runtime. `unconstrained`: without it the coop
    // budget makes `Sleep::poll` return Pending *without registering* after
    // 128 polls in one task poll.
    {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("tokio runtime");
        let mut sleeps: Vec<Pin<Box<tokio::time::Sleep>>> = Vec::with_capacity(TIMERS);
        group.bench_function("tokio (Box::pin(tokio::time::sleep))", |b| {
            b.iter(|| {
                rt.block_on(tokio::task::unconstrained(async {
                    let mut cx = Context::from_waker(&waker);
                    for &d in &durations {
                        let mut sleep = Box::pin(tokio::time::sleep(d));
                        poll_once_pending(sleep.as_mut(), &mut cx);
                        sleeps.push(sleep);
                    }
                    sleeps.clear();
                }))
            })
        });
    }

    // Baseline: an ordered map keyed by (deadline, sequence number), the
    // structure async-io's reactor uses; insert all, then remove all.
    {
        let mut map: BTreeMap<(Instant, u64), ()> = BTreeMap::new();
        let mut keys: Vec<(Instant, u64)> = Vec::with_capacity(TIMERS);
        let mut seq = 0u64;
        group.bench_function("BTreeMap<(Instant, u64), ()> insert+remove", |b| {
            b.iter(|| {
                for &d in &durations {
                    let key = (Instant::now() + d, seq);
                    seq += 1;
                    map.insert(key, ());
                    keys.push(key);
                }
                for key in keys.drain(..) {
                    black_box(map.remove(&key));
                }
                debug_assert!(map.is_empty());
            })
        });
    }

    // Floor: our bare wheel, 1 ms ticks, no clock, no lock, no waker.
    {
        let mut wheel: TimerWheel<u64> = TimerWheel::new();
        let ticks: Vec<u64> = durations
            .iter()
            .map(|d| d.as_nanos().div_ceil(1_000_000) as u64)
            .collect();
        let mut keys: Vec<TimerKey> = Vec::with_capacity(TIMERS);
        group.bench_function("ours bare TimerWheel<u64> insert+cancel", |b| {
            b.iter(|| {
                for (i, &tick) in ticks.iter().enumerate() {
                    keys.push(wheel.insert(tick, i as u64));
                }
                for key in keys.drain(..) {
                    black_box(wheel.cancel(key));
                }
                debug_assert!(wheel.is_empty());
            })
        });
    }

    group.finish();
}

criterion_group!(benches, insert_cancel);

// === sleep lateness ===

/// How late sleepers woke, and how many woke early.
struct Lateness {
    late: Vec<Duration>,
    early: usize,
}

impl Lateness {
    fn from_wakes(wakes: impl IntoIterator<Item = Option<Duration>>) -> Self {
        let mut early = 0;
        let mut late: Vec<Duration> = wakes
            .into_iter()
            .map(|wake| {
                wake.unwrap_or_else(|| {
                    early += 1;
                    Duration::ZERO
                })
            })
            .collect();
        late.sort_unstable();
        Lateness { late, early }
    }

    fn percentile(&self, p: usize) -> Duration {
        let n = self.late.len();
        self.late[(n * p / 100).min(n - 1)]
    }

    /// p50, p99 and max.
    fn stats(&self) -> [Duration; 3] {
        [
            self.percentile(50),
            self.percentile(99),
            *self.late.last().expect("no sleepers"),
        ]
    }
}

fn print_lateness(label: &str, [p50, p99, max]: [Duration; 3], early: usize, tail: &str) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{label}: p50 {:.3} ms p99 {:.3} ms max {:.3} ms early {early}{tail}",
        ms(p50),
        ms(p99),
        ms(max),
    );
}

/// Times this thread was preempted so far (Linux; `None` elsewhere). A
/// preemption in a lateness run delays every sleeper due meanwhile, so the
/// count says how much of the tail is the machine rather than the runtime.
fn preemptions() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/thread-self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("nonvoluntary_ctxt_switches:"))
        .and_then(|n| n.trim().parse().ok())
}

/// How late now is after `deadline`; `None` if it is still before it (woke
/// early).
fn lateness_now(deadline: Instant) -> Option<Duration> {
    Instant::now().checked_duration_since(deadline)
}

/// `SLEEPERS` offsets uniform over `SPREAD`, the same every run.
fn random_offsets() -> Vec<Duration> {
    let mut rng = StdRng::seed_from_u64(SEED ^ 1);
    let spread = SPREAD.as_nanos() as u64;
    (0..SLEEPERS)
        .map(|_| Duration::from_nanos(rng.gen_range(0..spread)))
        .collect()
}

fn lateness_ours(offsets: &[Duration]) -> Lateness {
    let ex = LocalExecutor::new();
    let wakes = ex.block_on(async {
        let base = Instant::now() + LEAD;
        let handles: Vec<_> = offsets
            .iter()
            .map(|&off| {
                let deadline = base + off;
                concurrent_tasks::spawn(async move {
                    concurrent_tasks::sleep_until(deadline).await;
                    lateness_now(deadline)
                })
            })
            .collect();
        let mut wakes = Vec::with_capacity(handles.len());
        for handle in handles {
            wakes.push(handle.await.expect("sleeper failed"));
        }
        wakes
    });
    Lateness::from_wakes(wakes)
}

fn lateness_tokio(offsets: &[Duration]) -> Lateness {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime");
    let wakes = rt.block_on(async {
        let base = Instant::now() + LEAD;
        let handles: Vec<_> = offsets
            .iter()
            .map(|&off| {
                let deadline = base + off;
                tokio::spawn(async move {
                    tokio::time::sleep_until(deadline.into()).await;
                    lateness_now(deadline)
                })
            })
            .collect();
        let mut wakes = Vec::with_capacity(handles.len());
        for handle in handles {
            wakes.push(handle.await.expect("sleeper failed"));
        }
        wakes
    });
    Lateness::from_wakes(wakes)
}

fn lateness_async_io(offsets: &[Duration]) -> Lateness {
    let ex = async_executor::LocalExecutor::new();
    let wakes = async_io::block_on(ex.run(async {
        let base = Instant::now() + LEAD;
        let tasks: Vec<_> = offsets
            .iter()
            .map(|&off| {
                let deadline = base + off;
                ex.spawn(async move {
                    async_io::Timer::at(deadline).await;
                    lateness_now(deadline)
                })
            })
            .collect();
        let mut wakes = Vec::with_capacity(tasks.len());
        for task in tasks {
            wakes.push(task.await);
        }
        wakes
    }));
    Lateness::from_wakes(wakes)
}

#[path = "support/args.rs"]
mod args;

/// Runs the lateness report only in a real benchmark run whose filter, if
/// any, mentions "lateness" (or is a part of "sleep lateness").
fn lateness_wanted() -> bool {
    args::wanted("sleep lateness", "lateness")
}

/// Lateness rounds per peer (the peers alternate), from `LATENESS_ROUNDS`.
fn lateness_rounds() -> usize {
    std::env::var("LATENESS_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .filter(|&r| r > 0)
        .unwrap_or(3)
}

fn lateness_report() {
    let offsets = random_offsets();
    let rounds = lateness_rounds();
    println!(
        "\nsleep lateness: {SLEEPERS} sleepers, deadlines uniform over {} ms \
         (starting {} ms after spawn), wake time - deadline; {rounds} rounds per peer:",
        SPREAD.as_millis(),
        LEAD.as_millis()
    );
    type Run = fn(&[Duration]) -> Lateness;
    let peers: [(&str, Run); 3] = [
        ("ours", lateness_ours),
        ("tokio", lateness_tokio),
        ("async-io", lateness_async_io),
    ];
    let mut results: Vec<Vec<([Duration; 3], usize)>> = vec![Vec::new(); peers.len()];
    for round in 1..=rounds {
        for ((name, run), results) in peers.iter().zip(&mut results) {
            let before = preemptions();
            let lateness = run(&offsets);
            let preempted = match (before, preemptions()) {
                (Some(a), Some(b)) => format!(", preempted {} times", b - a),
                _ => String::new(),
            };
            let stats = lateness.stats();
            print_lateness(
                &format!("  round {round} {name}"),
                stats,
                lateness.early,
                &preempted,
            );
            results.push((stats, lateness.early));
        }
    }
    let mut early_total = 0;
    for ((name, _), results) in peers.iter().zip(&results) {
        // Median over rounds of each statistic; early wakes summed.
        let median = |i: usize| {
            let mut v: Vec<Duration> = results.iter().map(|(stats, _)| stats[i]).collect();
            v.sort_unstable();
            v[v.len() / 2]
        };
        let early: usize = results.iter().map(|&(_, early)| early).sum();
        early_total += early;
        print_lateness(
            &format!("lateness {name}"),
            [median(0), median(1), median(2)],
            early,
            &format!(" (median of {rounds} rounds of {SLEEPERS})"),
        );
    }
    if early_total > 0 {
        println!("BUG: {early_total} sleepers woke before their deadline");
    }
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if lateness_wanted() {
        lateness_report();
    }
}
