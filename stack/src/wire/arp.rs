//! ARP (RFC 826) for IPv4 over Ethernet. The fixed part is 8 bytes; the addresses that follow
//! are sized by the hardware and protocol length fields, so `check_len` reads those first.

use core::net::Ipv4Addr;

use super::ethernet::MacAddress;
use super::WireError;

pub mod operation {
    pub const REQUEST: u16 = 1;
    pub const REPLY: u16 = 2;
}

pub mod hardware {
    /// ARPHRD_ETHER
    pub const ETHERNET: u16 = 1;
    /// ARPHRD_IEEE802: arp_process accepts it on Ethernet devices too.
    pub const IEEE802: u16 = 6;
}

mod field {
    use core::ops::Range;
    pub const HARDWARE_TYPE: Range<usize> = 0..2;
    pub const PROTOCOL_TYPE: Range<usize> = 2..4;
    pub const HARDWARE_LEN: usize = 4;
    pub const PROTOCOL_LEN: usize = 5;
    pub const OPERATION: Range<usize> = 6..8;
    pub const ADDRESSES: usize = 8;
}

/// Length of an Ethernet/IPv4 ARP packet (no padding).
pub const ETHERNET_IPV4_LEN: usize = field::ADDRESSES + 2 * (6 + 4);

#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Packet<T>, WireError> {
        let packet = Packet::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// The buffer holds the fixed part and all four addresses it announces.
    pub fn check_len(&self) -> Result<(), WireError> {
        let len = self.buffer.as_ref().len();
        if len < field::ADDRESSES
            || len < field::ADDRESSES + 2 * (self.hardware_len() + self.protocol_len())
        {
            return Err(WireError::Truncated);
        }
        Ok(())
    }

    fn u16_at(&self, range: core::ops::Range<usize>) -> u16 {
        let b = &self.buffer.as_ref()[range];
        u16::from_be_bytes([b[0], b[1]])
    }

    pub fn hardware_type(&self) -> u16 {
        self.u16_at(field::HARDWARE_TYPE)
    }
    pub fn protocol_type(&self) -> u16 {
        self.u16_at(field::PROTOCOL_TYPE)
    }
    pub fn hardware_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::HARDWARE_LEN])
    }
    pub fn protocol_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::PROTOCOL_LEN])
    }
    pub fn operation(&self) -> u16 {
        self.u16_at(field::OPERATION)
    }

    fn address(&self, index: usize) -> &[u8] {
        let (h, p) = (self.hardware_len(), self.protocol_len());
        let start = field::ADDRESSES
            + match index {
                0 => 0,
                1 => h,
                2 => h + p,
                _ => 2 * h + p,
            };
        let len = if index.is_multiple_of(2) { h } else { p };
        &self.buffer.as_ref()[start..start + len]
    }

    pub fn source_hardware_addr(&self) -> &[u8] {
        self.address(0)
    }
    pub fn source_protocol_addr(&self) -> &[u8] {
        self.address(1)
    }
    pub fn target_hardware_addr(&self) -> &[u8] {
        self.address(2)
    }
    pub fn target_protocol_addr(&self) -> &[u8] {
        self.address(3)
    }
}

/// An Ethernet/IPv4 ARP packet, the only kind the stack speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    /// ETHERNET or IEEE802 (both accepted, as arp_process does); we emit ETHERNET.
    pub hardware_type: u16,
    pub operation: u16,
    pub source_hardware_addr: MacAddress,
    pub source_protocol_addr: Ipv4Addr,
    pub target_hardware_addr: MacAddress,
    pub target_protocol_addr: Ipv4Addr,
}

