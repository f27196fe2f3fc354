//! connect(2) on a datagram socket: inet_dgram_connect, __ip4_datagram_connect, and the
//! AF_UNSPEC disconnect (__udp_disconnect).

use core::net::{Ipv4Addr, SocketAddrV4};

use crate::errno::Errno;
use crate::sockaddr::{self, AF_INET, AF_UNSPEC};
use crate::socket::SocketId;
use crate::time::Instant;

use super::layer::UdpLayer;
use super::network::Network;
use super::send::check_source_address;

impl UdpLayer {
    pub(super) fn connect_with(
        &mut self,
        _now: Instant,
        network: &dyn Network,
        id: SocketId,
        addr: &[u8],
    ) -> Result<(), Errno> {
        self.sockets.get(id)?;
        sockaddr::check_user_length(addr.len())?;
        // inet_dgram_connect: "addr_len < sizeof(uaddr->sa_family)" is EINVAL, then AF_UNSPEC
        // disconnects, then the socket is bound if it was not (before the address is judged:
        // a connect with a bad family still leaves an ephemeral port behind).
        let family = sockaddr::family(addr).ok_or(Errno::EINVAL)?;
        if family == AF_UNSPEC {
            self.disconnect(id)?;
            return Ok(());
        }
        self.autobind(id)?;
        // __ip4_datagram_connect.
        let requested = sockaddr::parse_in(addr)?;
        if requested.family != AF_INET {
            return Err(Errno::EAFNOSUPPORT);
        }
        let socket = self.sockets.get_mut(id)?;
        // sk_dst_reset: the old route is dropped even if this connect fails.
        socket.route_cached = false;
        let source = socket.source_address;
        let destination = resolve_unspecified_destination(requested.addr, source);
        // ip_route_connect (RT_CONN_FLAGS: SO_DONTROUTE keeps it on-link). The output device
        // is the bound one (__ip4_datagram_connect: oif = sk->sk_bound_dev_if), else
        // IP_MULTICAST_IF's or IP_UNICAST_IF's interface for the destination.
        let oif = socket
            .options
            .output_interface(socket.options.bound_device_oif(), destination);
        let route = network.route(destination, oif, socket.options.dont_route)?;
        if !source.is_unspecified() {
            check_source_address(network, source, &route, socket.options.transparent)?;
        }
        if route.broadcast && !socket.options.broadcast {
            return Err(Errno::EACCES);
        }
        if socket.source_address.is_unspecified() {
            socket.source_address = route.src;
        }
        let rehash = socket.receive_address.is_unspecified();
        if rehash {
            socket.receive_address = route.src;
        }
        socket.peer = Some(SocketAddrV4::new(destination, requested.port));
        // atomic_set(&inet->inet_id, get_random_u16()).
        let ident = self.random.next_u16();
        let socket = self.sockets.get_mut(id)?;
        socket.ident = ident;
        socket.route_cached = true;
        socket.route_snapshot = Some(route);
        let (flavor, port, address) = (socket.flavor, socket.local_port, socket.receive_address);
        if rehash {
            self.ports_mut(flavor).change_address(port, id, address);
        }
        Ok(())
    }

    /// __udp_disconnect: forget the peer; an address or port that bind did not set explicitly
    /// is released too (an autobound port goes back to the pool).
    pub(super) fn disconnect(&mut self, id: SocketId) -> Result<(), Errno> {
        let socket = self.sockets.get_mut(id)?;
        socket.peer = None;
        socket.route_cached = false;
        let flavor = socket.flavor;
        let port = socket.local_port;
        let mut new_address = None;
        if !socket.address_locked {
            socket.receive_address = Ipv4Addr::UNSPECIFIED;
            socket.source_address = Ipv4Addr::UNSPECIFIED;
            if socket.port_locked {
                new_address = Some(Ipv4Addr::UNSPECIFIED);
            }
        }
        let release = !socket.port_locked && socket.is_bound();
        if !socket.port_locked {
            socket.local_port = 0;
        }
        if let Some(address) = new_address {
            self.ports_mut(flavor).change_address(port, id, address);
        }
        if release {
            self.ports_mut(flavor).release(port, id);
        }
        Ok(())
    }
}

/// ip_route_output for a zero destination: "fl4->daddr = fl4->saddr; if (!fl4->daddr)
/// fl4->daddr = fl4->saddr = htonl(INADDR_LOOPBACK)". Connecting or sending to 0.0.0.0 reaches
/// the socket's own source address, else 127.0.0.1.
pub(super) fn resolve_unspecified_destination(destination: Ipv4Addr, source: Ipv4Addr) -> Ipv4Addr {
    if !destination.is_unspecified() {
        destination
    } else if !source.is_unspecified() {
        source
    } else {
        Ipv4Addr::LOCALHOST
    }
}
