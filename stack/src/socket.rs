//! Types shared by every socket operation of the public API (see `stack.rs`).

use core::net::SocketAddrV4;

use crate::time::WallTime;

/// A socket in the stack. Indexes a slot; the generation makes a stale id (a socket closed and
/// its slot reused) detectable: operations on it answer EBADF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId {
    pub index: u32,
    pub generation: u32,
}

/// Linux socket type constants (without SOCK_NONBLOCK / SOCK_CLOEXEC, which the shim handles).
pub mod sock_type {
    pub const STREAM: i32 = 1;
    pub const DGRAM: i32 = 2;
    pub const RAW: i32 = 3;
    pub const SEQPACKET: i32 = 5;
}

/// Linux poll bits (asm-generic/poll.h), as the stack reports readiness.
pub mod poll_bits {
    pub const POLLIN: u32 = 0x001;
    pub const POLLPRI: u32 = 0x002;
    pub const POLLOUT: u32 = 0x004;
    pub const POLLERR: u32 = 0x008;
    pub const POLLHUP: u32 = 0x010;
    pub const POLLNVAL: u32 = 0x020;
    pub const POLLRDNORM: u32 = 0x040;
    pub const POLLRDBAND: u32 = 0x080;
    pub const POLLWRNORM: u32 = 0x100;
    pub const POLLWRBAND: u32 = 0x200;
    pub const POLLRDHUP: u32 = 0x2000;
}

/// Linux MSG_* flags (include/linux/socket.h).
pub mod msg_flags {
    pub const MSG_OOB: i32 = 0x01;
    pub const MSG_PEEK: i32 = 0x02;
    pub const MSG_DONTROUTE: i32 = 0x04;
    pub const MSG_CTRUNC: i32 = 0x08;
    pub const MSG_TRUNC: i32 = 0x20;
    pub const MSG_DONTWAIT: i32 = 0x40;
    pub const MSG_EOR: i32 = 0x80;
    pub const MSG_WAITALL: i32 = 0x100;
    pub const MSG_CONFIRM: i32 = 0x800;
    pub const MSG_ERRQUEUE: i32 = 0x2000;
    pub const MSG_NOSIGNAL: i32 = 0x4000;
    pub const MSG_MORE: i32 = 0x8000;
    pub const MSG_WAITFORONE: i32 = 0x10000;
    /// TCP Fast Open: connect and send in one call (tcp_sendmsg_fastopen).
    pub const MSG_FASTOPEN: i32 = 0x2000_0000;
    pub const MSG_CMSG_CLOEXEC: i32 = 0x4000_0000;
}

/// How many wakeups a socket has raised, by the poll key the kernel wakes its waiters with, so
/// edge-triggered epoll can filter them as ep_poll_callback does ("if (pollflags &&
/// !(pollflags & epi->event.events)) goto out_unlock").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WakeupCounts {
    /// sk_data_ready (sock_def_readable: EPOLLIN | EPOLLPRI | EPOLLRDNORM | EPOLLRDBAND).
    pub readable: u64,
    /// sk_write_space (sock_def_write_space: EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND).
    pub writable: u64,
    /// sk_error_report (sock_def_error_report: EPOLLERR, in every interest) and sk_state_change
    /// (sock_def_wakeup: no key, wakes every interest).
    pub other: u64,
}

impl WakeupCounts {
    /// All wakeups, whatever their key.
    pub fn total(&self) -> u64 {
        self.readable
            .wrapping_add(self.writable)
            .wrapping_add(self.other)
    }
}

/// The sk_wake_async calls a socket made, by the POLL_* reason they carry (sock_wake_async →
/// kill_fasync): the shim turns new ones into O_ASYNC signals (SIGIO or F_SETSIG's) for the
/// socket's owner. SIGURG is counted apart (`Stack::urgent_signals`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AsyncNotices {
    /// POLL_IN: sk_data_ready (data, a datagram, a connection to accept, a FIN).
    pub input: u64,
    /// POLL_OUT: a connection established (tcp_finish_connect), write space.
    pub output: u64,
    /// POLL_ERR: sk_error_report.
    pub error: u64,
    /// POLL_HUP: tcp_fin on a socket already shut down both ways.
    pub hangup: u64,
}

/// skb->mark and skb->priority: what the sending socket set (SO_MARK, SO_PRIORITY, IP_TOS, or
/// their control messages). Only datagrams looped back inside the host keep them: a packet
/// that crosses network namespaces has both cleared (measured with SO_RCVMARK and
/// SO_RCVPRIORITY), so frames from the wire carry zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PacketTags {
    pub mark: u32,
    pub priority: u32,
}

/// Metadata of a received frame, supplied by the driver with `handle_frame`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RxMeta {
    /// The kernel told us the transport checksum was not computed yet (checksum offload on the
    /// sending veth: TP_STATUS_CSUMNOTREADY) or was already verified (TP_STATUS_CSUM_VALID).
    /// Either way the stack must not reject the frame for its TCP/UDP checksum.
    pub checksum_trusted: bool,
    /// Receive time, for SO_TIMESTAMP(NS) and SIOCGSTAMP.
    pub timestamp: WallTime,
    /// Zero from the wire; the sender's for looped-back datagrams (SO_RCVMARK,
    /// SO_RCVPRIORITY).
    pub tags: PacketTags,
}

/// What a receive call returns (besides the bytes written into the caller's buffer).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecvResult {
    /// The return value of recvmsg: bytes copied, or the full datagram length with MSG_TRUNC.
    pub len: usize,
    /// The source address (msg_name), when the protocol has one.
    pub from: Option<SocketAddrV4>,
    /// Encoded control messages (x86_64 `struct cmsghdr` layout), already cut to the space the
    /// caller offered exactly as the kernel's put_cmsg does.
    pub control: Vec<u8>,
    /// msg_flags to report (MSG_TRUNC, MSG_CTRUNC, MSG_ERRQUEUE, ...).
    pub flags: i32,
}

/// Arguments of a send call after the shim has copied them out of user memory.
#[derive(Debug, Clone, Copy)]
pub struct SendArgs<'a> {
    /// The payload, gathered from the iovecs.
    pub data: &'a [u8],
    /// Raw `struct sockaddr` bytes from msg_name / sendto's dest_addr, `None` when NULL.
    /// The stack validates it with the kernel's rules (length, family, AF_UNSPEC).
    pub dest: Option<&'a [u8]>,
    /// Raw control buffer (msg_control), empty when none.
    pub control: &'a [u8],
    pub flags: i32,
}

/// Arguments of a receive call.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecvArgs {
    /// Total size of the caller's iovecs.
    pub capacity: usize,
    /// msg_controllen offered (0 for recv/recvfrom).
    pub control_capacity: usize,
    pub flags: i32,
}

/// A shutdown(2) direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    Read,
    Write,
    Both,
}

impl Shutdown {
    /// SHUT_RD=0, SHUT_WR=1, SHUT_RDWR=2; anything else is EINVAL (inet_shutdown).
    pub fn from_raw(how: i32) -> Option<Shutdown> {
        match how {
            0 => Some(Shutdown::Read),
            1 => Some(Shutdown::Write),
            2 => Some(Shutdown::Both),
            _ => None,
        }
    }
}
