//! `yield_now`: let the other ready tasks run before continuing.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

/// Yields once to the executor: the task is queued again behind the tasks
/// already ready, and resumes at a later turn.
///
/// ```
/// use concurrent_tasks::{block_on, spawn, yield_now};
/// use std::{cell::RefCell, rc::Rc};
///
/// block_on(async {
///     let log = Rc::new(RefCell::new(Vec::new()));
///     let l = log.clone();
///     let other = spawn(async move { l.borrow_mut().push("other") });
///     yield_now().await; // lets `other` run first
///     log.borrow_mut().push("main");
///     other.await.unwrap();
///     assert_eq!(*log.borrow(), ["other", "main"]);
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// Future returned by [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
