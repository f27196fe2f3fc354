//! Port reservations of one protocol (struct udp_table): which socket holds which local port
//! and address, with the reuse flags the conflict rules need. This is the one interface for
//! port allocation, so it can later move into memory shared by several processes (DESIGN.md,
//! "Several processes") without touching the rest of the layer.
//!
//! Two orders matter and are kept as sequence numbers:
//! * the port chain (udp_hslot, sk_add_node_rcu adds at the head): newest bind first; the
//!   conflict check walks it and stops early on a SO_REUSEPORT match;
//! * the port+address chain (udp_hslot2, hlist_add_head_rcu at bind and at every rehash):
//!   newest first; demux walks it and keeps the first of equal scores.

use core::net::Ipv4Addr;
use std::collections::BTreeMap;

use crate::errno::Errno;
use crate::reserved_ports::ReservedPorts;
use crate::socket::SocketId;

use crate::random::scale;

/// The kernel's UDP hash table size on this machine ("UDP hash table entries: 16384" at boot).
/// Ephemeral search walks one hash chain at a time, so the size shapes the search order.
const HASH_TABLE_SIZE: u32 = 16384;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PortBinding {
    pub owner: SocketId,
    /// inet_rcv_saddr: 0.0.0.0 for a wildcard bind.
    pub address: Ipv4Addr,
    pub reuse_address: bool,
    pub reuse_port: bool,
    /// sk_bound_dev_if (SO_BINDTODEVICE / SO_BINDTOIFINDEX), 0 when unbound.
    pub device: u32,
    /// Position in the port chain (higher = nearer the head).
    pub bind_order: u64,
    /// Position in the port+address chain (higher = nearer the head).
    pub address_order: u64,
}

/// Who asks for a port, with the flags udp_lib_lport_inuse compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Claimant {
    pub owner: SocketId,
    pub address: Ipv4Addr,
    pub reuse_address: bool,
    pub reuse_port: bool,
    /// sk_bound_dev_if, 0 when unbound.
    pub device: u32,
    /// It already has a reuseport group (sk_reuseport_cb, from SO_ATTACH_REUSEPORT_CBPF
    /// before bind): SO_REUSEPORT does not let it share a port.
    pub has_reuseport_group: bool,
}

#[derive(Debug, Default)]
pub(crate) struct PortTable {
    chains: BTreeMap<u16, Vec<PortBinding>>,
    next_order: u64,
    /// net.ipv4.ip_local_reserved_ports: the ephemeral search skips these.
    reserved: ReservedPorts,
}

/// inet_rcv_saddr_equal(sk, sk2, match_wildcard = true): the same address, or either is the
/// wildcard.
fn addresses_overlap(a: Ipv4Addr, b: Ipv4Addr) -> bool {
    a == b || a.is_unspecified() || b.is_unspecified()
}

/// udp_lib_lport_inuse's device test: sockets bound to two different devices never conflict
/// ("!sk2->sk_bound_dev_if || !sk->sk_bound_dev_if || sk2->sk_bound_dev_if ==
/// sk->sk_bound_dev_if"); an unbound one overlaps every device.
fn devices_overlap(a: u32, b: u32) -> bool {
    a == 0 || b == 0 || a == b
}

impl PortTable {
    #[cfg(test)]
    pub fn new() -> PortTable {
        PortTable::default()
    }

    /// An empty table whose ephemeral search skips `reserved` (ip_local_reserved_ports).
    pub fn with_reserved(reserved: ReservedPorts) -> PortTable {
        PortTable {
            reserved,
            ..PortTable::default()
        }
    }

    fn next_order(&mut self) -> u64 {
        self.next_order += 1;
        self.next_order
    }

    /// The bindings of `port`, in port-chain order (newest bind first).
    pub fn bindings(&self, port: u16) -> Vec<PortBinding> {
        let mut chain = self.chains.get(&port).cloned().unwrap_or_default();
        chain.sort_by_key(|binding| core::cmp::Reverse(binding.bind_order));
        chain
    }

    /// The bindings of `port`, in port+address chain order (what demux walks).
    pub fn bindings_for_lookup(&self, port: u16) -> Vec<PortBinding> {
        let mut chain = self.chains.get(&port).cloned().unwrap_or_default();
        chain.sort_by_key(|binding| core::cmp::Reverse(binding.address_order));
        chain
    }

