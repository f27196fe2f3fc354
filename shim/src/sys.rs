//! Raw system calls for the shim's own descriptors.
//!
//! Inside libipshim.so, `libc::close`, `libc::read`, `libc::poll`, `libc::fcntl`, ... resolve to
//! the shim's own hooks (the dynamic linker binds our exported symbols first). The engine, the
//! device, the pcap writer and the logger therefore never call those wrappers: they go straight
//! to the kernel through `syscall(2)`. Every wrapper returns `Result<_, Errno>`; a kernel errno
//! the stack's `Errno` does not list becomes EIO (only the shim's own plumbing sees those).

use std::ffi::CStr;
use std::os::fd::RawFd;
use std::time::Duration;

use stack::Errno;

/// `libc::syscall` with every argument widened to a full register. syscall(2) is variadic: an
/// `i32` passed through `...` leaves the upper half of its register undefined, and a kernel
/// parameter declared `unsigned long` then sees garbage (mmap's offset did: EINVAL).
macro_rules! raw_syscall {
    ($number:expr $(, $argument:expr)* $(,)?) => {
        libc::syscall($number $(, ($argument) as libc::c_long)*)
    };
}
pub(crate) use raw_syscall;

/// The errno left by glibc's `syscall()` wrapper after a -1 return.
fn last_errno() -> Errno {
    // SAFETY: __errno_location always returns the calling thread's errno slot.
    let raw = unsafe { *libc::__errno_location() };
    Errno::from_raw(raw).unwrap_or(Errno::EIO)
}

/// Turn a raw `syscall()` return value into a Result.
fn check(ret: libc::c_long) -> Result<libc::c_long, Errno> {
    if ret < 0 {
        Err(last_errno())
    } else {
        Ok(ret)
    }
}

/// Retry a system call interrupted by a signal handler: the shim's own plumbing is never the
/// place where a signal should surface (only `ppoll` in a wait reports EINTR to the caller).
fn retry_eintr(mut call: impl FnMut() -> libc::c_long) -> Result<libc::c_long, Errno> {
    loop {
        match check(call()) {
            Err(Errno::EINTR) => continue,
            other => return other,
        }
    }
}

pub fn socket(domain: i32, ty: i32, protocol: i32) -> Result<RawFd, Errno> {
    // SAFETY: plain integer arguments.
    check(unsafe { raw_syscall!(libc::SYS_socket, domain, ty, protocol) }).map(|fd| fd as RawFd)
}

/// bind(2) with an arbitrary sockaddr.
pub fn bind<T>(fd: RawFd, addr: &T) -> Result<(), Errno> {
    let len = std::mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: `addr` is a valid reference to `len` bytes.
    check(unsafe { raw_syscall!(libc::SYS_bind, fd, addr as *const T, len) }).map(drop)
}

