//! The error queue of IP_RECVERR (sk_error_queue): what ip_icmp_error and ip_local_error
//! queue (net/ipv4/ip_sockglue.c), sock_queue_err_skb / sock_dequeue_err_skb
//! (net/core/skbuff.c) and what ip_recv_error hands to a recvmsg with MSG_ERRQUEUE.

use core::net::{Ipv4Addr, SocketAddrV4};

use crate::cmsg::{level, put_timestamps, timestamping, ControlWriter, SocketLevelRequest};
use crate::errno::Errno;
use crate::socket::msg_flags::{MSG_ERRQUEUE, MSG_TRUNC};
use crate::socket::{RecvArgs, RecvResult};
use crate::time::WallTime;

use super::socket::{QueuedDatagram, ReceiveStamp, UdpSocket};
use crate::tx_timestamp::{
    self, flags as tx_flags, HandedFrame, ReportKind, ETHERNET_HEADER_LEN, ORIGIN_TIMESTAMPING,
};
use crate::zerocopy::{Completion, ORIGIN_ZEROCOPY};

/// SO_EE_ORIGIN_* (linux/errqueue.h).
pub mod origin {
    pub const LOCAL: u8 = 1;
    pub const ICMP: u8 = 2;
}

/// The IP_RECVERR control message type (IP_RECVERR, SOL_IP).
const IP_RECVERR: i32 = 11;
/// sizeof(struct sock_extended_err) + sizeof(struct sockaddr_in): ip_recv_error's errhdr.
const ERROR_HEADER_LEN: usize = 16 + 16;
/// What ip_local_error allocates (alloc_skb(sizeof(struct iphdr))): a small head, 896 bytes
/// of truesize on x86_64, charged to the receive buffer like any queued skb.
const LOCAL_ERROR_TRUESIZE_IP_LEN: usize = 20;

/// struct sock_extended_err, field for field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ExtendedError {
    pub errno: Errno,
    pub origin: u8,
    pub icmp_type: u8,
    pub code: u8,
    /// ee_info: the MTU for EMSGSIZE (local) and fragmentation needed, the pointer of a
    /// parameter problem, else 0.
    pub info: u32,
    /// ee_data, which shares its bytes with ee_rfc4884 { u16 len; u8 flags; u8 reserved }.
    pub data: u32,
}

impl ExtendedError {
    /// The 16 bytes of struct sock_extended_err in native (x86_64) byte order.
    fn to_bytes(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        // A zerocopy completion reports no error (__msg_zerocopy_callback: ee_errno = 0).
        let errno = if self.origin == ORIGIN_ZEROCOPY {
            0
        } else {
            self.errno as u32
        };
        out[0..4].copy_from_slice(&errno.to_ne_bytes());
        out[4] = self.origin;
        out[5] = self.icmp_type;
        out[6] = self.code;
        out[7] = 0; // ee_pad
        out[8..12].copy_from_slice(&self.info.to_ne_bytes());
        out[12..16].copy_from_slice(&self.data.to_ne_bytes());
        out
    }
}

/// One skb of sk_error_queue.
#[derive(Debug, Clone)]
pub(crate) struct QueuedError {
    pub error: ExtendedError,
    /// msg_name: the original destination (the quoted header's daddr, serr->addr_offset) and
    /// serr->port (the quoted destination port; inet_dport for local errors).
    pub destination: SocketAddrV4,
    /// The ICMP message as received, for SO_EE_OFFENDER (its IP source) and the control
    /// messages ip_cmsg_recv builds from its IP header (TTL, TOS, IP_PKTINFO); its `payload`
    /// is what the error carries as data. None for local errors, which have neither
    /// (ipv4_datagram_support_cmsg: SO_EE_ORIGIN_LOCAL has no offender, and the data of
    /// ip_local_error's skb is empty).
    pub received: Option<QueuedDatagram>,
    /// skb->truesize: charged to sk_rmem_alloc while queued.
    pub truesize: usize,
    /// When the error happened: the receive time of an ICMP error, the queueing time of a
    /// local one (the kernel stamps that at recvmsg; the difference is the caller's delay).
    pub stamp: WallTime,
}

