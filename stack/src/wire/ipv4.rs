//! IPv4 headers (RFC 791 section 3.1). Unlike smoltcp's, this `Repr` keeps every header field and
//! the raw options, because ip(7) hands them to the application (IP_TOS, IP_TTL, IP_OPTIONS,
//! IP_RECVORIGDSTADDR, raw sockets).

use core::net::Ipv4Addr;

use super::checksum;
use super::WireError;

pub const HEADER_LEN: usize = 20;
/// The largest header: IHL 15.
pub const MAX_HEADER_LEN: usize = 60;
pub const MAX_OPTIONS_LEN: usize = MAX_HEADER_LEN - HEADER_LEN;

pub mod flags {
    /// The reserved ("evil") bit; kept so a header is re-emitted exactly as received.
    pub const RESERVED: u16 = 0x8000;
    pub const DONT_FRAGMENT: u16 = 0x4000;
    pub const MORE_FRAGMENTS: u16 = 0x2000;
    /// Fragment offset, in 8-byte units.
    pub const OFFSET_MASK: u16 = 0x1fff;
}

mod field {
    use core::ops::Range;
    pub const VERSION_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const TOTAL_LEN: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    pub const FLAGS_OFFSET: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SOURCE: Range<usize> = 12..16;
    pub const DESTINATION: Range<usize> = 16..20;
}

/// A view of a buffer as an IPv4 datagram (or a prefix of one, as quoted in ICMP errors).
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

    /// The fixed header and the options the IHL announces are present (ip_rcv_core's first
    /// pulls). The total length is not compared with the buffer here, so the same view reads
    /// quoted headers in ICMP errors; `Repr::parse` checks it. No accessor panics after this.
    pub fn check_len(&self) -> Result<(), WireError> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        if self.header_len() < HEADER_LEN {
            return Err(WireError::Malformed);
        }
        if len < self.header_len() {
            return Err(WireError::Truncated);
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn u16_at(&self, range: core::ops::Range<usize>) -> u16 {
        let b = &self.bytes()[range];
        u16::from_be_bytes([b[0], b[1]])
    }

    pub fn version(&self) -> u8 {
        self.bytes()[field::VERSION_IHL] >> 4
    }
    /// Header length in bytes (IHL × 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.bytes()[field::VERSION_IHL] & 0x0f) * 4
    }
    pub fn tos(&self) -> u8 {
        self.bytes()[field::TOS]
    }
    pub fn total_len(&self) -> u16 {
        self.u16_at(field::TOTAL_LEN)
    }
    pub fn ident(&self) -> u16 {
        self.u16_at(field::IDENT)
    }
    /// The flags and fragment offset word as sent.
    pub fn flags_and_offset(&self) -> u16 {
        self.u16_at(field::FLAGS_OFFSET)
    }
    pub fn dont_fragment(&self) -> bool {
        self.flags_and_offset() & flags::DONT_FRAGMENT != 0
    }
    pub fn more_fragments(&self) -> bool {
        self.flags_and_offset() & flags::MORE_FRAGMENTS != 0
    }
    /// Fragment offset in bytes.
    pub fn fragment_offset(&self) -> usize {
        usize::from(self.flags_and_offset() & flags::OFFSET_MASK) * 8
    }
    pub fn ttl(&self) -> u8 {
        self.bytes()[field::TTL]
    }
    pub fn protocol(&self) -> u8 {
        self.bytes()[field::PROTOCOL]
    }
    pub fn checksum(&self) -> u16 {
        self.u16_at(field::CHECKSUM)
    }
    pub fn source(&self) -> Ipv4Addr {
        let b = &self.bytes()[field::SOURCE];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }
    pub fn destination(&self) -> Ipv4Addr {
        let b = &self.bytes()[field::DESTINATION];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }
    pub fn header(&self) -> &[u8] {
        &self.bytes()[..self.header_len()]
    }
    pub fn options(&self) -> &[u8] {
        &self.bytes()[HEADER_LEN..self.header_len()]
    }
    /// The header checksum verifies (sums to zero, RFC 1071).
    pub fn verify_checksum(&self) -> bool {
        checksum::checksum(self.header()) == 0
    }
    /// The payload as far as both the total length and the buffer reach.
    pub fn payload(&self) -> &[u8] {
        let end = usize::from(self.total_len()).clamp(self.header_len(), self.bytes().len());
        &self.bytes()[self.header_len()..end]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_flags_and_offset(&mut self, value: u16) {
        self.buffer.as_mut()[field::FLAGS_OFFSET].copy_from_slice(&value.to_be_bytes());
    }
    pub fn set_total_len(&mut self, value: u16) {
        self.buffer.as_mut()[field::TOTAL_LEN].copy_from_slice(&value.to_be_bytes());
    }
    /// Recomputes the header checksum after fields changed.
    pub fn fill_checksum(&mut self) {
        let header_len = self.header_len();
        let bytes = self.buffer.as_mut();
        bytes[field::CHECKSUM].copy_from_slice(&[0, 0]);
        let sum = checksum::checksum(&bytes[..header_len]);
        bytes[field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
    }
}

/// Raw IP options, at most 40 bytes, kept by value so `Repr` stays `Copy`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Options {
    bytes: [u8; MAX_OPTIONS_LEN],
    len: u8,
}

