//! SOL_SOCKET options with a structure or length rules of their own (sk_setsockopt /
//! sk_getsockopt in net/core/sock.c), beyond SO_LINGER and the timeouts (`structured.rs`):
//! SO_TIMESTAMPING (int or struct so_timestamping), SO_TXTIME (struct sock_txtime),
//! SO_MAX_PACING_RATE (int or u64), the peer credentials a datagram socket never has, the
//! socket filters, SO_NETNS_COOKIE; and, for the transport to call with the socket's own
//! state, SO_BINDTODEVICE, SO_COOKIE, SO_MEMINFO and SO_PEERNAME.
//!
//! Socket filters (net/core/filter.c, sock.c): SO_ATTACH_FILTER validates a classic program
//! and installs it (`crate::bpf`); UDP runs it over every datagram before queueing it
//! (udp/deliver.rs). The instructions live in the caller's memory behind the sock_fprog's
//! pointer: the shim copies them (`program_location`, then `ProgramCopy`). eBPF programs
//! (SO_ATTACH_BPF) are refused: the stack runs no eBPF.

use core::net::SocketAddrV4;

use std::sync::Arc;

use crate::bpf::{self, Instruction, Program};
use crate::errno::Errno;

use super::names::socket_more as so;
use super::values::SocketOptions;
use super::OptionContext;

/// SOF_TIMESTAMPING_* bits this kernel knows (SOF_TIMESTAMPING_LAST = TX_COMPLETION, 1 << 18).
const TIMESTAMPING_MASK: u32 = (1 << 19) - 1;
const SOF_TIMESTAMPING_OPT_ID: u32 = 1 << 7;
const SOF_TIMESTAMPING_OPT_TSONLY: u32 = 1 << 11;
const SOF_TIMESTAMPING_OPT_STATS: u32 = 1 << 12;
const SOF_TIMESTAMPING_BIND_PHC: u32 = 1 << 15;
const SOF_TIMESTAMPING_OPT_ID_TCP: u32 = 1 << 16;
/// sizeof(struct so_timestamping) and sizeof(struct sock_txtime).
const TIMESTAMPING_LEN: usize = 8;
const TXTIME_LEN: usize = 8;
/// SOF_TXTIME_DEADLINE_MODE | SOF_TXTIME_REPORT_ERRORS.
const TXTIME_FLAGS_MASK: u32 = 3;
/// The clocks sockopt_validate_clockid accepts.
const CLOCK_REALTIME: i32 = 0;
const CLOCK_MONOTONIC: i32 = 1;
const CLOCK_TAI: i32 = 11;
/// sizeof(struct ucred), sizeof(struct sock_fprog) and sizeof(u64).
const UCRED_LEN: usize = 12;
const FPROG_LEN: usize = 16;
const COOKIE_LEN: usize = 8;
/// BPF_MAXINSNS: the longest classic program.
const BPF_MAX_INSTRUCTIONS: u16 = 4096;
/// IFNAMSIZ: SO_BINDTODEVICE reads at most IFNAMSIZ - 1 bytes, and getsockopt wants room for
/// IFNAMSIZ.
const IFNAMSIZ: usize = 16;
/// SK_MEMINFO_VARS.
const MEMINFO_VARS: usize = 9;

/// Some(result) if `name` is served here (the caller checked optlen >= 4, as sk_setsockopt
/// does for every name but SO_BINDTODEVICE).
pub fn set(
    options: &mut SocketOptions,
    context: &OptionContext<'_>,
    name: i32,
    value: &[u8],
) -> Option<Result<(), Errno>> {
    let result = match name {
        so::SO_TIMESTAMPING_OLD | so::SO_TIMESTAMPING_NEW => {
            set_timestamping(options, name == so::SO_TIMESTAMPING_NEW, value)
        }
        so::SO_TXTIME => set_txtime(options, context, value),
        so::SO_MAX_PACING_RATE => {
            set_max_pacing_rate(options, value);
            Ok(())
        }
        so::SO_ATTACH_FILTER | so::SO_ATTACH_REUSEPORT_CBPF => attach_classic_program(
            options,
            name,
            value,
            ProgramCopy::NotRead,
            context.sysctls.optmem_max,
            0,
        ),
        so::SO_ATTACH_BPF | so::SO_ATTACH_REUSEPORT_EBPF => attach_bpf_program(value),
        _ => return None,
    };
    Some(result)
}