impl QueuedError {
    /// ip_local_error: a locally detected error about a datagram to `destination` (port:
    /// inet_dport, the connected peer's port or 0).
    pub fn local(
        errno: Errno,
        destination: SocketAddrV4,
        info: u32,
        stamp: WallTime,
    ) -> QueuedError {
        QueuedError {
            error: ExtendedError {
                errno,
                origin: origin::LOCAL,
                icmp_type: 0,
                code: 0,
                info,
                data: 0,
            },
            destination,
            received: None,
            truesize: crate::ipv4::skb::truesize(LOCAL_ERROR_TRUESIZE_IP_LEN),
            stamp,
        }
    }

    fn payload(&self) -> &[u8] {
        self.received.as_ref().map_or(&[], |d| d.payload.as_slice())
    }

    fn is_icmp(&self) -> bool {
        self.error.origin == origin::ICMP
    }
}

impl UdpSocket {
    /// __skb_complete_tx_timestamp: a transmit report (origin SO_EE_ORIGIN_TIMESTAMPING,
    /// ee_errno ENOMSG, ee_info the report kind, ee_data the OPT_ID key) carrying a clone of
    /// the frame the device took, or nothing with OPT_TSONLY; queued by sock_queue_err_skb
    /// (the receive buffer may refuse it: false).
    pub(crate) fn queue_transmit_report(
        &mut self,
        kind: ReportKind,
        key: u32,
        frame: &HandedFrame,
        stamp: WallTime,
    ) -> bool {
        let socket_flags = self.options.timestamping_flags;
        let data = if socket_flags & tx_flags::OPT_ID != 0 {
            key
        } else {
            0
        };
        let tsonly = socket_flags & tx_flags::OPT_TSONLY != 0;
        let received = if tsonly {
            None
        } else {
            frame.ip_fields().map(|ip| QueuedDatagram {
                payload: frame.bytes.clone(),
                source: SocketAddrV4::new(ip.source, 0),
                destination: ip.destination,
                ttl: ip.ttl,
                tos: ip.tos,
                // ipv4_datagram_support_cmsg: ipi_ifindex is skb->dev's, ipi_spec_dst the
                // header's source.
                packet_info: Some((frame.ifindex, ip.source)),
                timestamp: stamp,
                ip_options: ip.options,
                original_destination_port: ip.transport_destination_port,
                ..QueuedDatagram::default()
            })
        };
        let ip_len = frame.bytes.len().saturating_sub(ETHERNET_HEADER_LEN);
        let entry = QueuedError {
            error: ExtendedError {
                errno: Errno::ENOMSG,
                origin: ORIGIN_TIMESTAMPING,
                icmp_type: 0,
                code: 0,
                info: kind as u32,
                data,
            },
            destination: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
            received,
            truesize: crate::ipv4::skb::truesize(if tsonly { 0 } else { ip_len }),
            stamp,
        };
        self.queue_error(entry)
    }

    /// __msg_zerocopy_callback: the completion is merged into the queue's last entry when
    /// that is a notification it extends, else queued. Neither path checks or charges the
    /// receive buffer (the skb came from sock_omalloc).
    pub(crate) fn queue_zerocopy_completion(&mut self, completion: Completion, stamp: WallTime) {
        if let Some(tail) = self.error_queue.back_mut() {
            if tail.error.origin == ORIGIN_ZEROCOPY {
                let mut merged = Completion {
                    first: tail.error.info,
                    last: tail.error.data,
                    code: tail.error.code,
                };
                if merged.extend(&completion) {
                    tail.error.data = merged.last;
                    self.wake_all();
                    return;
                }
            }
        }
        self.error_queue.push_back(QueuedError {
            error: ExtendedError {
                // ee_errno 0: to_bytes writes no errno for this origin.
                errno: Errno::ENOMSG,
                origin: ORIGIN_ZEROCOPY,
                icmp_type: 0,
                code: completion.code,
                info: completion.first,
                data: completion.last,
            },
            destination: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
            received: None,
            truesize: 0,
            // Never stamped: SO_TIMESTAMP(NS) gets the time of the read (here: of the queueing).
            stamp,
        });
        self.wake_all();
    }

