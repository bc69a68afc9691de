//! The state machine alone: pure transitions, no clock, no driver.

use super::*;

fn with_driver() -> State {
    let mut s = State::new();
    let id = s.next_driver_id();
    assert!(s.install_driver(id));
    s
}

#[test]
fn start_needs_a_driver_then_begins_numbered_attempts() {
    let mut s = State::new();
    assert_eq!(s.phase(), Phase::Idle);
    assert_eq!(s.start(Some(0), Some(10)), Start::NeedDriver);
    assert_eq!(s.phase(), Phase::Idle, "nothing changed");
    let id = s.next_driver_id();
    assert!(s.install_driver(id));
    assert!(!s.install_driver(s.drivers + 1), "one driver at a time");
    assert_eq!(s.start(Some(5), Some(10)), Start::Begin { epoch: 1 });
    assert_eq!(
        s.phase(),
        Phase::Running {
            epoch: 1,
            deadline: Deadline::At(15)
        }
    );
    assert!(s.is_running(1) && !s.is_running(2));
    assert_eq!(s.start(Some(6), Some(10)), Start::AlreadyRunning, "R2");
    assert_eq!(s.cancel(), Cancel::EndAttempt);
    assert_eq!(s.cancel(), Cancel::Nothing, "R2: cancel while cancelled");
    assert_eq!(s.start(Some(7), Some(10)), Start::Begin { epoch: 2 });
    assert_eq!(s.epoch(), 2);
}

#[test]
fn deadlines_expire_at_their_time_and_never_without_a_limit() {
    let mut s = with_driver();
    assert_eq!(s.start(Some(100), Some(50)), Start::Begin { epoch: 1 });
    assert_eq!(s.expire(Some(149)), Complete::AlreadyDone, "not early");
    assert_eq!(s.expire(None), Complete::AlreadyDone, "no clock, no expiry");
    assert_eq!(s.expire(Some(150)), Complete::Store);
    assert_eq!(s.phase(), Phase::Done);
    assert_eq!(s.start(Some(151), Some(50)), Start::Finished);

    let mut s = with_driver();
    let _ = s.start(Some(u64::MAX - 1), Some(5));
    assert_eq!(
        s.expire(Some(u64::MAX)),
        Complete::AlreadyDone,
        "overflow is never"
    );
    let _ = s.cancel();
    let _ = s.start(Some(0), None);
    assert_eq!(s.expire(Some(u64::MAX)), Complete::AlreadyDone, "no limit");

    let mut s = with_driver();
    let _ = s.start(Some(9), Some(0));
    assert_eq!(
        s.expire(Some(9)),
        Complete::Store,
        "a zero timeout expires at once"
    );
}

#[test]
fn timer_fires_only_for_the_attempt_still_running() {
    let mut s = with_driver();
    let _ = s.start(Some(0), Some(10));
    let _ = s.cancel();
    let _ = s.start(Some(1), Some(10));
    assert_eq!(s.timer_fired(1), Complete::AlreadyDone, "stale attempt");
    assert_eq!(s.timer_fired(2), Complete::Store);
    assert_eq!(s.timer_fired(2), Complete::AlreadyDone);
}

#[test]
fn first_completion_wins_in_any_phase() {
    let mut s = State::new();
    assert_eq!(s.complete(), Complete::Store, "before any start");
    assert_eq!(s.complete(), Complete::AlreadyDone);
    assert_eq!(s.cancel(), Cancel::Nothing);

    let mut s = with_driver();
    let _ = s.start(Some(0), Some(10));
    let _ = s.cancel();
    assert_eq!(s.complete(), Complete::Store, "while cancelled");
    assert_eq!(s.expire(Some(100)), Complete::AlreadyDone);
}

#[test]
fn a_lost_driver_cancels_the_attempt_and_is_replaced() {
    let mut s = with_driver();
    let old = s.drivers;
    let _ = s.start(Some(0), Some(10));
    assert!(!s.driver_gone(old + 7), "a stray driver changes nothing");
    assert!(s.driver_gone(old));
    assert_eq!(s.phase(), Phase::Cancelled);
    assert!(!s.has_driver());
    assert_eq!(s.drive(old, Some(1), Some(10)), DriverAction::Exit);
    assert_eq!(s.start(Some(1), Some(10)), Start::NeedDriver);
    let new = s.next_driver_id();
    assert_ne!(new, old);
    assert!(s.install_driver(new));
    assert_eq!(s.drive(new, Some(1), Some(10)), DriverAction::Idle);
    assert_eq!(s.start(Some(1), Some(10)), Start::Begin { epoch: 2 });
    assert_eq!(
        s.drive(new, Some(2), Some(10)),
        DriverAction::Run {
            epoch: 2,
            deadline: Some(11)
        }
    );
}

#[test]
fn an_attempt_begun_without_a_clock_gets_its_deadline_at_pickup() {
    let mut s = with_driver();
    let id = s.drivers;
    assert_eq!(s.start(None, Some(10)), Start::Begin { epoch: 1 });
    assert_eq!(
        s.drive(id, None, Some(10)),
        DriverAction::Run {
            epoch: 1,
            deadline: None
        }
    );
    assert_eq!(
        s.drive(id, Some(40), Some(10)),
        DriverAction::Run {
            epoch: 1,
            deadline: Some(50)
        }
    );
    assert_eq!(
        s.drive(id, Some(45), Some(10)),
        DriverAction::Run {
            epoch: 1,
            deadline: Some(50)
        },
        "picked up once"
    );
    assert_eq!(s.expire(Some(50)), Complete::Store);
    assert_eq!(s.drive(id, Some(50), Some(10)), DriverAction::Exit);
}

#[test]
fn abandoning_ends_a_started_task_only() {
    let mut s = State::new();
    assert_eq!(
        s.abandon(),
        Complete::AlreadyDone,
        "never started: no awaiters"
    );
    let mut s = with_driver();
    let _ = s.start(Some(0), None);
    assert_eq!(s.abandon(), Complete::Store);
    assert_eq!(s.phase(), Phase::Done);
    let mut s = with_driver();
    let _ = s.start(Some(0), None);
    let _ = s.cancel();
    assert_eq!(s.abandon(), Complete::Store, "cancelled awaiters are told");
}
