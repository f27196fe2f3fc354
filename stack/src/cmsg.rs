//! Control messages (cmsg(3)) in the x86_64 layout: `struct cmsghdr { size_t cmsg_len;
//! int cmsg_level; int cmsg_type; }` (16 bytes), data aligned to 8 (CMSG_ALIGN).
//!
//! Outgoing (recvmsg): `ControlWriter::put` is the kernel's put_cmsg, including its exact
//! truncation (MSG_CTRUNC) when the caller's buffer is short.
//! Incoming (sendmsg): `ControlMessages` walks a user control buffer as for_each_cmsghdr and
//! CMSG_OK do, and `parse_ip_send_control` applies ip_cmsg_send / __sock_cmsg_send with the
//! kernel's errno.

use core::net::Ipv4Addr;

use crate::config::Credentials;
use crate::errno::Errno;

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
    pub const IP_RETOPTS: i32 = 7;
    pub const IP_PKTINFO: i32 = 8;
    pub const IP_PROTOCOL: i32 = 52;
    // SOL_SOCKET
    pub const SCM_RIGHTS: i32 = 1;
    pub const SCM_CREDENTIALS: i32 = 2;
    pub const SO_PRIORITY: i32 = 12;
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
        let mut length = cmsg_len(data.len());
        if room < length {
            self.truncated = true;
            length = room;
        }
        self.buffer
            .extend_from_slice(&(length as u64).to_ne_bytes());
        self.buffer.extend_from_slice(&level.to_ne_bytes());
        self.buffer.extend_from_slice(&kind.to_ne_bytes());
        self.buffer.extend_from_slice(&data[..length - HEADER_LEN]);
        let advance = cmsg_space(data.len()).min(room);
        self.buffer.resize(self.buffer.len() + advance - length, 0);
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
    /// The first 4 bytes as a native int (callers check `length` first, as the kernel does).
    fn int(&self) -> i32 {
        i32::from_ne_bytes([self.data[0], self.data[1], self.data[2], self.data[3]])
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
        if self.failed || self.offset.checked_add(HEADER_LEN)? > self.control.len() {
            return None;
        }
        let header = &self.control[self.offset..self.offset + HEADER_LEN];
        let mut length_bytes = [0u8; 8];
        length_bytes.copy_from_slice(&header[0..8]);
        let length = u64::from_ne_bytes(length_bytes);
        let level = i32::from_ne_bytes([header[8], header[9], header[10], header[11]]);
        let kind = i32::from_ne_bytes([header[12], header[13], header[14], header[15]]);
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

/// What sendmsg's control messages ask for (struct ipcm_cookie / sockcm_cookie).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SendControl {
    /// IP_PKTINFO ipi_ifindex (when non-zero): the output interface.
    pub oif: Option<u32>,
    /// IP_PKTINFO ipi_spec_dst: replaces the socket's source address, even when 0.
    pub source: Option<Ipv4Addr>,
    pub ttl: Option<u8>,
    pub tos: Option<u8>,
    /// SO_PRIORITY, or the priority IP_TOS implies (rt_tos2priority).
    pub priority: Option<u32>,
    pub mark: Option<u32>,
    /// SO_TIMESTAMPING transmit flags (the error queue that would report them is issue #4).
    pub timestamping: Option<u32>,
    /// UDP_SEGMENT (GSO) size.
    pub segment_size: Option<u16>,
}

/// SOF_TIMESTAMPING_TX_RECORD_MASK: TX_HARDWARE | TX_SOFTWARE | TX_SCHED | TX_ACK | TX_COMPLETION.
const TIMESTAMPING_TX_RECORD_MASK: u32 = (1 << 0) | (1 << 1) | (1 << 8) | (1 << 9) | (1 << 18);

/// TC_PRIO_INTERACTIVE: the highest priority an unprivileged socket may choose.
const TC_PRIO_INTERACTIVE: u32 = 6;

/// rt_tos2priority: ip_tos2prio indexed by the TOS bits (RFC 1349) of a TOS byte.
pub fn tos_to_priority(tos: u8) -> u32 {
    const IP_TOS_TO_PRIORITY: [u32; 16] = [0, 0, 0, 0, 2, 2, 2, 2, 6, 6, 6, 6, 4, 4, 4, 4];
    IP_TOS_TO_PRIORITY[usize::from((tos & 0x1e) >> 1)]
}

/// sk_set_prio_allowed: 0..=6 for everyone, anything with CAP_NET_RAW or CAP_NET_ADMIN.
pub fn priority_allowed(priority: i64, creds: &Credentials) -> bool {
    (0..=i64::from(TC_PRIO_INTERACTIVE)).contains(&priority)
        || creds.cap_net_raw
        || creds.cap_net_admin
}

