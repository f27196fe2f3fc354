//! The SOL_IP rows of the integer option table (do_ip_setsockopt / do_ip_getsockopt in
//! net/ipv4/ip_sockglue.c).

use crate::cmsg::tos_to_priority;
use crate::errno::Errno;

use super::super::names::ip;
use super::super::values::pmtu;
use super::{flag, ip_option, Decode, IntOption, Range, NOT_STREAM};

pub(super) static IP_OPTIONS: &[IntOption] = &[
    ip_option(
        ip::IP_TOS,
        "IP_TOS",
        Decode::IntOrByte,
        Range::Any,
        |o, _| i32::from(o.tos),
        |o, _, v| {
            // __ip_sock_set_tos: stored as a byte; a change also sets sk_priority.
            let tos = v as u8;
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
    // Turning IP_RECVERR off purges the error queue; the queue is issue #4 (nothing to purge).
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
];
