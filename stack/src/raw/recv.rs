//! raw_recvmsg, ping_recvmsg and ip_recv_error for their error queues, with the control
//! messages of sock_recv_timestamp and ip_cmsg_recv.

use core::net::{Ipv4Addr, SocketAddrV4};

use crate::cmsg::{
    kind, level, packet_info_data, put_timestamps, ControlWriter, SocketLevelRequest,
};
use crate::errno::Errno;
use crate::socket::msg_flags::{
    MSG_CTRUNC, MSG_DONTWAIT, MSG_ERRQUEUE, MSG_OOB, MSG_PEEK, MSG_TRUNC,
};
use crate::socket::{RecvArgs, RecvResult, SocketId};
use crate::time::Instant;

use super::layer::RawLayer;
use super::socket::{Kind, QueuedError, RawSocket, Received};

/// The IP_RECVERR control message type.
const IP_RECVERR: i32 = 11;
const ORIGIN_ICMP: u8 = 2;
const ORIGIN_LOCAL: u8 = 1;

impl RawLayer {
    pub fn recv(
        &mut self,
        _now: Instant,
        id: SocketId,
        args: RecvArgs,
        buf: &mut [u8],
    ) -> Result<RecvResult, Errno> {
        let socket = self.get_mut(id)?;
        if args.flags & MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        if args.flags & MSG_ERRQUEUE != 0 {
            return receive_error(socket, args, buf);
        }
        // skb_recv_datagram: sock_error first.
        if let Some(error) = socket.take_error() {
            return Err(error);
        }
        let Some(packet) = socket.receive_queue.front() else {
            let would_wait =
                args.flags & MSG_DONTWAIT == 0 && socket.options.receive_timeout_ticks != 0;
            if socket.read_shut && would_wait {
                return Ok(RecvResult::default());
            }
            return Err(Errno::EAGAIN);
        };
        let length = packet.bytes.len();
        let copied = length.min(args.capacity).min(buf.len());
        buf[..copied].copy_from_slice(&packet.bytes[..copied]);
        let mut flags = 0;
        if args.capacity < length {
            flags |= MSG_TRUNC;
        }
        let (control, truncated) = control_messages(socket, packet, args.control_capacity);
        if truncated {
            flags |= MSG_CTRUNC;
        }
        // raw_recvmsg: "if (flags & MSG_TRUNC) copied = skb->len"; ping_recvmsg has no
        // such rule.
        let len = if socket.kind == Kind::Raw && args.flags & MSG_TRUNC != 0 {
            length
        } else {
            copied.min(args.capacity)
        };
        let result = RecvResult {
            len,
            from: Some(SocketAddrV4::new(packet.source, 0)),
            control,
            flags,
        };
        if args.flags & MSG_PEEK == 0 {
            if let Some(consumed) = socket.receive_queue.pop_front() {
                socket.receive_memory = socket.receive_memory.saturating_sub(consumed.truesize);
            }
        }
        Ok(result)
    }
}

fn timestamp_request(socket: &RawSocket) -> SocketLevelRequest {
    let options = &socket.options;
    SocketLevelRequest {
        timestamp: options.timestamp,
        nanoseconds: options.timestamp_ns,
        new_layout: options.timestamp_new,
        timestamping_flags: options.timestamping_flags,
    }
}

/// ip_cmsg_recv's messages for what raw and ping sockets carry: IP_PKTINFO, IP_TTL,
/// IP_TOS, IP_RECVOPTS, in that order.
fn put_ip_messages(writer: &mut ControlWriter, socket: &RawSocket, packet: &Received) {
    let options = &socket.options;
    if options.packet_info {
        // ipv4_pktinfo_prepare: spec_dst is the local address the packet reached
        // (fib_compute_spec_dst for a local unicast destination).
        let spec_dst = if packet.destination.is_multicast() || packet.destination.is_broadcast() {
            Ipv4Addr::UNSPECIFIED
        } else {
            packet.destination
        };
        let data = packet_info_data(packet.ifindex, spec_dst, packet.destination);
        writer.put(level::SOL_IP, kind::IP_PKTINFO, &data);
    }
    if options.receive_ttl {
        writer.put(
            level::SOL_IP,
            kind::IP_TTL,
            &i32::from(packet.ttl).to_ne_bytes(),
        );
    }
    if options.receive_tos {
        writer.put(level::SOL_IP, kind::IP_TOS, &[packet.tos]);
    }
    if options.receive_options && !packet.ip_options.is_empty() {
        writer.put(level::SOL_IP, kind::IP_RECVOPTS, &packet.ip_options);
    }
}

