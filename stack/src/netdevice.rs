//! netdevice(7) ioctls that depend on IPv4 state, answered for the interface the stack owns.
//!
//! On an AF_INET socket the kernel splits these requests in two (net/socket.c sock_do_ioctl,
//! net/ipv4/af_inet.c inet_ioctl):
//! - the address requests (SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFBRDADDR, SIOCGIFDSTADDR and
//!   their SIOCS* forms) go to `devinet_ioctl`, and SIOCGIFCONF lists every IPv4 address
//!   (`dev_ifconf` → `inet_gifconf`). Both read the IPv4 addresses, which the stack owns: in
//!   the shim world the kernel has none on the interface;
//! - everything else (index, name, flags, MTU, hardware address, txqlen, metric, map,
//!   ethtool, and every SIOCS* of the device) is `dev_ioctl`: device state, which the kernel
//!   holds for the same device in both worlds. The driver passes those to the kernel,
//!   except that the hardware address is the stack's (IPSHIM_MAC may differ from the device's).
//!
//! This module decides and builds the bytes; the driver only copies memory.

use core::net::Ipv4Addr;

use crate::config::InterfaceConfig;
use crate::errno::Errno;

/// sizeof(struct ifreq) on 64-bit Linux: a 16-byte name and a 24-byte union.
pub const IFREQ_LEN: usize = 40;
/// IFNAMSIZ: the name field, NUL included.
pub const IFNAMSIZ: usize = 16;
/// AF_INET, as sa_family is written (native byte order, x86_64 little-endian).
const AF_INET: u16 = 2;

/// The request numbers (linux/sockios.h).
pub mod request {
    pub const SIOCGIFCONF: u32 = 0x8912;
    pub const SIOCGIFFLAGS: u32 = 0x8913;
    pub const SIOCSIFFLAGS: u32 = 0x8914;
    pub const SIOCGIFADDR: u32 = 0x8915;
    pub const SIOCSIFADDR: u32 = 0x8916;
    pub const SIOCGIFDSTADDR: u32 = 0x8917;
    pub const SIOCSIFDSTADDR: u32 = 0x8918;
    pub const SIOCGIFBRDADDR: u32 = 0x8919;
    pub const SIOCSIFBRDADDR: u32 = 0x891a;
    pub const SIOCGIFNETMASK: u32 = 0x891b;
    pub const SIOCSIFNETMASK: u32 = 0x891c;
    pub const SIOCGIFHWADDR: u32 = 0x8927;
}
use request::*;

/// The stack's interface as devinet and SIOCGIFCONF describe it: one primary address whose
/// label is the interface's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceAddress {
    pub name: String,
    pub ifindex: u32,
    pub mac: [u8; 6],
    /// ifa_local (and ifa_address: not point-to-point, so SIOCGIFDSTADDR answers it too).
    pub local: Ipv4Addr,
    pub prefix_len: u8,
    /// ifa_broadcast: the `brd` attribute of the address, 0.0.0.0 when none was given.
    pub broadcast: Ipv4Addr,
}

impl InterfaceAddress {
    /// IPSHIM_ADDR=A/L means what `ip addr add A/L dev IF` means: no `brd` attribute, so
    /// ifa_broadcast stays 0 (inet_rtm_newaddr sets it only from IFA_BROADCAST) and
    /// SIOCGIFBRDADDR answers 0.0.0.0, as the kernel world's eth0 does. Directed broadcasts
    /// are still received: the kernel's broadcast route does not depend on ifa_broadcast.
    pub fn from_config(interface: &InterfaceConfig) -> InterfaceAddress {
        InterfaceAddress {
            name: interface.name.clone(),
            ifindex: interface.ifindex,
            mac: interface.mac,
            local: interface.addr,
            prefix_len: interface.prefix_len,
            broadcast: Ipv4Addr::UNSPECIFIED,
        }
    }

    /// ifa_mask: inet_make_mask(prefix_len).
    pub fn netmask(&self) -> Ipv4Addr {
        let bits = u32::from(self.prefix_len.min(32));
        Ipv4Addr::from(u32::MAX.checked_shl(32 - bits).unwrap_or(0))
    }
}

/// The name an ifreq carries, as the kernel reads it: byte 15 forced to NUL
/// (`ifr_name[IFNAMSIZ-1] = 0`), then up to the first NUL.
pub fn ifreq_label(ifreq: &[u8; IFREQ_LEN]) -> &[u8] {
    let name = &ifreq[..IFNAMSIZ - 1];
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    &name[..end]
}