/// udp_cmsg_send followed by ip_cmsg_send, as udp_sendmsg runs them: a first pass takes the
/// SOL_UDP messages (only UDP_SEGMENT exists) and checks every header; if any message has
/// another level, a second pass applies SOL_SOCKET (__sock_cmsg_send) and SOL_IP messages.
/// Messages of other levels are ignored; unknown SOL_IP / SOL_SOCKET types are EINVAL.
pub fn parse_udp_send_control(control: &[u8], creds: &Credentials) -> Result<SendControl, Errno> {
    let mut result = SendControl::default();
    let mut needs_ip_pass = false;
    for message in ControlMessages::new(control) {
        let message = message?;
        if message.level != level::SOL_UDP {
            needs_ip_pass = true;
            continue;
        }
        match message.kind {
            kind::UDP_SEGMENT if message.length == cmsg_len(2) => {
                result.segment_size = Some(u16::from_ne_bytes([message.data[0], message.data[1]]));
            }
            _ => return Err(Errno::EINVAL),
        }
    }
    if needs_ip_pass {
        parse_ip_send_control(control, creds, &mut result)?;
    }
    Ok(result)
}

/// ip_cmsg_send: SOL_SOCKET and SOL_IP messages; other levels skipped.
pub fn parse_ip_send_control(
    control: &[u8],
    creds: &Credentials,
    result: &mut SendControl,
) -> Result<(), Errno> {
    for message in ControlMessages::new(control) {
        let message = message?;
        match message.level {
            level::SOL_SOCKET => parse_socket_message(&message, creds, result)?,
            level::SOL_IP => parse_ip_message(&message, result)?,
            _ => {}
        }
    }
    Ok(())
}

/// One SOL_IP message (ip_cmsg_send's switch).
fn parse_ip_message(message: &ControlMessage<'_>, result: &mut SendControl) -> Result<(), Errno> {
    match message.kind {
        kind::IP_RETOPTS => {
            // ip_options_get on at most 40 bytes. An empty option list is valid and means
            // none; option compilation (ip_options_compile) is not implemented yet, so a
            // non-empty list is refused rather than sent without its options.
            if message.data.is_empty() {
                Ok(())
            } else {
                Err(Errno::EOPNOTSUPP)
            }
        }
        kind::IP_PKTINFO => {
            // struct in_pktinfo { int ipi_ifindex; in_addr ipi_spec_dst; in_addr ipi_addr; }
            if message.length != cmsg_len(12) {
                return Err(Errno::EINVAL);
            }
            let ifindex = message.int();
            if ifindex != 0 {
                result.oif = Some(ifindex as u32);
            }
            let d = message.data;
            result.source = Some(Ipv4Addr::new(d[4], d[5], d[6], d[7]));
            Ok(())
        }
        kind::IP_TTL => {
            if message.length != cmsg_len(4) {
                return Err(Errno::EINVAL);
            }
            let ttl = message.int();
            if !(1..=255).contains(&ttl) {
                return Err(Errno::EINVAL);
            }
            result.ttl = Some(ttl as u8);
            Ok(())
        }
        kind::IP_TOS => {
            // An int or a single byte, like the option.
            let tos = if message.length == cmsg_len(4) {
                message.int()
            } else if message.length == cmsg_len(1) {
                i32::from(message.data[0])
            } else {
                return Err(Errno::EINVAL);
            };
            if !(0..=255).contains(&tos) {
                return Err(Errno::EINVAL);
            }
            result.tos = Some(tos as u8);
            result.priority = Some(tos_to_priority(tos as u8));
            Ok(())
        }
        kind::IP_PROTOCOL => {
            // Only raw sockets use the protocol; the checks still apply.
            if message.length != cmsg_len(4) {
                return Err(Errno::EINVAL);
            }
            if !(1..=255).contains(&message.int()) {
                return Err(Errno::EINVAL);
            }
            Ok(())
        }
        _ => Err(Errno::EINVAL),
    }
}