/// Ok(Some(bytes)) if `name` is served here.
pub fn get(
    options: &SocketOptions,
    context: &OptionContext<'_>,
    name: i32,
    optlen: usize,
) -> Result<Option<Vec<u8>>, Errno> {
    let full = match name {
        so::SO_TIMESTAMPING_OLD | so::SO_TIMESTAMPING_NEW => {
            // "Be strict about only returning the flags when they were set through the same
            // option": _NEW reads zeros unless SOCK_TSTAMP_NEW.
            let mut out = vec![0u8; TIMESTAMPING_LEN];
            if name == so::SO_TIMESTAMPING_OLD || options.timestamp_new {
                out[0..4].copy_from_slice(&options.timestamping_flags.to_ne_bytes());
                out[4..8].copy_from_slice(&options.bind_phc.to_ne_bytes());
            }
            out
        }
        so::SO_TXTIME => {
            let mut out = vec![0u8; TXTIME_LEN];
            out[0..4].copy_from_slice(&options.txtime_clock.to_ne_bytes());
            out[4..8].copy_from_slice(&options.txtime_flags.to_ne_bytes());
            out
        }
        // The u64 when the caller offers 8 bytes, else the rate capped at ~0U as an int.
        so::SO_MAX_PACING_RATE if optlen >= 8 => options.max_pacing_rate.to_ne_bytes().to_vec(),
        so::SO_MAX_PACING_RATE => (options.max_pacing_rate.min(u64::from(u32::MAX)) as u32)
            .to_ne_bytes()
            .to_vec(),
        // cred_to_ucred of a socket without a peer: pid 0, uid and gid -1.
        so::SO_PEERCRED => {
            let mut out = vec![0u8; UCRED_LEN];
            out[4..12].fill(0xff);
            out
        }
        // No peer credentials, no peer pidfd on a datagram socket.
        so::SO_PEERGROUPS | so::SO_PEERPIDFD => return Err(Errno::ENODATA),
        // sk_get_filter's bytes, uncut (the length it reports is `get_filter`'s).
        so::SO_GET_FILTER => return Ok(Some(get_filter(options, optlen)?.0)),
        // "if (len != sizeof(u64)) return -EINVAL".
        so::SO_NETNS_COOKIE => {
            if optlen != COOKIE_LEN {
                return Err(Errno::EINVAL);
            }
            context.sysctls.netns_cookie.to_ne_bytes().to_vec()
        }
        _ => return Ok(None),
    };
    Ok(Some(full[..optlen.min(full.len())].to_vec()))
}

/// sk_setsockopt's SO_TIMESTAMPING: a whole struct so_timestamping, else the int as the
/// flags; then sock_set_timestamping's checks in its order.
fn set_timestamping(options: &mut SocketOptions, new: bool, value: &[u8]) -> Result<(), Errno> {
    // The struct's bind_phc only matters with SOF_TIMESTAMPING_BIND_PHC, which fails below.
    let flags = read_u32(value, 0);
    if flags & !TIMESTAMPING_MASK != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & SOF_TIMESTAMPING_OPT_ID_TCP != 0 && flags & SOF_TIMESTAMPING_OPT_ID == 0 {
        return Err(Errno::EINVAL);
    }
    if flags & SOF_TIMESTAMPING_OPT_STATS != 0 && flags & SOF_TIMESTAMPING_OPT_TSONLY == 0 {
        return Err(Errno::EINVAL);
    }
    // sock_timestamping_bind_phc: no bound device, or one without PHC virtual clocks (the
    // only devices here are lo and a veth): EOPNOTSUPP.
    if flags & SOF_TIMESTAMPING_BIND_PHC != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    options
        .timestamp_key
        .flags_changed(options.timestamping_flags, flags);
    options.timestamping_flags = flags;
    // sock_valbool_flag(sk, SOCK_TSTAMP_NEW, optname == SO_TIMESTAMPING_NEW): shared with
    // SO_TIMESTAMP(NS)_NEW, so it also decides which SO_TIMESTAMP name reads 1.
    options.timestamp_new = new;
    Ok(())
}

/// SO_TXTIME: exactly a struct sock_txtime; known flags; a clock other than CLOCK_MONOTONIC
/// needs CAP_NET_ADMIN, then sockopt_validate_clockid.
fn set_txtime(
    options: &mut SocketOptions,
    context: &OptionContext<'_>,
    value: &[u8],
) -> Result<(), Errno> {
    if value.len() != TXTIME_LEN {
        return Err(Errno::EINVAL);
    }
    let clock = read_u32(value, 0) as i32;
    let flags = read_u32(value, 4);
    if flags & !TXTIME_FLAGS_MASK != 0 {
        return Err(Errno::EINVAL);
    }
    if clock != CLOCK_MONOTONIC && !context.creds.cap_net_admin {
        return Err(Errno::EPERM);
    }
    if !matches!(clock, CLOCK_REALTIME | CLOCK_MONOTONIC | CLOCK_TAI) {
        return Err(Errno::EINVAL);
    }
    options.txtime_enabled = true;
    options.txtime_clock = clock;
    options.txtime_flags = flags;
    Ok(())
}

