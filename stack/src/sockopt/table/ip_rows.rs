//! The SOL_IP rows of the integer option table (do_ip_setsockopt / do_ip_getsockopt in
//! net/ipv4/ip_sockglue.c).

use crate::cmsg::tos_to_priority;
use crate::errno::Errno;

use super::super::names::ip;
use super::super::values::pmtu;
use super::{flag, ip_option, Decode, IntOption, Range, SocketTypes, NOT_STREAM};
use crate::socket::sock_type;

/// INET_ECN_MASK: the two ECN bits of the TOS byte.
const ECN_MASK: u8 = 0x03;

/// IP_HDRINCL and IP_NODEFRAG: "if (sk->sk_type != SOCK_RAW) return -ENOPROTOOPT".
const RAW_ONLY: SocketTypes = SocketTypes {
    mask: 1 << sock_type::RAW,
    errno: Errno::ENOPROTOOPT,
};
/// IP_ROUTER_ALERT: ip_ra_control refuses anything but a raw socket with EINVAL (and a raw
/// IPPROTO_RAW one, which raw sockets must check when they come).
const RAW_ONLY_EINVAL: SocketTypes = SocketTypes {
    mask: 1 << sock_type::RAW,
    errno: Errno::EINVAL,
};
/// IP_RECVFRAGSIZE: "if (sk->sk_type != SOCK_RAW && sk->sk_type != SOCK_DGRAM) return -EINVAL".
const RAW_OR_DATAGRAM: SocketTypes = SocketTypes {
    mask: 1 << sock_type::RAW | 1 << sock_type::DGRAM,
    errno: Errno::EINVAL,
};

/// A cmsg_flags bit (IP_PASSSEC, IP_RECVORIGDSTADDR, IP_CHECKSUM, ...): any non-zero value
/// sets it, an empty value clears it.
macro_rules! flag_option {
    ($name:expr, $label:expr, $field:ident) => {
        ip_option(
            $name,
            $label,
            Decode::IntOrByte,
            Range::Any,
            |o, _| flag(o.$field),
            |o, _, v| {
                o.$field = v != 0;
                Ok(())
            },
        )
    };
}