/// The device part of a label: before the first ':' (devinet_ioctl and dev_ioctl cut the
/// alias off to look the device up).
pub fn device_of(label: &[u8]) -> &[u8] {
    match label.iter().position(|&b| b == b':') {
        Some(colon) => &label[..colon],
        None => label,
    }
}

/// True when the ifreq names the stack's interface (or an alias label on it).
pub fn names_interface(interface: &InterfaceAddress, ifreq: &[u8; IFREQ_LEN]) -> bool {
    device_of(ifreq_label(ifreq)) == interface.name.as_bytes()
}

/// The requests devinet_ioctl serves (through inet_ioctl) that read or change IPv4
/// addresses. SIOCSIFFLAGS also passes through devinet_ioctl, but without an alias label it
/// changes device flags (dev_change_flags) and with one it only finds no address: the kernel
/// answers it for both worlds alike.
pub fn is_address_request(request: u32) -> bool {
    matches!(
        request,
        SIOCGIFADDR
            | SIOCGIFNETMASK
            | SIOCGIFBRDADDR
            | SIOCGIFDSTADDR
            | SIOCSIFADDR
            | SIOCSIFNETMASK
            | SIOCSIFBRDADDR
            | SIOCSIFDSTADDR
    )
}

/// `struct sockaddr_in` for `addr` as devinet_ioctl fills ifr_addr: zeroed, family, address.
fn sockaddr_in(addr: Ipv4Addr) -> [u8; 16] {
    let mut bytes = [0u8; 16];
    bytes[0..2].copy_from_slice(&AF_INET.to_ne_bytes());
    bytes[4..8].copy_from_slice(&addr.octets());
    bytes
}

/// devinet_ioctl for an address request (`is_address_request`) on an ifreq that names the
/// stack's interface (`names_interface`). Ok(Some(bytes)): the ifreq the kernel copies back
/// (put_user_ifreq copies all 40 bytes; only the get requests copy). Ok(None) never happens
/// for a set: the stack's address cannot be changed (see below).
///
/// The checks in devinet_ioctl's order: CAP_NET_ADMIN for the sets (EPERM), then the family
/// of the new address (EINVAL), then the address whose label is the name (EADDRNOTAVAIL,
/// except SIOCSIFADDR which would create it). A privileged set that gets past them would
/// change the address: the stack's address is fixed by IPSHIM_ADDR for the life of the
/// process, so it answers EOPNOTSUPP rather than pretend.
pub fn devinet_ioctl(
    interface: &InterfaceAddress,
    request: u32,
    ifreq: &[u8; IFREQ_LEN],
    cap_net_admin: bool,
) -> Result<Option<[u8; IFREQ_LEN]>, Errno> {
    let is_get = matches!(
        request,
        SIOCGIFADDR | SIOCGIFNETMASK | SIOCGIFBRDADDR | SIOCGIFDSTADDR
    );
    if !is_get {
        if !cap_net_admin {
            return Err(Errno::EPERM);
        }
        let family = u16::from_ne_bytes([ifreq[IFNAMSIZ], ifreq[IFNAMSIZ + 1]]);
        if family != AF_INET {
            return Err(Errno::EINVAL);
        }
    }
    // Our one address carries the interface's name as its label; an alias label
    // ("eth0:1") matches no address. The 4.4BSD match on the request's address
    // (tryaddrmatch) only chooses between addresses of the same label: with one address
    // it finds the same one.
    let label_matches = ifreq_label(ifreq) == interface.name.as_bytes();
    if !label_matches && request != SIOCSIFADDR {
        return Err(Errno::EADDRNOTAVAIL);
    }
    let answer = match request {
        SIOCGIFADDR | SIOCGIFDSTADDR => interface.local,
        SIOCGIFBRDADDR => interface.broadcast,
        SIOCGIFNETMASK => interface.netmask(),
        _ => return Err(Errno::EOPNOTSUPP),
    };
    let mut out = *ifreq;
    out[IFNAMSIZ - 1] = 0;
    out[IFNAMSIZ..IFNAMSIZ + 16].copy_from_slice(&sockaddr_in(answer));
    Ok(Some(out))
}

/// SIOCGIFHWADDR after the kernel answered for the device: the station address is the
/// stack's (netif_get_mac_address writes sa_family = ARPHRD_ETHER, then the address).
/// Returns true when the ifreq named our interface and was rewritten.
pub fn use_stack_hardware_address(
    interface: &InterfaceAddress,
    ifreq: &mut [u8; IFREQ_LEN],
) -> bool {
    if !names_interface(interface, ifreq) {
        return false;
    }
    ifreq[IFNAMSIZ + 2..IFNAMSIZ + 8].copy_from_slice(&interface.mac);
    true
}

