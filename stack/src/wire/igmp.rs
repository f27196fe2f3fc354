//! IGMP messages: the 8-byte v1/v2 message (RFC 1112, RFC 2236), the IGMPv3 query and the
//! IGMPv3 membership report with its group records (RFC 3376 sections 4.1 and 4.2).
//!
//! Reading: `Message::parse` validates the checksum over the whole message (igmp_rcv's
//! skb_checksum_simple_validate) and decodes what a host acts on. Writing: `ReportBuilder`
//! grows a v3 report record by record, as igmpv3_newpack / add_grhead / add_grec fill an skb,
//! and `v2_message` builds the fixed-size messages of the compatibility modes.

use core::net::Ipv4Addr;

use super::checksum;
use super::WireError;

/// Message types (uapi linux/igmp.h).
pub mod message {
    pub const MEMBERSHIP_QUERY: u8 = 0x11;
    pub const V1_MEMBERSHIP_REPORT: u8 = 0x12;
    pub const V2_MEMBERSHIP_REPORT: u8 = 0x16;
    pub const V2_LEAVE_GROUP: u8 = 0x17;
    pub const V3_MEMBERSHIP_REPORT: u8 = 0x22;
}

/// Group record types (RFC 3376 section 4.2.12).
pub mod record {
    pub const MODE_IS_INCLUDE: u8 = 1;
    pub const MODE_IS_EXCLUDE: u8 = 2;
    pub const CHANGE_TO_INCLUDE: u8 = 3;
    pub const CHANGE_TO_EXCLUDE: u8 = 4;
    pub const ALLOW_NEW_SOURCES: u8 = 5;
    pub const BLOCK_OLD_SOURCES: u8 = 6;
}

/// sizeof(struct igmphdr): type, code, checksum, group.
pub const HEADER_LEN: usize = 8;
/// sizeof(struct igmpv3_query) without sources.
pub const V3_QUERY_LEN: usize = 12;
/// sizeof(struct igmpv3_report) without records.
pub const V3_REPORT_HEADER_LEN: usize = 8;
/// sizeof(struct igmpv3_grec) without sources.
pub const GROUP_RECORD_HEADER_LEN: usize = 8;

/// A received IGMP message, as far as a host uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub message_type: u8,
    /// The v1/v2 max response time (tenths of a second) or the v3 max response code.
    pub code: u8,
    pub group: Ipv4Addr,
    /// The whole message's length (igmp_heard_query tells the versions apart by it).
    pub length: usize,
    /// IGMPv3 query fields, when the message is at least 12 bytes long.
    pub query: Option<V3Query>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3Query {
    /// The querier's robustness variable (QRV; 0: unset).
    pub robustness: u8,
    pub sources: Vec<Ipv4Addr>,
    /// The number of sources the header announces (more than `sources` when truncated).
    pub announced_sources: usize,
}

impl Message {
    /// `bytes`: the IGMP message, from the IP header's end to its total length.
    pub fn parse(bytes: &[u8]) -> Result<Message, WireError> {
        if bytes.len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        if checksum::sum(bytes) != 0xffff {
            return Err(WireError::Checksum);
        }
        let group = Ipv4Addr::new(bytes[4], bytes[5], bytes[6], bytes[7]);
        let query = (bytes.len() >= V3_QUERY_LEN).then(|| {
            let announced = usize::from(u16::from_be_bytes([bytes[10], bytes[11]]));
            let sources = bytes[V3_QUERY_LEN..]
                .chunks_exact(4)
                .take(announced)
                .map(|s| Ipv4Addr::new(s[0], s[1], s[2], s[3]))
                .collect();
            V3Query {
                robustness: bytes[8] & 0x07,
                sources,
                announced_sources: announced,
            }
        });
        Ok(Message {
            message_type: bytes[0],
            code: bytes[1],
            group,
            length: bytes.len(),
            query,
        })
    }
}

/// IGMPV3_MRC: the v3 max response code in tenths of a second (RFC 3376 4.1.1: codes from
/// 128 on are a floating-point value, (mant | 0x10) << (exp + 3)).
pub fn v3_max_response_tenths(code: u8) -> u32 {
    if code < 128 {
        u32::from(code)
    } else {
        let mantissa = u32::from(code & 0x0f);
        let exponent = u32::from((code >> 4) & 0x07);
        (mantissa | 0x10) << (exponent + 3)
    }
}

/// A v1/v2 report or a v2 leave (igmp_send_report): type, code 0, checksum, group.
pub fn v2_message(message_type: u8, group: Ipv4Addr) -> [u8; HEADER_LEN] {
    let mut bytes = [0u8; HEADER_LEN];
    bytes[0] = message_type;
    bytes[4..8].copy_from_slice(&group.octets());
    let sum = checksum::checksum(&bytes);
    bytes[2..4].copy_from_slice(&sum.to_be_bytes());
    bytes
}

/// An IGMPv3 report being filled (the skb of igmpv3_newpack): the report header, then group
/// records, each a header and its sources. `capacity` is the room the kernel gives the whole
/// IP datagram (the device MTU); `room()` is what is left of it (skb_availroom).
#[derive(Debug, Clone)]
pub struct ReportBuilder {
    bytes: Vec<u8>,
    /// Where the IGMP message would start in the IP datagram (the IP header with its router
    /// alert option), counted against the capacity.
    ip_header_len: usize,
    capacity: usize,
    records: u16,
    /// Offset of the record being filled (its source count is written as sources arrive).
    open_record: Option<usize>,
}

