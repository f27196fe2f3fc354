//! Descriptor duplication and descriptor flags: dup, dup2, dup3, fcntl, fcntl64.
//!
//! The kernel identity fd does the real work (the new number, EMFILE, EBADF, FD_CLOEXEC,
//! O_NONBLOCK on the shared open file description); the hook then records the new number as
//! another name for the same `OpenFile`, as the kernel's fd table points both numbers at one
//! struct file. Both sockets and shim epoll fds are duplicated this way.

use std::sync::atomic::Ordering;

use libc::{c_int, c_ulong};

use crate::fdtable::{self, OpenFile};
use crate::hook;
use crate::hooks::Outcome;
use crate::real;

/// After the real call made `new_fd` a copy of a shim file: record it.
fn record_duplicate(new_fd: c_int, file: std::sync::Arc<OpenFile>) {
    if new_fd >= 0 {
        fdtable::insert(new_fd, file);
    }
}

/// O_NONBLOCK as the kernel now holds it for `fd`'s open file description, copied into the
/// socket so the blocking decision needs no syscall. Called after F_SETFL and FIONBIO.
pub fn refresh_nonblocking(fd: c_int, file: &OpenFile) {
    if let Some(socket) = file.socket() {
        // SAFETY: F_GETFL takes no argument.
        let status = unsafe { real::fcntl(fd, libc::F_GETFL, 0) };
        if status >= 0 {
            socket
                .nonblocking
                .store(status & libc::O_NONBLOCK != 0, Ordering::Relaxed);
        }
    }
}

hook! {
    fn dup(fd: c_int) -> c_int {
        let Some(file) = fdtable::lookup(fd) else { return Outcome::Real };
        let new_fd = real::dup(fd);
        record_duplicate(new_fd, file);
        Outcome::Raw(new_fd)
    }
}

/// dup2/dup3: the kernel closes whatever `new_fd` was (silently), so a shim file there loses
/// that name even when `old_fd` is not ours.
fn duplicate_onto(old_fd: c_int, new_fd: c_int, call: impl FnOnce() -> c_int) -> Outcome<c_int> {
    let old_file = fdtable::lookup(old_fd);
    let new_is_ours = fdtable::lookup(new_fd).is_some();
    if old_file.is_none() && !new_is_ours {
        return Outcome::Real;
    }
    let result = call();
    if result >= 0 && old_fd != new_fd {
        match old_file {
            Some(file) => fdtable::insert(new_fd, file),
            None => drop(fdtable::remove(new_fd)),
        }
    }
    Outcome::Raw(result)
}

hook! {
    fn dup2(fd: c_int, newfd: c_int) -> c_int {
        duplicate_onto(fd, newfd, || real::dup2(fd, newfd))
    }
}

hook! {
    fn dup3(fd: c_int, newfd: c_int, flags: c_int) -> c_int {
        duplicate_onto(fd, newfd, || real::dup3(fd, newfd, flags))
    }
}

/// fcntl on a shim fd: F_DUPFD/F_DUPFD_CLOEXEC record the new number; F_SETFL updates the
/// O_NONBLOCK copy; everything else (F_GETFL, F_GETFD, F_SETFD, locks, ...) is the identity
/// fd's. The owner (F_SETOWN, F_SETOWN_EX), F_SETSIG and O_ASYNC are kept by the identity
/// too (F_GETOWN, F_GETOWN_EX and F_GETSIG answer from it); setting any of them makes the
/// socket watched, so the stack's events reach the owner as SIGURG and O_ASYNC signals
/// (async_signals.rs).
fn fcntl_impl(fd: c_int, cmd: c_int, call: impl FnOnce() -> c_int) -> Outcome<c_int> {
    let owner_command = matches!(
        cmd,
        libc::F_SETOWN | crate::async_signals::F_SETOWN_EX | crate::async_signals::F_SETSIG
    );
    if !owner_command && !matches!(cmd, libc::F_DUPFD | libc::F_DUPFD_CLOEXEC | libc::F_SETFL) {
        return Outcome::Real;
    }
    let Some(file) = fdtable::lookup(fd) else {
        return Outcome::Real;
    };
    // setfl calls ->fasync (fa_fd = this fd) only when O_ASYNC changes.
    let async_before = cmd == libc::F_SETFL && async_flag(fd);
    let result = call();
    if result >= 0 {
        if owner_command {
            crate::async_signals::watch(fd, &file, false);
        } else if cmd == libc::F_SETFL {
            refresh_nonblocking(fd, &file);
            if !async_before && async_flag(fd) {
                crate::async_signals::watch(fd, &file, true);
            }
        } else {
            record_duplicate(result, file);
        }
    }
    Outcome::Raw(result)
}

/// O_ASYNC as the identity's open file description holds it.
pub fn async_flag(fd: c_int) -> bool {
    // SAFETY: F_GETFL takes no argument.
    let status = unsafe { real::fcntl(fd, libc::F_GETFL, 0) };
    status >= 0 && status & libc::O_ASYNC != 0
}

hook! {
    /// Variadic in C; on x86_64 the third argument arrives in a register whatever its type.
    fn fcntl(fd: c_int, cmd: c_int, arg: c_ulong) -> c_int {
        fcntl_impl(fd, cmd, || real::fcntl(fd, cmd, arg))
    }
}

hook! {
    fn fcntl64(fd: c_int, cmd: c_int, arg: c_ulong) -> c_int {
        fcntl_impl(fd, cmd, || real::fcntl64(fd, cmd, arg))
    }
}
