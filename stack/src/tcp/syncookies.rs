//! SYN cookies as net/ipv4/syncookies.c makes and checks them: the cookie ISN
//! (secure_tcp_syn_cookie / check_tcp_syn_cookie), the MSS table, and the SYN options kept
//! in the low bits of the SYN-ACK's timestamp (cookie_init_timestamp /
//! cookie_timestamp_decode).
//!
//! The kernel's cookie_hash is siphash keyed by syncookie_secret, drawn once per boot. The
//! key here is derived from the same per-host secret as the ISNs (`secure_seq.rs`: the
//! boot_id, or the stack's seed in tests), so the numbers differ from the kernel's (as any
//! two boots' do) while the structure is the same: what the peer can observe is that the
//! cookie validates for two minutes, encodes one of four MSS values, and carries the
//! options in the timestamp.

use core::net::SocketAddrV4;

use crate::ipv4::keyed_hash;
use crate::random::Random;
use crate::time::Instant;

/// COOKIEBITS: the low 24 bits carry the hashed data, the top 8 the minute counter.
const COOKIE_BITS: u32 = 24;
const COOKIE_MASK: u32 = (1 << COOKIE_BITS) - 1;
/// MAX_SYNCOOKIE_AGE: a cookie is valid in its minute and the next one.
const MAX_COOKIE_AGE: u32 = 2;
/// TCP_SYNCOOKIE_PERIOD: the counter ticks once a minute.
const COOKIE_PERIOD_MILLIS: u64 = 60_000;
/// TCP_SYNCOOKIE_VALID: cookies are checked only within two minutes of the last overflow
/// (tcp_synq_no_recent_overflow).
pub const COOKIE_VALID_MILLIS: u64 = 2 * 60_000;

/// msstab: the four MSS values a cookie can encode, "sorted by frequency".
pub const MSS_TABLE: [u16; 4] = [536, 1300, 1440, 1460];

/// TSBITS and the option bits of cookie_init_timestamp.
const TS_BITS: u32 = 6;
const TS_OPT_WSCALE_MASK: u32 = 0xf;
const TS_OPT_SACK: u32 = 1 << 4;
const TS_OPT_ECN: u32 = 1 << 5;

/// Labels that keep the two cookie keys apart from each other and from secure_seq's.
const COOKIE_KEY_LABELS: [u32; 2] = [0x636b_6930, 0x636b_6931];

/// syncookie_secret[2].
#[derive(Debug, Clone)]
pub(super) struct CookieSecrets {
    keys: [[u64; 2]; 2],
}

/// The SYN options a cookie connection gets back from the timestamp the ACK echoes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CookieOptions {
    pub timestamps: bool,
    pub sack: bool,
    /// The peer's window scale, when it offered one.
    pub window_scale: Option<u8>,
    pub ecn: bool,
}

impl CookieSecrets {
    pub(super) fn new(boot_id: Option<u128>, random_seed: u64) -> CookieSecrets {
        let secret = match boot_id {
            Some(id) => [(id >> 64) as u64, id as u64],
            None => {
                let mut random = Random::new(random_seed ^ 0x636f_6f6b_6965_7321);
                [random.next_u64(), random.next_u64()]
            }
        };
        let derive = |label| {
            [
                keyed_hash(secret, label, 0, 0),
                keyed_hash(secret, label, 1, 0),
            ]
        };
        CookieSecrets {
            keys: [derive(COOKIE_KEY_LABELS[0]), derive(COOKIE_KEY_LABELS[1])],
        }
    }

    /// cookie_hash(saddr, daddr, sport, dport, count, c): siphash_4u32 of the addresses,
    /// the ports and the counter under key `c`. The stack's keyed hash takes three words, so
    /// the counter goes into the key.
    fn hash(&self, remote: SocketAddrV4, local: SocketAddrV4, count: u32, which: usize) -> u32 {
        let base = self.keys[which];
        let key = [keyed_hash(base, count, 0, 0), keyed_hash(base, count, 1, 0)];
        let ports = (u32::from(remote.port()) << 16) | u32::from(local.port());
        keyed_hash(key, u32::from(*remote.ip()), u32::from(*local.ip()), ports) as u32
    }

