//! The loom shim: the atomics and the lock of the crate's hand-made
//! protocols, which are [loom](https://docs.rs/loom)'s in the loom build and
//! the real ones otherwise (as in tokio and maitake).
//!
//! # Its job
//! Loom checks a concurrent protocol by running a test under every
//! interleaving of its threads and every value the memory model lets each
//! load see; it can do so only for the operations it instruments. The
//! modules whose protocols are modelled therefore take their atomics from
//! `atomic` and their lock from `Mutex` (which every user of
//! `crate::sync::Mutex` gets):
//! - `executor/task.rs`: the `Header` state bits, the `Shared` remote queue;
//! - `slot.rs`: `filled`, `handles` and the slot's lock;
//! - `pool/inbox.rs`: `Notify` (armed flag, waker lock, SeqCst fences), and
//!   in the loom build a stand-in for the crossbeam channel, which loom
//!   does not instrument;
//! - `pool/stats.rs`: `room_wanted`, `queued` and the room waiters' lock.
//!
//! Without the loom build nothing changes: `atomic` is `core::sync::atomic`
//! and `Mutex` is `parking_lot::Mutex` (with `std`) or the spin lock.
//!
//! # The loom build, and why a cfg of our own
//! The models are the `#[test]`s named `loom_...` in the `loom_tests`
//! modules; run them under loom with
//!
//! ```text
//! RUSTFLAGS="--cfg concurrent_tasks_loom" CARGO_TARGET_DIR=target/loom \
//!     cargo test --lib --release loom_
//! ```
//!
//! The usual `--cfg loom` would also switch every dependency that knows
//! that cfg into its own loom mode (tokio, a dev-dependency of the workspace's
//! `benches/peers`, then does not build), so the crate answers to `concurrent_tasks_loom` only. loom is a
//! dev-dependency (under that cfg), so only the crate's own unit tests see
//! it: the shim switches on `all(test, concurrent_tasks_loom)`, and the
//! library that examples and integration tests link stays the real one even
//! with the cfg set. Without the cfg the same models run as plain threaded
//! tests, a few times each (see `model::model`), in `cargo test` and Miri.
//!
//! Loom's types are not `const`: the constructors built on them
//! (`Slot::new`, `Slot::with_extra`) are plain `fn`s.
//!
//! # loom's store/RMW gap
//! loom 0.7 keeps each atomic's modification order as a partial order, and
//! lets a plain `store` that runs concurrently with a read-modify-write of
//! another thread fall *between* that RMW's read and its write (loom issues
//! #254 and #389): a later RMW may then read the first RMW's value as if
//! the store had never happened — an execution no C++/Rust memory model
//! allows. A model with such a pair fails for no fault of the code (a
//! remote wake stranded behind `has_remote`, a wake queuing a task after
//! `DONE`). The two stores that race with RMWs in the models —
//! `Shared::push_remote`'s `has_remote` and `Header::set_done`'s state —
//! are therefore `swap`s in the loom build only, with their result
//! ignored: loom orders a swap correctly, and for these two protocols it
//! gives no more than the store does (neither relies on the release
//! sequence a swap would extend). Everywhere else a store is a store;
//! where a protocol's correctness hinges on a plain store against an RMW
//! (`Stats::poll_queue`), the model keeps the real store (the lost wake its
//! model finds is not this gap: there the RMW reads the initial value and
//! no later RMW follows).

/// The atomics of the modelled protocols.
pub(crate) mod atomic {
    // Each build uses a subset (the no_std one has no inbox, no `fence`).
    #[cfg(all(test, concurrent_tasks_loom))]
    #[allow(unused_imports)]
    pub(crate) use ::loom::sync::atomic::{
        fence, AtomicBool, AtomicU32, AtomicU8, AtomicUsize, Ordering,
    };
    #[cfg(not(all(test, concurrent_tasks_loom)))]
    #[allow(unused_imports)]
    pub(crate) use core::sync::atomic::{
        fence, AtomicBool, AtomicU32, AtomicU8, AtomicUsize, Ordering,
    };
}

#[cfg(all(not(all(test, concurrent_tasks_loom)), feature = "std"))]
pub(crate) use parking_lot::Mutex;

#[cfg(all(not(all(test, concurrent_tasks_loom)), not(feature = "std")))]
pub(crate) use super::spin::SpinMutex as Mutex;

#[cfg(all(test, concurrent_tasks_loom))]
pub(crate) use self::mutex::Mutex;

/// loom's lock with the API of the crate's other two: `lock()` gives the
/// guard, `try_lock()` an `Option` of it (no poisoning).
#[cfg(all(test, concurrent_tasks_loom))]
mod mutex {
    use core::fmt;

    pub(crate) struct Mutex<T: ?Sized>(::loom::sync::Mutex<T>);

    pub(crate) type MutexGuard<'a, T> = ::loom::sync::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Mutex(::loom::sync::Mutex::new(value))
        }
    }

    impl<T: ?Sized> Mutex<T> {
        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        }

        pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
            self.0.try_lock().ok()
        }
    }

    impl<T: Default> Default for Mutex<T> {
        fn default() -> Self {
            Mutex::new(T::default())
        }
    }

    impl<T: ?Sized> fmt::Debug for Mutex<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            // No lock taken: a `Debug` must not add steps to a model.
            f.write_str("Mutex { .. }")
        }
    }
}

/// Test support for the models: `model` and the
/// threads to run in it.
#[cfg(test)]
pub(crate) mod model {
    #[cfg(concurrent_tasks_loom)]
    pub(crate) use ::loom::thread;
    #[cfg(not(concurrent_tasks_loom))]
    pub(crate) use std::thread;

    /// Plain runs of a model without loom: enough to shake out a gross
    /// mistake, few enough to keep `cargo test` (and Miri) quick.
    #[cfg(not(concurrent_tasks_loom))]
    const PLAIN_RUNS: usize = if cfg!(miri) { 1 } else { 16 };

    /// Runs the model `f`: under `loom::model` (every interleaving, within
    /// `LOOM_MAX_PREEMPTIONS` and loom's other bounds) in the loom build,
    /// else a few times on real threads, so the models also run in the
    /// plain `cargo test`.
    pub(crate) fn model<F>(f: F)
    where
        F: Fn() + Send + Sync + 'static,
    {
        #[cfg(concurrent_tasks_loom)]
        ::loom::model(f);
        #[cfg(not(concurrent_tasks_loom))]
        for _ in 0..PLAIN_RUNS {
            f();
        }
    }

    /// A waker that sets a flag (in an `Arc` shared with the model).
    pub(crate) fn flag_waker(
        flag: &alloc::sync::Arc<crate::sync::atomic::AtomicBool>,
    ) -> core::task::Waker {
        let flag = flag.clone();
        waker_fn::waker_fn(move || flag.store(true, crate::sync::atomic::Ordering::SeqCst))
    }
}