/// One SOL_SOCKET message (__sock_cmsg_send).
fn parse_socket_message(
    message: &ControlMessage<'_>,
    creds: &Credentials,
    result: &mut SendControl,
) -> Result<(), Errno> {
    let is_u32 = message.length == cmsg_len(4);
    match message.kind {
        kind::SO_MARK => {
            if !creds.cap_net_raw && !creds.cap_net_admin {
                return Err(Errno::EPERM);
            }
            if !is_u32 {
                return Err(Errno::EINVAL);
            }
            result.mark = Some(message.int() as u32);
        }
        kind::SO_TIMESTAMPING_OLD | kind::SO_TIMESTAMPING_NEW => {
            if !is_u32 {
                return Err(Errno::EINVAL);
            }
            let flags = message.int() as u32;
            if flags & !TIMESTAMPING_TX_RECORD_MASK != 0 {
                return Err(Errno::EINVAL);
            }
            result.timestamping = Some(flags);
        }
        // SCM_TXTIME needs SO_TXTIME, SCM_TS_OPT_ID needs SOF_TIMESTAMPING_OPT_ID; neither option
        // can be set yet, so both fail their first check as in the kernel.
        kind::SCM_TXTIME | kind::SCM_TS_OPT_ID => return Err(Errno::EINVAL),
        kind::SO_PRIORITY => {
            if !is_u32 {
                return Err(Errno::EINVAL);
            }
            let priority = message.int() as u32;
            if !priority_allowed(i64::from(priority), creds) {
                return Err(Errno::EPERM);
            }
            result.priority = Some(priority);
        }
        // SCM_RIGHTS and SCM_CREDENTIALS belong to AF_UNIX; inet sockets skip them.
        kind::SCM_RIGHTS | kind::SCM_CREDENTIALS => {}
        _ => return Err(Errno::EINVAL),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(level: i32, kind: i32, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(cmsg_len(data.len()) as u64).to_ne_bytes());
        out.extend_from_slice(&level.to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(data);
        out.resize(cmsg_space(data.len()), 0);
        out
    }

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

    #[test]
    fn ip_send_rules() {
        let creds = Credentials::default();
        let ttl = |v: i32| message(0, kind::IP_TTL, &v.to_ne_bytes());
        assert_eq!(parse_udp_send_control(&ttl(0), &creds), Err(Errno::EINVAL));
        assert_eq!(
            parse_udp_send_control(&ttl(256), &creds),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            parse_udp_send_control(&ttl(255), &creds).unwrap().ttl,
            Some(255)
        );
        assert_eq!(
            parse_udp_send_control(&message(0, kind::IP_TTL, &[5]), &creds),
            Err(Errno::EINVAL)
        );
        let tos = parse_udp_send_control(&message(0, kind::IP_TOS, &[0x10]), &creds).unwrap();
        assert_eq!((tos.tos, tos.priority), (Some(0x10), Some(6)));
        assert_eq!(
            parse_udp_send_control(&message(0, kind::IP_TOS, &256i32.to_ne_bytes()), &creds),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            parse_udp_send_control(&message(0, kind::IP_TOS, &[1, 2]), &creds),
            Err(Errno::EINVAL)
        );
        let mut pktinfo = 3i32.to_ne_bytes().to_vec();
        pktinfo.extend_from_slice(&[198, 18, 0, 2, 9, 9, 9, 9]);
        let parsed =
            parse_udp_send_control(&message(0, kind::IP_PKTINFO, &pktinfo), &creds).unwrap();
        assert_eq!(parsed.oif, Some(3));
        assert_eq!(parsed.source, Some(Ipv4Addr::new(198, 18, 0, 2)));
        assert_eq!(
            parse_udp_send_control(&message(0, 99, &[]), &creds),
            Err(Errno::EINVAL)
        );
        // Other levels are skipped.
        assert_eq!(
            parse_udp_send_control(&message(41, 99, &[]), &creds),
            Ok(SendControl::default())
        );
    }

    #[test]
    fn socket_and_udp_send_rules() {
        let creds = Credentials::default();
        let admin = Credentials {
            cap_net_admin: true,
            ..Credentials::default()
        };
        let mark = message(1, kind::SO_MARK, &1u32.to_ne_bytes());
        assert_eq!(parse_udp_send_control(&mark, &creds), Err(Errno::EPERM));
        assert_eq!(parse_udp_send_control(&mark, &admin).unwrap().mark, Some(1));
        let priority = |p: u32| message(1, kind::SO_PRIORITY, &p.to_ne_bytes());
        assert_eq!(
            parse_udp_send_control(&priority(7), &creds),
            Err(Errno::EPERM)
        );
        assert_eq!(
            parse_udp_send_control(&priority(6), &creds)
                .unwrap()
                .priority,
            Some(6)
        );
        assert_eq!(
            parse_udp_send_control(&message(1, kind::SCM_RIGHTS, &[0; 4]), &creds),
            Ok(SendControl::default())
        );
        assert_eq!(
            parse_udp_send_control(&message(1, 999, &[]), &creds),
            Err(Errno::EINVAL)
        );
        let gso = message(17, kind::UDP_SEGMENT, &1000u16.to_ne_bytes());
        assert_eq!(
            parse_udp_send_control(&gso, &creds).unwrap().segment_size,
            Some(1000)
        );
        assert_eq!(
            parse_udp_send_control(&message(17, kind::UDP_SEGMENT, &[0; 4]), &creds),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            parse_udp_send_control(&message(17, 1, &[0; 4]), &creds),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn tos_priority_table() {
        assert_eq!(tos_to_priority(0), 0);
        assert_eq!(tos_to_priority(0x08), 2);
        assert_eq!(tos_to_priority(0x10), 6);
        assert_eq!(tos_to_priority(0x18), 4);
        assert_eq!(tos_to_priority(0xff), 4);
    }
}