/// setsockopt(2) with a value of any plain type.
pub fn setsockopt<T>(fd: RawFd, level: i32, name: i32, value: &T) -> Result<(), Errno> {
    let len = std::mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` is a valid reference to `len` bytes.
    check(unsafe {
        raw_syscall!(
            libc::SYS_setsockopt,
            fd,
            level,
            name,
            value as *const T,
            len,
        )
    })
    .map(drop)
}

/// getsockopt(2) into a plain struct; returns the length the kernel wrote.
pub fn getsockopt<T>(fd: RawFd, level: i32, name: i32, value: &mut T) -> Result<usize, Errno> {
    let mut len = std::mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: value and len are valid for writes of their sizes.
    check(unsafe {
        raw_syscall!(
            libc::SYS_getsockopt,
            fd,
            level,
            name,
            value as *mut T,
            &mut len as *mut libc::socklen_t,
        )
    })?;
    Ok(len as usize)
}

/// getsockopt(2) of an int option.
pub fn getsockopt_int(fd: RawFd, level: i32, name: i32) -> Result<i32, Errno> {
    let mut value: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: value and len are valid for writes of their sizes.
    check(unsafe {
        raw_syscall!(
            libc::SYS_getsockopt,
            fd,
            level,
            name,
            &mut value as *mut i32,
            &mut len as *mut libc::socklen_t,
        )
    })?;
    Ok(value)
}

/// ioctl(2) whose argument is a pointer to `T`.
pub fn ioctl<T>(fd: RawFd, request: libc::c_ulong, arg: &mut T) -> Result<(), Errno> {
    // SAFETY: `arg` is valid for reads and writes of size_of::<T>() bytes, which is what the
    // requests used by the shim (struct ifreq ones) access.
    check(unsafe { raw_syscall!(libc::SYS_ioctl, fd, request, arg as *mut T) }).map(drop)
}

/// close(2). EINTR is not retried: Linux has already released the descriptor (see close(2)).
pub fn close(fd: RawFd) -> Result<(), Errno> {
    // SAFETY: plain integer argument.
    check(unsafe { raw_syscall!(libc::SYS_close, fd) }).map(drop)
}

/// fcntl(fd, F_DUPFD_CLOEXEC, min): the lowest free descriptor >= `min`.
pub fn dup_cloexec_at_least(fd: RawFd, min: RawFd) -> Result<RawFd, Errno> {
    // SAFETY: plain integer arguments.
    check(unsafe { raw_syscall!(libc::SYS_fcntl, fd, libc::F_DUPFD_CLOEXEC, min) })
        .map(|fd| fd as RawFd)
}

/// The soft RLIMIT_NOFILE (prlimit64 on ourselves).
pub fn nofile_soft_limit() -> Result<u64, Errno> {
    let mut limit = libc::rlimit64 {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: pid 0 is the caller; new limit NULL; old limit points to a valid struct.
    check(unsafe {
        raw_syscall!(
            libc::SYS_prlimit64,
            0,
            libc::RLIMIT_NOFILE,
            std::ptr::null::<libc::rlimit64>(),
            &mut limit as *mut libc::rlimit64,
        )
    })?;
    Ok(limit.rlim_cur)
}

/// How many descriptor numbers just below the soft RLIMIT_NOFILE the shim keeps for itself.
/// Its own descriptors (packet socket, pcap file, one eventfd per thread that ever waited) go
/// there, so the numbers a program gets from open/socket/accept match a native run.
const HIGH_FD_RESERVE: u64 = 256;
/// The kernel sizes a process's descriptor table to its highest descriptor (expand_files): a
/// soft limit of 1048576, common in containers, would cost megabytes of kernel memory for one
/// packet socket. Above this the shim stays at this ceiling; a program would have to hold
/// ~65000 descriptors before its numbering could differ from a native run.
const HIGH_FD_CEILING: u64 = 1 << 16;

/// Move a descriptor the shim owns to the top of the descriptor space (F_DUPFD_CLOEXEC near the
/// soft RLIMIT_NOFILE, then close the low number) so it never takes a number the program would
/// get natively. When there is no room up there the low descriptor is kept (and logged): the
/// program still works, only its fd numbers may differ from a native run.
pub fn move_fd_high(fd: RawFd) -> RawFd {
    let soft = nofile_soft_limit().unwrap_or(1024).min(HIGH_FD_CEILING);
    let floor = soft.saturating_sub(HIGH_FD_RESERVE).max(soft / 2) as RawFd;
    if fd >= floor {
        return fd;
    }
    match dup_cloexec_at_least(fd, floor) {
        Ok(high) => {
            let _ = close(fd);
            high
        }
        Err(errno) => {
            tracing::warn!(fd, floor, %errno, "cannot move the shim's descriptor above the program's range");
            fd
        }
    }
}

/// eventfd2(2), non-blocking and close-on-exec.
pub fn eventfd() -> Result<RawFd, Errno> {
    // SAFETY: plain integer arguments.
    check(unsafe {
        raw_syscall!(
            libc::SYS_eventfd2,
            0,
            libc::EFD_NONBLOCK | libc::EFD_CLOEXEC,
        )
    })
    .map(|fd| fd as RawFd)
}

/// Add one to an eventfd counter (wakes whoever polls it).
pub fn eventfd_signal(fd: RawFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a valid u64. EAGAIN (counter saturated) already means
    // "readable", which is all a wake needs.
    let _ =
        retry_eintr(|| unsafe { raw_syscall!(libc::SYS_write, fd, &one as *const u64, 8usize) });
}

/// Reset an eventfd counter to zero; true if it was signalled.
pub fn eventfd_drain(fd: RawFd) -> bool {
    let mut value: u64 = 0;
    // SAFETY: reads 8 bytes into a valid u64.
    retry_eintr(|| unsafe { raw_syscall!(libc::SYS_read, fd, &mut value as *mut u64, 8usize) })
        .is_ok()
}

/// ppoll(2). `timeout` None waits forever; `sigmask` is installed for the duration of the call
/// exactly as ppoll/pselect/epoll_pwait do. EINTR is returned, not retried.
pub fn ppoll(
    fds: &mut [libc::pollfd],
    timeout: Option<Duration>,
    sigmask: Option<&libc::sigset_t>,
) -> Result<usize, Errno> {
    let timespec = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: t.subsec_nanos() as libc::c_long,
    });
    let timeout_ptr = timespec
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    let mask_ptr = sigmask.map_or(std::ptr::null(), |m| m as *const libc::sigset_t);
    // The kernel's sigset is _NSIG/8 = 8 bytes, not glibc's 128-byte sigset_t.
    const KERNEL_SIGSET_SIZE: usize = 8;
    // SAFETY: fds is a valid array of `len` pollfds; the timespec and mask outlive the call.
    check(unsafe {
        raw_syscall!(
            libc::SYS_ppoll,
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            timeout_ptr,
            mask_ptr,
            KERNEL_SIGSET_SIZE,
        )
    })
    .map(|n| n as usize)
}

/// recvmmsg(2) without a timeout.
pub fn recvmmsg(fd: RawFd, msgs: &mut [libc::mmsghdr], flags: i32) -> Result<usize, Errno> {
    // SAFETY: msgs is a valid array whose iovecs and control buffers the caller keeps alive.
    retry_eintr(|| unsafe {
        raw_syscall!(
            libc::SYS_recvmmsg,
            fd,
            msgs.as_mut_ptr(),
            msgs.len() as libc::c_uint,
            flags,
            std::ptr::null::<libc::timespec>(),
        )
    })
    .map(|n| n as usize)
}

/// sendmmsg(2): how many messages the kernel took.
pub fn sendmmsg(fd: RawFd, msgs: &mut [libc::mmsghdr], flags: i32) -> Result<usize, Errno> {
    // SAFETY: msgs is a valid array whose iovecs the caller keeps alive.
    retry_eintr(|| unsafe {
        raw_syscall!(
            libc::SYS_sendmmsg,
            fd,
            msgs.as_mut_ptr(),
            msgs.len() as libc::c_uint,
            flags,
        )
    })
    .map(|n| n as usize)
}

/// openat(AT_FDCWD, path, flags, mode).
pub fn open(path: &CStr, flags: i32, mode: libc::mode_t) -> Result<RawFd, Errno> {
    // SAFETY: path is NUL-terminated.
    retry_eintr(|| unsafe {
        raw_syscall!(
            libc::SYS_openat,
            libc::AT_FDCWD,
            path.as_ptr(),
            flags | libc::O_CLOEXEC,
            mode,
        )
    })
    .map(|fd| fd as RawFd)
}

/// Write all of `bytes` (retrying short writes).
pub fn write_all(fd: RawFd, mut bytes: &[u8]) -> Result<(), Errno> {
    while !bytes.is_empty() {
        // SAFETY: reads bytes.len() bytes from a valid slice.
        let n = retry_eintr(|| unsafe {
            raw_syscall!(libc::SYS_write, fd, bytes.as_ptr(), bytes.len())
        })? as usize;
        if n == 0 {
            return Err(Errno::EIO);
        }
        bytes = &bytes[n.min(bytes.len())..];
    }
    Ok(())
}

/// The whole content of a small file (a /proc/sys value).
pub fn read_small_file(path: &CStr) -> Result<Vec<u8>, Errno> {
    let fd = open(path, libc::O_RDONLY, 0)?;
    let mut content = Vec::new();
    let mut chunk = [0u8; 256];
    let result = loop {
        // SAFETY: writes at most chunk.len() bytes into a valid buffer.
        match retry_eintr(|| unsafe {
            raw_syscall!(libc::SYS_read, fd, chunk.as_mut_ptr(), chunk.len())
        }) {
            Ok(0) => break Ok(content),
            Ok(n) => content.extend_from_slice(&chunk[..n as usize]),
            Err(errno) => break Err(errno),
        }
        if content.len() > 64 * 1024 {
            // Not a /proc/sys value; the stack's Errno has no EFBIG.
            break Err(Errno::EIO);
        }
    };
    let _ = close(fd);
    result
}

/// CLOCK_MONOTONIC in nanoseconds. clock_gettime is not hooked (it is answered by the vDSO).
pub fn monotonic_nanos() -> u64 {
    clock_nanos(libc::CLOCK_MONOTONIC)
}

/// CLOCK_REALTIME as (seconds, nanoseconds).
pub fn realtime() -> (i64, i64) {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is valid for writes; CLOCK_REALTIME always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    (ts.tv_sec, ts.tv_nsec)
}

fn clock_nanos(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is valid for writes; the clock ids used here always exist.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

/// Eight random bytes from getrandom(2) (seeds the stack's randomness).
pub fn random_u64() -> u64 {
    let mut value: u64 = 0;
    // SAFETY: writes 8 bytes into a valid u64. On failure (a kernel without getrandom, or
    // seccomp) fall back to the clock: the seed only spreads ports and IP ids.
    let got = unsafe { raw_syscall!(libc::SYS_getrandom, &mut value as *mut u64, 8usize, 0) };
    if got != 8 {
        value = monotonic_nanos() ^ (realtime().1 as u64).rotate_left(32);
    }
    value
}

/// The calling thread's kernel thread id (for logs).
pub fn gettid() -> i64 {
    // SAFETY: no arguments.
    unsafe { raw_syscall!(libc::SYS_gettid) }
}

/// mmap(2) of `len` bytes of `fd`, shared and read-write (a packet ring; its pages are the
/// kernel's own, never swapped, so there is nothing to lock).
pub fn mmap_shared(fd: RawFd, len: usize) -> Result<*mut u8, Errno> {
    // SAFETY: a fresh mapping chosen by the kernel; nothing else is affected.
    let address = check(unsafe {
        raw_syscall!(
            libc::SYS_mmap,
            std::ptr::null_mut::<libc::c_void>(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd,
            0,
        )
    })?;
    Ok(address as *mut u8)
}

/// munmap(2) of a mapping made by `mmap_shared`.
pub fn munmap(address: *mut u8, len: usize) {
    // SAFETY: the caller owns the mapping and no reference into it outlives this call.
    let _ = unsafe { raw_syscall!(libc::SYS_munmap, address, len) };
}