    /// sock_queue_err_skb: refused when the receive buffer cannot take the skb
    /// ("sk_rmem_alloc + truesize >= sk_rcvbuf": -ENOMEM, the error is dropped); otherwise
    /// queued, charged to sk_rmem_alloc, and sk_error_report wakes every waiter.
    pub(super) fn queue_error(&mut self, entry: QueuedError) -> bool {
        let buffer = self.options.receive_buffer.max(0) as usize;
        if self.receive_memory + entry.truesize >= buffer {
            return false;
        }
        self.receive_memory += entry.truesize;
        self.error_queue.push_back(entry);
        self.wake_all();
        true
    }

    /// ip_local_error: only with IP_RECVERR on; the caller still returns its errno. False
    /// when the receive buffer refused the entry.
    pub(super) fn local_error(
        &mut self,
        errno: Errno,
        destination: Ipv4Addr,
        info: u32,
        stamp: WallTime,
    ) -> bool {
        if !self.options.receive_errors {
            return true;
        }
        let port = self.peer.map_or(0, |peer| peer.port());
        let entry = QueuedError::local(errno, SocketAddrV4::new(destination, port), info, stamp);
        self.queue_error(entry)
    }

    /// sock_dequeue_err_skb: when the next entry is an ICMP error its errno becomes sk_err
    /// (and waiters are woken); when the entry taken was an ICMP error and no ICMP error
    /// follows, sk_err is cleared. Local errors never touch sk_err.
    pub(super) fn dequeue_error(&mut self) -> Option<QueuedError> {
        let entry = self.error_queue.pop_front()?;
        self.receive_memory = self.receive_memory.saturating_sub(entry.truesize);
        let next_is_icmp = match self.error_queue.front() {
            Some(next) if next.is_icmp() => {
                self.error.set(Some(next.error.errno));
                true
            }
            _ => false,
        };
        if entry.is_icmp() && !next_is_icmp {
            self.error.set(None);
        }
        if !self.error_queue.is_empty() {
            self.wake_all();
        }
        Some(entry)
    }

    /// sock_recv_timestamp when it builds no message writes skb->tstamp into sk_stamp (what
    /// SIOCGSTAMP reads): 0 for a local error, never stamped; for an ICMP error its receive
    /// time when the socket records stamps (SOCK_TIMESTAMP), else 0, as the receive path
    /// models skb->tstamp.
    fn record_error_stamp(&mut self, entry: &QueuedError) {
        let options = &self.options;
        let stamped = entry.is_icmp() && options.record_receive_stamps;
        let flags = options.timestamping_flags;
        let builds_messages = options.timestamp
            || flags & timestamping::RX_SOFTWARE != 0
            || (stamped && flags & timestamping::SOFTWARE != 0);
        if builds_messages {
            return;
        }
        self.stamp = if stamped {
            ReceiveStamp::At(entry.stamp)
        } else {
            ReceiveStamp::Zero
        };
    }

    /// skb_queue_purge(&sk->sk_error_queue), as IP_RECVERR turned off does; sk_err stays.
    pub(super) fn purge_errors(&mut self) {
        for entry in self.error_queue.drain(..) {
            self.receive_memory = self.receive_memory.saturating_sub(entry.truesize);
        }
    }

