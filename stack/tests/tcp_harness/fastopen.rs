//! Fast Open scripts over the harness: the client's segments with their Fast Open option,
//! a MSG_FASTOPEN send, and the server's SYN-ACK as Linux lays it out. Shared by
//! `tcp_fastopen.rs` and `tcp_fastopen_blackhole.rs`.

use core::net::SocketAddrV4;
use stack::socket::{SendArgs, SocketId};
use stack::wire::tcp::{FastOpenCookie, Repr};
use stack::Errno;

use super::*;

/// The port the scripts' Fast Open server listens on.
pub const SERVER_PORT: u16 = 7070;

/// What the stack sent, with each segment's Fast Open option.
pub fn sent_with_cookies(script: &mut Script) -> Vec<(Sent, Option<FastOpenCookie>)> {
    script
        .tcp
        .take_queued()
        .iter()
        .map(|segment| {
            let repr = Repr::parse(&segment.bytes, segment.src, segment.dst, false).unwrap();
            (Sent::parse(segment), repr.options.fast_open)
        })
        .collect()
}

pub fn one_with_cookie(script: &mut Script) -> (Sent, Option<FastOpenCookie>) {
    let mut sent = sent_with_cookies(script);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    sent.remove(0)
}

pub fn fast_open_send(
    script: &mut Script,
    id: SocketId,
    data: &[u8],
    flags: i32,
) -> Result<usize, Errno> {
    let addr = sockaddr(SocketAddrV4::new(PEER, SERVER_PORT));
    let now = script.now;
    script.tcp.send_or_fast_open(
        now,
        &script.net,
        id,
        SendArgs {
            data,
            dest: Some(&addr),
            control: &[],
            flags,
        },
    )
}

/// SEGMENT with a Fast Open option carrying COOKIE (empty: a request) and two NOPs after
/// it, as Linux lays it out; None leaves it without one.
pub fn with_cookie_option(mut segment: PeerSegment, cookie: Option<&[u8]>) -> PeerSegment {
    if let Some(cookie) = cookie {
        segment
            .options
            .extend_from_slice(&[34, 2 + cookie.len() as u8]);
        segment.options.extend_from_slice(cookie);
        segment.options.extend_from_slice(&[1, 1]);
    }
    segment
}

/// The server's SYN-ACK to the client's SYN: sequence SEQ, acknowledging the SYN and
/// ACKED - 1 bytes of its data, Linux's SYN-ACK options echoing TSECR, plus a Fast Open
/// option (None: a request's answer without one).
pub fn synack(syn: &Sent, seq: u32, acked: u32, tsecr: u32, cookie: Option<&[u8]>) -> PeerSegment {
    let segment = PeerSegment::new(SYN | ACK, seq, syn.seq.wrapping_add(acked))
        .coming_from(SERVER_PORT)
        .addressed_to(syn.source_port)
        .linux_syn_options(900, tsecr);
    with_cookie_option(segment, cookie)
}

/// `synack` echoing the SYN's own TSval.
pub fn synack_echoing(syn: &Sent, seq: u32, acked: u32, cookie: Option<&[u8]>) -> PeerSegment {
    let tsecr = syn.timestamps.map_or(0, |(tsval, _)| tsval);
    synack(syn, seq, acked, tsecr, cookie)
}
