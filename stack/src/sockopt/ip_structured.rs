//! The SOL_IP options whose value is a structure (do_ip_setsockopt / do_ip_getsockopt in
//! net/ipv4/ip_sockglue.c): IP_MULTICAST_IF (in_addr, ip_mreq or ip_mreqn), the memberships
//! (ip_mreq / ip_mreqn), the source filters (ip_mreq_source, ip_msfilter), their
//! protocol-independent forms (group_req, group_source_req, group_filter: RFC 3678), and the
//! read-only IP_PROTOCOL. The membership rules themselves are in `multicast.rs`.

use core::net::Ipv4Addr;

use crate::errno::Errno;
use crate::socket::sock_type;

use super::multicast::{GroupRequest, Limits, MCAST_EXCLUDE, MCAST_INCLUDE};
use super::names::ip;
use super::values::SocketOptions;
use super::OptionContext;

/// sizeof(struct in_addr), struct ip_mreq, struct ip_mreqn, struct ip_mreq_source.
const IN_ADDR_LEN: usize = 4;
const MREQ_LEN: usize = 8;
const MREQN_LEN: usize = 12;
const MREQ_SOURCE_LEN: usize = 12;
/// IP_MSFILTER_SIZE(0): the four words before imsf_slist.
const MSFILTER_HEADER_LEN: usize = 16;
/// sizeof(struct __kernel_sockaddr_storage), aligned to 8 in the group structures.
const SOCKADDR_STORAGE_LEN: usize = 128;
/// sizeof(struct group_req): gr_interface, 4 bytes of padding, gr_group.
const GROUP_REQ_LEN: usize = 8 + SOCKADDR_STORAGE_LEN;
/// sizeof(struct group_source_req): gsr_interface, padding, gsr_group, gsr_source.
const GROUP_SOURCE_REQ_LEN: usize = 8 + 2 * SOCKADDR_STORAGE_LEN;
/// GROUP_FILTER_SIZE(0): gf_interface, padding, gf_group, gf_fmode, gf_numsrc.
const GROUP_FILTER_HEADER_LEN: usize = 8 + SOCKADDR_STORAGE_LEN + 8;
const AF_INET: u16 = 2;

/// Where the two source-filter structures keep their fields: struct ip_msfilter (IP_MSFILTER:
/// in_addr fields) and struct group_filter (MCAST_MSFILTER: sockaddr_storage fields, RFC
/// 3678). Both are a header naming the group, the filter mode and the number of sources,
/// then the sources.
struct FilterLayout {
    /// imsf_fmode / gf_fmode and imsf_numsrc / gf_numsrc.
    mode_at: usize,
    count_at: usize,
    /// IP_MSFILTER_SIZE(0) / GROUP_FILTER_SIZE(0): where the sources start.
    header_len: usize,
    /// One source: an in_addr or a sockaddr_storage.
    source_len: usize,
    /// The first count whose size would overflow 32 bits: "numsrc >= (1G-4)" and
    /// "numsrc >= (4G-140)/128".
    count_overflow: u32,
}

const IP_MSFILTER: FilterLayout = FilterLayout {
    mode_at: 8,
    count_at: 12,
    header_len: MSFILTER_HEADER_LEN,
    source_len: IN_ADDR_LEN,
    count_overflow: 0x3fff_fffc,
};

const GROUP_FILTER: FilterLayout = FilterLayout {
    mode_at: 8 + SOCKADDR_STORAGE_LEN,
    count_at: 8 + SOCKADDR_STORAGE_LEN + 4,
    header_len: GROUP_FILTER_HEADER_LEN,
    source_len: SOCKADDR_STORAGE_LEN,
    count_overflow: 0x1ff_ffff,
};

impl FilterLayout {
    /// The setters' checks on the source count (ip_setsockopt's IP_MSFILTER case,
    /// ip_set_mcast_msfilter), made once the value's header is known to be there: ENOBUFS
    /// for a count that would overflow or is above net.ipv4.igmp_max_msf, EINVAL when the
    /// value is too short to hold that many sources.
    fn source_count(&self, value: &[u8], max_sources: u32) -> Result<usize, Errno> {
        let count = u32_at(value, self.count_at);
        if count >= self.count_overflow || count > max_sources {
            return Err(Errno::ENOBUFS);
        }
        let count = count as usize;
        if self.header_len + self.source_len * count > value.len() {
            return Err(Errno::EINVAL);
        }
        Ok(count)
    }

