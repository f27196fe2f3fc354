//! Sending: udp_sendmsg, ip_append_data's length rules, udp_send_skb, and MSG_MORE corking.
//!
//! The order of the checks is udp_sendmsg's, so the errno precedence is too: autobind
//! (inet_send_prepare) → size above 0xFFFF → MSG_OOB → destination → control messages → route
//! → broadcast permission → ip_append_data's size limit → pending error (sock_error) → shut
//! down for writing (EPIPE; no SIGPIPE for UDP: only stream sockets raise it, so the shim must
//! not signal) → transmit.
//!
//! MSG_CONFIRM only confirms the neighbour entry (dst_confirm_neigh); the network layer offers
//! no way to do that yet, so the flag is accepted and has no effect (the ARP entry then ages
//! as if the flag were absent). MSG_MORE corking and the UDP_CORK option are implemented.

use core::net::{Ipv4Addr, SocketAddrV4};

use crate::cmsg::{parse_udp_send_control, SendContext, SendControl};
use crate::errno::Errno;
use crate::ipv4::socket_options::SocketIpOptions;
use crate::ipv4::{OutboundDatagram, PmtuMode, Route, SocketOptionsToBuild};
use crate::sockaddr::{self, AF_INET, AF_UNSPEC};
use crate::socket::msg_flags::{MSG_DONTROUTE, MSG_MORE, MSG_OOB};
use crate::socket::{PacketTags, SendArgs, SocketId};
use crate::sockopt::values::pmtu;
use crate::time::Instant;
use crate::tx_timestamp::TransmitRequest;
use crate::wire::udp::{Flavor, Packet, Repr, HEADER_LEN};
use crate::zerocopy::ZerocopyIds;

use super::connect::resolve_unspecified_destination;
use super::layer::UdpLayer;
use super::network::{address_type, AddressType, Network, NetworkOutput};
use super::socket::{Cork, UdpSocket};

/// MSG_PROBE: "do not send, only probe path" (ip_append_data returns early).
const MSG_PROBE: i32 = 0x10;
/// IP_MAX_MTU: the largest IP datagram.
const IP_MAX_MTU: usize = 0xFFFF;
/// sizeof(struct iphdr) without options (fragheaderlen).
const IP_HEADER_LEN: usize = 20;
/// UDP_MAX_SEGMENTS of this kernel (1 << 7).
const MAX_SEGMENTS: usize = 128;
/// The loopback device's MTU (what PROBE/INTERFACE/OMIT sockets use on local routes).
const LOOPBACK_MTU: u32 = 65536;

/// Whether a send's payload could be read from the caller's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Payload {
    Readable,
    /// The shim's copy faulted: the kernel runs its checks and fails at its own copy (EFAULT),
    /// so a pending error, EPIPE or EMSGSIZE comes first (ctests send_errno_order).
    Unreadable,
}

/// Everything one datagram needs once the checks passed (the skb and its cork).
struct Outgoing {
    destination: SocketAddrV4,
    source: Ipv4Addr,
    ttl: u8,
    tos: u8,
    oif: Option<u32>,
    dont_route: bool,
    mtu: u32,
    /// ipc.opt: the socket's IP options (IP_OPTIONS), built into each header.
    ip_options: SocketIpOptions,
    /// cork->addr: the final destination, which differs from `destination` (the first hop)
    /// when the options hold a source route.
    final_destination: Ipv4Addr,
    /// ipc.sockc.mark / priority: the socket's SO_MARK and SO_PRIORITY unless a control
    /// message (SO_MARK, SO_PRIORITY, IP_TOS) replaced them.
    tags: PacketTags,
    /// SO_TIMESTAMPING's reports for this datagram (tx_timestamp.rs).
    transmit_request: TransmitRequest,
}

