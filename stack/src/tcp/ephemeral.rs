//! Ephemeral ports as Linux 6.18 chooses them for TCP.
//!
//! - bind(addr, 0), and listen() or connect() on a socket bound without a port, take
//!   inet_csk_find_open_port's choice: a random odd offset from the range's low end (the
//!   parity *opposite* to `low`'s), every port of that parity, then the other parity; a
//!   SO_REUSEADDR socket searches the lower half of the range first. A port held by any
//!   socket or TIME_WAIT record on an overlapping address is skipped (relax = false).
//! - connect() on an unbound socket takes __inet_hash_connect's choice (RFC 6056's double
//!   hash, algorithm 4): the offset is a keyed hash of (source, destination, destination
//!   port) plus a perturbation table entry that grows after each success, even offsets
//!   (the parity of `low`) first. A port another connect() made is shared as long as the new
//!   4-tuple is unique (__inet_check_established), so ports run out per destination, not
//!   per host. A port bind() made (fastreuse >= 0) is never shared by connect().
//!   IP_LOCAL_PORT_RANGE on the socket makes the walk step by one, with no parity split.
//!
//! - Both searches skip the ports of ip_local_reserved_ports (inet_is_local_reserved_port);
//!   an explicit bind() to one is allowed. With ip_autobind_reuse, a bind(0) or listen() that
//!   found no free port searches again with relax = true: a SO_REUSEADDR socket may then share
//!   a port whose holders all set SO_REUSEADDR and none listens, unless both sides also set
//!   SO_REUSEPORT (inet_bind_conflict with reuseport_ok = false).

use core::net::{Ipv4Addr, SocketAddrV4};
use std::collections::HashMap;

use super::ports::{addresses_overlap, Binding, PortTable};
use crate::errno::Errno;
use crate::ipv4::keyed_hash;
use crate::random::Random;

/// INET_TABLE_PERTURB_SIZE: 1 << CONFIG_INET_TABLE_PERTURB_ORDER (16 by default).
const PERTURB_TABLE_SIZE: u64 = 1 << 16;

/// table_perturb (random at first use, one entry per hash bucket), net_secret's share that
/// secure_ipv4_port_ephemeral uses, and inet_ehashfn's secret (reuseport.rs). Table entries
/// are drawn when first touched: the same distribution as filling the whole table at once,
/// without 256 KiB per process.
#[derive(Debug, Default)]
pub(super) struct Perturbation {
    table: HashMap<u32, u32>,
    port_key: [u64; 2],
    pub(super) listener_key: [u64; 2],
}

impl Perturbation {
    pub(super) fn new(seed: u64) -> Perturbation {
        let mut random = Random::new(seed ^ 0x706f_7274_5f6b_6579);
        Perturbation {
            table: HashMap::new(),
            port_key: [random.next_u64(), random.next_u64()],
            listener_key: [random.next_u64(), random.next_u64()],
        }
    }

    /// secure_ipv4_port_ephemeral(saddr, daddr, dport): siphash of the three with net_secret.
    fn port_offset(&self, source: Ipv4Addr, remote: SocketAddrV4) -> u64 {
        keyed_hash(
            self.port_key,
            u32::from(source),
            u32::from(*remote.ip()),
            u32::from(remote.port()),
        )
    }

    fn entry(&mut self, index: u32, random: &mut Random) -> &mut u32 {
        self.table.entry(index).or_insert_with(|| random.next_u32())
    }
}

/// What connect() asks of the port table.
pub(super) struct ConnectPort {
    /// The socket's range (inet_sk_get_local_port_range).
    pub range: (u16, u16),
    /// IP_LOCAL_PORT_RANGE is set on the socket: step 1, no parity preference.
    pub socket_range: bool,
    pub source: Ipv4Addr,
    pub remote: SocketAddrV4,
}

impl PortTable {
    /// inet_csk_find_open_port (bind with port 0, and the autobind of listen and connect
    /// after IP_BIND_ADDRESS_NO_PORT): EADDRINUSE when every port is taken.
    pub fn claim_for_bind(
        &mut self,
        range: (u16, u16),
        claimant: Binding,
        random: &mut Random,
    ) -> Result<u16, Errno> {
        let mut relax = false;
        loop {
            if let Some(port) = self.find_open_port(range, &claimant, relax, random) {
                // inet_csk_get_port's "success": the relaxed pass found a port whose holders
                // all accept this socket, so the explicit-port rules accept it too.
                self.claim(port, claimant)?;
                return Ok(port);
            }
            // "if (net->ipv4.sysctl_ip_autobind_reuse && !relax) { relax = true; goto
            // ports_exhausted; }": "We still have a chance to connect to different
            // destinations".
            if self.autobind_reuse && !relax {
                relax = true;
                continue;
            }
            return Err(Errno::EADDRINUSE);
        }
    }

