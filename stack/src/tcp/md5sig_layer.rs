//! Where TCP MD5 signatures (`md5sig.rs`) meet connections and the layer: the key a
//! connection signs with (tp->af_specific->md5_lookup(sk, sk)), the input check run on the
//! socket a segment found (tcp_v4_rcv → tcp_inbound_hash), and the key a reset is signed
//! with (tcp_v4_send_reset).

use core::net::SocketAddrV4;

use super::layer::TcpLayer;
use super::md5sig::{self, InboundDrop, Signature};
use super::socket::TcpSocket;
use super::tcb::Connection;
use crate::errno::Errno;
use crate::ipv4::InboundDatagram;
use crate::socket::SocketId;
use crate::wire::tcp::Repr;

impl Connection {
    /// tcp_v4_md5_lookup(sk, sk): the secret of the key covering the peer, if any.
    pub fn md5_secret(&self) -> Option<Vec<u8>> {
        let keys = &self.settings.more.md5_keys;
        if keys.is_empty() {
            return None;
        }
        keys.lookup(*self.remote.ip()).map(|key| key.secret.clone())
    }

    /// The option bytes a signature adds to every segment beyond tcp_header_len
    /// (tcp_current_mss's "header_len - tp->tcp_header_len").
    pub fn md5_option_len(&self) -> u32 {
        let keys = &self.settings.more.md5_keys;
        if !keys.is_empty() && keys.lookup(*self.remote.ip()).is_some() {
            md5sig::OPTION_LEN_ALIGNED
        } else {
            0
        }
    }
}

/// TCP_MD5SIG / TCP_MD5SIG_EXT on `socket`: the socket's keys and, once connected, the
/// connection's (the same tp->md5sig_info in the kernel).
pub(super) fn set_keys(
    socket: &mut TcpSocket,
    name: i32,
    value: &[u8],
    optmem_max: u32,
) -> Result<(), Errno> {
    let mut keys = socket_keys(socket).clone();
    md5sig::set_option(&mut keys, name, value, optmem_max)?;
    if let Some(connection) = socket.connection_mut() {
        connection.settings.more.md5_keys = keys.clone();
    }
    socket.settings.more.md5_keys = keys;
    Ok(())
}

/// The keys a socket holds: a connection's own copy, else the socket's (a listener's).
fn socket_keys(socket: &TcpSocket) -> &md5sig::Md5Keys {
    socket
        .connection()
        .map_or(&socket.settings.more.md5_keys, |connection| {
            &connection.settings.more.md5_keys
        })
}

impl TcpLayer {
    /// tcp_inbound_hash for the socket `id` found for `datagram`: true when the segment is
    /// dropped (and counted). TIME_WAIT records are not checked (tcp_v4_rcv's do_time_wait
    /// path skips it).
    pub(super) fn md5_inbound_dropped(
        &mut self,
        id: SocketId,
        datagram: &InboundDatagram<'_>,
    ) -> bool {
        let Ok(socket) = self.sockets.get(id) else {
            return false;
        };
        let verdict = md5sig::check_inbound(
            socket_keys(socket),
            datagram.src,
            datagram.dst,
            datagram.payload,
        );
        let Err(reason) = verdict else {
            return false;
        };
        let counter = match reason {
            InboundDrop::BadHeader => &mut self.counters.auth_header_drops,
            InboundDrop::NotFound => &mut self.counters.md5_not_found,
            InboundDrop::Unexpected => &mut self.counters.md5_unexpected,
            InboundDrop::Failure => &mut self.counters.md5_failure,
        };
        *counter += 1;
        true
    }

    /// tcp_v4_send_reset's choice of key: None when no reset may be sent at all, else the
    /// secret to sign it with (or none). A malformed authentication option gets no reset.
    /// A full socket signs with its key for the sender. Without one (no socket, or a
    /// TIME_WAIT record), a signed segment is answered only when a listener on the
    /// segment's *source* port ("active side is lost. Try to find listening socket through
    /// source port") has a key for the sender and the digest checks out with it.
    pub(super) fn reset_signing(
        &self,
        socket: Option<SocketId>,
        segment: &Repr<'_>,
        datagram: &InboundDatagram<'_>,
    ) -> Option<Option<Vec<u8>>> {
        let signature = md5sig::find_signature(datagram.payload).ok()?;
        if let Some(socket) = socket.and_then(|id| self.sockets.get(id).ok()) {
            let key = socket_keys(socket).lookup(datagram.src);
            return Some(key.map(|key| key.secret.clone()));
        }
        let Signature::Md5(at) = signature else {
            return Some(None);
        };
        let tuple = (
            SocketAddrV4::new(datagram.dst, segment.source_port),
            SocketAddrV4::new(datagram.src, segment.source_port),
        );
        let listener = self.sockets.get(self.select_listener(tuple, None)?).ok()?;
        let key = socket_keys(listener).lookup(datagram.src)?;
        let digest = md5sig::digest(&key.secret, datagram.src, datagram.dst, datagram.payload);
        (datagram.payload.get(at..at + 16) == Some(&digest[..])).then(|| Some(key.secret.clone()))
    }
}