fn control_messages(socket: &RawSocket, packet: &Received, capacity: usize) -> (Vec<u8>, bool) {
    let mut writer = ControlWriter::new(capacity);
    put_timestamps(&mut writer, timestamp_request(socket), packet.timestamp);
    put_ip_messages(&mut writer, socket, packet);
    writer.finish()
}

/// struct sock_extended_err followed by the offender's struct sockaddr_in.
fn error_header(error: &QueuedError) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[0..4].copy_from_slice(&(error.errno as u32).to_ne_bytes());
    out[4] = error.origin;
    out[5] = error.icmp_type;
    out[6] = error.code;
    out[8..12].copy_from_slice(&error.info.to_ne_bytes());
    out[12..16].copy_from_slice(&error.ee_data.to_ne_bytes());
    // ipv4_datagram_support_cmsg: only ICMP-origin errors name their offender.
    if let (ORIGIN_ICMP, Some(offender)) = (error.origin, error.offender) {
        out[16..32].copy_from_slice(&crate::sockaddr::encode_in(SocketAddrV4::new(offender, 0)));
    }
    out
}

/// ip_recv_error.
fn receive_error(
    socket: &mut RawSocket,
    args: RecvArgs,
    buf: &mut [u8],
) -> Result<RecvResult, Errno> {
    let Some(error) = socket.error_queue.pop_front() else {
        return Err(Errno::EAGAIN);
    };
    socket.receive_memory = socket.receive_memory.saturating_sub(error.truesize);
    // sock_dequeue_err_skb: sk_err becomes the next entry's errno, or 0.
    let next = socket
        .error_queue
        .front()
        .filter(|next| matches!(next.origin, ORIGIN_ICMP | ORIGIN_LOCAL))
        .map(|next| next.errno);
    socket.error.set(next);
    let length = error.payload.len();
    let copied = length.min(args.capacity).min(buf.len());
    buf[..copied].copy_from_slice(&error.payload[..copied]);
    let mut flags = MSG_ERRQUEUE;
    if args.capacity < length {
        flags |= MSG_TRUNC;
    }
    let mut writer = ControlWriter::new(args.control_capacity);
    let is_report = error.origin == crate::tx_timestamp::ORIGIN_TIMESTAMPING;
    let mut report_offender = None;
    if let Some(received) = &error.received {
        let mut request = timestamp_request(socket);
        if is_report {
            // On the error queue SOFTWARE alone gives SO_TIMESTAMPING.
            request.timestamping_flags =
                crate::tx_timestamp::error_queue_stamp_flags(request.timestamping_flags);
        }
        put_timestamps(&mut writer, request, received.timestamp);
        if error.origin == ORIGIN_ICMP {
            put_ip_messages(&mut writer, socket, received);
        } else if is_report {
            report_offender =
                super::tx_reports::put_report_ip_messages(&mut writer, socket, received);
        }
    }
    let mut header = error_header(&error);
    if let Some(offender) = report_offender {
        header[16..32].copy_from_slice(&crate::sockaddr::encode_in(SocketAddrV4::new(offender, 0)));
    }
    writer.put(level::SOL_IP, IP_RECVERR, &header);
    let (control, truncated) = writer.finish();
    if truncated {
        flags |= MSG_CTRUNC;
    }
    Ok(RecvResult {
        len: copied.min(args.capacity),
        // msg_name: the quoted destination, even with port 0 (measured: traceroute -T's raw
        // TCP socket reads 198.19.0.2 port 0 from its error queue).
        // ipv4_datagram_support_addr: not for transmit reports.
        from: (!is_report).then(|| SocketAddrV4::new(error.destination, error.port)),
        control,
        flags,
    })
}
