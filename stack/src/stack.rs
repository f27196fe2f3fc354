//! The public face of the stack: one `Stack` value owns every layer and every socket.
//! Sans-IO: frames go in through `handle_frame`, come out of `poll_transmit`; time comes in as
//! `now`; nothing here reads a clock or makes a syscall.

use core::net::SocketAddrV4;

use crate::config::{Credentials, StackConfig};
use crate::counters::Counters;
use crate::errno::Errno;
use crate::inet_create::{inet_create, InetProtocol};
use crate::ipv4::{InboundDatagram, Ipv4Layer};
use crate::raw::{is_raw_id, RawLayer};
use crate::socket::{RecvArgs, RecvResult, RxMeta, SendArgs, Shutdown, SocketId, WakeupCounts};
use crate::tcp::{is_tcp_id, TcpLayer};
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
    /// TCP sockets; their ids are >= 0x8000_0000 (`is_tcp_id`), so every call dispatches by id.
    tcp: TcpLayer,
    /// Raw and ping sockets; their ids are 0x4000_0000..0x8000_0000 (`is_raw_id`). (R)
    raw: RawLayer,
    /// Bumped whenever any socket's readiness may have changed, so waiters know to look again.
    generation: u64,
    /// The sockets whose owners the shim signals, and their events in order (async_watch.rs).
    async_watch: crate::async_watch::AsyncWatch,
}

/// The transports, as the network layer sees them when it delivers.
struct Upper<'a> {
    udp: &'a mut UdpLayer,
    tcp: &'a mut TcpLayer,
    raw: &'a mut RawLayer,
    async_watch: &'a mut crate::async_watch::AsyncWatch,
}

impl Upper<'_> {
    /// After each datagram or ICMP error: the watched sockets' new events, in order.
    fn observe_async(&mut self) {
        if !self.async_watch.is_empty() {
            let (tcp, udp) = (&*self.tcp, &*self.udp);
            self.async_watch.observe(|id| async_counters(tcp, udp, id));
        }
    }
}

/// What `AsyncWatch` compares: new urgent pointers and sk_wake_async calls.
fn async_counters(
    tcp: &TcpLayer,
    udp: &UdpLayer,
    id: SocketId,
) -> (u64, crate::socket::AsyncNotices) {
    if is_tcp_id(id) {
        (tcp.urgent_signals(id), tcp.async_notices(id))
    } else if is_raw_id(id) {
        (0, Default::default())
    } else {
        (0, udp.async_notices(id))
    }
}

impl Transports for Upper<'_> {
    fn deliver(&mut self, now: Instant, datagram: &InboundDatagram<'_>) -> Delivery {
        let delivery = match datagram.protocol {
            ip_proto::UDP | ip_proto::UDPLITE => self.udp.deliver(now, datagram),
            ip_proto::TCP => self.tcp.deliver(now, datagram),
            _ => Delivery::ProtocolUnreachable,
        };
        self.observe_async();
        delivery
    }

    fn icmp_error(&mut self, now: Instant, error: &IcmpError<'_>) {
        // icmp_socket_deliver: raw_icmp_error first, then the protocol's err handler
        // (ping_err for ICMP).
        self.raw.icmp_error(error);
        match error.quoted_protocol {
            ip_proto::UDP | ip_proto::UDPLITE => self.udp.icmp_error(now, error),
            ip_proto::TCP => self.tcp.icmp_error(now, error),
            _ => {}
        }
        self.observe_async();
    }

    fn accepts_path_mtu(&mut self, error: &IcmpError<'_>) -> bool {
        match error.quoted_protocol {
            // raw_err updates the path MTU for a raw socket of the quoted protocol too.
            ip_proto::UDP | ip_proto::UDPLITE => {
                self.raw.finds_error_socket(error) | self.udp.accepts_path_mtu(error)
            }
            // tcp_v4_err → tcp_v4_mtu_reduced → inet_csk_update_pmtu for the socket found;
            // TCP sockets are always IP_PMTUDISC_WANT here (the stack's default).
            ip_proto::TCP => true,
            // icmp_err: an error quoting one of our echo replies updates the path MTU
            // (ipv4_update_pmtu); any other goes to ping_err, which does so for the ping
            // socket it finds; raw_err for the raw sockets it finds.
            ip_proto::ICMP => {
                const ICMP_ECHOREPLY: u8 = 0;
                error.quoted_payload.first() == Some(&ICMP_ECHOREPLY)
                    || self.raw.finds_error_socket(error)
            }
            // raw_err updates the path MTU for any raw socket it finds.
            _ => self.raw.finds_error_socket(error),
        }
    }

    fn raw_deliver(&mut self, _now: Instant, datagram: &InboundDatagram<'_>) -> bool {
        self.raw.raw_deliver(datagram)
    }

    fn ping_reply(&mut self, _now: Instant, datagram: &InboundDatagram<'_>) -> bool {
        self.raw.ping_reply(datagram)
    }
}

