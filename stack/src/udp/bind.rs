//! bind(2) and automatic binding, copied from __inet_bind, inet_autobind and udp_v4_get_port.

use core::net::Ipv4Addr;

use crate::errno::Errno;
use crate::sockaddr::{self, AF_INET, AF_UNSPEC};
use crate::socket::SocketId;

use super::layer::UdpLayer;
use super::network::{address_type, AddressType, Network};
use super::ports::Claimant;

impl UdpLayer {
    /// __inet_bind. The order of the checks is the kernel's, so the errno precedence is too:
    /// length, family, address, privileged port, already bound, port in use.
    pub(super) fn bind_with(
        &mut self,
        network: &dyn Network,
        id: SocketId,
        addr: &[u8],
    ) -> Result<(), Errno> {
        let sysctls = self.sysctls.clone();
        let socket = self.sockets.get(id)?;
        // inet_bind_sk: "if (addr_len < sizeof(struct sockaddr_in)) return -EINVAL".
        let requested = sockaddr::parse_in(addr)?;
        // "Compatibility games": AF_UNSPEC is accepted as AF_INET only with INADDR_ANY.
        if requested.family != AF_INET
            && (requested.family != AF_UNSPEC || !requested.addr.is_unspecified())
        {
            return Err(Errno::EAFNOSUPPORT);
        }
        let kind = address_type(network, requested.addr);
        // inet_addr_valid_or_nonlocal: ours, broadcast, multicast, the wildcard, or any address
        // with ip_nonlocal_bind / IP_FREEBIND / IP_TRANSPARENT.
        let nonlocal_allowed =
            sysctls.ip_nonlocal_bind || socket.options.freebind || socket.options.transparent;
        if !nonlocal_allowed && !requested.addr.is_unspecified() && kind == AddressType::Unicast {
            return Err(Errno::EADDRNOTAVAIL);
        }
        // inet_port_requires_bind_service: ports below ip_unprivileged_port_start.
        if requested.port != 0
            && u32::from(requested.port) < sysctls.ip_unprivileged_port_start
            && !socket.creds.cap_net_bind_service
        {
            return Err(Errno::EACCES);
        }
        // "Check these errors (active socket, double bind)".
        if socket.is_bound() || socket.peer.is_some() {
            return Err(Errno::EINVAL);
        }
        // Multicast and broadcast binds receive on the address but send from the device's.
        let source = match kind {
            AddressType::Multicast | AddressType::Broadcast => Ipv4Addr::UNSPECIFIED,
            _ => requested.addr,
        };
        let claimant = Claimant {
            owner: id,
            address: requested.addr,
            reuse_address: socket.options.reuse_address,
            reuse_port: socket.options.reuse_port,
            device: socket.options.bound_device,
            has_reuseport_group: socket.options.reuseport_group_before_bind,
        };
        let flavor = socket.flavor;
        let range = socket
            .options
            .ephemeral_port_range(sysctls.ip_local_port_range);
        // "if (snum || !(inet->bind_address_no_port || ...))": with IP_BIND_ADDRESS_NO_PORT
        // and port 0, bind only records the address; the port is chosen when the socket is
        // first used (inet_autobind, from connect or send), on that address.
        let defer_port = requested.port == 0 && socket.options.bind_address_no_port;
        let port = if defer_port {
            0
        } else if requested.port == 0 {
            // udp_lib_get_port(sk, 0) fails with EADDRINUSE from bind.
            let random = self.random.next_u32();
            self.ports_mut(flavor)
                .claim_ephemeral(range, random, &claimant)?
        } else {
            self.ports_mut(flavor).claim(requested.port, &claimant)?;
            requested.port
        };
        let socket = self.sockets.get_mut(id)?;
        socket.local_port = port;
        socket.receive_address = requested.addr;
        socket.source_address = source;
        socket.address_locked = !requested.addr.is_unspecified();
        socket.port_locked = requested.port != 0;
        socket.peer = None;
        socket.route_cached = false;
        Ok(())
    }

    /// inet_autobind: the first connect or send of an unbound socket takes an ephemeral port
    /// on the wildcard address; failure is EAGAIN.
    pub(super) fn autobind(&mut self, id: SocketId) -> Result<(), Errno> {
        let socket = self.sockets.get(id)?;
        if socket.is_bound() {
            return Ok(());
        }
        let claimant = Claimant {
            owner: id,
            address: socket.receive_address,
            reuse_address: socket.options.reuse_address,
            reuse_port: socket.options.reuse_port,
            device: socket.options.bound_device,
            has_reuseport_group: socket.options.reuseport_group_before_bind,
        };
        let flavor = socket.flavor;
        let range = socket
            .options
            .ephemeral_port_range(self.sysctls.ip_local_port_range);
        let random = self.random.next_u32();
        let port = self
            .ports_mut(flavor)
            .claim_ephemeral(range, random, &claimant)
            .map_err(|_| Errno::EAGAIN)?;
        self.sockets.get_mut(id)?.local_port = port;
        Ok(())
    }

    /// The socket's bound device changed (SO_BINDTODEVICE, SO_BINDTOIFINDEX): the port table
    /// compares the new one from now on (udp_lib_lport_inuse reads sk_bound_dev_if).
    pub(super) fn sync_port_device(&mut self, id: SocketId) {
        let Ok(socket) = self.sockets.get(id) else {
            return;
        };
        let (flavor, port, device) = (
            socket.flavor,
            socket.local_port,
            socket.options.bound_device,
        );
        if port != 0 {
            self.ports_mut(flavor).set_device(port, id, device);
        }
    }
}
