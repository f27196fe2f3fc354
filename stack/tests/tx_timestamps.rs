//! SO_TIMESTAMPING transmit reports and MSG_ZEROCOPY completions through the public `Stack`
//! API, over loopback (so the frames, and TCP's ACKs, pass inside the calls). Expected values
//! were measured natively (ctests tx_timestamps, tcp_tx_timestamps, msg_zerocopy).

mod common;

use common::{root, sockaddr};
use core::time::Duration;

use stack::socket::msg_flags::MSG_ERRQUEUE;
use stack::socket::poll_bits::POLLERR;
use stack::{Errno, Instant, RecvArgs, SendArgs, SocketId, Stack, WallTime};

const SOCK_DGRAM: i32 = 2;
const SOCK_STREAM: i32 = 1;
const SOL_SOCKET: i32 = 1;
const SO_TIMESTAMPING: i32 = 37;
const SO_ZEROCOPY: i32 = 60;
const SCM_TS_OPT_ID: i32 = 81;
const MSG_ZEROCOPY: i32 = 0x400_0000;
const TX_SOFTWARE: i32 = 1 << 1;
const SOFTWARE: i32 = 1 << 4;
const OPT_ID: i32 = 1 << 7;
const TX_SCHED: i32 = 1 << 8;
const TX_ACK: i32 = 1 << 9;
const OPT_TSONLY: i32 = 1 << 11;
const ENOMSG: u32 = 42;

/// What one MSG_ERRQUEUE read gave: data, and the sock_extended_err fields
/// (errno, origin, code, info, data), and whether an SO_TIMESTAMPING message came first.
#[derive(Debug, PartialEq, Eq)]
struct Report {
    data: Vec<u8>,
    errno: u32,
    origin: u8,
    code: u8,
    info: u32,
    ee_data: u32,
    stamped: bool,
    named: bool,
}

fn now() -> Instant {
    Instant::ZERO + Duration::from_secs(5)
}

fn stack() -> Stack {
    let mut stack = common::host_stack(11);
    stack.set_wall_clock(
        now(),
        WallTime {
            sec: 1_700_000_000,
            nsec: 5,
        },
    );
    stack
}

fn set(stack: &mut Stack, id: SocketId, name: i32, value: i32) -> Result<(), Errno> {
    stack.setsockopt(now(), id, SOL_SOCKET, name, &value.to_ne_bytes())
}

fn send(stack: &mut Stack, id: SocketId, data: &[u8], control: &[u8], flags: i32) -> usize {
    stack
        .send(
            now(),
            id,
            SendArgs {
                data,
                dest: None,
                control,
                flags,
            },
        )
        .unwrap()
}

fn read_error(stack: &mut Stack, id: SocketId) -> Result<Report, Errno> {
    let mut buf = vec![0u8; 256];
    let result = stack.recv(
        now(),
        id,
        RecvArgs {
            capacity: buf.len(),
            control_capacity: 512,
            flags: MSG_ERRQUEUE,
        },
        &mut buf,
    )?;
    let control = result.control;
    // The IP_RECVERR message is last: 16 bytes of header, sock_extended_err, offender.
    let ee = &control[control.len() - 32..];
    let u32_at = |at: usize| u32::from_ne_bytes(ee[at..at + 4].try_into().unwrap());
    let stamped = control.len() > 48
        && i32::from_ne_bytes(control[12..16].try_into().unwrap()) == SO_TIMESTAMPING;
    Ok(Report {
        data: buf[..result.len].to_vec(),
        errno: u32_at(0),
        origin: ee[4],
        code: ee[6],
        info: u32_at(8),
        ee_data: u32_at(12),
        stamped,
        named: result.from.is_some(),
    })
}

fn message(kind: i32, value: u32) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&20u64.to_ne_bytes());
    out.extend_from_slice(&SOL_SOCKET.to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(&value.to_ne_bytes());
    out.extend_from_slice(&[0; 4]);
    out
}

fn udp_pair(stack: &mut Stack, port: u16) -> (SocketId, SocketId) {
    let receiver = stack.socket(SOCK_DGRAM, 0, root()).unwrap();
    stack
        .bind(receiver, &sockaddr([127, 0, 0, 1], port))
        .unwrap();
    let sender = stack.socket(SOCK_DGRAM, 0, root()).unwrap();
    stack
        .connect(now(), sender, &sockaddr([127, 0, 0, 1], port))
        .unwrap();
    (sender, receiver)
}