    /// udp_lib_lport_inuse without a bitmap: walks the chain newest first; a binding that
    /// shares the address (wildcards overlap) and the device (an unbound socket overlaps
    /// every device) conflicts unless both sides set SO_REUSEADDR;
    /// a conflicting binding where both sides set SO_REUSEPORT ends the walk as "free" (same
    /// user: one process is one user).
    fn in_use(&self, port: u16, claimant: &Claimant) -> bool {
        for existing in self.bindings(port) {
            if existing.owner == claimant.owner {
                continue;
            }
            let shares = (!existing.reuse_address || !claimant.reuse_address)
                && devices_overlap(existing.device, claimant.device)
                && addresses_overlap(existing.address, claimant.address);
            if !shares {
                continue;
            }
            return !(existing.reuse_port && claimant.reuse_port && !claimant.has_reuseport_group);
        }
        false
    }

    /// The bitmap variant used by the ephemeral search: a port is taken if any binding
    /// conflicts and is not SO_REUSEPORT-compatible (no early exit).
    fn taken_for_ephemeral(&self, port: u16, claimant: &Claimant) -> bool {
        self.chains.get(&port).is_some_and(|chain| {
            chain.iter().any(|existing| {
                existing.owner != claimant.owner
                    && (!existing.reuse_address || !claimant.reuse_address)
                    && devices_overlap(existing.device, claimant.device)
                    && addresses_overlap(existing.address, claimant.address)
                    && !(existing.reuse_port
                        && claimant.reuse_port
                        && !claimant.has_reuseport_group)
            })
        })
    }

    fn insert(&mut self, port: u16, claimant: &Claimant) {
        let order = self.next_order();
        self.chains.entry(port).or_default().push(PortBinding {
            owner: claimant.owner,
            address: claimant.address,
            reuse_address: claimant.reuse_address,
            reuse_port: claimant.reuse_port,
            device: claimant.device,
            bind_order: order,
            address_order: order,
        });
    }

    /// bind to a given port (udp_lib_get_port with snum != 0): EADDRINUSE on conflict.
    pub fn claim(&mut self, port: u16, claimant: &Claimant) -> Result<(), Errno> {
        if self.in_use(port, claimant) {
            return Err(Errno::EADDRINUSE);
        }
        self.insert(port, claimant);
        Ok(())
    }

    /// udp_lib_get_port with snum == 0: start at a random port of `range`, then walk hash
    /// chain after hash chain; within a chain step by an odd multiple of the table size, which
    /// visits every port of the chain; ports of ip_local_reserved_ports are skipped.
    /// EADDRINUSE when the range is exhausted.
    pub fn claim_ephemeral(
        &mut self,
        range: (u16, u16),
        random: u32,
        claimant: &Claimant,
    ) -> Result<u16, Errno> {
        let (low, high) = range;
        if high < low {
            return Err(Errno::EADDRINUSE);
        }
        let remaining = u32::from(high) - u32::from(low) + 1;
        let mut first = (scale(random, remaining) + u32::from(low)) as u16;
        let step = ((random | 1).wrapping_mul(HASH_TABLE_SIZE)) as u16;
        let last = first.wrapping_add(HASH_TABLE_SIZE as u16);
        loop {
            let mut port = first;
            loop {
                // "if (low <= snum && snum <= high && !test_bit(...) &&
                // !inet_is_local_reserved_port(net, snum)) goto found".
                if (low..=high).contains(&port)
                    && !self.taken_for_ephemeral(port, claimant)
                    && !self.reserved.contains(port)
                {
                    self.insert(port, claimant);
                    return Ok(port);
                }
                port = port.wrapping_add(step);
                if port == first {
                    break;
                }
            }
            first = first.wrapping_add(1);
            if first == last {
                return Err(Errno::EADDRINUSE);
            }
        }
    }

    /// udp_lib_unhash.
    pub fn release(&mut self, port: u16, owner: SocketId) {
        if let Some(chain) = self.chains.get_mut(&port) {
            chain.retain(|binding| binding.owner != owner);
            if chain.is_empty() {
                self.chains.remove(&port);
            }
        }
    }

