//! raw_send_hdrinc (net/ipv4/raw.c): a raw socket with IP_HDRINCL hands a whole IP packet;
//! the kernel routes it by the address the caller gave sendto (or connected to), fills in the
//! few fields it always owns, and puts it on the route as it is: no fragmentation, no options
//! of the socket. (Used by raw sockets.)

use core::net::Ipv4Addr;

use super::layer::Ipv4Layer;
use super::route::{route_output, LOOPBACK_IFINDEX, LOOPBACK_MTU};
use crate::errno::Errno;
use crate::time::Instant;
use crate::wire::checksum;
use crate::wire::ethernet::{self, ethertype};

/// sizeof(struct iphdr).
const MINIMUM_HEADER: usize = 20;
/// The DF bit of frag_off (network order, high byte).
const DONT_FRAGMENT_HIGH_BYTE: u8 = 0x40;

/// What `send_header_included` refused with, when the kernel queues a local error too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderIncludedError {
    /// "length > rt->dst.dev->mtu": ip_local_error(EMSGSIZE, daddr, dport, mtu), then EMSGSIZE.
    TooBig {
        mtu: u32,
    },
    Other(Errno),
}

impl Ipv4Layer {
    /// Sends `packet` (IP header included) towards `route_destination`.
    pub fn send_header_included(
        &mut self,
        now: Instant,
        route_destination: Ipv4Addr,
        packet: &[u8],
        oif: Option<u32>,
        dont_route: bool,
    ) -> Result<(), HeaderIncludedError> {
        self.tick(now);
        let route = route_output(
            &self.iface,
            &self.pmtu,
            now,
            route_destination,
            oif,
            dont_route,
        )
        .map_err(HeaderIncludedError::Other)?;
        let device_mtu = if route.local {
            LOOPBACK_MTU
        } else {
            self.iface.mtu
        };
        if packet.len() > device_mtu as usize {
            return Err(HeaderIncludedError::TooBig { mtu: device_mtu });
        }
        if packet.len() < MINIMUM_HEADER {
            return Err(HeaderIncludedError::Other(Errno::EINVAL));
        }
        let mut packet = packet.to_vec();
        let header_len = usize::from(packet[0] & 0x0f) * 4;
        if header_len > packet.len() {
            return Err(HeaderIncludedError::Other(Errno::EINVAL));
        }
        // "if (iphlen >= sizeof(*iph))": the fixups; a shorter IHL goes out untouched.
        if header_len >= MINIMUM_HEADER {
            if packet[12..16] == [0, 0, 0, 0] {
                packet[12..16].copy_from_slice(&route.src.octets());
            }
            let total = packet.len() as u16;
            packet[2..4].copy_from_slice(&total.to_be_bytes());
            if packet[4..6] == [0, 0] {
                // ip_select_ident(net, skb, NULL): no socket, so DF keeps 0 and the rest get
                // the hashed per-destination counter.
                if packet[6] & DONT_FRAGMENT_HIGH_BYTE == 0 {
                    let dst = Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]);
                    let src = Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]);
                    let ident = self.idents.hashed(now, &mut self.rng, dst, src, packet[9]);
                    packet[4..6].copy_from_slice(&ident.to_be_bytes());
                }
            }
            packet[10..12].copy_from_slice(&[0, 0]);
            let sum = checksum::checksum(&packet[..header_len]);
            packet[10..12].copy_from_slice(&sum.to_be_bytes());
        }
        self.counters.ip_sent += 1;
        if route.local {
            let route_iif = if route_destination == self.iface.addr {
                self.iface.ifindex
            } else {
                LOOPBACK_IFINDEX
            };
            self.queue_loopback(packet, LOOPBACK_IFINDEX, route_iif);
            return Ok(());
        }
        if route.broadcast {
            self.queue_loopback(packet.clone(), self.iface.ifindex, self.iface.ifindex);
            self.push_frame(ethernet::BROADCAST, ethertype::IPV4, &packet);
            return Ok(());
        }
        if route.multicast {
            let mac = ethernet::ipv4_multicast_mac(route_destination);
            self.push_frame(mac, ethertype::IPV4, &packet);
            return Ok(());
        }
        self.transmit_unicast(now, route.next_hop, packet);
        Ok(())
    }
}
