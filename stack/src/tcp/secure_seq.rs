//! Initial sequence numbers and timestamp offsets as net/core/secure_seq.c chooses them:
//! secure_tcp_seq (RFC 6528 section 3: ISN = M + F(localip, localport, remoteip, remoteport,
//! secretkey), M a clock ticking every 64 ns) and secure_tcp_ts_off (RFC 7323 sections 5.4
//! and 7.1: one offset per pair of hosts, so the TSvals one host sends another keep growing
//! from one connection to the next).
//!
//! Why it matters: a peer still holding a 4-tuple in TIME_WAIT accepts a new SYN on it only
//! if PAWS does not reject it and its sequence number is past the old connection's or its
//! TSval is newer (tcp_timewait_state_process). With a random ISN and offset per connection
//! a reused port fails both checks about half the time, and the SYN waits for its
//! retransmission 1 s later.
//!
//! The key: the kernel draws net_secret and ts_secret once per boot, for every socket of the
//! host. The shim runs one stack per process, and a per-process secret would make the TSvals
//! of two consecutive processes to the same host go backwards (PAWS drops the second one's
//! SYNs). So the key is derived from the host's boot_id (kernel.random.boot_id, read by the
//! driver), which every process on the host reads alike. Weakness: any local user can read
//! boot_id and so predict our ISNs and offsets; an off-path remote attacker, whom RFC 6528
//! guards against, cannot. Without a boot_id (tests, an unreadable /proc) the key comes from
//! the stack's seed: reproducible in tests, per process in the shim.

use core::net::{Ipv4Addr, SocketAddrV4};

use super::seq::Seq;
use crate::ipv4::keyed_hash;
use crate::random::Random;
use crate::time::Instant;

/// Labels that make the two keys derived from one secret differ ("seq", "tso").
const SEQUENCE_KEY_LABEL: u32 = 0x0073_6571;
const TIMESTAMP_KEY_LABEL: u32 = 0x0074_736f;

/// net_secret and ts_secret.
#[derive(Debug, Clone)]
pub(super) struct SequenceSecrets {
    sequence_key: [u64; 2],
    timestamp_key: [u64; 2],
}

impl SequenceSecrets {
    pub(super) fn new(boot_id: Option<u128>, random_seed: u64) -> SequenceSecrets {
        let secret = match boot_id {
            Some(id) => [(id >> 64) as u64, id as u64],
            None => {
                // A generator of its own, so the layer's other draws (ports, IP ids) do not
                // depend on whether a boot_id was given.
                let mut random = Random::new(random_seed ^ 0x7365_6375_7265_5f73);
                [random.next_u64(), random.next_u64()]
            }
        };
        let derive = |label| {
            [
                keyed_hash(secret, label, 0, 0),
                keyed_hash(secret, label, 1, 0),
            ]
        };
        SequenceSecrets {
            sequence_key: derive(SEQUENCE_KEY_LABEL),
            timestamp_key: derive(TIMESTAMP_KEY_LABEL),
        }
    }

    /// secure_tcp_seq(saddr, daddr, sport, dport): a keyed hash of the 4-tuple plus
    /// seq_scale's clock, nanoseconds >> 6. The kernel reads CLOCK_REALTIME there; the stack
    /// has only the driver's `now` (the shim's is CLOCK_MONOTONIC, the same clock for every
    /// process on the host, virtual time in tests), which serves the same purpose: one
    /// 4-tuple's ISN grows by one every 64 ns and wraps in about 4.6 minutes, longer than
    /// TIME_WAIT lasts.
    pub(super) fn initial_sequence(
        &self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
    ) -> Seq {
        let ports = (u32::from(local.port()) << 16) | u32::from(remote.port());
        let hash = keyed_hash(
            self.sequence_key,
            u32::from(*local.ip()),
            u32::from(*remote.ip()),
            ports,
        ) as u32;
        Seq(hash.wrapping_add((now.as_nanos() >> 6) as u32))
    }

    /// secure_tcp_ts_off(saddr, daddr): a keyed hash of the two addresses only.
    pub(super) fn timestamp_offset(&self, local: Ipv4Addr, remote: Ipv4Addr) -> u32 {
        keyed_hash(self.timestamp_key, u32::from(local), u32::from(remote), 0) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCAL: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 2), 40000);
    const REMOTE: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 1), 80);

    #[test]
    fn isn_of_one_tuple_grows_with_the_clock() {
        let secrets = SequenceSecrets::new(Some(0x1234), 0);
        let before = secrets.initial_sequence(Instant::from_millis(1_000), LOCAL, REMOTE);
        let after = secrets.initial_sequence(Instant::from_millis(1_200), LOCAL, REMOTE);
        // 200 ms in 64 ns units, as measured on the kernel (3136451 for 200.7 ms).
        assert_eq!(after.0.wrapping_sub(before.0), 200_000_000 >> 6);
        let other_port = SocketAddrV4::new(*LOCAL.ip(), 40002);
        let elsewhere = secrets.initial_sequence(Instant::from_millis(1_000), other_port, REMOTE);
        assert_ne!(elsewhere, before);
    }

    #[test]
    fn one_boot_id_gives_every_stack_the_same_values() {
        let first = SequenceSecrets::new(Some(0xfeed_f00d << 64 | 7), 1);
        let second = SequenceSecrets::new(Some(0xfeed_f00d << 64 | 7), 2);
        let now = Instant::from_millis(5);
        assert_eq!(
            first.initial_sequence(now, LOCAL, REMOTE),
            second.initial_sequence(now, LOCAL, REMOTE)
        );
        assert_eq!(
            first.timestamp_offset(*LOCAL.ip(), *REMOTE.ip()),
            second.timestamp_offset(*LOCAL.ip(), *REMOTE.ip())
        );
        let other_boot = SequenceSecrets::new(Some(8), 1);
        assert_ne!(
            other_boot.timestamp_offset(*LOCAL.ip(), *REMOTE.ip()),
            first.timestamp_offset(*LOCAL.ip(), *REMOTE.ip())
        );
        // Without a boot_id the seed decides.
        let seeded = SequenceSecrets::new(None, 3);
        assert_eq!(
            seeded.timestamp_offset(*LOCAL.ip(), *REMOTE.ip()),
            SequenceSecrets::new(None, 3).timestamp_offset(*LOCAL.ip(), *REMOTE.ip())
        );
    }
}
