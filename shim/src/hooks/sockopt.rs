//! getsockopt / setsockopt on shim sockets: the stack holds every option (including
//! SO_RCVTIMEO/SO_SNDTIMEO, which the blocking loop reads back); the hook only copies, in the
//! kernel's order.
//!
//! getsockopt (sk_getsockopt, do_ip_getsockopt, udp_lib_getsockopt): read optlen (EFAULT),
//! negative is EINVAL, the option's value is computed (its errno), copied to optval (EFAULT; a
//! NULL optval with a non-zero length faults here), then the length written back. One
//! exception in the kernel's order: do_ip_getsockopt refuses a level it does not serve
//! (EOPNOTSUPP) before it reads optlen, so when optlen cannot be used the stack is asked, with
//! an empty offer, whether the level is one it serves.
//!
//! setsockopt (do_sock_setsockopt): a negative optlen is EINVAL before anything; then the
//! value is copied in and handed to the stack. The kernel copies the value inside each option
//! handler, so for a bad optval some options answer their own EINVAL/ENOPROTOOPT before the
//! EFAULT; here the EFAULT comes first, except for a level the stack does not serve
//! (ENOPROTOOPT), which is asked for the same way as above.

use libc::{c_int, c_void, socklen_t};
use stack::Errno;

use crate::fdtable::{self, SocketRef};
use crate::hook;
use crate::hooks::socket::engine;
use crate::hooks::Outcome;
use crate::usermem;

const SOL_SOCKET: c_int = 1;
/// SO_GET_FILTER (= SO_ATTACH_FILTER).
const SO_GET_FILTER: c_int = 26;

/// The most option bytes copied in. Every option's own limit is far below (IP_MSFILTER's is
/// net.core.optmem_max), so a longer value still gets the stack's "too long" answer.
const SETSOCKOPT_COPY_LIMIT: usize = 1 << 20;

fn getsockopt_impl(
    socket: &SocketRef,
    level: c_int,
    name: c_int,
    optval: usize,
    optlen: usize,
) -> Result<c_int, Errno> {
    let engine = engine()?;
    let offered = match usermem::read_struct::<c_int>(optlen) {
        Ok(len) if len >= 0 => len as usize,
        unusable => {
            let error = unusable.err().unwrap_or(Errno::EINVAL);
            // sk_getsockopt reads optlen first, so SOL_SOCKET never needs the question
            // (and asking could consume SO_ERROR).
            if level != SOL_SOCKET {
                let probe =
                    engine.with_stack(|stack, _now| stack.getsockopt(socket.id, level, name, 0));
                if probe == Err(Errno::EOPNOTSUPP) {
                    return Err(Errno::EOPNOTSUPP);
                }
            }
            return Err(error);
        }
    };
    // sk_get_filter writes 8 bytes per instruction but reports the instruction count.
    if level == SOL_SOCKET && name == SO_GET_FILTER {
        let (bytes, reported) =
            engine.with_stack(|stack, _now| stack.get_socket_filter(socket.id, offered))?;
        usermem::write_bytes(optval, &bytes)?;
        usermem::write_struct::<c_int>(optlen, &(reported as c_int))?;
        return Ok(0);
    }
    let reads = stack::Stack::getsockopt_reads_value(level, name);
    let value = if reads > 0 {
        // IP_MSFILTER / MCAST_MSFILTER read the caller's buffer first (its header names the
        // group); an unreadable one is the stack's EFAULT, after its length check.
        let input = usermem::read_bytes(optval, offered.min(reads)).ok();
        engine.with_stack(|stack, _now| {
            stack.getsockopt_with_value(socket.id, level, name, input.as_deref(), offered)
        })?
    } else {
        engine.with_stack(|stack, _now| stack.getsockopt(socket.id, level, name, offered))?
    };
    usermem::write_bytes(optval, &value)?;
    usermem::write_struct::<c_int>(optlen, &(value.len() as c_int))?;
    Ok(0)
}

fn setsockopt_impl(
    socket: &SocketRef,
    level: c_int,
    name: c_int,
    optval: usize,
    optlen: c_int,
) -> Result<c_int, Errno> {
    if optlen < 0 {
        return Err(Errno::EINVAL);
    }
    let engine = engine()?;
    // The kernel judges the options' privileges (TCP_CONGESTION, SO_MARK, ...) by the
    // capabilities of the caller now, not of the socket's creator. (A socket the stack no
    // longer knows is left to the setsockopt below, which answers for it.)
    let caller = engine.credentials();
    let _ = engine.with_stack(|stack, _now| stack.set_caller_credentials(socket.id, caller));
    let len = (optlen as usize).min(SETSOCKOPT_COPY_LIMIT);
    let value = match usermem::read_bytes(optval, len) {
        Ok(value) => value,
        // The value is unreadable: the stack answers with the kernel's checks made before its
        // copy, EFAULT where it copies.
        Err(Errno::EFAULT) => {
            engine.with_stack(|stack, _now| {
                stack.setsockopt_unreadable(socket.id, level, name, optlen as usize)
            })?;
            return Ok(0);
        }
        Err(error) => return Err(error),
    };
    // SO_ATTACH_FILTER / SO_ATTACH_REUSEPORT_CBPF: the struct sock_fprog points to the
    // instructions, which the kernel copies after its own checks (EFAULT if unreadable).
    if let Some((address, len)) = stack::Stack::setsockopt_program_location(level, name, &value) {
        let program = usize::try_from(address)
            .ok()
            .and_then(|address| usermem::read_bytes(address, len).ok());
        engine.with_stack(|stack, now| {
            stack.setsockopt_with_program(now, socket.id, level, name, &value, program.as_deref())
        })?;
        return Ok(0);
    }
    engine.with_stack(|stack, now| stack.setsockopt(now, socket.id, level, name, &value))?;
    Ok(0)
}

hook! {
    fn getsockopt(fd: c_int, level: c_int, name: c_int, value: *mut c_void, len: *mut socklen_t) -> c_int {
        let Some(socket) = fdtable::lookup_socket(fd) else { return Outcome::Real };
        Outcome::Done(getsockopt_impl(&socket, level, name, value as usize, len as usize))
    }
}

hook! {
    fn setsockopt(fd: c_int, level: c_int, name: c_int, value: *const c_void, len: socklen_t) -> c_int {
        let Some(socket) = fdtable::lookup_socket(fd) else { return Outcome::Real };
        Outcome::Done(setsockopt_impl(&socket, level, name, value as usize, len as c_int))
    }
}
