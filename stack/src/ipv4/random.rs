//! The layer's only source of randomness (IP ids, ARP reachable-time jitter, icmp_global_consume),
//! seeded from `StackConfig::random_seed` so a test run is reproducible.

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and well distributed for non-cryptographic
/// jitter. IP id unpredictability comes from the keyed hash in `ident.rs`, not from here.
#[derive(Debug, Clone)]
pub(super) struct Prng {
    state: u64,
}

impl Prng {
    pub(super) fn new(seed: u64) -> Prng {
        Prng { state: seed }
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (get_random_u32_below); 0 when `bound` is 0.
    pub(super) fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        // Multiply-shift (Lemire) without the rejection step: bias below 2^-32 for our bounds.
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_bounded() {
        let (mut a, mut b) = (Prng::new(7), Prng::new(7));
        for _ in 0..1000 {
            let x = a.below(10);
            assert_eq!(x, b.below(10));
            assert!(x < 10);
        }
        assert_eq!(a.below(0), 0);
    }
}
