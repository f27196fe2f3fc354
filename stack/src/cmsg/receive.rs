//! The data of recvmsg's control messages, byte for byte as the kernel builds them
//! (__sock_recv_timestamp, sock_recv_drops, ip_cmsg_recv_offset's helpers). Which messages a
//! datagram gets, and in which order, is the transport's business (udp/recv.rs).

use core::net::{Ipv4Addr, SocketAddrV4};

use crate::ipv4::options::{self, CompiledOptions};
use crate::time::WallTime;
use crate::wire::ipv4::HEADER_LEN as IP_HEADER_LEN;

use super::{kind, level, ControlWriter};

/// SOF_TIMESTAMPING_* bits that decide a received SO_TIMESTAMPING message.
pub mod timestamping {
    pub const RX_SOFTWARE: u32 = 1 << 3;
    pub const SOFTWARE: u32 = 1 << 4;
    pub const RAW_HARDWARE: u32 = 1 << 6;
    pub const OPT_RX_FILTER: u32 = 1 << 17;
}

/// What the socket asked for at the socket level (sock_recv_cmsgs' flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SocketLevelRequest {
    /// SO_TIMESTAMP(NS): SOCK_RCVTSTAMP, SOCK_RCVTSTAMPNS, SOCK_TSTAMP_NEW.
    pub timestamp: bool,
    pub nanoseconds: bool,
    pub new_layout: bool,
    /// SO_TIMESTAMPING's sk_tsflags.
    pub timestamping_flags: u32,
}

/// __sock_recv_timestamp: SO_TIMESTAMP / SO_TIMESTAMPNS (old or y2038 layout; on x86_64
/// both are two 64-bit fields), then SO_TIMESTAMPING (struct scm_timestamping: three
/// timespecs, the software stamp in the first; hardware stamps do not exist here).
pub fn put_timestamps(writer: &mut ControlWriter, request: SocketLevelRequest, stamp: WallTime) {
    if request.timestamp {
        let (kind, fraction) = match (request.nanoseconds, request.new_layout) {
            (false, false) => (kind::SO_TIMESTAMP_OLD, stamp.nsec / 1000),
            (false, true) => (kind::SO_TIMESTAMP_NEW, stamp.nsec / 1000),
            (true, false) => (kind::SO_TIMESTAMPNS_OLD, stamp.nsec),
            (true, true) => (kind::SO_TIMESTAMPNS_NEW, stamp.nsec),
        };
        let mut data = [0u8; 16];
        data[0..8].copy_from_slice(&stamp.sec.to_ne_bytes());
        data[8..16].copy_from_slice(&fraction.to_ne_bytes());
        writer.put(level::SOL_SOCKET, kind, &data);
    }
    let flags = request.timestamping_flags;
    // "tsflags & SOF_TIMESTAMPING_SOFTWARE && (tsflags & SOF_TIMESTAMPING_RX_SOFTWARE ||
    // !(tsflags & SOF_TIMESTAMPING_OPT_RX_FILTER))", and a non-zero skb->tstamp.
    let software = flags & timestamping::SOFTWARE != 0
        && (flags & timestamping::RX_SOFTWARE != 0 || flags & timestamping::OPT_RX_FILTER == 0);
    if software && (stamp.sec != 0 || stamp.nsec != 0) {
        let mut data = [0u8; 48];
        data[0..8].copy_from_slice(&stamp.sec.to_ne_bytes());
        data[8..16].copy_from_slice(&stamp.nsec.to_ne_bytes());
        // put_cmsg_scm_timestamping(64): SO_TIMESTAMPING_NEW only with SOCK_TSTAMP_NEW.
        let kind = if request.new_layout {
            kind::SO_TIMESTAMPING_NEW
        } else {
            kind::SO_TIMESTAMPING_OLD
        };
        writer.put(level::SOL_SOCKET, kind, &data);
    }
}

/// struct in_pktinfo { int ipi_ifindex; in_addr ipi_spec_dst; in_addr ipi_addr; }
pub fn packet_info_data(
    ifindex: u32,
    spec_dst: Ipv4Addr,
    header_destination: Ipv4Addr,
) -> [u8; 12] {
    let mut data = [0u8; 12];
    data[0..4].copy_from_slice(&(ifindex as i32).to_ne_bytes());
    data[4..8].copy_from_slice(&spec_dst.octets());
    data[8..12].copy_from_slice(&header_destination.octets());
    data
}

/// ip_cmsg_recv_dstaddr: a struct sockaddr_in of the header's destination and the transport's
/// destination port.
pub fn original_destination_data(destination: SocketAddrV4) -> [u8; 16] {
    let mut data = [0u8; 16];
    data[0..2].copy_from_slice(&2u16.to_ne_bytes());
    data[2..4].copy_from_slice(&destination.port().to_be_bytes());
    data[4..8].copy_from_slice(&destination.ip().octets());
    data
}

/// skb->csum of a CHECKSUM_COMPLETE datagram as IP_CHECKSUM reports it: the one's complement
/// sum of the payload in 32-bit native (little-endian) words with end-around carry, the tail
/// padded with zeros (csum_partial; measured equal on this kernel for reassembled datagrams).
pub fn payload_checksum(payload: &[u8]) -> u32 {
    let mut sum: u64 = 0;
    for chunk in payload.chunks(4) {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        sum += u64::from(u32::from_le_bytes(word));
    }
    while sum >> 32 != 0 {
        sum = (sum & 0xffff_ffff) + (sum >> 32);
    }
    sum as u32
}

