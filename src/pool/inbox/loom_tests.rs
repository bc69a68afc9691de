//! Loom models (`loom_` tests) of `pool/inbox.rs`.

use super::*;
use crate::sync::loom::model::{flag_waker, model, thread};

/// The notify/park handshake: a sender pushes a job and calls
/// `Notify::wake` while the receiver runs `poll_recv` (look, register
/// its waker and arm, look again).
///
/// Property, no lost wake: the poll finds the job, or it returned
/// `Pending` and its waker was woken (which only `wake`, after the push,
/// does), and the next poll receives the job.
#[test]
fn loom_inbox_send_wakes_a_receiver_that_went_pending() {
    model(|| {
        let (tx, rx) = inbox::<u8>();
        let woken = Arc::new(AtomicBool::new(false));
        let waker = flag_waker(&woken);
        let sender = thread::spawn(move || {
            assert!(tx.send(7).is_ok(), "the receiver is alive");
            tx // kept alive: the inbox must not read as closed
        });
        let mut cx = Context::from_waker(&waker);
        let first = rx.poll_recv(&mut cx);
        let _tx = sender.join().unwrap();
        match first {
            Poll::Ready(Some(7)) => {}
            Poll::Pending => {
                assert!(
                    woken.load(Ordering::SeqCst),
                    "lost wake: Pending, and the send never woke the receiver"
                );
                assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(7)));
            }
            other => panic!("unexpected first poll: {other:?}"),
        }
    });
}
