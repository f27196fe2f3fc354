//! What IPv4 input hands raw and ping sockets: raw_v4_input (a copy of every matching
//! packet), ping_rcv (echo replies by identifier), raw_icmp_error + raw_err and ping_err
//! (ICMP errors quoting what they sent).

use core::net::Ipv4Addr;

use crate::errno::Errno;
use crate::ipv4::InboundDatagram;
use crate::transport::IcmpError;

use super::layer::RawLayer;
use super::socket::{Kind, QueuedError, RawSocket, Received};

/// SO_EE_ORIGIN_ICMP.
const ORIGIN_ICMP: u8 = 2;
const ICMP_DEST_UNREACH: u8 = 3;
const ICMP_SOURCE_QUENCH: u8 = 4;
const ICMP_REDIRECT: u8 = 5;
const ICMP_PARAMETERPROB: u8 = 12;
const ICMP_FRAG_NEEDED: u8 = 4;
const ICMP_ECHO: u8 = 8;
/// NR_ICMP_UNREACH.
const HIGHEST_UNREACH_CODE: u8 = 15;
/// skb truesize of a small received packet (a 2 KiB-class head plus struct sk_buff), as
/// UDP charges it; the exact value only matters against SO_RCVBUF.
const SMALL_TRUESIZE: usize = 768;

/// raw_v4_match: the protocol, then a connected peer and a bound address must agree, and
/// a bound device must be the one the packet came in on.
fn raw_matches(
    socket: &RawSocket,
    protocol: u8,
    remote: Ipv4Addr,
    local: Ipv4Addr,
    ifindex: u32,
) -> bool {
    socket.kind == Kind::Raw
        && socket.hashed
        && socket.protocol == protocol
        && socket.peer.is_none_or(|peer| *peer.ip() == remote)
        && (socket.receive_address.is_unspecified() || socket.receive_address == local)
        && (socket.options.bound_device == 0 || socket.options.bound_device == ifindex)
}

/// icmp_filter: true drops. Types of 32 and above are never filtered; a packet too short
/// to have a type is.
fn icmp_filtered(socket: &RawSocket, payload: &[u8]) -> bool {
    let Some(&icmp_type) = payload.first() else {
        return true;
    };
    icmp_type < 32 && socket.icmp_filter & (1u32 << icmp_type) != 0
}

fn received(datagram: &InboundDatagram<'_>, bytes: Vec<u8>) -> Received {
    Received {
        truesize: SMALL_TRUESIZE + bytes.len(),
        bytes,
        source: datagram.src,
        destination: datagram.dst,
        ttl: datagram.ttl,
        tos: datagram.tos,
        ip_options: datagram.options.to_vec(),
        ifindex: datagram.ifindex,
        timestamp: datagram.meta.timestamp,
    }
}

/// The packet as a raw socket reads it: the IP header as received, then the payload.
fn whole_packet(datagram: &InboundDatagram<'_>) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(datagram.header.len() + datagram.payload.len());
    bytes.extend_from_slice(datagram.header);
    bytes.extend_from_slice(datagram.payload);
    bytes
}

impl RawLayer {
    /// raw_v4_input: every matching raw socket gets a copy (unless ICMP_FILTER drops its
    /// type, or its receive buffer is full). True if any socket matched.
    pub fn raw_deliver(&mut self, datagram: &InboundDatagram<'_>) -> bool {
        let mut matched = false;
        for socket in self.sockets_mut() {
            if !raw_matches(
                socket,
                datagram.protocol,
                datagram.src,
                datagram.dst,
                datagram.ifindex,
            ) {
                continue;
            }
            matched = true;
            if datagram.protocol == crate::ip_proto::ICMP && icmp_filtered(socket, datagram.payload)
            {
                continue;
            }
            socket.queue(received(datagram, whole_packet(datagram)));
        }
        matched
    }

    /// ping_rcv → ping_lookup: the first ping socket holding the reply's identifier, whose
    /// bound address (if any) is the packet's destination and whose bound device (if any)
    /// is the one it came in on. The ICMP header and payload are queued.
    pub fn ping_reply(&mut self, datagram: &InboundDatagram<'_>) -> bool {
        let Some(ident) = datagram.payload.get(4..6) else {
            return false;
        };
        let ident = u16::from_be_bytes([ident[0], ident[1]]);
        let Some(socket) = self.ping_lookup(ident, datagram.dst, datagram.ifindex) else {
            return false;
        };
        socket.queue(received(datagram, datagram.payload.to_vec()))
    }

    /// ping_get_port adds a socket at the head of its hash chain: the most recently bound
    /// of several sockets sharing an identifier is found first.
    fn ping_lookup(&mut self, ident: u16, local: Ipv4Addr, ifindex: u32) -> Option<&mut RawSocket> {
        self.ping_sockets_newest_first().find(|socket| {
            socket.kind == Kind::Ping
                && socket.hashed
                && socket.ident == ident
                && (socket.receive_address.is_unspecified() || socket.receive_address == local)
                && (socket.options.bound_device == 0 || socket.options.bound_device == ifindex)
        })
    }

