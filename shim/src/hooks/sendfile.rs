//! sendfile(2) and splice(2) with a shim socket at one end. The kernel moves pages between
//! the file (or pipe) and the socket; here the bytes are read with ordinary system calls and
//! go through the stack like a send (or come from it like a receive). Calls with no shim
//! socket at either end are the kernel's.
//!
//! - sendfile to a shim socket: the file is read at its position (or `*offset`) in chunks,
//!   each sent as `send` would (blocking unless the socket is O_NONBLOCK; EPIPE raises
//!   SIGPIPE, as splice_to_socket sends without MSG_NOSIGNAL); the file position (or
//!   `*offset`) advances by what the socket took.
//! - sendfile from a shim socket: only into a pipe (splice_file_to_pipe; any other output
//!   is EINVAL, as splice_direct_to_actor reads only regular files and block devices):
//!   what one receive returns is written to the pipe, and only what the pipe took leaves
//!   the socket (peeked, written, then discarded); an `offset` is ESPIPE (a socket has no
//!   position). sendfile to a shim socket from anything but a regular file or block
//!   device is EINVAL for the same reason.
//! - splice pipe → shim socket: up to 64 KiB are read from the pipe and all of them sent
//!   (a nonblocking socket may wait once the pipe was drained, so no byte is lost);
//!   socket → pipe: one receive's bytes, written to the pipe (what it did not take stays
//!   in the socket). Offsets on the socket side are
//!   ESPIPE; neither end a pipe is EINVAL, as do_splice answers.

use libc::{c_int, c_uint, off64_t, off_t, size_t, ssize_t};
use stack::socket::msg_flags::{MSG_DONTWAIT, MSG_PEEK, MSG_TRUNC};
use stack::Errno;

use crate::fdtable::{self, SocketRef};
use crate::hook;
use crate::hooks::stream;
use crate::hooks::Outcome;
use crate::real;

/// The largest piece read from the file or pipe per step.
const CHUNK: usize = 256 * 1024;
/// SPLICE_F_NONBLOCK.
const SPLICE_F_NONBLOCK: c_uint = 2;
/// do_sendfile: "if (!max) max = ...MAX_RW_COUNT": counts are clamped to INT_MAX & PAGE_MASK.
const MAX_RW_COUNT: usize = (i32::MAX as usize) & !4095;

fn last_errno() -> Errno {
    Errno::from_raw(crate::hooks::errno()).unwrap_or(Errno::EIO)
}

fn local_iovec(data: &[u8]) -> libc::iovec {
    libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    }
}

/// Sends `data` from our own memory through the stream path (a local address range is as
/// good as the program's: process_vm_readv reads our own process).
fn send_local(socket: &SocketRef, data: &[u8], flags: c_int) -> Result<usize, Errno> {
    stream::send_stream(socket, &[local_iovec(data)], flags)
}

/// sendfile(out = shim socket, in = any readable fd).
fn sendfile_to_socket(
    socket: &SocketRef,
    in_fd: c_int,
    offset: Option<*mut off64_t>,
    count: usize,
) -> Result<usize, Errno> {
    // do_sendfile: the position comes from *offset (EFAULT) or the file; a negative one is
    // EINVAL (rw_verify_area).
    let mut position: off64_t = match offset {
        Some(pointer) => {
            let bytes = crate::usermem::read_bytes(pointer as usize, 8)?;
            i64::from_ne_bytes(bytes.try_into().map_err(|_| Errno::EFAULT)?)
        }
        None => {
            let at = unsafe { libc::lseek64(in_fd, 0, libc::SEEK_CUR) };
            if at < 0 {
                return Err(last_errno());
            }
            at
        }
    };
    if position < 0 {
        return Err(Errno::EINVAL);
    }
    let count = count.min(MAX_RW_COUNT);
    let mut buffer = vec![0u8; count.min(CHUNK)];
    let mut sent = 0usize;
    let mut failure = None;
    while sent < count {
        let want = (count - sent).min(buffer.len());
        let read = unsafe {
            libc::pread64(
                in_fd,
                buffer.as_mut_ptr() as *mut libc::c_void,
                want,
                position,
            )
        };
        if read < 0 {
            failure = Some(last_errno());
            break;
        }
        if read == 0 {
            break;
        }
        match send_local(socket, &buffer[..read as usize], 0) {
            Ok(taken) => {
                sent += taken;
                position += taken as off64_t;
                if taken < read as usize {
                    break;
                }
            }
            Err(error) => {
                failure = Some(error);
                break;
            }
        }
    }
    match offset {
        Some(pointer) => crate::usermem::write_bytes(pointer as usize, &position.to_ne_bytes())?,
        None => {
            unsafe { libc::lseek64(in_fd, position, libc::SEEK_SET) };
        }
    }
    match failure {
        Some(error) if sent == 0 => Err(error),
        _ => Ok(sent),
    }
}

