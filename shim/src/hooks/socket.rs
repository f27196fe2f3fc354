//! Socket lifetime and addressing: socket, socketpair, bind, connect, listen, accept, accept4,
//! getsockname, getpeername, shutdown, close. The order of checks inside each is the kernel's
//! (net/socket.c), so the errno precedence matches.

use std::net::SocketAddrV4;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use libc::{c_int, sockaddr, socklen_t};
use stack::{Errno, Shutdown, SocketId};

use crate::engine::{self, Engine};
use crate::fdtable::{self, FileKind, OpenFile, SocketFile};
use crate::hook;
use crate::hooks::blocking::{self, Direction};
use crate::hooks::stream;
use crate::hooks::{real_result, Outcome};
use crate::real;
use crate::usermem;

/// SOCK_TYPE_MASK (include/linux/net.h): the type proper, below the creation flags.
const SOCK_TYPE_MASK: c_int = 0xf;
/// SOCK_MAX: types at or above it are EINVAL in __sock_create.
const SOCK_MAX: c_int = 11;

/// The engine serving shim sockets (started by the first AF_INET socket()).
pub fn engine() -> Result<&'static Engine, Errno> {
    engine::get_or_init()
}

/// `struct sockaddr_in` as inet_getname writes it (sin_zero cleared).
pub fn sockaddr_in_bytes(addr: SocketAddrV4) -> [u8; 16] {
    let mut bytes = [0u8; 16];
    bytes[0..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
    bytes[2..4].copy_from_slice(&addr.port().to_be_bytes());
    bytes[4..8].copy_from_slice(&addr.ip().octets());
    bytes
}

/// Registers `fd` (a fresh kernel identity socket) as the program's handle on stack socket `id`.
fn register_socket(
    fd: c_int,
    id: SocketId,
    ty: c_int,
    protocol: c_int,
    nonblocking: bool,
) -> Result<(), Errno> {
    let identity = fdtable::kernel_identity(fd).ok_or(Errno::EBADF)?;
    let file = OpenFile {
        identity,
        kind: FileKind::Socket(SocketFile {
            id,
            ty,
            protocol,
            nonblocking: AtomicBool::new(nonblocking),
        }),
    };
    fdtable::insert(fd, Arc::new(file));
    Ok(())
}

/// The kernel socket that holds the fd number of a shim socket (DESIGN.md, File
/// descriptors): the same domain and type with the program's SOCK_NONBLOCK/SOCK_CLOEXEC, made
/// by the real socket(), so the number, EMFILE/ENFILE, O_NONBLOCK, FD_CLOEXEC and inheritance
/// across fork/exec are the kernel's own. Protocol 0 (the type's default): the identity is
/// never used for traffic, and the kernel may lack a protocol the stack serves (UDP-Lite).
/// SOCK_RAW has no default protocol (the kernel answers EPROTONOSUPPORT for protocol 0), so a
/// raw socket's identity is a datagram socket with the same flags: a real raw socket would
/// receive copies of the host's packets for nothing. (Added by R with raw sockets.)
fn create_identity(ty_with_flags: c_int) -> Result<c_int, Errno> {
    let ty = ty_with_flags & SOCK_TYPE_MASK;
    let identity_ty = if ty == libc::SOCK_RAW {
        (ty_with_flags & !SOCK_TYPE_MASK) | libc::SOCK_DGRAM
    } else {
        ty_with_flags
    };
    real_result(unsafe { real::socket(libc::AF_INET, identity_ty, 0) })
}

/// socket(AF_INET, ...): __sys_socket_create's order: flag bits (EINVAL), type range (EINVAL),
/// the protocol's own checks (inet_create, in the stack), then the descriptor (EMFILE).
fn create_socket(ty_with_flags: c_int, protocol: c_int) -> Result<c_int, Errno> {
    let flags = ty_with_flags & !SOCK_TYPE_MASK;
    if flags & !(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let ty = ty_with_flags & SOCK_TYPE_MASK;
    if ty >= SOCK_MAX {
        return Err(Errno::EINVAL);
    }
    let engine = engine()?;
    let credentials = engine.credentials();
    let id = engine.with_stack(|stack, _now| stack.socket(ty, protocol, credentials))?;
    let close_stack_socket = || engine.with_stack(|stack, now| stack.close(now, id));
    let fd = match create_identity(ty_with_flags) {
        Ok(fd) => fd,
        Err(error) => {
            close_stack_socket();
            return Err(error);
        }
    };
    if let Err(error) = register_socket(fd, id, ty, protocol, flags & libc::SOCK_NONBLOCK != 0) {
        close_stack_socket();
        unsafe { real::close(fd) };
        return Err(error);
    }
    Ok(fd)
}

/// SOCK_PACKET: with AF_INET, the obsolete packet interface. __sock_create turns the family
/// into PF_PACKET, so the socket is the kernel's packet socket, not an inet one.
const SOCK_PACKET: c_int = 10;

hook! {
    /// AF_INET sockets come from the stack; every other family is the kernel's.
    fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int {
        if domain != libc::AF_INET || ty & SOCK_TYPE_MASK == SOCK_PACKET {
            return Outcome::Real;
        }
        Outcome::Done(create_socket(ty, protocol))
    }
}

hook! {
    /// socketpair(AF_INET, ...) is answered by the kernel itself: __sys_socketpair reserves
    /// the fds (EMFILE), writes them (EFAULT), creates the inet sockets (inet_create's errno)
    /// and then fails with EOPNOTSUPP (sock_no_socketpair); nothing is left behind, and only
    /// the kernel gets that order of checks exactly right. Declared so the choice is explicit.
    fn socketpair(domain: c_int, ty: c_int, protocol: c_int, sv: *mut c_int) -> c_int {
        let _ = (domain, ty, protocol, sv);
        Outcome::Real
    }
}

hook! {
    /// __sys_bind: fd, then move_addr_to_kernel (EINVAL/EFAULT), then the protocol.
    fn bind(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
        let Some(socket) = fdtable::lookup_socket(fd) else { return Outcome::Real };
        Outcome::Done((|| {
            let address = usermem::read_sockaddr(addr as usize, len as c_int)?;
            engine()?.with_stack(|stack, _now| stack.bind(socket.id, &address))?;
            Ok(0)
        })())
    }
}

hook! {
    /// __sys_connect: fd (EBADF), move_addr_to_kernel, then the protocol (ENOTSOCK comes from
    /// the kernel for non-sockets, which are not ours).
    fn connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
        let Some(socket) = fdtable::lookup_socket(fd) else { return Outcome::Real };
        Outcome::Done((|| {
            let address = usermem::read_sockaddr(addr as usize, len as c_int)?;
            if stream::is_stream(&socket) {
                stream::connect_stream(&socket, &address)?;
                return Ok(0);
            }
            engine()?.with_stack(|stack, now| stack.connect(now, socket.id, &address))?;
            Ok(0)
        })())
    }
}

hook! {
    /// __sys_listen clamps the backlog to somaxconn; the protocol decides (UDP: EOPNOTSUPP).
    fn listen(fd: c_int, backlog: c_int) -> c_int {
        let Some(socket) = fdtable::lookup_socket(fd) else { return Outcome::Real };
        Outcome::Done(engine().and_then(|engine| {
            engine.with_stack(|stack, _now| stack.listen(socket.id, backlog)).map(|()| 0)
        }))
    }
}

/// __sys_accept4: flags (EINVAL) before anything; the protocol accepts (UDP: EOPNOTSUPP);
/// the new socket gets its own identity and the peer address goes out as move_addr_to_user.
fn accept_socket(
    fd: c_int,
    addr: *mut sockaddr,
    len: *mut socklen_t,
    flags: c_int,
) -> Outcome<c_int> {
    if flags & !(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK) != 0 {
        return Outcome::Done(Err(Errno::EINVAL));
    }
    let Some(socket) = fdtable::lookup_socket(fd) else {
        return Outcome::Real;
    };
    Outcome::Done((|| {
        let engine = engine()?;
        // Waits like a receive (inet_csk_accept: sock_rcvtimeo, O_NONBLOCK); datagram
        // sockets answer at once (EOPNOTSUPP).
        let nonblocking = socket.nonblocking.load(Ordering::Relaxed);
        let (id, peer) = blocking::run(
            engine,
            socket.id,
            Direction::Receive,
            nonblocking,
            |stack, _now| stack.accept(socket.id),
        )?;
        let close_stack_socket = || engine.with_stack(|stack, now| stack.close(now, id));
        let new_fd = match create_identity(socket.ty | flags) {
            Ok(new_fd) => new_fd,
            Err(error) => {
                close_stack_socket();
                return Err(error);
            }
        };
        if let Err(error) = register_socket(
            new_fd,
            id,
            socket.ty,
            socket.protocol,
            flags & libc::SOCK_NONBLOCK != 0,
        ) {
            close_stack_socket();
            unsafe { real::close(new_fd) };
            return Err(error);
        }
        if !addr.is_null() {
            // do_accept: the copy-out comes before
            // fd_install, so on failure the new socket and its fd are released.
            let copied =
                usermem::write_sockaddr(addr as usize, len as usize, &sockaddr_in_bytes(peer));
            if let Err(error) = copied {
                let file = fdtable::remove(new_fd);
                unsafe { real::close(new_fd) };
                drop(file);
                return Err(error);
            }
        }
        Ok(new_fd)
    })())
}

hook! {
    fn accept(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
        accept_socket(fd, addr, len, 0)
    }
}

hook! {
    fn accept4(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t, flags: c_int) -> c_int {
        accept_socket(fd, addr, len, flags)
    }
}

hook! {
    /// __sys_getsockname: inet_getname, then move_addr_to_user (truncate to the offered
    /// length, write back the real one).
    fn getsockname(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
        let Some(socket) = fdtable::lookup_socket(fd) else { return Outcome::Real };
        Outcome::Done((|| {
            let local = engine()?.with_stack(|stack, _now| stack.local_addr(socket.id))?;
            usermem::write_sockaddr(addr as usize, len as usize, &sockaddr_in_bytes(local))?;
            Ok(0)
        })())
    }
}

hook! {
    /// __sys_getpeername: ENOTCONN from the protocol before any copy.
    fn getpeername(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
        let Some(socket) = fdtable::lookup_socket(fd) else { return Outcome::Real };
        Outcome::Done((|| {
            let peer = engine()?.with_stack(|stack, _now| stack.peer_addr(socket.id))?;
            usermem::write_sockaddr(addr as usize, len as usize, &sockaddr_in_bytes(peer))?;
            Ok(0)
        })())
    }
}

hook! {
    /// inet_shutdown: `how` outside SHUT_RD..SHUT_RDWR is EINVAL.
    fn shutdown(fd: c_int, how: c_int) -> c_int {
        let Some(socket) = fdtable::lookup_socket(fd) else { return Outcome::Real };
        Outcome::Done((|| {
            let how = Shutdown::from_raw(how).ok_or(Errno::EINVAL)?;
            engine()?.with_stack(|stack, now| stack.shutdown(now, socket.id, how))?;
            Ok(0)
        })())
    }
}

hook! {
    /// Forget the number, then close the kernel identity (its answer is the answer). The stack
    /// socket is released when its last fd goes (`SocketFile::drop`), as the kernel releases
    /// a socket when the file's last reference drops.
    fn close(fd: c_int) -> c_int {
        let Some(file) = fdtable::lookup(fd) else { return Outcome::Real };
        // Remove before closing: once the number is free another thread's socket() may get
        // it, and its insert must not be undone by us.
        let removed = fdtable::remove(fd);
        let result = real::close(fd);
        drop(removed);
        drop(file);
        Outcome::Raw(result)
    }
}

/// CLOSE_RANGE_CLOEXEC (linux/close_range.h): mark close-on-exec instead of closing.
const CLOSE_RANGE_CLOEXEC: c_int = 1 << 2;

hook! {
    /// close_range(2) closes shim fds without passing through close(): forget the numbers
    /// (their sockets are released with their last fd), so a port is not kept bound by a
    /// socket the program can no longer name.
    fn close_range(first: libc::c_uint, last: libc::c_uint, flags: c_int) -> c_int {
        if fdtable::is_empty() || flags & CLOSE_RANGE_CLOEXEC != 0 {
            return Outcome::Real;
        }
        let result = real::close_range(first, last, flags);
        if result == 0 {
            drop(fdtable::remove_range(first, last));
        }
        Outcome::Raw(result)
    }
}

hook! {
    /// closefrom(3): glibc closes with close_range (or one by one through its internal
    /// close); either way our close() never sees it.
    fn closefrom(lowfd: c_int) -> () {
        if fdtable::is_empty() {
            return Outcome::Real;
        }
        real::closefrom(lowfd);
        drop(fdtable::remove_range(lowfd.max(0) as u32, u32::MAX));
        Outcome::Raw(())
    }
}
