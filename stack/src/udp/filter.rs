//! Classic socket filters on UDP sockets: attaching one with the instructions the
//! shim copied from the caller's memory, and running the attached program over a datagram
//! as udp_queue_rcv_one_skb does (sk_filter_trim_cap(sk, skb, sizeof(struct udphdr))): the
//! packet data starts at the UDP header, 0 drops the datagram (sk_drops), a smaller value
//! trims it, never below the header.

use core::net::Ipv4Addr;

use crate::bpf::{self, Ancillary, FilterPacket, Program};
use crate::errno::Errno;
use crate::ipv4::InboundDatagram;
use crate::random::Random;
use crate::socket::SocketId;
use crate::sockopt::socket_structured::{self, ProgramCopy};

use super::layer::UdpLayer;

/// sizeof(struct udphdr): the trim cap, and where the transport payload starts.
const UDP_HEADER_LEN: usize = 8;
/// ETH_P_IP, ETH_HLEN.
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERNET_HEADER_LEN: usize = 14;
/// The longest IPv4 header (IHL 15).
const MAX_IP_HEADER_LEN: usize = 60;
/// skb->pkt_type values (uapi linux/if_packet.h).
const PACKET_HOST: u8 = 0;
const PACKET_BROADCAST: u8 = 1;
const PACKET_MULTICAST: u8 = 2;
const PACKET_LOOPBACK: u8 = 5;
/// dev->type: ARPHRD_ETHER, ARPHRD_LOOPBACK; lo's ifindex.
const ARPHRD_ETHER: u16 = 1;
const ARPHRD_LOOPBACK: u16 = 772;
const LOOPBACK_INDEX: u32 = 1;

impl UdpLayer {
    /// SO_ATTACH_FILTER / SO_ATTACH_REUSEPORT_CBPF once the shim copied the instructions the
    /// sock_fprog points to (or failed to: `ProgramCopy::Fault`).
    pub fn attach_program(
        &mut self,
        id: SocketId,
        name: i32,
        value: &[u8],
        copy: ProgramCopy<'_>,
    ) -> Result<(), Errno> {
        let optmem_max = self.sysctls.optmem_max;
        self.program_sequence += 1;
        let sequence = self.program_sequence;
        let socket = self.sockets.get_mut(id)?;
        socket_structured::attach_classic_program(
            &mut socket.options,
            name,
            value,
            copy,
            optmem_max,
            sequence,
        )?;
        // reuseport_attach_prog on an unhashed socket: reuseport_alloc (measured: its bind
        // onto another SO_REUSEPORT socket's port is then EADDRINUSE).
        if name == crate::sockopt::names::socket_more::SO_ATTACH_REUSEPORT_CBPF
            && socket.local_port == 0
        {
            socket.options.reuseport_group_before_bind = true;
        }
        Ok(())
    }

    /// SO_GET_FILTER: (bytes to copy out, length to report).
    pub fn socket_filter(&self, id: SocketId, optlen: usize) -> Result<(Vec<u8>, usize), Errno> {
        socket_structured::get_filter(&self.sockets.get(id)?.options, optlen)
    }

    /// SO_DETACH_REUSEPORT_BPF (reuseport_detach_prog): the group's program goes, whichever
    /// member attached it; ENOENT when the group has none, EINVAL for a socket outside any
    /// group without SO_REUSEPORT. The group of a bound socket is the SO_REUSEPORT sockets
    /// on its port, address and device (as deliver.rs's reuseport_select forms it); an
    /// unbound one is its own group.
    pub(super) fn detach_reuseport_program(&mut self, id: SocketId) -> Result<(), Errno> {
        let socket = self.sockets.get(id)?;
        let reuse_port = socket.options.reuse_port;
        let chain = self.ports(socket.flavor).bindings(socket.local_port);
        let mut members = vec![id];
        if let Some(own) = chain.iter().find(|binding| binding.owner == id) {
            members.extend(
                chain
                    .iter()
                    .filter(|binding| {
                        binding.owner != id
                            && binding.address == own.address
                            && binding.device == own.device
                            && self
                                .sockets
                                .get(binding.owner)
                                .is_ok_and(|member| member.options.reuse_port)
                    })
                    .map(|binding| binding.owner),
            );
        }
        socket_structured::detach_group_program(members, reuse_port, |member| {
            self.sockets
                .get_mut(member)
                .is_ok_and(|socket| socket.options.reuseport_program.take().is_some())
        })
    }

