//! Unit tests of `executor/cell.rs`.

use super::*;
use crate::executor::task::Task;
use crate::LocalExecutor;
use alloc::boxed::Box;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

/// A task on a cell: wakes itself once through the cell, then delivers
/// the number of polls it took.
struct Twice {
    delivery: Delivery<Arc<TaskCell<u32>>>,
    polls: u32,
}

impl Future for Twice {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls += 1;
        if self.polls == 1 {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let polls = self.polls;
        let refused = self.delivery.deliver(Ok(polls));
        assert_eq!(refused, None, "a handle holds the cell");
        Poll::Ready(())
    }
}

impl Task for Twice {
    fn header(&self) -> &Header {
        self.delivery.shared.header()
    }

    fn waker(&self) -> Waker {
        self.delivery.shared.waker()
    }
}

#[test]
fn t6_a_task_cell_is_its_waker_and_a_kept_one_is_harmless_after_the_end() {
    let ex = LocalExecutor::new_manual();
    let cell = TaskCell::<u32>::new(ex.inner.shared.clone());
    let task = Twice {
        delivery: Delivery::new(cell.clone()),
        polls: 0,
    };
    ex.inner.spawn_boxed(Box::pin(task));
    ex.run_until_stalled();
    assert_eq!(cell.slot.try_take(), Some(Ok(2)), "woken through the cell");
    assert!(ex.is_empty());
    // A waker kept past the task's end queues nothing.
    let kept = Waker::from(cell.clone());
    kept.wake();
    ex.run_until_stalled();
    assert!(ex.is_empty());
    assert_eq!(Arc::strong_count(&cell), 1, "the task let go of its cell");
}

#[test]
fn p7_a_delivery_dropped_first_completes_the_slot_with_cancelled() {
    let ex = LocalExecutor::new_manual();
    let cell = TaskCell::<u32>::new(ex.inner.shared.clone());
    drop(Delivery::new(cell.clone()));
    assert_eq!(cell.slot.try_take(), Some(Err(TaskError::Cancelled)));
    // Nobody else holds a cell: the outcome comes back, unread.
    let mut alone = Delivery::new(TaskCell::<u32>::new(ex.inner.shared.clone()));
    assert_eq!(alone.deliver(Ok(1)), Some(Ok(1)));
    assert_eq!(alone.deliver(Ok(2)), Some(Ok(2)), "delivered once");
}

#[test]
fn p7_a_delivered_task_dropped_later_leaves_its_outcome_and_refuses_a_second() {
    let ex = LocalExecutor::new_manual();
    let cell = TaskCell::<u32>::new(ex.inner.shared.clone());
    let mut delivery = Delivery::new(cell.clone());
    assert_eq!(delivery.deliver(Ok(1)), None, "stored");
    assert_eq!(
        delivery.deliver(Ok(2)),
        Some(Ok(2)),
        "the slot refuses a second"
    );
    drop(delivery);
    assert_eq!(cell.slot.try_take(), Some(Ok(1)), "no `Cancelled` over it");
}
