//! Receiving: udp_recvmsg / __skb_recv_udp, with the control messages of sock_recv_cmsgs
//! (first) and ip_cmsg_recv_offset.

use core::net::{Ipv4Addr, SocketAddrV4};

use crate::cmsg::{
    kind, level, original_destination_data, packet_info_data, payload_checksum, put_timestamps,
    retopts_data, timestamping, ControlWriter, SocketLevelRequest,
};
use crate::errno::Errno;
use crate::socket::msg_flags::{MSG_CTRUNC, MSG_DONTWAIT, MSG_ERRQUEUE, MSG_PEEK, MSG_TRUNC};
use crate::socket::{RecvArgs, RecvResult, SocketId};
use crate::sockopt::SocketOptions;
use crate::time::{Instant, WallTime};

use super::layer::UdpLayer;
use super::socket::{QueuedDatagram, ReceiveStamp, UdpSocket};

impl UdpLayer {
    pub(super) fn recv_with(
        &mut self,
        _now: Instant,
        id: SocketId,
        args: RecvArgs,
        buf: &mut [u8],
    ) -> Result<RecvResult, Errno> {
        let socket = self.sockets.get_mut(id)?;
        if args.flags & MSG_ERRQUEUE != 0 {
            // udp_recvmsg hands MSG_ERRQUEUE to ip_recv_error before anything else.
            return socket.receive_error(args, buf, control_messages);
        }
        // __skb_recv_udp checks sock_error before looking at the queue.
        if let Some(error) = socket.take_error() {
            return Err(error);
        }
        // SO_PEEK_OFF (sk_peek_offset): MSG_PEEK starts that far into the queue.
        let (position, offset) = super::options::peek_position(socket, args.flags);
        let Some(datagram) = socket.receive_queue.get(position) else {
            // __skb_wait_for_more_packets returns 0 for a socket shut down for reading, but
            // only a caller that would wait gets there (timeo != 0).
            let would_wait =
                args.flags & MSG_DONTWAIT == 0 && socket.options.receive_timeout_ticks != 0;
            if socket.read_shut && would_wait {
                return Ok(RecvResult::default());
            }
            return Err(Errno::EAGAIN);
        };
        let length = datagram.payload.len();
        // udp_recvmsg: "if (copied > ulen - off) copied = ulen - off; else if (copied < ulen)
        // msg->msg_flags |= MSG_TRUNC" (ulen, not ulen - off: with a peek offset a buffer
        // that takes the rest exactly still reports MSG_TRUNC).
        let copied = (length - offset).min(args.capacity).min(buf.len());
        buf[..copied].copy_from_slice(&datagram.payload[offset..offset + copied]);
        let mut flags = 0;
        if args.capacity <= length - offset && args.capacity < length {
            flags |= MSG_TRUNC;
        }
        // udp_recvmsg: "if (copied < ulen || peeking || ...)" the checksum is verified before
        // the copy (__udp_lib_checksum_complete), which leaves the skb CHECKSUM_COMPLETE,
        // except when peeking: the peek holds a reference, and __skb_checksum_complete does
        // not touch a shared skb (measured: a peek and the read after it show no IP_CHECKSUM).
        if copied < length && args.flags & MSG_PEEK == 0 {
            datagram.complete_checksum();
        }
        let (control, control_truncated) =
            control_messages(socket, datagram, args.control_capacity);
        if control_truncated {
            flags |= MSG_CTRUNC;
        }
        let result = RecvResult {
            // "if (flags & MSG_TRUNC) err = ulen": the full length on request.
            len: if args.flags & MSG_TRUNC != 0 {
                length
            } else {
                copied.min(args.capacity)
            },
            from: Some(datagram.source),
            control,
            flags,
        };
        record_stamp(socket, datagram.timestamp);
        super::options::advance_peek_offset(socket, args.flags, result.len);
        super::options::mark_peeked(socket, args.flags, position);
        if args.flags & MSG_PEEK == 0 {
            if let Some(consumed) = socket.receive_queue.pop_front() {
                socket.receive_memory = socket.receive_memory.saturating_sub(consumed.truesize);
            }
        }
        Ok(result)
    }
}

/// sock_recv_cmsgs' sk_stamp update, peeking or not. Without any receive cmsg flag: a socket
/// that records stamps (SOCK_TIMESTAMP) keeps the datagram's time, else the first read turns
/// SK_DEFAULT_STAMP into 0. With one (__sock_recv_cmsgs): sock_recv_timestamp either builds the
/// timestamp messages and leaves sk_stamp alone, or writes skb->tstamp into it. (The kernel
/// stores skb->tstamp, which is 0 when no socket of the host wanted stamps as the datagram
/// arrived; here every datagram carries the time the driver gave it, and counts as stamped
/// when the socket records stamps.)
fn record_stamp(socket: &mut UdpSocket, timestamp: WallTime) {
    let options = &socket.options;
    let flags = options.timestamping_flags;
    let any_timestamping = flags & (timestamping::SOFTWARE | timestamping::RAW_HARDWARE) != 0;
    if options.timestamp
        || options.receive_queue_overflow
        || options.receive_mark
        || options.receive_priority
        || any_timestamping
    {
        let builds_messages = options.timestamp
            || flags & timestamping::RX_SOFTWARE != 0
            || flags & timestamping::SOFTWARE != 0;
        if !builds_messages {
            socket.stamp = if options.record_receive_stamps {
                ReceiveStamp::At(timestamp)
            } else {
                ReceiveStamp::Zero
            };
        }
        return;
    }
    if options.record_receive_stamps {
        socket.stamp = ReceiveStamp::At(timestamp);
    } else if socket.stamp == ReceiveStamp::Unset {
        socket.stamp = ReceiveStamp::Zero;
    }
}

