//! Process exit. The kernel closes every descriptor of an exiting process (tcp_close on each
//! socket) and then keeps running the orphaned connections: queued data is still delivered,
//! the FIN handshake completes. The stack lives in the process and dies with it, so the
//! driver closes the sockets itself and runs the stack a little longer, until no connection
//! has anything left to send (`unfinished`).

use super::layer::TcpLayer;
use super::state::State;
use crate::time::Instant;

impl TcpLayer {
    /// tcp_close on every socket the application still holds (what exit's close of every
    /// descriptor does).
    pub fn close_all(&mut self, now: Instant) {
        for id in self.sockets.ids() {
            if self.user_socket(id).is_ok() {
                self.close(now, id);
            }
        }
    }

    /// Whether some connection still has data or a FIN that the peer has not acknowledged
    /// (FIN_WAIT2 and TIME_WAIT have nothing left to send; neither has an established
    /// connection whose queue is empty).
    pub fn unfinished(&self) -> bool {
        self.sockets
            .iter()
            .filter_map(|socket| socket.connection())
            .any(|connection| {
                !matches!(
                    connection.state,
                    State::Closed | State::TimeWait | State::FinWait2 | State::Listen
                ) && connection.snd_una != connection.send_end()
            })
    }
}
