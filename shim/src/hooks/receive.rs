//! Receiving: recv, recvfrom, recvmsg, recvmmsg, read, readv.
//!
//! Results are copied out in the kernel's order: data, control messages, address, msg_flags,
//! msg_controllen, batched into as few process_vm_writev calls as the order allows. A datagram
//! whose copy-out faults is lost and the call answers EFAULT, as udp_recvmsg does.

use std::cell::RefCell;
use std::mem::offset_of;
use std::time::{Duration, Instant as MonotonicInstant};

use libc::{
    c_int, c_uint, c_void, iovec, mmsghdr, msghdr, size_t, sockaddr, socklen_t, ssize_t, timespec,
};
use stack::socket::msg_flags::{MSG_DONTWAIT, MSG_ERRQUEUE, MSG_OOB, MSG_WAITFORONE};
use stack::{Errno, RecvArgs, RecvResult};

use crate::fdtable::{self, SocketRef};
use crate::hook;
use crate::hooks::blocking::{self, Direction};
use crate::hooks::io::{import_vector, is_nonblocking, with_buffer, MSG_CMSG_COMPAT};
use crate::hooks::socket::{engine, sockaddr_in_bytes};
use crate::hooks::stream;
use crate::hooks::Outcome;
use crate::usermem::{self, UIO_MAXIOV};