    /// One pass of inet_csk_find_open_port's search, from "ports_exhausted:".
    fn find_open_port(
        &self,
        range: (u16, u16),
        claimant: &Binding,
        relax: bool,
        random: &mut Random,
    ) -> Option<u16> {
        // "attempt_half = (sk->sk_reuse == SK_CAN_REUSE) ? 1 : 0".
        let mut attempt_half = u32::from(claimant.reuse_address);
        loop {
            let mut low = u32::from(range.0);
            let mut high = u32::from(range.1.max(range.0)) + 1;
            if high - low < 4 {
                attempt_half = 0;
            }
            if attempt_half != 0 {
                let half = low + (((high - low) >> 2) << 1);
                if attempt_half == 1 {
                    high = half;
                } else {
                    low = half;
                }
            }
            let mut remaining = high - low;
            if remaining > 1 {
                remaining &= !1;
            }
            // "__inet_hash_connect() favors ports having @low parity. We do the opposite to
            // not pollute connect() users."
            let mut offset = random.below(u64::from(remaining)) as u32 | 1;
            loop {
                let mut port = low + offset;
                for _ in (0..remaining).step_by(2) {
                    if port >= high {
                        port -= remaining;
                    }
                    let candidate = port as u16;
                    if !self.reserved.contains(candidate)
                        && self.free_for_autobind(candidate, claimant, relax)
                    {
                        return Some(candidate);
                    }
                    port += 2;
                }
                offset = offset.wrapping_sub(1);
                if offset & 1 != 0 {
                    break;
                }
            }
            if attempt_half == 1 {
                attempt_half = 2;
                continue;
            }
            return None;
        }
    }

    /// inet_csk_bind_conflict with reuseport_ok = false. Without relax any holder on an
    /// overlapping address (a TIME_WAIT record included) makes the port unusable; with relax
    /// (ip_autobind_reuse's second pass) two SO_REUSEADDR sockets share unless the holder
    /// listens or both set SO_REUSEPORT (inet_bind_conflict: "if (!relax || (!reuseport_ok &&
    /// sk->sk_reuseport && sk2->sk_reuseport && ...)) return true").
    fn free_for_autobind(&self, port: u16, claimant: &Binding, relax: bool) -> bool {
        self.bucket(port).is_none_or(|bucket| {
            !bucket.bindings.iter().any(|existing| {
                let shares = relax
                    && claimant.reuse_address
                    && existing.reuse_address
                    && !existing.listening
                    && !(claimant.reuse_port && existing.reuse_port);
                existing.holder != claimant.holder
                    && addresses_overlap(existing.address, claimant.address)
                    && !shares
            })
        })
    }

    /// __inet_hash_connect for a socket without a port: `tuple_in_use(port)` is
    /// __inet_check_established's answer for (source, port, remote). EADDRNOTAVAIL when no
    /// port of the range works.
    pub(super) fn claim_for_connect(
        &mut self,
        request: &ConnectPort,
        claimant: Binding,
        random: &mut Random,
        tuple_in_use: impl Fn(u16) -> bool,
    ) -> Result<u16, Errno> {
        let step = if request.socket_range { 1 } else { 2 };
        let low = u32::from(request.range.0);
        let high = u32::from(request.range.1.max(request.range.0)) + 1;
        let mut remaining = high - low;
        if !request.socket_range && remaining > 1 {
            remaining &= !1;
        }
        let port_offset = self
            .perturbation
            .port_offset(request.source, request.remote);
        let index = (port_offset & (PERTURB_TABLE_SIZE - 1)) as u32;
        let perturb = *self.perturbation.entry(index, random);
        let mut offset = perturb.wrapping_add((port_offset >> 32) as u32) % remaining;
        // "In first pass we try ports of @low parity."
        if !request.socket_range {
            offset &= !1;
        }
        loop {
            let mut port = low + offset;
            let mut tried = 0;
            while tried < remaining {
                if port >= high {
                    port -= remaining;
                }
                let candidate = port as u16;
                // "if (inet_is_local_reserved_port(net, port)) continue;" (the loop's
                // "i += step, port += step" still runs).
                if self.reserved.contains(candidate) {
                    tried += step;
                    port += step;
                    continue;
                }
                let usable = match self.bucket(candidate) {
                    None => true,
                    Some(bucket) => bucket.made_by_connect && !tuple_in_use(candidate),
                };
                if usable {
                    // "add a little bit of randomness to the next source port":
                    // i = max(i, get_random_u32_below(8) * step).
                    let advance = tried.max(random.below(8) as u32 * step) + step;
                    let entry = self.perturbation.entry(index, random);
                    *entry = entry.wrapping_add(advance);
                    let created = self.bucket(candidate).is_none();
                    self.insert(candidate, claimant);
                    if created {
                        if let Some(bucket) = self.ports.get_mut(&candidate) {
                            bucket.made_by_connect = true;
                        }
                    }
                    return Ok(candidate);
                }
                tried += step;
                port += step;
            }
            if request.socket_range {
                break;
            }
            offset += 1;
            if offset & 1 == 0 || remaining <= 1 {
                break;
            }
        }
        Err(Errno::EADDRNOTAVAIL)
    }
}

