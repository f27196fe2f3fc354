//! The UDP layer's public face: the operations `Stack` calls, each delegating to the module
//! that copies the corresponding kernel function. Socket state lives in `table`, port
//! reservations in `ports` (one table per protocol, as UDP and UDP-Lite have separate
//! udp_tables).

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;

use crate::config::{Credentials, StackConfig, Sysctls};
use crate::errno::Errno;
use crate::ipv4::{InboundDatagram, Ipv4Layer};
use crate::socket::{poll_bits, RecvArgs, RecvResult, SendArgs, Shutdown, SocketId, WakeupCounts};
use crate::stack::ip_proto;
use crate::time::{Instant, WallTime};
use crate::transport::{Delivery, IcmpError};
use crate::wire::udp::Flavor;

use super::counters::UdpCounters;
use super::network::NetworkOutput;
use super::ports::PortTable;
use super::send::Payload;
use super::socket::UdpSocket;
use super::table::SocketTable;
use crate::random::Random;

pub struct UdpLayer {
    pub(super) sockets: SocketTable<UdpSocket>,
    /// Port reservations of UDP and of UDP-Lite (separate tables, as in the kernel).
    pub(super) udp_ports: PortTable,
    pub(super) lite_ports: PortTable,
    pub(super) sysctls: Sysctls,
    /// The interface address (ipi_spec_dst of broadcasts: fib_compute_spec_dst's answer when
    /// the stack owns one address).
    pub(super) interface_address: Ipv4Addr,
    pub(super) interface_mtu: u32,
    pub(super) interface_index: u32,
    /// The interface's name, for SO_BINDTODEVICE.
    pub(super) interface_name: String,
    pub(super) random: Random,
    /// Secret of the SO_REUSEPORT hash (udp_ehash_secret).
    pub(super) hash_secret: u32,
    pub(super) counters: UdpCounters,
    /// Orders SO_ATTACH_REUSEPORT_CBPF attachments (a group runs the latest), udp/filter.rs.
    pub(super) program_sequence: u64,
    /// The interface's MAC: the destination of the link-layer header a filter may read.
    pub(super) interface_mac: [u8; 6],
}

impl UdpLayer {
    pub fn new(config: &StackConfig) -> UdpLayer {
        // Mixed with a constant of its own so UDP's draws differ from the IPv4 layer's.
        let mut random = Random::new(config.random_seed ^ 0x5544_5020_7365_6564);
        let hash_secret = random.next_u32();
        UdpLayer {
            sockets: SocketTable::new(),
            udp_ports: PortTable::with_reserved(config.sysctls.ip_local_reserved_ports.clone()),
            lite_ports: PortTable::with_reserved(config.sysctls.ip_local_reserved_ports.clone()),
            sysctls: config.sysctls.clone(),
            interface_address: config.interface.addr,
            interface_mtu: config.interface.mtu,
            interface_index: config.interface.ifindex,
            interface_name: config.interface.name.clone(),
            random,
            hash_secret,
            counters: UdpCounters::default(),
            program_sequence: 0,
            interface_mac: config.interface.mac,
        }
    }

    pub fn counters(&self) -> UdpCounters {
        self.counters.clone()
    }

    /// socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP or IPPROTO_UDPLITE).
    pub fn socket(&mut self, protocol: u8, creds: Credentials) -> Result<SocketId, Errno> {
        let flavor = match protocol {
            ip_proto::UDP => Flavor::Udp,
            ip_proto::UDPLITE => Flavor::Lite,
            _ => return Err(Errno::EPROTONOSUPPORT),
        };
        Ok(self
            .sockets
            .insert(UdpSocket::new(flavor, creds, &self.sysctls)))
    }

    /// EBADF for an id that is not (or no longer) a socket of this layer.
    pub fn check(&self, id: SocketId) -> Result<(), Errno> {
        self.sockets.get(id).map(|_| ())
    }

    /// close: udp_lib_close → udp_destroy_sock (corked data is dropped) and unhash.
    pub fn close(&mut self, _now: Instant, id: SocketId) {
        if let Some(socket) = self.sockets.remove(id) {
            if socket.is_bound() {
                self.ports_mut(socket.flavor).release(socket.local_port, id);
            }
        }
    }

    pub fn bind(&mut self, ip: &Ipv4Layer, id: SocketId, addr: &[u8]) -> Result<(), Errno> {
        self.bind_with(ip, id, addr)
    }

