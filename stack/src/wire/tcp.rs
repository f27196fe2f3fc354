//! TCP header (RFC 9293 section 3.1) and its options: MSS (kind 2), window scale (3,
//! RFC 7323), SACK-permitted (4) and SACK blocks (5, RFC 2018), timestamps (8, RFC 7323).
//! Parsing and emitting only; the state machine lives in `crate::tcp`.

use core::net::Ipv4Addr;

use super::checksum;
use super::WireError;

pub const HEADER_LEN: usize = 20;
/// The largest header: data offset 15 words.
pub const MAX_HEADER_LEN: usize = 60;
const PROTOCOL_TCP: u8 = 6;

/// Header flag bits (the low byte of bytes 12..14).
pub mod flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
}

mod kind {
    pub const END: u8 = 0;
    pub const NOP: u8 = 1;
    pub const MSS: u8 = 2;
    pub const WINDOW_SCALE: u8 = 3;
    pub const SACK_PERMITTED: u8 = 4;
    pub const SACK: u8 = 5;
    pub const TIMESTAMP: u8 = 8;
    /// RFC 2385: TCP MD5 signature.
    pub const MD5_SIGNATURE: u8 = 19;
    /// RFC 7413 2.1: TCP Fast Open cookie.
    pub const FAST_OPEN: u8 = 34;
    /// RFC 6994 experimental option; Fast Open's magic is 0xF989 (TCPOPT_FASTOPEN_MAGIC).
    pub const EXPERIMENTAL: u8 = 254;
}

/// TCPOPT_FASTOPEN_MAGIC: the experiment id of Fast Open in option 254 (RFC 6994).
const FAST_OPEN_MAGIC: u16 = 0xF989;
/// TCP_FASTOPEN_COOKIE_MIN / TCP_FASTOPEN_COOKIE_MAX (RFC 7413 4.1.1).
pub const FAST_OPEN_COOKIE_MIN: usize = 4;
pub const FAST_OPEN_COOKIE_MAX: usize = 16;

/// A Fast Open option (RFC 7413 4.1.1): an empty cookie is a cookie request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FastOpenCookie {
    pub len: u8,
    pub bytes: [u8; FAST_OPEN_COOKIE_MAX],
    /// Carried in the experimental option 254 with magic 0xF989 (foc->exp).
    pub experimental: bool,
}

impl FastOpenCookie {
    pub const REQUEST: FastOpenCookie = FastOpenCookie {
        len: 0,
        bytes: [0; FAST_OPEN_COOKIE_MAX],
        experimental: false,
    };

    pub fn new(value: &[u8], experimental: bool) -> FastOpenCookie {
        let len = value.len().min(FAST_OPEN_COOKIE_MAX);
        let mut bytes = [0; FAST_OPEN_COOKIE_MAX];
        bytes[..len].copy_from_slice(&value[..len]);
        FastOpenCookie {
            len: len as u8,
            bytes,
            experimental,
        }
    }

    pub fn value(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len).min(FAST_OPEN_COOKIE_MAX)]
    }

    /// The option's length on the wire: kind, length (and the 2-byte magic), then the cookie.
    fn option_len(&self) -> usize {
        usize::from(self.len) + if self.experimental { 4 } else { 2 }
    }

    /// tcp_options_write: padded to 4 bytes (two NOPs when the length is 2 modulo 4).
    fn encoded_len(&self) -> usize {
        (self.option_len() + 3) & !3
    }
}

/// RFC 7323 section 2.3: a shift above 14 is treated as 14 (tcp_parse_options clamps too).
pub const MAX_WINDOW_SCALE: u8 = 14;
/// At most four SACK blocks fit in 40 option bytes (three with timestamps).
pub const MAX_SACK_BLOCKS: usize = 4;

/// A SACK block: sequence numbers [left, right).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SackBlock {
    pub left: u32,
    pub right: u32,
}

