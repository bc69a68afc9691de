//! T4: `timeout(d, fut)` yields the output or `TimedOut`.

use concurrent_tasks::{block_on, sleep, timeout, LocalExecutor, TaskError};
use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

#[test]
fn t4_timeout_yields_the_output_when_the_future_is_in_time() {
    block_on(async {
        let r = timeout(Duration::from_millis(200), async {
            sleep(Duration::from_millis(5)).await;
            "done"
        })
        .await;
        assert_eq!(r, Ok("done"));
    });
}

#[test]
fn t4_timeout_yields_timed_out_and_drops_the_future() {
    struct Flag(Rc<Cell<bool>>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    block_on(async {
        let dropped = Rc::new(Cell::new(false));
        let flag = Flag(dropped.clone());
        let start = Instant::now();
        let r = timeout(Duration::from_millis(50), async move {
            let _flag = flag;
            sleep(Duration::from_secs(60)).await;
        })
        .await;
        let took = start.elapsed();
        assert_eq!(r, Err(TaskError::TimedOut));
        assert!(dropped.get(), "the timed-out future is dropped");
        assert!(
            took >= Duration::from_millis(50),
            "timed out early: {took:?}"
        );
        assert!(took < Duration::from_millis(90), "timed out late: {took:?}");
    });
}

#[test]
fn t4_zero_timeout_still_polls_the_future_once() {
    block_on(async {
        assert_eq!(timeout(Duration::ZERO, async { 1 }).await, Ok(1));
        assert_eq!(
            timeout(Duration::ZERO, std::future::pending::<()>()).await,
            Err(TaskError::TimedOut)
        );
    });
}

#[test]
fn t4_duration_max_timeout_never_fires() {
    let ex = LocalExecutor::new();
    let r = ex.block_on(async {
        timeout(Duration::MAX, async {
            sleep(Duration::from_millis(5)).await;
            9
        })
        .await
    });
    assert_eq!(r, Ok(9));
}

#[test]
fn t4_timeout_on_a_manual_clock_is_exact() {
    use concurrent_tasks::time::ManualClock;
    let clock = ManualClock::new();
    let ex = LocalExecutor::with_clock(clock.clone());
    let h = ex.spawn(async {
        timeout(
            Duration::from_millis(100),
            sleep(Duration::from_millis(100) + Duration::from_nanos(1)),
        )
        .await
    });
    ex.run_until_stalled();
    ex.advance_time(Duration::from_millis(100));
    ex.run_until_stalled();
    assert!(h.is_finished());
    assert_eq!(ex.block_on(h), Ok(Err(TaskError::TimedOut)));
}
