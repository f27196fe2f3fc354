//! Socket options, shared by every inet socket type: the integer options as one table
//! (`table.rs`), the structured ones as explicit handlers (`structured.rs`), the values a
//! socket carries (`values.rs`). Transports call `set` / `get` for SOL_SOCKET and SOL_IP and
//! handle their own level (SOL_UDP, later SOL_TCP) themselves.

mod ip_header_options;
mod ip_structured;
pub mod multicast;
pub mod names;
pub mod socket_structured;
mod structured;
pub mod table;
pub mod values;

use core::cell::Cell;

use crate::config::{Credentials, Sysctls};
use crate::errno::Errno;

use names::level;
use table::{Decode, Encode, Range};
pub use values::SocketOptions;

/// What an option handler may consult besides the option values.
pub struct OptionContext<'a> {
    /// SOCK_DGRAM, SOCK_STREAM, ...
    pub socket_type: i32,
    /// IPPROTO_UDP, IPPROTO_UDPLITE, ...
    pub protocol: i32,
    pub creds: &'a Credentials,
    pub sysctls: &'a Sysctls,
    /// sk_err: SO_ERROR reads and clears it.
    pub pending_error: &'a Cell<Option<Errno>>,
    /// sk_state == TCP_LISTEN (SO_ACCEPTCONN).
    pub listening: bool,
    /// The route MTU of a connected socket (sk_dst_get), for IP_MTU; None: ENOTCONN.
    pub path_mtu: Option<u32>,
    /// optlen of the setsockopt being served.
    pub value_len: usize,
    /// The host's interfaces, for the options that name one (IP_MULTICAST_IF,
    /// IP_UNICAST_IF, the memberships).
    pub devices: &'a multicast::Devices<'a>,
    /// inet_num: the local port (IP_PROTOCOL reads it on a UDP socket).
    pub local_port: u16,
}

impl<'a> OptionContext<'a> {
    /// The context of an inet socket of `socket_type` and `protocol`, as every transport
    /// builds it: not listening, no route MTU (IP_MTU: ENOTCONN) and `value_len` 0. A caller
    /// that knows better sets those fields (`OptionContext { listening, ..OptionContext::new(..) }`).
    pub fn new(
        socket_type: i32,
        protocol: i32,
        creds: &'a Credentials,
        sysctls: &'a Sysctls,
        pending_error: &'a Cell<Option<Errno>>,
        devices: &'a multicast::Devices<'a>,
        local_port: u16,
    ) -> OptionContext<'a> {
        OptionContext {
            socket_type,
            protocol,
            creds,
            sysctls,
            pending_error,
            listening: false,
            path_mtu: None,
            value_len: 0,
            devices,
            local_port,
        }
    }
}

/// setsockopt(level, name) for SOL_SOCKET and SOL_IP. Other levels answer ENOPROTOOPT
/// (ip_setsockopt: "if (level != SOL_IP) return -ENOPROTOOPT").
///
/// Unknown SOL_IP names answer ENOPROTOOPT. The kernel then asks netfilter (ip_setsockopt /
/// ip_getsockopt → nf_setsockopt / nf_getsockopt), which serves the name ranges registered by
/// the modules loaded on the host: on this machine ip_tables (64..=65 set, 64..=67 get:
/// EINVAL or EPERM), ip_set (83 get) and arp_tables (96..). Those configure the host's
/// firewall, which the stack has nothing to do with: it answers as a kernel without those
/// modules does.
pub fn set(
    options: &mut SocketOptions,
    context: &OptionContext<'_>,
    level: i32,
    name: i32,
    value: &[u8],
) -> Result<(), Errno> {
    match level {
        level::SOL_SOCKET => set_socket_level(options, context, name, value),
        level::SOL_IP => set_ip_level(options, context, name, value),
        _ => Err(Errno::ENOPROTOOPT),
    }
}

/// getsockopt(level, name) for SOL_SOCKET and SOL_IP: the bytes to copy out, sized as the kernel
/// sizes them for a caller that offered `optlen` bytes. Other levels answer EOPNOTSUPP
/// (do_ip_getsockopt: "if (level != SOL_IP) return -EOPNOTSUPP").
pub fn get(
    options: &SocketOptions,
    context: &OptionContext<'_>,
    level: i32,
    name: i32,
    optlen: usize,
) -> Result<Vec<u8>, Errno> {
    get_with_value(options, context, level, name, optlen, None)
}

