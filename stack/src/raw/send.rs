//! raw_sendmsg (with raw_send_hdrinc in `ipv4::header_included`) and ping_v4_sendmsg.

use core::net::Ipv4Addr;

use crate::cmsg::{parse_ip_send_control, SendContext, SendControl};
use crate::errno::Errno;
use crate::ipv4::{
    HeaderIncludedError, Ipv4Layer, OutboundDatagram, PmtuMode, SocketOptionsToBuild,
};
use crate::sockaddr::{self, AF_INET};
use crate::socket::msg_flags::{MSG_DONTROUTE, MSG_OOB};
use crate::socket::{SendArgs, SocketId};
use crate::sockopt::values::pmtu;
use crate::time::Instant;
use crate::wire::checksum;

use super::layer::RawLayer;
use super::socket::{Kind, QueuedError};

/// SO_EE_ORIGIN_LOCAL.
const ORIGIN_LOCAL: u8 = 1;
/// sizeof(struct icmphdr).
const ICMP_HEADER: usize = 8;
const ICMP_ECHO: u8 = 8;
/// ICMP_EXT_ECHO (RFC 8335 PROBE): ping_supported accepts it too.
const ICMP_EXT_ECHO: u8 = 42;
/// The largest length either sendmsg takes (0xFFFF).
const MAX_LENGTH: usize = 0xFFFF;

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

impl RawLayer {
    pub fn send(
        &mut self,
        now: Instant,
        ip: &mut Ipv4Layer,
        id: SocketId,
        args: SendArgs<'_>,
    ) -> Result<usize, Errno> {
        self.send_with(now, ip, id, args, true)
    }

    /// A send whose payload the shim could not read (`args.data`: any bytes of its length):
    /// the checks made before the copy answer as they would, then EFAULT.
    pub fn send_unreadable(
        &mut self,
        now: Instant,
        ip: &mut Ipv4Layer,
        id: SocketId,
        args: SendArgs<'_>,
    ) -> Result<usize, Errno> {
        self.send_with(now, ip, id, args, false)
    }

