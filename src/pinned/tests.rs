//! The pin projection under Miri: a self-referential (`!Unpin`) future is
//! polled in place, ended in place, and dropped in place (also when its
//! destructor panics).

use super::*;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::future::Future;
use core::task::{Context, Poll};

/// Records what the wrapper tells its rest.
#[derive(Default)]
struct Notes(Vec<String>);

impl TaskRest for Notes {
    fn future_drop_panicked(&mut self, message: String) {
        self.0.push(message);
    }
}

/// A future that borrows from itself across an await (so it is `!Unpin`
/// and moving it after the first poll would be unsound).
async fn self_borrowing() -> usize {
    let data = [1usize, 2, 3];
    let first = &data[0];
    crate::yield_now().await;
    *first + data.len()
}

fn poll_once<F: Future<Output = usize>>(
    pinned: Pin<&mut PinnedFuture<F, Notes>>,
) -> Poll<Option<usize>> {
    let waker = waker_fn::waker_fn(|| {});
    let mut cx = Context::from_waker(&waker);
    let mut this = pinned.project();
    let Some(future) = this.future.as_mut().as_pin_mut() else {
        return Poll::Ready(None);
    };
    match future.poll(&mut cx) {
        Poll::Ready(v) => {
            this.end_future().unwrap();
            Poll::Ready(Some(v))
        }
        Poll::Pending => Poll::Pending,
    }
}

#[test]
fn a_self_borrowing_future_is_polled_and_ended_in_place() {
    let mut task = Box::pin(PinnedFuture::new(self_borrowing(), Notes::default()));
    assert_eq!(poll_once(task.as_mut()), Poll::Pending);
    assert_eq!(poll_once(task.as_mut()), Poll::Ready(Some(4)));
    assert_eq!(poll_once(task.as_mut()), Poll::Ready(None), "ended");
    assert!(task.rest().0.is_empty());
}

#[test]
fn a_wrapper_dropped_mid_way_drops_its_future_in_place() {
    let mut task = Box::pin(PinnedFuture::new(self_borrowing(), Notes::default()));
    assert_eq!(poll_once(task.as_mut()), Poll::Pending);
    drop(task); // the future, borrowing from itself, is dropped where it lies
}

/// Panics when dropped.
#[cfg(feature = "std")]
struct Bomb;

#[cfg(feature = "std")]
impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("bomb");
    }
}

#[cfg(feature = "std")]
#[test]
fn k1_a_panicking_future_drop_goes_to_the_rest() {
    use std::sync::{Arc, Mutex};

    struct Shared(Arc<Mutex<Vec<String>>>);
    impl TaskRest for Shared {
        fn future_drop_panicked(&mut self, message: String) {
            self.0.lock().unwrap().push(message);
        }
    }

    let seen = Arc::new(Mutex::new(Vec::new()));
    let bomb = Bomb;
    let future = async move {
        let _bomb = &bomb;
        core::future::pending::<()>().await;
    };
    let mut task = Box::pin(PinnedFuture::new(future, Shared(seen.clone())));
    let waker = waker_fn::waker_fn(|| {});
    let this = task.as_mut().project();
    let polled = this
        .future
        .as_pin_mut()
        .unwrap()
        .poll(&mut Context::from_waker(&waker));
    assert!(polled.is_pending());
    drop(task);
    assert_eq!(*seen.lock().unwrap(), ["bomb"]);

    // Ended in a poll: the panic comes back to the caller.
    let bomb = Bomb;
    let mut task = Box::pin(PinnedFuture::new(
        async move {
            let _bomb = &bomb;
        },
        Notes::default(),
    ));
    let mut this = task.as_mut().project();
    assert_eq!(this.end_future(), Err("bomb".into()));
    assert!(this.future.is_none());
}

#[test]
fn the_wrapper_is_unpin_only_with_an_unpin_future() {
    fn unpin<T: Unpin>() {}
    unpin::<PinnedFuture<core::future::Ready<u8>, Notes>>();
    // (A `!Unpin` future makes the wrapper `!Unpin`: the auto trait.)
}
