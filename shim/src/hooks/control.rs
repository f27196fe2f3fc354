//! ioctl on shim sockets.
//!
//! - FIONBIO (and the generic FIOCLEX, FIONCLEX, FIOASYNC) are VFS-level: the identity fd
//!   holds the file's flags, so they go to it; FIONBIO then refreshes the O_NONBLOCK copy.
//! - FIONREAD/SIOCINQ, SIOCOUTQ, SIOCGSTAMP(NS) (old and new numbers) are the protocol's: the
//!   stack answers with the bytes the kernel would copy to the argument (EFAULT if it cannot).
//! - The netdevice ioctls (netdevice(7)) that read or change IPv4 addresses answer from the
//!   stack's interface (`stack::netdevice`): SIOCGIFCONF, and SIOCGIF/SIOCSIF ADDR, NETMASK,
//!   BRDADDR, DSTADDR naming the shim's interface. In the shim world the kernel has no IPv4
//!   address there, so its answers would be wrong. SIOCGIFHWADDR is the kernel's answer with
//!   the stack's MAC (IPSHIM_MAC). Every other netdevice request (index, name, flags, MTU,
//!   txqlen, metric, map, ethtool, device sets) is device state, the same device in both
//!   worlds: the identity socket (a kernel AF_INET socket) answers, with the program's own
//!   capabilities, so the kernel's EPERM rules hold as they are.
//! - Everything else goes to the identity socket.
//!
//! The kernel takes the request as `unsigned int` (SYSCALL_DEFINE3(ioctl)), so the upper
//! bits of glibc's `unsigned long` are ignored, as here.

use libc::{c_int, c_ulong};
use stack::netdevice::{self, InterfaceAddress, KernelIfconfRecord, IFNAMSIZ, IFREQ_LEN};
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
/// TCP's own: the urgent mark and the unsent bytes (tcp_ioctl).
const SIOCATMARK: u32 = 0x8905;
const SIOCOUTQNSD: u32 = 0x894B;
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
            // FIOSETOWN, SIOCSPGRP, FIOASYNC: the identity keeps the owner and O_ASYNC;
            // the socket becomes watched for SIGURG and O_ASYNC signals.
            0x8901 | 0x8902 | 0x5452 => {
                let Some(file) = fdtable::lookup(fd) else { return Outcome::Real };
                let async_before = crate::hooks::dup::async_flag(fd);
                let result = real::ioctl(fd, request, arg);
                if result == 0 {
                    let async_turned_on = !async_before && crate::hooks::dup::async_flag(fd);
                    crate::async_signals::watch(fd, &file, async_turned_on);
                }
                Outcome::Raw(result)
            }
            FIONREAD | SIOCOUTQ | SIOCATMARK | SIOCOUTQNSD | SIOCGSTAMP_OLD | SIOCGSTAMPNS_OLD | SIOCGSTAMP_NEW | SIOCGSTAMPNS_NEW => {
                let Some(socket) = fdtable::lookup_socket(fd) else { return Outcome::Real };
                Outcome::Done((|| {
                    let bytes = engine()?.with_stack(|stack, _now| stack.ioctl(socket.id, command as u64, crate::engine::wall_now()))?;
                    usermem::write_bytes(arg as usize, &bytes)?;
                    Ok::<c_int, Errno>(0)
                })())
            }
            netdevice::request::SIOCGIFCONF => {
                if fdtable::lookup_socket(fd).is_none() {
                    return Outcome::Real;
                }
                Outcome::Done(interface_list(fd, arg as usize).map(|()| 0))
            }
            netdevice::request::SIOCGIFHWADDR => {
                if fdtable::lookup_socket(fd).is_none() {
                    return Outcome::Real;
                }
                let result = real::ioctl(fd, request, arg);
                if result == 0 {
                    if let Err(errno) = stack_hardware_address(arg as usize) {
                        return Outcome::Done(Err(errno));
                    }
                }
                Outcome::Raw(result)
            }
            command if netdevice::is_address_request(command) => {
                if fdtable::lookup_socket(fd).is_none() {
                    return Outcome::Real;
                }
                address_request(command, arg as usize)
            }
            _ => Outcome::Real,
        }
    }
}

/// The stack's interface, as the netdevice answers describe it.
fn interface_address() -> Result<InterfaceAddress, Errno> {
    Ok(engine()?.with_stack(|stack, _now| InterfaceAddress::from_config(stack.interface())))
}

/// inet_ioctl → devinet_ioctl: get_user_ifreq first (EFAULT), then the device. Requests for
/// other devices (lo, unknown names: ENODEV) are the kernel's.
fn address_request(command: u32, arg: usize) -> Outcome<c_int> {
    let mut ifreq = [0u8; IFREQ_LEN];
    if let Err(errno) = usermem::read_into(arg, &mut ifreq) {
        return Outcome::Done(Err(errno));
    }
    let interface = match interface_address() {
        Ok(interface) => interface,
        Err(errno) => return Outcome::Done(Err(errno)),
    };
    if !netdevice::names_interface(&interface, &ifreq) {
        return Outcome::Real;
    }
    Outcome::Done((|| {
        let cap_net_admin = engine()?.credentials().cap_net_admin;
        // put_user_ifreq: the whole ifreq goes back, for the get requests only.
        if let Some(answer) = netdevice::devinet_ioctl(&interface, command, &ifreq, cap_net_admin)?
        {
            usermem::write_bytes(arg, &answer)?;
        }
        Ok(0)
    })())
}

