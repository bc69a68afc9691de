//! Loom models (`loom_` tests) of `executor/task.rs`.

use super::*;
use crate::sync::loom::model::{model, thread};
use core::sync::atomic::AtomicUsize as Count; // bookkeeping, read after the joins

const KEY: Key = Key {
    index: 3,
    generation: 1,
};

/// A header bound to `KEY` (its spawn queued it: it starts
/// `SCHEDULED`), whose executor's unpark waker counts the remote pushes.
fn header() -> (Arc<Header>, Arc<Count>) {
    let pushes = Arc::new(Count::new(0));
    let unpark = {
        let pushes = pushes.clone();
        waker_fn::waker_fn(move || {
            pushes.fetch_add(1, Ordering::Relaxed);
        })
    };
    let header = Arc::new(Header::new(Arc::new(Shared::new(unpark))));
    header.bind(KEY);
    (header, pushes)
}

/// Takes what the remote queue holds (every entry must be the task's).
fn drain(header: &Header) -> usize {
    let mut keys = Vec::new();
    header.shared.drain_remote(&mut keys);
    assert!(keys.iter().all(|&k| k == KEY), "a wrong key: {keys:?}");
    keys.len()
}

/// After `DONE`, nothing queues the task again.
fn assert_done_for_good(header: &Header, pushes: &Count) {
    let before = pushes.load(Ordering::Relaxed);
    header.schedule();
    header.cancel();
    assert_eq!(pushes.load(Ordering::Relaxed), before, "queued after DONE");
}

/// Two threads wake the task while the executor polls it once
/// (`start_poll`, the poll returns `Pending`), takes in the remote
/// wakes, and drops it (`set_done`).
///
/// Property: the one `SCHEDULED` period (from `start_poll` to
/// `set_done`) queues the task at most once; wakes before it find it
/// queued by its spawn, wakes after `DONE` queue nothing; every push
/// lands in the remote queue and is taken by a drain.
#[test]
fn loom_header_wakes_queue_the_task_once_per_period() {
    model(|| {
        let (header, pushes) = header();
        let wakers: Vec<_> = (0..2)
            .map(|_| {
                let header = header.clone();
                thread::spawn(move || header.schedule())
            })
            .collect();
        assert!(matches!(header.start_poll(), PollAction::Poll));
        let mut queued = drain(&header); // the executor's next turn
        header.set_done();
        for waker in wakers {
            waker.join().unwrap();
        }
        queued += drain(&header);
        let pushed = pushes.load(Ordering::Relaxed);
        assert_eq!(queued, pushed, "every push lands in the remote queue");
        assert!(pushed <= 1, "queued {pushed} times in one SCHEDULED period");
        assert_done_for_good(&header, &pushes);
    });
}

/// A wake and a cancel race the executor, which polls the task until it
/// is dropped (cancelled) or completes on its second poll, waiting
/// between polls for a queue entry as its loop does.
///
/// Property: a cancel that happened before a `start_poll` makes it
/// `Drop`; an accepted cancel always queues the task or finds it queued
/// (the executor never waits forever); each wait finds exactly one
/// entry, and at most one stale entry (a wake racing the last poll)
/// outlives `DONE`.
#[test]
fn loom_header_cancel_is_seen_by_the_next_poll_or_comes_after_done() {
    model(|| {
        let (header, pushes) = header();
        // Set by each thread once its call returned.
        let (woke, cancelled) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let waker = {
            let (header, woke) = (header.clone(), woke.clone());
            thread::spawn(move || {
                header.schedule();
                woke.store(true, Ordering::Release);
            })
        };
        let canceller = {
            let (header, cancelled) = (header.clone(), cancelled.clone());
            thread::spawn(move || {
                header.cancel();
                cancelled.store(true, Ordering::Release);
            })
        };
        let mut polls = 0;
        let mut start_polls = 0;
        loop {
            let cancel_before = cancelled.load(Ordering::Acquire);
            start_polls += 1;
            match header.start_poll() {
                PollAction::Drop => break,
                PollAction::Poll => {
                    assert!(!cancel_before, "a cancel before the poll was missed");
                    polls += 1;
                    if polls == 2 {
                        break; // the future completed
                    }
                }
            }
            // Pending: wait for the next queue entry.
            loop {
                let all_finished =
                    woke.load(Ordering::Acquire) && cancelled.load(Ordering::Acquire);
                match drain(&header) {
                    0 if all_finished => {
                        panic!("the cancel was accepted but nothing queued the task")
                    }
                    0 => thread::yield_now(),
                    1 => break,
                    n => panic!("queued {n} times in one SCHEDULED period"),
                }
            }
        }
        header.set_done();
        waker.join().unwrap();
        canceller.join().unwrap();
        let stale = drain(&header);
        assert!(stale <= 1, "{stale} entries outlive DONE");
        // Each poll after the first took one entry: nothing else was queued.
        let pushed = pushes.load(Ordering::Relaxed);
        assert_eq!(pushed, start_polls - 1 + stale, "pushes vs polls");
        assert_done_for_good(&header, &pushes);
    });
}
