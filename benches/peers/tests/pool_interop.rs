//! P11: `TaskHandle` is `Send + Sync`, a `Future` that tokio, smol and our
//! executor can await, with blocking `wait` / `wait_timeout`, `cancel`,
//! `is_finished`; dropping it detaches the task. The async front never
//! blocks the caller's executor thread (tokio current-thread, smol, ours).

// The root package's test helpers, shared rather than copied.
#[path = "../../../tests/common/mod.rs"]
mod common;

use common::{within, Gate, LONG};
use concurrent_tasks::{
    block_on, sleep, spawn, AsyncThreadedTaskPool, BlockingThreadedTaskPool, PoolStats, TaskError,
    TaskHandle, TaskPoolSpawner,
};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// How long the pool-side work lasts while the caller's executor ticks.
/// 100 ms gives 20 ticks of 5 ms on an idle machine, but on an overloaded
/// 2-core machine (4 busy loops) a 5 ms ticker got as few as 6 of them: the
/// window is 200 ms so that >= 10 ticks holds under load. A blocked caller
/// thread gets 0 ticks in the window either way.
const NAP: Duration = Duration::from_millis(200);
const TICK: Duration = Duration::from_millis(5);
const MIN_TICKS: usize = 10;
/// Rounds of ping-pong between a pool task and a task of the caller's
/// executor: possible only if `run`'s caller leaves its thread free.
const ROUNDS: u32 = 10;

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn gated<T: Send + 'static>(gate: &Gate, value: T) -> impl Future<Output = T> + Send + 'static {
    let gate = gate.wait();
    async move {
        gate.await;
        value
    }
}

#[test]
fn p11_handle_and_pools_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_clone<T: Clone>() {}
    assert_send_sync::<TaskHandle<u32>>();
    assert_send_sync::<TaskHandle<Result<Vec<u8>, String>>>();
    assert_send_sync::<BlockingThreadedTaskPool>();
    assert_send_sync::<AsyncThreadedTaskPool>();
    assert_send_sync::<TaskPoolSpawner>();
    assert_clone::<TaskPoolSpawner>();
    assert_send_sync::<PoolStats>();
    fn assert_future<F: Future<Output = Result<u32, TaskError>>>() {}
    assert_future::<TaskHandle<u32>>();
}

#[test]
fn p11_handle_awaited_from_tokio_current_thread() {
    within(Duration::from_secs(30), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p11-tokio")
            .start()
            .unwrap();
        let gate = Gate::default();
        let h = pool.create_task(gated(&gate, 5u32)).unwrap();
        let ready = pool.create_task(async { 6u32 }).unwrap();
        let rt = tokio_rt();
        let got = rt.block_on(async {
            // Registered with tokio's waker first, completed from the pool
            // thread later.
            let waiter = tokio::spawn(h);
            tokio::task::yield_now().await;
            gate.open();
            (waiter.await.unwrap(), ready.await)
        });
        assert_eq!(got, (Ok(5), Ok(6)));
        // A task that sleeps on the pool's timers, awaited on tokio's.
        let slept = rt.block_on(
            pool.create_task(async {
                sleep(Duration::from_millis(20)).await;
                7u32
            })
            .unwrap(),
        );
        assert_eq!(slept, Ok(7));
        pool.stop().unwrap();
    });
}

#[test]
fn p11_handle_awaited_from_smol() {
    within(Duration::from_secs(30), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p11-smol")
            .start()
            .unwrap();
        let gate = Gate::default();
        let h = pool.create_task(gated(&gate, "smol")).unwrap();
        let opener = {
            let gate = gate.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(10));
                gate.open();
            })
        };
        assert_eq!(smol::block_on(h), Ok("smol"));
        opener.join().unwrap();
        let ex = smol::LocalExecutor::new();
        let got = smol::block_on(ex.run(async {
            let a = pool.create_task(async { 1 }).unwrap();
            let b = pool
                .create_task(async {
                    sleep(Duration::from_millis(10)).await;
                    2
                })
                .unwrap();
            let a = ex.spawn(a);
            (a.await, b.await)
        }));
        assert_eq!(got, (Ok(1), Ok(2)));
        pool.stop().unwrap();
    });
}