/// One receive from the shim socket, written whole to `out_fd`.
fn socket_to_fd(
    socket: &SocketRef,
    out_fd: c_int,
    count: usize,
    flags: c_int,
) -> Result<usize, Errno> {
    let mut buffer = vec![0u8; count.min(CHUNK)];
    let local = libc::iovec {
        iov_base: buffer.as_mut_ptr() as *mut libc::c_void,
        iov_len: buffer.len(),
    };
    // The bytes are peeked, written, and only what the output took is then taken from the
    // socket: the kernel's splice leaves in the socket what the pipe or file did not take
    // (a full nonblocking pipe, a failed write), and so must this copy.
    let peeked = stream::receive_stream(socket, &[local], 0, flags | MSG_PEEK, |result, _| {
        Ok(result.len)
    })?;
    let mut written = 0usize;
    while written < peeked {
        let n = unsafe {
            real::write(
                out_fd,
                buffer[written..peeked].as_ptr() as *const libc::c_void,
                peeked - written,
            )
        };
        if n < 0 {
            if written == 0 {
                return Err(last_errno());
            }
            break;
        }
        if n == 0 {
            break;
        }
        written += n as usize;
    }
    if written == 0 {
        return Ok(0);
    }
    // TCP's MSG_TRUNC discards: the written bytes leave the socket without another copy.
    let discard = libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: written,
    };
    stream::receive_stream(
        socket,
        &[discard],
        0,
        MSG_TRUNC | MSG_DONTWAIT,
        |result, _| Ok(result.len),
    )
}

fn sendfile_impl(
    out_fd: c_int,
    in_fd: c_int,
    offset: Option<*mut off64_t>,
    count: size_t,
) -> Outcome<ssize_t> {
    if let Some(socket) = fdtable::lookup_socket(in_fd) {
        // do_sendfile: a socket has no FMODE_PREAD (ESPIPE with an offset); then only a pipe
        // can take from it (splice_file_to_pipe): any other output goes through
        // splice_direct_to_actor, which reads regular files and block devices alone.
        if offset.is_some() {
            return Outcome::Done(Err(Errno::ESPIPE));
        }
        return Outcome::Done(match file_type(out_fd) {
            Err(error) => Err(error),
            Ok(libc::S_IFIFO) => socket_to_fd(&socket, out_fd, count, 0).map(|n| n as ssize_t),
            Ok(_) => Err(Errno::EINVAL),
        });
    }
    if let Some(socket) = fdtable::lookup_socket(out_fd) {
        if !stream::is_stream(&socket) {
            // A datagram socket takes one datagram per splice step; not emulated.
            return Outcome::Done(Err(Errno::EINVAL));
        }
        // splice_direct_to_actor: the input must be a regular file or a block device (a
        // pipe without an offset is EINVAL; with one, pread's ESPIPE answers first).
        if offset.is_none() {
            match file_type(in_fd) {
                Err(error) => return Outcome::Done(Err(error)),
                Ok(libc::S_IFREG | libc::S_IFBLK) => {}
                Ok(_) => return Outcome::Done(Err(Errno::EINVAL)),
            }
        }
        return Outcome::Done(
            sendfile_to_socket(&socket, in_fd, offset, count).map(|n| n as ssize_t),
        );
    }
    Outcome::Real
}