    /// The getters' checks before they read the caller's header: an optlen shorter than the
    /// header is EINVAL, a header that could not be read EFAULT.
    fn query<'v>(&self, optlen: usize, value: Option<&'v [u8]>) -> Result<&'v [u8], Errno> {
        if optlen < self.header_len {
            return Err(Errno::EINVAL);
        }
        value
            .filter(|value| value.len() >= self.header_len)
            .ok_or(Errno::EFAULT)
    }

    /// Where source `index` starts.
    fn source_at(&self, index: usize) -> usize {
        self.header_len + self.source_len * index
    }

    /// What the getters (ip_mc_msfget, ip_mc_gsfget) write: the caller's header up to the
    /// mode, the filter mode, the real number of sources, then as many sources as the caller
    /// made room for (its count field), each encoded by `encode`.
    fn answer(
        &self,
        query: &[u8],
        filter_mode: u32,
        sources: &[Ipv4Addr],
        encode: impl Fn(Ipv4Addr) -> Vec<u8>,
    ) -> Vec<u8> {
        let room = u32_at(query, self.count_at) as usize;
        let copied = sources.len().min(room);
        let mut out = Vec::with_capacity(self.source_at(copied));
        out.extend_from_slice(&query[..self.mode_at]);
        out.extend_from_slice(&filter_mode.to_ne_bytes());
        out.extend_from_slice(&(sources.len() as u32).to_ne_bytes());
        for source in &sources[..copied] {
            out.extend_from_slice(&encode(*source));
        }
        out
    }
}

/// Some(result) if `name` is a structured SOL_IP option.
pub fn set(
    options: &mut SocketOptions,
    context: &OptionContext<'_>,
    name: i32,
    value: &[u8],
) -> Option<Result<(), Errno>> {
    let is_stream = context.socket_type == sock_type::STREAM;
    let optmem_max = context.sysctls.optmem_max;
    if let Err(errno) = check_before_copy(is_stream, name, value.len(), optmem_max)? {
        return Some(Err(errno));
    }
    let result = match name {
        ip::IP_MULTICAST_IF => set_multicast_interface(options, context, value),
        ip::IP_ADD_MEMBERSHIP | ip::IP_DROP_MEMBERSHIP => {
            set_membership(options, context, name, value)
        }
        ip::IP_BLOCK_SOURCE
        | ip::IP_UNBLOCK_SOURCE
        | ip::IP_ADD_SOURCE_MEMBERSHIP
        | ip::IP_DROP_SOURCE_MEMBERSHIP => set_source(options, context, name, value),
        ip::IP_MSFILTER => set_ip_msfilter(options, context, value),
        ip::MCAST_JOIN_GROUP | ip::MCAST_LEAVE_GROUP => set_group(options, context, name, value),
        ip::MCAST_BLOCK_SOURCE
        | ip::MCAST_UNBLOCK_SOURCE
        | ip::MCAST_JOIN_SOURCE_GROUP
        | ip::MCAST_LEAVE_SOURCE_GROUP => set_group_source(options, context, name, value),
        ip::MCAST_MSFILTER => set_group_filter(options, context, value),
        _ => return None,
    };
    Some(result)
}

/// setsockopt of a structured option whose `optlen` bytes cannot be read: the errno of the
/// checks made before the copy, else EFAULT. None: not a structured option.
pub fn check_unreadable(
    context_is_stream: bool,
    name: i32,
    optlen: usize,
    optmem_max: u32,
) -> Option<Errno> {
    let checked = check_before_copy(context_is_stream, name, optlen, optmem_max)?;
    Some(checked.err().unwrap_or(Errno::EFAULT))
}

