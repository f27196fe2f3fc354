//! glibc's _FORTIFY_SOURCE entry points (debug/recv_chk.c, recvfrom_chk.c, read_chk.c): a
//! program built with -D_FORTIFY_SOURCE calls these instead of recv/recvfrom/read when the
//! compiler knows the buffer size. glibc aborts through __chk_fail when the length exceeds
//! the buffer, before any I/O; then it is the plain call. (__poll_chk and __ppoll_chk live
//! with poll.)

use libc::{c_int, c_void, size_t, sockaddr, socklen_t, ssize_t};

use crate::hook;
use crate::hooks::receive::{read_impl, recvfrom_impl};

extern "C" {
    /// glibc: prints "*** buffer overflow detected ***: terminated" and aborts.
    fn __chk_fail() -> !;
}

hook! {
    fn __recv_chk(fd: c_int, buf: *mut c_void, len: size_t, buflen: size_t, flags: c_int) -> ssize_t {
        if len > buflen {
            __chk_fail();
        }
        recvfrom_impl(fd, buf, len, flags, std::ptr::null_mut(), std::ptr::null_mut())
    }
}

hook! {
    fn __recvfrom_chk(fd: c_int, buf: *mut c_void, len: size_t, buflen: size_t, flags: c_int, addr: *mut sockaddr, addrlen: *mut socklen_t) -> ssize_t {
        if len > buflen {
            __chk_fail();
        }
        recvfrom_impl(fd, buf, len, flags, addr, addrlen)
    }
}

hook! {
    fn __read_chk(fd: c_int, buf: *mut c_void, len: size_t, buflen: size_t) -> ssize_t {
        if len > buflen {
            __chk_fail();
        }
        read_impl(fd, buf, len)
    }
}
