//! Local port reservations for TCP (the bind hash, inet_bind_bucket): who holds which port and
//! address, with the flags inet_bind_conflict compares. TIME_WAIT connections hold their port
//! too. Kept behind this one interface so it can move to shared memory later (DESIGN.md).

use core::net::{Ipv4Addr, SocketAddrV4};
use std::collections::BTreeMap;

use crate::errno::Errno;
use crate::random::Random;
use crate::socket::SocketId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    Socket(SocketId),
    /// A TIME_WAIT entry, named by its local and remote address.
    TimeWait(SocketAddrV4, SocketAddrV4),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    pub holder: Holder,
    pub address: Ipv4Addr,
    pub reuse_address: bool,
    pub reuse_port: bool,
    pub listening: bool,
}

#[derive(Debug, Default)]
pub struct PortTable {
    ports: BTreeMap<u16, Vec<Binding>>,
}

/// inet_rcv_saddr_equal with wildcards matching.
fn addresses_overlap(a: Ipv4Addr, b: Ipv4Addr) -> bool {
    a == b || a.is_unspecified() || b.is_unspecified()
}

/// inet_bind_conflict as inet_csk_get_port calls it for an explicit port (relax = true,
/// reuseport_ok = true): two SO_REUSEADDR sockets share unless the existing one listens; two
/// SO_REUSEPORT sockets of one user always share.
fn conflicts(existing: &Binding, claimant: &Binding) -> bool {
    if existing.holder == claimant.holder || !addresses_overlap(existing.address, claimant.address)
    {
        return false;
    }
    if claimant.reuse_address && existing.reuse_address && !existing.listening {
        return false;
    }
    !(claimant.reuse_port && existing.reuse_port)
}

impl PortTable {
    pub fn is_free_for(&self, port: u16, claimant: &Binding) -> bool {
        self.ports
            .get(&port)
            .is_none_or(|chain| !chain.iter().any(|existing| conflicts(existing, claimant)))
    }

    /// bind to a given port: EADDRINUSE on conflict.
    pub fn claim(&mut self, port: u16, claimant: Binding) -> Result<(), Errno> {
        if !self.is_free_for(port, &claimant) {
            return Err(Errno::EADDRINUSE);
        }
        self.insert(port, claimant);
        Ok(())
    }

    /// Adds a holder without a conflict check (a TIME_WAIT record inherits its socket's
    /// port).
    pub fn hold(&mut self, port: u16, binding: Binding) {
        self.insert(port, binding);
    }

    fn insert(&mut self, port: u16, claimant: Binding) {
        let chain = self.ports.entry(port).or_default();
        chain.retain(|existing| existing.holder != claimant.holder);
        chain.push(claimant);
    }

    /// An ephemeral port (inet_csk_find_open_port for bind(0), __inet_hash_connect for
    /// connect): a random start in the range, then every port of one parity before the other
    /// — bind prefers odd ports, connect even ones, as Linux does since 4.6. EADDRINUSE
    /// (bind) / EADDRNOTAVAIL (connect) when every port is taken.
    pub fn claim_ephemeral(
        &mut self,
        range: (u16, u16),
        claimant: Binding,
        prefer_odd: bool,
        random: &mut Random,
    ) -> Result<u16, Errno> {
        let (low, high) = (u32::from(range.0), u32::from(range.1.max(range.0)));
        let span = high - low + 1;
        let start = random.below(u64::from(span)) as u32;
        for parity_pass in 0..2u32 {
            let want_odd = prefer_odd ^ (parity_pass == 1);
            for step in 0..span {
                let port = low + (start + step) % span;
                if (port % 2 == 1) != want_odd {
                    continue;
                }
                let port = port as u16;
                // An ephemeral port is never shared with another binding.
                if self.ports.get(&port).is_none_or(|chain| chain.is_empty()) {
                    self.insert(port, claimant);
                    return Ok(port);
                }
            }
        }
        Err(if prefer_odd {
            Errno::EADDRINUSE
        } else {
            Errno::EADDRNOTAVAIL
        })
    }

    pub fn release(&mut self, port: u16, holder: Holder) {
        if let Some(chain) = self.ports.get_mut(&port) {
            chain.retain(|existing| existing.holder != holder);
            if chain.is_empty() {
                self.ports.remove(&port);
            }
        }
    }

    /// Updates a holder's flags (listen() marks the binding as listening).
    pub fn update(&mut self, port: u16, holder: Holder, change: impl FnOnce(&mut Binding)) {
        if let Some(binding) = self
            .ports
            .get_mut(&port)
            .and_then(|chain| chain.iter_mut().find(|b| b.holder == holder))
        {
            change(binding);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn socket(index: u32, reuse_address: bool, listening: bool) -> Binding {
        Binding {
            holder: Holder::Socket(SocketId {
                index,
                generation: 0,
            }),
            address: Ipv4Addr::UNSPECIFIED,
            reuse_address,
            reuse_port: false,
            listening,
        }
    }

    #[test]
    fn reuse_address_shares_unless_listening() {
        let mut table = PortTable::default();
        table.claim(80, socket(1, true, false)).unwrap();
        table.claim(80, socket(2, true, false)).unwrap();
        assert_eq!(
            table.claim(80, socket(3, false, false)),
            Err(Errno::EADDRINUSE)
        );
        table.update(80, socket(1, true, false).holder, |b| b.listening = true);
        assert_eq!(
            table.claim(80, socket(4, true, false)),
            Err(Errno::EADDRINUSE)
        );
    }

    #[test]
    fn ephemeral_prefers_the_asked_parity() {
        let mut table = PortTable::default();
        let mut random = Random::new(1);
        let odd = table
            .claim_ephemeral((32768, 60999), socket(1, false, false), true, &mut random)
            .unwrap();
        assert_eq!(odd % 2, 1);
        let even = table
            .claim_ephemeral((32768, 60999), socket(2, false, false), false, &mut random)
            .unwrap();
        assert_eq!(even % 2, 0);
        let mut tiny = PortTable::default();
        tiny.claim_ephemeral((5000, 5000), socket(1, false, false), false, &mut random)
            .unwrap();
        assert_eq!(
            tiny.claim_ephemeral((5000, 5000), socket(2, false, false), false, &mut random),
            Err(Errno::EADDRNOTAVAIL)
        );
    }
}
