//! Executor benchmarks: `concurrent_tasks::LocalExecutor` against tokio's
//! current-thread runtime and `async_executor::LocalExecutor`. See
//! `benches/README.md` for how to run and read them.
//!
//! 1. `spawn+run 100k trivial tasks`: per iteration, spawn 100k tasks that do
//!    next to nothing, and run them all to completion — "detached" (handles
//!    dropped, the executor is run until idle) and "joined" (handles kept and
//!    awaited in order, summing the outputs).
//! 2. `yield 100k times`: one spawned task yields 100k times; each yield is a
//!    self-wake from the executor's own thread plus a reschedule.
//!
//! Throughput is 100k elements per iteration: time / 100k is the cost of one
//! task (or one yield).

use concurrent_tasks::LocalExecutor;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use std::cell::Cell;
use std::time::Duration;

/// Tasks (or yields) per iteration.
const N: u64 = 100_000;

std::thread_local! {
    /// Counts finished detached tasks. Every peer runs its tasks on the bench
    /// thread, so a thread-local counter serves all of them equally.
    static DONE: Cell<u64> = const { Cell::new(0) };
}

/// The body of a detached trivial task.
fn count_done() {
    DONE.with(|done| done.set(done.get() + 1));
}

fn take_done() -> u64 {
    DONE.with(|done| done.replace(0))
}

/// Expected sum of the joined tasks' outputs (`0 + 1 + … + N-1`).
const SUM: u64 = N * (N - 1) / 2;

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime")
}

fn configure(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(N));
}

fn spawn_run(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn+run 100k trivial tasks");
    configure(&mut group);

    // --- detached: spawn, drop the handle, run until idle ---

    {
        let ex = LocalExecutor::new();
        group.bench_function("ours detached (spawn+detach, run_until_stalled)", |b| {
            b.iter(|| {
                for _ in 0..N {
                    ex.spawn(async { count_done() }).detach();
                }
                ex.run_until_stalled();
                assert_eq!(take_done(), N);
                debug_assert!(ex.is_empty());
            })
        });
    }
    {
        let rt = tokio_rt();
        group.bench_function("tokio detached (tokio::spawn, await a last task)", |b| {
            b.iter(|| {
                rt.block_on(async {
                    for _ in 0..N {
                        drop(tokio::spawn(async { count_done() }));
                    }
                    // The current-thread scheduler runs spawned tasks in FIFO
                    // order: once a task spawned last has run, all have.
                    tokio::spawn(async {}).await.expect("last task");
                });
                assert_eq!(take_done(), N);
            })
        });
    }
    {
        let ex = async_executor::LocalExecutor::new();
        group.bench_function(
            "async-executor detached (spawn+detach, try_tick loop)",
            |b| {
                b.iter(|| {
                    for _ in 0..N {
                        ex.spawn(async { count_done() }).detach();
                    }
                    while ex.try_tick() {}
                    assert_eq!(take_done(), N);
                })
            },
        );
    }

    // --- joined: spawn, keep the handles, await them all in order ---

    {
        let ex = LocalExecutor::new();
        let mut handles = Vec::with_capacity(N as usize);
        group.bench_function("ours joined (spawn, await handles in block_on)", |b| {
            b.iter(|| {
                let sum = ex.block_on(async {
                    for i in 0..N {
                        handles.push(ex.spawn(async move { black_box(i) }));
                    }
                    let mut sum = 0;
                    for handle in handles.drain(..) {
                        sum += handle.await.expect("task failed");
                    }
                    sum
                });
                assert_eq!(sum, SUM);
            })
        });
    }
    {
        let rt = tokio_rt();
        let mut handles = Vec::with_capacity(N as usize);
        group.bench_function(
            "tokio joined (tokio::spawn, await handles in block_on)",
            |b| {
                b.iter(|| {
                    let sum = rt.block_on(async {
                        for i in 0..N {
                            handles.push(tokio::spawn(async move { black_box(i) }));
                        }
                        let mut sum = 0;
                        for handle in handles.drain(..) {
                            sum += handle.await.expect("task failed");
                        }
                        sum
                    });
                    assert_eq!(sum, SUM);
                })
            },
        );
    }
    {
        let ex = async_executor::LocalExecutor::new();
        let mut tasks = Vec::with_capacity(N as usize);
        group.bench_function(
            "async-executor joined (spawn, await tasks in block_on(ex.run))",
            |b| {
                b.iter(|| {
                    let sum = futures_lite::future::block_on(ex.run(async {
                        for i in 0..N {
                            tasks.push(ex.spawn(async move { black_box(i) }));
                        }
                        let mut sum = 0;
                        for task in tasks.drain(..) {
                            sum += task.await;
                        }
                        sum
                    }));
                    assert_eq!(sum, SUM);
                })
            },
        );
    }

    group.finish();
}

fn yields(c: &mut Criterion) {
    let mut group = c.benchmark_group("yield 100k times in one spawned task");
    configure(&mut group);

    {
        let ex = LocalExecutor::new();
        group.bench_function("ours (yield_now, run_until_stalled)", |b| {
            b.iter(|| {
                ex.spawn(async {
                    for _ in 0..N {
                        concurrent_tasks::yield_now().await;
                    }
                    count_done();
                })
                .detach();
                ex.run_until_stalled();
                assert_eq!(take_done(), 1);
            })
        });
    }
    {
        let rt = tokio_rt();
        group.bench_function("tokio (tokio::task::yield_now, in tokio::spawn)", |b| {
            b.iter(|| {
                rt.block_on(async {
                    tokio::spawn(async {
                        for _ in 0..N {
                            tokio::task::yield_now().await;
                        }
                        count_done();
                    })
                    .await
                    .expect("yielder");
                });
                assert_eq!(take_done(), 1);
            })
        });
    }
    {
        let ex = async_executor::LocalExecutor::new();
        group.bench_function(
            "async-executor (futures_lite yield_now, try_tick loop)",
            |b| {
                b.iter(|| {
                    ex.spawn(async {
                        for _ in 0..N {
                            futures_lite::future::yield_now().await;
                        }
                        count_done();
                    })
                    .detach();
                    while ex.try_tick() {}
                    assert_eq!(take_done(), 1);
                })
            },
        );
    }

    group.finish();
}

criterion_group!(benches, spawn_run, yields);
criterion_main!(benches);
