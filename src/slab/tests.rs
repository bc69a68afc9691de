//! Unit tests of `slab.rs`.

use super::*;

#[test]
fn reuses_freed_entries_and_rejects_stale_keys() {
    let mut slab = Slab::new();
    let a = slab.insert("a");
    let b = slab.insert("b");
    assert_eq!(slab.remove(a), Some("a"));
    assert_eq!(slab.remove(a), None, "double remove");
    let c = slab.insert("c");
    assert_eq!(c.index, a.index, "freed entry is reused");
    assert_ne!(c, a);
    assert_eq!(slab.get(a), None, "stale key must not see the reuse");
    assert_eq!(slab.get(c), Some(&"c"));
    assert_eq!(slab.get(b), Some(&"b"));
    assert_eq!(slab.len(), 2);
    let mut all = slab.drain();
    all.sort_unstable();
    assert_eq!(all, ["b", "c"]);
    assert_eq!(slab.len(), 0);
    assert_eq!(slab.get(b), None);
}
