//! IP_OPTIONS (do_ip_setsockopt / do_ip_getsockopt in net/ipv4/ip_sockglue.c): the IP header
//! options every datagram of the socket carries. The list is compiled by
//! `ipv4::socket_options` (ip_options_get); the socket keeps the compiled form, and
//! getsockopt answers ip_options_undo's copy of it.

use core::net::Ipv4Addr;

use crate::errno::Errno;
use crate::ipv4::socket_options::{Compiling, SocketIpOptions, MAX_OPTIONS_LEN};

use super::values::SocketOptions;
use super::OptionContext;

/// IP_OPTIONS (uapi linux/in.h).
pub const IP_OPTIONS: i32 = 4;

/// setsockopt(IP_OPTIONS): "if (optlen > 40) goto e_inval", then ip_options_get, which
/// replaces the socket's list (an empty value removes it). The value is not decoded as an int.
pub fn set(
    options: &mut SocketOptions,
    context: &OptionContext<'_>,
    value: &[u8],
) -> Result<(), Errno> {
    if value.len() > MAX_OPTIONS_LEN {
        return Err(Errno::EINVAL);
    }
    let devices = context.devices;
    // inet_addr_type(addr) == RTN_UNICAST, as far as the option context knows the host: not
    // one of our addresses, not 0/8 or limited broadcast (RTN_BROADCAST), not multicast. (The
    // subnet broadcast is not known here; only a prespecified timestamp naming it differs.)
    let is_foreign_unicast = |addr: Ipv4Addr| {
        !(addr.octets()[0] == 0
            || addr.is_broadcast()
            || addr.is_multicast()
            || devices.interface_of_address(addr).is_some())
    };
    let compiling = Compiling {
        cap_net_raw: context.creds.cap_net_raw,
        is_foreign_unicast: &is_foreign_unicast,
    };
    options.ip_options = SocketIpOptions::compile(value, &compiling)?;
    Ok(())
}

/// getsockopt(IP_OPTIONS): nothing (length 0) without options, else the first min(optlen,
/// optlen of the list) bytes of ip_options_undo's copy.
pub fn get(options: &SocketOptions, optlen: usize) -> Vec<u8> {
    if options.ip_options.is_empty() {
        return Vec::new();
    }
    let mut bytes = options.ip_options.undo();
    bytes.truncate(optlen);
    bytes
}

/// setsockopt(IP_OPTIONS) whose value cannot be read: the length check comes before
/// ip_options_get's copy (EFAULT); an empty value is never read.
pub fn check_unreadable(optlen: usize) -> Option<Errno> {
    if optlen > MAX_OPTIONS_LEN {
        Some(Errno::EINVAL)
    } else if optlen > 0 {
        Some(Errno::EFAULT)
    } else {
        None
    }
}