    /// ip_recv_error: EAGAIN on an empty queue (never waits). MSG_PEEK does not keep the entry.
    /// The data is cut to the caller's room with MSG_TRUNC, and the length returned is what was
    /// copied (the MSG_TRUNC *request* flag is not honoured here). `control_messages` builds
    /// the timestamp and IP control messages a datagram of the socket would get
    /// (sock_recv_timestamp, then ip_cmsg_recv when any IP cmsg flag is set).
    pub(super) fn receive_error(
        &mut self,
        args: RecvArgs,
        buf: &mut [u8],
        control_messages: impl Fn(&UdpSocket, &QueuedDatagram, usize) -> (Vec<u8>, bool),
    ) -> Result<RecvResult, Errno> {
        let entry = self.dequeue_error().ok_or(Errno::EAGAIN)?;
        let payload = entry.payload();
        let mut flags = MSG_ERRQUEUE;
        let copied = payload.len().min(args.capacity).min(buf.len());
        if payload.len() > args.capacity {
            flags |= MSG_TRUNC;
        }
        buf[..copied].copy_from_slice(&payload[..copied]);

        let mut offender = [0u8; 16];
        let is_transmit_report = entry.error.origin == ORIGIN_TIMESTAMPING;
        let socket_flags = self.options.timestamping_flags;
        // ipv4_datagram_support_cmsg: a transmit report only with OPT_CMSG and a device.
        let received = entry.received.as_ref().filter(|received| {
            !is_transmit_report
                || tx_timestamp::report_supports_ip_messages(
                    socket_flags,
                    received.packet_info.map_or(0, |(ifindex, _)| ifindex),
                )
        });
        let (mut control, truncated) = if let Some(received) = received {
            // ipv4_datagram_support_cmsg: ICMP errors name their sender and carry the IP
            // control messages of the ICMP datagram.
            offender[0..2].copy_from_slice(&crate::sockaddr::AF_INET.to_ne_bytes());
            offender[4..8].copy_from_slice(&received.source.ip().octets());
            control_messages(self, received, args.control_capacity)
        } else if is_transmit_report {
            // __sock_recv_timestamp with the report's skb->tstamp, the time the device took
            // the frame; on the error queue SOFTWARE alone gives SO_TIMESTAMPING.
            let options = &self.options;
            let request = SocketLevelRequest {
                timestamp: options.timestamp,
                nanoseconds: options.timestamp_ns,
                new_layout: options.timestamp_new,
                timestamping_flags: tx_timestamp::error_queue_stamp_flags(socket_flags),
            };
            let mut writer = ControlWriter::new(args.control_capacity);
            put_timestamps(&mut writer, request, entry.stamp);
            writer.finish()
        } else {
            // A local error gets no IP control messages (ipv4_datagram_support_cmsg), but
            // sock_recv_timestamp still runs. Its skb was never stamped (alloc_skb), so only
            // SO_TIMESTAMP(NS) gets a time (__sock_recv_timestamp stamps it then), which the
            // SO_TIMESTAMPING message then shares.
            let options = &self.options;
            let mut writer = ControlWriter::new(args.control_capacity);
            if options.timestamp {
                let request = SocketLevelRequest {
                    timestamp: options.timestamp,
                    nanoseconds: options.timestamp_ns,
                    new_layout: options.timestamp_new,
                    timestamping_flags: options.timestamping_flags,
                };
                put_timestamps(&mut writer, request, entry.stamp);
            }
            writer.finish()
        };
        self.record_error_stamp(&entry);
        let mut header = [0u8; ERROR_HEADER_LEN];
        header[..16].copy_from_slice(&entry.error.to_bytes());
        header[16..].copy_from_slice(&offender);
        let mut writer = ControlWriter::new(args.control_capacity - control.len());
        writer.put(level::SOL_IP, IP_RECVERR, &header);
        let (tail, tail_truncated) = writer.finish();
        control.extend_from_slice(&tail);
        if truncated || tail_truncated {
            flags |= crate::socket::msg_flags::MSG_CTRUNC;
        }
        // ipv4_datagram_support_addr: msg_name for ICMP and local errors (or a set
        // serr->port); transmit reports and zerocopy completions leave it empty.
        let names_destination = matches!(entry.error.origin, origin::ICMP | origin::LOCAL);
        Ok(RecvResult {
            len: copied,
            from: names_destination.then_some(entry.destination),
            control,
            flags,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Credentials, Sysctls};
    use crate::wire::udp::Flavor;

    fn socket() -> UdpSocket {
        let mut socket = UdpSocket::new(Flavor::Udp, Credentials::default(), &Sysctls::default());
        socket.options.receive_errors = true;
        socket
    }

    fn icmp_entry(errno: Errno) -> QueuedError {
        let mut entry = QueuedError::local(
            errno,
            SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9),
            0,
            WallTime::default(),
        );
        entry.error.origin = origin::ICMP;
        entry
    }

    #[test]
    fn extended_error_layout() {
        let error = ExtendedError {
            errno: Errno::EMSGSIZE,
            origin: origin::LOCAL,
            icmp_type: 3,
            code: 4,
            info: 1400,
            data: 0x0001_0064,
        };
        let bytes = error.to_bytes();
        assert_eq!(&bytes[0..4], &90u32.to_ne_bytes());
        assert_eq!(&bytes[4..8], &[1, 3, 4, 0]);
        assert_eq!(&bytes[8..12], &1400u32.to_ne_bytes());
        assert_eq!(&bytes[12..16], &0x0001_0064u32.to_ne_bytes());
    }

    #[test]
    fn dequeue_moves_sk_err_along_icmp_entries_only() {
        let mut socket = socket();
        assert!(socket.queue_error(icmp_entry(Errno::ECONNREFUSED)));
        assert!(socket.local_error(
            Errno::EMSGSIZE,
            Ipv4Addr::LOCALHOST,
            1500,
            WallTime::default()
        ));
        assert!(socket.queue_error(icmp_entry(Errno::EHOSTUNREACH)));
        assert_eq!(socket.receive_memory, 3 * 896);
        socket.error.set(Some(Errno::EHOSTUNREACH));
        // ICMP taken, a local entry next: sk_err cleared.
        socket.dequeue_error().unwrap();
        assert_eq!(socket.error.get(), None);
        // Local taken, ICMP next: sk_err is the next one's errno.
        socket.dequeue_error().unwrap();
        assert_eq!(socket.error.get(), Some(Errno::EHOSTUNREACH));
        socket.dequeue_error().unwrap();
        assert_eq!(socket.error.get(), None);
        assert_eq!(socket.receive_memory, 0);
        assert!(socket.dequeue_error().is_none());
    }

    #[test]
    fn queue_refuses_what_the_receive_buffer_cannot_take() {
        let mut socket = socket();
        socket.options.receive_buffer = 2304;
        assert!(socket.local_error(
            Errno::EMSGSIZE,
            Ipv4Addr::LOCALHOST,
            1500,
            WallTime::default()
        ));
        assert!(socket.local_error(
            Errno::EMSGSIZE,
            Ipv4Addr::LOCALHOST,
            1500,
            WallTime::default()
        ));
        // 1792 + 896 >= 2304 (sock_queue_err_skb's test is ">=").
        assert!(!socket.local_error(
            Errno::EMSGSIZE,
            Ipv4Addr::LOCALHOST,
            1500,
            WallTime::default()
        ));
        assert_eq!(socket.error_queue.len(), 2);
        socket.purge_errors();
        assert_eq!((socket.error_queue.len(), socket.receive_memory), (0, 0));
        // Without IP_RECVERR nothing is queued.
        socket.options.receive_errors = false;
        assert!(socket.local_error(
            Errno::EMSGSIZE,
            Ipv4Addr::LOCALHOST,
            1500,
            WallTime::default()
        ));
        assert!(socket.error_queue.is_empty());
    }
}
