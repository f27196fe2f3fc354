//! The bridge from a socket's memberships to the interface's group state: the calls the
//! socket-level code made on the interface (`HostChange`, recorded by
//! `sockopt::multicast::Memberships`) are collected here after each setsockopt, and on close
//! every membership is dropped as ip_mc_drop_socket drops it. `Stack` hands them to the
//! network layer's IGMP state. (Delivery by membership is in `deliver.rs`, ip_mc_sf_allow.)

use crate::socket::SocketId;
use crate::sockopt::multicast::HostChange;

use super::layer::UdpLayer;

impl UdpLayer {
    /// The interface-level calls the socket's last option change made.
    pub fn take_multicast_changes(&mut self, id: SocketId) -> Vec<HostChange> {
        match self.sockets.get_mut(id) {
            Ok(socket) => socket.options.memberships.take_host_changes(),
            Err(_) => Vec::new(),
        }
    }

    /// ip_mc_drop_socket, called as the socket closes: leave every group it joined.
    pub fn drop_memberships(&mut self, id: SocketId) -> Vec<HostChange> {
        match self.sockets.get_mut(id) {
            Ok(socket) => socket.options.memberships.leave_all(),
            Err(_) => Vec::new(),
        }
    }

    /// Every open socket's memberships dropped (the process exits: the kernel closes each
    /// of its sockets).
    pub fn drop_all_memberships(&mut self) -> Vec<HostChange> {
        let mut changes = Vec::new();
        for id in self.sockets.ids() {
            changes.extend(self.drop_memberships(id));
        }
        changes
    }
}
