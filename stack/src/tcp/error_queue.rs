//! IP_RECVERR on a TCP socket: tcp_v4_err hands an ICMP error about a connection still in
//! SYN_SENT (or a simultaneous open's SYN_RECV) to ip_icmp_error, which queues it on
//! sk_error_queue; recvmsg(MSG_ERRQUEUE) takes it through ip_recv_error. The data is the
//! quoted TCP header onwards ("(u8 *)th"), the name the quoted destination, and the control
//! message a struct sock_extended_err with the ICMP sender as SO_EE_OFFENDER.

use core::net::{Ipv4Addr, SocketAddrV4};

use super::layer::{user_socket_in, TcpLayer};
use crate::cmsg::ControlWriter;
use crate::cmsg::{kind, packet_info_data, put_timestamps, SocketLevelRequest};
use crate::errno::Errno;
use crate::socket::msg_flags::{MSG_CTRUNC, MSG_ERRQUEUE, MSG_TRUNC};
use crate::socket::{RecvArgs, RecvResult, SocketId};
use crate::sockopt::values::SocketOptions;
use crate::time::WallTime;
use crate::transport::IcmpError;
use crate::tx_timestamp::{self, HandedFrame, ReportKind, ORIGIN_TIMESTAMPING};
use crate::zerocopy::{Completion, ORIGIN_ZEROCOPY};

/// SO_EE_ORIGIN_ICMP.
const ORIGIN_ICMP: u8 = 2;
/// SOL_IP / IP_RECVERR.
const SOL_IP: i32 = 0;
const IP_RECVERR: i32 = 11;

/// One sk_error_queue entry.
#[derive(Debug, Clone)]
pub struct QueuedTcpError {
    errno: Errno,
    /// SO_EE_ORIGIN_*: ICMP, or a transmit report or zerocopy completion
    /// (`tx_timestamps.rs`).
    origin: u8,
    icmp_type: u8,
    code: u8,
    info: u32,
    /// ee_data: a report's OPT_ID key, a completion's last id.
    ee_data: u32,
    offender: Ipv4Addr,
    destination: SocketAddrV4,
    data: Vec<u8>,
    /// skb->tstamp of a transmit report (None: never stamped).
    stamp: Option<WallTime>,
    /// A transmit report's device (header.h4.iif) and the looped frame's IP fields
    /// (source, destination, TTL, TOS), for OPT_CMSG's IP control messages.
    device: Option<(u32, (Ipv4Addr, Ipv4Addr, u8, u8))>,
    /// When it was queued: the time SO_TIMESTAMP(NS) gives an entry never stamped (the
    /// kernel stamps it at the read: the difference is the caller's delay).
    queued_at: WallTime,
}

impl QueuedTcpError {
    /// ip_icmp_error(sk, skb, err, th->dest, info, (u8 *)th).
    pub fn from_icmp(error: &IcmpError<'_>) -> Option<QueuedTcpError> {
        let quoted = error.quoted_payload;
        let port = u16::from_be_bytes([*quoted.get(2)?, *quoted.get(3)?]);
        Some(QueuedTcpError {
            errno: error.errno,
            origin: ORIGIN_ICMP,
            icmp_type: error.icmp_type,
            code: error.icmp_code,
            info: error.info,
            ee_data: 0,
            offender: error.offender,
            destination: SocketAddrV4::new(error.quoted_dst, port),
            data: quoted.to_vec(),
            stamp: None,
            device: None,
            queued_at: WallTime::default(),
        })
    }

    /// __skb_complete_tx_timestamp: ENOMSG, SO_EE_ORIGIN_TIMESTAMPING, ee_info the kind;
    /// `looped` is the data (None with OPT_TSONLY: alloc_skb(0), no device).
    pub fn transmit_report(
        kind: ReportKind,
        key: u32,
        looped: Option<&HandedFrame>,
        stamp: WallTime,
    ) -> QueuedTcpError {
        let device = looped
            .filter(|frame| frame.ifindex != 0)
            .and_then(|frame| Some((frame.ifindex, super::tx_timestamps::frame_ip(frame)?)));
        QueuedTcpError {
            errno: Errno::ENOMSG,
            origin: ORIGIN_TIMESTAMPING,
            icmp_type: 0,
            code: 0,
            info: kind as u32,
            ee_data: key,
            offender: Ipv4Addr::UNSPECIFIED,
            destination: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
            data: looped.map(|frame| frame.bytes.clone()).unwrap_or_default(),
            stamp: Some(stamp),
            device,
            queued_at: stamp,
        }
    }

    /// __msg_zerocopy_callback's notification (ee_errno 0, never stamped).
    pub fn zerocopy(completion: Completion, queued_at: WallTime) -> QueuedTcpError {
        QueuedTcpError {
            errno: Errno::ENOMSG,
            origin: ORIGIN_ZEROCOPY,
            icmp_type: 0,
            code: completion.code,
            info: completion.first,
            ee_data: completion.last,
            offender: Ipv4Addr::UNSPECIFIED,
            destination: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
            data: Vec::new(),
            stamp: None,
            device: None,
            queued_at,
        }
    }

    /// skb->truesize of the entry's skb (its data in a kmalloc'd head).
    pub fn truesize(&self) -> usize {
        crate::ipv4::skb::truesize(self.data.len())
    }

