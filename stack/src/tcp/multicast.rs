//! The interface side of a TCP socket's multicast memberships. do_ip_setsockopt refuses
//! IP_ADD_MEMBERSHIP / IP_DROP_MEMBERSHIP on a TCP socket (EPROTO) and IP_MULTICAST_IF
//! (EINVAL), but takes the source memberships, IP_MSFILTER and the MCAST_* forms (measured:
//! ctests sockopt_ip_multicast), and those change the interface's groups as for UDP
//! (ip_mc_source, ip_mc_inc_group: IGMP reports follow). inet_release calls
//! ip_mc_drop_socket for every inet socket, TCP ones included. `Stack` hands the changes
//! collected here to the network layer, as `udp/multicast.rs` does for UDP.

use crate::socket::SocketId;
use crate::sockopt::multicast::HostChange;

use super::layer::TcpLayer;

impl TcpLayer {
    /// The interface-level calls the socket's last option change made.
    pub fn take_multicast_changes(&mut self, id: SocketId) -> Vec<HostChange> {
        self.user_socket_mut(id).map_or_else(
            |_| Vec::new(),
            |socket| socket.options.memberships.take_host_changes(),
        )
    }

    /// ip_mc_drop_socket, as the application closes the socket: leave every group it joined
    /// (the connection may live on as an orphan; its memberships do not).
    pub fn drop_memberships(&mut self, id: SocketId) -> Vec<HostChange> {
        self.user_socket_mut(id).map_or_else(
            |_| Vec::new(),
            |socket| socket.options.memberships.leave_all(),
        )
    }

    /// Every socket's memberships dropped (the process exits: the kernel closes each of its
    /// sockets).
    pub fn drop_all_memberships(&mut self) -> Vec<HostChange> {
        let ids = self.sockets.ids();
        ids.into_iter()
            .flat_map(|id| self.drop_memberships(id))
            .collect()
    }
}