    /// What a filter needs to know about the interface.
    pub(super) fn filter_device(&self) -> FilterDevice {
        FilterDevice {
            index: self.interface_index,
            mac: self.interface_mac,
            address: self.interface_address,
        }
    }
}

/// The interface datagrams from the wire came in by.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FilterDevice {
    pub index: u32,
    pub mac: [u8; 6],
    pub address: Ipv4Addr,
}

/// How the datagram reached UDP, as the skb a kernel filter runs over shows it.
struct Arrival {
    ifindex: u32,
    hardware_type: u16,
    packet_type: u8,
    /// The link-layer header before the IP header; None: the mac header is the network
    /// header (dev_loopback_xmit's skb_reset_mac_header for our broadcasts' copies).
    link_header: Option<[u8; ETHERNET_HEADER_LEN]>,
}

/// The device and link-layer header of the skb: loopback traffic (from one of our own
/// addresses) went through lo, whose header carries zero MACs, unless it is the copy of a
/// broadcast we sent (dev_loopback_xmit on the interface, PACKET_LOOPBACK, no header);
/// frames from the wire came in by the interface (measured: IFINDEX 1 / HATYPE 772 for
/// datagrams to 127.0.0.1 and to our own address, 2 / 1 from the peer).
/// A frame from the wire: its destination MAC (ours, broadcast, or the group's), the source
/// MAC the network layer recorded, ETH_P_IP.
fn arrival(datagram: &InboundDatagram<'_>, device: &FilterDevice) -> Arrival {
    let from_us = datagram.src.is_loopback() || datagram.src == device.address;
    let broadcast = datagram.ip_broadcast || datagram.dst.is_multicast();
    let mut header = [0u8; ETHERNET_HEADER_LEN];
    header[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    if from_us && broadcast {
        return Arrival {
            ifindex: device.index,
            hardware_type: ARPHRD_ETHER,
            packet_type: PACKET_LOOPBACK,
            link_header: None,
        };
    }
    if from_us {
        return Arrival {
            ifindex: LOOPBACK_INDEX,
            hardware_type: ARPHRD_LOOPBACK,
            packet_type: PACKET_HOST,
            link_header: Some(header),
        };
    }
    header[6..12].copy_from_slice(&datagram.link_source.unwrap_or_default());
    let packet_type = if !datagram.link_broadcast {
        header[0..6].copy_from_slice(&device.mac);
        PACKET_HOST
    } else if datagram.dst.is_multicast() {
        // ip_eth_mc_map: 01:00:5e and the group's low 23 bits.
        let group = datagram.dst.octets();
        header[0..6].copy_from_slice(&[0x01, 0x00, 0x5e, group[1] & 0x7f, group[2], group[3]]);
        PACKET_MULTICAST
    } else {
        header[0..6].fill(0xff);
        PACKET_BROADCAST
    };
    Arrival {
        ifindex: device.index,
        hardware_type: ARPHRD_ETHER,
        packet_type,
        link_header: Some(header),
    }
}

/// Runs `program` over the datagram whose UDP header and data are `udp` (the length the
/// kernel's skb has at that point: the UDP length for UDP, the IP payload for UDP-Lite).
/// None: dropped; Some(n): keep the first n bytes of `udp` (n >= 8).
pub(super) fn run_receive_filter(
    program: &Program,
    datagram: &InboundDatagram<'_>,
    udp: &[u8],
    device: &FilterDevice,
    random: &mut Random,
) -> Option<usize> {
    let verdict = run_over_datagram(program, datagram, udp, device, 0, &mut || random.next_u32());
    bpf::trim_cap(verdict, UDP_HEADER_LEN, udp.len())
}

/// run_bpf_filter for a SO_ATTACH_REUSEPORT_CBPF program: the same packet with the UDP
/// header pulled (data at the payload); the value is an index into the group.
/// SKF_AD_RANDOM draws a value mixed from the datagram (lookups have no state to draw from).
pub(super) fn run_reuseport_program(
    program: &Program,
    datagram: &InboundDatagram<'_>,
    udp: &[u8],
    device: &FilterDevice,
) -> u32 {
    run_transport_reuseport_program(program, datagram, udp, UDP_HEADER_LEN, device)
}

/// run_bpf_filter for another transport's reuseport group (TCP's listeners): the packet with
/// the transport header (`header_len` bytes of `transport`) pulled, as
/// inet_lookup_reuseport passes doff.
pub(crate) fn run_transport_reuseport_program(
    program: &Program,
    datagram: &InboundDatagram<'_>,
    transport: &[u8],
    header_len: usize,
    device: &FilterDevice,
) -> u32 {
    let seed = u32::from(datagram.ident).wrapping_mul(0x9e37_79b9)
        ^ transport
            .iter()
            .fold(0u32, |hash, &byte| hash.rotate_left(5) ^ u32::from(byte));
    run_over_datagram(
        program,
        datagram,
        transport,
        device,
        header_len,
        &mut || seed,
    )
}

/// The packet of a datagram as the skb shows it (link-layer header as `arrival` rebuilds
/// it, IP header, then `udp`), with skb->data `pulled` bytes into `udp`.
fn run_over_datagram(
    program: &Program,
    datagram: &InboundDatagram<'_>,
    udp: &[u8],
    device: &FilterDevice,
    pulled: usize,
    random: &mut dyn FnMut() -> u32,
) -> u32 {
    let arrival = arrival(datagram, device);
    // The headers in front of `udp`, rebuilt on the stack: no copy of the datagram per run.
    let mut headers = [0u8; ETHERNET_HEADER_LEN + MAX_IP_HEADER_LEN];
    let link_len = arrival.link_header.map_or(0, |header| header.len());
    if let Some(header) = arrival.link_header {
        headers[..link_len].copy_from_slice(&header);
    }
    let ip_header = &datagram.header[..datagram.header.len().min(MAX_IP_HEADER_LEN)];
    let head_len = link_len + ip_header.len();
    headers[link_len..head_len].copy_from_slice(ip_header);
    let packet = FilterPacket {
        head: &headers[..head_len],
        tail: udp,
        link_offset: Some(0),
        network_offset: link_len,
        data_offset: head_len + pulled.min(udp.len()),
    };
    let metadata = Ancillary {
        protocol: ETHERTYPE_IPV4,
        packet_type: arrival.packet_type,
        ifindex: arrival.ifindex,
        hardware_type: arrival.hardware_type,
        // Zero from the wire, the sender's over loopback (skb->mark survives loopback_xmit).
        mark: datagram.meta.tags.mark,
        // skb_get_poff: the flow dissector's transport offset plus the UDP header, relative
        // to skb->data (measured: 8 for a filter, which runs with data at the UDP header).
        // For a reuseport program the whole transport header is pulled: 0.
        payload_offset: (UDP_HEADER_LEN.max(pulled) - pulled) as u32,
        // queue_mapping, hash and the VLAN fields are 0 on every datagram here (measured
        // over lo and from the veth peer); the CPU is the one that ran the softirq, which
        // a sans-IO stack does not have: 0.
        ..Ancillary::default()
    };
    bpf::run(program.instructions(), &packet, &metadata, random)
}