#[test]
fn udp_reports_sched_then_snd_with_the_looped_frame() {
    let mut stack = stack();
    let (sender, _receiver) = udp_pair(&mut stack, 6001);
    set(
        &mut stack,
        sender,
        SO_TIMESTAMPING,
        TX_SCHED | TX_SOFTWARE | SOFTWARE | OPT_ID,
    )
    .unwrap();
    assert_eq!(send(&mut stack, sender, b"0123456789", &[], 0), 10);
    assert_ne!(stack.poll(sender) & POLLERR, 0);
    let scheduled = read_error(&mut stack, sender).unwrap();
    // lo's header (zero addresses, ETH_P_IP), the IP header, UDP, the payload.
    assert_eq!(scheduled.data.len(), 14 + 20 + 8 + 10);
    assert_eq!(
        &scheduled.data[..14],
        &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0]
    );
    assert!(scheduled.data.ends_with(b"0123456789"));
    assert_eq!(
        (
            scheduled.errno,
            scheduled.origin,
            scheduled.info,
            scheduled.ee_data
        ),
        (ENOMSG, 4, 1, 0)
    );
    assert!(scheduled.stamped && !scheduled.named);
    let sent = read_error(&mut stack, sender).unwrap();
    assert_eq!((sent.info, sent.ee_data), (0, 0));
    assert_eq!(read_error(&mut stack, sender), Err(Errno::EAGAIN));
    assert_eq!(stack.poll(sender) & POLLERR, 0);

    // The next datagram takes key 1; SCM_TS_OPT_ID names one without moving the counter.
    send(&mut stack, sender, b"a", &message(SCM_TS_OPT_ID, 1000), 0);
    send(&mut stack, sender, b"b", &[], 0);
    let keys: Vec<u32> = (0..4)
        .map(|_| read_error(&mut stack, sender).unwrap().ee_data)
        .collect();
    assert_eq!(keys, [1000, 1000, 1, 1]);

    // An SO_TIMESTAMPING control message replaces the record bits for one datagram; no
    // report was asked for: no key taken.
    send(&mut stack, sender, b"c", &message(SO_TIMESTAMPING, 0), 0);
    assert_eq!(read_error(&mut stack, sender), Err(Errno::EAGAIN));
    // OPT_TSONLY: no data.
    set(
        &mut stack,
        sender,
        SO_TIMESTAMPING,
        TX_SOFTWARE | SOFTWARE | OPT_ID | OPT_TSONLY,
    )
    .unwrap();
    send(&mut stack, sender, b"d", &[], 0);
    let report = read_error(&mut stack, sender).unwrap();
    assert_eq!((report.data.len(), report.info, report.ee_data), (0, 0, 2));
}

#[test]
fn udp_zerocopy_ids_merge_and_need_the_option() {
    let mut stack = stack();
    let (sender, _receiver) = udp_pair(&mut stack, 6002);
    send(&mut stack, sender, b"x", &[], MSG_ZEROCOPY);
    assert_eq!(read_error(&mut stack, sender), Err(Errno::EAGAIN));
    set(&mut stack, sender, SO_ZEROCOPY, 1).unwrap();
    for _ in 0..3 {
        send(&mut stack, sender, b"x", &[], MSG_ZEROCOPY);
    }
    send(&mut stack, sender, b"x", &[], 0);
    send(&mut stack, sender, b"", &[], MSG_ZEROCOPY);
    let completion = read_error(&mut stack, sender).unwrap();
    assert_eq!(
        completion,
        Report {
            data: Vec::new(),
            errno: 0,
            origin: 5,
            code: 1,
            info: 0,
            ee_data: 3,
            stamped: false,
            named: false,
        }
    );
    assert_eq!(read_error(&mut stack, sender), Err(Errno::EAGAIN));
}

