//! ICMP messages (RFC 792) that IPv4 itself deals with: echo request and reply, and the three
//! errors that quote an offending datagram (destination unreachable, time exceeded, parameter
//! problem). Anything else parses as `Repr::Other` so it can still be counted and handed on.

use super::checksum;
use super::WireError;

pub mod message {
    pub const ECHO_REPLY: u8 = 0;
    pub const DEST_UNREACHABLE: u8 = 3;
    pub const SOURCE_QUENCH: u8 = 4;
    pub const REDIRECT: u8 = 5;
    pub const ECHO_REQUEST: u8 = 8;
    pub const TIME_EXCEEDED: u8 = 11;
    pub const PARAMETER_PROBLEM: u8 = 12;
    pub const TIMESTAMP: u8 = 13;
    pub const TIMESTAMP_REPLY: u8 = 14;
    pub const ADDRESS_MASK_REQUEST: u8 = 17;
    pub const ADDRESS_MASK_REPLY: u8 = 18;
    /// NR_ICMP_TYPES: the highest type Linux knows.
    pub const HIGHEST_KNOWN: u8 = 18;

    /// icmp_pointers[type].error: the types that are errors (never answered with an error).
    pub fn is_error(icmp_type: u8) -> bool {
        matches!(
            icmp_type,
            DEST_UNREACHABLE | SOURCE_QUENCH | REDIRECT | TIME_EXCEEDED | PARAMETER_PROBLEM
        )
    }
}

/// Destination unreachable codes (RFC 792, RFC 1122, RFC 1812).
pub mod unreachable {
    pub const NET: u8 = 0;
    pub const HOST: u8 = 1;
    pub const PROTOCOL: u8 = 2;
    pub const PORT: u8 = 3;
    pub const FRAG_NEEDED: u8 = 4;
    pub const SOURCE_ROUTE_FAILED: u8 = 5;
    /// NR_ICMP_UNREACH: the highest code Linux knows.
    pub const HIGHEST_KNOWN: u8 = 15;
}

pub mod time_exceeded {
    pub const TTL: u8 = 0;
    pub const FRAGMENT_REASSEMBLY: u8 = 1;
}

pub const HEADER_LEN: usize = 8;

mod field {
    use core::ops::{Range, RangeFrom};
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    /// The "rest of header" word: echo id and sequence, next-hop MTU, pointer.
    pub const REST: Range<usize> = 4..8;
    pub const DATA: RangeFrom<usize> = 8..;
}

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

    /// icmp_rcv pulls the 8-byte header before anything else.
    pub fn check_len(&self) -> Result<(), WireError> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        Ok(())
    }

    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }
    pub fn checksum(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::CHECKSUM];
        u16::from_be_bytes([b[0], b[1]])
    }
    pub fn rest(&self) -> [u8; 4] {
        let b = &self.buffer.as_ref()[field::REST];
        [b[0], b[1], b[2], b[3]]
    }
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[field::DATA]
    }
    /// The checksum over the whole message verifies.
    pub fn verify_checksum(&self) -> bool {
        checksum::checksum(self.buffer.as_ref()) == 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr<'a> {
    EchoRequest {
        ident: u16,
        seq_no: u16,
        data: &'a [u8],
    },
    EchoReply {
        ident: u16,
        seq_no: u16,
        data: &'a [u8],
    },
    /// `next_hop_mtu` is meaningful for code FRAG_NEEDED (RFC 1191), else zero.
    DestinationUnreachable {
        code: u8,
        next_hop_mtu: u16,
        quoted: &'a [u8],
    },
    TimeExceeded {
        code: u8,
        quoted: &'a [u8],
    },
    /// `pointer`: the offset of the octet in error within the quoted header.
    ParameterProblem {
        code: u8,
        pointer: u8,
        quoted: &'a [u8],
    },
    Other {
        msg_type: u8,
        code: u8,
        rest: [u8; 4],
        data: &'a [u8],
    },
}