impl Options {
    pub const EMPTY: Options = Options {
        bytes: [0; MAX_OPTIONS_LEN],
        len: 0,
    };

    /// None when longer than 40 bytes or not a multiple of 4 (IHL counts 32-bit words).
    pub fn new(bytes: &[u8]) -> Option<Options> {
        if bytes.len() > MAX_OPTIONS_LEN || !bytes.len().is_multiple_of(4) {
            return None;
        }
        let mut options = Options::EMPTY;
        options.bytes[..bytes.len()].copy_from_slice(bytes);
        options.len = bytes.len() as u8;
        Some(options)
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The options a fragment after the first carries, as ip_options_fragment makes them:
    /// options without the "copied" flag (bit 7 of the type) are overwritten with NOPs, so
    /// every fragment keeps the first fragment's header length.
    pub fn for_later_fragment(&self) -> Options {
        let mut out = *self;
        let bytes = &mut out.bytes[..usize::from(self.len)];
        let mut at = 0;
        while at < bytes.len() {
            match bytes[at] {
                option::END => break,
                option::NOP => at += 1,
                kind => {
                    let len = bytes.get(at + 1).map_or(0, |&l| usize::from(l));
                    if len < 2 || at + len > bytes.len() {
                        break;
                    }
                    if kind & option::COPIED == 0 {
                        bytes[at..at + len].fill(option::NOP);
                    }
                    at += len;
                }
            }
        }
        out
    }
}

impl Default for Options {
    fn default() -> Options {
        Options::EMPTY
    }
}

impl core::fmt::Debug for Options {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Options({:02x?})", self.as_slice())
    }
}

/// Option type octets (RFC 791 section 3.1).
pub mod option {
    pub const END: u8 = 0;
    pub const NOP: u8 = 1;
    /// The "copied into all fragments" flag.
    pub const COPIED: u8 = 0x80;
}

/// The meaning of an IPv4 header: every field, the options verbatim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: u8,
    /// The whole TOS octet (DSCP and ECN).
    pub tos: u8,
    pub ident: u16,
    pub reserved_flag: bool,
    pub dont_fragment: bool,
    pub more_fragments: bool,
    /// In bytes; a multiple of 8.
    pub fragment_offset: usize,
    pub ttl: u8,
    pub options: Options,
    /// Bytes after the header (total length − header length).
    pub payload_len: usize,
}