/// do_ip_setsockopt's checks on a structured option before it copies the value, in its
/// order: the socket type, then the length (then optmem_max for the filters, which
/// memdup_sockptr the whole value). Ok(()): the value would be read. None: not a structured
/// option. The handlers below rely on these lengths.
fn check_before_copy(
    is_stream: bool,
    name: i32,
    optlen: usize,
    optmem_max: u32,
) -> Option<Result<(), Errno>> {
    let (rule, bounded_by_optmem) = match name {
        // "if (sk->sk_type == SOCK_STREAM) break" with err = -EINVAL.
        ip::IP_MULTICAST_IF if is_stream => return Some(Err(Errno::EINVAL)),
        ip::IP_MULTICAST_IF => (Length::AtLeast(IN_ADDR_LEN), false),
        // "err = -EPROTO; if (inet_test_bit(IS_ICSK, sk)) break;": not on a TCP socket
        // (measured: the MCAST_* forms have no such check).
        ip::IP_ADD_MEMBERSHIP | ip::IP_DROP_MEMBERSHIP if is_stream => {
            return Some(Err(Errno::EPROTO))
        }
        ip::IP_ADD_MEMBERSHIP | ip::IP_DROP_MEMBERSHIP => (Length::AtLeast(MREQ_LEN), false),
        ip::IP_BLOCK_SOURCE
        | ip::IP_UNBLOCK_SOURCE
        | ip::IP_ADD_SOURCE_MEMBERSHIP
        | ip::IP_DROP_SOURCE_MEMBERSHIP => (Length::Exactly(MREQ_SOURCE_LEN), false),
        ip::IP_MSFILTER => (Length::AtLeast(MSFILTER_HEADER_LEN), true),
        ip::MCAST_JOIN_GROUP | ip::MCAST_LEAVE_GROUP => (Length::AtLeast(GROUP_REQ_LEN), false),
        ip::MCAST_BLOCK_SOURCE
        | ip::MCAST_UNBLOCK_SOURCE
        | ip::MCAST_JOIN_SOURCE_GROUP
        | ip::MCAST_LEAVE_SOURCE_GROUP => (Length::Exactly(GROUP_SOURCE_REQ_LEN), false),
        ip::MCAST_MSFILTER => (Length::AtLeast(GROUP_FILTER_HEADER_LEN), true),
        _ => return None,
    };
    let fits = match rule {
        Length::AtLeast(minimum) => optlen >= minimum,
        Length::Exactly(required) => optlen == required,
    };
    Some(if !fits {
        Err(Errno::EINVAL)
    } else if bounded_by_optmem && optlen > optmem_max as usize {
        Err(Errno::ENOBUFS)
    } else {
        Ok(())
    })
}

/// The length a structured option's value must have.
enum Length {
    AtLeast(usize),
    Exactly(usize),
}

/// How many bytes of the caller's buffer getsockopt of `name` reads first (the filter
/// options: the header naming the group); 0 for the others.
pub fn get_reads_value(name: i32) -> usize {
    match name {
        ip::IP_MSFILTER => MSFILTER_HEADER_LEN,
        ip::MCAST_MSFILTER => GROUP_FILTER_HEADER_LEN,
        _ => 0,
    }
}

/// Ok(Some(bytes)) if `name` is a structured SOL_IP option. `value`: what the caller's
/// buffer held (for the options that read it; None when it could not be read).
pub fn get(
    options: &SocketOptions,
    context: &OptionContext<'_>,
    name: i32,
    optlen: usize,
    value: Option<&[u8]>,
) -> Result<Option<Vec<u8>>, Errno> {
    let bytes = match name {
        // "len = min_t(unsigned int, len, sizeof(struct in_addr))": never a one-byte answer.
        ip::IP_MULTICAST_IF => {
            let address = options.multicast_source.octets();
            address[..optlen.min(IN_ADDR_LEN)].to_vec()
        }
        // inet_num, which for UDP is the local port (0 while unbound); the int-or-byte rules
        // of the other integer options apply.
        ip::IP_PROTOCOL => super::encode_int(
            super::table::Encode::IntOrByte,
            i32::from(context.local_port),
            optlen,
        ),
        ip::IP_MSFILTER => get_ip_msfilter(options, context, optlen, value)?,
        ip::MCAST_MSFILTER => get_group_filter(options, optlen, value)?,
        _ => return Ok(None),
    };
    Ok(Some(bytes))
}

fn limits(context: &OptionContext<'_>) -> Limits {
    Limits {
        max_memberships: context.sysctls.igmp_max_memberships,
        max_sources: context.sysctls.igmp_max_msf,
    }
}

fn address_at(value: &[u8], offset: usize) -> Ipv4Addr {
    Ipv4Addr::new(
        value[offset],
        value[offset + 1],
        value[offset + 2],
        value[offset + 3],
    )
}

fn u32_at(value: &[u8], offset: usize) -> u32 {
    u32::from_ne_bytes([
        value[offset],
        value[offset + 1],
        value[offset + 2],
        value[offset + 3],
    ])
}

