//! Sending: send, sendto, sendmsg, sendmmsg, write, writev.
//!
//! The address and the control buffer are copied in before the payload, as in net/socket.c;
//! a payload that cannot be read answers EFAULT only after the stack's own checks would have
//! passed (`probe_before_fault`), because the kernel copies it last, in ip_append_data.

use std::cell::RefCell;
use std::mem::offset_of;
use std::sync::OnceLock;

use libc::{c_int, c_uint, c_void, iovec, mmsghdr, msghdr, size_t, sockaddr, socklen_t, ssize_t};
use stack::socket::msg_flags::MSG_EOR;
use stack::{Errno, SendArgs};

use crate::fdtable::{self, SocketRef};
use crate::hook;
use crate::hooks::blocking::{self, Direction};
use crate::hooks::io::{import_vector, is_nonblocking, with_buffer, MSG_CMSG_COMPAT};
use crate::hooks::receive::mmsghdr_address;
use crate::hooks::socket::engine;
use crate::hooks::stream;
use crate::hooks::Outcome;
use crate::usermem::{self, UIO_MAXIOV};

thread_local! {
    static SEND_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// MSG_INTERNAL_SENDMSG_FLAGS (include/linux/socket.h): MSG_SPLICE_PAGES,
/// MSG_SENDPAGE_NOPOLICY, MSG_SENDPAGE_DECRYPTED; ____sys_sendmsg and __sys_sendto clear them.
const MSG_INTERNAL_SENDMSG_FLAGS: c_int = 0x0800_0000 | 0x0001_0000 | 0x0010_0000;

/// The largest payload gathered for one send. A UDP datagram above 65535 bytes is EMSGSIZE
/// (udp_sendmsg checks `len > 0xFFFF` first), so gathering one byte more than that keeps
/// the stack's verdict while bounding the copy. TCP (later) needs a streaming path instead.
const SEND_GATHER_LIMIT: usize = 65536;

/// The control buffer ____sys_sendmsg keeps on its own stack (ctl[sizeof(struct cmsghdr) +
/// 20]); a longer one comes from sock_kmalloc, which refuses (ENOBUFS) a size that is not
/// below net.core.optmem_max (`sk_omem_alloc + size < optmem_max`, with nothing else
/// charged to a UDP socket's option memory).
const SENDMSG_STACK_CONTROL: usize = 36;

fn optmem_max() -> usize {
    static VALUE: OnceLock<usize> = OnceLock::new();
    *VALUE.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/net/core/optmem_max")
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(131_072)
    })
}

/// Where a send's destination address comes from.
enum Destination<'a> {
    None,
    /// Already copied in (sendmsg copies msg_name before the iovecs).
    Copied(&'a [u8]),
    /// Still in user memory, length already validated (sendto): read together with the
    /// payload in one syscall.
    User {
        address: usize,
        len: usize,
    },
}

/// Gathers the payload from `iovecs` (and the address, for sendto) and sends it.
fn send_on(
    socket: &SocketRef,
    iovecs: &[iovec],
    destination: Destination<'_>,
    control: &[u8],
    flags: c_int,
) -> Result<usize, Errno> {
    if stream::is_stream(socket) {
        // __sys_sendto copies the destination in (EFAULT); tcp_sendmsg uses it only for
        // MSG_FASTOPEN (tcp_sendmsg_fastopen); the control messages go to sock_cmsg_send.
        let mut prefix = [0u8; usermem::SOCKADDR_STORAGE_LEN];
        let dest = match destination {
            Destination::User { address, len } => {
                usermem::read_into(address, &mut prefix[..len])?;
                Some(&prefix[..len])
            }
            Destination::Copied(bytes) => Some(bytes),
            Destination::None => None,
        };
        let flags = flags & !MSG_INTERNAL_SENDMSG_FLAGS;
        return stream::send_stream_to(socket, iovecs, dest, control, flags);
    }
    let engine = engine()?;
    let nonblocking = is_nonblocking(socket, flags);
    let flags = flags & !MSG_INTERNAL_SENDMSG_FLAGS;
    with_buffer(&SEND_BUFFER, |buffer| {
        let mut user_address = [0u8; usermem::SOCKADDR_STORAGE_LEN];
        let (dest, copied) = match destination {
            Destination::None => (None, usermem::gather(iovecs, SEND_GATHER_LIMIT, buffer)),
            Destination::Copied(bytes) => (
                Some(bytes),
                usermem::gather(iovecs, SEND_GATHER_LIMIT, buffer),
            ),
            Destination::User { address, len } => {
                let prefix = &mut user_address[..len];
                let copied = match usermem::read_and_gather(
                    address,
                    prefix,
                    iovecs,
                    SEND_GATHER_LIMIT,
                    buffer,
                ) {
                    Ok(()) => Ok(()),
                    Err(error) => {
                        // Which copy faulted? The address is copied first
                        // (move_addr_to_kernel): its fault is the answer.
                        usermem::read_into(address, prefix)?;
                        Err(error)
                    }
                };
                (Some(&user_address[..len]), copied)
            }
        };
        if let Err(error) = copied {
            if error != Errno::EFAULT {
                return Err(error);
            }
            let len = usermem::total_len(iovecs).min(SEND_GATHER_LIMIT);
            return probe_before_fault(engine, socket, dest, control, flags, len);
        }
        blocking::run(
            engine,
            socket.id,
            Direction::Send,
            nonblocking,
            |stack, now| {
                let args = SendArgs {
                    data: buffer,
                    dest,
                    control,
                    flags,
                };
                stack.send(now, socket.id, args)
            },
        )
    })
}

