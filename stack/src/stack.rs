//! The public face of the stack: one `Stack` value owns every layer and every socket.
//! Sans-IO: frames go in through `handle_frame`, come out of `poll_transmit`; time comes in as
//! `now`; nothing here reads a clock or makes a syscall.

use core::net::SocketAddrV4;

use crate::config::{Credentials, StackConfig};
use crate::counters::Counters;
use crate::errno::Errno;
use crate::inet_create::{inet_create, InetProtocol};
use crate::ipv4::{InboundDatagram, Ipv4Layer};
use crate::socket::{RecvArgs, RecvResult, RxMeta, SendArgs, Shutdown, SocketId, WakeupCounts};
use crate::time::{Instant, WallTime};
use crate::transport::{Delivery, IcmpError, Transports};
use crate::udp::UdpLayer;

/// IANA protocol numbers the stack serves.
pub mod ip_proto {
    pub const ICMP: u8 = 1;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const UDPLITE: u8 = 136;
}

pub struct Stack {
    ip: Ipv4Layer,
    udp: UdpLayer,
    /// Bumped whenever any socket's readiness may have changed, so waiters know to look again.
    generation: u64,
}

/// The transports, as the network layer sees them when it delivers.
struct Upper<'a> {
    udp: &'a mut UdpLayer,
}

impl Transports for Upper<'_> {
    fn deliver(&mut self, now: Instant, datagram: &InboundDatagram<'_>) -> Delivery {
        match datagram.protocol {
            ip_proto::UDP | ip_proto::UDPLITE => self.udp.deliver(now, datagram),
            _ => Delivery::ProtocolUnreachable,
        }
    }

    fn icmp_error(&mut self, now: Instant, error: &IcmpError<'_>) {
        if matches!(error.quoted_protocol, ip_proto::UDP | ip_proto::UDPLITE) {
            self.udp.icmp_error(now, error);
        }
    }
}

impl Stack {
    pub fn new(config: StackConfig) -> Stack {
        Stack {
            ip: Ipv4Layer::new(&config),
            udp: UdpLayer::new(&config),
            generation: 0,
        }
    }

    // ----- driver side -------------------------------------------------------------------

    /// One Ethernet frame from the wire. Malformed frames are counted and dropped.
    pub fn handle_frame(&mut self, now: Instant, frame: &[u8], meta: RxMeta) {
        let mut upper = Upper { udp: &mut self.udp };
        if self.ip.handle_frame(now, frame, meta, &mut upper) {
            self.generation += 1;
        }
    }