thread_local! {
    static RECEIVE_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The receive buffer offered to the stack: an IPv4 datagram never exceeds it, so truncation
/// (MSG_TRUNC) is decided exactly as with the program's larger buffer.
const RECEIVE_LIMIT: usize = 65536;

/// Receives one datagram into a buffer as large as `iovecs` and hands it, with the bytes
/// the stack wrote, to `deliver`, which copies it out and returns the call's result. A
/// stream copies its bytes into `iovecs` itself and hands `deliver` an empty slice.
fn receive_on(
    socket: &SocketRef,
    iovecs: &[iovec],
    control_capacity: usize,
    flags: c_int,
    deliver: impl FnOnce(&RecvResult, &[u8]) -> Result<usize, Errno>,
) -> Result<usize, Errno> {
    if stream::is_stream(socket) {
        return stream::receive_stream(socket, iovecs, control_capacity, flags, deliver);
    }
    let capacity = usermem::total_len(iovecs);
    let engine = engine()?;
    let nonblocking = is_nonblocking(socket, flags);
    with_buffer(&RECEIVE_BUFFER, |buffer| {
        if buffer.len() < RECEIVE_LIMIT {
            buffer.resize(RECEIVE_LIMIT, 0);
        }
        let capacity = capacity.min(RECEIVE_LIMIT);
        let args = RecvArgs {
            capacity,
            control_capacity,
            flags,
        };
        let buffer = &mut buffer[..capacity];
        let result = blocking::run(
            engine,
            socket.id,
            Direction::Receive,
            nonblocking,
            |stack, now| stack.recv(now, socket.id, args, buffer),
        )?;
        let copied = result.len.min(capacity);
        deliver(&result, &buffer[..copied])
    })
}

fn source_address_bytes(result: &RecvResult) -> Vec<u8> {
    result
        .from
        .map(|from| sockaddr_in_bytes(from).to_vec())
        .unwrap_or_default()
}

/// recvfrom's copy-out: the data (EFAULT), then move_addr_to_user when `address` is set: the
/// offered length (EFAULT; negative: EINVAL), min(offered, real) address bytes, the real
/// length. One read and one batched write instead of four copies.
fn copy_out_datagram(
    iovecs: &[iovec],
    data: &[u8],
    address: usize,
    len_address: usize,
    sockaddr: &[u8],
) -> Result<(), Errno> {
    if address == 0 {
        return usermem::scatter(iovecs, data);
    }
    let offered = match usermem::read_struct::<c_int>(len_address) {
        Ok(offered) if offered >= 0 => offered as usize,
        unusable => {
            usermem::scatter(iovecs, data)?;
            return Err(unusable.err().unwrap_or(Errno::EINVAL));
        }
    };
    let real_len = (sockaddr.len() as c_int).to_ne_bytes();
    let mut batch = usermem::WriteBatch::new();
    batch
        .scatter(iovecs, data)
        .bytes(address, &sockaddr[..offered.min(sockaddr.len())])
        .bytes(len_address, &real_len);
    batch.flush().map_err(|_| Errno::EFAULT)
}

/// ___sys_recvmsg for one msghdr at `address`.
fn recvmsg_one(socket: &SocketRef, address: usize, flags: c_int) -> Result<(usize, c_int), Errno> {
    let header: msghdr = usermem::read_struct(address)?;
    if !header.msg_name.is_null() && (header.msg_namelen as c_int) < 0 {
        return Err(Errno::EINVAL);
    }
    if header.msg_iovlen > UIO_MAXIOV {
        return Err(Errno::EMSGSIZE);
    }
    let iovecs = usermem::read_iovecs(header.msg_iov as usize, header.msg_iovlen)?;
    // put_cmsg writes nothing (MSG_CTRUNC) when msg_control is NULL, whatever the length.
    let control_capacity = if header.msg_control.is_null() {
        0
    } else {
        header.msg_controllen
    };
    let mut reported_flags = 0;
    let len = receive_on(socket, &iovecs, control_capacity, flags, |result, data| {
        reported_flags = result.flags;
        copy_out_message(address, &header, &iovecs, result, data)?;
        Ok(result.len)
    })?;
    Ok((len, reported_flags))
}

/// ____sys_recvmsg's copy-out, in its order: data (EFAULT), control messages (put_cmsg ignores
/// its own faults: the cmsgs are then simply not delivered and msg_controllen does not count
/// them), the address (move_addr_to_user against msg_namelen, which was validated when the
/// msghdr was read), msg_flags, msg_controllen. Batched into one write (two if the control
/// buffer faults).
fn copy_out_message(
    address: usize,
    header: &msghdr,
    iovecs: &[iovec],
    result: &RecvResult,
    data: &[u8],
) -> Result<(), Errno> {
    let sockaddr = source_address_bytes(result);
    let real_len = (sockaddr.len() as c_int).to_ne_bytes();
    let offered = header.msg_namelen as usize;
    let flags = result.flags.to_ne_bytes();
    let control_len = result.control.len().to_ne_bytes();
    let no_control = 0usize.to_ne_bytes();

    // put_cmsg writes each message's header and data, never the padding between messages.
    let control_ranges = stack::cmsg::written_ranges(&result.control);
    let build = |with_control: bool| {
        let mut batch = usermem::WriteBatch::new();
        if with_control {
            batch.scatter(iovecs, data);
            for range in &control_ranges {
                batch.bytes(
                    header.msg_control as usize + range.start,
                    &result.control[range.clone()],
                );
            }
        }
        if !header.msg_name.is_null() {
            batch
                .bytes(
                    header.msg_name as usize,
                    &sockaddr[..offered.min(sockaddr.len())],
                )
                .bytes(address + offset_of!(msghdr, msg_namelen), &real_len);
        }
        batch
            .bytes(address + offset_of!(msghdr, msg_flags), &flags)
            .bytes(
                address + offset_of!(msghdr, msg_controllen),
                if with_control {
                    &control_len
                } else {
                    &no_control
                },
            );
        batch
    };
    // Parts: the data (0), one per control message (1..=n), then the address and the fields.
    const DATA_PART: usize = 0;
    let control_parts = 1..=control_ranges.len();
    match build(true).flush() {
        Ok(()) => Ok(()),
        Err(DATA_PART) => Err(Errno::EFAULT),
        Err(part) if control_parts.contains(&part) => {
            build(false).flush().map_err(|_| Errno::EFAULT)
        }
        Err(_) => Err(Errno::EFAULT),
    }
}

/// The pending socket error, consumed (sock_error): SO_ERROR through the stack.
fn take_socket_error(socket: &SocketRef) -> Result<Option<Errno>, Errno> {
    const SOL_SOCKET: i32 = 1;
    const SO_ERROR: i32 = 4;
    let value =
        engine()?.with_stack(|stack, _now| stack.getsockopt(socket.id, SOL_SOCKET, SO_ERROR, 4))?;
    let raw = match value.as_slice() {
        [a, b, c, d] => i32::from_ne_bytes([*a, *b, *c, *d]),
        _ => 0,
    };
    Ok(if raw == 0 {
        None
    } else {
        Some(Errno::from_raw(raw).unwrap_or(Errno::EIO))
    })
}

/// __sys_recvfrom: import_ubuf, the protocol, then move_addr_to_user if `addr` is set.
pub(crate) fn recvfrom_impl(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    addrlen: *mut socklen_t,
) -> Outcome<ssize_t> {
    let Some(socket) = fdtable::lookup_socket(fd) else {
        return Outcome::Real;
    };
    Outcome::Done((|| {
        let iov = usermem::single_iovec(buf as usize, len)?;
        let received = receive_on(&socket, &[iov], 0, flags, |result, data| {
            copy_out_datagram(
                &[iov],
                data,
                addr as usize,
                addrlen as usize,
                &source_address_bytes(result),
            )?;
            Ok(result.len)
        })?;
        Ok(received as ssize_t)
    })())
}

/// read(2) on a socket: vfs_read's access_ok, then sock_read_iter (0 bytes asked: 0, without
/// touching the socket; O_NONBLOCK as MSG_DONTWAIT).
pub(crate) fn read_impl(fd: c_int, buf: *mut c_void, len: size_t) -> Outcome<ssize_t> {
    let Some(socket) = fdtable::lookup_socket(fd) else {
        return Outcome::Real;
    };
    Outcome::Done((|| {
        if !usermem::access_ok(buf as usize, len) {
            return Err(Errno::EFAULT);
        }
        let iov = usermem::single_iovec(buf as usize, len)?;
        if iov.iov_len == 0 {
            return Ok(0);
        }
        let received = receive_on(&socket, &[iov], 0, 0, |result, data| {
            usermem::scatter(&[iov], data)?;
            Ok(result.len)
        })?;
        Ok(received as ssize_t)
    })())
}

hook! {
    fn recv(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int) -> ssize_t {
        recvfrom_impl(fd, buf, len, flags, std::ptr::null_mut(), std::ptr::null_mut())
    }
}

hook! {
    fn recvfrom(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int, addr: *mut sockaddr, addrlen: *mut socklen_t) -> ssize_t {
        recvfrom_impl(fd, buf, len, flags, addr, addrlen)
    }
}

hook! {
    /// __sys_recvmsg: MSG_CMSG_COMPAT is EINVAL before the fd is looked at.
    fn recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t {
        let Some(socket) = fdtable::lookup_socket(fd) else { return Outcome::Real };
        if flags & MSG_CMSG_COMPAT != 0 {
            return Outcome::Done(Err(Errno::EINVAL));
        }
        Outcome::Done(recvmsg_one(&socket, msg as usize, flags).map(|(len, _)| len as ssize_t))
    }
}

/// The recvmmsg timeout: read (EFAULT) and validated (EINVAL) before the socket is touched.
fn read_recvmmsg_timeout(timeout: *mut timespec) -> Result<Option<Duration>, Errno> {
    if timeout.is_null() {
        return Ok(None);
    }
    let value: timespec = usermem::read_struct(timeout as usize)?;
    // poll_select_set_timeout → timespec64_valid.
    if value.tv_sec < 0 || !(0..1_000_000_000).contains(&value.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(Some(Duration::new(
        value.tv_sec as u64,
        value.tv_nsec as u32,
    )))
}

/// The `index`th entry of a program's mmsghdr array. Pointer arithmetic as C does it
/// (`++entry`): an array that runs off the top of the address space wraps to an address the
/// copy then rejects with EFAULT, instead of an overflow panic.
pub(crate) fn mmsghdr_address(base: usize, index: usize) -> usize {
    base.wrapping_add(index.wrapping_mul(std::mem::size_of::<mmsghdr>()))
}

/// do_recvmmsg (net/socket.c).
fn recvmmsg_impl(
    socket: &SocketRef,
    msgs: *mut mmsghdr,
    vlen: c_uint,
    mut flags: c_int,
    timeout: *mut timespec,
) -> Result<c_int, Errno> {
    let timeout_value = read_recvmmsg_timeout(timeout)?;
    // A valid timespec may be centuries long: the kernel's timespec64_add_safe saturates, so
    // a deadline past what Instant can hold means "no deadline" rather than a panic.
    let end = timeout_value.and_then(|t| MonotonicInstant::now().checked_add(t));
    let mut remaining = timeout_value;
    if flags & MSG_ERRQUEUE == 0 {
        if let Some(error) = take_socket_error(socket)? {
            return Err(error);
        }
    }
    // do_recvmmsg: `if (vlen > UIO_MAXIOV) vlen = UIO_MAXIOV;`
    let count = (vlen as usize).min(UIO_MAXIOV);
    let mut received = 0usize;
    let mut error = None;
    while received < count {
        let entry = mmsghdr_address(msgs as usize, received);
        let result =
            recvmsg_one(socket, entry, flags & !MSG_WAITFORONE).and_then(|(len, msg_flags)| {
                usermem::write_struct::<c_uint>(
                    entry + offset_of!(mmsghdr, msg_len),
                    &(len as c_uint),
                )?;
                Ok(msg_flags)
            });
        let msg_flags = match result {
            Ok(msg_flags) => msg_flags,
            Err(e) => {
                error = Some(e);
                break;
            }
        };
        received += 1;
        // MSG_WAITFORONE turns on MSG_DONTWAIT after one datagram.
        if flags & MSG_WAITFORONE != 0 {
            flags |= MSG_DONTWAIT;
        }
        match (end, timeout_value) {
            (Some(end), _) => {
                // The timeout is only looked at between datagrams (the kernel's known limit).
                let left = end.saturating_duration_since(MonotonicInstant::now());
                remaining = Some(left);
                if left.is_zero() {
                    break;
                }
            }
            // Saturated deadline: what is left is still (practically) all of it.
            (None, Some(all)) => remaining = Some(all),
            (None, None) => {}
        }
        if msg_flags & MSG_OOB != 0 {
            break;
        }
    }
    let result = match error {
        None => Ok(received as c_int),
        Some(error) if received == 0 => Err(error),
        // A later error after some datagrams: do_recvmmsg stores it in sk_err for the next
        // call or SO_ERROR, unless it is EAGAIN.
        Some(error) => {
            if error != Errno::EAGAIN {
                engine()?.with_stack(|stack, _now| stack.set_pending_error(socket.id, error))?;
            }
            Ok(received as c_int)
        }
    };
    if let (Ok(count), Some(left)) = (&result, remaining) {
        if *count > 0 {
            let value = timespec {
                tv_sec: left.as_secs() as libc::time_t,
                tv_nsec: left.subsec_nanos() as libc::c_long,
            };
            usermem::write_struct(timeout as usize, &value)?;
        }
    }
    result
}

hook! {
    fn recvmmsg(fd: c_int, msgs: *mut mmsghdr, vlen: c_uint, flags: c_int, timeout: *mut timespec) -> c_int {
        let Some(socket) = fdtable::lookup_socket(fd) else { return Outcome::Real };
        if flags & MSG_CMSG_COMPAT != 0 {
            return Outcome::Done(Err(Errno::EINVAL));
        }
        Outcome::Done(recvmmsg_impl(&socket, msgs, vlen, flags, timeout))
    }
}

hook! {
    fn read(fd: c_int, buf: *mut c_void, len: size_t) -> ssize_t {
        read_impl(fd, buf, len)
    }
}

hook! {
    fn readv(fd: c_int, iov: *const iovec, count: c_int) -> ssize_t {
        let Some(socket) = fdtable::lookup_socket(fd) else { return Outcome::Real };
        Outcome::Done((|| {
            let iovecs = import_vector(iov, count)?;
            let total = usermem::total_len(&iovecs);
            if total == 0 {
                return Ok(0);
            }
            let received = receive_on(&socket, &iovecs, 0, 0, |result, data| {
                usermem::scatter(&iovecs, data)?;
                Ok(result.len)
            })?;
            Ok(received as ssize_t)
        })())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mmsghdr_entries_wrap_instead_of_overflowing() {
        let size = std::mem::size_of::<mmsghdr>();
        assert_eq!(mmsghdr_address(0x1000, 2), 0x1000 + 2 * size);
        // An array starting just below the top of the address space: the entry wraps to a
        // low address (which the copy answers with EFAULT), with no overflow panic.
        let wrapped = mmsghdr_address(usize::MAX - 8, 1);
        assert_eq!(wrapped, size - 9);
        assert_eq!(
            usermem::read_struct::<msghdr>(wrapped).err(),
            Some(Errno::EFAULT)
        );
    }

    #[test]
    fn recvmmsg_timeouts_of_any_valid_length_are_accepted() {
        let forever = timespec {
            tv_sec: libc::time_t::MAX,
            tv_nsec: 999_999_999,
        };
        let timeout = read_recvmmsg_timeout(&forever as *const timespec as *mut timespec)
            .unwrap()
            .unwrap();
        // The deadline cannot be represented: no panic, treated as no deadline.
        assert!(MonotonicInstant::now().checked_add(timeout).is_none());
        let bad = timespec {
            tv_sec: 0,
            tv_nsec: 1_000_000_000,
        };
        assert_eq!(
            read_recvmmsg_timeout(&bad as *const timespec as *mut timespec),
            Err(Errno::EINVAL)
        );
    }
}