    /// skb_zerocopy_notify_extend on the queue's tail.
    pub fn extend_completion(&mut self, next: &Completion) -> bool {
        if self.origin != ORIGIN_ZEROCOPY {
            return false;
        }
        let mut merged = Completion {
            first: self.info,
            last: self.ee_data,
            code: self.code,
        };
        if !merged.extend(next) {
            return false;
        }
        self.ee_data = merged.last;
        true
    }

    /// struct sock_extended_err then the offender's struct sockaddr_in.
    /// The SO_EE_OFFENDER half is left zero (filled by the caller when there is one).
    fn header(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        // A zerocopy completion carries no errno.
        let errno = if self.origin == ORIGIN_ZEROCOPY {
            0
        } else {
            self.errno as u32
        };
        out[0..4].copy_from_slice(&errno.to_ne_bytes());
        out[4] = self.origin;
        out[5] = self.icmp_type;
        out[6] = self.code;
        out[8..12].copy_from_slice(&self.info.to_ne_bytes());
        out[12..16].copy_from_slice(&self.ee_data.to_ne_bytes());
        out
    }
}

impl TcpLayer {
    /// ip_recv_error: EAGAIN when the queue is empty (it never waits). Taking the last
    /// ICMP entry clears sk_err (sock_dequeue_err_skb); a following one would set it to its
    /// errno. The IP control messages of ip_cmsg_recv (IP_PKTINFO, IP_TTL, ...) and
    /// timestamps are not added.
    pub fn receive_error(
        &mut self,
        id: SocketId,
        args: RecvArgs,
        buf: &mut [u8],
    ) -> Result<RecvResult, Errno> {
        let socket = user_socket_in(&mut self.sockets, id)?;
        let entry = socket.error_queue.pop_front().ok_or(Errno::EAGAIN)?;
        // sock_dequeue_err_skb: the next entry's errno becomes sk_err when it is an ICMP
        // error; taking an ICMP error with none after it clears sk_err; reports and
        // completions leave it alone.
        let next_icmp = socket
            .error_queue
            .front()
            .filter(|next| next.origin == ORIGIN_ICMP)
            .map(|next| next.errno);
        if next_icmp.is_some() || entry.origin == ORIGIN_ICMP {
            match socket.connection_mut() {
                Some(connection) => connection.error = next_icmp,
                None => socket.error = next_icmp,
            }
        }
        let mut flags = MSG_ERRQUEUE;
        let copied = entry.data.len().min(args.capacity).min(buf.len());
        if entry.data.len() > args.capacity {
            flags |= MSG_TRUNC;
        }
        buf[..copied].copy_from_slice(&entry.data[..copied]);
        let mut writer = ControlWriter::new(args.control_capacity);
        let offender = if entry.origin == ORIGIN_ICMP {
            Some(entry.offender)
        } else {
            put_report_messages(&mut writer, &socket.options, &entry)
        };
        let mut header = entry.header();
        if let Some(offender) = offender {
            header[16..18].copy_from_slice(&crate::sockaddr::AF_INET.to_ne_bytes());
            header[20..24].copy_from_slice(&offender.octets());
        }
        writer.put(SOL_IP, IP_RECVERR, &header);
        let (control, truncated) = writer.finish();
        if truncated {
            flags |= MSG_CTRUNC;
        }
        Ok(RecvResult {
            len: copied,
            // ipv4_datagram_support_addr: ICMP and local errors (or a set serr->port) only.
            from: (entry.origin == ORIGIN_ICMP).then_some(entry.destination),
            control,
            flags,
        })
    }
}

/// What ip_recv_error adds before IP_RECVERR for a transmit report or a zerocopy completion:
/// sock_recv_timestamp's messages, then, when ipv4_datagram_support_cmsg allows (OPT_CMSG and
/// a device), ip_cmsg_recv's from the looped frame's header. Returns the offender (the
/// frame's source) in that case.
fn put_report_messages(
    writer: &mut ControlWriter,
    options: &SocketOptions,
    entry: &QueuedTcpError,
) -> Option<Ipv4Addr> {
    let request = SocketLevelRequest {
        timestamp: options.timestamp,
        nanoseconds: options.timestamp_ns,
        new_layout: options.timestamp_new,
        timestamping_flags: tx_timestamp::error_queue_stamp_flags(options.timestamping_flags),
    };
    match entry.stamp {
        Some(stamp) => put_timestamps(writer, request, stamp),
        // Never stamped: only SO_TIMESTAMP(NS) stamps it, and SO_TIMESTAMPING shares that.
        None if options.timestamp => put_timestamps(writer, request, entry.queued_at),
        None => {}
    }
    let supports = options.timestamping_flags & tx_timestamp::flags::OPT_CMSG != 0;
    let (ifindex, (source, destination, ttl, tos)) = entry.device.filter(|_| supports)?;
    if options.packet_info {
        writer.put(
            SOL_IP,
            kind::IP_PKTINFO,
            &packet_info_data(ifindex, source, destination),
        );
    }
    if options.receive_ttl {
        writer.put(SOL_IP, kind::IP_TTL, &i32::from(ttl).to_ne_bytes());
    }
    if options.receive_tos {
        writer.put(SOL_IP, kind::IP_TOS, &[tos]);
    }
    Some(source)
}
