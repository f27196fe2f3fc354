//! The privileges a setsockopt is judged by. The kernel asks about the calling task at each
//! call (do_tcp_setsockopt passes `ns_capable(sock_net(sk)->user_ns, CAP_NET_ADMIN)` to
//! tcp_set_congestion_control; sockopt_ns_capable for SO_MARK, SO_PRIORITY, ...), not about
//! whoever created the socket, so the driver hands the caller's credentials in before the
//! call and they replace the ones the socket was created with.

use super::layer::TcpLayer;
use crate::config::Credentials;
use crate::errno::Errno;
use crate::socket::SocketId;

impl TcpLayer {
    /// The caller's credentials judge the socket's next calls.
    pub fn set_caller_credentials(
        &mut self,
        id: SocketId,
        creds: Credentials,
    ) -> Result<(), Errno> {
        self.user_socket_mut(id)?.creds = creds;
        Ok(())
    }
}