impl UdpLayer {
    /// `payload`: whether `args.data` holds the caller's bytes, or only stands for the length
    /// of a buffer the shim could not read (every check runs; the copy answers EFAULT).
    pub(super) fn send_with(
        &mut self,
        now: Instant,
        network: &mut dyn NetworkOutput,
        id: SocketId,
        args: SendArgs<'_>,
        payload: Payload,
    ) -> Result<usize, Errno> {
        self.sockets.get(id)?;
        // inet_send_prepare: autobind before anything else.
        self.autobind(id)?;
        let len = args.data.len();
        if len > IP_MAX_MTU {
            return Err(Errno::EMSGSIZE);
        }
        // "Mirror BSD error message compatibility".
        if args.flags & MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let socket = self.sockets.get_mut(id)?;
        // udp_sendmsg: "corkreq = udp_test_bit(CORK, sk) || msg->msg_flags & MSG_MORE".
        let cork_requested = args.flags & MSG_MORE != 0 || socket.udp.cork;
        if socket.cork.is_some() {
            // Pending data: the destination, route and control of the first call stand.
            return append_to_cork(
                socket,
                &mut self.counters,
                now,
                network,
                args,
                payload,
                cork_requested,
            );
        }

        // ----- destination -----
        let mut connected = false;
        let destination = match args.dest {
            Some(dest) => {
                let requested = sockaddr::parse_in(dest)?;
                if requested.family != AF_INET && requested.family != AF_UNSPEC {
                    return Err(Errno::EAFNOSUPPORT);
                }
                if requested.port == 0 {
                    return Err(Errno::EINVAL);
                }
                requested.socket_addr()
            }
            None => {
                connected = true;
                socket.peer.ok_or(Errno::EDESTADDRREQ)?
            }
        };

        // ----- control messages (udp_cmsg_send, ip_cmsg_send) -----
        let control = if args.control.is_empty() {
            SendControl::default()
        } else {
            connected = false;
            let is_foreign_unicast = |address: Ipv4Addr| {
                matches!(address_type(network, address), AddressType::Unicast)
                    && address.octets()[0] != 0
            };
            let context = SendContext {
                creds: &socket.creds,
                txtime_enabled: socket.options.txtime_enabled,
                timestamping_flags: socket.options.timestamping_flags,
                is_foreign_unicast: &is_foreign_unicast,
            };
            parse_udp_send_control(args.control, &context)?
        };
        let source = control.source.unwrap_or(socket.source_address);
        // udp_sendmsg: "if (!saddr) saddr = inet->mc_addr" for a multicast destination.
        let source = if destination.ip().is_multicast() && source.is_unspecified() {
            socket.options.multicast_source
        } else {
            source
        };
        let dont_route = socket.options.dont_route || args.flags & MSG_DONTROUTE != 0;
        if dont_route {
            connected = false;
        }
        if destination.ip().is_multicast() {
            connected = false;
        }
        let target = resolve_unspecified_destination(*destination.ip(), source);
        // udp_sendmsg: "if (ipc.opt && ipc.opt->opt.srr)": the datagram is routed to, and
        // addressed to, the source route's first hop (faddr, also in the UDP checksum's
        // pseudo-header); the final destination goes into the option's last slot.
        // ipc.opt: an IP_RETOPTS control message replaces the socket's IP_OPTIONS.
        let ip_options = control.ip_options.unwrap_or(socket.options.ip_options);
        let (target, final_destination) = match ip_options.first_hop {
            Some(first_hop) => {
                if destination.ip().is_unspecified() {
                    return Err(Errno::EINVAL);
                }
                connected = false;
                (first_hop, target)
            }
            None => (target, target),
        };

        // ----- route -----
        // A connected send reuses the cached route, so the broadcast permission was checked
        // when it was cached (connect or an earlier send), not now.
        let use_cached_route = connected && socket.route_cached;
        // ipcm_init_sk: the output device starts as sk_bound_dev_if (SO_BINDTODEVICE); an
        // IP_PKTINFO control message replaces it.
        // IP_MULTICAST_IF / IP_UNICAST_IF when nothing else names the interface.
        let oif = socket.options.output_interface(
            control.oif.or(socket.options.bound_device_oif()),
            final_destination,
        );
        let route = network.route(target, oif, dont_route)?;
        if !source.is_unspecified() {
            check_source_address(network, source, &route, socket.options.transparent)?;
        }
        if !use_cached_route && route.broadcast && !socket.options.broadcast {
            return Err(Errno::EACCES);
        }
        if connected {
            // sk_dst_check: an obsolete cached route is looked up again.
            socket.route_snapshot = Some(route);
            socket.route_cached = true;
        }
        let ttl = control.ttl.unwrap_or(if route.multicast {
            socket.options.multicast_ttl
        } else {
            socket.options.effective_ttl(&self.sysctls)
        });
        // ip_route_output_key_hash_rcu: a destination of 0.0.0.0 goes to lo
        // (flowi4_oif = LOOPBACK_IFINDEX) but keeps the sender's orig_oif as rt_iif, so
        // IP_PKTINFO reports the interface the sender named, or lo (measured).
        let oif = if destination.ip().is_unspecified() {
            Some(oif.unwrap_or(crate::ipv4::route::LOOPBACK_IFINDEX))
        } else {
            oif
        };
        let outgoing = Outgoing {
            destination: SocketAddrV4::new(target, destination.port()),
            source: if source.is_unspecified() {
                route.src
            } else {
                source
            },
            ttl,
            tos: control.tos.unwrap_or(socket.options.tos),
            oif,
            dont_route,
            mtu: fragment_size(socket, &route, self.interface_mtu),
            ip_options,
            final_destination,
            tags: PacketTags {
                mark: control.mark.unwrap_or(socket.options.mark),
                priority: control.priority.unwrap_or(socket.options.priority),
            },
            transmit_request: TransmitRequest::default(),
        };

        // ----- ip_append_data's checks -----
        // ipc.gso_size starts as the socket's UDP_SEGMENT; a UDP_SEGMENT message replaces it
        // (0: no segmentation).
        let segment_size = Some(usize::from(
            control.segment_size.unwrap_or(socket.udp.segment_size),
        ))
        .filter(|&size| size != 0);
        let limit = if segment_size.is_some() {
            IP_MAX_MTU
        } else {
            size_limit(socket, outgoing.mtu)
        };
        // fragheaderlen: the IP header with the options.
        // (Saturating: an MTU is never below 68, but nothing here may underflow on one.)
        if len + HEADER_LEN > limit.saturating_sub(IP_HEADER_LEN + ip_options.len()) {
            // __ip_append_data: "ip_local_error(sk, EMSGSIZE, fl4->daddr, inet->inet_dport,
            // mtu - (opt ? opt->optlen : 0))", mtu being IP_MAX_MTU with a GSO size.
            let mtu = if segment_size.is_some() {
                IP_MAX_MTU as u32
            } else {
                outgoing.mtu
            };
            let mtu = mtu.saturating_sub(ip_options.len() as u32);
            let stamp = network.wall_time(now);
            let destination = *outgoing.destination.ip();
            if !socket.local_error(Errno::EMSGSIZE, destination, mtu, stamp) {
                self.counters.error_queue_full += 1;
            }
            return Err(Errno::EMSGSIZE);
        }
        if args.flags & MSG_PROBE != 0 {
            return Ok(len);
        }
        // sock_alloc_send_skb: the pending error first, then the shutdown.
        if let Some(error) = socket.take_error() {
            return Err(error);
        }
        if socket.write_shut {
            return Err(Errno::EPIPE);
        }
        // getfrag (ip_generic_getfrag): the payload is copied only now.
        if payload == Payload::Unreadable {
            return Err(Errno::EFAULT);
        }
        // __ip_append_data: the OPT_ID key and the MSG_ZEROCOPY id of the datagram (a failed
        // send gives both back, so they are taken once nothing can fail before the transmit).
        let mut outgoing = outgoing;
        let socket_flags = socket.options.timestamping_flags;
        outgoing.transmit_request = socket.options.timestamp_key.request(
            socket_flags,
            control.timestamping,
            control.timestamp_id,
        );
        if ZerocopyIds::applies(args.flags, socket.options.zerocopy) {
            socket.zerocopy_ids.take();
        }
        if cork_requested {
            socket.cork = Some(Cork {
                destination: outgoing.destination,
                source: outgoing.source,
                ttl: outgoing.ttl,
                tos: outgoing.tos,
                oif: outgoing.oif,
                dont_route: outgoing.dont_route,
                mtu: outgoing.mtu,
                ip_options: outgoing.ip_options,
                final_destination: outgoing.final_destination,
                tags: outgoing.tags,
                data: args.data.to_vec(),
                transmit_request: outgoing.transmit_request,
            });
            return Ok(len);
        }
        transmit(
            socket,
            &mut self.counters,
            now,
            network,
            &outgoing,
            args.data,
            segment_size,
        )?;
        Ok(len)
    }
}