/// After the kernel's SIOCGIFHWADDR succeeded on the program's ifreq: the station address of
/// the shim's interface is the stack's.
fn stack_hardware_address(arg: usize) -> Result<(), Errno> {
    let interface = interface_address()?;
    let mut ifreq = [0u8; IFREQ_LEN];
    usermem::read_into(arg, &mut ifreq)?;
    if netdevice::use_stack_hardware_address(&interface, &mut ifreq) {
        usermem::write_bytes(arg, &ifreq)?;
    }
    Ok(())
}

/// struct ifconf (linux/if.h): the length, then the buffer pointer (8-byte aligned).
#[repr(C)]
struct IfConf {
    len: c_int,
    buffer: *mut u8,
}

/// dev_ifconf: copy the ifconf in (EFAULT), write the records that fit (or count them all
/// when the buffer is NULL), then put the length back (EFAULT). A fault in the middle leaves
/// the records before it written, as copy_to_user record by record does.
fn interface_list(fd: c_int, arg: usize) -> Result<(), Errno> {
    let mut ifconf = [0u8; 16];
    usermem::read_into(arg, &mut ifconf)?;
    let requested_len = c_int::from_ne_bytes([ifconf[0], ifconf[1], ifconf[2], ifconf[3]]);
    let mut pointer = [0u8; 8];
    pointer.copy_from_slice(&ifconf[8..16]);
    let buffer = usize::from_ne_bytes(pointer);

    let interface = interface_address()?;
    let records = netdevice::merge_ifconf(&interface, &kernel_interface_list(fd)?);
    let total = if buffer == 0 {
        records.len() * IFREQ_LEN
    } else {
        let fit = netdevice::ifconf_records_that_fit(requested_len, records.len());
        for (index, record) in records.iter().take(fit).enumerate() {
            usermem::write_bytes(buffer + index * IFREQ_LEN, record)?;
        }
        fit * IFREQ_LEN
    };
    usermem::write_bytes(arg, &(total as c_int).to_ne_bytes())
}

/// The kernel's SIOCGIFCONF records for this namespace (the identity socket asks), each with
/// its device's ifindex so ours can be put in order. The list may grow between the length
/// question and the copy: a full buffer is asked again, a few times at most.
fn kernel_interface_list(fd: c_int) -> Result<Vec<KernelIfconfRecord>, Errno> {
    let mut query = IfConf {
        len: 0,
        buffer: std::ptr::null_mut(),
    };
    crate::sys::ioctl(
        fd,
        c_ulong::from(netdevice::request::SIOCGIFCONF),
        &mut query,
    )?;
    let mut capacity = usize::try_from(query.len).unwrap_or(0) + 4 * IFREQ_LEN;
    let mut bytes = Vec::new();
    for _attempt in 0..4 {
        bytes = vec![0u8; capacity];
        let mut list = IfConf {
            len: capacity as c_int,
            buffer: bytes.as_mut_ptr(),
        };
        crate::sys::ioctl(
            fd,
            c_ulong::from(netdevice::request::SIOCGIFCONF),
            &mut list,
        )?;
        let filled = usize::try_from(list.len).unwrap_or(0).min(capacity);
        bytes.truncate(filled);
        if filled < capacity {
            break;
        }
        capacity *= 2;
    }
    let records = bytes
        .chunks_exact(IFREQ_LEN)
        .map(|chunk| {
            let mut record = [0u8; IFREQ_LEN];
            record.copy_from_slice(chunk);
            KernelIfconfRecord {
                ifindex: kernel_ifindex(fd, &record),
                bytes: record,
            }
        })
        .collect();
    Ok(records)
}

/// SIOCGIFINDEX of the device a record's label belongs to; None if it just went away.
fn kernel_ifindex(fd: c_int, record: &[u8; IFREQ_LEN]) -> Option<u32> {
    let device = netdevice::device_of(netdevice::ifreq_label(record));
    let mut ifreq = [0u8; IFREQ_LEN];
    ifreq[..device.len().min(IFNAMSIZ - 1)]
        .copy_from_slice(&device[..device.len().min(IFNAMSIZ - 1)]);
    crate::sys::ioctl(fd, libc::SIOCGIFINDEX, &mut ifreq).ok()?;
    Some(u32::from_ne_bytes([
        ifreq[IFNAMSIZ],
        ifreq[IFNAMSIZ + 1],
        ifreq[IFNAMSIZ + 2],
        ifreq[IFNAMSIZ + 3],
    ]))
}