    /// The next frame to put on the wire, if any.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.ip.poll_transmit(now)
    }

    /// When `handle_timeout` must next be called (None: no timer pending).
    pub fn poll_at(&self) -> Option<Instant> {
        self.ip.poll_at()
    }

    /// Run expired timers (ARP retries and expiry, ...).
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut upper = Upper { udp: &mut self.udp };
        if self.ip.handle_timeout(now, &mut upper) {
            self.generation += 1;
        }
    }

    /// Changes whenever any socket's readiness may have changed.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Drop counters by reason, for the exit log and tests.
    pub fn counters(&self) -> Counters {
        Counters {
            ip: self.ip.counters(),
            udp: self.udp.counters(),
        }
    }

    /// Datagrams sent to our own addresses are delivered right away, inside the same call, as
    /// the kernel's loopback xmit + softirq does before the syscall returns.
    fn run_loopback(&mut self, now: Instant) {
        let mut upper = Upper { udp: &mut self.udp };
        if self.ip.run_loopback(now, &mut upper) {
            self.generation += 1;
        }
    }

    // ----- socket side -------------------------------------------------------------------

    /// socket(AF_INET, ty, protocol). `ty` has SOCK_NONBLOCK/SOCK_CLOEXEC already removed.
    /// Every check of inet_create answers with the kernel's errno (`inet_create.rs`); a socket
    /// the kernel would create but the stack does not serve yet is refused with the errno the
    /// kernel gives when no protocol switch entry matches, so programs fall back as they would
    /// on a kernel without that protocol:
    /// - TCP and MPTCP (SOCK_STREAM; TCP is issue #5): ESOCKTNOSUPPORT;
    /// - raw sockets of a caller with CAP_NET_RAW: ESOCKTNOSUPPORT;
    /// - ping sockets of a caller inside net.ipv4.ping_group_range: EPROTONOSUPPORT;
    /// - SOCK_PACKET with CAP_NET_RAW (a packet socket, not an inet one): ESOCKTNOSUPPORT.
    pub fn socket(
        &mut self,
        ty: i32,
        protocol: i32,
        creds: Credentials,
    ) -> Result<SocketId, Errno> {
        match inet_create(ty, protocol, &creds)? {
            InetProtocol::Udp => self.udp.socket(ip_proto::UDP, creds),
            InetProtocol::UdpLite => self.udp.socket(ip_proto::UDPLITE, creds),
            InetProtocol::Ping => Err(Errno::EPROTONOSUPPORT),
            InetProtocol::Tcp | InetProtocol::Mptcp | InetProtocol::Raw => {
                Err(Errno::ESOCKTNOSUPPORT)
            }
        }
    }

    pub fn close(&mut self, now: Instant, id: SocketId) {
        self.udp.close(now, id);
        self.generation += 1;
    }

    pub fn bind(&mut self, id: SocketId, addr: &[u8]) -> Result<(), Errno> {
        self.udp.bind(&self.ip, id, addr)
    }

    pub fn connect(&mut self, now: Instant, id: SocketId, addr: &[u8]) -> Result<(), Errno> {
        let result = self.udp.connect(now, &self.ip, id, addr);
        self.generation += 1;
        result
    }

    /// listen(2): UDP sockets answer EOPNOTSUPP (inet_listen on a non-stream socket).
    pub fn listen(&mut self, id: SocketId, _backlog: i32) -> Result<(), Errno> {
        self.udp.check(id)?;
        Err(Errno::EOPNOTSUPP)
    }

    /// accept(2): EOPNOTSUPP on datagram sockets (sock_no_accept).
    pub fn accept(&mut self, id: SocketId) -> Result<SocketId, Errno> {
        self.udp.check(id)?;
        Err(Errno::EOPNOTSUPP)
    }

    pub fn send(&mut self, now: Instant, id: SocketId, args: SendArgs<'_>) -> Result<usize, Errno> {
        let result = self.udp.send(now, &mut self.ip, id, args);
        self.run_loopback(now);
        result
    }

    /// A send whose payload the shim could not copy from the program (a bad iovec or buffer):
    /// `args.data` is any buffer of the payload's length (only its length is used; zeros
    /// will do, capped at 65536 bytes: every longer payload is EMSGSIZE). The kernel copies
    /// the payload last, so its other checks decide first (a pending error, EPIPE,
    /// EMSGSIZE, EDESTADDRREQ, ...); EFAULT otherwise, and nothing is sent.
    pub fn send_unreadable(
        &mut self,
        now: Instant,
        id: SocketId,
        args: SendArgs<'_>,
    ) -> Result<usize, Errno> {
        self.udp.send_unreadable(now, &mut self.ip, id, args)
    }

    /// Receive into `buf` (`args.capacity` bytes). EAGAIN when nothing is queued: the shim
    /// decides whether to block.
    pub fn recv(
        &mut self,
        now: Instant,
        id: SocketId,
        args: RecvArgs,
        buf: &mut [u8],
    ) -> Result<RecvResult, Errno> {
        let result = self.udp.recv(now, id, args, buf);
        if result.is_ok() {
            self.generation += 1;
        }
        result
    }

    pub fn shutdown(&mut self, id: SocketId, how: Shutdown) -> Result<(), Errno> {
        let result = self.udp.shutdown(id, how);
        self.generation += 1;
        result
    }

    pub fn local_addr(&self, id: SocketId) -> Result<SocketAddrV4, Errno> {
        self.udp.local_addr(id)
    }

    pub fn peer_addr(&self, id: SocketId) -> Result<SocketAddrV4, Errno> {
        self.udp.peer_addr(id)
    }

    /// Readiness as Linux poll bits (`socket::poll_bits`).
    pub fn poll(&self, id: SocketId) -> u32 {
        self.udp.poll(id)
    }

    /// Count of wakeup-worthy events on this socket (sk_data_ready, sk_error_report, state
    /// changes); edge-triggered epoll reports an edge when it moved.
    pub fn activity(&self, id: SocketId) -> u64 {
        self.udp.activity(id)
    }

    /// The same wakeups by poll key, for edge-triggered epoll's key filter: an item listening
    /// only for EPOLLIN is not re-queued by a send's write-space wakeup.
    pub fn wakeups(&self, id: SocketId) -> WakeupCounts {
        self.udp.wakeups(id)
    }

    /// Set sk_err without a wakeup (the next receive, send or SO_ERROR reports it): recvmmsg
    /// keeps the error that ended a batch after at least one datagram (do_recvmmsg), unless
    /// it is EAGAIN. EBADF for a stale id.
    pub fn set_pending_error(&mut self, id: SocketId, errno: Errno) -> Result<(), Errno> {
        let result = self.udp.set_pending_error(id, errno);
        self.generation += 1;
        result
    }

    /// setsockopt. `now` serves UDP_CORK: clearing it sends the pending datagram (delivered
    /// at once when it goes to one of our own addresses).
    pub fn setsockopt(
        &mut self,
        now: Instant,
        id: SocketId,
        level: i32,
        name: i32,
        value: &[u8],
    ) -> Result<(), Errno> {
        let result = self
            .udp
            .setsockopt(now, &mut self.ip, id, level, name, value);
        self.run_loopback(now);
        self.generation += 1;
        result
    }

    /// setsockopt whose value the shim could not read (`optlen` bytes at a bad address): the
    /// kernel answers with the checks it makes before copying (EINVAL for a short SOL_SOCKET
    /// value, EOPNOTSUPP for the multicast routing names, ENOPROTOOPT for unknown levels, ...)
    /// and EFAULT only where it copies; an option it reads nothing of (optlen 0) proceeds.
    pub fn setsockopt_unreadable(
        &mut self,
        id: SocketId,
        level: i32,
        name: i32,
        optlen: usize,
    ) -> Result<(), Errno> {
        self.udp
            .setsockopt_unreadable(&self.ip, id, level, name, optlen)
    }

    /// getsockopt: returns the bytes to copy out, already sized as the kernel sizes them for
    /// a caller that offered `optlen` bytes (the shim copies them and writes back the length).
    pub fn getsockopt(
        &self,
        id: SocketId,
        level: i32,
        name: i32,
        optlen: usize,
    ) -> Result<Vec<u8>, Errno> {
        self.udp.getsockopt(&self.ip, id, level, name, optlen)
    }

    /// Socket ioctls (FIONREAD/SIOCINQ, SIOCOUTQ, SIOCGSTAMP, SIOCGSTAMPNS): returns the bytes
    /// the kernel would write to the argument. `wall_now` is the current CLOCK_REALTIME time:
    /// sock_gettstamp answers it when the last datagram read recorded no time.
    pub fn ioctl(
        &mut self,
        id: SocketId,
        request: u64,
        wall_now: WallTime,
    ) -> Result<Vec<u8>, Errno> {
        self.udp.ioctl(id, request, wall_now)
    }

    /// SO_RCVTIMEO / SO_SNDTIMEO for the shim's blocking loop (None: wait forever).
    pub fn timeouts(
        &self,
        id: SocketId,
    ) -> Result<(Option<core::time::Duration>, Option<core::time::Duration>), Errno> {
        self.udp.timeouts(id)
    }
}
