//! UDP (RFC 768) and UDP-Lite (RFC 3828) headers. They share one layout; they differ in what the
//! length field means (UDP: the datagram length; UDP-Lite: the checksum coverage, 0 = all) and in
//! whether a zero checksum is allowed (UDP: "no checksum"; UDP-Lite: illegal).

use core::net::Ipv4Addr;

use super::checksum;
use super::WireError;

pub const HEADER_LEN: usize = 8;

/// The IP protocol numbers the checksum's pseudo-header carries.
const PROTOCOL_UDP: u8 = 17;
const PROTOCOL_UDPLITE: u8 = 136;

mod field {
    use core::ops::Range;
    pub const SOURCE_PORT: Range<usize> = 0..2;
    pub const DESTINATION_PORT: Range<usize> = 2..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
}

/// Which of the two protocols a header belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Udp,
    Lite,
}

impl Flavor {
    pub fn protocol(self) -> u8 {
        match self {
            Flavor::Udp => PROTOCOL_UDP,
            Flavor::Lite => PROTOCOL_UDPLITE,
        }
    }
}

/// A view of a buffer (the IP payload) as a UDP or UDP-Lite datagram.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// The 8-byte header is present; no accessor panics after this.
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

    fn u16_at(&self, range: core::ops::Range<usize>) -> u16 {
        let bytes = &self.buffer.as_ref()[range];
        u16::from_be_bytes([bytes[0], bytes[1]])
    }

    pub fn source_port(&self) -> u16 {
        self.u16_at(field::SOURCE_PORT)
    }

    pub fn destination_port(&self) -> u16 {
        self.u16_at(field::DESTINATION_PORT)
    }

    /// UDP: the datagram length. UDP-Lite: the checksum coverage (0 = the whole datagram).
    pub fn length(&self) -> u16 {
        self.u16_at(field::LENGTH)
    }

    pub fn checksum(&self) -> u16 {
        self.u16_at(field::CHECKSUM)
    }

    /// Verifies the checksum over the first `covered` bytes, with a pseudo-header that carries
    /// `pseudo_length` (RFC 768; RFC 3828 section 3.1: UDP-Lite's pseudo-header length is the
    /// IP payload length, not the coverage).
    pub fn verify_checksum(
        &self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        protocol: u8,
        covered: usize,
        pseudo_length: usize,
    ) -> bool {
        let bytes = self.buffer.as_ref();
        let covered = covered.min(bytes.len());
        let acc = checksum::pseudo_header(src, dst, protocol, pseudo_length as u32);
        checksum::fold(checksum::accumulate(acc, &bytes[..covered])) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_u16_at(&mut self, range: core::ops::Range<usize>, value: u16) {
        self.buffer.as_mut()[range].copy_from_slice(&value.to_be_bytes());
    }

    pub fn set_source_port(&mut self, port: u16) {
        self.set_u16_at(field::SOURCE_PORT, port);
    }

    pub fn set_destination_port(&mut self, port: u16) {
        self.set_u16_at(field::DESTINATION_PORT, port);
    }

    pub fn set_length(&mut self, length: u16) {
        self.set_u16_at(field::LENGTH, length);
    }

    pub fn set_checksum(&mut self, value: u16) {
        self.set_u16_at(field::CHECKSUM, value);
    }

    /// Computes and stores the checksum over the first `covered` bytes. A computed 0 is sent
    /// as 0xffff (CSUM_MANGLED_0 in udp_send_skb), because 0 means "no checksum" in UDP.
    pub fn fill_checksum(&mut self, src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, covered: usize) {
        self.set_checksum(0);
        let bytes = self.buffer.as_ref();
        let total = bytes.len();
        let covered = covered.min(total);
        let acc = checksum::pseudo_header(src, dst, protocol, total as u32);
        let value = !checksum::fold(checksum::accumulate(acc, &bytes[..covered]));
        self.set_checksum(if value == 0 { 0xffff } else { value });
    }
}

/// What a valid datagram means, once its length rules (and, unless trusted, its checksum)
/// have been checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr<'a> {
    pub flavor: Flavor,
    pub source_port: u16,
    pub destination_port: u16,
    /// The checksum field as received (0: the sender computed none; UDP only).
    pub checksum: u16,
    /// UDP-Lite checksum coverage in bytes, header included (equal to the datagram length when
    /// the whole datagram is covered). Always the datagram length for UDP. When emitting a
    /// UDP-Lite datagram, 0 means "all, announced as 0 in the length field" (RFC 3828 3.1).
    pub coverage: usize,
    pub payload: &'a [u8],
}

