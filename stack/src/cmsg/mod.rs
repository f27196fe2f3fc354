//! Control messages (cmsg(3)) in the x86_64 layout: `struct cmsghdr { size_t cmsg_len;
//! int cmsg_level; int cmsg_type; }` (16 bytes), data aligned to 8 (CMSG_ALIGN).
//!
//! Outgoing (recvmsg): `ControlWriter::put` is the kernel's put_cmsg, including its exact
//! truncation (MSG_CTRUNC) when the caller's buffer is short; `receive` builds each message's
//! data. Incoming (sendmsg): `ControlMessages` walks a user control buffer as for_each_cmsghdr
//! and CMSG_OK do, and `send` applies udp_cmsg_send / ip_cmsg_send / __sock_cmsg_send with the
//! kernel's errno.

use crate::errno::Errno;

mod receive;
mod send;

pub use receive::{
    original_destination_data, packet_info_data, payload_checksum, put_timestamps, retopts_data,
    timestamping, SocketLevelRequest,
};
pub use send::{
    parse_ip_send_control, parse_tcp_send_control, parse_udp_send_control, priority_allowed,
    tos_to_priority, SendContext, SendControl,
};

/// sizeof(struct cmsghdr) on x86_64.
pub const HEADER_LEN: usize = 16;

pub mod level {
    pub const SOL_IP: i32 = 0;
    pub const SOL_SOCKET: i32 = 1;
    pub const SOL_UDP: i32 = 17;
}

/// Control message types this module knows (uapi asm-generic/socket.h, linux/in.h, linux/udp.h).
pub mod kind {
    // SOL_IP
    pub const IP_TOS: i32 = 1;
    pub const IP_TTL: i32 = 2;
    /// ip_cmsg_recv_opts puts the received options under IP_RECVOPTS's own number.
    pub const IP_RECVOPTS: i32 = 6;
    pub const IP_RETOPTS: i32 = 7;
    pub const IP_PKTINFO: i32 = 8;
    pub const IP_CHECKSUM: i32 = 23;
    pub const IP_RECVFRAGSIZE: i32 = 25;
    /// IP_ORIGDSTADDR == IP_RECVORIGDSTADDR.
    pub const IP_ORIGDSTADDR: i32 = 20;
    pub const IP_PROTOCOL: i32 = 52;
    // SOL_SOCKET
    pub const SCM_RIGHTS: i32 = 1;
    pub const SCM_CREDENTIALS: i32 = 2;
    pub const SO_PRIORITY: i32 = 12;
    pub const SO_RXQ_OVFL: i32 = 40;
    pub const SO_TIMESTAMP_OLD: i32 = 29;
    pub const SO_TIMESTAMPNS_OLD: i32 = 35;
    pub const SO_MARK: i32 = 36;
    pub const SO_TIMESTAMPING_OLD: i32 = 37;
    pub const SCM_TXTIME: i32 = 61;
    pub const SO_TIMESTAMP_NEW: i32 = 63;
    pub const SO_TIMESTAMPNS_NEW: i32 = 64;
    pub const SO_TIMESTAMPING_NEW: i32 = 65;
    pub const SCM_TS_OPT_ID: i32 = 81;
    // SOL_UDP
    pub const UDP_SEGMENT: i32 = 103;
}

/// CMSG_ALIGN: round up to the alignment of `size_t`.
pub const fn align(len: usize) -> usize {
    (len + 7) & !7
}

/// CMSG_LEN: header plus `data_len` bytes.
pub const fn cmsg_len(data_len: usize) -> usize {
    HEADER_LEN + data_len
}

/// CMSG_SPACE: what one message with `data_len` bytes occupies, padding included.
pub const fn cmsg_space(data_len: usize) -> usize {
    HEADER_LEN + align(data_len)
}

/// A struct cmsghdr in native byte order.
fn encode_header(length: usize, level: i32, kind: i32) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[0..8].copy_from_slice(&(length as u64).to_ne_bytes());
    header[8..12].copy_from_slice(&level.to_ne_bytes());
    header[12..16].copy_from_slice(&kind.to_ne_bytes());
    header
}

