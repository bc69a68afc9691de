//! S1–S3 end to end: a whole long-running program on one pool — a
//! heartbeat, timed jobs, a request that survives reconnects, a failing
//! detached job — and a prompt stop at the end.

mod common;

use common::{wait_until, within, Unhandled, LONG};
use concurrent_tasks::{
    sleep, timeout, BlockingThreadedTaskPool, PeriodicTask, RestartableTask, TaskError,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

const MS: Duration = Duration::from_millis(1);
const RUN_FOR: Duration = Duration::from_secs(3);
const BEAT: Duration = Duration::from_millis(25);

/// How long job `i` takes: 10 to 150 ms.
fn fetch_ms(i: u64) -> u64 {
    10 + (i * 47) % 141
}

/// A job that takes `fetch_ms(i)` and answers `i`.
async fn fetch(i: u64) -> u64 {
    sleep(Duration::from_millis(fetch_ms(i))).await;
    i
}

#[test]
fn s2_a_long_running_service_program_on_one_pool_ends_with_a_prompt_stop() {
    within(Duration::from_secs(30), || {
        let unhandled = Unhandled::default();
        let pool = BlockingThreadedTaskPool::builder()
            .name("service")
            .size(2)
            .timeout(300 * MS)
            .on_unhandled(unhandled.hook())
            .start()
            .unwrap();

        // The heartbeat: a service, outside the size and the 300 ms timeout.
        let beats = Arc::new(AtomicUsize::new(0));
        let b = beats.clone();
        let heartbeat = PeriodicTask::new(BEAT, move || {
            b.fetch_add(1, Ordering::SeqCst);
            async {}
        });
        let heartbeat_handle = heartbeat.start_on(&pool).unwrap();

        // The request: its driver is a service; f "sends" it on the pool.
        let sends = Arc::new(AtomicUsize::new(0));
        let sent_on = Arc::new(Mutex::new(Vec::new()));
        let (s, o) = (sends.clone(), sent_on.clone());
        let request = RestartableTask::<String>::new(move || {
            s.fetch_add(1, Ordering::SeqCst);
            let sent_on = o.clone();
            async move {
                sent_on
                    .lock()
                    .unwrap()
                    .push(std::thread::current().name().map(String::from));
                std::future::pending::<()>().await
            }
        });
        assert_eq!(request.start_on(&pool), Ok(true));

        // The reader completes the request when told the reply is there.
        let (reply_tx, reply_rx) = mpsc::channel::<()>();
        let reader = {
            let request = request.clone();
            std::thread::spawn(move || {
                reply_rx.recv_timeout(LONG).expect("told to reply");
                request.set_result("reply".to_owned())
            })
        };

        // A detached job that fails: only the hook can see it.
        pool.create_task(async {
            sleep(5 * MS).await;
            panic!("detached job failed");
        })
        .unwrap()
        .detach();

        // The main loop: timed jobs built here, run there; reconnects.
        let start = Instant::now();
        let (mut ok, mut timed_out) = (0, 0);
        let mut i = 0;
        while start.elapsed() < RUN_FOR {
            let outcome = pool.run(timeout(100 * MS, fetch(i)));
            match outcome {
                Ok(Ok(v)) => {
                    assert_eq!(v, i);
                    assert!(
                        fetch_ms(i) < 140,
                        "job {i} of {} ms beat 100 ms",
                        fetch_ms(i)
                    );
                    ok += 1;
                }
                Ok(Err(TaskError::TimedOut)) => {
                    assert!(fetch_ms(i) > 60, "job {i} of {} ms timed out", fetch_ms(i));
                    timed_out += 1;
                }
                other => panic!("job {i}: {other:?}"),
            }
            if i == 5 || i == 10 {
                // The connection drops and comes back.
                assert!(request.cancel(), "reconnect at job {i}: an attempt ran");
                assert!(request.start(), "reconnect at job {i}: a new attempt");
            }
            if i == 15 {
                reply_tx.send(()).unwrap();
            }
            i += 1;
        }
        assert!(i > 15, "only {i} jobs in {RUN_FOR:?}");
        assert!(ok > 0 && timed_out > 0, "ok {ok}, timed out {timed_out}");

        assert!(reader.join().unwrap(), "the reader completed the request");
        assert_eq!(request.wait_timeout(LONG), Some(Ok("reply".to_owned())));
        assert_eq!(sends.load(Ordering::SeqCst), 3, "sent, then resent twice");
        wait_until("the third send to run", || {
            sent_on.lock().unwrap().len() == 3
        });
        assert!(
            sent_on
                .lock()
                .unwrap()
                .iter()
                .all(|name| name.as_deref() == Some("service")),
            "every send ran on the pool: {:?}",
            sent_on.lock().unwrap()
        );

        let beat_count = beats.load(Ordering::SeqCst);
        let at_least = (RUN_FOR.as_millis() / BEAT.as_millis()) as usize / 3;
        assert!(beat_count >= at_least, "{beat_count} beats < {at_least}");
        assert!(heartbeat.is_running(), "the heartbeat outlived the timeout");

        // A job still in flight at the stop: the pool's timeout ends it.
        let stuck = pool.create_task(std::future::pending::<()>()).unwrap();

        let stopping = Instant::now();
        pool.stop().unwrap();
        let took = stopping.elapsed();
        assert!(took < Duration::from_secs(1), "stop took {took:?}");

        // Every handle is resolved.
        let mut stuck = stuck;
        assert_eq!(
            stuck.wait_timeout(Duration::ZERO),
            Some(Err(TaskError::TimedOut))
        );
        let mut heartbeat_handle = heartbeat_handle;
        assert_eq!(
            heartbeat_handle.wait_timeout(Duration::ZERO),
            Some(Err(TaskError::Cancelled))
        );
        assert!(!heartbeat.is_running());
        assert!(request.is_finished());
        assert_eq!(
            unhandled.take(),
            vec![TaskError::Panicked("detached job failed".into())],
            "the hook saw the detached failure, and only it"
        );
    });
}
