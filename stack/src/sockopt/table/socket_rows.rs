//! The SOL_SOCKET rows of the integer option table (sk_setsockopt / sk_getsockopt in
//! net/core/sock.c).

use crate::cmsg::priority_allowed;
use crate::errno::Errno;
use crate::socket::sock_type;

use super::super::names::{socket, socket_more};
use super::super::socket_structured;
use super::super::values::{SocketOptions, MIN_RECEIVE_BUFFER, MIN_SEND_BUFFER};
use super::{flag, socket_option, IntOption};

/// sk_userlocks bits (include/net/sock.h); SO_BUF_LOCK accepts exactly these.
const SOCK_SNDBUF_LOCK: u8 = 1;
const SOCK_RCVBUF_LOCK: u8 = 2;
/// SKF_AD_MAX (linux/filter.h): what bpf_tell_extensions answers for SO_BPF_EXTENSIONS.
const BPF_EXTENSIONS: i32 = 64;
/// SO_ZEROCOPY is for TCP (sk_is_tcp) and plain UDP datagram sockets only.
const PROTOCOL_TCP: i32 = 6;
const PROTOCOL_UDP: i32 = 17;

/// SO_SNDBUF's tail (`set_sndbuf:` in sk_setsockopt): the size is now the user's
/// (SOCK_SNDBUF_LOCK); keep val * 2 an int, double, floor.
fn store_send_buffer(options: &mut SocketOptions, value: i32) {
    let value = value.min(i32::MAX / 2);
    options.buffer_locks |= SOCK_SNDBUF_LOCK;
    options.send_buffer = (value * 2).max(MIN_SEND_BUFFER);
}