    /// __cookie_v4_init_sequence: the largest table MSS not above the peer's, and the
    /// cookie ISN (secure_tcp_syn_cookie) for a SYN from `remote` with sequence `peer_seq`.
    /// The addresses are the SYN's: source `remote`, destination `local`.
    pub(super) fn initial_sequence(
        &self,
        now: Instant,
        remote: SocketAddrV4,
        local: SocketAddrV4,
        peer_seq: u32,
        peer_mss: u16,
    ) -> (u32, u16) {
        let index = MSS_TABLE
            .iter()
            .rposition(|&mss| peer_mss >= mss)
            .unwrap_or(0);
        let count = cookie_time(now);
        let cookie = self
            .hash(remote, local, 0, 0)
            .wrapping_add(peer_seq)
            .wrapping_add(count << COOKIE_BITS)
            .wrapping_add(
                self.hash(remote, local, count, 1)
                    .wrapping_add(index as u32)
                    & COOKIE_MASK,
            );
        (cookie, MSS_TABLE[index])
    }

    /// __cookie_v4_check: the MSS the cookie in an ACK encodes, or None (SYNCOOKIESFAILED)
    /// for a cookie older than two minutes or one we never made. `ack` and `seq` are the
    /// ACK's numbers (cookie + 1 and the SYN's sequence + 1).
    pub(super) fn check(
        &self,
        now: Instant,
        remote: SocketAddrV4,
        local: SocketAddrV4,
        seq: u32,
        ack: u32,
    ) -> Option<u16> {
        let cookie = ack.wrapping_sub(1);
        let peer_seq = seq.wrapping_sub(1);
        let count = cookie_time(now);
        // check_tcp_syn_cookie: strip the first hash and the sequence, read the counter.
        let stripped = cookie
            .wrapping_sub(self.hash(remote, local, 0, 0))
            .wrapping_sub(peer_seq);
        let age = count.wrapping_sub(stripped >> COOKIE_BITS) & (u32::MAX >> COOKIE_BITS);
        if age >= MAX_COOKIE_AGE {
            return None;
        }
        let index = stripped.wrapping_sub(self.hash(remote, local, count.wrapping_sub(age), 1))
            & COOKIE_MASK;
        MSS_TABLE.get(index as usize).copied()
    }
}

/// tcp_cookie_time: minutes of the clock.
fn cookie_time(now: Instant) -> u32 {
    (now.as_millis() / COOKIE_PERIOD_MILLIS) as u32
}

/// cookie_init_timestamp: the SYN-ACK's timestamp (before the connection's offset is added),
/// the clock in milliseconds with its low six bits replaced by the options, moved back 64 ms
/// when that would put it in the future.
pub fn cookie_timestamp(now: Instant, options: CookieOptions) -> u32 {
    let mut bits = match options.window_scale {
        Some(scale) => u32::from(scale) & TS_OPT_WSCALE_MASK,
        None => TS_OPT_WSCALE_MASK,
    };
    if options.sack {
        bits |= TS_OPT_SACK;
    }
    if options.ecn {
        bits |= TS_OPT_ECN;
    }
    let ts_now = now.as_millis() as u32;
    let mut ts = ((ts_now >> TS_BITS) << TS_BITS) | bits;
    if ts > ts_now {
        ts = ts.wrapping_sub(1 << TS_BITS);
    }
    ts
}

