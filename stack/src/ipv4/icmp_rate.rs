//! The two ICMP rate limiters of net/ipv4/icmp.c (6.x): the host-wide token bucket
//! (icmp_global_allow / icmp_global_consume: icmp_msgs_per_sec, icmp_msgs_burst) and the
//! per-destination one (icmpv4_xrlim_allow → inet_peer_xrlim_allow: icmp_ratelimit). Both only
//! apply to the types in icmp_ratemask, never to "fragmentation needed". Deterministic: time is
//! `now` in jiffies, the random part of icmp_global_consume comes from the layer's PRNG.

use core::net::Ipv4Addr;
use std::collections::BTreeMap;

use super::jiffies::{jiffies, msecs_to_jiffies, HZ};
use crate::config::Sysctls;
use crate::random::Random;
use crate::time::Instant;
use crate::wire::icmp::{message, unreachable};

/// XRLIM_BURST_FACTOR: a peer may bank up to this many messages.
const XRLIM_BURST_FACTOR: u64 = 6;
/// inet_getpeer backdates a new peer's rate_last by 60 s so it starts with a full bucket.
const NEW_PEER_CREDIT: u64 = 60 * HZ;
/// inet_peer_maxttl: idle peers are forgotten after 10 minutes (their bucket is full by then,
/// so forgetting changes nothing).
const PEER_IDLE: u64 = 600 * HZ;
const PEERS_MAX: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Peer {
    tokens: u64,
    last: u64,
}

#[derive(Debug, Default)]
pub(super) struct IcmpRateLimiter {
    /// net->ipv4.icmp_global_credit (may go negative, as in the kernel).
    credit: i64,
    /// net->ipv4.icmp_global_stamp; None until first used (the kernel's zero stamp is far in
    /// the past, so the first refill is a full second's worth).
    stamp: Option<u64>,
    peers: BTreeMap<Ipv4Addr, Peer>,
}

/// One message about to be sent, as the limiters see it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Outgoing {
    pub icmp_type: u8,
    pub code: u8,
    /// The destination of the message (the inet_peer it is charged to).
    pub peer: Ipv4Addr,
    /// The datagram that triggered it came in over loopback: no global limit.
    pub ingress_loopback: bool,
    /// The message goes out over loopback: no per-peer limit.
    pub egress_loopback: bool,
}

/// Why a message was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RateLimited {
    Global,
    Host,
}

impl IcmpRateLimiter {
    /// icmpv4_mask_allow: types outside icmp_ratemask, and fragmentation needed, are never limited.
    pub(super) fn exempt(sysctls: &Sysctls, icmp_type: u8, code: u8) -> bool {
        if icmp_type > message::HIGHEST_KNOWN {
            return true;
        }
        if sysctls.icmp_ratemask & (1 << icmp_type) == 0 {
            return true;
        }
        icmp_type == message::DEST_UNREACHABLE && code == unreachable::FRAG_NEEDED
    }

    /// The checks of __icmp_send / icmp_reply, in their order.
    pub(super) fn allow(
        &mut self,
        now: Instant,
        rng: &mut Random,
        sysctls: &Sysctls,
        message: Outgoing,
    ) -> Result<(), RateLimited> {
        let Outgoing {
            icmp_type,
            code,
            peer,
            ingress_loopback,
            egress_loopback,
        } = message;
        let mut apply_ratelimit = false;
        // icmpv4_global_allow (skipped when skb_in->dev is loopback).
        if !ingress_loopback && !Self::exempt(sysctls, icmp_type, code) {
            if !self.global_allow(now, sysctls) {
                return Err(RateLimited::Global);
            }
            apply_ratelimit = true;
        }
        // icmpv4_xrlim_allow.
        if !apply_ratelimit {
            return Ok(());
        }
        if !egress_loopback {
            let timeout = msecs_to_jiffies(u64::from(sysctls.icmp_ratelimit_ms));
            if !self.peer_allow(now, peer, timeout) {
                return Err(RateLimited::Host);
            }
        }
        self.consume(rng);
        Ok(())
    }

    /// icmp_global_allow.
    fn global_allow(&mut self, now: Instant, sysctls: &Sysctls) -> bool {
        if self.credit > 0 {
            return true;
        }
        let now = jiffies(now);
        let delta = self
            .stamp
            .map_or(HZ, |stamp| now.wrapping_sub(stamp).min(HZ));
        if delta < HZ / 50 {
            return false;
        }
        let increment = u64::from(sysctls.icmp_msgs_per_sec) * delta / HZ;
        if increment == 0 {
            return false;
        }
        self.stamp = Some(now);
        self.credit = (self.credit + increment as i64).min(i64::from(sysctls.icmp_msgs_burst));
        true
    }

