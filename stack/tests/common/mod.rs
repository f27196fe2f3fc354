//! What the integration tests share: the test network's addresses (DESIGN.md, "The network
//! the tests use") and frame builders that do not go through the stack's own wire code, so a
//! bug there cannot hide itself.
#![allow(dead_code)] // each test binary uses its own subset

use core::net::{Ipv4Addr, SocketAddrV4};

use stack::wire::checksum;
use stack::{InterfaceConfig, Stack, StackConfig, Sysctls};

pub const OUR_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
pub const PEER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
pub const OURS: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
pub const PEER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);

/// The shim world's host: eth0 (ifindex 2), 198.18.0.2/24, gateway 198.18.0.1, Linux defaults.
pub fn host_stack(seed: u64) -> Stack {
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
        sysctls: Sysctls::default(),
        random_seed: seed,
    })
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