/// ip_append_data on a corked socket (the `do_append_data` path), then udp_push_pending_frames
/// unless more is to come. Any error drops the pending data (udp_flush_pending_frames).
fn append_to_cork(
    socket: &mut UdpSocket,
    counters: &mut super::counters::UdpCounters,
    now: Instant,
    network: &mut dyn NetworkOutput,
    args: SendArgs<'_>,
    payload: Payload,
    more: bool,
) -> Result<usize, Errno> {
    let len = args.data.len();
    let Some(cork) = socket.cork.as_mut() else {
        return Err(Errno::EINVAL);
    };
    let limit = size_limit_for(socket.options.pmtu_discovery, cork.mtu);
    let options_len = cork.ip_options.len();
    if HEADER_LEN + cork.data.len() + len > limit.saturating_sub(IP_HEADER_LEN + options_len) {
        // __ip_append_data's ip_local_error, about the corked destination.
        let destination = *cork.destination.ip();
        let mtu = cork.mtu.saturating_sub(options_len as u32);
        socket.cork = None;
        if !socket.local_error(Errno::EMSGSIZE, destination, mtu, network.wall_time(now)) {
            counters.error_queue_full += 1;
        }
        // The flushed skbs release the earlier sends' zerocopy ids.
        if let Some(completion) = socket.zerocopy_ids.release() {
            socket.queue_zerocopy_completion(completion, network.wall_time(now));
        }
        return Err(Errno::EMSGSIZE);
    }
    if args.flags & MSG_PROBE != 0 {
        return Ok(len);
    }
    if payload == Payload::Unreadable {
        // The failed getfrag makes udp_sendmsg flush everything pending.
        socket.cork = None;
        // ip_flush_pending_frames frees the skbs: the earlier sends' ids complete.
        if let Some(completion) = socket.zerocopy_ids.release() {
            socket.queue_zerocopy_completion(completion, network.wall_time(now));
        }
        return Err(Errno::EFAULT);
    }
    // msg_zerocopy_realloc: a corked datagram's sends extend its id range.
    if ZerocopyIds::applies(args.flags, socket.options.zerocopy) {
        socket.zerocopy_ids.take();
    }
    cork.data.extend_from_slice(args.data);
    if more {
        return Ok(len);
    }
    push_pending(socket, counters, now, network)?;
    Ok(len)
}