pub(super) static IP_OPTIONS: &[IntOption] = &[
    ip_option(
        ip::IP_TOS,
        "IP_TOS",
        Decode::IntOrByte,
        Range::Any,
        |o, _| i32::from(o.tos),
        |o, c, v| {
            // __ip_sock_set_tos: stored as a byte; a change also sets sk_priority. A stream
            // socket keeps its ECN bits (TCP owns them, RFC 3168 6.1.1); a datagram socket
            // sends whatever ECN bits it is given.
            let tos = if c.socket_type == sock_type::STREAM {
                (v as u8 & !ECN_MASK) | (o.tos & ECN_MASK)
            } else {
                v as u8
            };
            if tos != o.tos {
                o.tos = tos;
                o.priority = tos_to_priority(tos);
            }
            Ok(())
        },
    ),
    ip_option(
        ip::IP_TTL,
        "IP_TTL",
        Decode::IntOrByteNonEmpty,
        Range::Between {
            min: -1,
            max: 255,
            errno: Errno::EINVAL,
        },
        |o, c| {
            if o.unicast_ttl < 0 {
                i32::from(c.sysctls.ip_default_ttl)
            } else {
                o.unicast_ttl
            }
        },
        |o, _, v| {
            // -1 (the default) or 1..=255; 0 is refused.
            if v == 0 {
                return Err(Errno::EINVAL);
            }
            o.unicast_ttl = v;
            Ok(())
        },
    ),
    ip_option(
        ip::IP_RECVTTL,
        "IP_RECVTTL",
        Decode::IntOrByte,
        Range::Any,
        |o, _| flag(o.receive_ttl),
        |o, _, v| {
            o.receive_ttl = v != 0;
            Ok(())
        },
    ),
    ip_option(
        ip::IP_RECVTOS,
        "IP_RECVTOS",
        Decode::IntOrByte,
        Range::Any,
        |o, _| flag(o.receive_tos),
        |o, _, v| {
            o.receive_tos = v != 0;
            Ok(())
        },
    ),
    ip_option(
        ip::IP_PKTINFO,
        "IP_PKTINFO",
        Decode::IntOrByte,
        Range::Any,
        |o, _| flag(o.packet_info),
        |o, _, v| {
            o.packet_info = v != 0;
            Ok(())
        },
    ),
    // Turning IP_RECVERR off also purges the error queue: the queue is the socket's, so the
    // UDP layer does that after this setter (udp/options.rs).
    ip_option(
        ip::IP_RECVERR,
        "IP_RECVERR",
        Decode::IntOrByte,
        Range::Any,
        |o, _| flag(o.receive_errors),
        |o, _, v| {
            o.receive_errors = v != 0;
            Ok(())
        },
    ),
    // "if (val < 0 || val > 1) goto e_inval; inet_assign_bit(RECVERR_RFC4884, sk, val)".
    ip_option(
        ip::IP_RECVERR_RFC4884,
        "IP_RECVERR_RFC4884",
        Decode::IntOrByte,
        Range::Between {
            min: 0,
            max: 1,
            errno: Errno::EINVAL,
        },
        |o, _| flag(o.receive_errors_rfc4884),
        |o, _, v| {
            o.receive_errors_rfc4884 = v != 0;
            Ok(())
        },
    ),
    ip_option(
        ip::IP_MTU_DISCOVER,
        "IP_MTU_DISCOVER",
        Decode::IntOrByte,
        Range::Between {
            min: pmtu::DONT as i32,
            max: pmtu::OMIT as i32,
            errno: Errno::EINVAL,
        },
        |o, _| i32::from(o.pmtu_discovery),
        |o, _, v| {
            o.pmtu_discovery = v as u8;
            Ok(())
        },
    ),
    IntOption {
        types: NOT_STREAM,
        ..ip_option(
            ip::IP_MULTICAST_TTL,
            "IP_MULTICAST_TTL",
            Decode::IntOrByteNonEmpty,
            // -1 means the default, 1; checked in the setter before the range.
            Range::Between {
                min: -1,
                max: 255,
                errno: Errno::EINVAL,
            },
            |o, _| i32::from(o.multicast_ttl),
            |o, _, v| {
                o.multicast_ttl = if v == -1 { 1 } else { v as u8 };
                Ok(())
            },
        )
    },
    ip_option(
        ip::IP_MULTICAST_LOOP,
        "IP_MULTICAST_LOOP",
        Decode::IntOrByteNonEmpty,
        Range::Any,
        |o, _| flag(o.multicast_loop),
        |o, _, v| {
            o.multicast_loop = v != 0;
            Ok(())
        },
    ),
    ip_option(
        ip::IP_FREEBIND,
        "IP_FREEBIND",
        Decode::IntOrByteNonEmpty,
        Range::Any,
        |o, _| flag(o.freebind),
        |o, _, v| {
            o.freebind = v != 0;
            Ok(())
        },
    ),
    // IP_TRANSPARENT checks the capability before the length (do_ip_setsockopt order), so it
    // decodes leniently and checks emptiness itself (see `set_int` in mod.rs).
    ip_option(
        ip::IP_TRANSPARENT,
        "IP_TRANSPARENT",
        Decode::IntOrByte,
        Range::Any,
        |o, _| flag(o.transparent),
        |o, c, v| {
            if v != 0 && !c.creds.cap_net_raw && !c.creds.cap_net_admin {
                return Err(Errno::EPERM);
            }
            if c.value_len < 1 {
                return Err(Errno::EINVAL);
            }
            o.transparent = v != 0;
            Ok(())
        },
    ),
    // IP_RECVOPTS, IP_RETOPTS: cmsg_flags bits; the control messages are built in
    // udp/recv.rs (the options themselves, IP_OPTIONS, are set elsewhere).
    flag_option!(ip::IP_RECVOPTS, "IP_RECVOPTS", receive_options),
    flag_option!(ip::IP_RETOPTS, "IP_RETOPTS", return_options),
    // IP_PASSSEC: SCM_SECURITY needs a security module labelling the datagram (labeled
    // IPsec or NetLabel); without one the kernel never sends it, and neither does the stack.
    flag_option!(ip::IP_PASSSEC, "IP_PASSSEC", pass_security),
    // The next three are cmsg_flags bits; the control messages are built in udp/recv.rs.
    flag_option!(
        ip::IP_RECVORIGDSTADDR,
        "IP_RECVORIGDSTADDR",
        receive_original_destination
    ),
    flag_option!(ip::IP_CHECKSUM, "IP_CHECKSUM", receive_checksum),
    IntOption {
        types: RAW_OR_DATAGRAM,
        ..flag_option!(
            ip::IP_RECVFRAGSIZE,
            "IP_RECVFRAGSIZE",
            receive_fragment_size
        )
    },
    // IP_BIND_ADDRESS_NO_PORT: bind leaves the port to connect (udp/bind.rs).
    flag_option!(
        ip::IP_BIND_ADDRESS_NO_PORT,
        "IP_BIND_ADDRESS_NO_PORT",
        bind_address_no_port
    ),
    IntOption {
        types: RAW_ONLY,
        ..flag_option!(ip::IP_HDRINCL, "IP_HDRINCL", header_included)
    },
    IntOption {
        types: RAW_ONLY,
        ..flag_option!(ip::IP_NODEFRAG, "IP_NODEFRAG", no_defragment)
    },
    IntOption {
        types: RAW_ONLY_EINVAL,
        ..flag_option!(ip::IP_ROUTER_ALERT, "IP_ROUTER_ALERT", router_alert)
    },
    // IP_MINTTL (RFC 5082, GTSM): received datagrams with a lower TTL are dropped
    // (udp/deliver.rs). "if (optlen < 1) goto e_inval; if (val < 0 || val > 255) goto e_inval".
    ip_option(
        ip::IP_MINTTL,
        "IP_MINTTL",
        Decode::IntOrByteNonEmpty,
        Range::Between {
            min: 0,
            max: 255,
            errno: Errno::EINVAL,
        },
        |o, _| i32::from(o.minimum_ttl),
        |o, _, v| {
            o.minimum_ttl = v as u8;
            Ok(())
        },
    ),
    // "if (optlen < 1) goto e_inval; if (val != 0 && val != 1) goto e_inval".
    ip_option(
        ip::IP_MULTICAST_ALL,
        "IP_MULTICAST_ALL",
        Decode::IntOrByteNonEmpty,
        Range::Between {
            min: 0,
            max: 1,
            errno: Errno::EINVAL,
        },
        |o, _| flag(o.multicast_all),
        |o, _, v| {
            o.multicast_all = v != 0;
            Ok(())
        },
    ),
    // IP_UNICAST_IF: exactly an int, the ifindex in network byte order; 0 clears it; an
    // index no interface has is EADDRNOTAVAIL. getsockopt answers it in network order too.
    ip_option(
        ip::IP_UNICAST_IF,
        "IP_UNICAST_IF",
        Decode::IntOrByte,
        Range::Any,
        |o, _| o.unicast_interface.to_be() as i32,
        |o, c, v| {
            if c.value_len != 4 {
                return Err(Errno::EINVAL);
            }
            let ifindex = u32::from_be(v as u32);
            if ifindex == 0 {
                o.unicast_interface = 0;
                return Ok(());
            }
            if !c.devices.exists(ifindex) {
                return Err(Errno::EADDRNOTAVAIL);
            }
            // "if (sk->sk_bound_dev_if && midx != sk->sk_bound_dev_if)": without VRFs the
            // master index is 0, so a socket bound to a device refuses any interface.
            if o.bound_device != 0 {
                return Err(Errno::EINVAL);
            }
            o.unicast_interface = ifindex;
            Ok(())
        },
    ),
    // IP_LOCAL_PORT_RANGE: exactly a u32, low port in the low half, high port in the high
    // half; with both set the low must not exceed the high. The ephemeral search uses it
    // (inet_sk_get_local_port_range, udp/ports.rs).
    ip_option(
        ip::IP_LOCAL_PORT_RANGE,
        "IP_LOCAL_PORT_RANGE",
        Decode::IntOrByte,
        Range::Any,
        |o, _| o.local_port_range as i32,
        |o, c, v| {
            if c.value_len != 4 {
                return Err(Errno::EINVAL);
            }
            let range = v as u32;
            let (low, high) = (range & 0xffff, range >> 16);
            if low != 0 && high != 0 && low > high {
                return Err(Errno::EINVAL);
            }
            o.local_port_range = range;
            Ok(())
        },
    ),
];