/// The socket's receive-timestamp settings as sock_recv_cmsgs reads them (the error queue's
/// entries get the same messages).
pub(super) fn socket_level_request(options: &SocketOptions) -> SocketLevelRequest {
    SocketLevelRequest {
        timestamp: options.timestamp,
        nanoseconds: options.timestamp_ns,
        new_layout: options.timestamp_new,
        timestamping_flags: options.timestamping_flags,
    }
}

/// The control messages of one datagram, in udp_recvmsg's order: sock_recv_cmsgs
/// (__sock_recv_timestamp, sock_recv_drops, sock_recv_mark, sock_recv_priority), then
/// ip_cmsg_recv_offset (IP_PKTINFO, IP_TTL, IP_TOS, IP_RECVOPTS, IP_RETOPTS,
/// IP_ORIGDSTADDR, IP_CHECKSUM, IP_RECVFRAGSIZE).
/// Returns the buffer put_cmsg would leave and whether MSG_CTRUNC is set.
pub(super) fn control_messages(
    socket: &UdpSocket,
    datagram: &QueuedDatagram,
    capacity: usize,
) -> (Vec<u8>, bool) {
    let options = &socket.options;
    let mut writer = ControlWriter::new(capacity);
    put_timestamps(
        &mut writer,
        socket_level_request(options),
        datagram.timestamp,
    );
    // sock_recv_drops: only a non-zero count recorded when the datagram was queued.
    if options.receive_queue_overflow && datagram.drops_when_queued != 0 {
        writer.put(
            level::SOL_SOCKET,
            kind::SO_RXQ_OVFL,
            &datagram.drops_when_queued.to_ne_bytes(),
        );
    }
    // sock_recv_mark, sock_recv_priority: always, zero or not.
    if options.receive_mark {
        writer.put(
            level::SOL_SOCKET,
            kind::SO_MARK,
            &datagram.tags.mark.to_ne_bytes(),
        );
    }
    if options.receive_priority {
        writer.put(
            level::SOL_SOCKET,
            kind::SO_PRIORITY,
            &datagram.tags.priority.to_ne_bytes(),
        );
    }
    if options.packet_info {
        // ipv4_pktinfo_prepare filled ifindex and spec_dst only if IP_PKTINFO was on when the
        // datagram was queued; otherwise both read 0.
        let (ifindex, spec_dst) = datagram.packet_info.unwrap_or((0, Ipv4Addr::UNSPECIFIED));
        let data = packet_info_data(ifindex, spec_dst, datagram.destination);
        writer.put(level::SOL_IP, kind::IP_PKTINFO, &data);
    }
    if options.receive_ttl {
        writer.put(
            level::SOL_IP,
            kind::IP_TTL,
            &i32::from(datagram.ttl).to_ne_bytes(),
        );
    }
    if options.receive_tos {
        // One byte, not an int (ip_cmsg_recv_tos).
        writer.put(level::SOL_IP, kind::IP_TOS, &[datagram.tos]);
    }
    let has_options = !datagram.ip_options.is_empty();
    if options.receive_options && has_options {
        writer.put(level::SOL_IP, kind::IP_RECVOPTS, &datagram.ip_options);
    }
    if options.return_options && has_options {
        let destination = datagram.destination;
        let is_ours = |address: Ipv4Addr| {
            address == destination
                || address.is_loopback()
                || address.is_broadcast()
                || address.is_multicast()
                || address.is_unspecified()
        };
        match retopts_data(&datagram.ip_options, &datagram.compiled_options, &is_ours) {
            Some(data) => writer.put(level::SOL_IP, kind::IP_RETOPTS, &data),
            None => writer.mark_truncated(),
        }
    }
    if let (true, Some(port)) = (
        options.receive_original_destination,
        datagram.original_destination_port,
    ) {
        let destination = SocketAddrV4::new(datagram.destination, port);
        writer.put(
            level::SOL_IP,
            kind::IP_ORIGDSTADDR,
            &original_destination_data(destination),
        );
    }
    // ip_cmsg_recv_checksum: CHECKSUM_COMPLETE datagrams only. (With a peek offset the kernel
    // subtracts the skipped bytes' sum; the stack reports the whole payload's.)
    if options.receive_checksum && datagram.checksum_complete.get() {
        let checksum = datagram
            .checksum_before_trim
            .unwrap_or_else(|| payload_checksum(&datagram.payload));
        writer.put(level::SOL_IP, kind::IP_CHECKSUM, &checksum.to_ne_bytes());
    }
    if options.receive_fragment_size && datagram.fragment_max_size != 0 {
        writer.put(
            level::SOL_IP,
            kind::IP_RECVFRAGSIZE,
            &i32::from(datagram.fragment_max_size).to_ne_bytes(),
        );
    }
    writer.finish()
}
