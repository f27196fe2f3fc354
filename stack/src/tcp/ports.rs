//! Local port reservations for TCP (the bind hash, inet_bind_bucket): who holds which port and
//! address, with the flags inet_bind_conflict compares. TIME_WAIT connections hold their port
//! too. Kept behind this one interface so it can move to shared memory later (DESIGN.md).

use core::net::{Ipv4Addr, SocketAddrV4};
use std::collections::BTreeMap;

use crate::config::Sysctls;
use crate::errno::Errno;
use crate::reserved_ports::ReservedPorts;
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

/// One port's inet_bind_bucket: its holders, and whether connect() made it (fastreuse and
/// fastreuseport both -1), the only kind of bucket another connect() may share.
#[derive(Debug, Default)]
pub(super) struct Bucket {
    pub(super) bindings: Vec<Binding>,
    pub(super) made_by_connect: bool,
}

#[derive(Debug, Default)]
pub struct PortTable {
    pub(super) ports: BTreeMap<u16, Bucket>,
    /// __inet_hash_connect's table_perturb and the key of secure_ipv4_port_ephemeral
    /// (ephemeral.rs), and the listener hash's key (reuseport.rs).
    pub(super) perturbation: super::ephemeral::Perturbation,
    /// Orders the SO_ATTACH_REUSEPORT_CBPF programs of a group: the latest attached wins.
    pub(super) program_sequence: u64,
    /// net.ipv4.ip_local_reserved_ports: the automatic choices skip these (ephemeral.rs).
    pub(super) reserved: ReservedPorts,
    /// net.ipv4.ip_autobind_reuse: bind(0)/listen() take a relaxed second pass (ephemeral.rs).
    pub(super) autobind_reuse: bool,
}

/// inet_rcv_saddr_equal with wildcards matching.
pub(super) fn addresses_overlap(a: Ipv4Addr, b: Ipv4Addr) -> bool {
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
    /// An empty table whose secrets come from `seed`, following the namespace's
    /// ip_local_reserved_ports and ip_autobind_reuse.
    pub fn new(seed: u64, sysctls: &Sysctls) -> PortTable {
        PortTable {
            ports: BTreeMap::new(),
            perturbation: super::ephemeral::Perturbation::new(seed),
            program_sequence: 0,
            reserved: sysctls.ip_local_reserved_ports.clone(),
            autobind_reuse: sysctls.ip_autobind_reuse,
        }
    }

    pub fn is_free_for(&self, port: u16, claimant: &Binding) -> bool {
        self.ports.get(&port).is_none_or(|bucket| {
            !bucket
                .bindings
                .iter()
                .any(|existing| conflicts(existing, claimant))
        })
    }

    /// bind to a given port: EADDRINUSE on conflict. inet_csk_update_fastreuse then sets
    /// fastreuseport (to 0 or FASTREUSEPORT_STRICT) on a bucket connect() made, so connect()
    /// no longer shares it.
    pub fn claim(&mut self, port: u16, claimant: Binding) -> Result<(), Errno> {
        if !self.is_free_for(port, &claimant) {
            return Err(Errno::EADDRINUSE);
        }
        self.insert(port, claimant);
        if let Some(bucket) = self.ports.get_mut(&port) {
            bucket.made_by_connect = false;
        }
        Ok(())
    }

    /// Adds a holder without a conflict check (a TIME_WAIT record or an accepted child
    /// inherits its socket's port and bucket).
    pub fn hold(&mut self, port: u16, binding: Binding) {
        self.insert(port, binding);
    }

    pub(super) fn insert(&mut self, port: u16, claimant: Binding) {
        let bucket = self.ports.entry(port).or_default();
        bucket
            .bindings
            .retain(|existing| existing.holder != claimant.holder);
        bucket.bindings.push(claimant);
    }

    /// The bucket of `port`, if anyone holds it.
    pub(super) fn bucket(&self, port: u16) -> Option<&Bucket> {
        self.ports.get(&port)
    }

    pub fn release(&mut self, port: u16, holder: Holder) {
        if let Some(bucket) = self.ports.get_mut(&port) {
            bucket.bindings.retain(|existing| existing.holder != holder);
            if bucket.bindings.is_empty() {
                // inet_bind_bucket_destroy: the bucket goes with its last owner.
                self.ports.remove(&port);
            }
        }
    }

    /// Updates a holder's flags (listen() marks the binding as listening).
    pub fn update(&mut self, port: u16, holder: Holder, change: impl FnOnce(&mut Binding)) {
        if let Some(binding) = self
            .ports
            .get_mut(&port)
            .and_then(|bucket| bucket.bindings.iter_mut().find(|b| b.holder == holder))
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
}