/// Why `Repr::parse` refused a datagram; each maps to a drop counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Shorter than the header, or the UDP length field is shorter than the header or longer
    /// than the IP payload (__udp4_lib_rcv's short_packet).
    Truncated,
    /// UDP-Lite with a zero checksum or a coverage outside 8..=length (udplite_checksum_init).
    BadCoverage,
    /// The checksum does not verify.
    Checksum,
}

impl<'a> Repr<'a> {
    /// Validates `ip_payload` as __udp4_lib_rcv and udp4_csum_init do. `verify_checksum: false`
    /// when the driver says the checksum was already verified or is left to offload.
    pub fn parse(
        ip_payload: &'a [u8],
        flavor: Flavor,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        verify_checksum: bool,
    ) -> Result<Repr<'a>, ParseError> {
        let packet = Packet::new_checked(ip_payload).map_err(|_| ParseError::Truncated)?;
        let length_field = usize::from(packet.length());
        if length_field > ip_payload.len() {
            return Err(ParseError::Truncated);
        }
        let (datagram, coverage) = match flavor {
            Flavor::Udp => {
                // UDP validates ulen, then trims the IP payload to it (pskb_trim_rcsum).
                if length_field < HEADER_LEN {
                    return Err(ParseError::Truncated);
                }
                (&ip_payload[..length_field], length_field)
            }
            Flavor::Lite => {
                if packet.checksum() == 0 {
                    return Err(ParseError::BadCoverage);
                }
                let coverage = match length_field {
                    0 => ip_payload.len(),
                    n if n < HEADER_LEN => return Err(ParseError::BadCoverage),
                    n => n,
                };
                (ip_payload, coverage)
            }
        };
        let checksum = packet.checksum();
        let needs_check = verify_checksum && (flavor == Flavor::Lite || checksum != 0);
        if needs_check {
            let view = Packet::new_unchecked(datagram);
            if !view.verify_checksum(src, dst, flavor.protocol(), coverage, datagram.len()) {
                return Err(ParseError::Checksum);
            }
        }
        Ok(Repr {
            flavor,
            source_port: packet.source_port(),
            destination_port: packet.destination_port(),
            checksum,
            coverage,
            payload: &datagram[HEADER_LEN..],
        })
    }

    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload.len()
    }

    /// Writes header and payload into `buffer` (exactly `buffer_len()` bytes) and fills in the
    /// checksum. UDP-Lite (udplite_csum): a coverage shorter than the datagram goes into the
    /// length field, 0 is sent as 0 (whole datagram), anything else as the datagram length.
    pub fn emit(&self, buffer: &mut [u8], src: Ipv4Addr, dst: Ipv4Addr) {
        let total = self.buffer_len();
        let buffer = &mut buffer[..total];
        buffer[HEADER_LEN..].copy_from_slice(self.payload);
        let mut packet = Packet::new_unchecked(buffer);
        packet.set_source_port(self.source_port);
        packet.set_destination_port(self.destination_port);
        let (length_field, covered) = match self.flavor {
            Flavor::Lite if self.coverage == 0 => (0, total),
            Flavor::Lite if self.coverage < total => (self.coverage, self.coverage),
            _ => (total, total),
        };
        packet.set_length(length_field as u16);
        packet.fill_checksum(src, dst, self.flavor.protocol(), covered);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
    const DST: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);

    /// 198.18.0.2:40000 → 198.18.0.1:7, payload "hi", checksum computed by hand:
    /// pseudo 0xc612+0x0002+0xc612+0x0001+0x0011+0x000a, header 0x9c40+0x0007+0x000a, data
    /// 0x6869: sum 0x290fc, folded 0x90fe, inverted 0x6f01.
    const DATAGRAM: [u8; 10] = [0x9c, 0x40, 0x00, 0x07, 0x00, 0x0a, 0x6f, 0x01, 0x68, 0x69];

    #[test]
    fn deconstruct() {
        let packet = Packet::new_checked(&DATAGRAM[..]).unwrap();
        assert_eq!(packet.source_port(), 40000);
        assert_eq!(packet.destination_port(), 7);
        assert_eq!(packet.length(), 10);
        assert!(packet.verify_checksum(SRC, DST, 17, 10, 10));
    }

    #[test]
    fn construct_matches_fixture() {
        let repr = Repr {
            flavor: Flavor::Udp,
            source_port: 40000,
            destination_port: 7,
            checksum: 0,
            coverage: 10,
            payload: b"hi",
        };
        let mut buffer = [0u8; 10];
        repr.emit(&mut buffer, SRC, DST);
        assert_eq!(buffer, DATAGRAM);
    }

    #[test]
    fn parse_checks_lengths_and_checksum() {
        let repr = Repr::parse(&DATAGRAM, Flavor::Udp, SRC, DST, true).unwrap();
        assert_eq!(repr.payload, b"hi");
        let mut bad = DATAGRAM;
        bad[9] ^= 1;
        assert_eq!(
            Repr::parse(&bad, Flavor::Udp, SRC, DST, true),
            Err(ParseError::Checksum)
        );
        // Trusted checksums (offload) are not verified.
        assert!(Repr::parse(&bad, Flavor::Udp, SRC, DST, false).is_ok());
        // Zero checksum: the sender computed none.
        let mut none = DATAGRAM;
        none[6] = 0;
        none[7] = 0;
        assert!(Repr::parse(&none, Flavor::Udp, SRC, DST, true).is_ok());
        assert_eq!(
            Repr::parse(&DATAGRAM[..7], Flavor::Udp, SRC, DST, true),
            Err(ParseError::Truncated)
        );
        let mut long = DATAGRAM;
        long[5] = 11;
        assert_eq!(
            Repr::parse(&long, Flavor::Udp, SRC, DST, false),
            Err(ParseError::Truncated)
        );
        let mut short = DATAGRAM;
        short[5] = 7;
        assert_eq!(
            Repr::parse(&short, Flavor::Udp, SRC, DST, false),
            Err(ParseError::Truncated)
        );
    }

    #[test]
    fn udp_length_trims_ip_padding() {
        let mut padded = DATAGRAM.to_vec();
        padded.extend_from_slice(&[0, 0]);
        let repr = Repr::parse(&padded, Flavor::Udp, SRC, DST, true).unwrap();
        assert_eq!(repr.payload, b"hi");
    }

    #[test]
    fn zero_checksum_is_sent_as_ffff() {
        // Find a payload whose checksum computes to 0 by solving for the last word.
        let mut buffer = [0u8; 10];
        let repr = Repr {
            flavor: Flavor::Udp,
            source_port: 1,
            destination_port: 2,
            checksum: 0,
            coverage: 10,
            payload: &[0, 0],
        };
        repr.emit(&mut buffer, SRC, DST);
        let sum_without_data = !u16::from_be_bytes([buffer[6], buffer[7]]);
        // Choose data so that the folded sum is 0xffff: data = !sum_without_data.
        let data = (!sum_without_data).to_be_bytes();
        let repr = Repr {
            payload: &data,
            ..repr
        };
        repr.emit(&mut buffer, SRC, DST);
        assert_eq!(&buffer[6..8], &[0xff, 0xff]);
        assert!(Packet::new_unchecked(&buffer[..]).verify_checksum(SRC, DST, 17, 10, 10));
    }

    #[test]
    fn udplite_coverage_rules() {
        let payload = [1u8, 2, 3, 4, 5, 6];
        let repr = Repr {
            flavor: Flavor::Lite,
            source_port: 5,
            destination_port: 6,
            checksum: 0,
            coverage: 8,
            payload: &payload,
        };
        let mut buffer = [0u8; 14];
        repr.emit(&mut buffer, SRC, DST);
        assert_eq!(&buffer[4..6], &[0, 8]);
        let parsed = Repr::parse(&buffer, Flavor::Lite, SRC, DST, true).unwrap();
        assert_eq!(parsed.coverage, 8);
        // Bytes outside the coverage may change without failing the checksum.
        buffer[13] ^= 0xff;
        assert!(Repr::parse(&buffer, Flavor::Lite, SRC, DST, true).is_ok());
        // Coverage 0 means everything.
        let full = Repr {
            coverage: 14,
            ..repr
        };
        full.emit(&mut buffer, SRC, DST);
        assert_eq!(&buffer[4..6], &[0, 14]);
        buffer[4] = 0;
        buffer[5] = 0;
        Packet::new_unchecked(&mut buffer[..]).fill_checksum(SRC, DST, 136, 14);
        let parsed = Repr::parse(&buffer, Flavor::Lite, SRC, DST, true).unwrap();
        assert_eq!(parsed.coverage, 14);
        // Coverage 1..=7 and a zero checksum are illegal.
        buffer[5] = 7;
        assert_eq!(
            Repr::parse(&buffer, Flavor::Lite, SRC, DST, false),
            Err(ParseError::BadCoverage)
        );
        buffer[5] = 14;
        buffer[6] = 0;
        buffer[7] = 0;
        assert_eq!(
            Repr::parse(&buffer, Flavor::Lite, SRC, DST, false),
            Err(ParseError::BadCoverage)
        );
    }
}
