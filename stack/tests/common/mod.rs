//! What the integration tests share: the test network's addresses (DESIGN.md, "The network
//! the tests use") and frame builders that do not go through the stack's own wire code, so a
//! bug there cannot hide itself.
#![allow(dead_code)] // each test binary uses its own subset

use core::net::{Ipv4Addr, SocketAddrV4};

use stack::wire::checksum;
use stack::{Credentials, InterfaceConfig, Stack, StackConfig, Sysctls};

pub const OUR_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
pub const PEER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
pub const OURS: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
pub const PEER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);

/// The shim world's host: eth0 (ifindex 2), 198.18.0.2/24, gateway 198.18.0.1, Linux defaults.
pub fn host_stack(seed: u64) -> Stack {
    host_stack_with(seed, Sysctls::default())
}

/// The same host with other sysctls.
pub fn host_stack_with(seed: u64, sysctls: Sysctls) -> Stack {
    Stack::new(StackConfig {
        interface: InterfaceConfig {
            name: "eth0".into(),
            ifindex: 2,
            mac: OUR_MAC,
            mtu: 1500,
            addr: OURS,
            prefix_len: 24,
            gateway: Some(PEER),
        },
        sysctls,
        random_seed: seed,
    })
}

/// A caller with every capability the stack checks.
pub fn root() -> Credentials {
    Credentials {
        cap_net_raw: true,
        cap_net_bind_service: true,
        cap_net_admin: true,
        in_ping_group: true,
    }
}

/// A struct sockaddr_in (16 bytes, AF_INET in host order, port in network order).
pub fn sockaddr(addr: [u8; 4], port: u16) -> Vec<u8> {
    let mut bytes = vec![0u8; 16];
    bytes[0..2].copy_from_slice(&2u16.to_ne_bytes());
    bytes[2..4].copy_from_slice(&port.to_be_bytes());
    bytes[4..8].copy_from_slice(&addr);
    bytes
}

/// A UDP segment with a correct checksum (RFC 768: 0 is sent as 0xffff).
pub fn udp_segment(src: SocketAddrV4, dst: SocketAddrV4, payload: &[u8]) -> Vec<u8> {
    let len = 8 + payload.len();
    let mut segment = Vec::new();
    segment.extend_from_slice(&src.port().to_be_bytes());
    segment.extend_from_slice(&dst.port().to_be_bytes());
    segment.extend_from_slice(&(len as u16).to_be_bytes());
    segment.extend_from_slice(&[0, 0]);
    segment.extend_from_slice(payload);
    let acc = checksum::pseudo_header(*src.ip(), *dst.ip(), 17, len as u32);
    let sum = !checksum::fold(checksum::accumulate(acc, &segment));
    segment[6..8].copy_from_slice(&(if sum == 0 { 0xffff } else { sum }).to_be_bytes());
    segment
}

/// An IPv4 header without options: ident 1, DF, a correct checksum.
pub fn ipv4_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    ttl: u8,
    payload_len: usize,
) -> Vec<u8> {
    let total = 20 + payload_len;
    let mut header = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        1,
        0x40,
        0,
        ttl,
        protocol,
        0,
        0,
    ];
    header.extend_from_slice(&src.octets());
    header.extend_from_slice(&dst.octets());
    let sum = checksum::checksum(&header);
    header[10..12].copy_from_slice(&sum.to_be_bytes());
    header
}

/// An Ethernet frame from the peer to us.
pub fn ethernet(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut frame = OUR_MAC.to_vec();
    frame.extend_from_slice(&PEER_MAC);
    frame.extend_from_slice(&ethertype.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// A UDP datagram as it comes from the peer's wire: Ethernet, IPv4 with `ttl`, UDP.
pub fn udp_frame(src: SocketAddrV4, dst: SocketAddrV4, ttl: u8, payload: &[u8]) -> Vec<u8> {
    let segment = udp_segment(src, dst, payload);
    let mut packet = ipv4_header(*src.ip(), *dst.ip(), 17, ttl, segment.len());
    packet.extend_from_slice(&segment);
    ethernet(0x0800, &packet)
}
