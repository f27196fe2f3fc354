//! The ARP neighbour table: the state machine of net/core/neighbour.c (__neigh_event_send,
//! neigh_timer_handler, neigh_update) with ARP's parameters (net/ipv4/arp.c). Pure state: the
//! layer feeds it events and acts on the `NeighbourEvent`s it returns (send a probe, flush or
//! fail the packets that waited).

use core::net::Ipv4Addr;
use core::time::Duration;
use std::collections::{BTreeMap, VecDeque};

use crate::config::Sysctls;
use crate::random::Random;
use crate::time::Instant;
use crate::wire::ethernet::MacAddress;

/// neigh.default.delay_first_probe_time: a stale entry in use waits this long for an upper-layer
/// confirmation before probing.
const DELAY_FIRST_PROBE: Duration = Duration::from_secs(5);
/// neigh.default.app_solicit and mcast_resolicit: both 0 by default and not in `Sysctls`.
const APP_PROBES: u32 = 0;
const MCAST_REPROBES: u32 = 0;
/// neigh_periodic_work re-randomises reachable_time every 300 s.
const REACHABLE_TIME_REROLL: Duration = Duration::from_secs(300);
/// HZ/100: the shortest timer neigh_timer_handler arms.
const MIN_TIMER: Duration = Duration::from_millis(10);
/// gc_thresh3: the table never holds more entries than this.
const ENTRIES_MAX: usize = 1024;
/// What one queued packet costs against arp_unres_qlen_bytes: the kernel charges skb->truesize,
/// the data plus struct sk_buff and skb_shared_info (about 576 bytes on x86_64).
pub(super) const SKB_OVERHEAD: usize = 576;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NeighbourState {
    /// Resolving: broadcast requests, packets queued.
    Incomplete,
    Reachable,
    /// Valid but unconfirmed: used as is; the next use starts `Delay`.
    Stale,
    /// In use while stale: wait `DELAY_FIRST_PROBE` for a confirmation, then probe.
    Delay,
    /// Unicast re-probes to the cached address.
    Probe,
    /// Resolution failed; the next packet starts over.
    Failed,
}

#[derive(Debug)]
struct Neighbour {
    state: NeighbourState,
    mac: MacAddress,
    queue: VecDeque<Vec<u8>>,
    queue_bytes: usize,
    /// neigh->probes: requests sent in this round (starts at ucast_solicit when resolving).
    probes: u32,
    timer: Option<Instant>,
    confirmed: Instant,
    used: Instant,
}

/// What the layer must do after a call into the table.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum NeighbourEvent {
    /// Send an ARP request for `target`: broadcast, or unicast to the cached address.
    Probe {
        target: Ipv4Addr,
        unicast_to: Option<MacAddress>,
    },
    /// The address is known: transmit these waiting IPv4 packets to `mac`.
    Flush {
        mac: MacAddress,
        packets: Vec<Vec<u8>>,
    },
    /// Resolution failed: these packets are dropped (and reported, as arp_error_report does).
    Failed {
        target: Ipv4Addr,
        packets: Vec<Vec<u8>>,
    },
    /// The queue overflowed: this many of the oldest packets were dropped.
    Overflow { dropped: usize },
}

/// How an ARP packet told us about a neighbour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Learned {
    /// A request for our address (neigh_event_ns): creates the entry, as STALE.
    RequestForUs,
    /// A unicast reply to us: confirms reachability of an existing entry.
    UnicastReply,
    /// Anything else (broadcast replies, requests for others): updates an existing entry only.
    Other,
}

pub(super) struct NeighbourTable {
    entries: BTreeMap<Ipv4Addr, Neighbour>,
    retrans_time: Duration,
    ucast_probes: u32,
    mcast_probes: u32,
    unres_qlen_bytes: usize,
    base_reachable_time: Duration,
    /// parms->reachable_time: one random draw in [base/2, 3·base/2) shared by all entries.
    reachable_time: Duration,
    reachable_time_chosen: Instant,
}

impl NeighbourTable {
    pub(super) fn new(sysctls: &Sysctls, rng: &mut Random) -> NeighbourTable {
        let base = Duration::from_millis(u64::from(sysctls.arp_base_reachable_time_ms));
        NeighbourTable {
            entries: BTreeMap::new(),
            retrans_time: Duration::from_millis(u64::from(sysctls.arp_retrans_time_ms))
                .max(MIN_TIMER),
            ucast_probes: sysctls.arp_ucast_solicit,
            mcast_probes: sysctls.arp_mcast_solicit,
            unres_qlen_bytes: sysctls.arp_unres_qlen_bytes as usize,
            base_reachable_time: base,
            reachable_time: random_reachable_time(base, rng),
            reachable_time_chosen: Instant::ZERO,
        }
    }

