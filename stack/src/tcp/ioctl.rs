//! tcp_ioctl: the queue sizes (SIOCINQ, SIOCOUTQ, SIOCOUTQNSD), the urgent mark (SIOCATMARK),
//! and sock_gettstamp for a TCP socket (SIOCGSTAMP*).

use super::layer::TcpLayer;
use super::socket::Role;
use super::state::State;
use super::urgent::UrgentData;
use crate::errno::Errno;
use crate::socket::SocketId;

pub mod request {
    /// FIONREAD == SIOCINQ.
    pub const SIOCINQ: u64 = 0x541B;
    /// TIOCOUTQ == SIOCOUTQ.
    pub const SIOCOUTQ: u64 = 0x5411;
    pub const SIOCOUTQNSD: u64 = 0x894B;
    pub const SIOCATMARK: u64 = 0x8905;
    pub const SIOCGSTAMP: u64 = 0x8906;
    pub const SIOCGSTAMPNS: u64 = 0x8907;
    pub const SIOCGSTAMP_NEW: u64 = 0x8010_8906;
    pub const SIOCGSTAMPNS_NEW: u64 = 0x8010_8907;
}

impl TcpLayer {
    /// tcp_ioctl. Returns the int the kernel writes to the argument.
    pub fn ioctl(&self, id: SocketId, request: u64) -> Result<Vec<u8>, Errno> {
        let socket = self.user_socket(id)?;
        let listening = matches!(socket.role, Role::Listener(_));
        let connection = socket.connection();
        let handshaking = socket
            .connection()
            .is_some_and(|c| matches!(c.state, State::SynSent | State::SynReceived));
        let answer: i32 = match request {
            request::SIOCINQ => {
                if listening {
                    return Err(Errno::EINVAL);
                }
                // tcp_inq: rcv_nxt - copied_seq, less the FIN once SOCK_DONE (ready never
                // holds the FIN); 0 during the handshake. With urgent data kept apart
                // (no SO_OOBINLINE) whose byte has arrived and is still ahead of the
                // reader: only the bytes before the mark, urg_seq - copied_seq.
                match connection {
                    Some(c) if !handshaking => {
                        let copied = c.copied_seq();
                        let mark_ahead = !c.settings.urgent_inline
                            && c.urgent.data != UrgentData::None
                            && c.urgent.seq.ge(copied)
                            && c.urgent.seq.lt(c.rcv_nxt);
                        if mark_ahead {
                            c.urgent.seq.distance(copied)
                        } else {
                            c.receive.ready.len() as i32
                        }
                    }
                    _ => 0,
                }
            }
            request::SIOCATMARK => {
                // "answ = READ_ONCE(tp->urg_data) && READ_ONCE(tp->urg_seq) ==
                // READ_ONCE(tp->copied_seq)" (urgent.rs; edited by H).
                i32::from(connection.is_some_and(|c| c.at_urgent_mark()))
            }
            request::SIOCOUTQ | request::SIOCOUTQNSD => {
                if listening {
                    return Err(Errno::EINVAL);
                }
                // write_seq - snd_una (SIOCOUTQ) or write_seq - snd_nxt (SIOCOUTQNSD); the
                // FIN counts once queued (tcp_send_fin advances write_seq). 0 while SYN_SENT
                // or SYN_RECV.
                match connection {
                    Some(c) if !handshaking => {
                        let from = if request == request::SIOCOUTQ {
                            c.snd_una
                        } else {
                            c.snd_nxt
                        };
                        c.send_end().since(from) as i32
                    }
                    _ => 0,
                }
            }
            // sock_gettstamp: TCP never records a receive time in sk_stamp, which stays
            // SK_DEFAULT_STAMP: ENOENT.
            request::SIOCGSTAMP
            | request::SIOCGSTAMPNS
            | request::SIOCGSTAMP_NEW
            | request::SIOCGSTAMPNS_NEW => return Err(Errno::ENOENT),
            // -ENOIOCTLCMD → ENOTTY.
            _ => return Err(Errno::ENOTTY),
        };
        Ok(answer.to_ne_bytes().to_vec())
    }
}