/// The payload could not be read. The kernel copies it last, in ip_append_data, after every
/// check of the destination, the control messages, the route and the size, so their errors
/// come before EFAULT, and so do a pending socket error and EPIPE: `Stack::send_unreadable`
/// runs all of them (and their side effects: autobind, the cached route) and sends nothing.
fn probe_before_fault(
    engine: &crate::engine::Engine,
    socket: &SocketRef,
    dest: Option<&[u8]>,
    control: &[u8],
    flags: c_int,
    len: usize,
) -> Result<usize, Errno> {
    // Only the length matters; anything above 65535 bytes is EMSGSIZE.
    let zeros = vec![0u8; len.min(65536)];
    let args = SendArgs {
        data: &zeros,
        dest,
        control,
        flags,
    };
    engine.with_stack(|stack, now| stack.send_unreadable(now, socket.id, args))
}

/// __copy_msghdr + import_iovec for a send: the address is copied in when both msg_name and
/// msg_namelen are set (namelen clamped to sockaddr_storage), then the iovecs.
fn import_send_msghdr(header: &msghdr) -> Result<(Option<Vec<u8>>, Vec<iovec>), Errno> {
    let mut namelen = header.msg_namelen as c_int;
    if header.msg_name.is_null() {
        namelen = 0;
    }
    if namelen < 0 {
        return Err(Errno::EINVAL);
    }
    let namelen = (namelen as usize).min(usermem::SOCKADDR_STORAGE_LEN);
    let dest = if !header.msg_name.is_null() && namelen > 0 {
        Some(usermem::read_bytes(header.msg_name as usize, namelen)?)
    } else {
        None
    };
    if header.msg_iovlen > UIO_MAXIOV {
        return Err(Errno::EMSGSIZE);
    }
    let iovecs = usermem::read_iovecs(header.msg_iov as usize, header.msg_iovlen)?;
    Ok((dest, iovecs))
}

/// ____sys_sendmsg's control buffer: longer than INT_MAX or than optmem_max is ENOBUFS, then
/// it is copied in (EFAULT).
fn import_send_control(header: &msghdr) -> Result<Vec<u8>, Errno> {
    let len = header.msg_controllen;
    if len > i32::MAX as usize {
        return Err(Errno::ENOBUFS);
    }
    if len > SENDMSG_STACK_CONTROL && len >= optmem_max() {
        return Err(Errno::ENOBUFS);
    }
    usermem::read_bytes(header.msg_control as usize, len)
}

/// ___sys_sendmsg for one msghdr at `address`; `allowed_msghdr_flags` is MSG_EOR for
/// sendmmsg, nothing for sendmsg.
fn sendmsg_one(
    socket: &SocketRef,
    address: usize,
    flags: c_int,
    allowed_msghdr_flags: c_int,
) -> Result<usize, Errno> {
    let header: msghdr = usermem::read_struct(address)?;
    let (dest, iovecs) = import_send_msghdr(&header)?;
    let control = import_send_control(&header)?;
    let flags = flags | (header.msg_flags & allowed_msghdr_flags);
    let destination = match &dest {
        Some(bytes) => Destination::Copied(bytes),
        None => Destination::None,
    };
    send_on(socket, &iovecs, destination, &control, flags)
}