#[test]
fn tcp_reports_and_completions_follow_the_acks() {
    let mut stack = stack();
    let listener = stack.socket(SOCK_STREAM, 0, root()).unwrap();
    // OPT_ID is refused on a closed or listening socket.
    assert_eq!(
        set(&mut stack, listener, SO_TIMESTAMPING, OPT_ID),
        Err(Errno::EINVAL)
    );
    stack
        .bind(listener, &sockaddr([127, 0, 0, 1], 6003))
        .unwrap();
    stack.listen(listener, 4).unwrap();
    assert_eq!(
        set(&mut stack, listener, SO_TIMESTAMPING, OPT_ID),
        Err(Errno::EINVAL)
    );
    let client = stack.socket(SOCK_STREAM, 0, root()).unwrap();
    let _ = stack.connect(now(), client, &sockaddr([127, 0, 0, 1], 6003));
    let (_server, _) = stack.accept(listener).unwrap();
    set(
        &mut stack,
        client,
        SO_TIMESTAMPING,
        TX_SCHED | TX_SOFTWARE | TX_ACK | SOFTWARE | OPT_ID,
    )
    .unwrap();
    send(&mut stack, client, b"0123456789", &[], 0);
    send(&mut stack, client, b"abcde", &[], 0);
    let reports: Vec<Report> = (0..6)
        .map(|_| read_error(&mut stack, client).unwrap())
        .collect();
    let kinds: Vec<(u32, u32)> = reports.iter().map(|r| (r.info, r.ee_data)).collect();
    assert_eq!(kinds, [(1, 9), (0, 9), (2, 9), (1, 14), (0, 14), (2, 14)]);
    // SCHED and SND loop the frame; ACK the payload only.
    assert_eq!(&reports[0].data[12..14], &[8, 0]);
    assert!(reports[0].data.ends_with(b"0123456789"));
    assert_eq!(reports[2].data, b"0123456789");
    assert_eq!(reports[5].data, b"abcde");
    assert_eq!(read_error(&mut stack, client), Err(Errno::EAGAIN));

    // sock_cmsg_send on TCP: SCM_TS_OPT_ID and unknown bits are EINVAL; SO_TIMESTAMPING
    // replaces the record bits of one write (offset 15 + 3 - 1).
    set(&mut stack, client, SO_TIMESTAMPING, SOFTWARE | OPT_ID).unwrap();
    for bad in [
        message(SCM_TS_OPT_ID, 5),
        message(SO_TIMESTAMPING, SOFTWARE as u32),
    ] {
        let result = stack.send(
            now(),
            client,
            SendArgs {
                data: b"x",
                dest: None,
                control: &bad,
                flags: 0,
            },
        );
        assert_eq!(result, Err(Errno::EINVAL));
    }
    send(
        &mut stack,
        client,
        b"abc",
        &message(SO_TIMESTAMPING, TX_ACK as u32),
        0,
    );
    let acked = read_error(&mut stack, client).unwrap();
    assert_eq!(
        (acked.info, acked.ee_data, acked.data.as_slice()),
        (2, 17, &b"abc"[..])
    );
    assert_eq!(read_error(&mut stack, client), Err(Errno::EAGAIN));

    set(&mut stack, client, SO_TIMESTAMPING, 0).unwrap();
    set(&mut stack, client, SO_ZEROCOPY, 1).unwrap();
    send(&mut stack, client, b"z", &[], MSG_ZEROCOPY);
    send(&mut stack, client, b"z", &[], 0);
    send(&mut stack, client, b"z", &[], MSG_ZEROCOPY);
    let completion = read_error(&mut stack, client).unwrap();
    assert_eq!(
        (completion.errno, completion.origin, completion.code),
        (0, 5, 1)
    );
    assert_eq!((completion.info, completion.ee_data), (0, 1));
    assert_eq!(read_error(&mut stack, client), Err(Errno::EAGAIN));
}

#[test]
fn raw_reports_like_udp() {
    let mut stack = stack();
    let raw = stack.socket(3, 1, root()).unwrap();
    set(
        &mut stack,
        raw,
        SO_TIMESTAMPING,
        TX_SCHED | TX_SOFTWARE | SOFTWARE | OPT_ID,
    )
    .unwrap();
    // An ICMP echo request (the checksum does not matter for the report).
    let echo = [8u8, 0, 0, 0, 0, 1, 0, 1, b'x'];
    let to = sockaddr([127, 0, 0, 1], 0);
    let sent = stack
        .send(
            now(),
            raw,
            SendArgs {
                data: &echo,
                dest: Some(&to),
                control: &[],
                flags: 0,
            },
        )
        .unwrap();
    assert_eq!(sent, echo.len());
    let mut reports = Vec::new();
    while let Ok(report) = read_error(&mut stack, raw) {
        reports.push(report);
    }
    let kinds: Vec<(u32, u32, usize)> = reports
        .iter()
        .map(|r| (r.info, r.ee_data, r.data.len()))
        .collect();
    assert_eq!(kinds, [(1, 0, 14 + 20 + 9), (0, 0, 14 + 20 + 9)]);
    assert!(reports
        .iter()
        .all(|r| r.stamped && !r.named && r.errno == ENOMSG));
}

#[test]
fn tcp_reports_stop_at_the_receive_buffer() {
    // sock_queue_err_skb refuses a report once the receive buffer's charge would reach
    // sk_rcvbuf: a program that never reads its error queue does not collect reports
    // without end.
    let mut stack = stack();
    let listener = stack.socket(SOCK_STREAM, 0, root()).unwrap();
    stack
        .bind(listener, &sockaddr([127, 0, 0, 1], 6004))
        .unwrap();
    stack.listen(listener, 4).unwrap();
    let client = stack.socket(SOCK_STREAM, 0, root()).unwrap();
    let _ = stack.connect(now(), client, &sockaddr([127, 0, 0, 1], 6004));
    let (server, _) = stack.accept(listener).unwrap();
    set(&mut stack, client, SO_TIMESTAMPING, TX_SOFTWARE | SOFTWARE).unwrap();
    let mut buffer = [0u8; 64];
    for _ in 0..5000 {
        send(&mut stack, client, b"0123456789", &[], 0);
        // The server reads, so only the error queue grows.
        let _ = stack.recv(
            now(),
            server,
            stack::RecvArgs {
                capacity: buffer.len(),
                control_capacity: 0,
                flags: 0,
            },
            &mut buffer,
        );
    }
    let mut reports = 0;
    while read_error(&mut stack, client).is_ok() {
        reports += 1;
    }
    assert!(reports > 0 && reports < 5000, "{reports} reports queued");
}