/// (cmsg_len, cmsg_level, cmsg_type) of the struct cmsghdr `header` starts with.
fn decode_header(header: &[u8; HEADER_LEN]) -> (u64, i32, i32) {
    let [l0, l1, l2, l3, l4, l5, l6, l7, v0, v1, v2, v3, k0, k1, k2, k3] = *header;
    (
        u64::from_ne_bytes([l0, l1, l2, l3, l4, l5, l6, l7]),
        i32::from_ne_bytes([v0, v1, v2, v3]),
        i32::from_ne_bytes([k0, k1, k2, k3]),
    )
}

/// The header at `offset` of `control`, if all 16 bytes of it are there.
fn header_at(control: &[u8], offset: usize) -> Option<&[u8; HEADER_LEN]> {
    control
        .get(offset..offset.checked_add(HEADER_LEN)?)?
        .try_into()
        .ok()
}

/// One whole control message (CMSG_LEN in its header, CMSG_SPACE bytes) as a sendmsg caller
/// lays it out; for tests.
#[cfg(test)]
pub(crate) fn encode_message(level: i32, kind: i32, data: &[u8]) -> Vec<u8> {
    let mut out = encode_header(cmsg_len(data.len()), level, kind).to_vec();
    out.extend_from_slice(data);
    out.resize(cmsg_space(data.len()), 0);
    out
}

/// What `ControlWriter` reserves at its first message (measured with
/// stack/tests/udp_receive_cost.rs: growing the buffer message by message cost more than
/// building the messages).
const RESERVED_ROOM: usize = 512;

/// Builds the control buffer of a recvmsg the way successive put_cmsg calls fill user memory.
#[derive(Debug, Clone)]
pub struct ControlWriter {
    buffer: Vec<u8>,
    capacity: usize,
    truncated: bool,
}

impl ControlWriter {
    /// `capacity`: the msg_controllen the caller offered (0 when msg_control is NULL).
    pub fn new(capacity: usize) -> ControlWriter {
        ControlWriter {
            buffer: Vec::new(),
            capacity,
            truncated: false,
        }
    }

    /// put_cmsg: with less than a header's room left the message is dropped and MSG_CTRUNC set;
    /// with less than CMSG_LEN(len) the message is cut to the room left (cmsg_len says so) and
    /// MSG_CTRUNC set. The buffer then advances by CMSG_SPACE(len), or by the room left.
    /// Padding bytes are written as zeros: the kernel leaves them untouched in user memory, but
    /// counts them in msg_controllen, so the caller copies `bytes()` and reports its length.
    pub fn put(&mut self, level: i32, kind: i32, data: &[u8]) {
        let room = self.capacity - self.buffer.len();
        if room < HEADER_LEN {
            self.truncated = true;
            return;
        }
        if self.buffer.capacity() == 0 {
            // One allocation for the usual case instead of one per doubling: the messages a
            // datagram can carry (every one udp/recv.rs builds) fit in 512 bytes, and
            // nothing is allocated for a datagram that gets none.
            self.buffer.reserve_exact(room.min(RESERVED_ROOM));
        }
        let mut length = cmsg_len(data.len());
        if room < length {
            self.truncated = true;
            length = room;
        }
        self.buffer
            .extend_from_slice(&encode_header(length, level, kind));
        self.buffer.extend_from_slice(&data[..length - HEADER_LEN]);
        let advance = cmsg_space(data.len()).min(room);
        self.buffer.resize(self.buffer.len() + advance - length, 0);
    }

    /// MSG_CTRUNC without a message (ip_cmsg_recv_retopts when ip_options_echo fails).
    pub fn mark_truncated(&mut self) {
        self.truncated = true;
    }

    /// Whether some message did not fit (MSG_CTRUNC).
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    pub fn bytes(&self) -> &[u8] {
        &self.buffer
    }

