//! The slot's unit tests, and its loom models (`loom_` tests).

use super::*;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicUsize, Ordering};

fn counting_waker() -> (Waker, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    (
        waker_fn::waker_fn(move || {
            c.fetch_add(1, Ordering::SeqCst);
        }),
        count,
    )
}

#[test]
fn first_completion_wins_and_wakes_every_waiter_once() {
    let slot = Slot::new();
    let (w1, n1) = counting_waker();
    let (w2, n2) = counting_waker();
    assert!(slot.poll_take(&mut Context::from_waker(&w1)).is_pending());
    assert!(slot.poll_take(&mut Context::from_waker(&w1)).is_pending());
    assert!(slot.poll_take(&mut Context::from_waker(&w2)).is_pending());
    // `will_wake` is best-effort (Miri gives each codegen unit its own
    // vtable), so the de-duplication is checked natively only.
    if !cfg!(miri) {
        assert_eq!(
            slot.waiter_count(),
            2,
            "a re-registered waker is stored once"
        );
    }
    assert_eq!(slot.complete(Ok(1)), Ok(()));
    assert_eq!(
        slot.complete(Ok(2)),
        Err(Ok(2)),
        "second completion is refused"
    );
    assert_eq!(n2.load(Ordering::SeqCst), 1);
    let n1 = n1.load(Ordering::SeqCst);
    assert!(n1 == 1 || (cfg!(miri) && n1 == 2), "woken {n1} times");
    assert!(slot.is_complete());
    assert_eq!(slot.try_take(), Some(Ok(1)));
    assert_eq!(slot.try_take(), Some(Err(TaskError::AlreadyTaken)));
    let (w3, _) = counting_waker();
    assert_eq!(
        slot.poll_take(&mut Context::from_waker(&w3)),
        Poll::Ready(Err(TaskError::AlreadyTaken))
    );
}

#[cfg(feature = "std")]
#[test]
fn detach_hands_back_an_unread_outcome_and_refuses_later_ones() {
    let slot: Slot<u8> = Slot::new();
    assert_eq!(slot.detach(), None);
    assert_eq!(slot.complete(Ok(1)), Err(Ok(1)), "refused after detach");
    assert!(!slot.is_complete());
    let slot: Slot<u8> = Slot::new();
    slot.complete(Err(TaskError::TimedOut)).unwrap();
    assert_eq!(slot.detach(), Some(Err(TaskError::TimedOut)));
    assert_eq!(slot.detach(), None, "handed back once");
}

#[cfg(feature = "std")]
#[test]
fn poll_clone_gives_every_reader_the_outcome_and_wakes_waiting_ones() {
    let slot = Slot::new();
    let (w, woken) = counting_waker();
    let mut cx = Context::from_waker(&w);
    assert!(slot.poll_clone(&mut cx).is_pending());
    slot.complete(Ok(alloc::string::String::from("hit")))
        .unwrap();
    assert_eq!(woken.load(Ordering::SeqCst), 1);
    for _ in 0..3 {
        assert_eq!(slot.poll_clone(&mut cx), Poll::Ready(Ok("hit".into())));
    }
    assert_eq!(
        slot.try_take(),
        Some(Ok("hit".into())),
        "still there to take"
    );
    assert_eq!(
        slot.poll_clone(&mut cx),
        Poll::Ready(Err(TaskError::AlreadyTaken))
    );
}

#[cfg(feature = "std")]
#[test]
fn the_last_of_several_handles_detaches_the_slot() {
    let slot: Slot<u8> = Slot::new();
    slot.add_handle();
    slot.complete(Err(TaskError::TimedOut)).unwrap();
    assert_eq!(slot.drop_handle(), None, "another handle still reads it");
    assert_eq!(
        slot.drop_handle(),
        Some(Err(TaskError::TimedOut)),
        "the last one hands back the unread outcome"
    );
}

#[test]
fn empty_slot_has_nothing_to_take() {
    let slot: Slot<u8> = Slot::new();
    assert_eq!(slot.try_take(), None);
    assert!(!slot.is_complete());
    assert_eq!(
        alloc::format!("{slot:?}"),
        "Slot { state: \"empty\", waiters: 0 }"
    );
}

#[cfg(feature = "std")]
#[test]
fn wait_take_returns_value_completed_from_another_thread() {
    let slot = Arc::new(Slot::new());
    let s = slot.clone();
    let t = std::thread::spawn(move || s.complete(Ok(7)));
    assert_eq!(slot.wait_take(None), Some(Ok(7)));
    t.join().unwrap().unwrap();
}