/// One SIOCGIFCONF record the kernel produced, with the ifindex of its device (None when
/// the device vanished between the two questions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelIfconfRecord {
    pub bytes: [u8; IFREQ_LEN],
    pub ifindex: Option<u32>,
}

/// The record inet_gifconf writes for our address: the ifreq zeroed, the label as name,
/// ifr_addr = {AF_INET, local}.
pub fn ifconf_record(interface: &InterfaceAddress) -> [u8; IFREQ_LEN] {
    let mut record = [0u8; IFREQ_LEN];
    let name = interface.name.as_bytes();
    let len = name.len().min(IFNAMSIZ - 1);
    record[..len].copy_from_slice(&name[..len]);
    record[IFNAMSIZ..IFNAMSIZ + 16].copy_from_slice(&sockaddr_in(interface.local));
    record
}

/// SIOCGIFCONF's list in the shim's view: the kernel's records for every other device, and
/// ours in place of whatever the kernel has on our device. dev_ifconf walks the namespace's
/// device list (registration order); the records carry no position, so ours goes in
/// ifindex order, which is registration order unless an index was chosen explicitly.
pub fn merge_ifconf(
    interface: &InterfaceAddress,
    kernel: &[KernelIfconfRecord],
) -> Vec<[u8; IFREQ_LEN]> {
    let others = kernel
        .iter()
        .filter(|record| !names_interface(interface, &record.bytes));
    let mut merged = Vec::with_capacity(kernel.len() + 1);
    let mut ours = Some(ifconf_record(interface));
    for record in others {
        let after_ours = record.ifindex.is_none_or(|index| index > interface.ifindex);
        if after_ours {
            if let Some(ours) = ours.take() {
                merged.push(ours);
            }
        }
        merged.push(record.bytes);
    }
    merged.extend(ours);
    merged
}

