//! T7: `interval(period)` ticks at a fixed rate, missed ticks follow
//! `MissedTickBehavior`. Run on a manual clock so the schedule is exact.

use concurrent_tasks::time::{ManualClock, MissedTickBehavior};
use concurrent_tasks::{interval, LocalExecutor};
use std::time::Duration;

const MS: Duration = Duration::from_millis(1);

/// Ticks of a 10 ms interval, in ms since start, when the task is busy for
/// 35 ms after its third tick.
fn ticks_with_a_stall(behavior: MissedTickBehavior) -> Vec<u128> {
    let clock = ManualClock::new();
    let ex = LocalExecutor::with_clock(clock.clone());
    ex.block_on(async {
        let mut every = interval(10 * MS);
        every.set_missed_tick_behavior(behavior);
        let mut seen = Vec::new();
        for n in 0..7 {
            every.tick().await;
            seen.push(clock.now().as_millis());
            if n == 2 {
                clock.advance(35 * MS); // busy: the clock moves, no await
            }
        }
        seen
    })
}

#[test]
fn t7_interval_ticks_at_a_fixed_rate() {
    let clock = ManualClock::new();
    let ex = LocalExecutor::with_clock(clock.clone());
    let times = ex.block_on(async {
        let mut every = interval(10 * MS);
        let mut times = Vec::new();
        for _ in 0..4 {
            let at = every.tick().await;
            times.push(at);
            assert_eq!(clock.now().as_millis() % 10, 0);
        }
        times
    });
    for pair in times.windows(2) {
        assert_eq!(pair[1] - pair[0], 10 * MS);
    }
    assert_eq!(clock.now(), 30 * MS);
}

#[test]
fn t7_burst_catches_up_every_missed_tick() {
    // Ticks at 0, 10, 20; busy until 55; then 30, 40, 50 at once (55), 60.
    assert_eq!(
        ticks_with_a_stall(MissedTickBehavior::Burst),
        [0, 10, 20, 55, 55, 55, 60]
    );
}

#[test]
fn t7_delay_restarts_the_schedule_from_the_late_tick() {
    assert_eq!(
        ticks_with_a_stall(MissedTickBehavior::Delay),
        [0, 10, 20, 55, 65, 75, 85]
    );
}

#[test]
fn t7_skip_drops_missed_ticks_and_stays_on_the_grid() {
    assert_eq!(
        ticks_with_a_stall(MissedTickBehavior::Skip),
        [0, 10, 20, 55, 60, 70, 80]
    );
}

#[test]
fn t7_interval_on_the_real_clock_keeps_its_period() {
    let start = std::time::Instant::now();
    concurrent_tasks::block_on(async {
        let mut every = interval(20 * MS);
        for _ in 0..4 {
            every.tick().await;
        }
    });
    let took = start.elapsed();
    assert!(took >= 60 * MS, "{took:?}");
    assert!(took < 100 * MS, "{took:?}");
}

#[test]
#[should_panic(expected = "period must be non-zero")]
fn t7_zero_period_is_refused_clearly() {
    concurrent_tasks::block_on(async {
        let _ = interval(Duration::ZERO);
    });
}