#[test]
fn p11_wait_and_wait_timeout() {
    within(Duration::from_secs(30), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p11-wait")
            .start()
            .unwrap();
        assert_eq!(pool.create_task(async { 1 }).unwrap().wait(), Ok(1));

        let gate = Gate::default();
        let mut h = pool.create_task(gated(&gate, 2)).unwrap();
        assert_eq!(h.wait_timeout(Duration::ZERO), None, "only checks");
        assert_eq!(
            h.wait_timeout(Duration::from_millis(20)),
            None,
            "not done yet"
        );
        assert!(!h.is_finished(), "the handle stays usable");
        gate.open();
        assert_eq!(h.wait_timeout(LONG), Some(Ok(2)));
        assert!(h.is_finished());
        assert_eq!(h.wait_timeout(LONG), Some(Err(TaskError::AlreadyTaken)));
        assert_eq!(
            h.wait_timeout(Duration::ZERO),
            Some(Err(TaskError::AlreadyTaken))
        );

        // wait() from another thread while the task sleeps.
        let h = pool
            .create_task(async {
                sleep(Duration::from_millis(20)).await;
                3
            })
            .unwrap();
        let waited = std::thread::spawn(move || h.wait());
        assert_eq!(waited.join().unwrap(), Ok(3));

        // A huge timeout means "no limit", not an overflow.
        let mut h = pool.create_task(async { 4 }).unwrap();
        assert_eq!(h.wait_timeout(Duration::MAX), Some(Ok(4)));

        // Polled as a future first (pending), then waited on.
        let gate = Gate::default();
        let mut h = pool.create_task(gated(&gate, 5)).unwrap();
        block_on(async {
            assert!(futures_lite::future::poll_once(&mut h).await.is_none());
        });
        gate.open();
        assert_eq!(h.wait_timeout(LONG), Some(Ok(5)));

        // Waited on first (not done), then awaited on tokio.
        let gate = Gate::default();
        let mut h = pool.create_task(gated(&gate, 6)).unwrap();
        assert_eq!(h.wait_timeout(Duration::from_millis(5)), None);
        let opener = gate.clone();
        let got = tokio_rt().block_on(async move {
            let waiter = tokio::spawn(h);
            tokio::task::yield_now().await;
            opener.open();
            waiter.await.unwrap()
        });
        assert_eq!(got, Ok(6));
        pool.stop().unwrap();
    });
}

#[test]
fn p11_cancel_and_is_finished() {
    within(Duration::from_secs(30), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p11-cancel")
            .start()
            .unwrap();
        let h = pool.create_task(std::future::pending::<u8>()).unwrap();
        assert!(!h.is_finished());
        h.cancel();
        let mut h = h;
        assert_eq!(h.wait_timeout(LONG), Some(Err(TaskError::Cancelled)));
        assert!(h.is_finished());

        let h = pool.create_task(async { 1 }).unwrap();
        let deadline = std::time::Instant::now() + LONG;
        while !h.is_finished() {
            assert!(std::time::Instant::now() < deadline);
            std::thread::yield_now();
        }
        assert!(h.is_finished(), "is_finished does not take the output");
        assert_eq!(h.wait(), Ok(1));
        pool.stop().unwrap();
    });
}

#[test]
fn p11_dropping_the_handle_detaches_the_task() {
    within(Duration::from_secs(30), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p11-detach")
            .start()
            .unwrap();
        let gate = Gate::default();
        let (tx, rx) = mpsc::channel();
        let ran = Arc::new(AtomicBool::new(false));
        {
            let (gate, ran, tx) = (gate.wait(), ran.clone(), tx.clone());
            let h = pool
                .create_task(async move {
                    gate.await;
                    sleep(Duration::from_millis(5)).await;
                    ran.store(true, Ordering::SeqCst);
                    tx.send("dropped handle").unwrap();
                })
                .unwrap();
            drop(h);
        }
        {
            let tx = tx.clone();
            pool.create_task(async move { tx.send("detach()").unwrap() })
                .unwrap()
                .detach();
        }
        gate.open();
        let mut got = vec![
            rx.recv_timeout(LONG).expect("a detached task ran"),
            rx.recv_timeout(LONG).expect("a detached task ran"),
        ];
        got.sort_unstable();
        assert_eq!(got, ["detach()", "dropped handle"]);
        assert!(ran.load(Ordering::SeqCst));
        pool.stop().unwrap();
    });
}

