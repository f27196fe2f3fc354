//! ICMP errors about datagrams we sent: __udp4_lib_err.

use core::net::SocketAddrV4;

use crate::errno::Errno;
use crate::socket::SocketId;
use crate::sockopt::values::pmtu;
use crate::stack::ip_proto;
use crate::time::Instant;
use crate::transport::IcmpError;
use crate::wire::udp::Flavor;

use super::deliver::FourTuple;
use super::error_queue::{origin, ExtendedError, QueuedError};
use super::layer::UdpLayer;
use super::socket::QueuedDatagram;

const ICMP_DEST_UNREACH: u8 = 3;
const ICMP_SOURCE_QUENCH: u8 = 4;
const ICMP_REDIRECT: u8 = 5;
const ICMP_PARAMETERPROB: u8 = 12;
const ICMP_TIME_EXCEEDED: u8 = 11;
const ICMP_FRAG_NEEDED: u8 = 4;
const ICMP_HEADER_LEN: usize = 8;
const UDP_HEADER_LEN: usize = 8;
/// RFC 4884 section 4: the original datagram field is at least 128 bytes when a length is set.
const RFC4884_MIN_ORIGINAL: usize = 128;
/// sizeof(struct icmp_ext_hdr), ICMP_EXT_VERSION_2, SO_EE_RFC4884_FLAG_INVALID.
const EXTENSION_HEADER_LEN: usize = 4;
const ICMP_EXT_VERSION_2: u8 = 2;
const RFC4884_FLAG_INVALID: u8 = 1;

impl UdpLayer {
    /// __udp4_lib_err's lookup: the socket that sent the quoted datagram, found as if the
    /// datagram came back (quoted destination as remote, quoted source as local), so a
    /// connected socket matches only errors about its own peer. The device is the one the
    /// error came in through (skb->dev->ifindex as dif), so a socket bound to another device
    /// (SO_BINDTODEVICE) does not get it: an error from one of our own addresses
    /// (ipv4_link_failure's host unreachable, errors about our loopback traffic) came through
    /// lo, any other through the interface. Measured: a socket bound to eth0 gets no error
    /// for a failed ARP resolution or a closed port of our own address.
    pub(super) fn socket_for_error(&self, error: &IcmpError<'_>) -> Option<SocketId> {
        let ports = error.quoted_payload.get(0..4)?;
        let flavor = if error.quoted_protocol == ip_proto::UDPLITE {
            Flavor::Lite
        } else {
            Flavor::Udp
        };
        let tuple = FourTuple {
            remote: SocketAddrV4::new(error.quoted_dst, u16::from_be_bytes([ports[2], ports[3]])),
            local: SocketAddrV4::new(error.quoted_src, u16::from_be_bytes([ports[0], ports[1]])),
        };
        match error.datagram {
            Some(inbound) => {
                let device = if error.local {
                    crate::ipv4::route::LOOPBACK_IFINDEX
                } else {
                    inbound.ifindex
                };
                self.lookup_from(flavor, &tuple, Some(device))
            }
            // An error without the ICMP datagram (unit tests build such): no device to match.
            None => self.lookup(flavor, &tuple),
        }
    }

    pub(super) fn handle_icmp_error(&mut self, _now: Instant, error: &IcmpError<'_>) {
        let Some(id) = self.socket_for_error(error) else {
            self.counters.icmp_errors_no_socket += 1;
            return;
        };
        self.counters.icmp_errors += 1;
        let Ok(socket) = self.sockets.get_mut(id) else {
            return;
        };
        // The type switch of __udp4_lib_err: (errno, hard error?).
        let (errno, hard) = match error.icmp_type {
            ICMP_SOURCE_QUENCH | ICMP_REDIRECT => return,
            ICMP_PARAMETERPROB => (Errno::EPROTO, true),
            ICMP_DEST_UNREACH if error.icmp_code == ICMP_FRAG_NEEDED => {
                // The PMTU update itself is the network layer's (ipv4_sk_update_pmtu).
                if socket.options.pmtu_discovery == pmtu::DONT {
                    return;
                }
                (Errno::EMSGSIZE, true)
            }
            // icmp_err_convert, already applied by the network layer; codes beyond the table
            // are EHOSTUNREACH, soft.
            ICMP_DEST_UNREACH => (error.errno, error.fatal),
            // ICMP_TIME_EXCEEDED and anything else.
            _ => (Errno::EHOSTUNREACH, false),
        };
        // RFC 1122 4.1.3.3: without IP_RECVERR only hard errors on connected sockets are
        // reported; with it every error is, and ip_icmp_error queues it on the error queue.
        // sk_err is set even when the queue refused the entry.
        if socket.options.receive_errors {
            if let Some(entry) =
                icmp_error_entry(error, errno, socket.options.receive_errors_rfc4884)
            {
                if !socket.queue_error(entry) {
                    self.counters.error_queue_full += 1;
                }
            }
        } else if !hard || socket.peer.is_none() {
            return;
        }
        socket.error.set(Some(errno));
        socket.wake_all();
    }
}

