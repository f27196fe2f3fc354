//! `struct sockaddr_in` as the kernel reads and writes it (x86_64: family in host byte order,
//! port and address in network byte order, 8 bytes of zero padding).
//!
//! Each system call applies its own rules to a user address (bind accepts AF_UNSPEC only with
//! INADDR_ANY, connect treats AF_UNSPEC as "disconnect", sendto ignores an AF_UNSPEC family);
//! those rules live with the call. This module only gives the shared pieces: the length checks
//! and the field layout.

use core::net::{Ipv4Addr, SocketAddrV4};

use crate::errno::Errno;

pub const AF_UNSPEC: u16 = 0;
pub const AF_INET: u16 = 2;
pub const AF_INET6: u16 = 10;

/// sizeof(struct sockaddr_in).
pub const SOCKADDR_IN_LEN: usize = 16;
/// sizeof(struct sockaddr_storage): move_addr_to_kernel refuses longer addresses with EINVAL.
pub const SOCKADDR_STORAGE_LEN: usize = 128;

/// The fields of a `struct sockaddr_in`, family not yet judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SockaddrIn {
    pub family: u16,
    pub port: u16,
    pub addr: Ipv4Addr,
}

impl SockaddrIn {
    pub fn socket_addr(&self) -> SocketAddrV4 {
        SocketAddrV4::new(self.addr, self.port)
    }
}

/// move_addr_to_kernel: a user address longer than sockaddr_storage is EINVAL before any
/// protocol sees it.
pub fn check_user_length(len: usize) -> Result<(), Errno> {
    if len > SOCKADDR_STORAGE_LEN {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// The `sa_family` field, if the address is long enough to have one.
pub fn family(bytes: &[u8]) -> Option<u16> {
    match bytes {
        [low, high, ..] => Some(u16::from_ne_bytes([*low, *high])),
        _ => None,
    }
}

/// Reads a `struct sockaddr_in`; shorter than 16 bytes is EINVAL, the check every inet call
/// makes first (`addr_len < sizeof(struct sockaddr_in)`). The family is returned as found.
pub fn parse_in(bytes: &[u8]) -> Result<SockaddrIn, Errno> {
    check_user_length(bytes.len())?;
    if bytes.len() < SOCKADDR_IN_LEN {
        return Err(Errno::EINVAL);
    }
    Ok(SockaddrIn {
        family: u16::from_ne_bytes([bytes[0], bytes[1]]),
        port: u16::from_be_bytes([bytes[2], bytes[3]]),
        addr: Ipv4Addr::new(bytes[4], bytes[5], bytes[6], bytes[7]),
    })
}

/// Encodes an address as inet_getname and udp_recvmsg write it (sin_zero cleared).
pub fn encode_in(addr: SocketAddrV4) -> [u8; SOCKADDR_IN_LEN] {
    let mut out = [0u8; SOCKADDR_IN_LEN];
    out[0..2].copy_from_slice(&AF_INET.to_ne_bytes());
    out[2..4].copy_from_slice(&addr.port().to_be_bytes());
    out[4..8].copy_from_slice(&addr.ip().octets());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let addr = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 1), 7);
        let bytes = encode_in(addr);
        assert_eq!(bytes, [2, 0, 0, 7, 198, 18, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        let parsed = parse_in(&bytes).unwrap();
        assert_eq!(parsed.family, AF_INET);
        assert_eq!(parsed.socket_addr(), addr);
    }

    #[test]
    fn length_rules() {
        let bytes = encode_in(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 1));
        assert_eq!(parse_in(&bytes[..15]), Err(Errno::EINVAL));
        assert_eq!(parse_in(&[]), Err(Errno::EINVAL));
        // Longer than sockaddr_in is fine (e.g. a sockaddr_storage), up to 128 bytes.
        let mut long = [0u8; 128];
        long[..16].copy_from_slice(&bytes);
        assert!(parse_in(&long).is_ok());
        let too_long = [0u8; 129];
        assert_eq!(parse_in(&too_long), Err(Errno::EINVAL));
        assert_eq!(family(&[10]), None);
        assert_eq!(family(&[10, 0]), Some(AF_INET6));
    }

    #[test]
    fn padding_is_ignored_on_input() {
        let mut bytes = encode_in(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 1));
        bytes[8..].fill(0xaa);
        assert_eq!(parse_in(&bytes).unwrap().addr, Ipv4Addr::LOCALHOST);
    }
}
