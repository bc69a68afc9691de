//! P8 (the context: built on the pool thread before any task, dropped or torn
//! down there after the last task, before stop returns, once each per start;
//! an initialiser error or panic is `Init` from `start`, with no thread left
//! behind) and P12 (`create_task_with` builds a `!Send` future on the pool
//! thread from the context).

mod common;

use common::{wait, wait_until, within};
use concurrent_tasks::{
    block_on, sleep, AsyncThreadedTaskPool, BlockingThreadedTaskPool, TaskError,
};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Whether a thread named `name` (at most 15 bytes) exists in this process;
/// `None` off Linux.
fn thread_named(name: &str) -> Option<bool> {
    assert!(name.len() <= 15, "Linux truncates thread names");
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    Some(tasks.flatten().any(|t| {
        std::fs::read_to_string(t.path().join("comm")).is_ok_and(|comm| comm.trim_end() == name)
    }))
}

fn no_thread_named(name: &str) {
    wait_until(&format!("thread {name:?} to end"), || {
        thread_named(name) != Some(true)
    });
}

/// An ordered log of what happened where.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    /// Records `what` with the current thread's name.
    fn note(&self, what: impl std::fmt::Display) {
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("?");
        self.0.lock().unwrap().push(format!("{what} on {name}"));
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// A context that logs where it is dropped.
struct Ctx {
    cycle: usize,
    log: Log,
}

impl Drop for Ctx {
    fn drop(&mut self) {
        self.log.note(format_args!("drop {}", self.cycle));
    }
}

// === P8 ===

#[test]
fn p8_context_built_before_any_task_dropped_after_the_last_once_per_start() {
    within(Duration::from_secs(30), || {
        let log = Log::default();
        let inits = Arc::new(AtomicUsize::new(0));
        let pool = {
            let (log, inits) = (log.clone(), inits.clone());
            BlockingThreadedTaskPool::builder()
                .name("p8-sync")
                .size(1)
                .context(move || {
                    let cycle = inits.fetch_add(1, Ordering::SeqCst);
                    log.note(format_args!("init {cycle}"));
                    Ok::<_, String>(Ctx {
                        cycle,
                        log: log.clone(),
                    })
                })
                .build()
        };
        for cycle in 0..3 {
            pool.start().unwrap();
            // Buffered tasks (size 1), the last of them still sleeping when
            // stop is called: the drop must wait for all of them.
            let handles: Vec<_> = (0..3)
                .map(|i| {
                    pool.create_task_with(move |ctx: &Ctx| {
                        let (log, seen) = (ctx.log.clone(), ctx.cycle);
                        async move {
                            sleep(Duration::from_millis(10)).await;
                            log.note(format_args!("task {i} of {seen}"));
                            seen
                        }
                    })
                    .unwrap()
                })
                .collect();
            pool.stop().unwrap();
            // Everything is in the log when stop returns.
            let events = log.take();
            assert_eq!(
                events,
                [
                    format!("init {cycle} on p8-sync"),
                    format!("task 0 of {cycle} on p8-sync"),
                    format!("task 1 of {cycle} on p8-sync"),
                    format!("task 2 of {cycle} on p8-sync"),
                    format!("drop {cycle} on p8-sync"),
                ],
                "cycle {cycle}"
            );
            for h in handles {
                assert_eq!(wait(h), Ok(cycle), "tasks see this start's context");
            }
        }
        assert_eq!(inits.load(Ordering::SeqCst), 3, "exactly once per start");
        drop(pool);
        assert_eq!(log.take(), Vec::<String>::new(), "nothing more on drop");
    });
}

#[test]
fn p8_async_context_and_async_teardown_run_on_the_pool_thread_once_per_start() {
    within(Duration::from_secs(30), || {
        let log = Log::default();
        let (inits, teardowns) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let pool = {
            let (log, log2) = (log.clone(), log.clone());
            let (inits, teardowns) = (inits.clone(), teardowns.clone());
            BlockingThreadedTaskPool::builder()
                .name("p8-async")
                .async_context(move || {
                    let (log, inits) = (log.clone(), inits.clone());
                    async move {
                        // A !Send value across an await: the future stays on
                        // the pool thread, and the loop runs (timers work).
                        let marker = Rc::new(());
                        sleep(Duration::from_millis(5)).await;
                        let cycle = inits.fetch_add(1, Ordering::SeqCst);
                        log.note(format_args!("init {cycle}"));
                        drop(marker);
                        Ok::<_, std::io::Error>(cycle)
                    }
                })
                .on_stop(move |cycle: usize| {
                    let (log, teardowns) = (log2.clone(), teardowns.clone());
                    async move {
                        log.note(format_args!("teardown {cycle} begins"));
                        sleep(Duration::from_millis(5)).await;
                        teardowns.fetch_add(1, Ordering::SeqCst);
                        log.note(format_args!("teardown {cycle} ends"));
                    }
                })
                .build()
        };
        for cycle in 0..3 {
            pool.start().unwrap();
            let task_log = log.clone();
            let h = pool
                .create_task_with(move |ctx: &usize| {
                    let seen = *ctx;
                    async move {
                        sleep(Duration::from_millis(30)).await;
                        task_log.note(format_args!("task of {seen}"));
                        seen
                    }
                })
                .unwrap();
            pool.stop().unwrap();
            assert_eq!(
                log.take(),
                [
                    format!("init {cycle} on p8-async"),
                    format!("task of {cycle} on p8-async"),
                    format!("teardown {cycle} begins on p8-async"),
                    format!("teardown {cycle} ends on p8-async"),
                ],
                "cycle {cycle}"
            );
            assert_eq!(wait(h), Ok(cycle));
        }
        assert_eq!(inits.load(Ordering::SeqCst), 3);
        assert_eq!(teardowns.load(Ordering::SeqCst), 3);
    });
}

#[test]
fn p8_async_front_context_lifecycle() {
    within(Duration::from_secs(30), || {
        let log = Log::default();
        block_on(async {
            let pool = {
                let log = log.clone();
                AsyncThreadedTaskPool::builder()
                    .name("p8-afront")
                    .context(move || {
                        log.note("init");
                        Ok::<_, String>(Ctx {
                            cycle: 0,
                            log: log.clone(),
                        })
                    })
                    .start()
                    .await
                    .unwrap()
            };
            let h = pool
                .create_task_with(|ctx: &Ctx| {
                    let log = ctx.log.clone();
                    async move {
                        sleep(Duration::from_millis(20)).await;
                        log.note("task");
                    }
                })
                .unwrap();
            pool.stop().await.unwrap();
            assert_eq!(
                log.take(),
                [
                    "init on p8-afront",
                    "task on p8-afront",
                    "drop 0 on p8-afront"
                ]
            );
            assert_eq!(h.await, Ok(()));
        });
    });
}

#[test]
fn p8_initialiser_error_is_init_and_leaves_no_thread() {
    within(Duration::from_secs(30), || {
        let attempts = Arc::new(AtomicUsize::new(0));
        let pool = {
            let attempts = attempts.clone();
            BlockingThreadedTaskPool::builder()
                .name("p8-err")
                .context(move || {
                    if attempts.fetch_add(1, Ordering::SeqCst) == 0 {
                        Err("database unreachable".to_owned())
                    } else {
                        Ok(7u32)
                    }
                })
                .build()
        };
        let error = pool.start().unwrap_err();
        assert!(
            matches!(&error, TaskError::Init(m) if m.contains("database unreachable")),
            "{error:?}"
        );
        assert!(!pool.is_running());
        no_thread_named("p8-err");
        assert!(matches!(
            pool.create_task(async {}),
            Err(TaskError::NotRunning { .. })
        ));
        // The same pool starts cleanly afterwards.
        pool.start().unwrap();
        assert_eq!(
            wait(
                pool.create_task_with(|n: &u32| std::future::ready(*n))
                    .unwrap()
            ),
            Ok(7)
        );
        pool.stop().unwrap();
        no_thread_named("p8-err");
        assert_eq!(attempts.load(Ordering::SeqCst), 2);
    });
}

#[test]
fn p8_initialiser_panic_is_init_and_leaves_no_thread() {
    within(Duration::from_secs(30), || {
        let pool = BlockingThreadedTaskPool::builder()
            .name("p8-panic")
            .context(|| -> Result<u32, String> { panic!("config file missing") })
            .build();
        for _ in 0..3 {
            let error = pool.start().unwrap_err();
            assert!(
                matches!(&error, TaskError::Init(m) if m.contains("config file missing")),
                "{error:?}"
            );
            assert!(!pool.is_running());
            no_thread_named("p8-panic");
        }
        // Another pool starts fine afterwards.
        let other = BlockingThreadedTaskPool::builder()
            .name("p8-after")
            .start()
            .unwrap();
        assert_eq!(other.run(async { 1 }), Ok(1));
        other.stop().unwrap();
    });
}

#[test]
fn p8_async_initialiser_error_and_panic_on_the_async_front() {
    within(Duration::from_secs(30), || {
        block_on(async {
            let failing = AsyncThreadedTaskPool::builder()
                .name("p8-aerr")
                .async_context(|| async {
                    sleep(Duration::from_millis(5)).await;
                    Err::<(), _>("async init failed")
                })
                .build();
            let error = failing.start().await.unwrap_err();
            assert!(
                matches!(&error, TaskError::Init(m) if m.contains("async init failed")),
                "{error:?}"
            );
            assert!(!failing.is_running());
            no_thread_named("p8-aerr");

            let panicking = AsyncThreadedTaskPool::builder()
                .name("p8-apanic")
                .async_context(|| async {
                    sleep(Duration::from_millis(5)).await;
                    if true {
                        panic!("async init panicked");
                    }
                    Ok::<(), String>(())
                })
                .build();
            let error = panicking.start().await.unwrap_err();
            assert!(
                matches!(&error, TaskError::Init(m) if m.contains("async init panicked")),
                "{error:?}"
            );
            assert!(!panicking.is_running());
            no_thread_named("p8-apanic");
        });
    });
}

#[test]
fn p8_teardown_waits_for_buffered_tasks_and_panicking_teardown_does_not_hang_stop() {
    within(Duration::from_secs(30), || {
        let done = Arc::new(AtomicUsize::new(0));
        let seen_at_teardown = Arc::new(AtomicUsize::new(usize::MAX));
        let pool = {
            let (done, seen) = (done.clone(), seen_at_teardown.clone());
            BlockingThreadedTaskPool::builder()
                .name("p8-drain")
                .size(1)
                .on_unhandled(|_| {})
                .on_stop(move |()| {
                    let (done, seen) = (done.clone(), seen.clone());
                    async move {
                        seen.store(done.load(Ordering::SeqCst), Ordering::SeqCst);
                        panic!("teardown failed");
                    }
                })
                .start()
                .unwrap()
        };
        for _ in 0..4 {
            let done = done.clone();
            pool.create_task(async move {
                sleep(Duration::from_millis(5)).await;
                done.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap()
            .detach();
        }
        pool.stop().unwrap();
        assert_eq!(seen_at_teardown.load(Ordering::SeqCst), 4);
        assert!(!pool.is_running());
        pool.start().unwrap();
        pool.stop().unwrap();
    });
}

// === P12 ===

#[test]
fn p12_create_task_with_builds_a_non_send_future_from_the_context() {
    within(Duration::from_secs(30), || {
        // The context itself is !Send (Rc<RefCell<..>>): it never leaves the
        // pool thread.
        let pool = BlockingThreadedTaskPool::builder()
            .name("p12")
            .context(|| Ok::<_, String>(Rc::new(RefCell::new(Vec::<u32>::new()))))
            .start()
            .unwrap();
        let handles: Vec<_> = (0..5u32)
            .map(|i| {
                pool.create_task_with(move |ctx: &Rc<RefCell<Vec<u32>>>| {
                    let ctx = ctx.clone(); // an Rc held across an await: !Send
                    async move {
                        sleep(Duration::from_millis(1)).await;
                        ctx.borrow_mut().push(i);
                        (
                            ctx.borrow().len(),
                            std::thread::current().name().map(str::to_owned),
                        )
                    }
                })
                .unwrap()
            })
            .collect();
        let mut lens: Vec<usize> = handles
            .into_iter()
            .map(|h| {
                let (len, thread) = wait(h).unwrap();
                assert_eq!(thread.as_deref(), Some("p12"));
                len
            })
            .collect();
        lens.sort_unstable();
        assert_eq!(
            lens,
            [1, 2, 3, 4, 5],
            "every task saw the one shared context"
        );
        let all = wait(
            pool.create_task_with(|ctx: &Rc<RefCell<Vec<u32>>>| {
                let mut all = ctx.borrow().clone();
                all.sort_unstable();
                std::future::ready(all)
            })
            .unwrap(),
        );
        assert_eq!(all, Ok(vec![0, 1, 2, 3, 4]));
        pool.stop().unwrap();
    });
}

#[test]
fn p12_async_front_create_task_with() {
    within(Duration::from_secs(30), || {
        block_on(async {
            let pool = AsyncThreadedTaskPool::builder()
                .name("p12-async")
                .async_context(|| async { Ok::<_, String>(Rc::new(String::from("client"))) })
                .start()
                .await
                .unwrap();
            let h = pool
                .create_task_with(|client: &Rc<String>| {
                    let client = client.clone();
                    async move {
                        sleep(Duration::from_millis(1)).await;
                        client.len()
                    }
                })
                .unwrap();
            assert_eq!(h.await, Ok(6));
            pool.stop().await.unwrap();
        });
    });
}

#[test]
fn p12_pools_with_a_non_send_context_are_still_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<BlockingThreadedTaskPool<Rc<RefCell<Vec<u32>>>>>();
    assert_send_sync::<AsyncThreadedTaskPool<Rc<String>>>();
}

#[test]
fn p8_abandoned_async_start_leaves_no_thread_and_the_pool_starts_again() {
    within(Duration::from_secs(30), || {
        let inits = Arc::new(AtomicUsize::new(0));
        let drops = Arc::new(AtomicUsize::new(0));
        struct Counted(Arc<AtomicUsize>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let pool = {
            let (inits, drops) = (inits.clone(), drops.clone());
            AsyncThreadedTaskPool::builder()
                .name("p8-abandon")
                .async_context(move || {
                    let (inits, drops) = (inits.clone(), drops.clone());
                    async move {
                        sleep(Duration::from_millis(50)).await;
                        inits.fetch_add(1, Ordering::SeqCst);
                        Ok::<_, String>(Counted(drops))
                    }
                })
                .build()
        };
        block_on(async {
            let mut start = Box::pin(pool.start());
            assert!(common::poll_once(&mut start).await.is_none());
        }); // the start future is dropped while the context is being built
        no_thread_named("p8-abandon");
        assert!(!pool.is_running());
        assert_eq!(
            inits.load(Ordering::SeqCst),
            drops.load(Ordering::SeqCst),
            "a context built for nobody is dropped"
        );
        block_on(async {
            pool.start().await.unwrap();
            assert!(pool.is_running());
            assert_eq!(pool.run(async { 1 }).await, Ok(1));
            pool.stop().await.unwrap();
        });
        no_thread_named("p8-abandon");
        assert_eq!(inits.load(Ordering::SeqCst), drops.load(Ordering::SeqCst));
    });
}