/// A sockaddr_in inside a sockaddr_storage: (family, address).
fn storage_at(value: &[u8], offset: usize) -> (u16, Ipv4Addr) {
    let family = u16::from_ne_bytes([value[offset], value[offset + 1]]);
    (family, address_at(value, offset + 4))
}

/// ip_mreqn from an ip_mreq (8 bytes, ifindex 0) or an ip_mreqn (12 bytes or more).
fn read_mreqn(value: &[u8]) -> GroupRequest {
    GroupRequest {
        group: address_at(value, 0),
        address: address_at(value, 4),
        ifindex: if value.len() >= MREQN_LEN {
            u32_at(value, 8)
        } else {
            0
        },
    }
}

/// IP_MULTICAST_IF: an in_addr (the interface's address), an ip_mreq (its imr_interface) or
/// an ip_mreqn (address and index). 0.0.0.0 with no index clears the choice; an address not
/// ours or an unknown index is EADDRNOTAVAIL.
fn set_multicast_interface(
    options: &mut SocketOptions,
    context: &OptionContext<'_>,
    value: &[u8],
) -> Result<(), Errno> {
    let mut request = if value.len() >= MREQ_LEN {
        read_mreqn(value)
    } else {
        GroupRequest {
            group: Ipv4Addr::UNSPECIFIED,
            address: address_at(value, 0),
            ifindex: 0,
        }
    };
    let found = if request.ifindex == 0 {
        if request.address.is_unspecified() {
            options.multicast_interface = 0;
            options.multicast_source = Ipv4Addr::UNSPECIFIED;
            return Ok(());
        }
        let found = context.devices.interface_of_address(request.address);
        if let Some(index) = found {
            request.ifindex = index;
        }
        found
    } else {
        context
            .devices
            .exists(request.ifindex)
            .then_some(request.ifindex)
    };
    if found.is_none() {
        return Err(Errno::EADDRNOTAVAIL);
    }
    // A socket bound to a device (SO_BINDTODEVICE) may only name that one (no VRF masters).
    if options.bound_device != 0 && request.ifindex != options.bound_device {
        return Err(Errno::EINVAL);
    }
    options.multicast_interface = request.ifindex;
    options.multicast_source = request.address;
    Ok(())
}

/// IP_ADD_MEMBERSHIP / IP_DROP_MEMBERSHIP (ip_mc_join_group / ip_mc_leave_group).
fn set_membership(
    options: &mut SocketOptions,
    context: &OptionContext<'_>,
    name: i32,
    value: &[u8],
) -> Result<(), Errno> {
    let join = name == ip::IP_ADD_MEMBERSHIP;
    join_or_leave(options, context, join, &read_mreqn(value))
}

/// ip_mc_join_group (any source: EXCLUDE nothing) or ip_mc_leave_group for `request`.
fn join_or_leave(
    options: &mut SocketOptions,
    context: &OptionContext<'_>,
    join: bool,
    request: &GroupRequest,
) -> Result<(), Errno> {
    if join {
        options
            .memberships
            .join(request, MCAST_EXCLUDE, context.devices, limits(context))
            .map(|_| ())
    } else {
        options.memberships.leave(request, context.devices)
    }
}

/// What a source option does: (add, filter mode, join first).
fn source_action(name: i32) -> (bool, u32, bool) {
    match name {
        ip::IP_BLOCK_SOURCE | ip::MCAST_BLOCK_SOURCE => (true, MCAST_EXCLUDE, false),
        ip::IP_UNBLOCK_SOURCE | ip::MCAST_UNBLOCK_SOURCE => (false, MCAST_EXCLUDE, false),
        ip::IP_ADD_SOURCE_MEMBERSHIP | ip::MCAST_JOIN_SOURCE_GROUP => (true, MCAST_INCLUDE, true),
        _ => (false, MCAST_INCLUDE, false),
    }
}

