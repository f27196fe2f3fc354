//! The O_ASYNC write-space signal of a UDP socket. sock_def_write_space (called as each
//! datagram's memory is freed, sock_wfree, and when SO_SNDBUF grows) makes
//! sk_wake_async(SOCK_WAKE_SPACE, POLL_OUT), which signals only when SOCKWQ_ASYNC_NOSPACE is
//! set, and clears it. datagram_poll sets the bit when it finds the socket unwritable; here
//! that takes corked data filling half the send buffer (`poll.rs`), since the stack's
//! datagrams leave at once.

use super::layer::UdpLayer;
use crate::socket::{poll_bits, SocketId};

impl UdpLayer {
    /// udp_poll → datagram_poll as poll, select and epoll call it: "if (sock_writeable(sk))
    /// mask |= EPOLLOUT ... else sk_set_bit(SOCKWQ_ASYNC_NOSPACE, sk)".
    pub fn poll_from_user(&mut self, id: SocketId) -> u32 {
        let mask = self.poll(id);
        if mask & poll_bits::POLLOUT == 0 {
            if let Ok(socket) = self.sockets.get_mut(id) {
                socket.async_nospace = true;
            }
        }
        mask
    }

    /// After a call that may free send-buffer memory (a corked datagram sent or dropped) or
    /// grow the buffer: sock_def_write_space's "if (sock_writeable(sk))
    /// sk_wake_async(sk, SOCK_WAKE_SPACE, POLL_OUT)", which only an armed socket signals.
    pub fn note_write_space(&mut self, id: SocketId) {
        let writable = self.poll(id) & poll_bits::POLLOUT != 0;
        if let Ok(socket) = self.sockets.get_mut(id) {
            if socket.async_nospace && writable {
                socket.async_nospace = false;
                socket.async_space = socket.async_space.wrapping_add(1);
            }
        }
    }
}