    /// raw_icmp_error → raw_err for every raw socket of the quoted protocol that matches
    /// the quoted addresses (reversed: the quoted source is our local address), and
    /// ping_err for an error quoting an echo request. Returns whether a socket was found
    /// (which lets a fragmentation-needed message update the path MTU).
    pub fn icmp_error(&mut self, error: &IcmpError<'_>) -> bool {
        let Some(received_icmp) = error.datagram else {
            return false;
        };
        let quoted_ip = quoted_ip_packet(received_icmp);
        let mut found = false;
        for socket in self.sockets_mut() {
            if raw_matches(
                socket,
                error.quoted_protocol,
                error.quoted_dst,
                error.quoted_src,
                received_icmp.ifindex,
            ) {
                found = true;
                raw_err(socket, error, received_icmp, quoted_ip);
            }
        }
        if error.quoted_protocol == crate::ip_proto::ICMP {
            found |= self.ping_err(error, received_icmp);
        }
        found
    }

    /// ping_err: only errors quoting an echo request reach a ping socket, found by the
    /// identifier the request carried.
    fn ping_err(&mut self, error: &IcmpError<'_>, received_icmp: &InboundDatagram<'_>) -> bool {
        let quoted = error.quoted_payload;
        if quoted.len() < 8 || quoted[0] != ICMP_ECHO || quoted[1] != 0 {
            return false;
        }
        let ident = u16::from_be_bytes([quoted[4], quoted[5]]);
        let Some(socket) = self.ping_lookup(ident, error.quoted_src, received_icmp.ifindex) else {
            return false;
        };
        let (errno, hard) = match error.icmp_type {
            ICMP_SOURCE_QUENCH | ICMP_REDIRECT => (Errno::EREMOTEIO, false),
            ICMP_PARAMETERPROB => (Errno::EPROTO, true),
            ICMP_DEST_UNREACH if error.icmp_code == ICMP_FRAG_NEEDED => {
                if socket.options.pmtu_discovery == crate::sockopt::values::pmtu::DONT {
                    return true;
                }
                (Errno::EMSGSIZE, true)
            }
            ICMP_DEST_UNREACH if error.icmp_code <= HIGHEST_UNREACH_CODE => {
                (error.errno, error.fatal)
            }
            _ => (Errno::EHOSTUNREACH, false),
        };
        if !socket.options.receive_errors {
            if !hard || socket.peer.is_none() {
                return true;
            }
        } else {
            queue_icmp_error(socket, error, received_icmp, errno, quoted.to_vec());
        }
        socket.report_error(errno);
        true
    }
}

/// The IP packet quoted by an ICMP error (its header and whatever followed).
fn quoted_ip_packet<'a>(received_icmp: &InboundDatagram<'a>) -> &'a [u8] {
    received_icmp.payload.get(8..).unwrap_or(&[])
}

/// raw_err.
fn raw_err(
    socket: &mut RawSocket,
    error: &IcmpError<'_>,
    received_icmp: &InboundDatagram<'_>,
    quoted_ip: &[u8],
) {
    if error.icmp_type == ICMP_REDIRECT {
        return;
    }
    let receive_errors = socket.options.receive_errors;
    if !receive_errors && socket.peer.is_none() {
        return;
    }
    let (errno, hard) = match error.icmp_type {
        ICMP_SOURCE_QUENCH => return,
        ICMP_PARAMETERPROB => (Errno::EPROTO, true),
        ICMP_DEST_UNREACH if error.icmp_code > HIGHEST_UNREACH_CODE => (Errno::EHOSTUNREACH, false),
        ICMP_DEST_UNREACH if error.icmp_code == ICMP_FRAG_NEEDED => (
            Errno::EMSGSIZE,
            socket.options.pmtu_discovery != crate::sockopt::values::pmtu::DONT,
        ),
        ICMP_DEST_UNREACH => (error.errno, error.fatal),
        _ => (Errno::EHOSTUNREACH, false),
    };
    if receive_errors {
        // The error's data: the quoted transport header onwards, or the whole quoted IP
        // packet for an IP_HDRINCL socket.
        let payload = if socket.options.header_included {
            quoted_ip.to_vec()
        } else {
            error.quoted_payload.to_vec()
        };
        queue_icmp_error(socket, error, received_icmp, errno, payload);
    }
    if receive_errors || hard {
        socket.report_error(errno);
    }
}

/// ip_icmp_error.
fn queue_icmp_error(
    socket: &mut RawSocket,
    error: &IcmpError<'_>,
    received_icmp: &InboundDatagram<'_>,
    errno: Errno,
    payload: Vec<u8>,
) {
    let entry = QueuedError {
        errno,
        origin: ORIGIN_ICMP,
        icmp_type: error.icmp_type,
        code: error.icmp_code,
        info: error.info,
        ee_data: 0,
        destination: error.quoted_dst,
        port: 0,
        offender: Some(error.offender),
        truesize: SMALL_TRUESIZE + received_icmp.header.len() + received_icmp.payload.len(),
        payload,
        received: Some(received(received_icmp, Vec::new())),
    };
    socket.queue_error(entry);
}

impl RawLayer {
    /// Whether raw_icmp_error or ping_err would find a socket for `error` (they update the
    /// path MTU for the socket they find, ipv4_sk_update_pmtu).
    pub fn finds_error_socket(&self, error: &IcmpError<'_>) -> bool {
        let Some(received_icmp) = error.datagram else {
            return false;
        };
        let ifindex = received_icmp.ifindex;
        self.sockets().any(|socket| {
            raw_matches(
                socket,
                error.quoted_protocol,
                error.quoted_dst,
                error.quoted_src,
                ifindex,
            ) || (error.quoted_protocol == crate::ip_proto::ICMP
                && socket.kind == Kind::Ping
                && socket.hashed
                && error.quoted_payload.len() >= 8
                && error.quoted_payload[0] == ICMP_ECHO
                && socket.ident
                    == u16::from_be_bytes([error.quoted_payload[4], error.quoted_payload[5]]))
        })
    }
}