/// How many bytes of the caller's buffer getsockopt(level, name) reads before answering
/// (IP_MSFILTER and MCAST_MSFILTER: the header naming the group whose filter is asked for);
/// 0 for the options that only write it.
pub fn get_reads_value(level: i32, name: i32) -> usize {
    if level == level::SOL_IP {
        ip_structured::get_reads_value(name)
    } else {
        0
    }
}

/// `get` for the options that read the caller's buffer: `value` is what it held (None: it
/// could not be read).
pub fn get_with_value(
    options: &SocketOptions,
    context: &OptionContext<'_>,
    level: i32,
    name: i32,
    optlen: usize,
    value: Option<&[u8]>,
) -> Result<Vec<u8>, Errno> {
    match level {
        level::SOL_SOCKET | level::SOL_IP => {}
        _ => return Err(Errno::EOPNOTSUPP),
    }
    // do_ip_getsockopt hands the multicast routing names to ip_mroute_getsockopt before it
    // reads optlen.
    if level == level::SOL_IP && is_multicast_routing_option(name) {
        return Err(multicast_routing_refusal());
    }
    // Both sk_getsockopt and do_ip_getsockopt read optlen as an int: negative is EINVAL.
    if optlen > i32::MAX as usize {
        return Err(Errno::EINVAL);
    }
    if level == level::SOL_IP {
        if let Some(bytes) = ip_structured::get(options, context, name, optlen, value)? {
            return Ok(bytes);
        }
    }
    if let Some(bytes) = structured::get(options, context, level, name, optlen)? {
        return Ok(bytes);
    }
    let option = table::find(level, name).ok_or(Errno::ENOPROTOOPT)?;
    let getter = option.get.ok_or(Errno::ENOPROTOOPT)?;
    let value = getter(options, context);
    Ok(encode_int(option.encode, value, optlen))
}

