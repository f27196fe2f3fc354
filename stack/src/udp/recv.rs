//! Receiving: udp_recvmsg / __skb_recv_udp, with the control messages of
//! sock_recv_timestamp (first) and ip_cmsg_recv_offset (IP_PKTINFO, IP_TTL, IP_TOS, in that
//! order).

use core::net::Ipv4Addr;

use crate::cmsg::{kind, level, ControlWriter};
use crate::errno::Errno;
use crate::socket::msg_flags::{MSG_CTRUNC, MSG_DONTWAIT, MSG_ERRQUEUE, MSG_PEEK, MSG_TRUNC};
use crate::socket::{RecvArgs, RecvResult, SocketId};
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
            // ip_recv_error: the error queue is issue #4; until then it is always empty.
            return Err(Errno::EAGAIN);
        }
        // __skb_recv_udp checks sock_error before looking at the queue.
        if let Some(error) = socket.take_error() {
            return Err(error);
        }
        let Some(datagram) = socket.receive_queue.front() else {
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
        let copied = length.min(args.capacity).min(buf.len());
        buf[..copied].copy_from_slice(&datagram.payload[..copied]);
        let mut flags = 0;
        if args.capacity < length {
            flags |= MSG_TRUNC;
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
        if args.flags & MSG_PEEK == 0 {
            if let Some(consumed) = socket.receive_queue.pop_front() {
                socket.receive_memory = socket.receive_memory.saturating_sub(consumed.truesize);
            }
        }
        Ok(result)
    }
}

/// sock_recv_cmsgs' sk_stamp update, peeking or not: with SO_TIMESTAMP(NS) on, the stamp goes
/// into a control message and sk_stamp is left alone; else a socket that records stamps
/// (SOCK_TIMESTAMP) keeps the datagram's time; else the first read turns SK_DEFAULT_STAMP into
/// 0. (The kernel stores skb->tstamp, which is 0 when no socket of the host wanted stamps as
/// the datagram arrived; here every datagram carries the time the driver gave it.)
fn record_stamp(socket: &mut UdpSocket, timestamp: WallTime) {
    if socket.options.timestamp {
        return;
    }
    if socket.options.record_receive_stamps {
        socket.stamp = ReceiveStamp::At(timestamp);
    } else if socket.stamp == ReceiveStamp::Unset {
        socket.stamp = ReceiveStamp::Zero;
    }
}

/// The control messages of one datagram, in the kernel's order.
fn control_messages(
    socket: &UdpSocket,
    datagram: &QueuedDatagram,
    capacity: usize,
) -> (Vec<u8>, bool) {
    let options = &socket.options;
    let mut writer = ControlWriter::new(capacity);
    if options.timestamp {
        // __sock_recv_timestamp: SO_TIMESTAMP(NS) in the old or the y2038-safe layout; on
        // x86_64 both are two 64-bit fields.
        let stamp = datagram.timestamp;
        let (kind, fraction) = match (options.timestamp_ns, options.timestamp_new) {
            (false, false) => (kind::SO_TIMESTAMP_OLD, stamp.nsec / 1000),
            (false, true) => (kind::SO_TIMESTAMP_NEW, stamp.nsec / 1000),
            (true, false) => (kind::SO_TIMESTAMPNS_OLD, stamp.nsec),
            (true, true) => (kind::SO_TIMESTAMPNS_NEW, stamp.nsec),
        };
        let mut data = [0u8; 16];
        data[0..8].copy_from_slice(&stamp.sec.to_ne_bytes());
        data[8..16].copy_from_slice(&fraction.to_ne_bytes());
        writer.put(level::SOL_SOCKET, kind, &data);
    }
    if options.packet_info {
        // struct in_pktinfo { int ipi_ifindex; in_addr ipi_spec_dst; in_addr ipi_addr; }
        let (ifindex, spec_dst) = datagram.packet_info.unwrap_or((0, Ipv4Addr::UNSPECIFIED));
        let mut data = [0u8; 12];
        data[0..4].copy_from_slice(&(ifindex as i32).to_ne_bytes());
        data[4..8].copy_from_slice(&spec_dst.octets());
        data[8..12].copy_from_slice(&datagram.destination.octets());
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
    writer.finish()
}
