//! IPv4 output: ip_append_data's size rules (EMSGSIZE), __ip_make_skb's DF choice,
//! ip_select_ident_segs, ip_do_fragment's fragment sizes, and the hand-off to loopback or the
//! link.

use super::input::milliseconds_since_midnight;
use super::layer::Ipv4Layer;
use super::route::{route_output, LOOPBACK_IFINDEX, LOOPBACK_MTU};
use super::{OutboundDatagram, PmtuMode};
use crate::errno::Errno;
use crate::time::Instant;
use crate::wire::ethernet::{self, ethertype};
use crate::wire::ipv4::{self, Options};

/// IP_MAX_MTU / the 16-bit total length.
const MAX_DATAGRAM: usize = 65535;

impl Ipv4Layer {
    pub(super) fn output(
        &mut self,
        now: Instant,
        datagram: &OutboundDatagram<'_>,
    ) -> Result<(), Errno> {
        let route = route_output(
            &self.iface,
            &self.pmtu,
            now,
            datagram.dst,
            datagram.oif,
            datagram.dont_route,
        )?;
        // ip_route_output_key_hash_rcu: a destination of 0.0.0.0 becomes the source (or
        // 127.0.0.1 when there is none yet).
        let dst = if datagram.dst.is_unspecified() {
            if datagram.src.is_unspecified() {
                route.next_hop
            } else {
                datagram.src
            }
        } else {
            datagram.dst
        };
        let src = if datagram.src.is_unspecified() {
            route.src
        } else {
            datagram.src
        };
        // ip_options_build: a socket's compiled options get the final destination, our source
        // address and the time of day written into their slots.
        let options = match datagram.socket_options {
            Some(socket) => socket.options.build(
                socket.final_destination,
                src,
                milliseconds_since_midnight(self.wall_time_at(now)),
            ),
            None => Options::new(datagram.options).ok_or(Errno::EINVAL)?,
        };
        let header_len = ipv4::HEADER_LEN + options.len();
        let total_len = header_len + datagram.payload.len();

        // __ip_append_data: "cork->length + length > 0xFFFF - fragheaderlen" → EMSGSIZE.
        if total_len > MAX_DATAGRAM {
            return Err(Errno::EMSGSIZE);
        }
        // cork->fragsize: the path MTU for DONT/WANT/DO (ip_sk_use_pmtu), the device MTU for
        // PROBE/INTERFACE/OMIT. Above it, only the modes that may fragment locally
        // (ip_sk_ignore_df: DONT, WANT, OMIT) are allowed to continue.
        let mode = datagram.pmtu_mode;
        let device_mtu = if route.local {
            LOOPBACK_MTU
        } else {
            self.iface.mtu
        } as usize;
        let path_mtu = route.mtu as usize;
        let fragment_size = match mode {
            PmtuMode::Dont | PmtuMode::Want | PmtuMode::Do => path_mtu,
            PmtuMode::Probe | PmtuMode::Interface | PmtuMode::Omit => device_mtu,
        };
        let ignore_df = matches!(mode, PmtuMode::Dont | PmtuMode::Want | PmtuMode::Omit);
        if !ignore_df && total_len > fragment_size {
            return Err(Errno::EMSGSIZE);
        }
        // __ip_make_skb: DO and PROBE always set DF; WANT sets it when the datagram fits the
        // path MTU and that MTU is not locked (ip_dont_fragment); the others never do.
        let mtu_locked =
            !route.local && self.pmtu.lookup(now, dst).is_some_and(|entry| entry.locked);
        let dont_fragment = match mode {
            PmtuMode::Do | PmtuMode::Probe => true,
            PmtuMode::Want => total_len <= path_mtu && !mtu_locked,
            PmtuMode::Dont | PmtuMode::Interface | PmtuMode::Omit => false,
        };
        // ip_select_ident_segs ("use the private generator as much as we can"): a connected
        // socket's datagrams carry its own counter whatever their DF; an unconnected socket's
        // DF datagram that may not be fragmented locally carries 0; the rest the hashed
        // per-destination counter. (Measured on 6.18: a connected IP_PMTUDISC_DONT socket
        // sends consecutive ids, an unconnected one ids with random gaps.)
        let ident = if let Some(ident) = datagram.socket_ident {
            ident
        } else if dont_fragment && !ignore_df {
            0
        } else {
            self.idents
                .hashed(now, &mut self.rng, dst, src, datagram.protocol)
        };
        let header = ipv4::Repr {
            src,
            dst,
            protocol: datagram.protocol,
            tos: datagram.tos,
            ident,
            reserved_flag: false,
            dont_fragment,
            more_fragments: false,
            fragment_offset: 0,
            ttl: datagram.ttl,
            options,
            payload_len: datagram.payload.len(),
        };
        let packets = fragment(&header, datagram.payload, fragment_size)?;
        self.counters.ip_sent += 1;
        if packets.len() > 1 {
            self.counters.ip_fragments_created += packets.len() as u64;
        }

        if route.local {
            // rt_iif: the device of the local route matched, the interface for our own
            // address ("local 198.18.0.2 dev eth0"), lo for 127/8; lo when the sender named lo
            // (the lookup failed and "assume on link" took its orig_oif). (A transport sending
            // to 0.0.0.0 passes the output interface the sender named, or lo.)
            let route_iif = if dst == self.iface.addr && datagram.oif != Some(LOOPBACK_IFINDEX) {
                self.iface.ifindex
            } else {
                LOOPBACK_IFINDEX
            };
            // __mkroute_output: a multicast route through lo is RTCF_LOCAL only when the host
            // is a member on lo (ip_check_mc_rcu); otherwise nobody here gets it.
            if dst.is_multicast()
                && !self.accepts_multicast(LOOPBACK_IFINDEX, dst, src, datagram.protocol)
            {
                return Ok(());
            }
            for packet in packets {
                self.queue_loopback(packet, LOOPBACK_IFINDEX, route_iif);
            }
            return Ok(());
        }
        if route.broadcast {
            // ip_mc_output: a broadcast is also looped back to this host, whole.
            self.queue_loopback(
                header.datagram(datagram.payload),
                self.iface.ifindex,
                self.iface.ifindex,
            );
            for packet in packets {
                self.push_frame(ethernet::BROADCAST, ethertype::IPV4, &packet);
            }
            return Ok(());
        }
        if route.multicast {
            // ip_mc_output: with IP_MULTICAST_LOOP, a copy of the whole datagram goes to
            // this host's members; the route is RTCF_LOCAL (ip_mc_output at all) only when
            // the host joined the group on the output interface (ip_check_mc_rcu).
            if self.outgoing_multicast_loop
                && self.accepts_multicast(route.ifindex, dst, src, datagram.protocol)
            {
                self.queue_loopback(
                    header.datagram(datagram.payload),
                    route.ifindex,
                    route.ifindex,
                );
            }
            // "Multicasts with ttl 0 must not go beyond the host."
            if datagram.ttl != 0 {
                let mac = ethernet::ipv4_multicast_mac(dst);
                for packet in packets {
                    self.push_frame(mac, ethertype::IPV4, &packet);
                }
            }
            return Ok(());
        }
        for packet in packets {
            self.transmit_unicast(now, route.next_hop, packet);
        }
        Ok(())
    }
}

/// ip_do_fragment: every fragment but the last carries the largest multiple of 8 bytes that
/// fits the MTU after the header; all share the ident; fragments after the first keep only the
/// options marked "copied" (ip_options_fragment), at the same header length.
fn fragment(header: &ipv4::Repr, payload: &[u8], mtu: usize) -> Result<Vec<Vec<u8>>, Errno> {
    if header.header_len() + payload.len() <= mtu {
        return Ok(vec![header.datagram(payload)]);
    }
    let per_fragment = mtu.saturating_sub(header.header_len()) & !7;
    if per_fragment == 0 {
        return Err(Errno::EMSGSIZE);
    }
    let later_options = header.options.for_later_fragment();
    let mut packets = Vec::with_capacity(payload.len().div_ceil(per_fragment));
    let mut offset = 0;
    while offset < payload.len() {
        let end = (offset + per_fragment).min(payload.len());
        let piece = ipv4::Repr {
            fragment_offset: offset,
            more_fragments: end < payload.len(),
            options: if offset == 0 {
                header.options
            } else {
                later_options
            },
            ..*header
        };
        packets.push(piece.datagram(&payload[offset..end]));
        offset = end;
    }
    Ok(packets)
}