/// __sock_set_rcvbuf (which sets SOCK_RCVBUF_LOCK too).
fn store_receive_buffer(options: &mut SocketOptions, value: i32) {
    let value = value.min(i32::MAX / 2);
    options.buffer_locks |= SOCK_RCVBUF_LOCK;
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
    // ----- the rest of socket(7) and Linux's additions (sk_setsockopt / sk_getsockopt) -----
    socket_option(
        socket_more::SO_RXQ_OVFL,
        "SO_RXQ_OVFL",
        Some(|o, _| flag(o.receive_queue_overflow)),
        Some(|o, _, v| {
            o.receive_queue_overflow = v != 0;
            Ok(())
        }),
    ),
    // sk_set_peek_off (inet_dgram_ops.set_peek_off): any int; negative turns it off.
    socket_option(
        socket_more::SO_PEEK_OFF,
        "SO_PEEK_OFF",
        Some(|o, _| o.peek_offset),
        Some(|o, _, v| {
            o.peek_offset = v;
            Ok(())
        }),
    ),
    // "if (sock_flag(sk, SOCK_FILTER_LOCKED) && !valbool) ret = -EPERM": a lock is for good.
    socket_option(
        socket_more::SO_LOCK_FILTER,
        "SO_LOCK_FILTER",
        Some(|o, _| flag(o.filter_locked)),
        Some(|o, _, v| {
            if o.filter_locked && v == 0 {
                return Err(Errno::EPERM);
            }
            o.filter_locked = v != 0;
            Ok(())
        }),
    ),
    socket_option(
        socket_more::SO_BUSY_POLL,
        "SO_BUSY_POLL",
        Some(|o, _| o.busy_poll_usec),
        Some(|o, _, v| {
            if v < 0 {
                return Err(Errno::EINVAL);
            }
            o.busy_poll_usec = v;
            Ok(())
        }),
    ),
    socket_option(
        socket_more::SO_PREFER_BUSY_POLL,
        "SO_PREFER_BUSY_POLL",
        Some(|o, _| flag(o.prefer_busy_poll)),
        Some(|o, c, v| {
            if v != 0 && !c.creds.cap_net_admin {
                return Err(Errno::EPERM);
            }
            o.prefer_busy_poll = v != 0;
            Ok(())
        }),
    ),
    // Raising the budget needs CAP_NET_ADMIN (checked first), then 0..=U16_MAX. Write-only:
    // sk_getsockopt has no case for it.
    socket_option(
        socket_more::SO_BUSY_POLL_BUDGET,
        "SO_BUSY_POLL_BUDGET",
        None,
        Some(|o, c, v| {
            if v > i32::from(o.busy_poll_budget) && !c.creds.cap_net_admin {
                return Err(Errno::EPERM);
            }
            if !(0..=i32::from(u16::MAX)).contains(&v) {
                return Err(Errno::EINVAL);
            }
            o.busy_poll_budget = v as u16;
            Ok(())
        }),
    ),
    socket_option(
        socket_more::SO_BPF_EXTENSIONS,
        "SO_BPF_EXTENSIONS",
        Some(|_, _| BPF_EXTENSIONS),
        None,
    ),
    // Any int is stored; the kernel overwrites it with the receiving CPU when a datagram is
    // queued (sk_incoming_cpu_update), which a sans-IO stack has no notion of.
    socket_option(
        socket_more::SO_INCOMING_CPU,
        "SO_INCOMING_CPU",
        Some(|o, _| o.incoming_cpu),
        Some(|o, _, v| {
            o.incoming_cpu = v;
            Ok(())
        }),
    ),
    // "if (val == 1) dst_negative_advice(sk)": the cached route is dropped (udp/options.rs);
    // write-only.
    socket_option(
        socket_more::SO_CNX_ADVICE,
        "SO_CNX_ADVICE",
        None,
        Some(|_, _, _| Ok(())),
    ),
    // napi ids below MIN_NAPI_ID read as 0; the stack's datagrams come from no NAPI context.
    socket_option(
        socket_more::SO_INCOMING_NAPI_ID,
        "SO_INCOMING_NAPI_ID",
        Some(|_, _| 0),
        None,
    ),
    // Only TCP and plain UDP (not UDP-Lite: EOPNOTSUPP, measured) may use MSG_ZEROCOPY; then
    // 0 or 1.
    socket_option(
        socket_more::SO_ZEROCOPY,
        "SO_ZEROCOPY",
        Some(|o, _| flag(o.zerocopy)),
        Some(|o, c, v| {
            let tcp = c.socket_type == sock_type::STREAM && c.protocol == PROTOCOL_TCP;
            let udp = c.socket_type == sock_type::DGRAM && c.protocol == PROTOCOL_UDP;
            if !tcp && !udp {
                return Err(Errno::EOPNOTSUPP);
            }
            if !(0..=1).contains(&v) {
                return Err(Errno::EINVAL);
            }
            o.zerocopy = v != 0;
            Ok(())
        }),
    ),
    // sock_bindtoindex_locked: rebinding a bound socket needs CAP_NET_RAW; negative is
    // EINVAL; the index is not checked against the devices (measured: 999 is accepted, and
    // SO_BINDTODEVICE then reads ENODEV). The UDP layer drops the cached route.
    socket_option(
        socket_more::SO_BINDTOIFINDEX,
        "SO_BINDTOIFINDEX",
        Some(|o, _| o.bound_device as i32),
        Some(|o, c, v| socket_structured::bind_to_index(o, c, i64::from(v))),
    ),
    socket_option(
        socket_more::SO_BUF_LOCK,
        "SO_BUF_LOCK",
        Some(|o, _| i32::from(o.buffer_locks)),
        Some(|o, _, v| {
            if v & !i32::from(SOCK_SNDBUF_LOCK | SOCK_RCVBUF_LOCK) != 0 {
                return Err(Errno::EINVAL);
            }
            o.buffer_locks = v as u8;
            Ok(())
        }),
    ),
    // sock_reserve_memory needs the socket to be charged to a memory cgroup
    // (sk->sk_memcg); the stack's sockets belong to none, as the kernel's do here (measured:
    // EOPNOTSUPP for every size). Nothing is ever reserved, so it reads 0.
    socket_option(
        socket_more::SO_RESERVE_MEM,
        "SO_RESERVE_MEM",
        Some(|_, _| 0),
        Some(|_, _, v| {
            if v < 0 {
                return Err(Errno::EINVAL);
            }
            Err(Errno::EOPNOTSUPP)
        }),
    ),
    socket_option(
        socket_more::SO_RCVMARK,
        "SO_RCVMARK",
        Some(|o, _| flag(o.receive_mark)),
        Some(|o, _, v| {
            o.receive_mark = v != 0;
            Ok(())
        }),
    ),
    socket_option(
        socket_more::SO_RCVPRIORITY,
        "SO_RCVPRIORITY",
        Some(|o, _| flag(o.receive_priority)),
        Some(|o, _, v| {
            o.receive_priority = v != 0;
            Ok(())
        }),
    ),
    // sock_devmem_dontneed: "if (!sk_is_tcp(sk)) return -EBADF" (device memory TCP only; a
    // TCP socket must answer it itself).
    socket_option(
        socket_more::SO_DEVMEM_DONTNEED,
        "SO_DEVMEM_DONTNEED",
        None,
        Some(|_, _, _| Err(Errno::EBADF)),
    ),
    // reuseport_detach_prog: a socket outside any reuseport group is EINVAL, one with
    // SO_REUSEPORT set and no program ENOENT (measured). The program is kept by the member
    // that attached it (SocketOptions::reuseport_program), so only that member removes it.
    socket_option(
        socket_more::SO_DETACH_REUSEPORT_BPF,
        "SO_DETACH_REUSEPORT_BPF",
        None,
        Some(|o, _, _| {
            if o.reuse_port && o.reuseport_program.take().is_some() {
                return Ok(());
            }
            Err(if o.reuse_port {
                Errno::ENOENT
            } else {
                Errno::EINVAL
            })
        }),
    ),
    // sk_detach_filter (socket_structured.rs).
    socket_option(
        socket_more::SO_DETACH_FILTER,
        "SO_DETACH_FILTER",
        None,
        Some(|o, _, _| socket_structured::detach_filter(o)),
    ),
];