/// Counts ticks of `TICK` on the caller's executor while `during` runs.
async fn ticks_during<F: Future>(ticks: &AtomicUsize, during: F) -> (F::Output, usize) {
    let before = ticks.load(Ordering::SeqCst);
    let out = during.await;
    (out, ticks.load(Ordering::SeqCst) - before)
}

/// `start().await` (with a context that takes `NAP` to build) and
/// `run().await` of a `NAP` sleep, each leaving `host`'s thread free to tick.
async fn start_and_run_without_blocking(
    ticks: &AtomicUsize,
    name: &str,
    host: &str,
) -> AsyncThreadedTaskPool {
    let (pool, n) = ticks_during(
        ticks,
        AsyncThreadedTaskPool::builder()
            .name(name)
            .async_context(|| async {
                sleep(NAP).await;
                Ok::<_, String>(())
            })
            .start(),
    )
    .await;
    let pool = pool.unwrap();
    assert!(n >= MIN_TICKS, "start blocked {host}'s thread: {n} ticks");
    let (out, n) = ticks_during(
        ticks,
        pool.run(async {
            sleep(NAP).await;
            1
        }),
    )
    .await;
    assert_eq!(out, Ok(1));
    assert!(n >= MIN_TICKS, "run blocked {host}'s thread: {n} ticks");
    pool
}

/// `stop().await` while a `NAP` task drains, leaving `host`'s thread free
/// to tick.
async fn stop_without_blocking(ticks: &AtomicUsize, pool: AsyncThreadedTaskPool, host: &str) {
    pool.create_task(async { sleep(NAP).await })
        .unwrap()
        .detach();
    let (out, n) = ticks_during(ticks, pool.stop()).await;
    assert_eq!(out, Ok(()));
    assert!(n >= MIN_TICKS, "stop blocked {host}'s thread: {n} ticks");
}

#[test]
fn p11_async_front_never_blocks_a_tokio_current_thread_runtime() {
    within(Duration::from_secs(30), || {
        tokio_rt().block_on(async {
            let ticks = Arc::new(AtomicUsize::new(0));
            let ticker = {
                let ticks = ticks.clone();
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(TICK).await;
                        ticks.fetch_add(1, Ordering::SeqCst);
                    }
                })
            };
            tokio::task::yield_now().await;
            let pool = start_and_run_without_blocking(&ticks, "p11-tokio-front", "tokio").await;

            // A handle awaited on tokio.
            let h = pool
                .create_task(async {
                    sleep(NAP).await;
                    2
                })
                .unwrap();
            let (out, n) = ticks_during(&ticks, h).await;
            assert_eq!(out, Ok(2));
            assert!(n >= MIN_TICKS, "awaiting a handle blocked: {n} ticks");

            stop_without_blocking(&ticks, pool, "tokio").await;
            ticker.abort();
        });
    });
}

#[test]
fn p11_async_front_run_ping_pongs_with_a_tokio_task_on_the_callers_thread() {
    // Deterministic: the pool task can only finish if a tokio task on the
    // caller's (single) thread answers it while `run` is pending.
    within(Duration::from_secs(30), || {
        tokio_rt().block_on(async {
            let pool = AsyncThreadedTaskPool::builder()
                .name("p11-tokio-pp")
                .timeout(LONG) // a blocked caller gives TimedOut, not a hang
                .start()
                .await
                .unwrap();
            let (to_caller, mut from_pool) = tokio::sync::mpsc::unbounded_channel::<u32>();
            let (to_pool, mut from_caller) = tokio::sync::mpsc::unbounded_channel::<u32>();
            let caller_thread = std::thread::current().id();
            let echo = tokio::spawn(async move {
                while let Some(v) = from_pool.recv().await {
                    assert_eq!(std::thread::current().id(), caller_thread);
                    if to_pool.send(v + 1).is_err() {
                        break;
                    }
                }
            });
            let out = pool
                .run(async move {
                    let mut v = 0;
                    for _ in 0..ROUNDS {
                        to_caller.send(v).unwrap();
                        v = from_caller.recv().await.unwrap();
                    }
                    v
                })
                .await;
            assert_eq!(out, Ok(ROUNDS));
            echo.await.unwrap();
            pool.stop().await.unwrap();
        });
    });
}