/// SO_MAX_PACING_RATE: the int, with ~0U meaning ~0UL; a u64 when optlen >= 8.
fn set_max_pacing_rate(options: &mut SocketOptions, value: &[u8]) {
    options.max_pacing_rate = if value.len() >= 8 {
        let mut word = [0u8; 8];
        word.copy_from_slice(&value[..8]);
        u64::from_ne_bytes(word)
    } else {
        match read_u32(value, 0) {
            u32::MAX => u64::MAX,
            rate => u64::from(rate),
        }
    };
}

/// What the shim could copy of the instructions a struct sock_fprog points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgramCopy<'a> {
    /// Nobody read them (a caller without access to the program's memory).
    NotRead,
    Read(&'a [u8]),
    /// The copy faulted (copy_from_user: EFAULT).
    Fault,
}

/// Where the instructions of a SO_ATTACH_FILTER / SO_ATTACH_REUSEPORT_CBPF value are:
/// (address, bytes) when the kernel would copy them, i.e. a whole struct sock_fprog with a
/// length of 1..=BPF_MAXINSNS and a non-NULL filter (bpf_check_basics_ok); None otherwise
/// (the option then fails before the copy, or is another option).
pub fn program_location(level: i32, name: i32, value: &[u8]) -> Option<(u64, usize)> {
    if level != super::names::level::SOL_SOCKET
        || !matches!(name, so::SO_ATTACH_FILTER | so::SO_ATTACH_REUSEPORT_CBPF)
        || value.len() != FPROG_LEN
    {
        return None;
    }
    let (instructions, address) = fprog_fields(value);
    let length = usize::from(instructions);
    ((1..=bpf::MAX_INSTRUCTIONS).contains(&length) && address != 0)
        .then_some((address, length * bpf::INSTRUCTION_LEN))
}

/// struct sock_fprog: unsigned short len, then (padded to 8) the filter pointer.
fn fprog_fields(value: &[u8]) -> (u16, u64) {
    let mut pointer = [0u8; 8];
    pointer.copy_from_slice(&value[8..16]);
    (
        u16::from_ne_bytes([value[0], value[1]]),
        u64::from_ne_bytes(pointer),
    )
}

/// SO_ATTACH_FILTER / SO_ATTACH_REUSEPORT_CBPF in the kernel's order:
/// copy_bpf_fprog_from_user (optlen exactly sizeof(struct sock_fprog): EINVAL), __get_filter
/// (a locked socket: EPERM; bpf_check_basics_ok: EINVAL; the copy: EFAULT; bpf_check_classic
/// and the translation: EINVAL), then the charge: sk_attach_filter's __sk_filter_charge
/// (ENOMEM unless the program's bpf_prog_size fits net.core.optmem_max with the memory the
/// socket already holds, `held`: the filter it replaces, charged until the swap) or
/// sk_reuseport_attach_filter's (ENOMEM above optmem_max), and reuseport_attach_prog
/// (EINVAL without SO_REUSEPORT). `sequence` orders the reuseport programs of a group.
pub fn attach_classic_program(
    options: &mut SocketOptions,
    name: i32,
    value: &[u8],
    copy: ProgramCopy<'_>,
    optmem_max: u32,
    sequence: u64,
) -> Result<(), Errno> {
    if value.len() != FPROG_LEN {
        return Err(Errno::EINVAL);
    }
    if options.filter_locked {
        return Err(Errno::EPERM);
    }
    let (instructions, address) = fprog_fields(value);
    if instructions == 0 || instructions > BPF_MAX_INSTRUCTIONS || address == 0 {
        return Err(Errno::EINVAL);
    }
    let bytes = match copy {
        ProgramCopy::Read(bytes)
            if bytes.len() == usize::from(instructions) * bpf::INSTRUCTION_LEN =>
        {
            bytes
        }
        // A caller that cannot reach the program's memory (the ordinary setsockopt path,
        // which TCP sockets take: no filter runs there yet) refuses it as the kernel refuses
        // a program it cannot use.
        ProgramCopy::NotRead => return Err(Errno::EINVAL),
        _ => return Err(Errno::EFAULT),
    };
    let program = Program::new(Instruction::decode_all(bytes))?;
    let charge = program.charge();
    let limit = optmem_max as usize;
    if name == so::SO_ATTACH_REUSEPORT_CBPF {
        if charge > limit {
            return Err(Errno::ENOMEM);
        }
        if !options.reuse_port {
            return Err(Errno::EINVAL);
        }
        options.reuseport_program = Some((sequence, Arc::new(program)));
        return Ok(());
    }
    let held = options.filter.as_ref().map_or(0, |filter| filter.charge());
    if charge > limit || held + charge >= limit {
        return Err(Errno::ENOMEM);
    }
    options.filter = Some(Arc::new(program));
    Ok(())
}

