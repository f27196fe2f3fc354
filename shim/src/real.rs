//! The real libc functions, behind our hooks.
//!
//! Inside libipshim.so a call to `libc::socket` binds to our own exported `socket` (LD_PRELOAD
//! puts us first in the global scope), so every piece of the shim that needs the kernel's
//! behaviour calls `real::socket` (or a raw syscall) instead. Each function here looks its
//! symbol up once with `dlsym(RTLD_NEXT, name)` (the next definition after ours: glibc's),
//! caches the address in an atomic, and calls it.
//!
//! A symbol glibc does not have (an older glibc without `epoll_pwait2`, say) answers -1 with
//! errno ENOSYS, which is what the program would see from a libc that lacks the wrapper.

use std::ffi::CStr;
use std::sync::atomic::{AtomicUsize, Ordering};

use libc::{
    c_int, c_uint, c_ulong, c_void, iovec, mmsghdr, msghdr, nfds_t, pollfd, sigset_t, size_t,
    sockaddr, socklen_t, ssize_t, timespec,
};

/// One lazily resolved libc symbol.
pub struct RealSymbol {
    name: &'static CStr,
    /// 0: not looked up yet; 1: looked up, absent; otherwise the address.
    address: AtomicUsize,
}

const ABSENT: usize = 1;

impl RealSymbol {
    pub const fn new(name: &'static CStr) -> RealSymbol {
        RealSymbol {
            name,
            address: AtomicUsize::new(0),
        }
    }

    /// The address of the next definition of the symbol, or None when libc has none.
    /// Racing first calls may both run dlsym; they store the same value.
    pub fn address(&self) -> Option<usize> {
        let mut address = self.address.load(Ordering::Acquire);
        if address == 0 {
            // SAFETY: dlsym with a NUL-terminated name; RTLD_NEXT is valid from a shared object.
            let found = unsafe { libc::dlsym(libc::RTLD_NEXT, self.name.as_ptr()) } as usize;
            address = if found == 0 { ABSENT } else { found };
            self.address.store(address, Ordering::Release);
        }
        (address != ABSENT).then_some(address)
    }

    pub fn name(&self) -> &'static CStr {
        self.name
    }
}

/// Sets errno to ENOSYS and answers -1 (as the integer type the function returns).
fn missing<R: FromMinusOne>() -> R {
    // SAFETY: __errno_location always returns this thread's errno.
    unsafe { *libc::__errno_location() = libc::ENOSYS };
    R::minus_one()
}

/// The C failure value, -1, in each integer return type the hooked functions use
/// (`sighandler_t` is a `size_t`: -1 is SIG_ERR).
pub trait FromMinusOne {
    fn minus_one() -> Self;
}
macro_rules! minus_one {
    ($($ty:ty),*) => { $(impl FromMinusOne for $ty { fn minus_one() -> Self { -1i64 as $ty } })* };
}
minus_one!(i32, i64, isize, usize);

/// closefrom(3) returns nothing.
impl FromMinusOne for () {
    fn minus_one() {}
}

/// Declares `pub unsafe fn name(args) -> ret` calling glibc's definition of `name`.
/// A trailing `...` declares a C variadic real function (fcntl, ioctl): we call it with the
/// one argument the hook received, exactly as a C caller would.
macro_rules! real_functions {
    ($( fn $name:ident ( $($arg:ident : $ty:ty),* $(; ... $($varg:ident : $vty:ty),*)? ) -> $ret:ty; )*) => {
        $(
            #[allow(clippy::missing_safety_doc)]
            pub unsafe fn $name($($arg: $ty),* $($(, $varg: $vty)*)?) -> $ret {
                static SYMBOL: RealSymbol = RealSymbol::new(
                    // SAFETY: the literal is NUL-terminated and has no inner NUL.
                    unsafe { CStr::from_bytes_with_nul_unchecked(concat!(stringify!($name), "\0").as_bytes()) }
                );
                match SYMBOL.address() {
                    Some(address) => {
                        let function: unsafe extern "C" fn($($ty),* $(, $($vty,)* ...)?) -> $ret =
                            std::mem::transmute(address);
                        function($($arg),* $($(, $varg)*)?)
                    }
                    None => missing(),
                }
            }
        )*
    };
}

