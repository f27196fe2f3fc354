//! Which listener a SYN reaches (__inet_lookup_listener → inet_lhash2_lookup), and
//! SO_REUSEPORT groups of listeners (sock_reuseport.c).
//!
//! The listeners bound to the segment's exact destination address are searched first, then
//! the wildcard ones. Within one address IPv4 listeners sit in their hash chain newest first
//! (__inet_hash adds them at the head), so the newest listener is met first; when it has
//! SO_REUSEPORT its group decides (inet_lookup_reuseport): reuseport_select_sock_by_hash
//! scales the 4-tuple hash (inet_ehashfn, keyed with a per-boot secret, so which member gets
//! which connection cannot be predicted) onto the group's members. Every connection goes to
//! exactly one member, and many connections spread over all of them.
//!
//! A group is every SO_REUSEPORT listener on the same address and port, in the order they
//! called listen() (inet_reuseport_add_sock → reuseport_add_sock appends to socks[]); a
//! member that stops listening is replaced in its slot by the last member
//! (reuseport_detach_sock), which is the order `stop_listening` keeps here.
//!
//! A group's classic BPF program (SO_ATTACH_REUSEPORT_CBPF, the latest any member attached)
//! picks first: run_bpf_filter runs it over the SYN with the TCP header pulled, and a value
//! naming a member chooses it; any other value leaves the choice to the hash.
//! SO_DETACH_REUSEPORT_BPF removes the group's program from whichever member.
//!
//! Connections queued on a listener that closes are not handed to the rest of the group
//! (that is tcp_migrate_req, 0 by default): inet_csk_listen_stop resets them.

use core::net::{Ipv4Addr, SocketAddrV4};

use super::layer::{FourTuple, TcpLayer};
use crate::errno::Errno;
use crate::ipv4::{keyed_hash, InboundDatagram};
use crate::random::scale;
use crate::socket::SocketId;
use crate::sockopt::socket_structured::{self, ProgramCopy};

pub(super) const SOL_SOCKET: i32 = 1;
pub(super) const SO_DETACH_REUSEPORT_BPF: i32 = 68;

impl TcpLayer {
    /// __inet_lookup_listener for a segment of `tuple` (local, remote); `datagram` is the
    /// segment a group's program runs over (None: the hash decides).
    pub(super) fn select_listener(
        &self,
        tuple: FourTuple,
        datagram: Option<&InboundDatagram<'_>>,
    ) -> Option<SocketId> {
        let (local, remote) = tuple;
        let listeners = self.listeners.get(&local.port())?;
        for address in [*local.ip(), Ipv4Addr::UNSPECIFIED] {
            // The chain of one address, newest first.
            let newest = listeners.iter().rev().copied().find(|&id| {
                self.sockets
                    .get(id)
                    .is_ok_and(|socket| socket.bound.is_some_and(|b| *b.ip() == address))
            });
            let Some(newest) = newest else {
                if local.ip().is_unspecified() {
                    return None;
                }
                continue;
            };
            return Some(
                self.reuseport_choice(newest, local, remote, datagram)
                    .unwrap_or(newest),
            );
        }
        None
    }