/// setsockopt for SOL_SOCKET and SOL_IP when the caller's value cannot be read: Err with the
/// errno of the checks the kernel makes before copying, or EFAULT where it copies; Ok(()) when
/// it reads nothing of the value (the call then proceeds as with an empty value). Measured
/// natively with a bad pointer: SOL_SOCKET names copy an int once optlen >= 4 (EINVAL below,
/// SO_LINGER and the timeouts included); SO_BINDTODEVICE copies optlen bytes (nothing for 0);
/// SOL_IP's integer options copy an int or a byte as soon as optlen >= 1; the multicast
/// routing names refuse first; the other SOL_IP names copy nothing before refusing here.
///
/// `optmem_max` (net.core.optmem_max) bounds the filter options' length (ENOBUFS).
pub fn check_unreadable_value(
    level: i32,
    name: i32,
    optlen: usize,
    optmem_max: u32,
) -> Result<(), Errno> {
    match level {
        level::SOL_SOCKET if name == names::socket::SO_BINDTODEVICE => {
            if optlen == 0 {
                Ok(())
            } else {
                Err(Errno::EFAULT)
            }
        }
        level::SOL_SOCKET if optlen < 4 => Err(Errno::EINVAL),
        level::SOL_SOCKET => Err(Errno::EFAULT),
        level::SOL_IP if is_multicast_routing_option(name) => Err(multicast_routing_refusal()),
        // The structured SOL_IP options check their length before copying.
        level::SOL_IP if name == ip_header_options::IP_OPTIONS => {
            ip_header_options::check_unreadable(optlen).map_or(Ok(()), Err)
        }
        level::SOL_IP => match ip_structured::check_unreadable(false, name, optlen, optmem_max) {
            Some(errno) => Err(errno),
            None if optlen >= 1 && table::find(level::SOL_IP, name).is_some() => Err(Errno::EFAULT),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

fn set_socket_level(
    options: &mut SocketOptions,
    context: &OptionContext<'_>,
    name: i32,
    value: &[u8],
) -> Result<(), Errno> {
    // sk_setsockopt: SO_BINDTODEVICE has its own length rules; everything else needs an int
    // first, even names that turn out to be unknown.
    if name == names::socket::SO_BINDTODEVICE {
        // It needs the host's devices, which only a transport knows: UDP serves it before
        // calling here (udp/options.rs); a transport that does not is refused, not pretended.
        return Err(Errno::ENOPROTOOPT);
    }
    if value.len() < 4 {
        return Err(Errno::EINVAL);
    }
    if let Some(result) = structured::set(options, context, level::SOL_SOCKET, name, value) {
        return result;
    }
    let option = table::find(level::SOL_SOCKET, name).ok_or(Errno::ENOPROTOOPT)?;
    let decoded = read_int(value);
    apply(option, options, context, decoded)
}

fn set_ip_level(
    options: &mut SocketOptions,
    context: &OptionContext<'_>,
    name: i32,
    value: &[u8],
) -> Result<(), Errno> {
    // do_ip_setsockopt's first test, before the value is decoded.
    if is_multicast_routing_option(name) {
        return Err(multicast_routing_refusal());
    }
    if let Some(result) = structured::set(options, context, level::SOL_IP, name, value) {
        return result;
    }
    let option = table::find(level::SOL_IP, name).ok_or(Errno::ENOPROTOOPT)?;
    if !option.types.accepts(context.socket_type) {
        return Err(option.types.errno);
    }
    let decoded = match option.decode {
        Decode::Int => {
            if value.len() < 4 {
                return Err(Errno::EINVAL);
            }
            read_int(value)
        }
        Decode::IntOrByte | Decode::IntOrByteNonEmpty => {
            if option.decode == Decode::IntOrByteNonEmpty && value.is_empty() {
                return Err(Errno::EINVAL);
            }
            read_int_or_byte(value)
        }
    };
    apply(option, options, context, decoded)
}

/// MRT_BASE..=MRT_MAX (uapi linux/mroute.h): the options of a multicast routing daemon
/// (MRT_INIT, MRT_ADD_VIF, ...), ip_mroute_opt in include/linux/mroute.h.
const MRT_BASE: i32 = 200;
const MRT_MAX: i32 = MRT_BASE + 12;

fn is_multicast_routing_option(name: i32) -> bool {
    (MRT_BASE..=MRT_MAX).contains(&name)
}

/// ip_mroute_setsockopt / ip_mroute_getsockopt (net/ipv4/ipmr.c) serve only the raw IGMP
/// socket of a multicast routing daemon ("if (sk->sk_type != SOCK_RAW || inet_num !=
/// IPPROTO_IGMP) return -EOPNOTSUPP"); every socket the stack serves is refused that way, for
/// get and set alike. (Measured natively on a UDP socket: names 200..=212 answer EOPNOTSUPP
/// to both, 213 and up ENOPROTOOPT.) Raw sockets, when they come, must serve these for
/// IPPROTO_IGMP or keep refusing them deliberately.
fn multicast_routing_refusal() -> Errno {
    Errno::EOPNOTSUPP
}

fn apply(
    option: &table::IntOption,
    options: &mut SocketOptions,
    context: &OptionContext<'_>,
    value: i32,
) -> Result<(), Errno> {
    if let Range::Between { min, max, errno } = option.range {
        if value < min || value > max {
            return Err(errno);
        }
    }
    let setter = option.set.ok_or(Errno::ENOPROTOOPT)?;
    setter(options, context, value)
}

/// A native int from the first 4 bytes. Callers check the length first, each with the errno
/// its kernel function gives; a shorter value reads 0 instead of panicking.
pub(crate) fn read_int(value: &[u8]) -> i32 {
    value
        .get(..4)
        .and_then(|bytes| bytes.try_into().ok())
        .map_or(0, i32::from_ne_bytes)
}

/// do_ip_setsockopt's decoding: int if optlen >= 4, else one unsigned byte, else 0.
pub fn read_int_or_byte(value: &[u8]) -> i32 {
    match value.len() {
        0 => 0,
        1..=3 => i32::from(value[0]),
        _ => read_int(value),
    }
}

/// The getsockopt answer for an int option.
pub fn encode_int(encode: Encode, value: i32, optlen: usize) -> Vec<u8> {
    if encode == Encode::IntOrByte && optlen > 0 && optlen < 4 && (0..=255).contains(&value) {
        return vec![value as u8];
    }
    value.to_ne_bytes()[..optlen.min(4)].to_vec()
}

#[cfg(test)]
mod tests;
