//! Output routing (ip_route_output_key_hash_rcu in net/ipv4/route.c) for the one interface the
//! stack owns plus loopback, and the path-MTU exceptions learned from ICMP "fragmentation
//! needed" (__ip_rt_update_pmtu).
//!
//! The tables this reproduces, as the kernel builds them for `198.18.0.2/24` + a gateway:
//! ```text
//! local     127.0.0.0/8      dev lo    src 127.0.0.1      (scope host)
//! local     198.18.0.2       dev eth0  src 198.18.0.2     (scope host; output via lo)
//! broadcast 198.18.0.255     dev eth0  src 198.18.0.2     (scope link)
//! unicast   198.18.0.0/24    dev eth0  src 198.18.0.2     (scope link)
//! unicast   default via 198.18.0.1 dev eth0               (scope universe)
//! ```

use core::net::Ipv4Addr;
use core::time::Duration;
use std::collections::BTreeMap;

use super::Route;
use crate::config::InterfaceConfig;
use crate::errno::Errno;
use crate::time::Instant;

/// LOOPBACK_IFINDEX.
pub const LOOPBACK_IFINDEX: u32 = 1;
/// The loopback device's MTU (`ip link show lo`: mtu 65536).
pub const LOOPBACK_MTU: u32 = 65536;
/// net.ipv4.route.min_pmtu's default: a smaller learned MTU is clamped to this and locked.
pub const MIN_PMTU: u32 = 552;
/// net.ipv4.route.mtu_expires' default: how long a learned path MTU lasts.
pub const PMTU_EXPIRES: Duration = Duration::from_secs(600);
/// Bound on remembered path MTUs (the kernel bounds each nexthop's exception table likewise).
const PMTU_ENTRIES_MAX: usize = 2048;

#[derive(Debug, Clone, Copy)]
pub(super) struct PmtuEntry {
    pub mtu: u32,
    /// RTAX_MTU locked: the path MTU was below min_pmtu. IP_PMTUDISC_WANT then stops setting DF
    /// (ip_dont_fragment) so the path can fragment.
    pub locked: bool,
    pub expires: Instant,
}

/// Learned path MTUs, by final destination (the kernel's fib_nh_exception key).
#[derive(Debug)]
pub(super) struct PmtuCache {
    entries: BTreeMap<Ipv4Addr, PmtuEntry>,
    /// Per nexthop (by `Nexthop`), how many exceptions were created on it: the generation
    /// of its cached routes.
    generations: BTreeMap<Nexthop, u64>,
    /// net.ipv4.route.min_pmtu and mtu_expires, as read at start-up.
    min_pmtu: u32,
    expires: Duration,
}

impl Default for PmtuCache {
    fn default() -> PmtuCache {
        PmtuCache::new(MIN_PMTU, PMTU_EXPIRES)
    }
}

impl PmtuCache {
    pub(super) fn new(min_pmtu: u32, expires: Duration) -> PmtuCache {
        PmtuCache {
            entries: BTreeMap::new(),
            generations: BTreeMap::new(),
            min_pmtu,
            expires,
        }
    }

    pub(super) fn lookup(&self, now: Instant, dst: Ipv4Addr) -> Option<PmtuEntry> {
        self.entries
            .get(&dst)
            .filter(|entry| now < entry.expires)
            .copied()
    }

    /// The generation of `nexthop`'s cached routes (see `Route::nexthop_generation`).
    pub(super) fn generation(&self, nexthop: Nexthop) -> u64 {
        self.generations.get(&nexthop).copied().unwrap_or(0)
    }