/// cookie_timestamp_decode: the options from the echoed timestamp (the ACK's TSecr less our
/// offset), or None when the sysctls no longer allow what the cookie says (the ACK is then
/// answered with a reset, as for a bad cookie). Without a timestamp nothing was kept: no
/// SACK, no window scaling.
pub fn decode_timestamp(
    echoed: Option<u32>,
    timestamps_allowed: bool,
    sack_allowed: bool,
    window_scaling_allowed: bool,
) -> Option<CookieOptions> {
    let Some(bits) = echoed else {
        return Some(CookieOptions::default());
    };
    if !timestamps_allowed {
        return None;
    }
    let sack = bits & TS_OPT_SACK != 0;
    if sack && !sack_allowed {
        return None;
    }
    let ecn = bits & TS_OPT_ECN != 0;
    let scale = bits & TS_OPT_WSCALE_MASK;
    if scale == TS_OPT_WSCALE_MASK {
        return Some(CookieOptions {
            timestamps: true,
            sack,
            window_scale: None,
            ecn,
        });
    }
    if !window_scaling_allowed {
        return None;
    }
    Some(CookieOptions {
        timestamps: true,
        sack,
        window_scale: Some(scale as u8),
        ecn,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    const OURS: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 2), 80);
    const PEER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 1), 40000);

    #[test]
    fn cookie_round_trip_and_mss_table() {
        let secrets = CookieSecrets::new(Some(42), 0);
        let now = Instant::from_millis(1_000);
        for (peer_mss, encoded) in [
            (1460, 1460),
            (1400, 1300),
            (65495, 1460),
            (100, 536),
            (1440, 1440),
        ] {
            let (cookie, mss) = secrets.initial_sequence(now, PEER, OURS, 7, peer_mss);
            assert_eq!(mss, encoded);
            let later = Instant::from_millis(60_500);
            assert_eq!(
                secrets.check(later, PEER, OURS, 8, cookie.wrapping_add(1)),
                Some(encoded)
            );
        }
    }

    #[test]
    fn cookie_expires_after_its_second_minute_and_binds_the_tuple() {
        let secrets = CookieSecrets::new(Some(42), 0);
        let now = Instant::from_millis(59_000);
        let (cookie, _) = secrets.initial_sequence(now, PEER, OURS, 1000, 1460);
        // Counter 0 made it; counter 1 still takes it, counter 2 does not.
        assert!(secrets
            .check(Instant::from_millis(119_999), PEER, OURS, 1001, cookie + 1)
            .is_some());
        assert!(secrets
            .check(Instant::from_millis(120_000), PEER, OURS, 1001, cookie + 1)
            .is_none());
        // Another sequence number or port: the hash no longer matches (almost surely).
        let other = SocketAddrV4::new(*PEER.ip(), 40001);
        let wrong = (0..50u32)
            .filter(|i| {
                secrets
                    .check(now, other, OURS, 1001 + i, cookie + 1 + i)
                    .is_some()
            })
            .count();
        assert!(wrong < 3);
    }

    #[test]
    fn timestamp_carries_the_options() {
        let now = Instant::from_millis(1_000_000 + 5);
        let options = CookieOptions {
            timestamps: true,
            sack: true,
            window_scale: Some(7),
            ecn: false,
        };
        let ts = cookie_timestamp(now, options);
        assert!(ts <= now.as_millis() as u32);
        assert_eq!(ts & 0x3f, 0x17);
        assert_eq!(decode_timestamp(Some(ts), true, true, true), Some(options));
        // No window scaling offered: the mask value.
        let bare = CookieOptions {
            timestamps: true,
            ..CookieOptions::default()
        };
        let ts = cookie_timestamp(now, bare);
        assert_eq!(ts & 0xf, 0xf);
        assert_eq!(decode_timestamp(Some(ts), true, true, false), Some(bare));
        // Sysctls turned off since: refused.
        assert_eq!(decode_timestamp(Some(0x17), false, true, true), None);
        assert_eq!(decode_timestamp(Some(0x17), true, false, true), None);
        assert_eq!(decode_timestamp(Some(0x07), true, true, false), None);
        assert_eq!(
            decode_timestamp(None, true, true, true),
            Some(CookieOptions::default())
        );
    }
}
