//! The SOL_SOCKET rows of the integer option table (sk_setsockopt / sk_getsockopt in
//! net/core/sock.c).

use crate::cmsg::priority_allowed;
use crate::errno::Errno;

use super::super::names::socket;
use super::super::values::{SocketOptions, MIN_RECEIVE_BUFFER, MIN_SEND_BUFFER};
use super::{flag, socket_option, IntOption};
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

pub(super) static SOCKET_OPTIONS: &[IntOption] = &[
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
];