/// The program a reuseport group runs (reuse->prog): the latest any member attached, whose
/// SO_ATTACH_REUSEPORT_CBPF `sequence` is the highest. TCP's listener groups and UDP's
/// port groups both ask this.
pub fn latest_reuseport_program<'a>(
    members: impl IntoIterator<Item = &'a SocketOptions>,
) -> Option<Arc<Program>> {
    members
        .into_iter()
        .filter_map(|options| options.reuseport_program.clone())
        .max_by_key(|(sequence, _)| *sequence)
        .map(|(_, program)| program)
}

/// reuseport_detach_prog over a group: `take_program` removes a member's program (true when
/// it held one) and runs for every member, so the program goes whichever member attached it.
/// ENOENT when none held one, EINVAL instead for a socket without SO_REUSEPORT.
pub fn detach_group_program(
    members: impl IntoIterator<Item = crate::socket::SocketId>,
    reuse_port: bool,
    mut take_program: impl FnMut(crate::socket::SocketId) -> bool,
) -> Result<(), Errno> {
    let mut removed = false;
    for member in members {
        removed |= take_program(member);
    }
    match (removed, reuse_port) {
        (true, _) => Ok(()),
        (false, true) => Err(Errno::ENOENT),
        (false, false) => Err(Errno::EINVAL),
    }
}

/// sk_detach_filter: EPERM when locked, ENOENT without a filter.
pub fn detach_filter(options: &mut SocketOptions) -> Result<(), Errno> {
    if options.filter_locked {
        return Err(Errno::EPERM);
    }
    options.filter.take().map(|_| ()).ok_or(Errno::ENOENT)
}

/// sk_get_filter: (bytes to copy, length to report). No filter: nothing, 0. A caller offering
/// 0 bytes learns the instruction count; otherwise it must offer at least that many *bytes*
/// ("if (len < fprog->len)" compares the byte length with the count: EINVAL), and then gets
/// all the instructions (8 bytes each, whatever it offered) and the count as the length.
pub fn get_filter(options: &SocketOptions, optlen: usize) -> Result<(Vec<u8>, usize), Errno> {
    let Some(filter) = &options.filter else {
        return Ok((Vec::new(), 0));
    };
    let count = filter.instructions().len();
    if optlen == 0 {
        return Ok((Vec::new(), count));
    }
    if optlen < count {
        return Err(Errno::EINVAL);
    }
    Ok((filter.encode(), count))
}

/// The memory the socket's filter is charged for (sk_omem_alloc's share: SO_MEMINFO).
pub fn filter_memory(options: &SocketOptions) -> u32 {
    options
        .filter
        .as_ref()
        .map_or(0, |filter| filter.charge() as u32)
}

/// SO_ATTACH_BPF / SO_ATTACH_REUSEPORT_EBPF with a BPF program descriptor: a negative one is
/// EBADF (bpf_prog_get_type); the stack runs no eBPF, so every other descriptor is refused as
/// one that is not a socket-filter program (EINVAL). A closed descriptor would be EBADF
/// natively; the stack does not look at the program's descriptor table.
fn attach_bpf_program(value: &[u8]) -> Result<(), Errno> {
    if (read_u32(value, 0) as i32) < 0 {
        return Err(Errno::EBADF);
    }
    Err(Errno::EINVAL)
}

/// The native u32 at `at`. Callers check the length first (`set` is only reached with
/// optlen >= 4); a value too short reads 0 instead of panicking.
fn read_u32(value: &[u8], at: usize) -> u32 {
    super::read_int(value.get(at..).unwrap_or_default()) as u32
}

/// A device the socket can be bound to: (ifindex, name).
pub type Device<'a> = (u32, &'a str);