    pub fn connect(
        &mut self,
        now: Instant,
        ip: &Ipv4Layer,
        id: SocketId,
        addr: &[u8],
    ) -> Result<(), Errno> {
        self.connect_with(now, ip, id, addr)
    }

    pub fn send(
        &mut self,
        now: Instant,
        ip: &mut Ipv4Layer,
        id: SocketId,
        args: SendArgs<'_>,
    ) -> Result<usize, Errno> {
        self.send_with(now, ip, id, args, Payload::Readable)
    }

    /// A send whose payload the shim could not read: `args.data` only gives the length.
    pub fn send_unreadable(
        &mut self,
        now: Instant,
        ip: &mut Ipv4Layer,
        id: SocketId,
        args: SendArgs<'_>,
    ) -> Result<usize, Errno> {
        self.send_with(now, ip, id, args, Payload::Unreadable)
    }

    /// Receive into `buf`. EAGAIN when nothing is queued; the shim decides whether to block.
    /// The shim must pass MSG_DONTWAIT in `args.flags` for a non-blocking call (O_NONBLOCK too,
    /// as the kernel folds it in): a blocking receive on a socket shut down for reading returns
    /// 0 when the queue is empty, a non-blocking one EAGAIN.
    pub fn recv(
        &mut self,
        now: Instant,
        id: SocketId,
        args: RecvArgs,
        buf: &mut [u8],
    ) -> Result<RecvResult, Errno> {
        self.recv_with(now, id, args, buf)
    }

