//! Loom models (`loom_` tests) of `pool/stats.rs`.

use super::*;
use crate::sync::loom::model::{flag_waker, model, thread};
use std::sync::Arc;

/// With `capacity = 1` and the one place taken, a caller waits for room
/// (`poll_queue`: try, register its waker, set `room_wanted`, retry)
/// while another thread frees the place (`unqueued`: decrement, then
/// wake the waiters if `room_wanted`).
///
/// Property, no lost wake: the retry takes the freed place, or the
/// poll returned `Pending` and its waker was woken (then the next poll
/// takes the place).
///
/// This model found a lost wake when the caller *stored* `true`: the
/// two sides formed a store-buffering pair (the freer's swap could read
/// the initial `false` while the caller's retry, an Acquire load that
/// `fetch_update` does not follow with a write, still read the old
/// `queued`). The caller now swaps, so the two RMWs order each other.
#[test]
fn loom_stats_unqueued_wakes_a_caller_waiting_for_room() {
    model(|| {
        let stats = Arc::new(Stats::with_capacity(1));
        assert!(stats.try_queue(), "the one place");
        let woken = Arc::new(AtomicBool::new(false));
        let waker = flag_waker(&woken);
        let freer = {
            let stats = stats.clone();
            thread::spawn(move || stats.unqueued())
        };
        let mut cx = Context::from_waker(&waker);
        let first = stats.poll_queue(&mut cx);
        freer.join().unwrap();
        if first.is_pending() {
            assert!(
                woken.load(Ordering::SeqCst),
                "lost wake: Pending, and the freed place never woke the caller"
            );
            assert!(stats.poll_queue(&mut cx).is_ready());
        }
        assert_eq!(stats.snapshot().queued, 1);
    });
}