/// udp_push_pending_frames: send the corked datagram, if any.
pub(super) fn push_pending(
    socket: &mut UdpSocket,
    counters: &mut super::counters::UdpCounters,
    now: Instant,
    network: &mut dyn NetworkOutput,
) -> Result<(), Errno> {
    let Some(cork) = socket.cork.take() else {
        return Ok(());
    };
    let outgoing = Outgoing {
        destination: cork.destination,
        source: cork.source,
        ttl: cork.ttl,
        tos: cork.tos,
        oif: cork.oif,
        dont_route: cork.dont_route,
        mtu: cork.mtu,
        ip_options: cork.ip_options,
        final_destination: cork.final_destination,
        tags: cork.tags,
        transmit_request: cork.transmit_request,
    };
    transmit(socket, counters, now, network, &outgoing, &cork.data, None)
}

/// udp_send_skb: UDP_SEGMENT checks, then one datagram per segment, header and checksum
/// filled in, handed to IPv4. ENOBUFS from below is swallowed unless IP_RECVERR is on.
fn transmit(
    socket: &mut UdpSocket,
    counters: &mut super::counters::UdpCounters,
    now: Instant,
    network: &mut dyn NetworkOutput,
    outgoing: &Outgoing,
    data: &[u8],
    segment_size: Option<usize>,
) -> Result<(), Errno> {
    let mut handed = None;
    let result = transmit_segments(
        socket,
        counters,
        now,
        network,
        outgoing,
        data,
        segment_size,
        &mut handed,
    );
    // The skb is released once the device took it (or the send failed): a transmit
    // timestamp for the first frame (__ip_append_data gives tx_flags to the first skb only),
    // and the MSG_ZEROCOPY completion.
    let request = outgoing.transmit_request;
    if let Some(frame) = handed.filter(|_| request.any()) {
        let stamp = network.wall_time(now);
        for kind in request.device_reports() {
            if !socket.queue_transmit_report(kind, request.key, &frame, stamp) {
                counters.error_queue_full += 1;
            }
        }
    }
    if let Some(completion) = socket.zerocopy_ids.release() {
        socket.queue_zerocopy_completion(completion, network.wall_time(now));
    }
    result
}