/// The common tail of the source options: IP_ADD_SOURCE_MEMBERSHIP and
/// MCAST_JOIN_SOURCE_GROUP join first (ip_mc_join_group_ssm, INCLUDE mode; "already joined"
/// is fine), then ip_mc_source.
fn change_source(
    options: &mut SocketOptions,
    context: &OptionContext<'_>,
    name: i32,
    request: GroupRequest,
    source: Ipv4Addr,
) -> Result<(), Errno> {
    let (add, filter_mode, join_first) = source_action(name);
    if join_first {
        match options
            .memberships
            .join(&request, MCAST_INCLUDE, context.devices, limits(context))
        {
            Ok(_) | Err(Errno::EADDRINUSE) => {}
            Err(errno) => return Err(errno),
        }
        // do_mcast_group_source then passes the index the join resolved ("greqs.gsr_interface
        // = mreq.imr_ifindex"); ip_mc_source resolves the same one again from the request.
    }
    options.memberships.change_source(
        add,
        filter_mode,
        &request,
        source,
        context.devices,
        limits(context),
    )
}

/// IP_BLOCK_SOURCE, IP_UNBLOCK_SOURCE, IP_ADD_SOURCE_MEMBERSHIP, IP_DROP_SOURCE_MEMBERSHIP:
/// exactly one struct ip_mreq_source {group, interface address, source}.
fn set_source(
    options: &mut SocketOptions,
    context: &OptionContext<'_>,
    name: i32,
    value: &[u8],
) -> Result<(), Errno> {
    let request = GroupRequest {
        group: address_at(value, 0),
        address: address_at(value, 4),
        ifindex: 0,
    };
    change_source(options, context, name, request, address_at(value, 8))
}

/// IP_MSFILTER (struct ip_msfilter): the length checks of do_ip_setsockopt, then
/// ip_mc_msfilter with the interface named by imsf_interface.
fn set_ip_msfilter(
    options: &mut SocketOptions,
    context: &OptionContext<'_>,
    value: &[u8],
) -> Result<(), Errno> {
    let count = IP_MSFILTER.source_count(value, context.sysctls.igmp_max_msf)?;
    let request = GroupRequest {
        group: address_at(value, 0),
        address: address_at(value, 4),
        ifindex: 0,
    };
    let sources: Vec<Ipv4Addr> = (0..count)
        .map(|i| address_at(value, IP_MSFILTER.source_at(i)))
        .collect();
    let filter_mode = u32_at(value, IP_MSFILTER.mode_at);
    options
        .memberships
        .set_filter(&request, filter_mode, &sources, context.devices)
}

/// MCAST_JOIN_GROUP / MCAST_LEAVE_GROUP (ip_mcast_join_leave): a group_req; a group that is
/// not AF_INET is EINVAL.
fn set_group(
    options: &mut SocketOptions,
    context: &OptionContext<'_>,
    name: i32,
    value: &[u8],
) -> Result<(), Errno> {
    let (family, group) = storage_at(value, 8);
    if family != AF_INET {
        return Err(Errno::EINVAL);
    }
    let request = GroupRequest {
        group,
        address: Ipv4Addr::UNSPECIFIED,
        ifindex: u32_at(value, 0),
    };
    join_or_leave(options, context, name == ip::MCAST_JOIN_GROUP, &request)
}

/// The MCAST_*_SOURCE options (do_mcast_group_source): exactly one group_source_req; either
/// address not AF_INET is EADDRNOTAVAIL.
fn set_group_source(
    options: &mut SocketOptions,
    context: &OptionContext<'_>,
    name: i32,
    value: &[u8],
) -> Result<(), Errno> {
    let (group_family, group) = storage_at(value, 8);
    let (source_family, source) = storage_at(value, 8 + SOCKADDR_STORAGE_LEN);
    if group_family != AF_INET || source_family != AF_INET {
        return Err(Errno::EADDRNOTAVAIL);
    }
    let request = GroupRequest {
        group,
        address: Ipv4Addr::UNSPECIFIED,
        ifindex: u32_at(value, 0),
    };
    change_source(options, context, name, request, source)
}

/// MCAST_MSFILTER (ip_set_mcast_msfilter, set_mcast_msfilter): a group_filter.
fn set_group_filter(
    options: &mut SocketOptions,
    context: &OptionContext<'_>,
    value: &[u8],
) -> Result<(), Errno> {
    let count = GROUP_FILTER.source_count(value, context.sysctls.igmp_max_msf)?;
    let (family, group) = storage_at(value, 8);
    if family != AF_INET {
        return Err(Errno::EADDRNOTAVAIL);
    }
    let mut sources = Vec::with_capacity(count);
    for i in 0..count {
        let (family, source) = storage_at(value, GROUP_FILTER.source_at(i));
        if family != AF_INET {
            return Err(Errno::EADDRNOTAVAIL);
        }
        sources.push(source);
    }
    let request = GroupRequest {
        group,
        address: Ipv4Addr::UNSPECIFIED,
        ifindex: u32_at(value, 0),
    };
    let filter_mode = u32_at(value, GROUP_FILTER.mode_at);
    options
        .memberships
        .set_filter(&request, filter_mode, &sources, context.devices)
}