#[cfg(feature = "std")]
#[test]
fn wait_take_times_out_on_an_empty_slot() {
    let slot: Slot<u8> = Slot::new();
    assert_eq!(slot.wait_take(Some(std::time::Duration::ZERO)), None);
    assert_eq!(
        slot.wait_take(Some(std::time::Duration::from_millis(1))),
        None
    );
    assert_eq!(
        slot.try_take(),
        None,
        "a timed-out wait leaves the slot usable"
    );
}

#[cfg(feature = "std")]
#[test]
fn completion_races_with_many_waiting_threads() {
    const THREADS: usize = 4;
    let rounds = if cfg!(miri) { 3 } else { 200 };
    for _ in 0..rounds {
        let slot = Arc::new(Slot::<Arc<u8>>::new());
        // Several threads poll; one takes the value, the others see AlreadyTaken.
        let waiters: Vec<_> = (0..THREADS)
            .map(|_| {
                let s = slot.clone();
                std::thread::spawn(move || s.wait_take(None).unwrap())
            })
            .collect();
        slot.complete(Ok(Arc::new(9))).unwrap();
        let outcomes: Vec<_> = waiters.into_iter().map(|h| h.join().unwrap()).collect();
        let oks = outcomes.iter().filter(|o| o.is_ok()).count();
        assert_eq!(oks, 1, "exactly one waiter takes the value: {outcomes:?}");
        assert!(outcomes
            .iter()
            .all(|o| matches!(o, Ok(_) | Err(TaskError::AlreadyTaken))));
    }
}

/// A poll function over a `Slot<u8, u32>` that counts its polls in the
/// companion state and clones the outcome.
fn poll_counting(slot: &Slot<u8, u32>, cx: &mut Context<'_>) -> Poll<Result<u8, TaskError>> {
    slot.with(|polls, out| {
        *polls += 1;
        match out.peek() {
            Some(outcome) => Poll::Ready(outcome.clone()),
            None => {
                out.register(cx.waker());
                Poll::Pending
            }
        }
    })
}

#[test]
fn with_changes_companion_and_outcome_together_and_wakes_after_unlock() {
    let slot: Arc<Slot<u8, u32>> = Arc::new(Slot::with_extra(0));
    // The waker re-enters the slot: it would deadlock if woken under the lock.
    let seen = Arc::new(AtomicUsize::new(usize::MAX));
    let waker = {
        let (slot, seen) = (slot.clone(), seen.clone());
        waker_fn::waker_fn(move || {
            let extra = slot.with(|extra, out| {
                assert!(out.is_complete());
                *extra
            });
            seen.store(extra as usize, Ordering::SeqCst);
        })
    };
    let mut cx = Context::from_waker(&waker);
    assert!(poll_counting(&slot, &mut cx).is_pending());
    assert_eq!(slot.with(|_, out| out.waiters()), 1);
    let refused = slot.with(|extra, out| {
        *extra = 7;
        assert_eq!(out.complete(Ok(1)), Ok(()));
        assert_eq!(out.peek(), Some(&Ok(1)));
        out.complete(Ok(2))
    });
    assert_eq!(refused, Err(Ok(2)), "first completion wins");
    assert_eq!(
        seen.load(Ordering::SeqCst),
        7,
        "woken once, after the unlock"
    );
    assert!(slot.is_complete());
    // Peeking does not take: every poll gets the outcome.
    assert_eq!(poll_counting(&slot, &mut cx), Poll::Ready(Ok(1)));
    assert_eq!(poll_counting(&slot, &mut cx), Poll::Ready(Ok(1)));
    assert_eq!(slot.complete(Ok(3)), Err(Ok(3)));
    assert_eq!(slot.with(|extra, _| *extra), 9, "7 + two polls");
}

#[test]
fn try_with_gives_up_while_the_lock_is_held() {
    let slot: Slot<u8, u32> = Slot::with_extra(5);
    assert_eq!(slot.try_with(|extra, _| *extra), Some(5));
    let inside = slot.with(|_, _| slot.try_with(|extra, _| *extra));
    assert_eq!(inside, None);
    assert_eq!(
        slot.try_take(),
        None,
        "the taking methods work with a companion"
    );
}

#[cfg(feature = "std")]
#[test]
fn wait_with_returns_what_another_thread_completes() {
    let slot: Arc<Slot<u8, u32>> = Arc::new(Slot::with_extra(0));
    let s = slot.clone();
    let t = std::thread::spawn(move || s.complete(Ok(4)));
    let got = slot.wait_with(None, |cx| poll_counting(&slot, cx));
    assert_eq!(got, Some(Ok(4)));
    t.join().unwrap().unwrap();
}