    /// The filled buffer and the MSG_CTRUNC verdict.
    pub fn finish(self) -> (Vec<u8>, bool) {
        (self.buffer, self.truncated)
    }
}

/// The byte ranges of a recvmsg control buffer that put_cmsg writes: each message's header
/// and data (cmsg_len bytes, the last one possibly cut short). The alignment padding between
/// messages is skipped: the kernel leaves those bytes of the caller's buffer untouched, though
/// msg_controllen counts them.
pub fn written_ranges(control: &[u8]) -> Vec<core::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut offset = 0usize;
    while let Some(header) = header_at(control, offset) {
        // A message claiming more than the buffer holds ends with it (and ends the walk).
        let length = usize::try_from(decode_header(header).0)
            .unwrap_or(usize::MAX)
            .clamp(HEADER_LEN, control.len() - offset);
        ranges.push(offset..offset + length);
        offset += align(length);
    }
    ranges
}

/// One control message of a sendmsg, as the kernel sees it after CMSG_OK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlMessage<'a> {
    pub level: i32,
    pub kind: i32,
    /// cmsg_len as the caller wrote it.
    pub length: usize,
    /// The bytes after the header, `length - 16` of them.
    pub data: &'a [u8],
}

impl ControlMessage<'_> {
    /// The data as a native int when cmsg_len is exactly CMSG_LEN(sizeof(int)), else EINVAL:
    /// the "cmsg->cmsg_len != CMSG_LEN(sizeof(...))" test every int-valued message of
    /// ip_cmsg_send and __sock_cmsg_send makes before reading it.
    fn int(&self) -> Result<i32, Errno> {
        let bytes: [u8; 4] = self.data.try_into().map_err(|_| Errno::EINVAL)?;
        Ok(i32::from_ne_bytes(bytes))
    }
}

/// for_each_cmsghdr over a user control buffer. Yields Err(EINVAL) (and stops) at the first
/// message that fails CMSG_OK: cmsg_len below the header size or beyond the buffer's end.
#[derive(Debug, Clone)]
pub struct ControlMessages<'a> {
    control: &'a [u8],
    offset: usize,
    failed: bool,
}

impl<'a> ControlMessages<'a> {
    pub fn new(control: &'a [u8]) -> ControlMessages<'a> {
        ControlMessages {
            control,
            offset: 0,
            failed: false,
        }
    }
}

impl<'a> Iterator for ControlMessages<'a> {
    type Item = Result<ControlMessage<'a>, Errno>;