    /// The cached state and address of `addr`, for diagnostics and tests.
    #[cfg(test)]
    pub(super) fn lookup(&self, addr: Ipv4Addr) -> Option<(NeighbourState, MacAddress)> {
        self.entries.get(&addr).map(|n| (n.state, n.mac))
    }

    /// A packet for `addr` (neigh_resolve_output → neigh_event_send). Returns the MAC to send
    /// to now, or None when the packet was queued.
    pub(super) fn output(
        &mut self,
        now: Instant,
        addr: Ipv4Addr,
        packet: Vec<u8>,
        events: &mut Vec<NeighbourEvent>,
    ) -> Option<(MacAddress, Vec<u8>)> {
        if !self.entries.contains_key(&addr) {
            self.make_room(events);
        }
        let ucast_probes = self.ucast_probes;
        let (retrans, queue_limit) = (self.retrans_time, self.unres_qlen_bytes);
        let neighbour = self.entries.entry(addr).or_insert_with(|| Neighbour {
            state: NeighbourState::Failed,
            mac: [0; 6],
            queue: VecDeque::new(),
            queue_bytes: 0,
            probes: 0,
            timer: None,
            confirmed: now,
            used: now,
        });
        // neigh->used moves only on the resolve path (neigh_event_send_probe): a REACHABLE
        // entry is used through neigh_connected_output / the cached header, which leave it.
        if neighbour.state != NeighbourState::Reachable {
            neighbour.used = now;
        }
        match neighbour.state {
            NeighbourState::Reachable | NeighbourState::Delay | NeighbourState::Probe => {
                return Some((neighbour.mac, packet));
            }
            NeighbourState::Stale => {
                neighbour.state = NeighbourState::Delay;
                neighbour.timer = Some(now + DELAY_FIRST_PROBE);
                return Some((neighbour.mac, packet));
            }
            NeighbourState::Failed => {
                // Start resolving: probes counts from ucast_probes, the first request goes out
                // at once (immediate_ok) and the timer retries every retrans_time.
                neighbour.state = NeighbourState::Incomplete;
                neighbour.probes = ucast_probes;
                neighbour.timer = Some(now + retrans);
                events.push(NeighbourEvent::Probe {
                    target: addr,
                    unicast_to: None,
                });
                neighbour.probes += 1;
            }
            NeighbourState::Incomplete => {}
        }
        // Queue, dropping the oldest until this one fits (an oversized packet still waits
        // alone, as the kernel's loop stops at an empty queue).
        let cost = packet.len() + SKB_OVERHEAD;
        let mut dropped = 0;
        while neighbour.queue_bytes + cost > queue_limit {
            let Some(old) = neighbour.queue.pop_front() else {
                break;
            };
            neighbour.queue_bytes -= old.len() + SKB_OVERHEAD;
            dropped += 1;
        }
        if dropped > 0 {
            events.push(NeighbourEvent::Overflow { dropped });
        }
        neighbour.queue_bytes += cost;
        neighbour.queue.push_back(packet);
        None
    }

    /// An ARP packet from `addr` with hardware address `mac` (arp_process → neigh_update).
    pub(super) fn learn(
        &mut self,
        now: Instant,
        rng: &mut Random,
        addr: Ipv4Addr,
        mac: MacAddress,
        how: Learned,
        events: &mut Vec<NeighbourEvent>,
    ) {
        if !self.entries.contains_key(&addr) {
            if how != Learned::RequestForUs {
                return; // arp_accept=0: unsolicited information does not create entries.
            }
            self.make_room(events);
            self.entries.insert(
                addr,
                Neighbour {
                    state: NeighbourState::Failed,
                    mac,
                    queue: VecDeque::new(),
                    queue_bytes: 0,
                    probes: 0,
                    timer: None,
                    confirmed: now,
                    used: now,
                },
            );
        }
        let reachable_time = self.reachable_time(now, rng);
        let Some(neighbour) = self.entries.get_mut(&addr) else {
            return;
        };
        let old = neighbour.state;
        let was_valid = !matches!(old, NeighbourState::Incomplete | NeighbourState::Failed);
        let mut new = if how == Learned::UnicastReply {
            NeighbourState::Reachable
        } else {
            NeighbourState::Stale
        };
        if new == NeighbourState::Reachable {
            neighbour.confirmed = now;
        }
        // "If entry was valid and address is not changed, do not change entry state, if new
        // one is STALE."
        if was_valid && neighbour.mac == mac && new == NeighbourState::Stale {
            new = old;
        }
        if new != old {
            neighbour.timer = match new {
                NeighbourState::Reachable => Some(now + reachable_time),
                _ => None,
            };
            neighbour.state = new;
        }
        neighbour.mac = mac;
        if !was_valid {
            let packets: Vec<Vec<u8>> = neighbour.queue.drain(..).collect();
            neighbour.queue_bytes = 0;
            if !packets.is_empty() {
                events.push(NeighbourEvent::Flush { mac, packets });
            }
        }
    }

