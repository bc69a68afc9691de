//! Unit tests of `pool/gate.rs`.

use super::*;

fn noop() -> Waker {
    waker_fn::waker_fn(|| {})
}

/// Enters a full gate: the ticket of the task now in line.
fn must_wait(gate: &mut Gate, w: &Waker) -> Key {
    match gate.enter(w) {
        Entry::Wait(ticket) => ticket,
        Entry::Granted => panic!("full: must wait"),
    }
}

#[test]
fn l1_gate_grants_in_order_and_skips_tasks_that_left() {
    let w = noop();
    let mut gate = Gate::new(1);
    assert!(matches!(gate.enter(&w), Entry::Granted));
    let [a, b, c] = [(); 3].map(|()| must_wait(&mut gate, &w));
    assert!(gate.leave(a).is_empty(), "a leaves before being granted");
    assert_eq!(gate.release().len(), 1, "the place goes to b");
    assert!(matches!(gate.poll_ticket(c, &w), Entry::Wait(_)));
    assert!(matches!(gate.poll_ticket(b, &w), Entry::Granted));
    // b granted, then c: growing the size grants c at once.
    gate.size = 2;
    assert_eq!(gate.grant().len(), 1);
    assert!(matches!(gate.poll_ticket(c, &w), Entry::Granted));
}

#[test]
fn l1_gate_passes_on_a_place_granted_to_a_task_that_left() {
    let w = noop();
    let mut gate = Gate::new(1);
    assert!(matches!(gate.enter(&w), Entry::Granted));
    let [a, b] = [(); 2].map(|()| must_wait(&mut gate, &w));
    assert_eq!(gate.release().len(), 1, "granted to a");
    assert_eq!(gate.leave(a).len(), 1, "a's place goes on to b");
    assert!(matches!(gate.poll_ticket(b, &w), Entry::Granted));
    assert!(gate.release().is_empty());
    assert!(matches!(gate.enter(&w), Entry::Granted), "room again");
}
