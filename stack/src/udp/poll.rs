//! Readiness (udp_poll over datagram_poll) and the socket ioctls (udp_ioctl, sock_gettstamp).

use crate::errno::Errno;
use crate::socket::poll_bits::*;

use super::socket::UdpSocket;

pub mod request {
    /// FIONREAD == SIOCINQ.
    pub const SIOCINQ: u64 = 0x541B;
    /// TIOCOUTQ == SIOCOUTQ.
    pub const SIOCOUTQ: u64 = 0x5411;
    pub const SIOCGSTAMP: u64 = 0x8906;
    pub const SIOCGSTAMPNS: u64 = 0x8907;
}

/// datagram_poll, plus udp_poll's reader queue (one queue here). Checksums were verified at
/// delivery, so udp_poll's "false positive" filter has nothing to remove.
pub(super) fn poll_bits(socket: &UdpSocket) -> u32 {
    let mut mask = 0;
    // The error queue (issue #4) will also raise POLLERR.
    if socket.error.get().is_some() {
        mask |= POLLERR;
    }
    if socket.read_shut {
        mask |= POLLRDHUP | POLLIN | POLLRDNORM;
    }
    if socket.read_shut && socket.write_shut {
        mask |= POLLHUP;
    }
    if !socket.receive_queue.is_empty() {
        mask |= POLLIN | POLLRDNORM;
    }
    // sock_writeable: sk_wmem_alloc < sk_sndbuf / 2.
    if (send_memory(socket) as i64) < i64::from(socket.options.send_buffer >> 1) {
        mask |= POLLOUT | POLLWRNORM | POLLWRBAND;
    }
    mask
}

/// sk_wmem_alloc: datagrams are handed to the network layer at once, so only corked data is
/// charged. (The kernel also charges datagrams waiting for ARP resolution or the device
/// queue until they are freed; the network layer does not report those.)
fn send_memory(socket: &UdpSocket) -> usize {
    socket
        .cork
        .as_ref()
        .map_or(0, |cork| super::socket::truesize(20, cork.data.len()))
}

pub(super) fn ioctl(socket: &mut UdpSocket, request: u64) -> Result<Vec<u8>, Errno> {
    match request {
        // first_packet_length: the payload size of the next datagram, 0 when none.
        request::SIOCINQ => {
            let length = socket.receive_queue.front().map_or(0, |d| d.payload.len());
            Ok((length as i32).to_ne_bytes().to_vec())
        }
        request::SIOCOUTQ => Ok((send_memory(socket) as i32).to_ne_bytes().to_vec()),
        // sock_gettstamp: ENOENT before the first datagram was read; struct timeval or
        // struct timespec (two 64-bit fields on x86_64).
        request::SIOCGSTAMP | request::SIOCGSTAMPNS => {
            let stamp = socket.last_timestamp.ok_or(Errno::ENOENT)?;
            let fraction = if request == request::SIOCGSTAMP {
                stamp.nsec / 1000
            } else {
                stamp.nsec
            };
            let mut out = stamp.sec.to_ne_bytes().to_vec();
            out.extend_from_slice(&fraction.to_ne_bytes());
            Ok(out)
        }
        // -ENOIOCTLCMD, which sock_do_ioctl turns into ENOTTY for non-socket requests (the
        // netdevice ioctls, SIOCGIF*, are the shim's to answer).
        _ => Err(Errno::ENOTTY),
    }
}