/// IP_MSFILTER's get (ip_mc_msfget): the caller names group and interface address and how
/// many sources it has room for (imsf_numsrc); the answer is the header with the filter mode
/// and the real count, then as many sources as fit that room. The written length is
/// IP_MSFILTER_SIZE(copied), whatever optlen said (the kernel does not compare them).
fn get_ip_msfilter(
    options: &SocketOptions,
    context: &OptionContext<'_>,
    optlen: usize,
    value: Option<&[u8]>,
) -> Result<Vec<u8>, Errno> {
    let value = IP_MSFILTER.query(optlen, value)?;
    let request = GroupRequest {
        group: address_at(value, 0),
        address: address_at(value, 4),
        ifindex: 0,
    };
    let (filter_mode, sources) = options
        .memberships
        .filter_by_address(&request, context.devices)?;
    Ok(IP_MSFILTER.answer(value, filter_mode, sources, |source| {
        source.octets().to_vec()
    }))
}

/// MCAST_MSFILTER's get (ip_get_mcast_msfilter, ip_mc_gsfget): the group must be AF_INET and
/// multicast (EINVAL), joined on exactly gf_interface (EADDRNOTAVAIL); the answer is the
/// header with the mode and the real count, then the sources that fit gf_numsrc, each a
/// zeroed sockaddr_storage holding a sockaddr_in.
fn get_group_filter(
    options: &SocketOptions,
    optlen: usize,
    value: Option<&[u8]>,
) -> Result<Vec<u8>, Errno> {
    let value = GROUP_FILTER.query(optlen, value)?;
    let (family, group) = storage_at(value, 8);
    if family != AF_INET {
        return Err(Errno::EINVAL);
    }
    let (filter_mode, sources) = options
        .memberships
        .filter_by_index(group, u32_at(value, 0))?;
    // Each source a zeroed sockaddr_storage holding a sockaddr_in.
    Ok(GROUP_FILTER.answer(value, filter_mode, sources, |source| {
        let mut storage = vec![0u8; SOCKADDR_STORAGE_LEN];
        storage[..2].copy_from_slice(&AF_INET.to_ne_bytes());
        storage[4..8].copy_from_slice(&source.octets());
        storage
    }))
}

#[cfg(test)]
mod tests {
    use core::cell::Cell;

    use super::*;
    use crate::config::{Credentials, Sysctls};
    use crate::sockopt::multicast::Devices;
    use crate::sockopt::names::level;

    const LINK_ADDRESS: [u8; 4] = [198, 18, 0, 2];

