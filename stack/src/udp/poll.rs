//! Readiness (udp_poll over datagram_poll) and the socket ioctls (udp_ioctl, sock_gettstamp).

use crate::errno::Errno;
use crate::socket::poll_bits::*;

use crate::time::WallTime;

use super::socket::{ReceiveStamp, UdpSocket};

pub mod request {
    /// FIONREAD == SIOCINQ.
    pub const SIOCINQ: u64 = 0x541B;
    /// TIOCOUTQ == SIOCOUTQ.
    pub const SIOCOUTQ: u64 = 0x5411;
    /// SIOCGSTAMP_OLD / SIOCGSTAMPNS_OLD: what glibc calls SIOCGSTAMP(NS) on x86_64.
    pub const SIOCGSTAMP: u64 = 0x8906;
    pub const SIOCGSTAMPNS: u64 = 0x8907;
    /// SIOCGSTAMP_NEW / SIOCGSTAMPNS_NEW: _IOR(0x89, 6 or 7, long long[2]); on x86_64 the old
    /// and new layouts are the same two 64-bit fields.
    pub const SIOCGSTAMP_NEW: u64 = 0x8010_8906;
    pub const SIOCGSTAMPNS_NEW: u64 = 0x8010_8907;
}

/// datagram_poll, plus udp_poll's reader queue (one queue here). Checksums were verified at
/// delivery, so udp_poll's "false positive" filter has nothing to remove.
pub(super) fn poll_bits(socket: &UdpSocket) -> u32 {
    let mut mask = 0;
    // "if (sk->sk_err || !skb_queue_empty_lockless(&sk->sk_error_queue)) mask |= EPOLLERR |
    // (sock_flag(sk, SOCK_SELECT_ERR_QUEUE) ? EPOLLPRI : 0)".
    if socket.error.get().is_some() || !socket.error_queue.is_empty() {
        mask |= POLLERR;
        if socket.options.select_error_queue {
            mask |= POLLPRI;
        }
    }
    if socket.read_shut {
        mask |= POLLRDHUP | POLLIN | POLLRDNORM;
    }
    if socket.read_shut && socket.write_shut {
        mask |= POLLHUP;
    }
    if let Some(first) = socket.receive_queue.front() {
        mask |= POLLIN | POLLRDNORM;
        // udp_poll's first_packet_length verifies the first datagram's checksum (for a
        // blocking file not shut down for reading; the stack does not see O_NONBLOCK, so it
        // does this for every caller).
        if !socket.read_shut {
            first.complete_checksum();
        }
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
    socket.cork.as_ref().map_or(0, |cork| {
        super::socket::corked_truesize(20, cork.data.len())
    })
}

/// `wall_now` is CLOCK_REALTIME, which SIOCGSTAMP answers when the last read recorded no time.
pub(super) fn ioctl(
    socket: &mut UdpSocket,
    request: u64,
    wall_now: WallTime,
) -> Result<Vec<u8>, Errno> {
    match request {
        // first_packet_length: the payload size of the next datagram, 0 when none.
        request::SIOCINQ => {
            // first_packet_length: the checksum of the first datagram is verified.
            if let Some(first) = socket.receive_queue.front() {
                first.complete_checksum();
            }
            let length = socket.receive_queue.front().map_or(0, |d| d.payload.len());
            Ok((length as i32).to_ne_bytes().to_vec())
        }
        request::SIOCOUTQ => Ok((send_memory(socket) as i32).to_ne_bytes().to_vec()),
        request::SIOCGSTAMP | request::SIOCGSTAMP_NEW => Ok(encode_stamp(
            read_stamp(socket, wall_now)?,
            Resolution::Microseconds,
        )),
        request::SIOCGSTAMPNS | request::SIOCGSTAMPNS_NEW => Ok(encode_stamp(
            read_stamp(socket, wall_now)?,
            Resolution::Nanoseconds,
        )),
        // -ENOIOCTLCMD, which sock_do_ioctl turns into ENOTTY for non-socket requests (the
        // netdevice ioctls, SIOCGIF*, are the shim's to answer).
        _ => Err(Errno::ENOTTY),
    }
}

#[derive(Clone, Copy)]
enum Resolution {
    Microseconds,
    Nanoseconds,
}

/// sock_gettstamp: enable SOCK_TIMESTAMP first (even when answering ENOENT), so later
/// receives record their time; SK_DEFAULT_STAMP is ENOENT; 0 becomes the current time, which
/// is stored and answered.
fn read_stamp(socket: &mut UdpSocket, wall_now: WallTime) -> Result<WallTime, Errno> {
    socket.options.record_receive_stamps = true;
    match socket.stamp {
        ReceiveStamp::Unset => Err(Errno::ENOENT),
        ReceiveStamp::Zero => {
            socket.stamp = ReceiveStamp::At(wall_now);
            Ok(wall_now)
        }
        ReceiveStamp::At(stamp) => Ok(stamp),
    }
}

/// struct timeval or struct timespec: two 64-bit fields on x86_64.
fn encode_stamp(stamp: WallTime, resolution: Resolution) -> Vec<u8> {
    let fraction = match resolution {
        Resolution::Microseconds => stamp.nsec / 1000,
        Resolution::Nanoseconds => stamp.nsec,
    };
    let mut out = stamp.sec.to_ne_bytes().to_vec();
    out.extend_from_slice(&fraction.to_ne_bytes());
    out
}
