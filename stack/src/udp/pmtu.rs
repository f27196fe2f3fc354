//! Whether a learned path MTU reaches the routing cache: __udp4_lib_err calls
//! ipv4_sk_update_pmtu only for a socket it found from the quoted header, and that function
//! returns at once when the socket does not accept path MTUs (ip_sk_accept_pmtu:
//! IP_PMTUDISC_INTERFACE and IP_PMTUDISC_OMIT ignore them). The update itself is the network
//! layer's (`ipv4::route::PmtuCache`).

use crate::sockopt::values::pmtu;
use crate::transport::IcmpError;

use super::layer::UdpLayer;

impl UdpLayer {
    /// The socket that sent the datagram `error` quotes exists and accepts a path MTU. Its
    /// cached route, if any, is replaced by one that follows the learned MTU (the sk_dst_set
    /// at the end of ipv4_sk_update_pmtu).
    pub fn accepts_path_mtu(&mut self, error: &IcmpError<'_>) -> bool {
        // The socket __udp4_lib_err finds (udp/icmp.rs).
        let Some(id) = self.socket_for_error(error) else {
            return false;
        };
        let Ok(socket) = self.sockets.get_mut(id) else {
            return false;
        };
        // ip_sk_accept_pmtu.
        if matches!(socket.options.pmtu_discovery, pmtu::INTERFACE | pmtu::OMIT) {
            return false;
        }
        if let Some(route) = socket.route_snapshot.as_mut() {
            route.from_exception = true;
        }
        true
    }
}