/// The options this stack understands. Unknown kinds are skipped, as tcp_parse_options does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    pub mss: Option<u16>,
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
    /// (TSval, TSecr).
    pub timestamps: Option<(u32, u32)>,
    pub sack_blocks: [SackBlock; MAX_SACK_BLOCKS],
    pub sack_count: usize,
    /// TCP Fast Open (kind 34, or 254 with magic 0xF989), in SYNs and SYN-ACKs.
    pub fast_open: Option<FastOpenCookie>,
    /// RFC 2385 MD5 signature (kind 19, length 18). Emitted first, as NOP NOP 19 18 and the
    /// digest (tcp_options_write); the signer fills the digest in after emitting
    /// (`tcp::md5sig`).
    pub md5: Option<[u8; 16]>,
}

impl Options {
    pub fn sacks(&self) -> &[SackBlock] {
        &self.sack_blocks[..self.sack_count.min(MAX_SACK_BLOCKS)]
    }

    /// tcp_options_write's layout and length (padded to 4 bytes).
    pub fn encoded_len(&self) -> usize {
        let mut len = 0;
        if self.md5.is_some() {
            len += 20;
        }
        if self.mss.is_some() {
            len += 4;
        }
        if self.timestamps.is_some() || self.sack_permitted {
            // TS (10) + either SACK_PERM (2) or two NOPs; SACK_PERM alone: NOP NOP SACK_PERM.
            len += if self.timestamps.is_some() { 12 } else { 4 };
        }
        if self.window_scale.is_some() {
            len += 4;
        }
        if self.sack_count > 0 {
            len += 4 + 8 * self.sack_count.min(MAX_SACK_BLOCKS);
        }
        if let Some(cookie) = &self.fast_open {
            len += cookie.encoded_len();
        }
        len
    }

    /// Writes the options in tcp_options_write's order: NOP NOP MD5; MSS; SACK_PERM+TS (or
    /// NOP NOP TS, or NOP NOP SACK_PERM); NOP WSCALE; NOP NOP SACK blocks.
    fn emit(&self, out: &mut [u8]) {
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            out[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        if let Some(digest) = self.md5 {
            put(&[kind::NOP, kind::NOP, kind::MD5_SIGNATURE, 18]);
            put(&digest);
        }
        if let Some(mss) = self.mss {
            let [high, low] = mss.to_be_bytes();
            put(&[kind::MSS, 4, high, low]);
        }
        match (self.timestamps, self.sack_permitted) {
            (Some((value, echo)), sack) => {
                if sack {
                    put(&[kind::SACK_PERMITTED, 2]);
                } else {
                    put(&[kind::NOP, kind::NOP]);
                }
                put(&[kind::TIMESTAMP, 10]);
                put(&value.to_be_bytes());
                put(&echo.to_be_bytes());
            }
            (None, true) => put(&[kind::NOP, kind::NOP, kind::SACK_PERMITTED, 2]),
            (None, false) => {}
        }
        if let Some(shift) = self.window_scale {
            put(&[kind::NOP, kind::WINDOW_SCALE, 3, shift]);
        }
        let count = self.sack_count.min(MAX_SACK_BLOCKS);
        if count > 0 {
            put(&[kind::NOP, kind::NOP, kind::SACK, (2 + 8 * count) as u8]);
            for block in &self.sack_blocks[..count] {
                put(&block.left.to_be_bytes());
                put(&block.right.to_be_bytes());
            }
        }
        if let Some(cookie) = &self.fast_open {
            // tcp_options_write: OPTION_FAST_OPEN_COOKIE comes after the SACK blocks.
            let len = cookie.option_len() as u8;
            if cookie.experimental {
                let [high, low] = FAST_OPEN_MAGIC.to_be_bytes();
                put(&[kind::EXPERIMENTAL, len, high, low]);
            } else {
                put(&[kind::FAST_OPEN, len]);
            }
            put(cookie.value());
            if cookie.option_len() & 3 == 2 {
                put(&[kind::NOP, kind::NOP]);
            }
        }
    }

    /// tcp_parse_options: a length below 2 or past the end stops parsing ("don't parse
    /// partial options"); options of the wrong length are ignored.
    fn parse(bytes: &[u8]) -> Options {
        let mut options = Options::default();
        let mut at = 0;
        while at < bytes.len() {
            let option_kind = bytes[at];
            if option_kind == kind::END {
                break;
            }
            if option_kind == kind::NOP {
                at += 1;
                continue;
            }
            let Some(&size) = bytes.get(at + 1) else {
                break;
            };
            let size = usize::from(size);
            if size < 2 || at + size > bytes.len() {
                break;
            }
            let body = &bytes[at + 2..at + size];
            match (option_kind, size) {
                (kind::MSS, 4) => options.mss = Some(u16::from_be_bytes([body[0], body[1]])),
                (kind::WINDOW_SCALE, 3) => {
                    options.window_scale = Some(body[0].min(MAX_WINDOW_SCALE));
                }
                (kind::SACK_PERMITTED, 2) => options.sack_permitted = true,
                (kind::MD5_SIGNATURE, 18) => {
                    let mut digest = [0; 16];
                    digest.copy_from_slice(body);
                    options.md5 = Some(digest);
                }
                (kind::TIMESTAMP, 10) => {
                    let value = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
                    let echo = u32::from_be_bytes([body[4], body[5], body[6], body[7]]);
                    options.timestamps = Some((value, echo));
                }
                (kind::SACK, _) if (size - 2) % 8 == 0 && size > 2 => {
                    for chunk in body.chunks_exact(8) {
                        // A second SACK option in one header must not overflow the array.
                        if options.sack_count >= MAX_SACK_BLOCKS {
                            break;
                        }
                        options.sack_blocks[options.sack_count] = SackBlock {
                            left: u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]),
                            right: u32::from_be_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]),
                        };
                        options.sack_count += 1;
                    }
                }
                // tcp_parse_fastopen_option: a cookie of 4..16 even bytes, or none (a
                // request); anything else is ignored.
                (kind::FAST_OPEN, _) => parse_fast_open(body, false, &mut options.fast_open),
                (kind::EXPERIMENTAL, _)
                    if size >= 4 && u16::from_be_bytes([body[0], body[1]]) == FAST_OPEN_MAGIC =>
                {
                    parse_fast_open(&body[2..], true, &mut options.fast_open);
                }
                _ => {}
            }
            at += size;
        }
        options
    }
}

