//! The start/cancel/join methods of every task made again from a factory —
//! [`BackgroundTask`](crate::BackgroundTask), and the periodic tasks, whose
//! factory returns their schedule loop — written once.
//!
//! A task using them keeps its current attempt in a field
//! `attempt: Attempt<_>` and makes the next attempt's future with a method
//! `make(&self)`. It gives the macro its name (for the panic outside an
//! executor), its output, the bounds on its factory (outside a pool, then
//! on one), and the rustdoc of each method, each ended by a `;`, in the order
//! `start`, `try_start`, `start_in`, `start_on`, `cancel`, `is_running`,
//! `join` (the panic of `start` and the first line of `try_start` are the
//! same for all: they are written here).

/// Writes `start`, `try_start`, `start_in`, `start_on`, `cancel`,
/// `is_running` and `join` into a task's `impl` block.
macro_rules! attempt_methods {
    (
        $task:literal -> $out:ty,
        where [$($local:tt)*],
        send [$($send:tt)*];
        $(#[$start:meta])* ;
        $(#[$try_start:meta])* ;
        $(#[$start_in:meta])* ;
        $(#[$start_on:meta])* ;
        $(#[$cancel:meta])* ;
        $(#[$is_running:meta])* ;
        $(#[$join:meta])* ;
    ) => {
        $(#[$start])*
        ///
        /// # Panics
        /// Outside an executor; [`try_start`](Self::try_start) returns
        /// [`TaskError::NoExecutor`](crate::TaskError::NoExecutor) instead.
        #[cfg(feature = "std")]
        #[track_caller]
        pub fn start<Fut>(&self) -> $crate::executor::JoinHandle<$out>
        where
            $($local)*
        {
            match self.try_start() {
                Ok(handle) => handle,
                Err(_) => $crate::background::outside_executor($task),
            }
        }

        /// Like [`start`](Self::start), but returns
        /// [`TaskError::NoExecutor`](crate::TaskError::NoExecutor) when no executor
        /// runs on this thread (nothing is made or started).
        ///
        $(#[$try_start])*
        #[cfg(feature = "std")]
        pub fn try_start<Fut>(
            &self,
        ) -> Result<$crate::executor::JoinHandle<$out>, $crate::error::TaskError>
        where
            $($local)*
        {
            self.attempt.start_here(|| self.make())
        }

        $(#[$start_in])*
        pub fn start_in<Fut>(
            &self,
            executor: &$crate::executor::LocalExecutor,
        ) -> $crate::executor::JoinHandle<$out>
        where
            $($local)*
        {
            self.attempt.start_in(executor, || self.make())
        }

        $(#[$start_on])*
        #[cfg(feature = "std")]
        pub fn start_on<S, Fut>(
            &self,
            pool: &S,
        ) -> Result<$crate::pool::TaskHandle<$out>, $crate::error::TaskError>
        where
            S: $crate::pool::Spawn + ?Sized,
            $($send)*
        {
            self.attempt.start_on(pool, || self.make())
        }

        $(#[$cancel])*
        pub fn cancel(&self) {
            self.attempt.cancel();
        }

        $(#[$is_running])*
        pub fn is_running(&self) -> bool {
            self.attempt.is_running()
        }

        $(#[$join])*
        pub async fn join(&self) -> Option<Result<$out, $crate::error::TaskError>> {
            self.attempt.join().await
        }
    };
}

pub(crate) use attempt_methods;

/// The panic of a `start` called outside an executor, naming the way out.
#[cfg(feature = "std")]
#[track_caller]
pub(crate) fn outside_executor(what: &str) -> ! {
    panic!(
        "{what}::start called outside an executor: call it inside block_on(..) or a \
         pool task, use start_in(&executor) or start_on(&pool), or use try_start to get \
         an error instead"
    )
}