    /// The members of `member`'s SO_REUSEPORT group, in their socks[] order.
    fn reuseport_group(&self, member: SocketId) -> Vec<SocketId> {
        let Ok(socket) = self.sockets.get(member) else {
            return Vec::new();
        };
        let Some(bound) = socket.bound else {
            return Vec::new();
        };
        if !socket.settings.reuse_port {
            return Vec::new();
        }
        self.listeners
            .get(&bound.port())
            .map(|ids| {
                ids.iter()
                    .copied()
                    .filter(|&id| {
                        self.sockets.get(id).is_ok_and(|other| {
                            other.settings.reuse_port && other.bound == Some(bound)
                        })
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// reuseport_select_sock_by_hash: reciprocal_scale of inet_ehashfn(daddr, hnum, saddr,
    /// sport) over the group (every member of a listener group is in LISTEN, so none is
    /// skipped as TCP_ESTABLISHED).
    fn reuseport_choice(
        &self,
        member: SocketId,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        datagram: Option<&InboundDatagram<'_>>,
    ) -> Option<SocketId> {
        let group = self.reuseport_group(member);
        if group.is_empty() {
            return None;
        }
        if let Some(chosen) = datagram.and_then(|datagram| self.program_choice(&group, datagram)) {
            return Some(chosen);
        }
        let hash = self.listener_flow_hash(local, remote);
        group.get(scale(hash, group.len() as u32) as usize).copied()
    }

    /// inet_ehashfn: a keyed hash of the 4-tuple (its key drawn with the port table's).
    fn listener_flow_hash(&self, local: SocketAddrV4, remote: SocketAddrV4) -> u32 {
        let ports = (u32::from(local.port()) << 16) | u32::from(remote.port());
        keyed_hash(
            self.ports.perturbation.listener_key,
            u32::from(*local.ip()),
            u32::from(*remote.ip()),
            ports,
        ) as u32
    }

    /// run_bpf_filter: the group's latest program over the SYN, TCP header pulled; its value
    /// indexes socks[] (None past the end: the hash decides).
    fn program_choice(
        &self,
        group: &[SocketId],
        datagram: &InboundDatagram<'_>,
    ) -> Option<SocketId> {
        let program = socket_structured::latest_reuseport_program(
            group
                .iter()
                .filter_map(|&id| Some(&self.sockets.get(id).ok()?.options)),
        )?;
        let header_len = datagram
            .payload
            .get(12)
            .map_or(0, |offset| usize::from(offset >> 4) * 4)
            .min(datagram.payload.len());
        let device = crate::udp::FilterDevice {
            index: self.interface_index,
            mac: self.interface_mac,
            address: self.interface_address,
        };
        let index = crate::udp::run_transport_reuseport_program(
            &program,
            datagram,
            datagram.payload,
            header_len,
            &device,
        );
        group.get(index as usize).copied()
    }

    /// SO_ATTACH_REUSEPORT_CBPF with the instructions the shim copied: sk_reuseport_attach_
    /// filter validates the program, then reuseport_attach_prog refuses a socket without
    /// SO_REUSEPORT (EINVAL) and stores it as its group's program.
    pub fn attach_reuseport_program(
        &mut self,
        id: SocketId,
        name: i32,
        value: &[u8],
        copy: ProgramCopy<'_>,
    ) -> Result<(), Errno> {
        let optmem_max = self.sysctls.optmem_max;
        self.ports.program_sequence += 1;
        let sequence = self.ports.program_sequence;
        let socket = self.user_socket_mut(id)?;
        socket_structured::attach_classic_program(
            &mut socket.options,
            name,
            value,
            copy,
            optmem_max,
            sequence,
        )
    }

    /// reuseport_detach_prog: the group's program goes, whichever member attached it;
    /// ENOENT when it has none, EINVAL for a socket without SO_REUSEPORT.
    pub(super) fn detach_reuseport_program(&mut self, id: SocketId) -> Result<(), Errno> {
        let socket = self.user_socket(id)?;
        let reuse_port = socket.options.reuse_port;
        let mut members = self.reuseport_group(id);
        if !members.contains(&id) {
            members.push(id);
        }
        socket_structured::detach_group_program(members, reuse_port, |member| {
            self.sockets
                .get_mut(member)
                .is_ok_and(|socket| socket.options.reuseport_program.take().is_some())
        })
    }

    /// Takes `id` off its port's listeners as reuseport_detach_sock leaves socks[]: the
    /// group's last member moves into the leaving member's place.
    pub(super) fn leave_listeners(&mut self, port: u16, id: SocketId) {
        let group = self.reuseport_group(id);
        let Some(ids) = self.listeners.get_mut(&port) else {
            return;
        };
        let Some(leaving) = ids.iter().position(|&listener| listener == id) else {
            return;
        };
        let last_member = group
            .last()
            .and_then(|last| ids.iter().position(|listener| listener == last));
        match last_member {
            Some(last) if last != leaving => {
                ids[leaving] = ids[last];
                ids.remove(last);
            }
            _ => {
                ids.remove(leaving);
            }
        }
    }
}
