//! Integer socket options as data (STYLE.md convention 2): one row per (level, name) with how
//! the value is decoded, which socket types accept it, the valid range and its errno, and how
//! it is read and written. The rows copy sk_setsockopt / sk_getsockopt (net/core/sock.c) and
//! do_ip_setsockopt / do_ip_getsockopt (net/ipv4/ip_sockglue.c). Options with a structure
//! (SO_LINGER, timeouts, IP_MTU, ...) have explicit handlers in `structured.rs`.

use crate::cmsg::{priority_allowed, tos_to_priority};
use crate::errno::Errno;
use crate::socket::sock_type;

use super::names::{ip, level, socket};
use super::values::{pmtu, SocketOptions, MIN_RECEIVE_BUFFER, MIN_SEND_BUFFER};
use super::OptionContext;

/// How setsockopt reads the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decode {
    /// sk_setsockopt: optlen < sizeof(int) is EINVAL, then an int is read.
    Int,
    /// do_ip_setsockopt: an int when optlen >= 4, else one unsigned byte when optlen >= 1,
    /// else 0 ("if optlen==0, it is equivalent to val == 0").
    IntOrByte,
    /// IntOrByte, but an empty value is EINVAL (the `if (optlen < 1)` checks).
    IntOrByteNonEmpty,
}

/// How getsockopt writes the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encode {
    /// sk_getsockopt: the first min(len, 4) bytes of the int.
    Int,
    /// do_ip_getsockopt: one byte when 0 < len < 4 and the value fits in 0..=255, else the
    /// first min(len, 4) bytes of the int.
    IntOrByte,
}

/// The accepted values, checked after decoding (before the setter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    Any,
    /// Inclusive bounds; outside them the option fails with `errno`.
    Between {
        min: i32,
        max: i32,
        errno: Errno,
    },
}

/// Socket types (bit per SOCK_* value) an option accepts, and the errno for the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketTypes {
    pub mask: u32,
    pub errno: Errno,
}

pub const ALL_TYPES: SocketTypes = SocketTypes {
    mask: u32::MAX,
    errno: Errno::ENOPROTOOPT,
};
/// IP_MULTICAST_TTL: "if (sk->sk_type == SOCK_STREAM) return -EINVAL".
const NOT_STREAM: SocketTypes = SocketTypes {
    mask: !(1 << sock_type::STREAM),
    errno: Errno::EINVAL,
};

impl SocketTypes {
    pub fn accepts(&self, socket_type: i32) -> bool {
        (0..32).contains(&socket_type) && self.mask & (1 << socket_type) != 0
    }
}

