//! The seeded generator and the knobs of the fuzz-style tests (malformed_frames.rs,
//! tcp_malformed.rs): deterministic, so a failure replays from its seed.
#![allow(dead_code)] // each test binary uses its own subset

/// xorshift64* (Vigna): tiny, deterministic, good enough to pick mutations. The state must not
/// be 0 (callers seed it with `seed | 1`).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn byte(&mut self) -> u8 {
        self.next() as u8
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.byte()).collect()
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// An integer from the environment (IPSHIM_FUZZ_ITERATIONS, IPSHIM_FUZZ_SEED), else `default`.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