#[test]
fn p11_async_front_run_ping_pongs_with_a_smol_task_on_the_callers_thread() {
    within(Duration::from_secs(30), || {
        let ex = smol::LocalExecutor::new();
        smol::block_on(ex.run(async {
            let pool = AsyncThreadedTaskPool::builder()
                .name("p11-smol-pp")
                .timeout(LONG)
                .start()
                .await
                .unwrap();
            let (to_caller, from_pool) = smol::channel::unbounded::<u32>();
            let (to_pool, from_caller) = smol::channel::unbounded::<u32>();
            let echo = ex.spawn(async move {
                while let Ok(v) = from_pool.recv().await {
                    if to_pool.send(v + 1).await.is_err() {
                        break;
                    }
                }
            });
            let out = pool
                .run(async move {
                    let mut v = 0;
                    for _ in 0..ROUNDS {
                        to_caller.send(v).await.unwrap();
                        v = from_caller.recv().await.unwrap();
                    }
                    v
                })
                .await;
            assert_eq!(out, Ok(ROUNDS));
            echo.await;
            pool.stop().await.unwrap();
        }));
    });
}

#[test]
fn p11_async_front_never_blocks_smol() {
    within(Duration::from_secs(30), || {
        let ex = smol::LocalExecutor::new();
        smol::block_on(ex.run(async {
            let ticks = Arc::new(AtomicUsize::new(0));
            let ticker = {
                let ticks = ticks.clone();
                ex.spawn(async move {
                    loop {
                        smol::Timer::after(TICK).await;
                        ticks.fetch_add(1, Ordering::SeqCst);
                    }
                })
            };
            smol::future::yield_now().await;
            let pool = start_and_run_without_blocking(&ticks, "p11-smol-front", "smol").await;
            stop_without_blocking(&ticks, pool, "smol").await;
            drop(ticker);
        }));
    });
}

#[test]
fn p11_async_front_never_blocks_our_own_executor() {
    within(Duration::from_secs(30), || {
        block_on(async {
            let ticks = Arc::new(AtomicUsize::new(0));
            let ticker = {
                let ticks = ticks.clone();
                spawn(async move {
                    loop {
                        sleep(TICK).await;
                        ticks.fetch_add(1, Ordering::SeqCst);
                    }
                })
            };
            let pool = AsyncThreadedTaskPool::builder()
                .name("p11-own-front")
                .timeout(LONG)
                .start()
                .await
                .unwrap();
            let (out, n) = ticks_during(
                &ticks,
                pool.run(async {
                    sleep(NAP).await;
                    1
                }),
            )
            .await;
            assert_eq!(out, Ok(1));
            // Only "some": under CPU contention our executor's own 5 ms
            // timers run late (its spin-and-yield before parking), which is
            // no fault of the async front; a blocked thread gets 0 ticks.
            // The ping-pong below is the exact proof.
            assert!(n > 0, "run blocked our executor: {n} ticks");

            // Deterministic: the pool task finishes only if a task of this
            // executor answers it while `run` is pending.
            let (to_caller, from_pool) = smol::channel::unbounded::<u32>();
            let (to_pool, from_caller) = smol::channel::unbounded::<u32>();
            let echo = spawn(async move {
                while let Ok(v) = from_pool.recv().await {
                    if to_pool.send(v + 1).await.is_err() {
                        break;
                    }
                }
            });
            let out = pool
                .run(async move {
                    let mut v = 0;
                    for _ in 0..ROUNDS {
                        to_caller.send(v).await.unwrap();
                        v = from_caller.recv().await.unwrap();
                    }
                    v
                })
                .await;
            assert_eq!(out, Ok(ROUNDS));
            echo.await.unwrap();
            pool.stop().await.unwrap();
            ticker.cancel();
        });
    });
}