    fn next(&mut self) -> Option<Self::Item> {
        // CMSG_FIRSTHDR / __cmsg_nxthdr: a next header exists only if all 16 bytes fit.
        if self.failed {
            return None;
        }
        let (length, level, kind) = decode_header(header_at(self.control, self.offset)?);
        let room = (self.control.len() - self.offset) as u64;
        if length < HEADER_LEN as u64 || length > room {
            self.failed = true;
            return Some(Err(Errno::EINVAL));
        }
        let length = length as usize;
        let data = &self.control[self.offset + HEADER_LEN..self.offset + length];
        self.offset = self.offset.saturating_add(align(length));
        Some(Ok(ControlMessage {
            level,
            kind,
            length,
            data,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use encode_message as message;

    #[test]
    fn put_fits() {
        let mut writer = ControlWriter::new(64);
        writer.put(level::SOL_IP, kind::IP_TTL, &64i32.to_ne_bytes());
        writer.put(level::SOL_IP, kind::IP_TOS, &[0x10]);
        let (bytes, truncated) = writer.finish();
        assert!(!truncated);
        let mut expected = message(0, 2, &64i32.to_ne_bytes());
        expected.extend(message(0, 1, &[0x10]));
        assert_eq!(bytes, expected);
        assert_eq!(bytes.len(), 20 + 4 + 24);
    }

    #[test]
    fn put_truncates_like_put_cmsg() {
        // Room for the header and 2 of 4 data bytes: cmsg_len says 18, MSG_CTRUNC.
        let mut writer = ControlWriter::new(18);
        writer.put(level::SOL_IP, kind::IP_TTL, &0x0403_0201i32.to_ne_bytes());
        let (bytes, truncated) = writer.finish();
        assert!(truncated);
        assert_eq!(&bytes[0..8], &18u64.to_ne_bytes());
        assert_eq!(&bytes[16..], &[1, 2]);

        // CMSG_LEN fits but CMSG_SPACE does not: not truncated, controllen cut to the room.
        let mut writer = ControlWriter::new(20);
        writer.put(level::SOL_IP, kind::IP_TTL, &64i32.to_ne_bytes());
        assert!(!writer.truncated());
        assert_eq!(writer.bytes().len(), 20);

        // Less than a header: nothing written, MSG_CTRUNC.
        let mut writer = ControlWriter::new(15);
        writer.put(level::SOL_IP, kind::IP_TTL, &64i32.to_ne_bytes());
        assert_eq!(writer.finish(), (Vec::new(), true));

        // The second message is dropped when only 8 bytes remain after the first.
        let mut writer = ControlWriter::new(32);
        writer.put(level::SOL_IP, kind::IP_TTL, &64i32.to_ne_bytes());
        writer.put(level::SOL_IP, kind::IP_TOS, &[0]);
        let (bytes, truncated) = writer.finish();
        assert!(truncated);
        assert_eq!(bytes.len(), 24);

        // No buffer at all.
        let mut writer = ControlWriter::new(0);
        writer.put(level::SOL_IP, kind::IP_TOS, &[0]);
        assert_eq!(writer.finish(), (Vec::new(), true));
    }

    #[test]
    fn written_ranges_skip_padding() {
        let mut writer = ControlWriter::new(100);
        writer.put(level::SOL_IP, kind::IP_PKTINFO, &[1; 12]);
        writer.put(level::SOL_IP, kind::IP_TOS, &[2]);
        writer.put(level::SOL_IP, kind::IP_TTL, &[3; 4]);
        assert_eq!(written_ranges(writer.bytes()), vec![0..28, 32..49, 56..76]);
        // Cut short: the last message ends where the buffer does.
        let mut writer = ControlWriter::new(29);
        writer.put(level::SOL_IP, kind::IP_PKTINFO, &[1; 12]);
        writer.put(level::SOL_IP, kind::IP_TOS, &[2]);
        assert_eq!(written_ranges(writer.bytes()), vec![0..28]);
        let mut writer = ControlWriter::new(20);
        writer.put(level::SOL_IP, kind::IP_PKTINFO, &[1; 12]);
        assert_eq!(written_ranges(writer.bytes()), vec![0..20]);
        // A cmsg_len past the buffer ends with the buffer.
        let mut huge = message(level::SOL_IP, kind::IP_TOS, &[2]);
        huge[0..8].copy_from_slice(&u64::MAX.to_ne_bytes());
        assert_eq!(written_ranges(&huge), vec![0..24]);
    }

    #[test]
    fn iteration_follows_cmsg_ok() {
        let mut control = message(0, 2, &64i32.to_ne_bytes());
        control.extend(message(0, 1, &[7]));
        let messages: Vec<_> = ControlMessages::new(&control)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[1].data, &[7]);
        // A trailing fragment shorter than a header is ignored.
        control.extend_from_slice(&[0xff; 15]);
        assert_eq!(ControlMessages::new(&control).count(), 2);
        // cmsg_len beyond the buffer.
        let mut bad = message(0, 2, &64i32.to_ne_bytes());
        bad[0] = 25;
        assert_eq!(ControlMessages::new(&bad).next(), Some(Err(Errno::EINVAL)));
        // cmsg_len below the header.
        bad[0] = 15;
        assert_eq!(ControlMessages::new(&bad).next(), Some(Err(Errno::EINVAL)));
        // A huge cmsg_len does not overflow.
        bad[0..8].copy_from_slice(&u64::MAX.to_ne_bytes());
        assert_eq!(ControlMessages::new(&bad).next(), Some(Err(Errno::EINVAL)));
    }
}