#[cfg(test)]
mod tests {
    use super::super::ports::Holder;
    use super::*;
    use crate::reserved_ports::ReservedPorts;
    use crate::socket::SocketId;

    const PEER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 1), 7);
    const OTHER_PEER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 1), 9);
    const SOURCE: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);

    fn binding(index: u32, address: Ipv4Addr, reuse_address: bool) -> Binding {
        Binding {
            holder: Holder::Socket(SocketId {
                index,
                generation: 0,
            }),
            address,
            reuse_address,
            reuse_port: false,
            listening: false,
        }
    }

    fn connect_request(range: (u16, u16), remote: SocketAddrV4) -> ConnectPort {
        ConnectPort {
            range,
            socket_range: false,
            source: SOURCE,
            remote,
        }
    }

    #[test]
    fn bind_takes_the_parity_opposite_to_low_and_connect_the_same() {
        let mut random = Random::new(3);
        for (range, bind_parity) in [((32768, 60999), 1), ((40001, 40010), 0)] {
            let mut table = PortTable::default();
            for index in 0..3 {
                let port = table
                    .claim_for_bind(range, binding(index, SOURCE, false), &mut random)
                    .unwrap();
                assert_eq!(port % 2, bind_parity, "bind in {range:?}");
                let port = table
                    .claim_for_connect(
                        &connect_request(range, PEER),
                        binding(100 + index, SOURCE, false),
                        &mut random,
                        |_| false,
                    )
                    .unwrap();
                assert_eq!(port % 2, 1 - bind_parity, "connect in {range:?}");
            }
        }
    }

    #[test]
    fn reuse_address_binds_in_the_lower_half_first() {
        let mut random = Random::new(5);
        let mut table = PortTable::default();
        // [40001, 40004]: half = 40003, the lower half [40001, 40003[ holds 40002 only.
        let port = table
            .claim_for_bind((40001, 40004), binding(1, SOURCE, true), &mut random)
            .unwrap();
        assert_eq!(port, 40002);
    }

    #[test]
    fn connect_shares_its_ports_across_destinations_but_not_bind_ports() {
        let mut random = Random::new(9);
        let mut table = PortTable::default();
        let range = (50000, 50001);
        let first = table
            .claim_for_connect(
                &connect_request(range, PEER),
                binding(1, SOURCE, false),
                &mut random,
                |_| false,
            )
            .unwrap();
        let second = table
            .claim_for_connect(
                &connect_request(range, PEER),
                binding(2, SOURCE, false),
                &mut random,
                |port| port == first,
            )
            .unwrap();
        assert_ne!(first, second);
        // Both ports are used towards PEER; OTHER_PEER's tuples are all free.
        let third = table
            .claim_for_connect(
                &connect_request(range, OTHER_PEER),
                binding(3, SOURCE, false),
                &mut random,
                |_| false,
            )
            .unwrap();
        assert!(third == first || third == second);
        assert_eq!(
            table.claim_for_connect(
                &connect_request(range, PEER),
                binding(4, SOURCE, false),
                &mut random,
                |_| true,
            ),
            Err(Errno::EADDRNOTAVAIL)
        );
        // A port bind() took is never shared by connect().
        let mut table = PortTable::default();
        table.claim(50000, binding(1, SOURCE, false)).unwrap();
        let port = table
            .claim_for_connect(
                &connect_request((50000, 50001), PEER),
                binding(2, SOURCE, false),
                &mut random,
                |_| false,
            )
            .unwrap();
        assert_eq!(port, 50001);
        // bind(0) does not take a port connect() holds on an overlapping address.
        assert_eq!(
            table.claim_for_bind((50000, 50001), binding(3, SOURCE, false), &mut random),
            Err(Errno::EADDRINUSE)
        );
    }

    #[test]
    fn both_searches_skip_reserved_ports() {
        let reserved = ReservedPorts::from_ranges(&[(40001, 40001), (40004, 40004)]);
        let range = (40001, 40004);
        for seed in 0..8 {
            let mut random = Random::new(seed);
            let mut table = PortTable {
                reserved: reserved.clone(),
                ..PortTable::default()
            };
            let mut bound: Vec<u16> = (0..2)
                .map(|index| {
                    table
                        .claim_for_bind(range, binding(index, SOURCE, false), &mut random)
                        .unwrap()
                })
                .collect();
            bound.sort_unstable();
            assert_eq!(bound, [40002, 40003]);
            assert_eq!(
                table.claim_for_bind(range, binding(9, SOURCE, false), &mut random),
                Err(Errno::EADDRINUSE)
            );
            let mut table = PortTable {
                reserved: reserved.clone(),
                ..PortTable::default()
            };
            let mut connected: Vec<u16> = Vec::new();
            for index in 0..2 {
                let port = table
                    .claim_for_connect(
                        &connect_request(range, PEER),
                        binding(index, SOURCE, false),
                        &mut random,
                        |port| connected.contains(&port),
                    )
                    .unwrap();
                connected.push(port);
            }
            connected.sort_unstable();
            assert_eq!(connected, [40002, 40003]);
            assert_eq!(
                table.claim_for_connect(
                    &connect_request(range, PEER),
                    binding(9, SOURCE, false),
                    &mut random,
                    |_| true,
                ),
                Err(Errno::EADDRNOTAVAIL)
            );
        }
    }

    /// ip_autobind_reuse's relaxed pass: SO_REUSEADDR sockets share a port no one listens
    /// on; a TIME_WAIT record that set SO_REUSEADDR is shared too.
    #[test]
    fn autobind_reuse_relaxes_only_after_the_range_is_exhausted() {
        let mut random = Random::new(17);
        let mut table = PortTable {
            autobind_reuse: true,
            ..PortTable::default()
        };
        let range = (50000, 50001);
        let first = table
            .claim_for_bind(range, binding(1, SOURCE, true), &mut random)
            .unwrap();
        let second = table
            .claim_for_bind(range, binding(2, SOURCE, true), &mut random)
            .unwrap();
        assert_ne!(first, second, "a free port comes before sharing");
        let third = table
            .claim_for_bind(range, binding(3, SOURCE, true), &mut random)
            .unwrap();
        assert!(third == first || third == second);
        assert_eq!(
            table.claim_for_bind(range, binding(4, SOURCE, false), &mut random),
            Err(Errno::EADDRINUSE)
        );
        let mut table = PortTable {
            autobind_reuse: true,
            ..PortTable::default()
        };
        let local = SocketAddrV4::new(SOURCE, 50000);
        table.hold(
            50000,
            Binding {
                holder: Holder::TimeWait(local, PEER),
                ..binding(0, SOURCE, true)
            },
        );
        assert_eq!(
            table.claim_for_bind((50000, 50000), binding(5, SOURCE, true), &mut random),
            Ok(50000)
        );
    }

    #[test]
    fn socket_range_walks_every_port() {
        let mut random = Random::new(11);
        let mut table = PortTable::default();
        let mut request = connect_request((60000, 60002), PEER);
        request.socket_range = true;
        let mut claimed: Vec<u16> = Vec::new();
        for index in 0..3 {
            let port = table
                .claim_for_connect(
                    &request,
                    binding(index, SOURCE, false),
                    &mut random,
                    |port| claimed.contains(&port),
                )
                .unwrap();
            claimed.push(port);
        }
        claimed.sort_unstable();
        assert_eq!(claimed, [60000, 60001, 60002]);
        assert_eq!(
            table.claim_for_connect(&request, binding(9, SOURCE, false), &mut random, |_| true),
            Err(Errno::EADDRNOTAVAIL)
        );
    }
}