/// ip_cmsg_recv_retopts: ip_options_echo of the received options, then ip_options_undo, which
/// takes back the slots the echo reserved for the answer's sender (a reply built from this
/// list gets them filled again by ip_options_build). None: the echo failed (the kernel then
/// sets MSG_CTRUNC and sends nothing). `is_ours`: inet_addr_type(addr) != RTN_UNICAST, for
/// prespecified timestamps.
pub fn retopts_data(
    ip_options: &[u8],
    compiled: &CompiledOptions,
    is_ours: &dyn Fn(Ipv4Addr) -> bool,
) -> Option<Vec<u8>> {
    let mut header = vec![0u8; IP_HEADER_LEN];
    header.extend_from_slice(ip_options);
    let is_foreign_unicast = |addr: Ipv4Addr| !is_ours(addr);
    let (echoed, reserved) = options::echo(&header, compiled, &is_foreign_unicast)?;
    let mut bytes = echoed.as_slice().to_vec();
    options::undo_reserved_slots(&mut bytes, &reserved);
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(bytes: &[u8]) -> Vec<(i32, i32, u64)> {
        super::super::ControlMessages::new(bytes)
            .map(|m| {
                let m = m.unwrap();
                (m.level, m.kind, m.length as u64)
            })
            .collect()
    }

    #[test]
    fn timestamps_as_measured() {
        let stamp = WallTime {
            sec: 1_700_000_000,
            nsec: 123_456_789,
        };
        let both = SocketLevelRequest {
            timestamp: true,
            nanoseconds: true,
            new_layout: false,
            timestamping_flags: timestamping::SOFTWARE | timestamping::RX_SOFTWARE,
        };
        let mut writer = ControlWriter::new(256);
        put_timestamps(&mut writer, both, stamp);
        let (bytes, truncated) = writer.finish();
        assert!(!truncated);
        // SO_TIMESTAMPNS (32 bytes), then SO_TIMESTAMPING (16 + 3 timespecs).
        assert_eq!(
            kinds(&bytes),
            vec![
                (level::SOL_SOCKET, kind::SO_TIMESTAMPNS_OLD, 32),
                (level::SOL_SOCKET, kind::SO_TIMESTAMPING_OLD, 64)
            ]
        );
        assert_eq!(&bytes[24..32], &123_456_789i64.to_ne_bytes());
        assert_eq!(&bytes[48..56], &1_700_000_000i64.to_ne_bytes());
        assert_eq!(&bytes[64..96], &[0; 32]);
        // SOF_TIMESTAMPING_RX_SOFTWARE alone reports nothing; SOFTWARE with OPT_RX_FILTER
        // needs RX_SOFTWARE (measured).
        for flags in [
            timestamping::RX_SOFTWARE,
            timestamping::SOFTWARE | timestamping::OPT_RX_FILTER,
        ] {
            let mut writer = ControlWriter::new(256);
            let request = SocketLevelRequest {
                timestamping_flags: flags,
                ..SocketLevelRequest::default()
            };
            put_timestamps(&mut writer, request, stamp);
            assert!(writer.bytes().is_empty());
        }
        // The new layout names: SO_TIMESTAMP_NEW and SO_TIMESTAMPING_NEW.
        let mut writer = ControlWriter::new(256);
        let request = SocketLevelRequest {
            timestamp: true,
            new_layout: true,
            timestamping_flags: timestamping::SOFTWARE,
            ..SocketLevelRequest::default()
        };
        put_timestamps(&mut writer, request, stamp);
        assert_eq!(
            kinds(writer.bytes()),
            vec![
                (level::SOL_SOCKET, kind::SO_TIMESTAMP_NEW, 32),
                (level::SOL_SOCKET, kind::SO_TIMESTAMPING_NEW, 64)
            ]
        );
        assert_eq!(&writer.bytes()[24..32], &123_456i64.to_ne_bytes());
    }

    #[test]
    fn checksum_matches_measured_values() {
        // recvmsg on this kernel, IP_CHECKSUM of reassembled 3000-byte datagrams.
        assert_eq!(payload_checksum(&[b'r'; 3000]), 0x4b4b_4b4b);
        let mut data = b"big".to_vec();
        data.resize(3000, b'.');
        assert_eq!(payload_checksum(&data), 0x4b84_867f);
    }

    #[test]
    fn original_destination_layout() {
        let data = original_destination_data(SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 2), 5021));
        assert_eq!(data[..8], [2, 0, 0x13, 0x9d, 198, 18, 0, 2]);
        assert_eq!(data[8..], [0; 8]);
    }

    #[test]
    fn retopts_keep_only_route_and_time_options() {
        // Router alert and NOPs are not echoed: an empty list (measured: cmsg_len 16).
        let compiled = CompiledOptions {
            router_alert: Some(21),
            ..CompiledOptions::default()
        };
        let data = retopts_data(&[1, 148, 4, 0, 0, 1, 1, 0], &compiled, &|_| false);
        assert_eq!(data, Some(Vec::new()));
        // Record route as compiled on arrival (our address recorded, pointer advanced): the
        // echo reserves a slot, the undo gives it back (measured: 070b0c c6120001 c6120002 00).
        let compiled = CompiledOptions {
            record_route: Some(20),
            record_route_needs_address: true,
            ..CompiledOptions::default()
        };
        let received = [7, 11, 12, 198, 18, 0, 1, 198, 18, 0, 2, 0];
        let data = retopts_data(&received, &compiled, &|_| false);
        assert_eq!(data, Some(received.to_vec()));
    }
}