/// sock_setbindtodevice: at most IFNAMSIZ - 1 bytes of name, cut at the first NUL; an empty
/// name unbinds; an unknown one is ENODEV. Returns the ifindex to bind to; the caller applies
/// sock_bindtoindex_locked's rules (`bind_to_index`).
pub fn device_index_for_name(devices: &[Device<'_>], value: &[u8]) -> Result<u32, Errno> {
    let raw = &value[..value.len().min(IFNAMSIZ - 1)];
    let name = raw.split(|&byte| byte == 0).next().unwrap_or(&[]);
    if name.is_empty() {
        return Ok(0);
    }
    devices
        .iter()
        .find(|(_, device)| device.as_bytes() == name)
        .map(|(index, _)| *index)
        .ok_or(Errno::ENODEV)
}

/// sock_bindtoindex_locked: rebinding a bound socket needs CAP_NET_RAW; negative is EINVAL.
pub fn bind_to_index(
    options: &mut SocketOptions,
    context: &OptionContext<'_>,
    index: i64,
) -> Result<(), Errno> {
    if options.bound_device != 0 && !context.creds.cap_net_raw {
        return Err(Errno::EPERM);
    }
    if index < 0 {
        return Err(Errno::EINVAL);
    }
    options.bound_device = index as u32;
    Ok(())
}

/// sock_getbindtodevice: unbound reads as length 0; else the caller must offer IFNAMSIZ
/// bytes (EINVAL), the index must still name a device (netdev_get_name: ENODEV), and the
/// name is copied with its NUL.
pub fn get_bound_device_name(
    options: &SocketOptions,
    devices: &[Device<'_>],
    optlen: usize,
) -> Result<Vec<u8>, Errno> {
    if options.bound_device == 0 {
        return Ok(Vec::new());
    }
    if optlen < IFNAMSIZ {
        return Err(Errno::EINVAL);
    }
    let (_, name) = devices
        .iter()
        .find(|(index, _)| *index == options.bound_device)
        .ok_or(Errno::ENODEV)?;
    let mut out = name.as_bytes().to_vec();
    out.push(0);
    Ok(out)
}

/// SO_COOKIE: "if (len < sizeof(u64)) return -EINVAL", then the 8 bytes.
pub fn get_cookie(cookie: u64, optlen: usize) -> Result<Vec<u8>, Errno> {
    if optlen < COOKIE_LEN {
        return Err(Errno::EINVAL);
    }
    Ok(cookie.to_ne_bytes().to_vec())
}

/// What sk_get_meminfo reports, in SK_MEMINFO_* order.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryInfo {
    pub receive_allocated: u32,
    pub receive_buffer: u32,
    pub send_allocated: u32,
    pub send_buffer: u32,
    pub forward_allocated: u32,
    pub send_queued: u32,
    pub option_memory: u32,
    pub backlog: u32,
    pub drops: u32,
}

/// SO_MEMINFO: `len = min(len, sizeof(meminfo))` bytes of the nine u32.
pub fn get_meminfo(info: &MemoryInfo, optlen: usize) -> Vec<u8> {
    let words: [u32; MEMINFO_VARS] = [
        info.receive_allocated,
        info.receive_buffer,
        info.send_allocated,
        info.send_buffer,
        info.forward_allocated,
        info.send_queued,
        info.option_memory,
        info.backlog,
        info.drops,
    ];
    let bytes: Vec<u8> = words.iter().flat_map(|word| word.to_ne_bytes()).collect();
    bytes[..optlen.min(bytes.len())].to_vec()
}

/// SO_PEERNAME: inet_getname(peer = 2): ENOTCONN without a peer; a caller asking for more
/// than the 16-byte sockaddr_in is EINVAL ("if (lv < len)"); else `len` bytes of it.
pub fn get_peer_name(peer: Option<SocketAddrV4>, optlen: usize) -> Result<Vec<u8>, Errno> {
    let peer = peer.ok_or(Errno::ENOTCONN)?;
    let address = crate::sockaddr::encode_in(peer);
    if address.len() < optlen {
        return Err(Errno::EINVAL);
    }
    Ok(address[..optlen].to_vec())
}

#[cfg(test)]
mod tests {
    use core::cell::Cell;
    use core::net::Ipv4Addr;

    use super::*;
    use crate::config::{Credentials, Sysctls};
    use crate::sockopt::multicast::Devices;

    /// Runs `body` with an OptionContext for a UDP socket with `creds`.
    fn with_context<R>(creds: Credentials, body: impl FnOnce(&OptionContext<'_>) -> R) -> R {
        let sysctls = Sysctls {
            netns_cookie: 0x1234,
            ..Sysctls::default()
        };
        let error = Cell::new(None);
        let no_route = |_| None;
        let devices = Devices {
            link_index: 2,
            link_address: Ipv4Addr::new(198, 18, 0, 2),
            route_interface: &no_route,
        };
        let context = OptionContext {
            socket_type: 2,
            protocol: 17,
            creds: &creds,
            sysctls: &sysctls,
            pending_error: &error,
            listening: false,
            path_mtu: None,
            value_len: 4,
            devices: &devices,
            local_port: 0,
        };
        body(&context)
    }

    const ROOT: Credentials = Credentials {
        cap_net_raw: true,
        cap_net_bind_service: true,
        cap_net_admin: true,
        in_ping_group: true,
    };

    fn options() -> SocketOptions {
        SocketOptions::new(&Sysctls::default())
    }

    // Each expectation below was measured natively on this machine's kernel.
    #[test]
    fn timestamping_flags_are_checked_in_the_kernels_order() {
        with_context(ROOT, |context| {
            let mut o = options();
            let set = |o: &mut SocketOptions, flags: i32| {
                set(o, context, so::SO_TIMESTAMPING_OLD, &flags.to_ne_bytes()).unwrap()
            };
            assert_eq!(set(&mut o, 1 << 16), Err(Errno::EINVAL));
            assert_eq!(set(&mut o, 1 << 12), Err(Errno::EINVAL));
            assert_eq!(set(&mut o, (1 << 12) | (1 << 11)), Ok(()));
            assert_eq!(set(&mut o, 1 << 15), Err(Errno::EOPNOTSUPP));
            assert_eq!(set(&mut o, 1 << 19), Err(Errno::EINVAL));
            assert_eq!(set(&mut o, -1), Err(Errno::EINVAL));
            assert_eq!(set(&mut o, 1 << 18), Ok(()));
            assert_eq!(o.timestamping_flags, 1 << 18);
            // _NEW reads zeros unless the flags were set through _NEW.
            let new = get(&o, context, so::SO_TIMESTAMPING_NEW, 8)
                .unwrap()
                .unwrap();
            assert_eq!(new, vec![0; 8]);
            set(&mut o, 8).unwrap();
            let old = get(&o, context, so::SO_TIMESTAMPING_OLD, 16)
                .unwrap()
                .unwrap();
            assert_eq!(old, vec![8, 0, 0, 0, 0, 0, 0, 0]);
        });
    }

    #[test]
    fn txtime_needs_the_exact_struct_and_a_known_clock() {
        let txtime = |clock: i32, flags: u32| {
            let mut value = clock.to_ne_bytes().to_vec();
            value.extend_from_slice(&flags.to_ne_bytes());
            value
        };
        with_context(ROOT, |context| {
            let mut o = options();
            assert_eq!(
                set(&mut o, context, so::SO_TXTIME, &txtime(CLOCK_TAI, 3)),
                Some(Ok(()))
            );
            assert_eq!(
                get(&o, context, so::SO_TXTIME, 8).unwrap().unwrap(),
                txtime(CLOCK_TAI, 3)
            );
            assert_eq!(
                set(&mut o, context, so::SO_TXTIME, &txtime(CLOCK_TAI, 4)),
                Some(Err(Errno::EINVAL))
            );
            assert_eq!(
                set(&mut o, context, so::SO_TXTIME, &txtime(7, 0)),
                Some(Err(Errno::EINVAL))
            );
            let mut long = txtime(CLOCK_MONOTONIC, 0);
            long.extend_from_slice(&[0; 4]);
            assert_eq!(
                set(&mut o, context, so::SO_TXTIME, &long),
                Some(Err(Errno::EINVAL))
            );
        });
        with_context(Credentials::default(), |context| {
            let mut o = options();
            assert_eq!(
                set(&mut o, context, so::SO_TXTIME, &txtime(CLOCK_TAI, 0)),
                Some(Err(Errno::EPERM))
            );
            assert_eq!(
                set(&mut o, context, so::SO_TXTIME, &txtime(CLOCK_MONOTONIC, 0)),
                Some(Ok(()))
            );
        });
    }

    #[test]
    fn max_pacing_rate_reads_an_int_or_a_u64() {
        with_context(ROOT, |context| {
            let mut o = options();
            assert_eq!(
                get(&o, context, so::SO_MAX_PACING_RATE, 7)
                    .unwrap()
                    .unwrap(),
                vec![0xff; 4]
            );
            set(
                &mut o,
                context,
                so::SO_MAX_PACING_RATE,
                &(-2i32).to_ne_bytes(),
            );
            assert_eq!(o.max_pacing_rate, 0xffff_fffe);
            set(
                &mut o,
                context,
                so::SO_MAX_PACING_RATE,
                &(-1i32).to_ne_bytes(),
            );
            assert_eq!(o.max_pacing_rate, u64::MAX);
            let rate = 0x1_2345_6789u64.to_ne_bytes();
            set(&mut o, context, so::SO_MAX_PACING_RATE, &rate);
            assert_eq!(
                get(&o, context, so::SO_MAX_PACING_RATE, 8)
                    .unwrap()
                    .unwrap(),
                rate
            );
            assert_eq!(
                get(&o, context, so::SO_MAX_PACING_RATE, 4)
                    .unwrap()
                    .unwrap(),
                vec![0xff; 4]
            );
            // Six bytes: only the int is read.
            set(&mut o, context, so::SO_MAX_PACING_RATE, &rate[..6]);
            assert_eq!(o.max_pacing_rate, 0x2345_6789);
        });
    }

    /// A sock_fprog for `count` instructions at a fake non-NULL address.
    fn fprog(count: u16) -> Vec<u8> {
        let mut value = count.to_ne_bytes().to_vec();
        value.resize(8, 0);
        value.extend_from_slice(&0x1000u64.to_ne_bytes());
        value
    }

    fn encode(program: &[Instruction]) -> Vec<u8> {
        program.iter().flat_map(|i| i.encode()).collect()
    }

    // Measured natively: each errno below, and SO_GET_FILTER's lengths.
    #[test]
    fn classic_filters_attach_detach_lock_and_read_back() {
        use crate::bpf::op::*;
        let ret = Instruction::statement(RET | K, 0x1234);
        let program = [
            Instruction::statement(LD | IMM, 5),
            Instruction::statement(ST, 1),
            ret,
        ];
        let bytes = encode(&program);
        let attach = |o: &mut SocketOptions, value: &[u8], copy: ProgramCopy<'_>| {
            attach_classic_program(o, so::SO_ATTACH_FILTER, value, copy, 131_072, 0)
        };
        let mut o = options();
        let read = ProgramCopy::Read(&bytes);
        assert_eq!(attach(&mut o, &fprog(3)[..15], read), Err(Errno::EINVAL));
        assert_eq!(attach(&mut o, &fprog(0), read), Err(Errno::EINVAL));
        assert_eq!(attach(&mut o, &fprog(4097), read), Err(Errno::EINVAL));
        let mut null = fprog(3);
        null[8..].fill(0);
        assert_eq!(attach(&mut o, &null, read), Err(Errno::EINVAL));
        assert_eq!(program_location(1, so::SO_ATTACH_FILTER, &null), None);
        assert_eq!(
            program_location(1, so::SO_ATTACH_FILTER, &fprog(3)),
            Some((0x1000, 24))
        );
        assert_eq!(
            attach(&mut o, &fprog(3), ProgramCopy::Fault),
            Err(Errno::EFAULT)
        );
        assert_eq!(
            attach(&mut o, &fprog(3), ProgramCopy::NotRead),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            attach(&mut o, &fprog(2), ProgramCopy::Read(&bytes[..16])),
            Err(Errno::EINVAL)
        );
        assert_eq!(get_filter(&o, 64), Ok((Vec::new(), 0)));
        assert_eq!(detach_filter(&mut o), Err(Errno::ENOENT));
        assert_eq!(attach(&mut o, &fprog(3), read), Ok(()));
        assert_eq!(get_filter(&o, 0), Ok((Vec::new(), 3)));
        assert_eq!(get_filter(&o, 2), Err(Errno::EINVAL));
        assert_eq!(get_filter(&o, 3), Ok((bytes.clone(), 3)));
        assert_eq!(filter_memory(&o), 96 + 8 * 7);
        // An invalid replacement leaves the filter in place.
        assert_eq!(
            attach(&mut o, &fprog(2), ProgramCopy::Read(&bytes[..16])),
            Err(Errno::EINVAL)
        );
        assert_eq!(get_filter(&o, 0), Ok((Vec::new(), 3)));
        o.filter_locked = true;
        assert_eq!(attach(&mut o, &fprog(3), read), Err(Errno::EPERM));
        assert_eq!(detach_filter(&mut o), Err(Errno::EPERM));
        with_context(ROOT, |context| {
            assert_eq!(
                set(&mut o, context, so::SO_ATTACH_BPF, &(-1i32).to_ne_bytes()),
                Some(Err(Errno::EBADF))
            );
            assert_eq!(
                get(&o, context, so::SO_GET_FILTER, 3),
                Ok(Some(bytes.clone()))
            );
        });
        // Reuseport programs need SO_REUSEPORT.
        let mut o = options();
        let reuseport = |o: &mut SocketOptions| {
            attach_classic_program(o, so::SO_ATTACH_REUSEPORT_CBPF, &fprog(3), read, 131_072, 7)
        };
        assert_eq!(reuseport(&mut o), Err(Errno::EINVAL));
        o.reuse_port = true;
        assert_eq!(reuseport(&mut o), Ok(()));
        assert_eq!(o.reuseport_program.as_ref().map(|p| p.0), Some(7));
    }

    #[test]
    fn filter_memory_is_charged_against_optmem_max() {
        use crate::bpf::op::*;
        // 4091 CPU loads and 3 TAX: 96 + 8 * 16371 = 131064 < 131072; one more TAX is not.
        let mut program =
            vec![Instruction::statement(LD | W | ABS, crate::bpf::SKF_AD_OFF + 36); 4091];
        program.extend([Instruction::statement(MISC | TAX, 0); 3]);
        program.push(Instruction::statement(RET | A, 0));
        let mut o = options();
        let bytes = encode(&program);
        let copy = ProgramCopy::Read(&bytes);
        let value = fprog(program.len() as u16);
        assert_eq!(
            attach_classic_program(&mut o, so::SO_ATTACH_FILTER, &value, copy, 131_072, 0),
            Ok(())
        );
        program.insert(0, Instruction::statement(MISC | TAX, 0));
        let bytes = encode(&program);
        let value = fprog(program.len() as u16);
        let mut fresh = options();
        assert_eq!(
            attach_classic_program(
                &mut fresh,
                so::SO_ATTACH_FILTER,
                &value,
                ProgramCopy::Read(&bytes),
                131_072,
                0
            ),
            Err(Errno::ENOMEM)
        );
    }

    #[test]
    fn peer_answers_of_a_socket_without_a_peer() {
        with_context(ROOT, |context| {
            let o = options();
            assert_eq!(
                get(&o, context, so::SO_PEERCRED, 5).unwrap().unwrap(),
                vec![0, 0, 0, 0, 0xff]
            );
            assert_eq!(get(&o, context, so::SO_PEERGROUPS, 64), Err(Errno::ENODATA));
            assert_eq!(get(&o, context, so::SO_NETNS_COOKIE, 9), Err(Errno::EINVAL));
            assert_eq!(
                get(&o, context, so::SO_NETNS_COOKIE, 8).unwrap().unwrap(),
                0x1234u64.to_ne_bytes().to_vec()
            );
        });
        assert_eq!(get_peer_name(None, 16), Err(Errno::ENOTCONN));
        let peer = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 1), 9);
        assert_eq!(get_peer_name(Some(peer), 17), Err(Errno::EINVAL));
        assert_eq!(
            get_peer_name(Some(peer), 8),
            Ok(vec![2, 0, 0, 9, 198, 18, 0, 1])
        );
        assert_eq!(get_cookie(5, 7), Err(Errno::EINVAL));
        assert_eq!(get_cookie(5, 64), Ok(5u64.to_ne_bytes().to_vec()));
    }

    #[test]
    fn device_names_follow_sock_setbindtodevice() {
        let devices: [Device<'_>; 2] = [(1, "lo"), (2, "eth0")];
        assert_eq!(device_index_for_name(&devices, b"eth0"), Ok(2));
        assert_eq!(device_index_for_name(&devices, b"lo\0xx"), Ok(1));
        assert_eq!(device_index_for_name(&devices, b""), Ok(0));
        assert_eq!(device_index_for_name(&devices, b"\0eth0"), Ok(0));
        assert_eq!(device_index_for_name(&devices, b"eth"), Err(Errno::ENODEV));
        // Only IFNAMSIZ - 1 bytes are read: "eth0" followed by eleven more is not eth0.
        assert_eq!(
            device_index_for_name(&devices, b"eth0xxxxxxxxxxxxxxxxx"),
            Err(Errno::ENODEV)
        );
        let mut o = options();
        assert_eq!(get_bound_device_name(&o, &devices, 0), Ok(Vec::new()));
        o.bound_device = 2;
        assert_eq!(get_bound_device_name(&o, &devices, 15), Err(Errno::EINVAL));
        assert_eq!(
            get_bound_device_name(&o, &devices, 16),
            Ok(b"eth0\0".to_vec())
        );
        o.bound_device = 999;
        assert_eq!(get_bound_device_name(&o, &devices, 16), Err(Errno::ENODEV));
        with_context(Credentials::default(), |context| {
            assert_eq!(bind_to_index(&mut o, context, 1), Err(Errno::EPERM));
            o.bound_device = 0;
            assert_eq!(bind_to_index(&mut o, context, -1), Err(Errno::EINVAL));
            assert_eq!(bind_to_index(&mut o, context, 1), Ok(()));
        });
    }

    #[test]
    fn meminfo_is_nine_words_cut_to_the_length() {
        let info = MemoryInfo {
            receive_buffer: 2304,
            send_buffer: 4608,
            drops: 3,
            ..MemoryInfo::default()
        };
        let full = get_meminfo(&info, 64);
        assert_eq!(full.len(), 36);
        assert_eq!(&full[4..8], &2304u32.to_ne_bytes());
        assert_eq!(&full[32..36], &3u32.to_ne_bytes());
        assert_eq!(get_meminfo(&info, 3).len(), 3);
    }
}