pub type Getter = fn(&SocketOptions, &OptionContext<'_>) -> i32;
pub type Setter = fn(&mut SocketOptions, &OptionContext<'_>, i32) -> Result<(), Errno>;

#[derive(Clone, Copy)]
pub struct IntOption {
    pub level: i32,
    pub name: i32,
    pub label: &'static str,
    pub types: SocketTypes,
    pub decode: Decode,
    pub encode: Encode,
    pub range: Range,
    /// None: getsockopt answers ENOPROTOOPT.
    pub get: Option<Getter>,
    /// None: setsockopt answers ENOPROTOOPT (after the decoding checks, as the kernel's
    /// `default:` does).
    pub set: Option<Setter>,
}

const fn socket_option(
    name: i32,
    label: &'static str,
    get: Option<Getter>,
    set: Option<Setter>,
) -> IntOption {
    IntOption {
        level: level::SOL_SOCKET,
        name,
        label,
        types: ALL_TYPES,
        decode: Decode::Int,
        encode: Encode::Int,
        range: Range::Any,
        get,
        set,
    }
}

const fn ip_option(
    name: i32,
    label: &'static str,
    decode: Decode,
    range: Range,
    get: Getter,
    set: Setter,
) -> IntOption {
    IntOption {
        level: level::SOL_IP,
        name,
        label,
        types: ALL_TYPES,
        decode,
        encode: Encode::IntOrByte,
        range,
        get: Some(get),
        set: Some(set),
    }
}

const fn flag(value: bool) -> i32 {
    value as i32
}

/// SO_SNDBUF's tail (`set_sndbuf:` in sk_setsockopt): keep val * 2 an int, double, floor.
fn store_send_buffer(options: &mut SocketOptions, value: i32) {
    let value = value.min(i32::MAX / 2);
    options.send_buffer = (value * 2).max(MIN_SEND_BUFFER);
}

/// __sock_set_rcvbuf.
fn store_receive_buffer(options: &mut SocketOptions, value: i32) {
    let value = value.min(i32::MAX / 2);
    options.receive_buffer = (value * 2).max(MIN_RECEIVE_BUFFER);
}

/// `min_t(u32, val, max)`: a negative value compares as a huge unsigned one.
fn clamp_unsigned(value: i32, max: u32) -> i32 {
    (value as u32).min(max).min(i32::MAX as u32) as i32
}

/// __sock_set_timestamps: turning a timestamp option on also enables SOCK_TIMESTAMP, which
/// turning it off leaves set.
fn set_timestamps(options: &mut SocketOptions, on: bool, new: bool, nanoseconds: bool) {
    options.timestamp = on;
    options.timestamp_ns = on && nanoseconds;
    if on {
        options.timestamp_new = new;
        options.record_receive_stamps = true;
    }
}

pub static INT_OPTIONS: &[IntOption] = &[
    // ----- SOL_SOCKET -----
    socket_option(socket::SO_TYPE, "SO_TYPE", Some(|_, c| c.socket_type), None),
    socket_option(
        socket::SO_PROTOCOL,
        "SO_PROTOCOL",
        Some(|_, c| c.protocol),
        None,
    ),
    socket_option(socket::SO_DOMAIN, "SO_DOMAIN", Some(|_, _| 2), None),
    // SO_ERROR reads and clears sk_err (sock_error), then sk_err_soft (unused by UDP).
    socket_option(
        socket::SO_ERROR,
        "SO_ERROR",
        Some(|_, c| c.pending_error.take().map_or(0, |e| e.raw())),
        None,
    ),
    socket_option(
        socket::SO_ACCEPTCONN,
        "SO_ACCEPTCONN",
        Some(|_, c| flag(c.listening)),
        None,
    ),
    socket_option(
        socket::SO_REUSEADDR,
        "SO_REUSEADDR",
        Some(|o, _| flag(o.reuse_address)),
        Some(|o, _, v| {
            o.reuse_address = v != 0;
            Ok(())
        }),
    ),
    socket_option(
        socket::SO_REUSEPORT,
        "SO_REUSEPORT",
        Some(|o, _| flag(o.reuse_port)),
        Some(|o, _, v| {
            o.reuse_port = v != 0;
            Ok(())
        }),
    ),
    socket_option(
        socket::SO_BROADCAST,
        "SO_BROADCAST",
        Some(|o, _| flag(o.broadcast)),
        Some(|o, _, v| {
            o.broadcast = v != 0;
            Ok(())
        }),
    ),
    socket_option(
        socket::SO_DONTROUTE,
        "SO_DONTROUTE",
        Some(|o, _| flag(o.dont_route)),
        Some(|o, _, v| {
            o.dont_route = v != 0;
            Ok(())
        }),
    ),
    socket_option(
        socket::SO_KEEPALIVE,
        "SO_KEEPALIVE",
        Some(|o, _| flag(o.keepalive)),
        Some(|o, _, v| {
            o.keepalive = v != 0;
            Ok(())
        }),
    ),
    // "if (val && !sockopt_capable(CAP_NET_ADMIN)) ret = -EACCES": turning it off is free.
    socket_option(
        socket::SO_DEBUG,
        "SO_DEBUG",
        Some(|o, _| flag(o.debug)),
        Some(|o, c, v| {
            if v != 0 && !c.creds.cap_net_admin {
                return Err(Errno::EACCES);
            }
            o.debug = v != 0;
            Ok(())
        }),
    ),
    // Obsolete: sk_setsockopt accepts any int and does nothing; sk_getsockopt answers 0.
    socket_option(
        socket::SO_BSDCOMPAT,
        "SO_BSDCOMPAT",
        Some(|_, _| 0),
        Some(|_, _, _| Ok(())),
    ),
    socket_option(
        socket::SO_WIFI_STATUS,
        "SO_WIFI_STATUS",
        Some(|o, _| flag(o.wifi_status)),
        Some(|o, _, v| {
            o.wifi_status = v != 0;
            Ok(())
        }),
    ),
    socket_option(
        socket::SO_NOFCS,
        "SO_NOFCS",
        Some(|o, _| flag(o.no_frame_check_sequence)),
        Some(|o, _, v| {
            o.no_frame_check_sequence = v != 0;
            Ok(())
        }),
    ),
    socket_option(
        socket::SO_SELECT_ERR_QUEUE,
        "SO_SELECT_ERR_QUEUE",
        Some(|o, _| flag(o.select_error_queue)),
        Some(|o, _, v| {
            o.select_error_queue = v != 0;
            Ok(())
        }),
    ),
    socket_option(
        socket::SO_OOBINLINE,
        "SO_OOBINLINE",
        Some(|o, _| flag(o.out_of_band_inline)),
        Some(|o, _, v| {
            o.out_of_band_inline = v != 0;
            Ok(())
        }),
    ),
    socket_option(
        socket::SO_NO_CHECK,
        "SO_NO_CHECK",
        Some(|o, _| flag(o.no_check_tx)),
        Some(|o, _, v| {
            o.no_check_tx = v != 0;
            Ok(())
        }),
    ),
    // sk_setsockopt: CAP_NET_RAW or CAP_NET_ADMIN, checked before the value is compared (an
    // unprivileged set to the current mark is EPERM too; measured). The UDP layer drops the
    // cached route when the mark changes (__sock_set_mark → sk_dst_reset).
    socket_option(
        socket::SO_MARK,
        "SO_MARK",
        Some(|o, _| o.mark as i32),
        Some(|o, c, v| {
            if !c.creds.cap_net_raw && !c.creds.cap_net_admin {
                return Err(Errno::EPERM);
            }
            o.mark = v as u32;
            Ok(())
        }),
    ),
    socket_option(
        socket::SO_PRIORITY,
        "SO_PRIORITY",
        Some(|o, _| o.priority as i32),
        Some(|o, c, v| {
            if !priority_allowed(i64::from(v), c.creds) {
                return Err(Errno::EPERM);
            }
            o.priority = v as u32;
            Ok(())
        }),
    ),
    // "Don't error on this BSD doesn't": the request is clamped to net.core.wmem_max, doubled
    // for the sk_buff overhead, and floored at SOCK_MIN_SNDBUF.
    socket_option(
        socket::SO_SNDBUF,
        "SO_SNDBUF",
        Some(|o, _| o.send_buffer),
        Some(|o, c, v| {
            store_send_buffer(o, clamp_unsigned(v, c.sysctls.wmem_max));
            Ok(())
        }),
    ),
    socket_option(
        socket::SO_RCVBUF,
        "SO_RCVBUF",
        Some(|o, _| o.receive_buffer),
        Some(|o, c, v| {
            store_receive_buffer(o, clamp_unsigned(v, c.sysctls.rmem_max));
            Ok(())
        }),
    ),
    // The FORCE variants skip the sysctl ceiling but need CAP_NET_ADMIN; negatives become 0.
    socket_option(
        socket::SO_SNDBUFFORCE,
        "SO_SNDBUFFORCE",
        None,
        Some(|o, c, v| {
            if !c.creds.cap_net_admin {
                return Err(Errno::EPERM);
            }
            store_send_buffer(o, v.max(0));
            Ok(())
        }),
    ),
    socket_option(
        socket::SO_RCVBUFFORCE,
        "SO_RCVBUFFORCE",
        None,
        Some(|o, c, v| {
            if !c.creds.cap_net_admin {
                return Err(Errno::EPERM);
            }
            store_receive_buffer(o, v.max(0));
            Ok(())
        }),
    ),
    socket_option(
        socket::SO_TIMESTAMP_OLD,
        "SO_TIMESTAMP",
        Some(|o, _| flag(o.timestamp && !o.timestamp_new && !o.timestamp_ns)),
        Some(|o, _, v| {
            set_timestamps(o, v != 0, false, false);
            Ok(())
        }),
    ),
    socket_option(
        socket::SO_TIMESTAMPNS_OLD,
        "SO_TIMESTAMPNS",
        Some(|o, _| flag(o.timestamp_ns && !o.timestamp_new)),
        Some(|o, _, v| {
            set_timestamps(o, v != 0, false, true);
            Ok(())
        }),
    ),
    socket_option(
        socket::SO_TIMESTAMP_NEW,
        "SO_TIMESTAMP_NEW",
        Some(|o, _| flag(o.timestamp && o.timestamp_new)),
        Some(|o, _, v| {
            set_timestamps(o, v != 0, true, false);
            Ok(())
        }),
    ),
    socket_option(
        socket::SO_TIMESTAMPNS_NEW,
        "SO_TIMESTAMPNS_NEW",
        Some(|o, _| flag(o.timestamp_ns && o.timestamp_new)),
        Some(|o, _, v| {
            set_timestamps(o, v != 0, true, true);
            Ok(())
        }),
    ),
    // Datagram sockets have no set_rcvlowat: negative means INT_MAX, 0 means 1.
    socket_option(
        socket::SO_RCVLOWAT,
        "SO_RCVLOWAT",
        Some(|o, _| o.receive_low_water),
        Some(|o, _, v| {
            let value = if v < 0 { i32::MAX } else { v };
            o.receive_low_water = if value == 0 { 1 } else { value };
            Ok(())
        }),
    ),
    // "We implement the SO_SNDLOWAT etc to not be settable (1003.1g 7)": reads 1.
    socket_option(socket::SO_SNDLOWAT, "SO_SNDLOWAT", Some(|_, _| 1), None),
    // ----- SOL_IP -----
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

/// The row for (level, name), if the option is an integer one.
pub fn find(level: i32, name: i32) -> Option<&'static IntOption> {
    INT_OPTIONS
        .iter()
        .find(|option| option.level == level && option.name == name)
}