impl Stack {
    pub fn new(config: StackConfig) -> Stack {
        Stack {
            ip: Ipv4Layer::new(&config),
            udp: UdpLayer::new(&config),
            tcp: TcpLayer::new(&config),
            raw: RawLayer::new(&config),
            generation: 0,
            async_watch: Default::default(),
        }
    }

    // ----- driver side -------------------------------------------------------------------

    /// One Ethernet frame from the wire. Malformed frames are counted and dropped.
    pub fn handle_frame(&mut self, now: Instant, frame: &[u8], meta: RxMeta) {
        let mut upper = Upper {
            udp: &mut self.udp,
            tcp: &mut self.tcp,
            raw: &mut self.raw,
            async_watch: &mut self.async_watch,
        };
        if self.ip.handle_frame(now, frame, meta, &mut upper) {
            self.generation += 1;
        }
        // Segments TCP answered with (ACKs, resets, data the window opened for).
        self.flush_tcp(now);
    }

    /// What CLOCK_REALTIME reads at `now`: looped-back datagrams are stamped from it
    /// (SO_TIMESTAMP and friends); the driver stamps the frames it hands in itself.
    pub fn set_wall_clock(&mut self, now: Instant, wall: WallTime) {
        self.ip.set_wall_clock(now, wall);
    }