/// ip_icmp_error: a clone of the ICMP datagram, pulled to the quoted transport payload (the
/// bytes after the quoted 8-byte UDP header), with the sock_extended_err filled from the ICMP
/// header. None when there is no received datagram to clone (the network layer always has one).
fn icmp_error_entry(error: &IcmpError<'_>, errno: Errno, rfc4884: bool) -> Option<QueuedError> {
    let received = error.datagram?;
    let data = error.quoted_payload.get(UDP_HEADER_LEN..).unwrap_or(&[]);
    let ports = error.quoted_payload.get(2..4)?;
    let destination_port = u16::from_be_bytes([ports[0], ports[1]]);
    let mut extended = ExtendedError {
        errno,
        origin: origin::ICMP,
        icmp_type: error.icmp_type,
        code: error.icmp_code,
        info: error.info,
        data: 0,
    };
    if rfc4884 {
        extended.data = rfc4884_data(error, received.payload, data);
    }
    Some(QueuedError {
        error: extended,
        destination: SocketAddrV4::new(error.quoted_dst, destination_port),
        received: Some(QueuedDatagram {
            payload: data.to_vec(),
            source: SocketAddrV4::new(received.src, 0),
            destination: received.dst,
            ttl: received.ttl,
            tos: received.tos,
            // PKTINFO_SKB_CB over the ICMP skb's IPCB: ipi_ifindex is IPCB->iif, ipi_spec_dst
            // IPCB->opt.faddr (0 without a source route option).
            packet_info: Some((received.ifindex, core::net::Ipv4Addr::UNSPECIFIED)),
            timestamp: received.meta.timestamp,
            // skb_clone keeps the truesize of the received skb.
            truesize: received.truesize,
            // IPCB of the ICMP datagram: its own options and reassembly size.
            ip_options: received.options.to_vec(),
            compiled_options: received.compiled_options,
            fragment_max_size: received.fragment_max_size,
            // The transport header was reset to the data: ports[1] is data[2..4].
            original_destination_port: data
                .get(2..4)
                .map(|port| u16::from_be_bytes([port[0], port[1]])),
            // No IP_CHECKSUM (the clone is not CHECKSUM_COMPLETE) and no SO_RXQ_OVFL
            // (ip_recv_error calls sock_recv_timestamp, never sock_recv_drops).
            ..QueuedDatagram::default()
        }),
        truesize: received.truesize,
        stamp: received.meta.timestamp,
    })
}

/// ipv4_icmp_error_rfc4884 → ip_icmp_error_rfc4884: for destination unreachable, time
/// exceeded and parameter problem, the RFC 4884 length (un.reserved[1], in 32-bit words) as an
/// offset into the data the error carries, with SO_EE_RFC4884_FLAG_INVALID when the extension
/// header does not validate; 0 when the length is absent, below 128 bytes, or points past the
/// data. Returns ee_data as the union's bytes read natively (len: u16, flags: u8, reserved).
fn rfc4884_data(error: &IcmpError<'_>, icmp_message: &[u8], data: &[u8]) -> u32 {
    if !matches!(
        error.icmp_type,
        ICMP_DEST_UNREACH | ICMP_TIME_EXCEEDED | ICMP_PARAMETERPROB
    ) {
        return 0;
    }
    let Some(&words) = icmp_message.get(5) else {
        return 0;
    };
    let offset = usize::from(words) * 4;
    // hlen: from the end of the ICMP header to the data (the quoted IP and UDP headers).
    let headers = icmp_message
        .len()
        .saturating_sub(ICMP_HEADER_LEN + data.len());
    if offset < RFC4884_MIN_ORIGINAL || offset < headers {
        return 0;
    }
    let offset = offset - headers;
    if offset + EXTENSION_HEADER_LEN > data.len() {
        return 0;
    }
    let flags = if extension_valid(&data[offset..]) {
        0
    } else {
        RFC4884_FLAG_INVALID
    };
    let mut bytes = [0u8; 4];
    bytes[0..2].copy_from_slice(&(offset as u16).to_ne_bytes());
    bytes[2] = flags;
    u32::from_ne_bytes(bytes)
}

/// ip_icmp_error_rfc4884_validate: an extension of another version than 2 is not checked
/// (valid); a version 2 one must have a zero (absent) or correct checksum over the rest of
/// the data, and object headers of at least 4 bytes that end within it.
fn extension_valid(extension: &[u8]) -> bool {
    if extension[0] >> 4 != ICMP_EXT_VERSION_2 {
        return true;
    }
    let checksum = u16::from_be_bytes([extension[2], extension[3]]);
    // csum_fold(skb_checksum(...)) is zero exactly when the folded sum is 0xffff.
    if checksum != 0 && crate::wire::checksum::sum(extension) != 0xffff {
        return false;
    }
    let mut position = EXTENSION_HEADER_LEN;
    while position < extension.len() {
        let Some(object) = extension.get(position..position + 4) else {
            return false;
        };
        let length = usize::from(u16::from_be_bytes([object[0], object[1]]));
        if length < 4 {
            return false;
        }
        position += length;
        if position > extension.len() {
            return false;
        }
    }
    true
}
