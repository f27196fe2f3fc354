//! A small deterministic generator (SplitMix64) seeded from the stack's seed, for ephemeral
//! port choice, inet_id and the SO_REUSEPORT hash secret. Tests are reproducible; the shim
//! seeds from getrandom so programs see unpredictable values, as with the kernel.

#[derive(Debug, Clone)]
pub(crate) struct Random {
    state: u64,
}

impl Random {
    pub fn new(seed: u64) -> Random {
        // Distinct from other layers that may use the same seed.
        Random {
            state: seed ^ 0x5544_5020_7365_6564,
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    pub fn next_u16(&mut self) -> u16 {
        (self.next_u64() >> 48) as u16
    }
}

/// reciprocal_scale: maps a 32-bit value uniformly onto 0..range.
pub(crate) fn scale(value: u32, range: u32) -> u32 {
    ((u64::from(value) * u64::from(range)) >> 32) as u32
}
