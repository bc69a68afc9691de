//! The fuzz input, read front to back (shared by the fuzz targets).

#![allow(dead_code)] // each target uses what it needs

/// Reads the input front to back; yields zeros once it runs out.
pub struct Input<'a>(pub &'a [u8]);

impl Input<'_> {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    /// A little-endian integer of `n` bytes (n <= 8).
    pub fn bytes(&mut self, n: usize) -> u64 {
        (0..n).fold(0, |acc, i| acc | u64::from(self.byte()) << (8 * i))
    }

    /// A delta of any magnitude the input picks: 16 significant bits shifted
    /// to below 2^1 .. 2^64.
    pub fn scaled(&mut self) -> u64 {
        let shift = u32::from(self.byte() % 64);
        (self.bytes(2) << 48) >> shift
    }
}
