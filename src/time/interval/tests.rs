//! The missed-tick policies, as pure arithmetic.

use super::MissedTickBehavior::*;

#[test]
fn t7_missed_tick_policies_pick_the_documented_next_tick() {
    // Period 10, tick due at 30 taken at 35 (late, but not by a period).
    for b in [Burst, Delay, Skip] {
        assert_eq!(b.next(30, 35, 10), Some(40), "{b:?} on time");
    }
    // Tick due at 10 taken at 35: missed 20 and 30.
    assert_eq!(Burst.next(10, 35, 10), Some(20));
    assert_eq!(Delay.next(10, 35, 10), Some(45));
    assert_eq!(Skip.next(10, 35, 10), Some(40));
    // Exactly on a grid point counts as missed; Skip goes to the next one.
    assert_eq!(Skip.next(10, 30, 10), Some(40));
    // Overflow means "never".
    assert_eq!(Burst.next(u64::MAX - 1, 0, 10), None);
    assert_eq!(Delay.next(0, u64::MAX, 10), None);
    assert_eq!(Skip.next(0, u64::MAX - 5, u64::MAX / 2), Some(u64::MAX - 1));
    assert_eq!(Skip.next(0, u64::MAX - 1, u64::MAX / 2), None);
}