#[cfg(feature = "std")]
#[test]
fn wait_with_times_out_and_repeated_waits_register_one_waker() {
    let slot: Slot<u8, u32> = Slot::with_extra(0);
    assert_eq!(
        slot.wait_with(Some(std::time::Duration::ZERO), |cx| poll_counting(
            &slot, cx
        )),
        None
    );
    assert_eq!(slot.with(|polls, _| *polls), 1, "ZERO polls once");
    for _ in 0..3 {
        let got = slot.wait_with(Some(std::time::Duration::from_millis(1)), |cx| {
            poll_counting(&slot, cx)
        });
        assert_eq!(got, None);
    }
    if !cfg!(miri) {
        assert_eq!(slot.waiter_count(), 1, "the thread's waker is reused");
    }
}

mod loom_tests {
    use super::*;
    use crate::sync::loom::model::{flag_waker, model, thread};
    use alloc::sync::Arc;

    /// One thread completes the slot while another polls it with a waker
    /// that sets a flag.
    ///
    /// Property, no lost wake: the poll takes the value, or it returned
    /// `Pending` and its waker was woken (completion takes the waiters
    /// under the same lock that `poll_take` registers under), and the next
    /// poll takes the value. A completion that `is_complete` reports is
    /// there to take.
    #[test]
    fn loom_slot_complete_wakes_a_poll_that_went_pending() {
        model(|| {
            let slot = Arc::new(Slot::<u8>::new());
            let woken = Arc::new(AtomicBool::new(false));
            let waker = flag_waker(&woken);
            let completer = {
                let slot = slot.clone();
                thread::spawn(move || slot.complete(Ok(1)))
            };
            let mut cx = Context::from_waker(&waker);
            let seen_complete = slot.is_complete();
            let first = slot.poll_take(&mut cx);
            if seen_complete {
                assert_eq!(
                    first,
                    Poll::Ready(Ok(1)),
                    "is_complete, then nothing to take"
                );
            }
            assert_eq!(completer.join().unwrap(), Ok(()));
            match first {
                Poll::Ready(outcome) => assert_eq!(outcome, Ok(1)),
                Poll::Pending => {
                    assert!(
                        woken.load(Ordering::SeqCst),
                        "lost wake: Pending, and the completion never woke the poll"
                    );
                    assert_eq!(slot.poll_take(&mut cx), Poll::Ready(Ok(1)));
                }
            }
        });
    }

    /// The last two handles of a slot are dropped on two threads while a
    /// third completes it.
    ///
    /// Property: exactly one handle drop detaches the slot (`handles`
    /// counts down to 0 once), and the outcome goes exactly once either to
    /// that drop (stored first: read, unread) or back to the completer
    /// (refused: the slot was detached first) — never both, never lost.
    #[cfg(feature = "std")]
    #[test]
    fn loom_slot_outcome_is_read_or_handed_back_exactly_once() {
        model(|| {
            let slot = Arc::new(Slot::<u8>::new());
            slot.add_handle();
            let droppers: Vec<_> = (0..2)
                .map(|_| {
                    let slot = slot.clone();
                    thread::spawn(move || slot.drop_handle())
                })
                .collect();
            let completed = slot.complete(Ok(1));
            let read: Vec<_> = droppers
                .into_iter()
                .filter_map(|d| d.join().unwrap())
                .collect();
            match completed {
                Ok(()) => assert_eq!(read, [Ok(1)], "stored, so the detaching drop reads it"),
                Err(back) => {
                    assert_eq!(back, Ok(1));
                    assert!(read.is_empty(), "handed back and read: {read:?}");
                }
            }
            assert_eq!(slot.handles.load(Ordering::Relaxed), 0);
        });
    }
}

/// The waiters share the outcome's space (see `SlotState`): a slot of a
/// small output is its lock, one `Result<T, TaskError>` and two flags.
#[test]
#[cfg(target_pointer_width = "64")]
fn a_slot_keeps_its_waiters_in_the_outcomes_space() {
    let outcome = core::mem::size_of::<Result<u32, TaskError>>();
    assert_eq!(core::mem::size_of::<SlotState<u32>>(), outcome);
    assert!(
        core::mem::size_of::<Slot<u32>>() <= outcome + 16,
        "{} bytes",
        core::mem::size_of::<Slot<u32>>()
    );
}

#[test]
fn a_waker_registered_after_the_outcome_is_not_kept() {
    let slot = Slot::<u32>::new();
    let (early, early_wakes) = counting_waker();
    slot.with(|_, out| out.register(&early));
    assert_eq!(slot.waiter_count(), 1);
    slot.complete(Ok(1)).unwrap();
    assert_eq!(early_wakes.load(Ordering::SeqCst), 1);
    let (late, late_wakes) = counting_waker();
    slot.with(|_, out| out.register(&late));
    assert_eq!(slot.waiter_count(), 0, "nothing left to wait for");
    assert_eq!(late_wakes.load(Ordering::SeqCst), 0);
    assert_eq!(slot.try_take(), Some(Ok(1)));
}
