//! `timeout`: race a future against a [`Sleep`].

use super::Sleep;
use crate::error::TaskError;
use core::future::Future;
use core::pin::Pin;
use core::task::Poll;

/// Polls `future` until it completes (`Ok(output)`) or `sleep` does
/// (`Err(TimedOut)`, and `future` is dropped). The future is polled first, so
/// one that is ready at once wins even against a zero timeout.
pub(crate) async fn race<F: Future>(sleep: Sleep, future: F) -> Result<F::Output, TaskError> {
    let mut sleep = sleep;
    let mut future = core::pin::pin!(future);
    core::future::poll_fn(move |cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match Pin::new(&mut sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(TaskError::TimedOut)),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}
