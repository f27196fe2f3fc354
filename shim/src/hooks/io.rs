//! What the send and receive hooks (`send.rs`, `receive.rs`) share.
//!
//! Each transfer call copies its arguments in the order net/socket.c does (the msghdr, the
//! address, the iovec array, the control buffer), runs the stack operation (blocking as
//! `blocking.rs` says), and copies results out in the kernel's order. Payloads pass through a
//! per-thread buffer (no allocation per call).

use std::cell::RefCell;
use std::sync::atomic::Ordering;
use std::thread::LocalKey;

use libc::{c_int, iovec};
use stack::socket::msg_flags::{MSG_DONTWAIT, MSG_ERRQUEUE};
use stack::Errno;

use crate::fdtable::SocketRef;
use crate::usermem::{self, UIO_MAXIOV};

/// MSG_CMSG_COMPAT: only the 32-bit compat entry points may pass it (EINVAL otherwise).
pub(crate) const MSG_CMSG_COMPAT: c_int = 0x8000_0000u32 as c_int;

/// Runs `f` with this thread's buffer, or a fresh one if it is unavailable (thread teardown).
pub(crate) fn with_buffer<R>(
    key: &'static LocalKey<RefCell<Vec<u8>>>,
    f: impl FnOnce(&mut Vec<u8>) -> R,
) -> R {
    let mut f = Some(f);
    let done = key.try_with(|cell| {
        let mut buffer = cell.try_borrow_mut().ok()?;
        f.take().map(|f| f(&mut buffer))
    });
    match (done, f.take()) {
        (Ok(Some(result)), _) => result,
        (_, Some(f)) => f(&mut Vec::new()),
        // `f` ran inside try_with but produced no value: impossible, as `map` returns Some.
        (_, None) => unreachable!("buffer closure consumed without a result"),
    }
}

pub(crate) fn is_nonblocking(socket: &SocketRef, flags: c_int) -> bool {
    // MSG_ERRQUEUE never waits: ip_recv_error answers EAGAIN at once.
    flags & (MSG_DONTWAIT | MSG_ERRQUEUE) != 0 || socket.nonblocking.load(Ordering::Relaxed)
}

/// vfs_readv / vfs_writev: import_iovec (a count above UIO_MAXIOV, or negative, is EINVAL),
/// then an empty total answers 0 without reaching the socket.
pub(crate) fn import_vector(iov: *const iovec, count: c_int) -> Result<Vec<iovec>, Errno> {
    let count = usize::try_from(count).map_err(|_| Errno::EINVAL)?;
    if count > UIO_MAXIOV {
        return Err(Errno::EINVAL);
    }
    usermem::read_iovecs(iov as usize, count)
}
