//! The loopback queue: datagrams to our own addresses (and copies of our broadcasts, which
//! ip_mc_output loops back) wait here until `run_loopback`, as the kernel's loopback_xmit →
//! netif_rx → softirq delivers them before the sending syscall returns.

use super::input::Ingress;
use super::layer::Ipv4Layer;
use super::options::CompiledOptions;
use super::route::LOOPBACK_IFINDEX;
use crate::socket::{PacketTags, RxMeta};
use crate::time::Instant;
use crate::transport::Transports;

/// Bound on one `run_loopback` pass. Each delivery can queue at most an ICMP error, and errors
/// never answer errors, so the queue drains; the bound only guards against a logic slip.
const MAX_PER_RUN: usize = 100_000;

#[derive(Debug)]
pub(crate) struct LoopbackDatagram {
    pub datagram: Vec<u8>,
    /// 1 (lo) for local destinations; the interface for a looped-back broadcast copy.
    pub ifindex: u32,
    /// rt_iif of the output route (see `Ingress::route_iif`).
    pub route_iif: u32,
    /// The sender's skb->mark and skb->priority, which loopback keeps.
    pub tags: PacketTags,
}

impl Ipv4Layer {
    pub(super) fn queue_loopback(&mut self, datagram: Vec<u8>, ifindex: u32, route_iif: u32) {
        self.loopback.push_back(LoopbackDatagram {
            datagram,
            ifindex,
            route_iif,
            tags: self.outgoing_tags,
        });
    }

    pub(super) fn drain_loopback(&mut self, now: Instant, upper: &mut dyn Transports) -> bool {
        let mut delivered = false;
        for _ in 0..MAX_PER_RUN {
            let Some(entry) = self.loopback.pop_front() else {
                break;
            };
            self.counters.loopback_datagrams += 1;
            let ingress = Ingress {
                ifindex: entry.ifindex,
                route_iif: entry.route_iif,
                fragment_max_size: 0,
                link_broadcast: false,
                loopback: true,
                // Loopback skbs are CHECKSUM_UNNECESSARY: never rejected for their checksum.
                meta: RxMeta {
                    checksum_trusted: true,
                    timestamp: self.wall_time_at(now),
                    tags: entry.tags,
                },
                options: CompiledOptions::default(),
            };
            debug_assert!(entry.ifindex == LOOPBACK_IFINDEX || entry.ifindex == self.iface.ifindex);
            delivered |= self.receive_ipv4(now, &entry.datagram, ingress, upper);
        }
        delivered
    }
}