/// The segments of `transmit`; `handed` gets the first frame the device was given.
#[allow(clippy::too_many_arguments)]
fn transmit_segments(
    socket: &mut UdpSocket,
    counters: &mut super::counters::UdpCounters,
    now: Instant,
    network: &mut dyn NetworkOutput,
    outgoing: &Outgoing,
    data: &[u8],
    segment_size: Option<usize>,
    handed: &mut Option<crate::tx_timestamp::HandedFrame>,
) -> Result<(), Errno> {
    let segments: Vec<&[u8]> = match segment_size {
        Some(size) => {
            // udp_send_skb's checks, in its order: one segment (or the whole datagram, if
            // smaller) must fit cork->fragsize (EMSGSIZE); at most UDP_MAX_SEGMENTS segments
            // (EINVAL); SO_NO_CHECK is EINVAL; UDP-Lite is EIO (GSO needs CHECKSUM_PARTIAL,
            // which UDP-Lite never uses). Measured on this kernel.
            let header_len = IP_HEADER_LEN + outgoing.ip_options.len() + HEADER_LEN;
            if header_len + data.len().min(size) > outgoing.mtu as usize {
                return Err(Errno::EMSGSIZE);
            }
            if data.len() > size * MAX_SEGMENTS {
                return Err(Errno::EINVAL);
            }
            if socket.options.no_check_tx {
                return Err(Errno::EINVAL);
            }
            if socket.flavor == Flavor::Lite {
                return Err(Errno::EIO);
            }
            if data.len() > size {
                data.chunks(size).collect()
            } else {
                vec![data]
            }
        }
        None => vec![data],
    };
    let pmtu_mode = pmtu_mode(socket.options.pmtu_discovery);
    // ip_select_ident_segs: a connected socket's datagrams (any IP_MTU_DISCOVER mode) carry
    // its own counter, advanced per datagram (atomic_add_return: the new value is sent).
    for segment in segments {
        let repr = Repr {
            flavor: socket.flavor,
            source_port: socket.local_port,
            destination_port: outgoing.destination.port(),
            checksum: 0,
            coverage: lite_coverage(socket, HEADER_LEN + segment.len()),
            payload: segment,
        };
        let mut buffer = vec![0u8; repr.buffer_len()];
        repr.emit(&mut buffer, outgoing.source, *outgoing.destination.ip());
        // udp_send_skb: SO_NO_CHECK sends plain UDP with checksum 0 ("UDP csum off",
        // RFC 768's "no checksum"); UDP-Lite always carries one (udplite_csum runs first).
        if socket.flavor == Flavor::Udp && socket.options.no_check_tx {
            Packet::new_unchecked(&mut buffer[..]).set_checksum(0);
        }
        if socket.peer.is_some() {
            socket.ident = socket.ident.wrapping_add(1);
        }
        let socket_ident = socket.peer.map(|_| socket.ident);
        let datagram = OutboundDatagram {
            src: outgoing.source,
            dst: *outgoing.destination.ip(),
            protocol: socket.flavor.protocol(),
            ttl: outgoing.ttl,
            tos: outgoing.tos,
            pmtu_mode,
            options: &[],
            socket_options: (!outgoing.ip_options.is_empty()).then_some(SocketOptionsToBuild {
                options: &outgoing.ip_options,
                final_destination: outgoing.final_destination,
            }),
            payload: &buffer,
            dont_route: outgoing.dont_route,
            socket_ident,
            oif: outgoing.oif,
        };
        let mark = network.output_mark();
        match network.send_looping(now, &datagram, outgoing.tags, socket.options.multicast_loop) {
            Ok(()) => {
                counters.sent += 1;
                if handed.is_none() {
                    *handed = network.frame_handed_since(mark);
                }
            }
            Err(Errno::ENOBUFS) if !socket.options.receive_errors => {
                counters.send_buffer_errors += 1
            }
            Err(error) => return Err(error),
        }
    }
    // The skb is freed once transmitted: sock_wfree → sk_write_space wakes writers.
    socket.wake_writers();
    Ok(())
}