    /// inet_shutdown for a datagram socket: the direction is recorded even when the socket is
    /// not connected, and then ENOTCONN is returned ("hack to wake up other listeners").
    pub fn shutdown(&mut self, id: SocketId, how: Shutdown) -> Result<(), Errno> {
        let socket = self.sockets.get_mut(id)?;
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            socket.read_shut = true;
        }
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            socket.write_shut = true;
        }
        // sk_state_change: a wakeup without a key, for every waiter.
        socket.wake_state_change();
        if socket.peer.is_none() {
            return Err(Errno::ENOTCONN);
        }
        Ok(())
    }

    /// inet_getname(peer = 0): the receive address, or the source address when that is unset.
    pub fn local_addr(&self, id: SocketId) -> Result<SocketAddrV4, Errno> {
        let socket = self.sockets.get(id)?;
        let address = if socket.receive_address.is_unspecified() {
            socket.source_address
        } else {
            socket.receive_address
        };
        Ok(SocketAddrV4::new(address, socket.local_port))
    }

    /// inet_getname(peer = 1): "if (!inet->inet_dport ...) return -ENOTCONN": ENOTCONN unless
    /// connected, and also for a socket connected to port 0 (connected nonetheless: it sends
    /// to port 0 and receives only from it).
    pub fn peer_addr(&self, id: SocketId) -> Result<SocketAddrV4, Errno> {
        self.sockets
            .get(id)?
            .peer
            .filter(|peer| peer.port() != 0)
            .ok_or(Errno::ENOTCONN)
    }

    /// udp_poll / datagram_poll bits; POLLNVAL for a stale id.
    pub fn poll(&self, id: SocketId) -> u32 {
        match self.sockets.get(id) {
            Ok(socket) => super::poll::poll_bits(socket),
            Err(_) => poll_bits::POLLNVAL,
        }
    }

    /// Bumped on every wakeup-worthy event of this socket (data queued, error queued, state
    /// change), for edge-triggered epoll: an edge is reported when this moved.
    pub fn activity(&self, id: SocketId) -> u64 {
        self.wakeups(id).total()
    }

    /// sk_wake_async calls: POLL_IN for every datagram queued (sock_def_readable), POLL_ERR
    /// for every error report, POLL_OUT for write space after a poll found the socket
    /// unwritable (`notify.rs`).
    pub fn async_notices(&self, id: SocketId) -> crate::socket::AsyncNotices {
        self.sockets
            .get(id)
            .map_or(Default::default(), |socket| crate::socket::AsyncNotices {
                input: socket.wakeups.readable,
                output: socket.async_space,
                error: socket.async_errors,
                ..Default::default()
            })
    }

    /// The wakeups by kind (see `WakeupCounts`); zero for a stale id.
    pub fn wakeups(&self, id: SocketId) -> WakeupCounts {
        self.sockets
            .get(id)
            .map_or(WakeupCounts::default(), |socket| socket.wakeups)
    }

    /// sk_err = errno without a wakeup: do_recvmmsg keeps the error that ended a batch after
    /// some datagrams were received ("WRITE_ONCE(sock->sk->sk_err, -err)"), so the next receive
    /// or SO_ERROR reports it.
    pub fn set_pending_error(&mut self, id: SocketId, errno: Errno) -> Result<(), Errno> {
        self.sockets.get_mut(id)?.error.set(Some(errno));
        Ok(())
    }

    /// `now` and the network layer serve UDP_CORK's uncork, which sends what is pending.
    pub fn setsockopt(
        &mut self,
        now: Instant,
        ip: &mut Ipv4Layer,
        id: SocketId,
        level: i32,
        name: i32,
        value: &[u8],
    ) -> Result<(), Errno> {
        self.setsockopt_with(ip, id, level, name, value)?;
        self.uncork_if_cleared(now, ip, id, level, name)
    }

    pub fn setsockopt_unreadable(
        &mut self,
        ip: &Ipv4Layer,
        id: SocketId,
        level: i32,
        name: i32,
        optlen: usize,
    ) -> Result<(), Errno> {
        self.setsockopt_unreadable_with(ip, id, level, name, optlen)
    }

    pub fn getsockopt(
        &self,
        ip: &Ipv4Layer,
        id: SocketId,
        level: i32,
        name: i32,
        optlen: usize,
    ) -> Result<Vec<u8>, Errno> {
        self.getsockopt_with(ip, id, level, name, optlen)
    }

    /// getsockopt of an option that reads the caller's buffer first (IP_MSFILTER,
    /// MCAST_MSFILTER); `value` is what it held, None if it could not be read.
    pub fn getsockopt_with_value(
        &self,
        ip: &Ipv4Layer,
        id: SocketId,
        level: i32,
        name: i32,
        optlen: usize,
        value: Option<&[u8]>,
    ) -> Result<Vec<u8>, Errno> {
        self.getsockopt_reading(ip, id, level, name, optlen, value)
    }

    /// `wall_now`: CLOCK_REALTIME, for SIOCGSTAMP(NS) (see `poll::ioctl`).
    pub fn ioctl(
        &mut self,
        id: SocketId,
        request: u64,
        wall_now: WallTime,
    ) -> Result<Vec<u8>, Errno> {
        super::poll::ioctl(self.sockets.get_mut(id)?, request, wall_now)
    }

    /// (SO_RCVTIMEO, SO_SNDTIMEO): None waits forever; Some(ZERO) never waits (a negative
    /// timeval was set), exactly as sk_rcvtimeo 0 behaves in the kernel.
    pub fn timeouts(&self, id: SocketId) -> Result<(Option<Duration>, Option<Duration>), Errno> {
        let socket = self.sockets.get(id)?;
        Ok((
            socket.options.receive_timeout(),
            socket.options.send_timeout(),
        ))
    }

    pub fn deliver(&mut self, now: Instant, datagram: &InboundDatagram<'_>) -> Delivery {
        self.deliver_datagram(now, datagram)
    }

    pub fn icmp_error(&mut self, now: Instant, error: &IcmpError<'_>) {
        self.handle_icmp_error(now, error)
    }

    // ----- shared helpers -------------------------------------------------------------------

    /// UDP_CORK set to 0: "lock_sock(sk); push_pending_frames(sk); release_sock(sk);". A
    /// failure of that transmission is not setsockopt's result (the kernel ignores it).
    pub(super) fn uncork_if_cleared(
        &mut self,
        now: Instant,
        network: &mut dyn NetworkOutput,
        id: SocketId,
        level: i32,
        name: i32,
    ) -> Result<(), Errno> {
        if !super::options::is_udp_level(level) || name != super::options::udp_option::UDP_CORK {
            return Ok(());
        }
        let socket = self.sockets.get_mut(id)?;
        if !socket.udp.cork {
            let _ignored = super::send::push_pending(socket, &mut self.counters, now, network);
        }
        Ok(())
    }

    pub(super) fn ports(&self, flavor: Flavor) -> &PortTable {
        match flavor {
            Flavor::Udp => &self.udp_ports,
            Flavor::Lite => &self.lite_ports,
        }
    }

    pub(super) fn ports_mut(&mut self, flavor: Flavor) -> &mut PortTable {
        match flavor {
            Flavor::Udp => &mut self.udp_ports,
            Flavor::Lite => &mut self.lite_ports,
        }
    }
}
