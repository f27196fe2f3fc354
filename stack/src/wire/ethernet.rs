//! Ethernet II frames (IEEE 802.3 clause 3.2.6 with an EtherType). No 802.1Q tags: the packet
//! socket strips them before the stack sees a frame.

use super::WireError;

/// A 48-bit MAC address.
pub type MacAddress = [u8; 6];

pub const BROADCAST: MacAddress = [0xff; 6];

pub mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
}

/// The group bit (I/G, least significant bit of the first octet): broadcast and multicast.
pub fn is_group(addr: &MacAddress) -> bool {
    addr[0] & 0x01 != 0
}

pub fn is_broadcast(addr: &MacAddress) -> bool {
    *addr == BROADCAST
}

/// The multicast MAC for an IPv4 group (RFC 1112 section 6.4): 01:00:5e + the low 23 bits.
pub fn ipv4_multicast_mac(group: core::net::Ipv4Addr) -> MacAddress {
    let o = group.octets();
    [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]
}

mod field {
    use core::ops::{Range, RangeFrom};
    pub const DESTINATION: Range<usize> = 0..6;
    pub const SOURCE: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
    pub const PAYLOAD: RangeFrom<usize> = 14..;
}

pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// A view of a buffer as an Ethernet II frame.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// After this succeeds no accessor can panic.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, WireError> {
        let packet = Packet::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    pub fn check_len(&self) -> Result<(), WireError> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn destination(&self) -> MacAddress {
        read_mac(&self.buffer.as_ref()[field::DESTINATION])
    }

    pub fn source(&self) -> MacAddress {
        read_mac(&self.buffer.as_ref()[field::SOURCE])
    }

    pub fn ethertype(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::ETHERTYPE];
        u16::from_be_bytes([b[0], b[1]])
    }

    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_destination(&mut self, addr: MacAddress) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&addr);
    }

    pub fn set_source(&mut self, addr: MacAddress) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&addr);
    }

    pub fn set_ethertype(&mut self, value: u16) {
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&value.to_be_bytes());
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

fn read_mac(bytes: &[u8]) -> MacAddress {
    let mut mac = [0; 6];
    mac.copy_from_slice(bytes);
    mac
}

/// The meaning of an Ethernet II header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub source: MacAddress,
    pub destination: MacAddress,
    pub ethertype: u16,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr, WireError> {
        packet.check_len()?;
        Ok(Repr {
            source: packet.source(),
            destination: packet.destination(),
            ethertype: packet.ethertype(),
        })
    }

    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header; the buffer must hold at least `buffer_len()` bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_destination(self.destination);
        packet.set_source(self.source);
        packet.set_ethertype(self.ethertype);
    }

    /// A complete frame: this header followed by `payload`.
    pub fn frame(&self, payload: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0; HEADER_LEN + payload.len()];
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        self.emit(&mut packet);
        packet.payload_mut().copy_from_slice(payload);
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // An ARP request frame header: broadcast, from 02:00:00:00:00:01, EtherType 0x0806.
    static FRAME_BYTES: [u8; 16] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0xaa,
        0xbb,
    ];

    #[test]
    fn deconstruct() {
        let packet = Packet::new_checked(&FRAME_BYTES[..]).unwrap();
        assert_eq!(packet.destination(), BROADCAST);
        assert_eq!(packet.source(), [2, 0, 0, 0, 0, 1]);
        assert_eq!(packet.ethertype(), ethertype::ARP);
        assert_eq!(packet.payload(), &[0xaa, 0xbb]);
    }

    #[test]
    fn construct() {
        let repr = Repr {
            source: [2, 0, 0, 0, 0, 1],
            destination: BROADCAST,
            ethertype: ethertype::ARP,
        };
        assert_eq!(repr.frame(&[0xaa, 0xbb]), FRAME_BYTES.to_vec());
        assert_eq!(
            Repr::parse(&Packet::new_checked(&FRAME_BYTES[..]).unwrap()).unwrap(),
            repr
        );
    }

    #[test]
    fn short_frame_is_truncated() {
        assert_eq!(
            Packet::new_checked(&FRAME_BYTES[..13]).unwrap_err(),
            WireError::Truncated
        );
    }

    #[test]
    fn multicast_mapping() {
        let mac = ipv4_multicast_mac(core::net::Ipv4Addr::new(239, 255, 1, 2));
        assert_eq!(mac, [0x01, 0x00, 0x5e, 0x7f, 0x01, 0x02]);
        assert!(is_group(&mac) && !is_broadcast(&mac));
    }
}