real_functions! {
    fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int;
    fn socketpair(domain: c_int, ty: c_int, protocol: c_int, sv: *mut c_int) -> c_int;
    fn bind(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int;
    fn connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int;
    fn listen(fd: c_int, backlog: c_int) -> c_int;
    fn accept(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int;
    fn accept4(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t, flags: c_int) -> c_int;
    fn getsockname(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int;
    fn getpeername(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int;
    fn send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t;
    fn sendto(fd: c_int, buf: *const c_void, len: size_t, flags: c_int, addr: *const sockaddr, addrlen: socklen_t) -> ssize_t;
    fn sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t;
    fn sendmmsg(fd: c_int, msgs: *mut mmsghdr, vlen: c_uint, flags: c_int) -> c_int;
    fn recv(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int) -> ssize_t;
    fn recvfrom(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int, addr: *mut sockaddr, addrlen: *mut socklen_t) -> ssize_t;
    fn recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t;
    fn recvmmsg(fd: c_int, msgs: *mut mmsghdr, vlen: c_uint, flags: c_int, timeout: *mut timespec) -> c_int;
    fn read(fd: c_int, buf: *mut c_void, len: size_t) -> ssize_t;
    fn write(fd: c_int, buf: *const c_void, len: size_t) -> ssize_t;
    fn readv(fd: c_int, iov: *const iovec, count: c_int) -> ssize_t;
    fn writev(fd: c_int, iov: *const iovec, count: c_int) -> ssize_t;
    fn sendfile(out_fd: c_int, in_fd: c_int, offset: *mut libc::off_t, count: size_t) -> ssize_t;
    fn sendfile64(out_fd: c_int, in_fd: c_int, offset: *mut libc::off64_t, count: size_t) -> ssize_t;
    fn splice(fd_in: c_int, off_in: *mut libc::loff_t, fd_out: c_int, off_out: *mut libc::loff_t, len: size_t, flags: c_uint) -> ssize_t;
    fn close(fd: c_int) -> c_int;
    fn close_range(first: c_uint, last: c_uint, flags: c_int) -> c_int;
    fn closefrom(lowfd: c_int) -> ();
    fn shutdown(fd: c_int, how: c_int) -> c_int;
    fn dup(fd: c_int) -> c_int;
    fn dup2(fd: c_int, newfd: c_int) -> c_int;
    fn dup3(fd: c_int, newfd: c_int, flags: c_int) -> c_int;
    fn fcntl(fd: c_int, cmd: c_int; ... arg: c_ulong) -> c_int;
    fn fcntl64(fd: c_int, cmd: c_int; ... arg: c_ulong) -> c_int;
    fn ioctl(fd: c_int, request: c_ulong; ... arg: c_ulong) -> c_int;
    fn getsockopt(fd: c_int, level: c_int, name: c_int, value: *mut c_void, len: *mut socklen_t) -> c_int;
    fn setsockopt(fd: c_int, level: c_int, name: c_int, value: *const c_void, len: socklen_t) -> c_int;
    fn __recv_chk(fd: c_int, buf: *mut c_void, len: size_t, buflen: size_t, flags: c_int) -> ssize_t;
    fn __recvfrom_chk(fd: c_int, buf: *mut c_void, len: size_t, buflen: size_t, flags: c_int, addr: *mut sockaddr, addrlen: *mut socklen_t) -> ssize_t;
    fn __read_chk(fd: c_int, buf: *mut c_void, len: size_t, buflen: size_t) -> ssize_t;
    fn poll(fds: *mut pollfd, nfds: nfds_t, timeout: c_int) -> c_int;
    fn __poll_chk(fds: *mut pollfd, nfds: nfds_t, timeout: c_int, fdslen: size_t) -> c_int;
    fn ppoll(fds: *mut pollfd, nfds: nfds_t, timeout: *const timespec, sigmask: *const sigset_t) -> c_int;
    fn __ppoll_chk(fds: *mut pollfd, nfds: nfds_t, timeout: *const timespec, sigmask: *const sigset_t, fdslen: size_t) -> c_int;
    fn select(nfds: c_int, readfds: *mut libc::fd_set, writefds: *mut libc::fd_set, exceptfds: *mut libc::fd_set, timeout: *mut libc::timeval) -> c_int;
    fn pselect(nfds: c_int, readfds: *mut libc::fd_set, writefds: *mut libc::fd_set, exceptfds: *mut libc::fd_set, timeout: *const timespec, sigmask: *const sigset_t) -> c_int;
    fn epoll_create(size: c_int) -> c_int;
    fn epoll_create1(flags: c_int) -> c_int;
    fn epoll_ctl(epfd: c_int, op: c_int, fd: c_int, event: *mut libc::epoll_event) -> c_int;
    fn epoll_wait(epfd: c_int, events: *mut libc::epoll_event, maxevents: c_int, timeout: c_int) -> c_int;
    fn epoll_pwait(epfd: c_int, events: *mut libc::epoll_event, maxevents: c_int, timeout: c_int, sigmask: *const sigset_t) -> c_int;
    fn epoll_pwait2(epfd: c_int, events: *mut libc::epoll_event, maxevents: c_int, timeout: *const timespec, sigmask: *const sigset_t) -> c_int;
    fn sigaction(signum: c_int, act: *const libc::sigaction, oldact: *mut libc::sigaction) -> c_int;
    fn signal(signum: c_int, handler: libc::sighandler_t) -> libc::sighandler_t;
    fn bsd_signal(signum: c_int, handler: libc::sighandler_t) -> libc::sighandler_t;
    fn sysv_signal(signum: c_int, handler: libc::sighandler_t) -> libc::sighandler_t;
    fn __sysv_signal(signum: c_int, handler: libc::sighandler_t) -> libc::sighandler_t;
    fn siginterrupt(signum: c_int, interrupt: c_int) -> c_int;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_and_calls_glibc() {
        // In a test binary RTLD_NEXT finds glibc's definitions (we export nothing here).
        let fd = unsafe { socket(libc::AF_UNIX, libc::SOCK_DGRAM, 0) };
        assert!(fd >= 0);
        assert_eq!(
            unsafe { fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC as c_ulong) },
            0
        );
        assert_eq!(unsafe { fcntl(fd, libc::F_GETFD, 0) }, libc::FD_CLOEXEC);
        assert_eq!(unsafe { close(fd) }, 0);
    }

    #[test]
    fn absent_symbol_is_none() {
        let symbol = RealSymbol::new(c"ipshim_no_such_function");
        assert_eq!(symbol.address(), None);
        assert_eq!(symbol.address(), None);
    }
}
