//! ioctl on shim sockets.
//!
//! - FIONBIO (and the generic FIOCLEX, FIONCLEX, FIOASYNC) are VFS-level: the identity fd
//!   holds the file's flags, so they go to it; FIONBIO then refreshes the O_NONBLOCK copy.
//! - FIONREAD/SIOCINQ, SIOCOUTQ, SIOCGSTAMP(NS) (old and new numbers) are the protocol's: the
//!   stack answers with the bytes the kernel would copy to the argument (EFAULT if it cannot).
//! - Everything else goes to the identity socket for now: the netdevice ioctls (SIOCGIF*)
//!   then describe the real interfaces, which are the same; but the kernel has no IPv4
//!   address in the shim world, so e.g. SIOCGIFADDR differs (see docs).
//!
//! The kernel takes the request as `unsigned int` (SYSCALL_DEFINE3(ioctl)), so the upper
//! bits of glibc's `unsigned long` are ignored, as here.

use libc::{c_int, c_ulong};
use stack::Errno;

use crate::fdtable;
use crate::hook;
use crate::hooks::dup::refresh_nonblocking;
use crate::hooks::socket::engine;
use crate::hooks::Outcome;
use crate::real;
use crate::usermem;

const FIONBIO: u32 = 0x5421;
const FIONREAD: u32 = 0x541B;
const SIOCOUTQ: u32 = 0x5411;
const SIOCGSTAMP_OLD: u32 = 0x8906;
const SIOCGSTAMPNS_OLD: u32 = 0x8907;
const SIOCGSTAMP_NEW: u32 = 0x8010_8906;
const SIOCGSTAMPNS_NEW: u32 = 0x8010_8907;

hook! {
    fn ioctl(fd: c_int, request: c_ulong, arg: c_ulong) -> c_int {
        let command = request as u32;
        match command {
            FIONBIO => {
                let Some(file) = fdtable::lookup(fd) else { return Outcome::Real };
                let result = real::ioctl(fd, request, arg);
                if result == 0 {
                    refresh_nonblocking(fd, &file);
                }
                Outcome::Raw(result)
            }
            FIONREAD | SIOCOUTQ | SIOCGSTAMP_OLD | SIOCGSTAMPNS_OLD | SIOCGSTAMP_NEW | SIOCGSTAMPNS_NEW => {
                let Some(socket) = fdtable::lookup_socket(fd) else { return Outcome::Real };
                Outcome::Done((|| {
                    let bytes = engine()?.with_stack(|stack, _now| stack.ioctl(socket.id, command as u64, crate::engine::wall_now()))?;
                    usermem::write_bytes(arg as usize, &bytes)?;
                    Ok::<c_int, Errno>(0)
                })())
            }
            _ => Outcome::Real,
        }
    }
}