impl Repr {
    /// Validates as ip_rcv_core does, in its order: version and IHL, the header checksum, then
    /// the total length against the buffer (shorter: truncated) and the header (smaller:
    /// malformed). Trailing bytes past the total length (Ethernet padding) are allowed; the
    /// caller trims them with `Packet::payload`.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr, WireError> {
        packet.check_len()?;
        if packet.version() != 4 {
            return Err(WireError::Malformed);
        }
        if !packet.verify_checksum() {
            return Err(WireError::Checksum);
        }
        let total_len = usize::from(packet.total_len());
        if packet.bytes().len() < total_len {
            return Err(WireError::Truncated);
        }
        if total_len < packet.header_len() {
            return Err(WireError::Malformed);
        }
        let options = Options::new(packet.options()).ok_or(WireError::Malformed)?;
        let word = packet.flags_and_offset();
        Ok(Repr {
            src: packet.source(),
            dst: packet.destination(),
            protocol: packet.protocol(),
            tos: packet.tos(),
            ident: packet.ident(),
            reserved_flag: word & flags::RESERVED != 0,
            dont_fragment: word & flags::DONT_FRAGMENT != 0,
            more_fragments: word & flags::MORE_FRAGMENTS != 0,
            fragment_offset: packet.fragment_offset(),
            ttl: packet.ttl(),
            options,
            payload_len: total_len - packet.header_len(),
        })
    }

    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.options.len()
    }

    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload_len
    }

    /// The flags and fragment offset word.
    pub fn flags_and_offset(&self) -> u16 {
        let mut word = (self.fragment_offset / 8) as u16 & flags::OFFSET_MASK;
        if self.reserved_flag {
            word |= flags::RESERVED;
        }
        if self.dont_fragment {
            word |= flags::DONT_FRAGMENT;
        }
        if self.more_fragments {
            word |= flags::MORE_FRAGMENTS;
        }
        word
    }

    /// Writes the header (checksum included) into the first `header_len()` bytes of `buffer`.
    /// The total length field says `buffer_len()`, which must fit in 16 bits.
    pub fn emit(&self, buffer: &mut [u8]) {
        let header_len = self.header_len();
        let b = &mut buffer[..header_len];
        b[field::VERSION_IHL] = 0x40 | (header_len / 4) as u8;
        b[field::TOS] = self.tos;
        b[field::TOTAL_LEN].copy_from_slice(&(self.buffer_len() as u16).to_be_bytes());
        b[field::IDENT].copy_from_slice(&self.ident.to_be_bytes());
        b[field::FLAGS_OFFSET].copy_from_slice(&self.flags_and_offset().to_be_bytes());
        b[field::TTL] = self.ttl;
        b[field::PROTOCOL] = self.protocol;
        b[field::CHECKSUM].copy_from_slice(&[0, 0]);
        b[field::SOURCE].copy_from_slice(&self.src.octets());
        b[field::DESTINATION].copy_from_slice(&self.dst.octets());
        b[HEADER_LEN..].copy_from_slice(self.options.as_slice());
        let sum = checksum::checksum(b);
        b[field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
    }

    /// A complete datagram: this header followed by `payload` (`payload_len` is taken from it).
    pub fn datagram(&self, payload: &[u8]) -> Vec<u8> {
        let repr = Repr {
            payload_len: payload.len(),
            ..*self
        };
        let mut bytes = vec![0; repr.buffer_len()];
        repr.emit(&mut bytes);
        bytes[repr.header_len()..].copy_from_slice(payload);
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A UDP datagram header from 192.168.0.1 to 192.168.0.199, total length 21, DF, TTL 64;
    // then one payload byte and one byte of Ethernet padding.
    static DATAGRAM_BYTES: [u8; 22] = [
        0x45, 0x00, 0x00, 0x15, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0xbf, 0xc0, 0xa8, 0x00,
        0x01, 0xc0, 0xa8, 0x00, 0xc7, 0xaa, 0x00,
    ];

    fn repr() -> Repr {
        Repr {
            src: Ipv4Addr::new(192, 168, 0, 1),
            dst: Ipv4Addr::new(192, 168, 0, 199),
            protocol: 17,
            tos: 0,
            ident: 0,
            reserved_flag: false,
            dont_fragment: true,
            more_fragments: false,
            fragment_offset: 0,
            ttl: 64,
            options: Options::EMPTY,
            payload_len: 1,
        }
    }

    #[test]
    fn deconstruct() {
        let packet = Packet::new_checked(&DATAGRAM_BYTES[..]).unwrap();
        assert_eq!(packet.version(), 4);
        assert_eq!(packet.header_len(), 20);
        assert_eq!(packet.total_len(), 21);
        assert!(packet.dont_fragment() && !packet.more_fragments());
        assert_eq!(packet.ttl(), 64);
        assert_eq!(packet.protocol(), 17);
        assert!(packet.verify_checksum());
        // The padding byte is not payload.
        assert_eq!(packet.payload(), &[0xaa]);
    }

    #[test]
    fn parse_and_emit() {
        let packet = Packet::new_checked(&DATAGRAM_BYTES[..]).unwrap();
        assert_eq!(Repr::parse(&packet).unwrap(), repr());
        assert_eq!(repr().datagram(&[0xaa]), DATAGRAM_BYTES[..21].to_vec());
    }

    #[test]
    fn options_are_kept_and_fragmented() {
        // Record route (not copied, type 7) and a copied option 0x94 (router alert, RFC 2113).
        let raw = [0x07, 0x07, 0x04, 0, 0, 0, 0, 0x94, 0x04, 0, 0, 0x00];
        let options = Options::new(&raw).unwrap();
        let header = Repr {
            options,
            payload_len: 0,
            ..repr()
        }
        .datagram(&[]);
        assert_eq!(header[0], 0x48);
        let parsed = Repr::parse(&Packet::new_checked(&header[..]).unwrap()).unwrap();
        assert_eq!(parsed.options.as_slice(), &raw);
        assert_eq!(
            options.for_later_fragment().as_slice(),
            &[1, 1, 1, 1, 1, 1, 1, 0x94, 0x04, 0, 0, 0]
        );
        assert_eq!(Options::new(&[1, 1, 1]), None);
    }

    #[test]
    fn rejects_what_ip_rcv_core_rejects() {
        let check = |bytes: &[u8]| Packet::new_checked(bytes).and_then(|p| Repr::parse(&p));
        assert_eq!(check(&DATAGRAM_BYTES[..19]), Err(WireError::Truncated));
        let mut bytes = DATAGRAM_BYTES;
        bytes[0] = 0x44; // IHL 4
        assert_eq!(check(&bytes), Err(WireError::Malformed));
        bytes = DATAGRAM_BYTES;
        bytes[0] = 0x65; // version 6
        assert_eq!(check(&bytes), Err(WireError::Malformed));
        bytes = DATAGRAM_BYTES;
        bytes[8] = 0x3f; // TTL changed, checksum not
        assert_eq!(check(&bytes), Err(WireError::Checksum));
        // Total length beyond the buffer.
        let long = Repr {
            payload_len: 10,
            ..repr()
        };
        let mut buffer = vec![0; 30];
        long.emit(&mut buffer);
        assert_eq!(check(&buffer[..25]), Err(WireError::Truncated));
        // Total length shorter than the header.
        let mut short = [0u8; 20];
        Repr {
            payload_len: 0,
            ..repr()
        }
        .emit(&mut short);
        let mut packet = Packet::new_unchecked(&mut short[..]);
        packet.set_total_len(19);
        packet.fill_checksum();
        assert_eq!(check(&short), Err(WireError::Malformed));
    }
}