    /// __ip_rt_update_pmtu: "if (ip_mtu_locked(dst)) return"; only ever lowers the MTU
    /// ("if (old_mtu < mtu) return", old_mtu being ipv4_mtu of the route: the link MTU when
    /// nothing is learned); a value below min_pmtu (0 included) becomes min(old, min_pmtu) and
    /// locks the metric; an unchanged value refreshes the expiry only once half of
    /// mtu_expires has passed.
    pub(super) fn update(
        &mut self,
        now: Instant,
        dst: Ipv4Addr,
        nexthop: Nexthop,
        link_mtu: u32,
        mtu: u32,
    ) {
        let current = self.lookup(now, dst);
        if current.is_some_and(|entry| entry.locked) {
            return;
        }
        let old_mtu = current.map_or(link_mtu, |entry| entry.mtu.min(link_mtu));
        if old_mtu < mtu {
            return;
        }
        let (mtu, locked) = if mtu < self.min_pmtu {
            (old_mtu.min(self.min_pmtu), true)
        } else {
            (mtu, false)
        };
        if let Some(entry) = current {
            if entry.mtu == mtu && !locked && now + self.expires / 2 < entry.expires {
                return;
            }
        }
        if self.entries.len() >= PMTU_ENTRIES_MAX && !self.entries.contains_key(&dst) {
            self.entries.retain(|_, entry| now < entry.expires);
            if self.entries.len() >= PMTU_ENTRIES_MAX {
                if let Some(oldest) = self
                    .entries
                    .iter()
                    .min_by_key(|(_, e)| e.expires)
                    .map(|(a, _)| *a)
                {
                    self.entries.remove(&oldest);
                }
            }
        }
        if current.is_none() {
            // update_or_create_fnhe, creating: "mark the cached routes for the nexthop stale".
            *self.generations.entry(nexthop).or_insert(0) += 1;
        }
        self.entries.insert(
            dst,
            PmtuEntry {
                mtu,
                locked,
                expires: now + self.expires,
            },
        );
    }
}

/// The nexthops a route can use (struct fib_nh of the connected route, or of the default
/// route): exceptions, and the routes they make stale, belong to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Nexthop {
    Connected,
    Gateway,
}

impl Nexthop {
    pub(super) fn for_destination(iface: &InterfaceConfig, dst: Ipv4Addr) -> Nexthop {
        if on_link(iface, dst) {
            Nexthop::Connected
        } else {
            Nexthop::Gateway
        }
    }
}

/// The subnet mask of a prefix length.
pub(super) fn netmask(prefix_len: u8) -> u32 {
    if prefix_len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix_len.min(32)))
    }
}

pub(super) fn on_link(iface: &InterfaceConfig, addr: Ipv4Addr) -> bool {
    let mask = netmask(iface.prefix_len);
    u32::from(addr) & mask == u32::from(iface.addr) & mask
}

/// The subnet-directed broadcast address, when the prefix has one (not /31 or /32).
pub(super) fn subnet_broadcast(iface: &InterfaceConfig) -> Option<Ipv4Addr> {
    if iface.prefix_len >= 31 {
        return None;
    }
    Some(Ipv4Addr::from(
        u32::from(iface.addr) | !netmask(iface.prefix_len),
    ))
}

/// inet_addr_type == RTN_LOCAL: our address or anything in 127/8.
pub(super) fn is_local(iface: &InterfaceConfig, addr: Ipv4Addr) -> bool {
    addr == iface.addr || addr.is_loopback()
}

/// inet_addr_type == RTN_UNICAST: an ordinary address of another host (not ours, not 0/8,
/// not broadcast, not multicast).
pub(super) fn is_foreign_unicast(iface: &InterfaceConfig, addr: Ipv4Addr) -> bool {
    !(is_local(iface, addr)
        || addr.octets()[0] == 0
        || is_broadcast(iface, addr)
        || addr.is_multicast())
}

/// A broadcast address of ours: 255.255.255.255 or the subnet's.
pub(super) fn is_broadcast(iface: &InterfaceConfig, addr: Ipv4Addr) -> bool {
    addr.is_broadcast() || Some(addr) == subnet_broadcast(iface)
}