/// tcp_parse_fastopen_option: an odd length is ignored; an even one of 4..16 bytes is a
/// cookie, 0 a request, any other even length leaves no cookie ("len = -1").
fn parse_fast_open(cookie: &[u8], experimental: bool, slot: &mut Option<FastOpenCookie>) {
    let len = cookie.len();
    if len % 2 == 1 {
        return;
    }
    *slot = (len == 0 || (FAST_OPEN_COOKIE_MIN..=FAST_OPEN_COOKIE_MAX).contains(&len))
        .then(|| FastOpenCookie::new(cookie, experimental));
}

/// A parsed, checksum-verified segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr<'a> {
    pub source_port: u16,
    pub destination_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    pub urgent_pointer: u16,
    pub options: Options,
    pub payload: &'a [u8],
}

impl<'a> Repr<'a> {
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// Sequence space the segment occupies: data, plus one each for SYN and FIN.
    pub fn sequence_len(&self) -> u32 {
        self.payload.len() as u32
            + u32::from(self.has(flags::SYN))
            + u32::from(self.has(flags::FIN))
    }

    /// Parses `segment` (the IP payload). `checksum_trusted`: the driver reported the checksum
    /// as offloaded or already verified (see `RxMeta`).
    pub fn parse(
        segment: &'a [u8],
        src: Ipv4Addr,
        dst: Ipv4Addr,
        checksum_trusted: bool,
    ) -> Result<Repr<'a>, WireError> {
        if segment.len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let header_len = usize::from(segment[12] >> 4) * 4;
        if header_len < HEADER_LEN {
            return Err(WireError::Malformed);
        }
        if header_len > segment.len() {
            return Err(WireError::Truncated);
        }
        if !checksum_trusted {
            let acc = checksum::pseudo_header(src, dst, PROTOCOL_TCP, segment.len() as u32);
            if checksum::fold(checksum::accumulate(acc, segment)) != 0xffff {
                return Err(WireError::Checksum);
            }
        }
        let u16_at = |at: usize| u16::from_be_bytes([segment[at], segment[at + 1]]);
        let u32_at = |at: usize| {
            u32::from_be_bytes([
                segment[at],
                segment[at + 1],
                segment[at + 2],
                segment[at + 3],
            ])
        };
        Ok(Repr {
            source_port: u16_at(0),
            destination_port: u16_at(2),
            seq: u32_at(4),
            ack: u32_at(8),
            flags: segment[13],
            window: u16_at(14),
            urgent_pointer: u16_at(18),
            options: Options::parse(&segment[HEADER_LEN..header_len]),
            payload: &segment[header_len..],
        })
    }

    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.options.encoded_len()
    }

    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }

    /// The whole segment with its checksum filled in.
    pub fn emit(&self, src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
        let header_len = self.header_len();
        let mut out = vec![0u8; header_len + self.payload.len()];
        out[0..2].copy_from_slice(&self.source_port.to_be_bytes());
        out[2..4].copy_from_slice(&self.destination_port.to_be_bytes());
        out[4..8].copy_from_slice(&self.seq.to_be_bytes());
        out[8..12].copy_from_slice(&self.ack.to_be_bytes());
        out[12] = ((header_len / 4) as u8) << 4;
        out[13] = self.flags;
        out[14..16].copy_from_slice(&self.window.to_be_bytes());
        out[18..20].copy_from_slice(&self.urgent_pointer.to_be_bytes());
        self.options.emit(&mut out[HEADER_LEN..header_len]);
        out[header_len..].copy_from_slice(self.payload);
        let acc = checksum::pseudo_header(src, dst, PROTOCOL_TCP, out.len() as u32);
        let sum = !checksum::fold(checksum::accumulate(acc, &out));
        out[16..18].copy_from_slice(&sum.to_be_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
    const DST: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);

    /// A SYN laid out as Linux's tcp_options_write lays it out (checksum zeroed): port
    /// 40000 → 7, MSS 1460, SACK_PERM, TS, NOP, WS 7, window 64240.
    const LINUX_SYN: [u8; 40] = [
        0x9c, 0x40, 0x00, 0x07, 0x11, 0x22, 0x33, 0x44, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa,
        0xf0, 0x00, 0x00, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x01,
        0x02, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
    ];

    fn syn_repr() -> Repr<'static> {
        Repr {
            source_port: 40000,
            destination_port: 7,
            seq: 0x1122_3344,
            ack: 0,
            flags: flags::SYN,
            window: 64240,
            urgent_pointer: 0,
            options: Options {
                mss: Some(1460),
                window_scale: Some(7),
                sack_permitted: true,
                timestamps: Some((0x0001_0203, 0)),
                ..Options::default()
            },
            payload: &[],
        }
    }

    #[test]
    fn emit_matches_linux_syn_layout() {
        let bytes = syn_repr().emit(SRC, DST);
        assert_eq!(bytes.len(), 40);
        let mut without_checksum = bytes.clone();
        without_checksum[16..18].copy_from_slice(&[0, 0]);
        assert_eq!(without_checksum, LINUX_SYN);
    }

    #[test]
    fn parse_round_trips_and_verifies_checksum() {
        let bytes = syn_repr().emit(SRC, DST);
        let parsed = Repr::parse(&bytes, SRC, DST, false).unwrap();
        assert_eq!(parsed, syn_repr());
        assert_eq!(parsed.sequence_len(), 1);
        let mut corrupt = bytes.clone();
        corrupt[5] ^= 1;
        assert_eq!(
            Repr::parse(&corrupt, SRC, DST, false),
            Err(WireError::Checksum)
        );
        assert!(Repr::parse(&corrupt, SRC, DST, true).is_ok());
    }

    #[test]
    fn sack_blocks_and_data() {
        let mut options = Options {
            timestamps: Some((5, 6)),
            ..Options::default()
        };
        options.sack_blocks[0] = SackBlock {
            left: 10,
            right: 20,
        };
        options.sack_blocks[1] = SackBlock {
            left: 30,
            right: 40,
        };
        options.sack_count = 2;
        let repr = Repr {
            source_port: 1,
            destination_port: 2,
            seq: 3,
            ack: 4,
            flags: flags::ACK | flags::PSH | flags::FIN,
            window: 100,
            urgent_pointer: 0,
            options,
            payload: b"hello",
        };
        let bytes = repr.emit(SRC, DST);
        assert_eq!(bytes.len(), 20 + 12 + 20 + 5);
        let parsed = Repr::parse(&bytes, SRC, DST, false).unwrap();
        assert_eq!(parsed.options.sacks().len(), 2);
        assert_eq!(
            parsed.options.sacks()[1],
            SackBlock {
                left: 30,
                right: 40
            }
        );
        assert_eq!(parsed.payload, b"hello");
        assert_eq!(parsed.sequence_len(), 6);
    }

    #[test]
    fn malformed_headers_are_refused_and_bad_options_stop_parsing() {
        assert_eq!(
            Repr::parse(&[0; 19], SRC, DST, true),
            Err(WireError::Truncated)
        );
        let mut short_offset = [0u8; 20];
        short_offset[12] = 0x40;
        assert_eq!(
            Repr::parse(&short_offset, SRC, DST, true),
            Err(WireError::Malformed)
        );
        let mut long_offset = [0u8; 20];
        long_offset[12] = 0x60;
        assert_eq!(
            Repr::parse(&long_offset, SRC, DST, true),
            Err(WireError::Truncated)
        );
        // An MSS option claiming 40 bytes: parsing stops, nothing is read.
        let options = Options::parse(&[2, 40, 5, 0xb4]);
        assert_eq!(options, Options::default());
        // Window scale 20 is clamped to 14; a zero-length option stops the walk.
        let options = Options::parse(&[1, 3, 3, 20, 2, 0, 0, 0]);
        assert_eq!(options.window_scale, Some(14));
        // Two SACK options of three blocks each: the first four blocks are kept.
        let mut bytes = Vec::new();
        for _ in 0..2 {
            bytes.extend_from_slice(&[5, 26]);
            bytes.extend_from_slice(&[0; 24]);
        }
        assert_eq!(Options::parse(&bytes).sacks().len(), 4);
    }

    /// A Linux 6.18 Fast Open SYN's options, as captured: MSS 1460, SACK_PERM, TS, NOP,
    /// WS 10, then "tfo cookiereq,nop,nop"; the SYN-ACK carries an 8-byte cookie + NOP NOP.
    #[test]
    fn fast_open_option_layout() {
        let request = Options {
            mss: Some(1460),
            window_scale: Some(10),
            sack_permitted: true,
            timestamps: Some((1, 0)),
            fast_open: Some(FastOpenCookie::REQUEST),
            ..Options::default()
        };
        assert_eq!(request.encoded_len(), 24);
        let mut bytes = [0u8; 24];
        request.emit(&mut bytes);
        assert_eq!(&bytes[20..], &[34, 2, 1, 1]);
        assert_eq!(Options::parse(&bytes), request);
        let cookie = [0x7e, 0x37, 0x8e, 0xfd, 0x7f, 0xd1, 0xc7, 0x23];
        let answer = Options {
            fast_open: Some(FastOpenCookie::new(&cookie, false)),
            ..Options::default()
        };
        let mut bytes = [0u8; 12];
        answer.emit(&mut bytes);
        assert_eq!(&bytes[..2], &[34, 10]);
        assert_eq!(&bytes[2..10], &cookie);
        assert_eq!(&bytes[10..], &[1, 1]);
        assert_eq!(Options::parse(&bytes), answer);
        // The experimental form: kind 254, length, magic 0xF989, cookie (no padding needed).
        let experimental = Options {
            fast_open: Some(FastOpenCookie::new(&cookie, true)),
            ..Options::default()
        };
        let mut bytes = [0u8; 12];
        experimental.emit(&mut bytes);
        assert_eq!(&bytes[..4], &[254, 12, 0xf9, 0x89]);
        assert_eq!(Options::parse(&bytes), experimental);
        // Odd lengths are ignored, even lengths outside 4..16 mean no cookie.
        assert_eq!(Options::parse(&[34, 5, 1, 2, 3]).fast_open, None);
        assert_eq!(Options::parse(&[34, 4, 1, 2]).fast_open, None);
        let mut other_experiment = [254, 6, 0x12, 0x34, 0, 0];
        assert_eq!(Options::parse(&other_experiment).fast_open, None);
        other_experiment[2..4].copy_from_slice(&[0xf9, 0x89]);
        assert_eq!(
            Options::parse(&other_experiment).fast_open,
            None,
            "a 2-byte body after the magic is an invalid cookie"
        );
    }
}
