//! The stack's one pseudo-random generator, seeded from `StackConfig::random_seed` so a test
//! run is reproducible; the shim seeds it from getrandom, so programs see unpredictable values
//! as they would with the kernel. Each layer owns its own instance (ephemeral ports, inet_id
//! and the SO_REUSEPORT secret in UDP; IP ids, ARP reachable-time jitter and
//! icmp_global_consume in IPv4), started from the seed mixed with a per-layer constant so two
//! layers never draw the same sequence.
//!
//! SplitMix64 (Steele, Lea, Flood 2014): tiny, fast and well distributed; none of these uses
//! needs cryptographic strength (IP id unpredictability comes from the keyed hash in
//! `ipv4/ident.rs`, not from here).

#[derive(Debug, Clone)]
pub(crate) struct Random {
    state: u64,
}

impl Random {
    pub fn new(seed: u64) -> Random {
        Random { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// The high 32 bits of the next 64 (the best-mixed ones).
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    pub fn next_u16(&mut self) -> u16 {
        (self.next_u64() >> 48) as u16
    }

    /// Uniform in `0..bound` (get_random_u32_below); 0 when `bound` is 0.
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        // Multiply-shift (Lemire) without the rejection step: bias below 2^-32 for our bounds.
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }
}

/// reciprocal_scale (include/linux/kernel.h): maps a 32-bit value uniformly onto 0..range.
pub(crate) fn scale(value: u32, range: u32) -> u32 {
    ((u64::from(value) * u64::from(range)) >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_bounded() {
        let (mut a, mut b) = (Random::new(7), Random::new(7));
        for _ in 0..1000 {
            let x = a.below(10);
            assert_eq!(x, b.below(10));
            assert!(x < 10);
        }
        assert_eq!(a.below(0), 0);
    }

    #[test]
    fn splitmix64_reference_values() {
        // First outputs of SplitMix64 seeded with 0 (the reference implementation's).
        let mut random = Random::new(0);
        assert_eq!(random.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(random.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn narrower_draws_take_the_high_bits() {
        let mut wide = Random::new(42);
        let mut narrow = Random::new(42);
        let value = wide.next_u64();
        assert_eq!(narrow.next_u32(), (value >> 32) as u32);
        let value = wide.next_u64();
        assert_eq!(narrow.next_u16(), (value >> 48) as u16);
    }

    #[test]
    fn scale_maps_onto_the_range() {
        assert_eq!(scale(0, 28232), 0);
        assert_eq!(scale(u32::MAX, 28232), 28231);
        assert_eq!(scale(1 << 31, 28232), 14116);
    }
}