/// __sys_sendto: import_ubuf (EFAULT outside user space), the address (move_addr_to_kernel;
/// a non-NULL address of length 0 reaches the protocol as an empty one), then the protocol.
fn sendto_impl(
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
    addr: *const sockaddr,
    addrlen: socklen_t,
) -> Outcome<ssize_t> {
    let Some(socket) = fdtable::lookup_socket(fd) else {
        return Outcome::Real;
    };
    Outcome::Done((|| {
        let iov = usermem::single_iovec(buf as usize, len)?;
        let destination = if addr.is_null() {
            Destination::None
        } else {
            let len = addrlen as c_int;
            // move_addr_to_kernel's length rule; the bytes are read with the payload.
            if len < 0 || len as usize > usermem::SOCKADDR_STORAGE_LEN {
                return Err(Errno::EINVAL);
            }
            Destination::User {
                address: addr as usize,
                len: len as usize,
            }
        };
        send_on(&socket, &[iov], destination, &[], flags).map(|sent| sent as ssize_t)
    })())
}

hook! {
    fn send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t {
        sendto_impl(fd, buf, len, flags, std::ptr::null(), 0)
    }
}

hook! {
    fn sendto(fd: c_int, buf: *const c_void, len: size_t, flags: c_int, addr: *const sockaddr, addrlen: socklen_t) -> ssize_t {
        sendto_impl(fd, buf, len, flags, addr, addrlen)
    }
}

hook! {
    /// __sys_sendmsg: MSG_CMSG_COMPAT is EINVAL before the fd is looked at.
    fn sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t {
        let Some(socket) = fdtable::lookup_socket(fd) else { return Outcome::Real };
        if flags & MSG_CMSG_COMPAT != 0 {
            return Outcome::Done(Err(Errno::EINVAL));
        }
        Outcome::Done(sendmsg_one(&socket, msg as usize, flags, 0).map(|sent| sent as ssize_t))
    }
}

hook! {
    /// __sys_sendmmsg: at most UIO_MAXIOV messages; stops at the first error; the error is
    /// returned only if no message went out.
    fn sendmmsg(fd: c_int, msgs: *mut mmsghdr, vlen: c_uint, flags: c_int) -> c_int {
        let Some(socket) = fdtable::lookup_socket(fd) else { return Outcome::Real };
        if flags & MSG_CMSG_COMPAT != 0 {
            return Outcome::Done(Err(Errno::EINVAL));
        }
        let count = (vlen as usize).min(UIO_MAXIOV);
        let mut sent = 0usize;
        let mut error = None;
        while sent < count {
            let entry = mmsghdr_address(msgs as usize, sent);
            let result = sendmsg_one(&socket, entry, flags, MSG_EOR).and_then(|len| {
                usermem::write_struct::<c_uint>(entry + offset_of!(mmsghdr, msg_len), &(len as c_uint))
            });
            if let Err(e) = result {
                error = Some(e);
                break;
            }
            sent += 1;
        }
        Outcome::Done(match error {
            Some(error) if sent == 0 => Err(error),
            _ => Ok(sent as c_int),
        })
    }
}

hook! {
    /// write(2) on a socket: vfs_write's access_ok, then sock_write_iter, which sends even
    /// 0 bytes (a zero-length datagram), unlike writev with an empty total.
    fn write(fd: c_int, buf: *const c_void, len: size_t) -> ssize_t {
        let Some(socket) = fdtable::lookup_socket(fd) else { return Outcome::Real };
        Outcome::Done((|| {
            if !usermem::access_ok(buf as usize, len) {
                return Err(Errno::EFAULT);
            }
            let iov = usermem::single_iovec(buf as usize, len)?;
            send_on(&socket, &[iov], Destination::None, &[], 0).map(|sent| sent as ssize_t)
        })())
    }
}

hook! {
    fn writev(fd: c_int, iov: *const iovec, count: c_int) -> ssize_t {
        let Some(socket) = fdtable::lookup_socket(fd) else { return Outcome::Real };
        Outcome::Done((|| {
            let iovecs = import_vector(iov, count)?;
            if usermem::total_len(&iovecs) == 0 {
                return Ok(0);
            }
            send_on(&socket, &iovecs, Destination::None, &[], 0).map(|sent| sent as ssize_t)
        })())
    }
}