    /// icmp_global_consume: a random 0, 1 or 2 credits, one on average.
    fn consume(&mut self, rng: &mut Random) {
        self.credit -= rng.below(3) as i64;
    }

    /// inet_peer_xrlim_allow: a token bucket in jiffies, one message costs `timeout`.
    fn peer_allow(&mut self, now: Instant, addr: Ipv4Addr, timeout: u64) -> bool {
        let now = jiffies(now);
        if self.peers.len() >= PEERS_MAX && !self.peers.contains_key(&addr) {
            self.peers
                .retain(|_, peer| now.saturating_sub(peer.last) < PEER_IDLE);
            if self.peers.len() >= PEERS_MAX {
                return true; // inet_getpeer failing to allocate: no limit.
            }
        }
        let peer = self.peers.entry(addr).or_insert(Peer {
            tokens: 0,
            last: now.wrapping_sub(NEW_PEER_CREDIT),
        });
        let delta = now.wrapping_sub(peer.last);
        if delta != 0 {
            peer.last = now;
            peer.tokens = (peer.tokens + delta).min(XRLIM_BURST_FACTOR * timeout);
        }
        if peer.tokens >= timeout {
            peer.tokens -= timeout;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);

    fn out(
        icmp_type: u8,
        code: u8,
        peer: Ipv4Addr,
        ingress_loopback: bool,
        egress_loopback: bool,
    ) -> Outgoing {
        Outgoing {
            icmp_type,
            code,
            peer,
            ingress_loopback,
            egress_loopback,
        }
    }

    #[test]
    fn per_peer_burst_of_six_then_one_per_second() {
        let sysctls = Sysctls::default();
        let mut limiter = IcmpRateLimiter::default();
        let mut rng = Random::new(3);
        let t0 = Instant::from_millis(100_000);
        let sent = (0..10)
            .filter(|_| {
                limiter
                    .allow(t0, &mut rng, &sysctls, out(3, 3, PEER, false, false))
                    .is_ok()
            })
            .count();
        assert_eq!(sent, 6);
        assert_eq!(
            limiter.allow(t0, &mut rng, &sysctls, out(3, 3, PEER, false, false)),
            Err(RateLimited::Host)
        );
        // One more token a second later.
        let t1 = Instant::from_millis(101_000);
        assert!(limiter
            .allow(t1, &mut rng, &sysctls, out(3, 3, PEER, false, false))
            .is_ok());
        assert!(limiter
            .allow(t1, &mut rng, &sysctls, out(3, 3, PEER, false, false))
            .is_err());
    }

    #[test]
    fn exemptions() {
        let sysctls = Sysctls::default();
        let mut limiter = IcmpRateLimiter::default();
        let mut rng = Random::new(3);
        let t0 = Instant::from_millis(100_000);
        for _ in 0..100 {
            // Echo replies (type 0) are outside the default mask; frag needed is exempt.
            assert!(limiter
                .allow(t0, &mut rng, &sysctls, out(0, 0, PEER, false, false))
                .is_ok());
            assert!(limiter
                .allow(t0, &mut rng, &sysctls, out(3, 4, PEER, false, false))
                .is_ok());
            // Triggered by loopback traffic: neither limiter applies.
            assert!(limiter
                .allow(t0, &mut rng, &sysctls, out(3, 3, PEER, true, true))
                .is_ok());
        }
    }

    #[test]
    fn global_bucket_runs_dry() {
        let sysctls = Sysctls {
            icmp_msgs_burst: 10,
            ..Sysctls::default()
        };
        let mut limiter = IcmpRateLimiter::default();
        let mut rng = Random::new(3);
        let t0 = Instant::from_millis(100_000);
        // Different peers, so only the global bucket limits: about `burst` messages pass
        // (each consumes 0..=2 credits), then the bucket is empty within the same jiffy.
        let mut sent = 0;
        for i in 0..100u8 {
            let peer = Ipv4Addr::new(10, 0, 0, i);
            if limiter
                .allow(t0, &mut rng, &sysctls, out(3, 3, peer, false, true))
                .is_ok()
            {
                sent += 1;
            }
        }
        assert!((5..=25).contains(&sent), "sent {sent}");
        assert_eq!(
            limiter.allow(t0, &mut rng, &sysctls, out(3, 3, PEER, false, true)),
            Err(RateLimited::Global)
        );
    }
}
