//! ICMP errors about datagrams we sent: __udp4_lib_err.

use core::net::SocketAddrV4;

use crate::errno::Errno;
use crate::sockopt::values::pmtu;
use crate::stack::ip_proto;
use crate::time::Instant;
use crate::transport::IcmpError;
use crate::wire::udp::Flavor;

use super::deliver::FourTuple;
use super::layer::UdpLayer;

const ICMP_DEST_UNREACH: u8 = 3;
const ICMP_SOURCE_QUENCH: u8 = 4;
const ICMP_REDIRECT: u8 = 5;
const ICMP_PARAMETERPROB: u8 = 12;
const ICMP_FRAG_NEEDED: u8 = 4;

impl UdpLayer {
    pub(super) fn handle_icmp_error(&mut self, _now: Instant, error: &IcmpError<'_>) {
        // The quoted datagram is ours: its source is our address and port.
        let Some(ports) = error.quoted_payload.get(0..4) else {
            self.counters.icmp_errors_no_socket += 1;
            return;
        };
        let source_port = u16::from_be_bytes([ports[0], ports[1]]);
        let destination_port = u16::from_be_bytes([ports[2], ports[3]]);
        let flavor = if error.quoted_protocol == ip_proto::UDPLITE {
            Flavor::Lite
        } else {
            Flavor::Udp
        };
        let tuple = FourTuple {
            remote: SocketAddrV4::new(error.quoted_dst, destination_port),
            local: SocketAddrV4::new(error.quoted_src, source_port),
        };
        let Some(id) = self.lookup(flavor, &tuple) else {
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
        // reported; with it every error is, and ip_icmp_error would also queue it on the error
        // queue (issue #4: the queue goes here).
        if !socket.options.receive_errors && (!hard || socket.peer.is_none()) {
            return;
        }
        socket.error.set(Some(errno));
        socket.wake_all();
    }
}