hook! {
    fn sendfile(out_fd: c_int, in_fd: c_int, offset: *mut off_t, count: size_t) -> ssize_t {
        sendfile_impl(out_fd, in_fd, (!offset.is_null()).then_some(offset as *mut off64_t), count)
    }
}

hook! {
    fn sendfile64(out_fd: c_int, in_fd: c_int, offset: *mut off64_t, count: size_t) -> ssize_t {
        sendfile_impl(out_fd, in_fd, (!offset.is_null()).then_some(offset), count)
    }
}

/// Whether a read from the pipe would find data (or its writers gone) right now.
fn pipe_readable(fd: c_int) -> bool {
    let mut pollfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one pollfd; the real poll (ours would also work: the pipe is a kernel fd).
    unsafe { real::poll(&mut pollfd, 1, 0) > 0 }
}

/// The S_IFMT bits of an open descriptor (EBADF for none).
fn file_type(fd: c_int) -> Result<libc::mode_t, Errno> {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes one struct stat.
    let result = unsafe { libc::syscall(libc::SYS_fstat, fd, stat.as_mut_ptr()) };
    if result != 0 {
        return Err(last_errno());
    }
    // SAFETY: filled on success.
    Ok(unsafe { stat.assume_init() }.st_mode & libc::S_IFMT)
}

fn is_pipe(fd: c_int) -> bool {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes one struct stat.
    let result = unsafe { libc::syscall(libc::SYS_fstat, fd, stat.as_mut_ptr()) };
    // SAFETY: filled on success.
    result == 0 && unsafe { stat.assume_init() }.st_mode & libc::S_IFMT == libc::S_IFIFO
}

hook! {
    fn splice(fd_in: c_int, off_in: *mut libc::loff_t, fd_out: c_int, off_out: *mut libc::loff_t, len: size_t, flags: c_uint) -> ssize_t {
        let socket_in = fdtable::lookup_socket(fd_in);
        let socket_out = fdtable::lookup_socket(fd_out);
        if socket_in.is_none() && socket_out.is_none() {
            return Outcome::Real;
        }
        let dont_wait = if flags & SPLICE_F_NONBLOCK != 0 { libc::MSG_DONTWAIT } else { 0 };
        Outcome::Done((|| {
            // do_splice's order: which end is a pipe, then the offsets (ESPIPE on the pipe's
            // side; the socket has no FMODE_PREAD/PWRITE: EINVAL), then the transfer.
            if let Some(socket) = socket_out {
                if !is_pipe(fd_in) {
                    return Err(Errno::EINVAL);
                }
                if !off_in.is_null() {
                    return Err(Errno::ESPIPE);
                }
                if !off_out.is_null() {
                    return Err(Errno::EINVAL);
                }
                if flags & SPLICE_F_NONBLOCK != 0 && !pipe_readable(fd_in) {
                    return Err(Errno::EAGAIN);
                }
                let mut buffer = vec![0u8; len.min(65536)];
                let read = unsafe { real::read(fd_in, buffer.as_mut_ptr() as *mut libc::c_void, buffer.len()) };
                if read < 0 {
                    return Err(last_errno());
                }
                let data = &buffer[..read as usize];
                let mut sent = 0;
                while sent < data.len() {
                    // Every byte taken from the pipe must reach the socket.
                    sent += send_local(&socket, &data[sent..], 0)?;
                }
                return Ok(sent as ssize_t);
            }
            let socket = socket_in.ok_or(Errno::EINVAL)?;
            if !is_pipe(fd_out) {
                return Err(Errno::EINVAL);
            }
            if !off_out.is_null() {
                return Err(Errno::ESPIPE);
            }
            if !off_in.is_null() {
                return Err(Errno::EINVAL);
            }
            socket_to_fd(&socket, fd_out, len.min(65536), dont_wait).map(|n| n as ssize_t)
        })())
    }
}