/// ip_route_output for `dst`. `oif`: SO_BINDTODEVICE / IP_UNICAST_IF; `dont_route`: RTO_ONLINK
/// (SO_DONTROUTE / MSG_DONTROUTE), which restricts the lookup to link scope so only local and
/// connected routes match.
pub(super) fn route_output(
    iface: &InterfaceConfig,
    pmtu: &PmtuCache,
    now: Instant,
    dst: Ipv4Addr,
    oif: Option<u32>,
    dont_route: bool,
) -> Result<Route, Errno> {
    let loopback_route = |src: Ipv4Addr, next_hop: Ipv4Addr| Route {
        src,
        next_hop,
        ifindex: LOOPBACK_IFINDEX,
        mtu: LOOPBACK_MTU,
        local: true,
        broadcast: false,
        multicast: false,
        nexthop_generation: 0,
        from_exception: false,
    };
    let link_route = |next_hop: Ipv4Addr, broadcast: bool, multicast: bool| {
        let exception = (!broadcast && !multicast)
            .then(|| pmtu.lookup(now, dst))
            .flatten();
        Route {
            src: iface.addr,
            next_hop,
            ifindex: iface.ifindex,
            mtu: exception.map_or(iface.mtu, |entry| entry.mtu.min(iface.mtu)),
            local: false,
            broadcast,
            multicast,
            nexthop_generation: pmtu.generation(Nexthop::for_destination(iface, dst)),
            from_exception: exception.is_some(),
        }
    };

    // dev_get_by_index: an interface the stack does not know is ENODEV.
    if let Some(oif) = oif {
        if oif != LOOPBACK_IFINDEX && oif != iface.ifindex {
            return Err(Errno::ENODEV);
        }
    }
    let bound_to_link = oif == Some(iface.ifindex);

    // "if (!fl4->daddr)": a send to 0.0.0.0 goes to the local host over loopback, with
    // daddr = saddr = 127.0.0.1 when the socket has no source (the transport substitutes
    // its bound source otherwise).
    if dst.is_unspecified() {
        let loopback = Ipv4Addr::LOCALHOST;
        return Ok(loopback_route(loopback, loopback));
    }
    // An output interface of lo: the local routes through lo (127/8) match; nothing else
    // leaves by lo, so "assume on link" sends everything else out of lo too, from the first
    // address of scope link or wider (inet_select_addr: ours), and the input side delivers
    // it locally (every route through lo is RTCF_LOCAL). Measured: a datagram to the peer,
    // the remote, our own address or the subnet broadcast sent with an IP_PKTINFO ifindex of
    // lo comes back to our own sockets; 255.255.255.255 stays a broadcast (SO_BROADCAST).
    // A multicast (IP_MULTICAST_IF lo) is RTN_MULTICAST through lo: delivered to this host's
    // members on lo only (output.rs), never on the wire.
    if oif == Some(LOOPBACK_IFINDEX) {
        let src = if dst.is_loopback() {
            Ipv4Addr::LOCALHOST
        } else {
            iface.addr
        };
        return Ok(Route {
            broadcast: dst.is_broadcast(),
            multicast: dst.is_multicast(),
            ..loopback_route(src, dst)
        });
    }
    // The local table: host-scope routes match even a link-scope (dont_route) lookup. With
    // the interface as output device, "local 127.0.0.0/8 dev lo" does not match and the main
    // table decides: the default route, else "assume on link" (measured: the datagram goes
    // to the gateway, and a source of 127.0.0.1 is EINVAL as for any loopback source on a
    // real device).
    if dst.is_loopback() && !bound_to_link {
        return Ok(loopback_route(Ipv4Addr::LOCALHOST, dst));
    }
    if dst == iface.addr {
        return Ok(loopback_route(iface.addr, dst));
    }
    if Some(dst) == subnet_broadcast(iface) {
        return Ok(link_route(dst, true, false));
    }
    // With an output interface, limited broadcast and local multicast (224.0.0.0/24) go out
    // of it without a lookup.
    let local_multicast = u32::from(dst) & 0xffff_ff00 == 0xe000_0000;
    if bound_to_link && (dst.is_broadcast() || local_multicast) {
        return Ok(link_route(dst, dst.is_broadcast(), local_multicast));
    }
    // The main table: the connected subnet (scope link), then the default route (scope
    // universe, so not for dont_route).
    let matched = if on_link(iface, dst) {
        true
    } else {
        iface.gateway.is_some() && !dont_route
    };
    if !matched {
        // "Apparently, routing tables are wrong. Assume, that the destination is on link":
        // with an output device, a failed lookup sends on-link out of it.
        if bound_to_link {
            return Ok(link_route(dst, false, dst.is_multicast()));
        }
        return Err(Errno::ENETUNREACH);
    }
    // __mkroute_output: limited broadcast and multicast use whichever route matched, but are
    // sent to the link address the destination maps to, not to the gateway.
    if dst.is_broadcast() {
        return Ok(link_route(dst, true, false));
    }
    if dst.is_multicast() {
        return Ok(link_route(dst, false, true));
    }
    if on_link(iface, dst) {
        return Ok(link_route(dst, false, false));
    }
    match iface.gateway {
        Some(gateway) => Ok(link_route(gateway, false, false)),
        None => Err(Errno::ENETUNREACH),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(gateway: Option<Ipv4Addr>) -> InterfaceConfig {
        InterfaceConfig {
            name: "eth0".into(),
            ifindex: 2,
            mac: [2, 0, 0, 0, 0, 2],
            mtu: 1500,
            addr: Ipv4Addr::new(198, 18, 0, 2),
            prefix_len: 24,
            gateway,
        }
    }

    fn route(
        iface: &InterfaceConfig,
        dst: [u8; 4],
        oif: Option<u32>,
        dont_route: bool,
    ) -> Result<Route, Errno> {
        route_output(
            iface,
            &PmtuCache::default(),
            Instant::ZERO,
            Ipv4Addr::from(dst),
            oif,
            dont_route,
        )
    }

    // Each case checked against `ip route get` in a namespace with this configuration.
    #[test]
    fn matches_ip_route_get_without_gateway() {
        let i = iface(None);
        assert_eq!(
            route(&i, [255, 255, 255, 255], None, false),
            Err(Errno::ENETUNREACH)
        );
        assert_eq!(
            route(&i, [224, 0, 0, 1], None, false),
            Err(Errno::ENETUNREACH)
        );
        assert_eq!(
            route(&i, [198, 19, 0, 2], None, false),
            Err(Errno::ENETUNREACH)
        );
        let bcast = route(&i, [198, 18, 0, 255], None, false).unwrap();
        assert!(bcast.broadcast && !bcast.local && bcast.src == i.addr);
        let network = route(&i, [198, 18, 0, 0], None, false).unwrap();
        assert!(!network.broadcast && network.next_hop == Ipv4Addr::new(198, 18, 0, 0));
        let zero = route(&i, [0, 0, 0, 0], None, false).unwrap();
        assert_eq!(
            (zero.src, zero.next_hop, zero.ifindex, zero.local),
            (Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST, 1, true)
        );
        let lo = route(&i, [127, 0, 0, 5], None, false).unwrap();
        assert_eq!(
            (lo.src, lo.mtu, lo.local),
            (Ipv4Addr::LOCALHOST, 65536, true)
        );
        let own = route(&i, [198, 18, 0, 2], None, false).unwrap();
        assert_eq!((own.src, own.ifindex, own.local), (i.addr, 1, true));
    }

    #[test]
    fn matches_ip_route_get_with_gateway() {
        let i = iface(Some(Ipv4Addr::new(198, 18, 0, 1)));
        let remote = route(&i, [198, 19, 0, 2], None, false).unwrap();
        assert_eq!(
            (remote.next_hop, remote.mtu, remote.ifindex),
            (Ipv4Addr::new(198, 18, 0, 1), 1500, 2)
        );
        assert!(
            route(&i, [255, 255, 255, 255], None, false)
                .unwrap()
                .broadcast
        );
        let mc = route(&i, [224, 0, 0, 1], None, false).unwrap();
        assert!(mc.multicast && mc.next_hop == Ipv4Addr::new(224, 0, 0, 1));
        assert_eq!(
            route(&i, [198, 19, 0, 2], None, true),
            Err(Errno::ENETUNREACH)
        );
        assert!(route(&i, [198, 18, 0, 7], None, true).is_ok());
        assert_eq!(
            route(&i, [198, 19, 0, 2], Some(9), false),
            Err(Errno::ENODEV)
        );
    }

    #[test]
    fn bound_device_assumes_on_link() {
        let i = iface(None);
        let r = route(&i, [198, 19, 0, 2], Some(2), false).unwrap();
        assert_eq!(r.next_hop, Ipv4Addr::new(198, 19, 0, 2));
        assert!(
            route(&i, [255, 255, 255, 255], Some(2), false)
                .unwrap()
                .broadcast
        );
    }

    #[test]
    fn pmtu_only_lowers_and_clamps() {
        let mut cache = PmtuCache::default();
        let dst = Ipv4Addr::new(198, 19, 0, 2);
        let t = Instant::from_millis(1);
        let via = Nexthop::Gateway;
        cache.update(t, dst, via, 1500, 1400);
        assert_eq!(cache.lookup(t, dst).unwrap().mtu, 1400);
        assert_eq!(cache.generation(via), 1);
        cache.update(t, dst, via, 1500, 1450);
        assert_eq!(cache.lookup(t, dst).unwrap().mtu, 1400);
        cache.update(t, dst, via, 1500, 300);
        assert_eq!(cache.generation(via), 1, "updates do not make routes stale");
        let entry = cache.lookup(t, dst).unwrap();
        assert_eq!((entry.mtu, entry.locked), (552, true));
        assert!(cache.lookup(t + PMTU_EXPIRES, dst).is_none());
    }
}