    fn send_with(
        &mut self,
        now: Instant,
        ip: &mut Ipv4Layer,
        id: SocketId,
        args: SendArgs<'_>,
        readable: bool,
    ) -> Result<usize, Errno> {
        let kind = self.get(id)?.kind;
        let mut payload = args.data.to_vec();
        if kind == Kind::Ping {
            // inet_sendmsg's inet_autobind, then ping_common_sendmsg.
            self.autobind(id)?;
            if args.data.len() > MAX_LENGTH {
                return Err(Errno::EMSGSIZE);
            }
            if args.data.len() < ICMP_HEADER {
                return Err(Errno::EINVAL);
            }
            if args.flags & MSG_OOB != 0 {
                return Err(Errno::EOPNOTSUPP);
            }
            // ping_common_sendmsg copies the header (memcpy_from_msg) before judging it.
            if !readable {
                return Err(Errno::EFAULT);
            }
            let (icmp_type, code) = (args.data[0], args.data[1]);
            if !matches!(icmp_type, ICMP_ECHO | ICMP_EXT_ECHO) || code != 0 {
                return Err(Errno::EINVAL);
            }
        } else {
            if args.data.len() > MAX_LENGTH {
                return Err(Errno::EMSGSIZE);
            }
            if args.flags & MSG_OOB != 0 {
                return Err(Errno::EOPNOTSUPP);
            }
        }
        let socket = self.get(id)?;
        // The destination: msg_name, else the connected peer.
        let destination = match args.dest {
            Some(dest) => {
                sockaddr::check_user_length(dest.len())?;
                let requested = sockaddr::parse_in(dest)?;
                // raw_sendmsg lets AF_UNSPEC through ("if (usin->sin_family) goto out");
                // ping_v4_sendmsg does not.
                if requested.family != AF_INET && (kind == Kind::Ping || requested.family != 0) {
                    return Err(Errno::EAFNOSUPPORT);
                }
                requested.addr
            }
            None => match socket.peer {
                Some(peer) => *peer.ip(),
                None => return Err(Errno::EDESTADDRREQ),
            },
        };
        let control = if args.control.is_empty() {
            SendControl::default()
        } else {
            let is_foreign_unicast = |address: Ipv4Addr| {
                !ip.is_local_address(address)
                    && !ip.is_broadcast_address(address)
                    && !address.is_multicast()
                    && address.octets()[0] != 0
            };
            let context = SendContext {
                creds: &socket.creds,
                txtime_enabled: socket.options.txtime_enabled,
                timestamping_flags: socket.options.timestamping_flags,
                is_foreign_unicast: &is_foreign_unicast,
            };
            let mut control = SendControl::default();
            parse_ip_send_control(args.control, &context, &mut control)?;
            control
        };
        let ip_options = control.ip_options.unwrap_or(socket.options.ip_options);
        let header_included = kind == Kind::Raw && socket.options.header_included;
        if header_included && !ip_options.is_empty() {
            // "Linux does not mangle headers on raw sockets, so that IP options +
            // IP_HDRINCL is non-sense."
            return Err(Errno::EINVAL);
        }
        let source = control.source.unwrap_or(socket.source_address);
        let dont_route = socket.options.dont_route || args.flags & MSG_DONTROUTE != 0;
        let oif = socket.options.output_interface(
            control.oif.or(socket.options.bound_device_oif()),
            destination,
        );
        let route = ip.route(destination, oif, dont_route)?;
        if route.broadcast && !socket.options.broadcast {
            return Err(Errno::EACCES);
        }
        if header_included {
            let peer_port = socket.peer.map_or(0, |peer| peer.port());
            if !readable {
                // raw_send_hdrinc: the MTU and length checks, then the copy.
                return Err(
                    if !route.local && payload.len() > ip.interface().mtu as usize {
                        Errno::EMSGSIZE
                    } else if payload.len() < 20 {
                        Errno::EINVAL
                    } else {
                        Errno::EFAULT
                    },
                );
            }
            let (message_flags, message_id) = (control.timestamping, control.timestamp_id);
            let mark = ip.output_mark();
            return match ip.send_header_included(now, destination, &payload, oif, dont_route) {
                Ok(()) => {
                    let frame = ip.frame_handed_since(mark);
                    let stamp = ip.wall_time_at(now);
                    self.report_transmit(id, message_flags, message_id, frame, stamp);
                    Ok(payload.len())
                }
                Err(HeaderIncludedError::TooBig { mtu }) => {
                    self.local_error(id, destination, peer_port, mtu);
                    Err(Errno::EMSGSIZE)
                }
                Err(HeaderIncludedError::Other(errno)) => Err(errno),
            };
        }
        if kind == Kind::Ping {
            // ping_v4_push_pending_frames: the identifier is the socket's, the checksum
            // covers header and data; type, code and sequence are the caller's.
            payload[2..4].copy_from_slice(&[0, 0]);
            payload[4..6].copy_from_slice(&socket.ident.to_be_bytes());
            let sum = checksum::checksum(&payload);
            payload[2..4].copy_from_slice(&sum.to_be_bytes());
        }
        let ttl = control.ttl.unwrap_or(if destination.is_multicast() {
            socket.options.multicast_ttl
        } else {
            socket.options.effective_ttl(&self.sysctls)
        });
        let datagram = OutboundDatagram {
            src: source,
            dst: destination,
            protocol: socket.protocol,
            ttl,
            tos: control.tos.unwrap_or(socket.options.tos),
            pmtu_mode: pmtu_mode(socket.options.pmtu_discovery),
            options: &[],
            socket_options: (!ip_options.is_empty()).then_some(SocketOptionsToBuild {
                options: &ip_options,
                final_destination: destination,
            }),
            payload: &payload,
            dont_route,
            socket_ident: socket.peer.is_some().then_some(socket.inet_id),
            oif,
        };
        let peer_port = socket.peer.map_or(0, |peer| peer.port());
        if !readable {
            // ip_append_data copies through raw_getfrag after its size checks.
            return Err(Errno::EFAULT);
        }
        let connected = socket.peer.is_some();
        let mark = ip.output_mark();
        let result = ip.send(now, &datagram);
        if result.is_ok() {
            let frame = ip.frame_handed_since(mark);
            let stamp = ip.wall_time_at(now);
            self.report_transmit(id, control.timestamping, control.timestamp_id, frame, stamp);
        }
        if connected {
            let socket = self.get_mut(id)?;
            socket.inet_id = socket.inet_id.wrapping_add(1);
        }
        match result {
            Ok(()) => Ok(args.data.len()),
            Err(Errno::EMSGSIZE) => {
                // __ip_append_data's ip_local_error, with the MTU less the options.
                let mtu = route.mtu.saturating_sub(ip_options.len() as u32);
                self.local_error(id, destination, peer_port, mtu);
                Err(Errno::EMSGSIZE)
            }
            Err(errno) => Err(errno),
        }
    }

    /// ip_local_error: queued only with IP_RECVERR.
    fn local_error(&mut self, id: SocketId, destination: Ipv4Addr, port: u16, mtu: u32) {
        let Ok(socket) = self.get_mut(id) else {
            return;
        };
        if !socket.options.receive_errors {
            return;
        }
        socket.queue_error(QueuedError {
            errno: Errno::EMSGSIZE,
            origin: ORIGIN_LOCAL,
            icmp_type: 0,
            code: 0,
            info: mtu,
            ee_data: 0,
            destination,
            port,
            offender: None,
            payload: Vec::new(),
            received: None,
            truesize: 896,
        });
    }
}