    /// udp_lib_rehash: the receive address changed (connect filled it in, or a disconnect
    /// cleared it); the socket moves to the head of its new port+address chain.
    pub fn change_address(&mut self, port: u16, owner: SocketId, address: Ipv4Addr) {
        let order = self.next_order();
        if let Some(binding) = self
            .chains
            .get_mut(&port)
            .and_then(|chain| chain.iter_mut().find(|b| b.owner == owner))
        {
            if binding.address != address {
                binding.address = address;
                binding.address_order = order;
            }
        }
    }

    /// SO_BINDTODEVICE / SO_BINDTOIFINDEX after bind: sock_bindtoindex_locked only rehashes
    /// (no conflict check); later binds compare with the new device.
    pub fn set_device(&mut self, port: u16, owner: SocketId, device: u32) {
        if let Some(binding) = self
            .chains
            .get_mut(&port)
            .and_then(|chain| chain.iter_mut().find(|b| b.owner == owner))
        {
            binding.device = device;
        }
    }

    /// SO_REUSEADDR / SO_REUSEPORT changed after bind: later conflict checks read the socket's
    /// current flags, as the kernel reads sk2->sk_reuse.
    pub fn set_reuse(&mut self, port: u16, owner: SocketId, reuse_address: bool, reuse_port: bool) {
        if let Some(binding) = self
            .chains
            .get_mut(&port)
            .and_then(|chain| chain.iter_mut().find(|b| b.owner == owner))
        {
            binding.reuse_address = reuse_address;
            binding.reuse_port = reuse_port;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claimant(index: u32, address: [u8; 4], reuse_address: bool, reuse_port: bool) -> Claimant {
        Claimant {
            owner: SocketId {
                index,
                generation: 0,
            },
            address: Ipv4Addr::from(address),
            reuse_address,
            reuse_port,
            device: 0,
            has_reuseport_group: false,
        }
    }

    #[test]
    fn conflict_rules() {
        let mut table = PortTable::new();
        table
            .claim(5000, &claimant(1, [0, 0, 0, 0], false, false))
            .unwrap();
        // Wildcard overlaps everything.
        assert_eq!(
            table.claim(5000, &claimant(2, [127, 0, 0, 1], false, false)),
            Err(Errno::EADDRINUSE)
        );
        // Both need SO_REUSEADDR.
        assert_eq!(
            table.claim(5000, &claimant(2, [0, 0, 0, 0], true, false)),
            Err(Errno::EADDRINUSE)
        );
        table.set_reuse(5000, claimant(1, [0; 4], false, false).owner, true, false);
        table
            .claim(5000, &claimant(2, [0, 0, 0, 0], true, false))
            .unwrap();
        // Distinct specific addresses never conflict.
        table
            .claim(6000, &claimant(3, [127, 0, 0, 1], false, false))
            .unwrap();
        table
            .claim(6000, &claimant(4, [198, 18, 0, 2], false, false))
            .unwrap();
        // SO_REUSEPORT on both sides.
        table
            .claim(7000, &claimant(5, [0, 0, 0, 0], false, true))
            .unwrap();
        table
            .claim(7000, &claimant(6, [0, 0, 0, 0], false, true))
            .unwrap();
        assert_eq!(
            table.claim(7000, &claimant(7, [0, 0, 0, 0], false, false)),
            Err(Errno::EADDRINUSE)
        );
        table.release(7000, claimant(5, [0; 4], false, false).owner);
        table.release(7000, claimant(6, [0; 4], false, false).owner);
        table
            .claim(7000, &claimant(7, [0, 0, 0, 0], false, false))
            .unwrap();
    }

    /// udp_lib_lport_inuse compares sk_bound_dev_if (measured natively: eth0 and lo share a
    /// port; an unbound socket conflicts with both; the same device conflicts).
    #[test]
    fn sockets_bound_to_different_devices_share_a_port() {
        let on = |index: u32, device: u32| Claimant {
            device,
            ..claimant(index, [0, 0, 0, 0], false, false)
        };
        let mut table = PortTable::new();
        table.claim(5000, &on(1, 2)).unwrap();
        table.claim(5000, &on(2, 1)).unwrap();
        assert_eq!(table.claim(5000, &on(3, 2)), Err(Errno::EADDRINUSE));
        assert_eq!(table.claim(5000, &on(3, 0)), Err(Errno::EADDRINUSE));
        // An unbound holder conflicts with any device; rebinding the holder to another
        // device after bind frees the port for the first one's device.
        table.claim(6000, &on(4, 0)).unwrap();
        assert_eq!(table.claim(6000, &on(5, 2)), Err(Errno::EADDRINUSE));
        table.set_device(6000, on(4, 0).owner, 1);
        table.claim(6000, &on(5, 2)).unwrap();
        // A socket with a reuseport group of its own cannot join another group.
        table
            .claim(7000, &claimant(8, [0, 0, 0, 0], false, true))
            .unwrap();
        let grouped = Claimant {
            has_reuseport_group: true,
            ..claimant(9, [0, 0, 0, 0], false, true)
        };
        assert_eq!(table.claim(7000, &grouped), Err(Errno::EADDRINUSE));
        // The ephemeral search applies the same rule.
        let port = table.claim_ephemeral((6000, 6000), 0, &on(6, 3)).unwrap();
        assert_eq!(port, 6000);
        assert_eq!(
            table.claim_ephemeral((6000, 6000), 0, &on(7, 2)),
            Err(Errno::EADDRINUSE)
        );
    }

    #[test]
    fn ephemeral_stays_in_range_and_avoids_taken_ports() {
        let mut table = PortTable::new();
        let range = (40000, 40003);
        let mut seen = Vec::new();
        for index in 0..4 {
            let port = table
                .claim_ephemeral(
                    range,
                    0x1234_5678 * (index + 1),
                    &claimant(index, [0; 4], false, false),
                )
                .unwrap();
            assert!((40000..=40003).contains(&port));
            seen.push(port);
        }
        seen.sort();
        assert_eq!(seen, vec![40000, 40001, 40002, 40003]);
        assert_eq!(
            table.claim_ephemeral(range, 7, &claimant(9, [0; 4], false, false)),
            Err(Errno::EADDRINUSE)
        );
    }

    /// IP_LOCAL_PORT_RANGE narrows the sysctl's range with the bounds that fall inside it
    /// (inet_sk_get_local_port_range), the high bound compared with the narrowed low one.
    #[test]
    fn socket_port_range_narrows_the_sysctl_range() {
        use crate::config::Sysctls;
        use crate::sockopt::SocketOptions;
        let mut options = SocketOptions::new(&Sysctls::default());
        let sysctl = (32768, 60999);
        let with = |options: &mut SocketOptions, low: u32, high: u32| {
            options.local_port_range = low | high << 16;
            options.ephemeral_port_range(sysctl)
        };
        assert_eq!(options.ephemeral_port_range(sysctl), sysctl);
        assert_eq!(with(&mut options, 45000, 45000), (45000, 45000));
        assert_eq!(with(&mut options, 0, 32768), (32768, 32768));
        assert_eq!(with(&mut options, 50000, 0), (50000, 60999));
        assert_eq!(with(&mut options, 1000, 2000), sysctl);
        assert_eq!(with(&mut options, 40000, 65535), (40000, 60999));
        let mut table = PortTable::new();
        let range = with(&mut options, 45000, 45000);
        assert_eq!(
            table.claim_ephemeral(range, 99, &claimant(1, [0; 4], false, false)),
            Ok(45000)
        );
        assert_eq!(
            table.claim_ephemeral(range, 7, &claimant(2, [0; 4], false, false)),
            Err(Errno::EADDRINUSE)
        );
    }

    /// udp_lib_get_port skips ip_local_reserved_ports; an explicit bind does not look.
    #[test]
    fn ephemeral_skips_reserved_ports() {
        let reserved = ReservedPorts::from_ranges(&[(40000, 40001), (40003, 40003)]);
        for random in [0, 7, 0x8000_0000, u32::MAX] {
            let mut table = PortTable::with_reserved(reserved.clone());
            let any = |index| claimant(index, [0; 4], false, false);
            assert_eq!(
                table.claim_ephemeral((40000, 40003), random, &any(1)),
                Ok(40002)
            );
            assert_eq!(
                table.claim_ephemeral((40000, 40003), random, &any(2)),
                Err(Errno::EADDRINUSE)
            );
            assert_eq!(table.claim(40001, &any(3)), Ok(()));
        }
    }

    #[test]
    fn ephemeral_start_is_random_in_range() {
        let mut table = PortTable::new();
        let port = table
            .claim_ephemeral(
                (32768, 60999),
                0x8000_0000,
                &claimant(1, [0; 4], false, false),
            )
            .unwrap();
        // reciprocal_scale(2^31, 28232) + 32768 = 14116 + 32768.
        assert_eq!(port, 46884);
    }
}