    fn with_context<T>(socket_type: i32, body: impl FnOnce(&OptionContext<'_>) -> T) -> T {
        let route = |_: Ipv4Addr| Some(2);
        let devices = Devices {
            link_index: 2,
            link_address: Ipv4Addr::from(LINK_ADDRESS),
            route_interface: &route,
        };
        let sysctls = Sysctls::default();
        let creds = Credentials::default();
        let error = Cell::new(None);
        let context = OptionContext {
            socket_type,
            protocol: 17,
            creds: &creds,
            sysctls: &sysctls,
            pending_error: &error,
            listening: false,
            path_mtu: None,
            value_len: 0,
            devices: &devices,
            local_port: 0,
        };
        body(&context)
    }

    fn mreq(group: [u8; 4], interface: [u8; 4]) -> Vec<u8> {
        [group, interface].concat()
    }

    #[test]
    fn multicast_interface_forms() {
        with_context(sock_type::DGRAM, |context| {
            let mut options = SocketOptions::new(context.sysctls);
            // in_addr: our address, then one that is not.
            assert_eq!(
                set(&mut options, context, ip::IP_MULTICAST_IF, &LINK_ADDRESS),
                Some(Ok(()))
            );
            assert_eq!(options.multicast_interface, 2);
            assert_eq!(
                set(&mut options, context, ip::IP_MULTICAST_IF, &[198, 18, 0, 9]),
                Some(Err(Errno::EADDRNOTAVAIL))
            );
            // ip_mreqn by index keeps whatever address it names.
            let mut by_index = mreq([0; 4], [198, 18, 0, 77]);
            by_index.extend_from_slice(&1u32.to_ne_bytes());
            assert_eq!(
                set(&mut options, context, ip::IP_MULTICAST_IF, &by_index),
                Some(Ok(()))
            );
            assert_eq!(options.multicast_interface, 1);
            let bytes = get(&options, context, ip::IP_MULTICAST_IF, 2, None).unwrap();
            assert_eq!(bytes, Some(vec![198, 18]));
            // Too short.
            assert_eq!(
                set(&mut options, context, ip::IP_MULTICAST_IF, &[0; 3]),
                Some(Err(Errno::EINVAL))
            );
        });
        with_context(sock_type::STREAM, |context| {
            let mut options = SocketOptions::new(context.sysctls);
            assert_eq!(
                set(&mut options, context, ip::IP_MULTICAST_IF, &LINK_ADDRESS),
                Some(Err(Errno::EINVAL))
            );
            assert_eq!(
                set(
                    &mut options,
                    context,
                    ip::IP_ADD_MEMBERSHIP,
                    &mreq([239, 1, 1, 1], [0; 4])
                ),
                Some(Err(Errno::EPROTO))
            );
        });
    }

    #[test]
    fn msfilter_get_reports_count_and_copies_what_fits() {
        with_context(sock_type::DGRAM, |context| {
            let mut options = SocketOptions::new(context.sysctls);
            let group = [239, 1, 1, 1];
            set(
                &mut options,
                context,
                ip::IP_ADD_MEMBERSHIP,
                &mreq(group, [0; 4]),
            )
            .unwrap()
            .unwrap();
            for source in [[198, 18, 0, 1], [198, 18, 0, 3]] {
                let request = [group, [0; 4], source].concat();
                set(&mut options, context, ip::IP_BLOCK_SOURCE, &request)
                    .unwrap()
                    .unwrap();
            }
            // Room for one source: the header says two, one is copied.
            let mut query = mreq(group, [0; 4]);
            query.extend_from_slice(&7u32.to_ne_bytes());
            query.extend_from_slice(&1u32.to_ne_bytes());
            let answer = get(&options, context, ip::IP_MSFILTER, 16, Some(&query))
                .unwrap()
                .unwrap();
            let mut expected = mreq(group, [0; 4]);
            expected.extend_from_slice(&MCAST_EXCLUDE.to_ne_bytes());
            expected.extend_from_slice(&2u32.to_ne_bytes());
            expected.extend_from_slice(&[198, 18, 0, 1]);
            assert_eq!(answer, expected);
            assert_eq!(
                get(&options, context, ip::IP_MSFILTER, 15, Some(&query)),
                Err(Errno::EINVAL)
            );
            assert_eq!(
                get(&options, context, ip::IP_MSFILTER, 16, None),
                Err(Errno::EFAULT)
            );
        });
    }

    #[test]
    fn tos_keeps_ecn_bits_only_on_stream_sockets() {
        for (socket_type, expected) in [(sock_type::DGRAM, 0xb8), (sock_type::STREAM, 0xbb)] {
            with_context(socket_type, |context| {
                let mut options = SocketOptions::new(context.sysctls);
                options.tos = 0x03;
                let value = 0xb8i32.to_ne_bytes();
                crate::sockopt::set(&mut options, context, level::SOL_IP, ip::IP_TOS, &value)
                    .unwrap();
                assert_eq!(options.tos, expected);
            });
        }
    }

    #[test]
    fn unreadable_values_check_lengths_first() {
        assert_eq!(
            check_unreadable(false, ip::IP_ADD_MEMBERSHIP, 7, 131_072),
            Some(Errno::EINVAL)
        );
        assert_eq!(
            check_unreadable(false, ip::IP_ADD_MEMBERSHIP, 8, 131_072),
            Some(Errno::EFAULT)
        );
        assert_eq!(
            check_unreadable(false, ip::MCAST_MSFILTER, 200_000, 131_072),
            Some(Errno::ENOBUFS)
        );
        assert_eq!(check_unreadable(false, ip::IP_TTL, 4, 131_072), None);
    }
}