impl Repr {
    /// Accepts what arp_rcv/arp_process accept on an Ethernet device: hardware type Ethernet or
    /// IEEE802, protocol IPv4, address lengths 6 and 4. The operation is not checked here.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr, WireError> {
        packet.check_len()?;
        let hardware_type = packet.hardware_type();
        if !matches!(hardware_type, hardware::ETHERNET | hardware::IEEE802)
            || packet.protocol_type() != super::ethernet::ethertype::IPV4
            || packet.hardware_len() != 6
            || packet.protocol_len() != 4
        {
            return Err(WireError::Unsupported);
        }
        let mac = |b: &[u8]| -> MacAddress { [b[0], b[1], b[2], b[3], b[4], b[5]] };
        let ip = |b: &[u8]| Ipv4Addr::new(b[0], b[1], b[2], b[3]);
        Ok(Repr {
            hardware_type,
            operation: packet.operation(),
            source_hardware_addr: mac(packet.source_hardware_addr()),
            source_protocol_addr: ip(packet.source_protocol_addr()),
            target_hardware_addr: mac(packet.target_hardware_addr()),
            target_protocol_addr: ip(packet.target_protocol_addr()),
        })
    }

    pub const fn buffer_len(&self) -> usize {
        ETHERNET_IPV4_LEN
    }

    /// Writes the packet into `buffer` (at least `buffer_len()` bytes).
    pub fn emit(&self, buffer: &mut [u8]) {
        let b = &mut buffer[..ETHERNET_IPV4_LEN];
        b[field::HARDWARE_TYPE].copy_from_slice(&self.hardware_type.to_be_bytes());
        b[field::PROTOCOL_TYPE].copy_from_slice(&super::ethernet::ethertype::IPV4.to_be_bytes());
        b[field::HARDWARE_LEN] = 6;
        b[field::PROTOCOL_LEN] = 4;
        b[field::OPERATION].copy_from_slice(&self.operation.to_be_bytes());
        b[8..14].copy_from_slice(&self.source_hardware_addr);
        b[14..18].copy_from_slice(&self.source_protocol_addr.octets());
        b[18..24].copy_from_slice(&self.target_hardware_addr);
        b[24..28].copy_from_slice(&self.target_protocol_addr.octets());
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = vec![0; self.buffer_len()];
        self.emit(&mut bytes);
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // "Who has 198.18.0.2? Tell 198.18.0.1" from 02:00:00:00:00:01.
    static REQUEST_BYTES: [u8; 28] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0xc6,
        0x12, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc6, 0x12, 0x00, 0x02,
    ];

    fn request() -> Repr {
        Repr {
            hardware_type: hardware::ETHERNET,
            operation: operation::REQUEST,
            source_hardware_addr: [2, 0, 0, 0, 0, 1],
            source_protocol_addr: Ipv4Addr::new(198, 18, 0, 1),
            target_hardware_addr: [0; 6],
            target_protocol_addr: Ipv4Addr::new(198, 18, 0, 2),
        }
    }

    #[test]
    fn deconstruct() {
        let packet = Packet::new_checked(&REQUEST_BYTES[..]).unwrap();
        assert_eq!(packet.hardware_type(), 1);
        assert_eq!(packet.protocol_type(), 0x0800);
        assert_eq!(packet.operation(), operation::REQUEST);
        assert_eq!(packet.source_protocol_addr(), &[198, 18, 0, 1]);
        assert_eq!(packet.target_protocol_addr(), &[198, 18, 0, 2]);
    }

    #[test]
    fn parse_and_emit() {
        let packet = Packet::new_checked(&REQUEST_BYTES[..]).unwrap();
        assert_eq!(Repr::parse(&packet).unwrap(), request());
        assert_eq!(request().to_bytes(), REQUEST_BYTES.to_vec());
    }

    #[test]
    fn truncated_and_unsupported() {
        assert_eq!(
            Packet::new_checked(&REQUEST_BYTES[..27]).unwrap_err(),
            WireError::Truncated
        );
        assert_eq!(
            Packet::new_checked(&REQUEST_BYTES[..7]).unwrap_err(),
            WireError::Truncated
        );
        let mut bytes = REQUEST_BYTES;
        bytes[2] = 0x86; // protocol 0x86dd
        assert_eq!(
            Repr::parse(&Packet::new_checked(&bytes[..]).unwrap()).unwrap_err(),
            WireError::Unsupported
        );
        // A 16-byte hardware length announces more addresses than the buffer holds.
        bytes = REQUEST_BYTES;
        bytes[4] = 16;
        assert_eq!(
            Packet::new_checked(&bytes[..]).unwrap_err(),
            WireError::Truncated
        );
    }
}