    /// The next frame to put on the wire, if any.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.ip.poll_transmit(now)
    }

    /// When `handle_timeout` must next be called (None: no timer pending).
    pub fn poll_at(&self) -> Option<Instant> {
        match (self.ip.poll_at(), self.tcp.poll_at()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Tells the stack the time without running anything: getsockopt takes no `now`, and
    /// TCP_INFO's "ms since the last ..." fields and TCP_TIMESTAMP read the latest time an
    /// entry point brought. The driver calls this whenever it reads its clock. (Added by N.)
    pub fn observe_time(&mut self, now: Instant) {
        self.tcp.observe_time(now);
    }

    /// Run expired timers (ARP retries and expiry, ...).
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut upper = Upper {
            udp: &mut self.udp,
            tcp: &mut self.tcp,
            raw: &mut self.raw,
            async_watch: &mut self.async_watch,
        };
        if self.ip.handle_timeout(now, &mut upper) {
            self.generation += 1;
        }
        if self.tcp.poll_at().is_some_and(|at| at <= now) {
            // A retransmission, a keepalive, a TIME_WAIT expiry or a connection that timed
            // out: any of them may change a socket's readiness.
            self.tcp.handle_timeout(now);
            self.generation += 1;
        }
        self.flush_tcp(now);
    }

    /// The process is exiting: the kernel would close each of its sockets (leaving their
    /// groups) and keep running the IGMP timers; the stack goes with the process, so the
    /// state-change report those leaves schedule is sent now (its retransmissions cannot be).
    pub fn process_exit(&mut self, now: Instant) {
        let changes = self.udp.drop_all_memberships();
        self.ip.apply_multicast_changes(now, &changes);
        let changes = self.tcp.drop_all_memberships();
        self.ip.apply_multicast_changes(now, &changes);
        self.ip.flush_igmp(now);
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
            igmp: self.ip.igmp_counters(),
            tcp: self.tcp.counters(),
        }
    }

    /// Datagrams sent to our own addresses are delivered right away, inside the same call, as
    /// the kernel's loopback xmit + softirq does before the syscall returns.
    fn run_loopback(&mut self, now: Instant) {
        let mut upper = Upper {
            udp: &mut self.udp,
            tcp: &mut self.tcp,
            raw: &mut self.raw,
            async_watch: &mut self.async_watch,
        };
        if self.ip.run_loopback(now, &mut upper) {
            self.generation += 1;
        }
    }

    /// Hands TCP's queued segments to IPv4 (ip_queue_xmit), then delivers what went to our
    /// own addresses; the answers those provoke (a SYN-ACK, an ACK, more data) go out in the
    /// same call, as the kernel's loopback softirq runs them before the syscall returns. The
    /// exchange ends when a round delivers nothing; bounded so a bug cannot spin forever.
    fn flush_tcp(&mut self, now: Instant) {
        const MAX_ROUNDS: usize = 4096;
        for _ in 0..MAX_ROUNDS {
            self.tcp.transmit_queued(now, &mut self.ip);
            let mut upper = Upper {
                udp: &mut self.udp,
                tcp: &mut self.tcp,
                raw: &mut self.raw,
                async_watch: &mut self.async_watch,
            };
            if !self.ip.run_loopback(now, &mut upper) {
                break;
            }
            self.generation += 1;
        }
        self.tcp.transmit_queued(now, &mut self.ip);
    }

    // ----- socket side -------------------------------------------------------------------

    /// socket(AF_INET, ty, protocol). `ty` has SOCK_NONBLOCK/SOCK_CLOEXEC already removed.
    /// Every check of inet_create answers with the kernel's errno (`inet_create.rs`); a socket
    /// the kernel would create but the stack does not serve yet is refused with the errno the
    /// kernel gives when no protocol switch entry matches, so programs fall back as they would
    /// on a kernel without that protocol:
    /// - MPTCP (SOCK_STREAM, IPPROTO_MPTCP): ESOCKTNOSUPPORT;
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
            InetProtocol::Ping => Ok(self.raw.socket(true, ip_proto::ICMP, creds)),
            InetProtocol::Tcp => Ok(self.tcp.socket(creds)),
            // inet_create checked 1..=255 (0 has no raw switch entry).
            InetProtocol::Raw => {
                let protocol = u8::try_from(protocol).map_err(|_| Errno::EPROTONOSUPPORT)?;
                Ok(self.raw.socket(false, protocol, creds))
            }
            InetProtocol::Mptcp => Err(Errno::ESOCKTNOSUPPORT),
        }
    }

    pub fn close(&mut self, now: Instant, id: SocketId) {
        if is_tcp_id(id) {
            // ip_mc_drop_socket (inet_release), then tcp_close: a FIN (or a reset, with
            // unread data or SO_LINGER 0); the connection lives on as an orphan until done.
            let changes = self.tcp.drop_memberships(id);
            self.ip.apply_multicast_changes(now, &changes);
            self.tcp.close(now, id);
            self.flush_tcp(now);
            self.generation += 1;
            return;
        }
        if is_raw_id(id) {
            self.raw.close(id);
            self.generation += 1;
            return;
        }
        // ip_mc_drop_socket (inet_release) before the socket goes.
        let changes = self.udp.drop_memberships(id);
        self.ip.apply_multicast_changes(now, &changes);
        self.udp.close(now, id);
        self.generation += 1;
    }

    pub fn bind(&mut self, id: SocketId, addr: &[u8]) -> Result<(), Errno> {
        if is_tcp_id(id) {
            return self.tcp.bind(&self.ip, id, addr);
        }
        if is_raw_id(id) {
            return self.raw.bind(&self.ip, id, addr);
        }
        self.udp.bind(&self.ip, id, addr)
    }

    /// connect(2). TCP: a new connection answers EINPROGRESS once its SYN is out (the shim
    /// waits for `connecting` to end and calls again for the result, as
    /// __inet_stream_connect's wait does); to our own address the handshake completes inside
    /// this call.
    pub fn connect(&mut self, now: Instant, id: SocketId, addr: &[u8]) -> Result<(), Errno> {
        let result = if is_tcp_id(id) {
            let result = self.tcp.connect(now, &self.ip, id, addr);
            self.flush_tcp(now);
            result
        } else if is_raw_id(id) {
            self.raw.connect(&self.ip, id, addr)
        } else {
            self.udp.connect(now, &self.ip, id, addr)
        };
        self.generation += 1;
        result
    }

    /// After a blocking Fast Open send waited for the handshake (`connecting` ended): its
    /// result as __inet_stream_connect reports it (0, or the error that ended it).
    pub fn tcp_connect_result(&mut self, id: SocketId) -> Result<(), Errno> {
        let result = self.tcp.fast_open_connect_result(id);
        self.generation += 1;
        result
    }

    /// Whether a TCP connect() is still in its handshake (a blocking connect waits while
    /// this holds). False for UDP and stale ids.
    pub fn connecting(&self, id: SocketId) -> bool {
        is_tcp_id(id) && self.tcp.connecting(id)
    }

    /// listen(2): UDP sockets answer EOPNOTSUPP (inet_listen on a non-stream socket).
    pub fn listen(&mut self, id: SocketId, backlog: i32) -> Result<(), Errno> {
        if is_tcp_id(id) {
            let result = self.tcp.listen(id, backlog);
            self.generation += 1;
            return result;
        }
        if is_raw_id(id) {
            self.raw.check(id)?;
            return Err(Errno::EOPNOTSUPP);
        }
        self.udp.check(id)?;
        Err(Errno::EOPNOTSUPP)
    }

    /// accept(2): the new socket and its peer's address; EAGAIN when no connection is
    /// ready (the shim blocks). EOPNOTSUPP on datagram sockets (sock_no_accept).
    pub fn accept(&mut self, id: SocketId) -> Result<(SocketId, SocketAddrV4), Errno> {
        if is_tcp_id(id) {
            let result = self.tcp.accept(id);
            if result.is_ok() {
                self.generation += 1;
            }
            return result;
        }
        if is_raw_id(id) {
            self.raw.check(id)?;
            return Err(Errno::EOPNOTSUPP);
        }
        self.udp.check(id)?;
        Err(Errno::EOPNOTSUPP)
    }

    /// send. TCP: the bytes the send buffer took (a partial count when it filled), EAGAIN
    /// when it took none, EPIPE after shutdown(SHUT_WR) or the connection's end (the shim
    /// raises SIGPIPE unless MSG_NOSIGNAL).
    pub fn send(&mut self, now: Instant, id: SocketId, args: SendArgs<'_>) -> Result<usize, Errno> {
        if is_tcp_id(id) {
            // MSG_FASTOPEN and TCP_FASTOPEN_CONNECT's first write connect first (fastopen.rs).
            let result = self.tcp.send_or_fast_open(now, &self.ip, id, args);
            self.flush_tcp(now);
            self.generation += 1;
            return result;
        }
        if is_raw_id(id) {
            let result = self.raw.send(now, &mut self.ip, id, args);
            self.run_loopback(now);
            self.generation += 1;
            return result;
        }
        let result = self.udp.send(now, &mut self.ip, id, args);
        self.run_loopback(now);
        // A corked datagram sent or dropped frees its memory: sock_wfree's write space.
        self.udp.note_write_space(id);
        result
    }

    /// `send` for a later piece of one stream sendmsg the shim hands over in pieces: on
    /// TCP, the call's SO_TIMESTAMPING mark moves to the piece's last byte and its
    /// MSG_ZEROCOPY id covers the piece (tcp_sendmsg_locked marks and counts per call).
    pub fn send_continuing(
        &mut self,
        now: Instant,
        id: SocketId,
        args: SendArgs<'_>,
    ) -> Result<usize, Errno> {
        self.tcp.set_send_continuing(id, true);
        let result = self.send(now, id, args);
        self.tcp.set_send_continuing(id, false);
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
        if is_tcp_id(id) {
            // tcp_sendmsg copies as it goes: the checks before the copy decide first (a
            // pending error, EPIPE, a full buffer), then the copy faults with nothing sent.
            return self.tcp_send_unreadable(now, id, args);
        }
        if is_raw_id(id) {
            // raw_sendmsg / ping_v4_sendmsg: their checks, then EFAULT at the copy.
            return self.raw.send_unreadable(now, &mut self.ip, id, args);
        }
        let result = self.udp.send_unreadable(now, &mut self.ip, id, args);
        // The failed copy flushes what was corked (ip_flush_pending_frames).
        self.udp.note_write_space(id);
        result
    }

    /// tcp_sendmsg_locked's checks before its first copy, for a payload the shim could not
    /// read: what `TcpLayer::send` would refuse is refused the same way; otherwise EFAULT.
    fn tcp_send_unreadable(
        &mut self,
        now: Instant,
        id: SocketId,
        args: SendArgs<'_>,
    ) -> Result<usize, Errno> {
        use crate::socket::poll_bits::{POLLERR, POLLOUT};
        self.tcp.check(id)?;
        if args.data.is_empty() {
            return Ok(0);
        }
        let mask = self.tcp.poll(id);
        if mask & POLLERR != 0 || self.tcp.peer_addr(id).is_err() {
            // The real send reports the error (or EPIPE/ENOTCONN) exactly; an empty send
            // runs the same checks without taking any byte.
            let probe = SendArgs { data: &[], ..args };
            return self.tcp.send(now, id, probe).and(Err(Errno::EFAULT));
        }
        if mask & POLLOUT == 0 {
            return Err(Errno::EAGAIN);
        }
        Err(Errno::EFAULT)
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
        if is_tcp_id(id) {
            if args.flags & crate::socket::msg_flags::MSG_ERRQUEUE != 0 {
                // tcp_recvmsg → inet_recv_error → ip_recv_error (IP_RECVERR entries of
                // the handshake; EAGAIN when there are none).
                let result = self.tcp.receive_error(id, args, buf);
                if result.is_ok() {
                    self.generation += 1;
                }
                return result;
            }
            let result = self.tcp.recv(now, id, args, buf);
            // Reading may open the window: the update goes out now.
            self.flush_tcp(now);
            if result.is_ok() {
                self.generation += 1;
            }
            return result;
        }
        if is_raw_id(id) {
            let result = self.raw.recv(now, id, args, buf);
            if result.is_ok() {
                self.generation += 1;
            }
            return result;
        }
        let result = self.udp.recv(now, id, args, buf);
        if result.is_ok() {
            self.generation += 1;
        }
        result
    }

    /// TCP: what a read that already copied bytes may still take (tcp/read_ahead.rs): the
    /// shim copies a large read in pieces and asks before each further piece.
    pub fn tcp_read_ahead(&self, id: SocketId) -> crate::tcp::ReadAhead {
        self.tcp.read_ahead(id)
    }

    /// TCP: the bytes a MSG_PEEK shows from `offset` on, copied into `buf`, without side
    /// effects (the pieces after the first of a large peek; tcp/read_ahead.rs).
    pub fn tcp_peek_from(&self, id: SocketId, offset: usize, buf: &mut [u8]) -> usize {
        self.tcp.peek_from(id, offset, buf)
    }

    /// TCP: the bytes a read would take next, copied into `buf` before the read takes them
    /// (the shim copies first so that a fault leaves them queued). 0 when a read must not
    /// copy anything: in repair mode tcp_recvmsg_locked answers EPERM without touching the
    /// buffer, and the recv that follows says so.
    pub fn tcp_copy_for_read(&self, id: SocketId, buf: &mut [u8]) -> usize {
        if self.tcp.in_repair(id) {
            return 0;
        }
        self.tcp.peek_from(id, 0, buf)
    }

    pub fn shutdown(&mut self, now: Instant, id: SocketId, how: Shutdown) -> Result<(), Errno> {
        if is_tcp_id(id) {
            let result = self.tcp.shutdown(now, id, how);
            self.flush_tcp(now);
            self.generation += 1;
            return result;
        }
        if is_raw_id(id) {
            let result = self.raw.shutdown(id, how);
            self.generation += 1;
            return result;
        }
        let result = self.udp.shutdown(id, how);
        self.generation += 1;
        result
    }

    pub fn local_addr(&self, id: SocketId) -> Result<SocketAddrV4, Errno> {
        if is_tcp_id(id) {
            return self.tcp.local_addr(id);
        }
        if is_raw_id(id) {
            return self.raw.local_addr(id);
        }
        self.udp.local_addr(id)
    }

    pub fn peer_addr(&self, id: SocketId) -> Result<SocketAddrV4, Errno> {
        if is_tcp_id(id) {
            return self.tcp.peer_addr(id);
        }
        if is_raw_id(id) {
            return self.raw.peer_addr(id);
        }
        self.udp.peer_addr(id)
    }

    /// Readiness as Linux poll bits (`socket::poll_bits`).
    pub fn poll(&self, id: SocketId) -> u32 {
        if is_tcp_id(id) {
            return self.tcp.poll(id);
        }
        if is_raw_id(id) {
            return self.raw.poll(id);
        }
        self.udp.poll(id)
    }

    /// Readiness as poll, select and epoll see it (the socket's ->poll called for the
    /// program): like `poll`, and a TCP socket found unwritable arms its O_ASYNC write-space
    /// signal as tcp_poll does (`tcp::notify`).
    pub fn poll_from_user(&mut self, id: SocketId) -> u32 {
        if is_tcp_id(id) {
            return self.tcp.poll_from_user(id);
        }
        if is_raw_id(id) {
            return self.raw.poll(id);
        }
        self.udp.poll_from_user(id)
    }

    /// Count of wakeup-worthy events on this socket (sk_data_ready, sk_error_report, state
    /// changes); edge-triggered epoll reports an edge when it moved.
    pub fn activity(&self, id: SocketId) -> u64 {
        if is_tcp_id(id) {
            return self.tcp.wakeups(id).total();
        }
        if is_raw_id(id) {
            return self.raw.wakeups(id).total();
        }
        self.udp.activity(id)
    }

    /// New urgent pointers received on a TCP socket so far (tcp_check_urg → sk_send_sigurg):
    /// the shim sends SIGURG to the socket's owner for each. 0 for other sockets.
    pub fn urgent_signals(&self, id: SocketId) -> u64 {
        if is_tcp_id(id) {
            return self.tcp.urgent_signals(id);
        }
        0
    }

    /// Starts logging the events the owner of `id` must be signalled for (the shim watches
    /// a socket once F_SETOWN, F_SETSIG or O_ASYNC is set on it).
    pub fn watch_async(&mut self, id: SocketId) {
        let (urgent, notices) = async_counters(&self.tcp, &self.udp, id);
        self.async_watch.watch(id, urgent, notices);
    }

    /// Stops watching `id` (its last descriptor is closed).
    pub fn unwatch_async(&mut self, id: SocketId) {
        self.async_watch.unwatch(id);
    }

    /// The watched sockets' events since the last call, in the order the kernel would have
    /// sent their signals (events made by calls and timers come after those of datagrams).
    pub fn take_async_events(&mut self) -> Vec<crate::async_watch::AsyncEvent> {
        if self.async_watch.is_empty() {
            return Vec::new();
        }
        let (tcp, udp) = (&self.tcp, &self.udp);
        self.async_watch.observe(|id| async_counters(tcp, udp, id));
        self.async_watch.take()
    }

    /// The sk_wake_async calls a socket made so far, by POLL_* reason: the shim sends the
    /// O_ASYNC signal for new ones. Raw and ping sockets make none here.
    pub fn async_notices(&self, id: SocketId) -> crate::socket::AsyncNotices {
        if is_tcp_id(id) {
            return self.tcp.async_notices(id);
        }
        if is_raw_id(id) {
            return crate::socket::AsyncNotices::default();
        }
        self.udp.async_notices(id)
    }

    /// The same wakeups by poll key, for edge-triggered epoll's key filter: an item listening
    /// only for EPOLLIN is not re-queued by a send's write-space wakeup.
    pub fn wakeups(&self, id: SocketId) -> WakeupCounts {
        if is_tcp_id(id) {
            return self.tcp.wakeups(id);
        }
        if is_raw_id(id) {
            return self.raw.wakeups(id);
        }
        self.udp.wakeups(id)
    }

    /// Set sk_err without a wakeup (the next receive, send or SO_ERROR reports it): recvmmsg
    /// keeps the error that ended a batch after at least one datagram (do_recvmmsg), unless
    /// it is EAGAIN. EBADF for a stale id.
    pub fn set_pending_error(&mut self, id: SocketId, errno: Errno) -> Result<(), Errno> {
        let result = if is_tcp_id(id) {
            self.tcp.set_pending_error(id, errno)
        } else if is_raw_id(id) {
            self.raw.set_pending_error(id, errno)
        } else {
            self.udp.set_pending_error(id, errno)
        };
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
        if is_tcp_id(id) {
            // TCP_NODELAY, TCP_CORK off, SO_KEEPALIVE... may send at once.
            let result = self.tcp.setsockopt(now, &self.ip, id, level, name, value);
            // What a source membership did to the interface's groups (IGMP reports follow).
            let changes = self.tcp.take_multicast_changes(id);
            self.ip.apply_multicast_changes(now, &changes);
            self.flush_tcp(now);
            self.generation += 1;
            return result;
        }
        if is_raw_id(id) {
            let result = self.raw.setsockopt(&self.ip, id, level, name, value);
            self.generation += 1;
            return result;
        }
        let result = self
            .udp
            .setsockopt(now, &mut self.ip, id, level, name, value);
        // What a membership option did to the interface's groups (IGMP reports follow).
        let changes = self.udp.take_multicast_changes(id);
        self.ip.apply_multicast_changes(now, &changes);
        self.run_loopback(now);
        // UDP_CORK cleared sends the corked datagram; a larger SO_SNDBUF calls
        // sk_write_space too.
        self.udp.note_write_space(id);
        self.generation += 1;
        result
    }

    /// The privileges of the thread about to call setsockopt on `id`: the kernel judges
    /// each call by the caller's capabilities, not the socket creator's. TCP sockets only
    /// (`tcp::credentials`); UDP and raw sockets keep the creator's.
    pub fn set_caller_credentials(
        &mut self,
        id: SocketId,
        creds: crate::config::Credentials,
    ) -> Result<(), Errno> {
        if is_tcp_id(id) {
            return self.tcp.set_caller_credentials(id, creds);
        }
        Ok(())
    }

    /// Where the instructions of a SO_ATTACH_FILTER / SO_ATTACH_REUSEPORT_CBPF value (a
    /// struct sock_fprog) are in the caller's memory: (address, bytes) when the kernel would
    /// copy them; None for every other call. The shim copies them and calls
    /// `setsockopt_with_program`.
    pub fn setsockopt_program_location(
        level: i32,
        name: i32,
        value: &[u8],
    ) -> Option<(u64, usize)> {
        crate::sockopt::socket_structured::program_location(level, name, value)
    }

    /// setsockopt of a classic socket filter with the instructions the shim copied from the
    /// location `setsockopt_program_location` gave (None: the copy faulted, EFAULT).
    pub fn setsockopt_with_program(
        &mut self,
        now: Instant,
        id: SocketId,
        level: i32,
        name: i32,
        value: &[u8],
        program: Option<&[u8]>,
    ) -> Result<(), Errno> {
        // TCP listeners run reuseport programs (tcp/reuseport.rs); other TCP filters take
        // the ordinary path (no filter runs on TCP yet: socket_structured refuses a program
        // it was not handed, EINVAL).
        if is_tcp_id(id)
            && name == crate::sockopt::names::socket_more::SO_ATTACH_REUSEPORT_CBPF
            && Self::setsockopt_program_location(level, name, value).is_some()
        {
            let copy = match program {
                Some(bytes) => crate::sockopt::socket_structured::ProgramCopy::Read(bytes),
                None => crate::sockopt::socket_structured::ProgramCopy::Fault,
            };
            let result = self.tcp.attach_reuseport_program(id, name, value, copy);
            self.generation += 1;
            return result;
        }
        if is_tcp_id(id)
            || is_raw_id(id)
            || Self::setsockopt_program_location(level, name, value).is_none()
        {
            return self.setsockopt(now, id, level, name, value);
        }
        let copy = match program {
            Some(bytes) => crate::sockopt::socket_structured::ProgramCopy::Read(bytes),
            None => crate::sockopt::socket_structured::ProgramCopy::Fault,
        };
        let result = self.udp.attach_program(id, name, value, copy);
        self.generation += 1;
        result
    }

    /// getsockopt(SO_GET_FILTER): (bytes to copy out, length to write back), which differ:
    /// sk_get_filter reports the instruction count and copies 8 bytes per instruction.
    pub fn get_socket_filter(
        &self,
        id: SocketId,
        optlen: usize,
    ) -> Result<(Vec<u8>, usize), Errno> {
        if is_tcp_id(id) {
            // No filter is ever attached to a TCP socket here: sk_get_filter's "none".
            return Ok((Vec::new(), 0));
        }
        if is_raw_id(id) {
            self.raw.check(id)?;
            return Ok((Vec::new(), 0));
        }
        self.udp.socket_filter(id, optlen)
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
        if is_tcp_id(id) {
            return self.tcp_setsockopt_unreadable(id, level, name, optlen);
        }
        if is_raw_id(id) {
            self.raw.check(id)?;
            return Err(Errno::EFAULT);
        }
        self.udp
            .setsockopt_unreadable(&self.ip, id, level, name, optlen)
    }

    /// For TCP: an unknown level is ENOPROTOOPT and an option that reads nothing proceeds
    /// (as above); sock_setsockopt and do_tcp_setsockopt refuse a value shorter than an int
    /// (EINVAL) before copying, which a zero-filled value of that length reproduces without
    /// changing anything; everything else faults in the copy.
    fn tcp_setsockopt_unreadable(
        &mut self,
        id: SocketId,
        level: i32,
        name: i32,
        optlen: usize,
    ) -> Result<(), Errno> {
        const SOL_IP: i32 = 0;
        const SOL_SOCKET: i32 = 1;
        const SOL_TCP: i32 = 6;
        self.tcp.check(id)?;
        if !matches!(level, SOL_IP | SOL_SOCKET | SOL_TCP) {
            return Err(Errno::ENOPROTOOPT);
        }
        if optlen == 0 || (optlen < 4 && level != SOL_IP) {
            let zeros = [0u8; 4];
            return self
                .tcp
                .setsockopt(Instant::ZERO, &self.ip, id, level, name, &zeros[..optlen])
                .and(Err(Errno::EFAULT));
        }
        Err(Errno::EFAULT)
    }

    /// getsockopt: returns the bytes to copy out, already sized as the kernel sizes them for
    /// a caller that offered `optlen` bytes (the shim copies them and writes back the length).
    pub fn getsockopt(
        &mut self,
        id: SocketId,
        level: i32,
        name: i32,
        optlen: usize,
    ) -> Result<Vec<u8>, Errno> {
        if is_tcp_id(id) {
            const SOL_SOCKET: i32 = 1;
            const SO_ERROR: i32 = 4;
            let result = self.tcp.getsockopt(&self.ip, id, level, name, optlen);
            if (level, name) == (SOL_SOCKET, SO_ERROR) {
                // SO_ERROR consumes the pending error: POLLERR may have gone.
                self.generation += 1;
            }
            return result;
        }
        if is_raw_id(id) {
            let result = self.raw.getsockopt(&self.ip, id, level, name, optlen, None);
            self.generation += 1;
            return result;
        }
        self.udp.getsockopt(&self.ip, id, level, name, optlen)
    }

    /// How many bytes of the caller's buffer getsockopt(level, name) reads before answering
    /// (IP_MSFILTER and MCAST_MSFILTER: the header naming the group; 0 for the others). The
    /// shim then passes what it read to `getsockopt_with_value`.
    pub fn getsockopt_reads_value(level: i32, name: i32) -> usize {
        crate::sockopt::get_reads_value(level, name)
    }

    /// getsockopt of an option that reads the caller's buffer: `value` is what it held (None
    /// if it could not be read: the kernel's EFAULT, after its length check).
    pub fn getsockopt_with_value(
        &mut self,
        id: SocketId,
        level: i32,
        name: i32,
        value: Option<&[u8]>,
        optlen: usize,
    ) -> Result<Vec<u8>, Errno> {
        if is_tcp_id(id) {
            return self
                .tcp
                .getsockopt_with_value(&self.ip, id, level, name, optlen, value);
        }
        if is_raw_id(id) {
            return self
                .raw
                .getsockopt(&self.ip, id, level, name, optlen, value);
        }
        self.udp
            .getsockopt_with_value(&self.ip, id, level, name, optlen, value)
    }

    /// The interface the stack owns (the netdevice ioctls describe it).
    pub fn interface(&self) -> &crate::config::InterfaceConfig {
        self.ip.interface()
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
        if is_tcp_id(id) {
            // SIOCINQ, SIOCOUTQ, SIOCOUTQNSD, SIOCATMARK; SIOCGSTAMP* answer ENOENT.
            return self.tcp.ioctl(id, request);
        }
        if is_raw_id(id) {
            return self.raw.ioctl(id, request);
        }
        self.udp.ioctl(id, request, wall_now)
    }

    /// SO_RCVTIMEO / SO_SNDTIMEO for the shim's blocking loop (None: wait forever).
    pub fn timeouts(
        &self,
        id: SocketId,
    ) -> Result<(Option<core::time::Duration>, Option<core::time::Duration>), Errno> {
        if is_tcp_id(id) {
            return self.tcp.timeouts(id);
        }
        if is_raw_id(id) {
            return self.raw.timeouts(id);
        }
        self.udp.timeouts(id)
    }

    /// At process exit: tcp_close on every TCP socket the program still holds (the kernel
    /// closes an exiting process's descriptors). The driver then keeps running the stack
    /// while `tcp_unfinished` holds, so queued data and FINs still reach the peer.
    pub fn close_all_tcp(&mut self, now: Instant) {
        // Each close leaves the socket's groups first (ip_mc_drop_socket), whichever of this
        // and `process_exit` runs first.
        let changes = self.tcp.drop_all_memberships();
        self.ip.apply_multicast_changes(now, &changes);
        self.tcp.close_all(now);
        self.flush_tcp(now);
        self.generation += 1;
    }

    /// Some TCP connection still has data or a FIN the peer has not acknowledged.
    pub fn tcp_unfinished(&self) -> bool {
        self.tcp.unfinished()
    }

    /// After `close` of a TCP socket with SO_LINGER: whether its FIN is still unacknowledged
    /// (tcp_close's sk_stream_wait_close waits while this holds, up to the linger time).
    pub fn tcp_closing(&self, id: SocketId) -> bool {
        is_tcp_id(id) && self.tcp.lingering(id)
    }
}