/// How many whole records fit in ifc_len bytes: inet_gifconf stops at the first record for
/// which `len < size` (a negative length fits none).
pub fn ifconf_records_that_fit(ifc_len: i32, records: usize) -> usize {
    usize::try_from(ifc_len).map_or(0, |len| (len / IFREQ_LEN).min(records))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eth0() -> InterfaceAddress {
        InterfaceAddress {
            name: "eth0".into(),
            ifindex: 2,
            mac: [2, 0, 0, 0, 0, 2],
            local: Ipv4Addr::new(198, 18, 0, 2),
            prefix_len: 24,
            broadcast: Ipv4Addr::UNSPECIFIED,
        }
    }

    /// An ifreq named `name` whose union is 0xAA, as the ctest fills it.
    fn ifreq(name: &[u8]) -> [u8; IFREQ_LEN] {
        let mut bytes = [0xaa; IFREQ_LEN];
        bytes[..IFNAMSIZ].fill(0);
        bytes[..name.len()].copy_from_slice(name);
        bytes
    }

    fn union_of(bytes: &[u8; IFREQ_LEN]) -> &[u8] {
        &bytes[IFNAMSIZ..]
    }

    #[test]
    fn address_gets_fill_sockaddr_in_and_leave_the_rest() {
        let eth0 = eth0();
        let cases = [
            (SIOCGIFADDR, [198, 18, 0, 2]),
            (SIOCGIFDSTADDR, [198, 18, 0, 2]),
            (SIOCGIFNETMASK, [255, 255, 255, 0]),
            (SIOCGIFBRDADDR, [0, 0, 0, 0]),
        ];
        for (request, addr) in cases {
            let out = devinet_ioctl(&eth0, request, &ifreq(b"eth0"), false)
                .unwrap()
                .unwrap();
            let mut want = vec![2, 0, 0, 0];
            want.extend_from_slice(&addr);
            want.extend_from_slice(&[0; 8]);
            want.extend_from_slice(&[0xaa; 8]);
            assert_eq!(union_of(&out), &want[..], "request {request:#x}");
            assert_eq!(&out[..5], b"eth0\0");
        }
    }

    #[test]
    fn a_full_name_loses_its_sixteenth_byte() {
        let mut request = ifreq(b"eth0");
        request[IFNAMSIZ - 1] = b'x';
        assert!(names_interface(&eth0(), &request));
        let out = devinet_ioctl(&eth0(), SIOCGIFADDR, &request, false)
            .unwrap()
            .unwrap();
        assert_eq!(out[IFNAMSIZ - 1], 0);
        assert!(!names_interface(&eth0(), &ifreq(b"eth0123456789abc")));
    }

    #[test]
    fn alias_labels_have_no_address() {
        let request = ifreq(b"eth0:1");
        assert!(names_interface(&eth0(), &request));
        assert_eq!(
            devinet_ioctl(&eth0(), SIOCGIFADDR, &request, false),
            Err(Errno::EADDRNOTAVAIL)
        );
        assert!(!names_interface(&eth0(), &ifreq(b"lo")));
        assert!(!names_interface(&eth0(), &ifreq(b"eth")));
    }

    #[test]
    fn sets_check_capability_then_family_then_label() {
        let mut inet = ifreq(b"eth0");
        inet[IFNAMSIZ..IFNAMSIZ + 2].copy_from_slice(&AF_INET.to_ne_bytes());
        let mut alias = inet;
        alias[4..6].copy_from_slice(b":7");
        for request in [SIOCSIFADDR, SIOCSIFNETMASK, SIOCSIFBRDADDR, SIOCSIFDSTADDR] {
            assert_eq!(
                devinet_ioctl(&eth0(), request, &ifreq(b"eth0"), false),
                Err(Errno::EPERM)
            );
            assert_eq!(
                devinet_ioctl(&eth0(), request, &ifreq(b"eth0"), true),
                Err(Errno::EINVAL)
            );
            assert_eq!(
                devinet_ioctl(&eth0(), request, &inet, true),
                Err(Errno::EOPNOTSUPP)
            );
            let alias_answer = if request == SIOCSIFADDR {
                Errno::EOPNOTSUPP
            } else {
                Errno::EADDRNOTAVAIL
            };
            assert_eq!(
                devinet_ioctl(&eth0(), request, &alias, true),
                Err(alias_answer)
            );
        }
    }

    #[test]
    fn netmask_edges() {
        let mut iface = eth0();
        iface.prefix_len = 0;
        assert_eq!(iface.netmask(), Ipv4Addr::UNSPECIFIED);
        iface.prefix_len = 32;
        assert_eq!(iface.netmask(), Ipv4Addr::BROADCAST);
        iface.prefix_len = 9;
        assert_eq!(iface.netmask(), Ipv4Addr::new(255, 128, 0, 0));
    }

    #[test]
    fn hardware_address_is_the_stacks() {
        let mut iface = eth0();
        iface.mac = [2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee];
        let mut answer = ifreq(b"eth0:3");
        answer[IFNAMSIZ..IFNAMSIZ + 8].copy_from_slice(&[1, 0, 2, 0, 0, 0, 0, 2]);
        assert!(use_stack_hardware_address(&iface, &mut answer));
        assert_eq!(
            &answer[IFNAMSIZ..IFNAMSIZ + 8],
            &[1, 0, 2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee]
        );
        let mut lo = ifreq(b"lo");
        assert!(!use_stack_hardware_address(&iface, &mut lo));
        assert_eq!(lo, ifreq(b"lo"));
    }

    fn kernel_record(name: &[u8], ifindex: Option<u32>) -> KernelIfconfRecord {
        let mut bytes = [0u8; IFREQ_LEN];
        bytes[..name.len()].copy_from_slice(name);
        KernelIfconfRecord { bytes, ifindex }
    }

    #[test]
    fn ifconf_puts_our_record_in_ifindex_order_and_drops_the_kernels() {
        let eth0 = eth0();
        let ours = ifconf_record(&eth0);
        assert_eq!(&ours[..5], b"eth0\0");
        assert_eq!(
            &ours[IFNAMSIZ..],
            &[2, 0, 0, 0, 198, 18, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        let lo = kernel_record(b"lo", Some(1));
        let stale = kernel_record(b"eth0:9", Some(2));
        let eth1 = kernel_record(b"eth1", Some(3));
        let gone = kernel_record(b"tmp0", None);
        let merged = merge_ifconf(&eth0, &[lo.clone(), stale, eth1.clone(), gone.clone()]);
        assert_eq!(merged, vec![lo.bytes, ours, eth1.bytes, gone.bytes]);
        assert_eq!(
            merge_ifconf(&eth0, std::slice::from_ref(&lo)),
            vec![lo.bytes, ours]
        );
        assert_eq!(merge_ifconf(&eth0, &[]), vec![ours]);
    }

    #[test]
    fn ifconf_fits_whole_records_only() {
        assert_eq!(ifconf_records_that_fit(0, 2), 0);
        assert_eq!(ifconf_records_that_fit(39, 2), 0);
        assert_eq!(ifconf_records_that_fit(40, 2), 1);
        assert_eq!(ifconf_records_that_fit(79, 2), 1);
        assert_eq!(ifconf_records_that_fit(1000, 2), 2);
        assert_eq!(ifconf_records_that_fit(-1, 2), 0);
        assert_eq!(ifconf_records_that_fit(i32::MIN, 2), 0);
    }
}
