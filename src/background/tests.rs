//! Background tasks on an executor driven by hand: the no_std path
//! (`start_in`), run in both builds and under Miri.

use super::BackgroundTask;
use crate::{LocalExecutor, TaskError};
use alloc::rc::Rc;
use core::cell::Cell;
use core::time::Duration;

const MS: Duration = Duration::from_millis(1);

/// Decrements its counter when the attempt holding it is dropped.
struct Alive(Rc<Cell<u32>>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

#[test]
fn b5_start_in_cancels_the_running_attempt_and_makes_a_fresh_one() {
    let ex = LocalExecutor::new_manual();
    let (made, alive) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    let task = BackgroundTask::new(|| {
        made.set(made.get() + 1);
        alive.set(alive.get() + 1);
        let (guard, nap, n) = (Alive(alive.clone()), ex.sleep(10 * MS), made.get());
        async move {
            let _guard = guard;
            nap.await;
            n
        }
    });
    let first = task.start_in(&ex);
    ex.run_until_stalled();
    let second = task.start_in(&ex);
    ex.run_until_stalled();
    assert_eq!(first.try_take(), Some(Err(TaskError::Cancelled)));
    assert_eq!((made.get(), alive.get()), (2, 1));
    ex.advance_time(10 * MS);
    ex.run_until_stalled();
    assert_eq!(second.try_take(), Some(Ok(2)));
    assert_eq!(alive.get(), 0);
}

#[test]
fn b1_b2_cancel_and_drop_stop_the_attempt_on_its_executor() {
    let ex = LocalExecutor::new_manual();
    let alive = Rc::new(Cell::new(0));
    let task = BackgroundTask::new(|| {
        alive.set(alive.get() + 1);
        let guard = Alive(alive.clone());
        async move {
            let _guard = guard;
            core::future::pending::<()>().await
        }
    });
    let handle = task.start_in(&ex);
    ex.run_until_stalled();
    assert!(task.is_running());
    task.cancel();
    ex.run_until_stalled();
    assert_eq!(handle.try_take(), Some(Err(TaskError::Cancelled)));
    assert!(!task.is_running());
    task.start_in(&ex).detach();
    ex.run_until_stalled();
    assert_eq!(alive.get(), 1);
    drop(task);
    ex.run_until_stalled();
    assert_eq!(alive.get(), 0, "dropping the task cancelled its attempt");
    assert!(ex.is_empty());
}

#[test]
fn b3_b6_join_takes_the_output_once() {
    let ex = LocalExecutor::new_manual();
    let task = BackgroundTask::new(|| async { 7 });
    let joined = Rc::new(Cell::new(None));
    // `join` before any start: None at once.
    let fresh = BackgroundTask::new(|| async { 0 });
    let j = joined.clone();
    ex.spawn(async move { j.set(Some(fresh.join().await)) })
        .detach();
    ex.run_until_stalled();
    assert_eq!(joined.take(), Some(None));
    task.start_in(&ex).detach();
    ex.run_until_stalled();
    let j = joined.clone();
    let reader = ex.spawn(async move {
        let first = task.join().await;
        let second = task.join().await;
        j.set(Some(first));
        second
    });
    ex.run_until_stalled();
    assert_eq!(joined.take(), Some(Some(Ok(7))));
    assert_eq!(reader.try_take(), Some(Ok(None)), "already taken");
}

/// The message of a caught panic.
#[cfg(feature = "std")]
fn message(payload: std::boxed::Box<dyn core::any::Any + Send>) -> std::string::String {
    match payload.downcast::<&str>() {
        Ok(text) => (*text).into(),
        Err(payload) => *payload.downcast::<std::string::String>().unwrap(),
    }
}

#[test]
#[cfg(feature = "std")]
fn a_factory_that_panics_or_starts_its_own_task_panics_in_start_and_leaves_the_task_usable() {
    use core::cell::OnceCell;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    let ex = Rc::new(LocalExecutor::new_manual());
    let task: Rc<OnceCell<BackgroundTask<u32>>> = Rc::default();
    // Weak: the factory must not keep its own task alive.
    let (me, on, calls) = (Rc::downgrade(&task), ex.clone(), Cell::new(0));
    let made = BackgroundTask::boxed(move || {
        calls.set(calls.get() + 1);
        match calls.get() {
            1 => panic!("factory broke"),
            2 => drop(me.upgrade().unwrap().get().unwrap().start_in(&on)),
            _ => {}
        }
        async { 1 }
    });
    assert!(task.set(made).is_ok());
    let task = task.get().unwrap();
    let broke = catch_unwind(AssertUnwindSafe(|| task.start_in(&ex))).unwrap_err();
    assert_eq!(
        message(broke),
        "factory broke",
        "the factory's panic goes on"
    );
    let again = catch_unwind(AssertUnwindSafe(|| task.start_in(&ex))).unwrap_err();
    assert!(message(again).contains("inside its own factory"));
    let handle = task.start_in(&ex);
    ex.run_until_stalled();
    assert_eq!(handle.try_take(), Some(Ok(1)), "the task is left usable");
}