impl<'a> Repr<'a> {
    /// Reads a message whose checksum is checked first (icmp_rcv drops bad ones).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>) -> Result<Repr<'a>, WireError> {
        packet.check_len()?;
        if !packet.verify_checksum() {
            return Err(WireError::Checksum);
        }
        let data = &packet.buffer.as_ref()[field::DATA];
        let rest = packet.rest();
        let (id, seq) = (
            u16::from_be_bytes([rest[0], rest[1]]),
            u16::from_be_bytes([rest[2], rest[3]]),
        );
        let code = packet.msg_code();
        Ok(match packet.msg_type() {
            message::ECHO_REQUEST => Repr::EchoRequest {
                ident: id,
                seq_no: seq,
                data,
            },
            message::ECHO_REPLY => Repr::EchoReply {
                ident: id,
                seq_no: seq,
                data,
            },
            message::DEST_UNREACHABLE => Repr::DestinationUnreachable {
                code,
                next_hop_mtu: seq,
                quoted: data,
            },
            message::TIME_EXCEEDED => Repr::TimeExceeded { code, quoted: data },
            message::PARAMETER_PROBLEM => Repr::ParameterProblem {
                code,
                pointer: rest[0],
                quoted: data,
            },
            msg_type => Repr::Other {
                msg_type,
                code,
                rest,
                data,
            },
        })
    }

    fn parts(&self) -> (u8, u8, [u8; 4], &'a [u8]) {
        let pair = |a: u16, b: u16| {
            let (a, b) = (a.to_be_bytes(), b.to_be_bytes());
            [a[0], a[1], b[0], b[1]]
        };
        match *self {
            Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } => (message::ECHO_REQUEST, 0, pair(ident, seq_no), data),
            Repr::EchoReply {
                ident,
                seq_no,
                data,
            } => (message::ECHO_REPLY, 0, pair(ident, seq_no), data),
            Repr::DestinationUnreachable {
                code,
                next_hop_mtu,
                quoted,
            } => (
                message::DEST_UNREACHABLE,
                code,
                pair(0, next_hop_mtu),
                quoted,
            ),
            Repr::TimeExceeded { code, quoted } => (message::TIME_EXCEEDED, code, [0; 4], quoted),
            Repr::ParameterProblem {
                code,
                pointer,
                quoted,
            } => (message::PARAMETER_PROBLEM, code, [pointer, 0, 0, 0], quoted),
            Repr::Other {
                msg_type,
                code,
                rest,
                data,
            } => (msg_type, code, rest, data),
        }
    }

    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.parts().3.len()
    }

    /// Writes the message with its checksum into `buffer` (at least `buffer_len()` bytes).
    pub fn emit(&self, buffer: &mut [u8]) {
        let (msg_type, code, rest, data) = self.parts();
        let b = &mut buffer[..HEADER_LEN + data.len()];
        b[field::TYPE] = msg_type;
        b[field::CODE] = code;
        b[field::CHECKSUM].copy_from_slice(&[0, 0]);
        b[field::REST].copy_from_slice(&rest);
        b[field::DATA].copy_from_slice(data);
        let sum = checksum::checksum(b);
        b[field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
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

    // An echo request, id 0x1234, sequence 1, data "abcd".
    static ECHO_BYTES: [u8; 12] = [
        0x08, 0x00, 0x21, 0x04, 0x12, 0x34, 0x00, 0x01, 0x61, 0x62, 0x63, 0x64,
    ];

    #[test]
    fn deconstruct() {
        let packet = Packet::new_checked(&ECHO_BYTES[..]).unwrap();
        assert_eq!(packet.msg_type(), message::ECHO_REQUEST);
        assert_eq!(packet.msg_code(), 0);
        assert_eq!(packet.rest(), [0x12, 0x34, 0x00, 0x01]);
        assert_eq!(packet.data(), b"abcd");
        assert!(packet.verify_checksum());
    }

    #[test]
    fn parse_and_emit() {
        let repr = Repr::EchoRequest {
            ident: 0x1234,
            seq_no: 1,
            data: b"abcd",
        };
        let packet = Packet::new_checked(&ECHO_BYTES[..]).unwrap();
        assert_eq!(Repr::parse(&packet).unwrap(), repr);
        assert_eq!(repr.to_bytes(), ECHO_BYTES.to_vec());
    }

    #[test]
    fn errors_round_trip() {
        let quoted = [0x45u8; 28];
        for repr in [
            Repr::DestinationUnreachable {
                code: unreachable::FRAG_NEEDED,
                next_hop_mtu: 1400,
                quoted: &quoted,
            },
            Repr::TimeExceeded {
                code: time_exceeded::FRAGMENT_REASSEMBLY,
                quoted: &quoted,
            },
            Repr::ParameterProblem {
                code: 0,
                pointer: 20,
                quoted: &quoted,
            },
            Repr::Other {
                msg_type: 42,
                code: 7,
                rest: [1, 2, 3, 4],
                data: &quoted,
            },
        ] {
            let bytes = repr.to_bytes();
            assert_eq!(
                Repr::parse(&Packet::new_checked(&bytes[..]).unwrap()).unwrap(),
                repr
            );
        }
        let frag_needed = Repr::DestinationUnreachable {
            code: 4,
            next_hop_mtu: 1400,
            quoted: &[],
        }
        .to_bytes();
        assert_eq!(&frag_needed[4..8], &[0, 0, 0x05, 0x78]);
    }

    #[test]
    fn bad_checksum_and_truncation() {
        let mut bytes = ECHO_BYTES;
        bytes[9] ^= 1;
        assert_eq!(
            Repr::parse(&Packet::new_checked(&bytes[..]).unwrap()).unwrap_err(),
            WireError::Checksum
        );
        assert_eq!(
            Packet::new_checked(&ECHO_BYTES[..7]).unwrap_err(),
            WireError::Truncated
        );
    }
}