/// udplite_csum: with UDPLITE_SEND_CSCOV set and shorter than the datagram, the coverage is
/// pcslen (0: announced as 0, everything covered); otherwise the whole datagram.
fn lite_coverage(socket: &UdpSocket, total: usize) -> usize {
    match socket.udp.lite_send_coverage {
        Some(coverage) if socket.flavor == Flavor::Lite && usize::from(coverage) < total => {
            usize::from(coverage)
        }
        _ => total,
    }
}

/// The source-address rules of ip_route_output for a socket (or IP_PKTINFO) source:
/// multicast and limited broadcast are EINVAL; an address that is not ours is ENETUNREACH
/// unless IP_TRANSPARENT (FLOWI_FLAG_ANYSRC), and that includes 0.x.x.x (measured: an
/// IP_PKTINFO ipi_spec_dst of 0.1.2.3 is ENETUNREACH on this kernel); a loopback source may
/// not leave through a real device (__mkroute_output: EINVAL).
pub(super) fn check_source_address(
    network: &dyn Network,
    source: Ipv4Addr,
    route: &Route,
    transparent: bool,
) -> Result<(), Errno> {
    if source.is_multicast() || source.is_broadcast() {
        return Err(Errno::EINVAL);
    }
    if !transparent && !network.is_local_address(source) {
        return Err(Errno::ENETUNREACH);
    }
    if source.is_loopback() && !route.local {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// cork->fragsize (ip_setup_cork): the path MTU while IP_MTU_DISCOVER < PROBE, else the
/// device's MTU.
fn fragment_size(socket: &UdpSocket, route: &Route, interface_mtu: u32) -> u32 {
    if socket.options.pmtu_discovery < pmtu::PROBE {
        // dst_mtu, capped at IP_MAX_MTU as ipv4_mtu does.
        route.mtu.min(IP_MAX_MTU as u32)
    } else if route.local {
        LOOPBACK_MTU
    } else {
        interface_mtu
    }
}

fn size_limit(socket: &UdpSocket, mtu: u32) -> usize {
    size_limit_for(socket.options.pmtu_discovery, mtu)
}

/// maxnonfragsize: IP_MAX_MTU when the socket lets datagrams be fragmented (ip_sk_ignore_df:
/// DONT, WANT, OMIT), else the MTU.
fn size_limit_for(pmtu_discovery: u8, mtu: u32) -> usize {
    if pmtu_discovery < pmtu::DO || pmtu_discovery == pmtu::OMIT {
        IP_MAX_MTU
    } else {
        (mtu as usize).clamp(IP_HEADER_LEN + HEADER_LEN, IP_MAX_MTU)
    }
}

fn pmtu_mode(value: u8) -> PmtuMode {
    match value {
        pmtu::DONT => PmtuMode::Dont,
        pmtu::DO => PmtuMode::Do,
        pmtu::PROBE => PmtuMode::Probe,
        pmtu::INTERFACE => PmtuMode::Interface,
        pmtu::OMIT => PmtuMode::Omit,
        _ => PmtuMode::Want,
    }
}
