//! Unit tests of `sync/spin.rs`.

use super::*;

#[test]
fn lock_gives_exclusive_access() {
    let m = SpinMutex::new(1);
    {
        let mut g = m.lock();
        *g += 1;
        assert!(
            m.try_lock().is_none(),
            "a held lock must not be taken twice"
        );
    }
    assert_eq!(*m.lock(), 2);
}

#[test]
fn debug_never_blocks() {
    let m = SpinMutex::new(5);
    assert_eq!(alloc::format!("{m:?}"), "SpinMutex(5)");
    let _g = m.lock();
    assert_eq!(alloc::format!("{m:?}"), "SpinMutex(<locked>)");
}

#[cfg(feature = "std")]
#[test]
fn counts_stay_exact_across_threads() {
    use alloc::sync::Arc;
    use alloc::vec::Vec;
    const THREADS: usize = 4;
    const ROUNDS: usize = if cfg!(miri) { 50 } else { 10_000 };
    let m = Arc::new(SpinMutex::new(Vec::new()));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let m = m.clone();
            std::thread::spawn(move || {
                for i in 0..ROUNDS {
                    m.lock().push(t * ROUNDS + i);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let mut all = core::mem::take(&mut *m.lock());
    all.sort_unstable();
    assert_eq!(all, (0..THREADS * ROUNDS).collect::<Vec<_>>());
}