    /// The earliest pending neighbour timer.
    pub(super) fn poll_at(&self) -> Option<Instant> {
        self.entries.values().filter_map(|n| n.timer).min()
    }

    /// neigh_timer_handler for every entry whose timer expired.
    pub(super) fn handle_timeout(
        &mut self,
        now: Instant,
        rng: &mut Random,
        events: &mut Vec<NeighbourEvent>,
    ) {
        let due: Vec<Ipv4Addr> = self
            .entries
            .iter()
            .filter(|(_, n)| n.timer.is_some_and(|t| t <= now))
            .map(|(a, _)| *a)
            .collect();
        let reachable_time = self.reachable_time(now, rng);
        for addr in due {
            let retrans = self.retrans_time;
            let Some(neighbour) = self.entries.get_mut(&addr) else {
                continue;
            };
            neighbour.timer = None;
            let mut next = None;
            match neighbour.state {
                NeighbourState::Reachable => {
                    // time_before_eq, as the kernel: at the deadline itself the entry stays
                    // reachable and the timer is re-armed HZ/100 later.
                    if now <= neighbour.confirmed + reachable_time {
                        next = Some(neighbour.confirmed + reachable_time);
                    } else if now <= neighbour.used + DELAY_FIRST_PROBE {
                        neighbour.state = NeighbourState::Delay;
                        next = Some(now + DELAY_FIRST_PROBE);
                    } else {
                        neighbour.state = NeighbourState::Stale;
                    }
                }
                NeighbourState::Delay => {
                    if now <= neighbour.confirmed + DELAY_FIRST_PROBE {
                        neighbour.state = NeighbourState::Reachable;
                        next = Some(neighbour.confirmed + reachable_time);
                    } else {
                        neighbour.state = NeighbourState::Probe;
                        neighbour.probes = 0;
                        next = Some(now + retrans);
                    }
                }
                NeighbourState::Incomplete | NeighbourState::Probe => next = Some(now + retrans),
                NeighbourState::Stale | NeighbourState::Failed => {}
            }
            let state = neighbour.state;
            let probing = matches!(state, NeighbourState::Incomplete | NeighbourState::Probe);
            // neigh_max_probes: the count starts at ucast_probes while resolving (so only the
            // multicast ones remain), at 0 while re-probing.
            let max_probes = {
                let multicast = if state == NeighbourState::Probe {
                    MCAST_REPROBES
                } else {
                    self.mcast_probes
                };
                self.ucast_probes + APP_PROBES + multicast
            };
            if probing && neighbour.probes >= max_probes {
                // neigh_invalidate: every waiting packet is reported and dropped.
                neighbour.state = NeighbourState::Failed;
                let packets: Vec<Vec<u8>> = neighbour.queue.drain(..).collect();
                neighbour.queue_bytes = 0;
                events.push(NeighbourEvent::Failed {
                    target: addr,
                    packets,
                });
                continue;
            }
            neighbour.timer = next.map(|t| t.max(now + MIN_TIMER));
            if probing {
                // arp_solicit: probes below ucast_probes go unicast to the cached address,
                // later ones are broadcast.
                let unicast_to = (neighbour.probes < self.ucast_probes).then_some(neighbour.mac);
                events.push(NeighbourEvent::Probe {
                    target: addr,
                    unicast_to,
                });
                neighbour.probes += 1;
            }
        }
    }

    /// parms->reachable_time, re-drawn every 300 s as neigh_periodic_work does.
    fn reachable_time(&mut self, now: Instant, rng: &mut Random) -> Duration {
        if now >= self.reachable_time_chosen + REACHABLE_TIME_REROLL {
            self.reachable_time = random_reachable_time(self.base_reachable_time, rng);
            self.reachable_time_chosen = now;
        }
        self.reachable_time
    }

    /// Keeps the table under gc_thresh3 by forgetting an idle entry (failed or stale first,
    /// least recently used), as neigh_forced_gc prefers unreferenced, non-permanent entries.
    fn make_room(&mut self, events: &mut Vec<NeighbourEvent>) {
        if self.entries.len() < ENTRIES_MAX {
            return;
        }
        let victim = self
            .entries
            .iter()
            .min_by_key(|(_, n)| {
                (
                    !matches!(n.state, NeighbourState::Failed | NeighbourState::Stale),
                    n.used,
                )
            })
            .map(|(a, _)| *a);
        if let Some(addr) = victim {
            if let Some(n) = self.entries.remove(&addr) {
                if !n.queue.is_empty() {
                    events.push(NeighbourEvent::Overflow {
                        dropped: n.queue.len(),
                    });
                }
            }
        }
    }
}

/// neigh_rand_reach_time: uniformly in [base/2, 3·base/2).
fn random_reachable_time(base: Duration, rng: &mut Random) -> Duration {
    let base_ms = base.as_millis() as u64;
    if base_ms == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(rng.below(base_ms) + base_ms / 2)
}
