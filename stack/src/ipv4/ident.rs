//! IPv4 identification selection, as ip_select_ident_segs (include/net/ip.h) and
//! __ip_select_ident / ip_idents_reserve (net/ipv4/route.c) do it.

use core::net::Ipv4Addr;

use super::jiffies::jiffies;
use crate::random::Random;
use crate::time::Instant;

/// IP_IDENTS_SZ: the number of id counters the kernel hashes destinations onto.
const BUCKETS: usize = 2048;

pub(super) struct IdentGenerator {
    /// siphash key of __ip_select_ident (net->ipv4.ip_id_key).
    key: [u64; 2],
    /// ip_idents: one counter per bucket, initialised at random as ip_rt_init does.
    counters: Vec<u32>,
    /// ip_tstamps: the jiffy each bucket was last used.
    stamps: Vec<u64>,
}

impl IdentGenerator {
    pub(super) fn new(rng: &mut Random) -> IdentGenerator {
        let key = [rng.next_u64(), rng.next_u64()];
        let counters = (0..BUCKETS).map(|_| rng.next_u64() as u32).collect();
        IdentGenerator {
            key,
            counters,
            stamps: vec![0; BUCKETS],
        }
    }

    /// __ip_select_ident for one segment: hash (daddr, saddr, protocol) onto a bucket, then
    /// ip_idents_reserve: if the bucket was idle since an earlier jiffy, skip ahead by a
    /// random amount below the idle time (so an observer cannot count our traffic), then
    /// take the next value.
    pub(super) fn hashed(
        &mut self,
        now: Instant,
        rng: &mut Random,
        dst: Ipv4Addr,
        src: Ipv4Addr,
        protocol: u8,
    ) -> u16 {
        let hash = keyed_hash(
            self.key,
            u32::from(dst),
            u32::from(src),
            u32::from(protocol),
        );
        let bucket = (hash as usize) % BUCKETS;
        let now = jiffies(now);
        let old = self.stamps[bucket];
        let mut delta = 0;
        if old != now {
            self.stamps[bucket] = now;
            delta = rng.below(now.wrapping_sub(old)) as u32;
        }
        // atomic_add_return(segs + delta) - segs, with segs = 1.
        let counter = &mut self.counters[bucket];
        *counter = counter.wrapping_add(1 + delta);
        counter.wrapping_sub(1) as u16
    }
}

/// SipHash-1-3-style mixing of three words under a 128-bit key, standing in for the kernel's
/// siphash_3u32: the values differ from the kernel's (its key is random anyway); what matters
/// is that the bucket is a keyed, unpredictable function of the flow. TCP's initial sequence
/// numbers and timestamp offsets use it as well (tcp/secure_seq.rs, as secure_seq.c does).
pub(crate) fn keyed_hash(key: [u64; 2], a: u32, b: u32, c: u32) -> u64 {
    let mut v0 = key[0] ^ 0x736f_6d65_7073_6575;
    let mut v1 = key[1] ^ 0x646f_7261_6e64_6f6d;
    let mut v2 = key[0] ^ 0x6c79_6765_6e65_7261;
    let mut v3 = key[1] ^ 0x7465_6462_7974_6573;
    let round = |v0: &mut u64, v1: &mut u64, v2: &mut u64, v3: &mut u64| {
        *v0 = v0.wrapping_add(*v1);
        *v1 = v1.rotate_left(13) ^ *v0;
        *v0 = v0.rotate_left(32);
        *v2 = v2.wrapping_add(*v3);
        *v3 = v3.rotate_left(16) ^ *v2;
        *v0 = v0.wrapping_add(*v3);
        *v3 = v3.rotate_left(21) ^ *v0;
        *v2 = v2.wrapping_add(*v1);
        *v1 = v1.rotate_left(17) ^ *v2;
        *v2 = v2.rotate_left(32);
    };
    for word in [
        (u64::from(a) << 32) | u64::from(b),
        (u64::from(c) << 32) | (12 << 56),
    ] {
        v3 ^= word;
        round(&mut v0, &mut v1, &mut v2, &mut v3);
        v0 ^= word;
    }
    v2 ^= 0xff;
    for _ in 0..3 {
        round(&mut v0, &mut v1, &mut v2, &mut v3);
    }
    v0 ^ v1 ^ v2 ^ v3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_flow_same_jiffy_counts_up() {
        let mut rng = Random::new(1);
        let mut ids = IdentGenerator::new(&mut rng);
        let (dst, src) = (Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 2));
        let now = Instant::from_millis(1000);
        let first = ids.hashed(now, &mut rng, dst, src, 17);
        let second = ids.hashed(now, &mut rng, dst, src, 17);
        assert_eq!(second, first.wrapping_add(1));
    }
}
