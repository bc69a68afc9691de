//! A minimal spin lock for the no_std build (one of the two unsafe modules of
//! the crate; the other is `pinned.rs`).
//!
//! Without `std` there is no OS parking, so the lock spins. Critical sections
//! in this crate are a few instructions long (push a waker, take a value), so
//! spinning is cheap. It is compiled with `std` too, so that Miri and the unit
//! tests below exercise it on every run.
//!
//! # Ground rules
//! - `locked` is the only synchronisation: `true` while a guard exists.
//! - `value` is touched only through a [`SpinMutexGuard`], which exists only
//!   after a successful `false -> true` swap of `locked` (Acquire) and ends
//!   with a `false` store (Release).
#![allow(unsafe_code)]
#![cfg_attr(feature = "std", allow(dead_code))]

use core::cell::UnsafeCell;
use core::fmt;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

/// A mutual-exclusion lock that busy-waits.
pub(crate) struct SpinMutex<T: ?Sized> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `value` to one thread at a time (see the
// ground rules), so sharing the lock is as safe as sending the value itself.
unsafe impl<T: ?Sized + Send> Sync for SpinMutex<T> {}
// SAFETY: moving the lock moves the value; no thread-bound state is inside.
unsafe impl<T: ?Sized + Send> Send for SpinMutex<T> {}

impl<T> SpinMutex<T> {
    /// A new unlocked lock around `value`.
    pub(crate) const fn new(value: T) -> Self {
        SpinMutex {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }
}

impl<T: ?Sized> SpinMutex<T> {
    /// Spins until the lock is free, then takes it.
    pub(crate) fn lock(&self) -> SpinMutexGuard<'_, T> {
        loop {
            if let Some(guard) = self.try_lock() {
                return guard;
            }
            // Wait on a plain load so the cache line is shared, not bounced.
            while self.locked.load(Ordering::Relaxed) {
                core::hint::spin_loop();
            }
        }
    }

    /// Takes the lock if it is free.
    pub(crate) fn try_lock(&self) -> Option<SpinMutexGuard<'_, T>> {
        if self
            .locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            Some(SpinMutexGuard { lock: self })
        } else {
            None
        }
    }
}

impl<T: Default> Default for SpinMutex<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for SpinMutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_lock() {
            Some(guard) => f.debug_tuple("SpinMutex").field(&&*guard).finish(),
            None => f.write_str("SpinMutex(<locked>)"),
        }
    }
}

/// Proof of holding a [`SpinMutex`]; unlocks on drop.
pub(crate) struct SpinMutexGuard<'a, T: ?Sized> {
    lock: &'a SpinMutex<T>,
}

impl<T: ?Sized> Deref for SpinMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a guard exists only while `locked` is true and was set by
        // this guard's creation, so no other reference to `value` is live.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> DerefMut for SpinMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only borrow of
        // the guard, hence of the value.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for SpinMutexGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests;