impl ReportBuilder {
    pub fn new(ip_header_len: usize, capacity: usize) -> ReportBuilder {
        let mut bytes = Vec::with_capacity(capacity.saturating_sub(ip_header_len));
        bytes.extend_from_slice(&[message::V3_MEMBERSHIP_REPORT, 0, 0, 0, 0, 0, 0, 0]);
        ReportBuilder {
            bytes,
            ip_header_len,
            capacity,
            records: 0,
            open_record: None,
        }
    }

    /// Bytes left before the datagram reaches the capacity.
    pub fn room(&self) -> usize {
        self.capacity
            .saturating_sub(self.ip_header_len + self.bytes.len())
    }

    pub fn record_count(&self) -> u16 {
        self.records
    }

    /// add_grhead: a new record with no sources yet; it becomes the open record.
    pub fn add_record(&mut self, record_type: u8, group: Ipv4Addr) {
        self.open_record = Some(self.bytes.len());
        self.bytes.extend_from_slice(&[record_type, 0, 0, 0]);
        self.bytes.extend_from_slice(&group.octets());
        self.records += 1;
    }

    /// Appends a source to the open record (the caller counts them: `set_source_count`).
    pub fn add_source(&mut self, source: Ipv4Addr) {
        self.bytes.extend_from_slice(&source.octets());
    }

    /// grec_nsrcs of the open record.
    pub fn set_source_count(&mut self, count: u16) {
        if let Some(at) = self.open_record {
            self.bytes[at + 2..at + 4].copy_from_slice(&count.to_be_bytes());
        }
    }

    /// igmpv3_sendpack: the record count and the checksum; the IGMP message.
    pub fn finish(mut self) -> Vec<u8> {
        self.bytes[6..8].copy_from_slice(&self.records.to_be_bytes());
        let sum = checksum::checksum(&self.bytes);
        self.bytes[2..4].copy_from_slice(&sum.to_be_bytes());
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A general v3 query from 198.18.0.1 (code 100 = 10 s, QRV 2, QQIC 125).
    const GENERAL_QUERY: [u8; 12] = [0x11, 0x64, 0xec, 0x1e, 0, 0, 0, 0, 0x02, 0x7d, 0x00, 0x00];

    #[test]
    fn parse_v3_general_query() {
        let message = Message::parse(&GENERAL_QUERY).unwrap();
        assert_eq!(message.message_type, message::MEMBERSHIP_QUERY);
        assert_eq!(message.code, 100);
        assert_eq!(message.group, Ipv4Addr::UNSPECIFIED);
        let query = message.query.unwrap();
        assert_eq!(query.robustness, 2);
        assert!(query.sources.is_empty());
    }

    #[test]
    fn bad_checksum_and_truncation() {
        let mut bad = GENERAL_QUERY;
        bad[3] ^= 1;
        assert_eq!(Message::parse(&bad), Err(WireError::Checksum));
        assert_eq!(Message::parse(&bad[..7]), Err(WireError::Truncated));
    }

    #[test]
    fn v2_leave_bytes() {
        let bytes = v2_message(message::V2_LEAVE_GROUP, Ipv4Addr::new(239, 1, 2, 3));
        assert_eq!(bytes[..2], [0x17, 0]);
        assert_eq!(checksum::sum(&bytes), 0xffff);
        assert_eq!(Message::parse(&bytes).unwrap().query, None);
    }

    #[test]
    fn report_with_two_records() {
        // As captured from this kernel: TO_EX {} for 239.1.2.3, then ALLOW {198.18.0.1}.
        let mut report = ReportBuilder::new(24, 1500);
        assert_eq!(report.room(), 1500 - 24 - 8);
        report.add_record(record::CHANGE_TO_EXCLUDE, Ipv4Addr::new(239, 1, 2, 3));
        report.set_source_count(0);
        report.add_record(record::ALLOW_NEW_SOURCES, Ipv4Addr::new(232, 1, 1, 1));
        report.add_source(Ipv4Addr::new(198, 18, 0, 1));
        report.set_source_count(1);
        let bytes = report.finish();
        assert_eq!(bytes.len(), 8 + 8 + 12);
        assert_eq!(bytes[0], 0x22);
        assert_eq!(bytes[6..8], [0, 2]);
        assert_eq!(bytes[8..16], [4, 0, 0, 0, 239, 1, 2, 3]);
        assert_eq!(bytes[16..28], [5, 0, 0, 1, 232, 1, 1, 1, 198, 18, 0, 1]);
        assert_eq!(checksum::sum(&bytes), 0xffff);
    }

    #[test]
    fn max_response_codes() {
        assert_eq!(v3_max_response_tenths(100), 100);
        // 0x80: mantissa 0, exponent 0 → 16 << 3.
        assert_eq!(v3_max_response_tenths(0x80), 128);
        assert_eq!(v3_max_response_tenths(0xff), 31 << 10);
    }
}
