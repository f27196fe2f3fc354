//! What one received datagram costs on the path every frame from the wire takes (frame in,
//! datagram queued, recvmsg out), with and without the per-socket work the issue #3 options
//! add: receive control messages, a socket filter. A measurement, not a check: run it with
//! `cargo test --release -p ipshim-stack --test udp_receive_cost -- --ignored --nocapture`.

mod common;
use common::{host_stack, udp_frame, OURS, PEER};
use core::net::SocketAddrV4;
use std::time::Instant as WallClock;

use stack::bpf::{op::*, Instruction};
use stack::sockaddr::encode_in;
use stack::socket::msg_flags::MSG_DONTWAIT;
use stack::{Credentials, Instant, RecvArgs, RxMeta, SocketId, Stack};

const PORT: u16 = 5300;
const ROUNDS: usize = 200_000;

fn frame(payload: &[u8]) -> Vec<u8> {
    udp_frame(
        SocketAddrV4::new(PEER, 40000),
        SocketAddrV4::new(OURS, PORT),
        64,
        payload,
    )
}

/// Nanoseconds per datagram: `ROUNDS` times a frame in and a recvmsg out.
fn per_datagram(stack: &mut Stack, id: SocketId, control_capacity: usize) -> f64 {
    let frame = frame(&[b'x'; 64]);
    let mut buf = vec![0u8; 2048];
    let args = RecvArgs {
        capacity: buf.len(),
        control_capacity,
        flags: MSG_DONTWAIT,
    };
    let started = WallClock::now();
    for _ in 0..ROUNDS {
        stack.handle_frame(Instant::ZERO, &frame, RxMeta::default());
        let result = stack.recv(Instant::ZERO, id, args, &mut buf).unwrap();
        assert_eq!(result.len, 64);
    }
    started.elapsed().as_nanos() as f64 / ROUNDS as f64
}

fn bound_socket(stack: &mut Stack) -> SocketId {
    let id = stack.socket(2, 17, Credentials::default()).unwrap();
    stack
        .bind(id, &encode_in(SocketAddrV4::new(OURS, PORT)))
        .unwrap();
    id
}

#[test]
#[ignore = "a measurement: run with --ignored --nocapture, in release"]
fn receive_cost_per_datagram() {
    let mut stack = host_stack(1);
    let plain = bound_socket(&mut stack);
    let base = per_datagram(&mut stack, plain, 0);
    let base_with_room = per_datagram(&mut stack, plain, 256);
    stack.close(Instant::ZERO, plain);

    // IP_PKTINFO, IP_RECVTTL, IP_RECVTOS, IP_RECVORIGDSTADDR, IP_CHECKSUM, SO_TIMESTAMPNS,
    // SO_RXQ_OVFL: every message a datagram without IP options can carry.
    let all = bound_socket(&mut stack);
    for (level, name) in [(0, 8), (0, 12), (0, 13), (0, 20), (0, 23), (1, 35), (1, 40)] {
        stack
            .setsockopt(Instant::ZERO, all, level, name, &1i32.to_ne_bytes())
            .unwrap();
    }
    let with_messages = per_datagram(&mut stack, all, 256);
    stack.close(Instant::ZERO, all);
    let mut each = Vec::new();
    for (level, name) in [(0, 8), (0, 12), (0, 13), (0, 20), (0, 23), (1, 35), (1, 40)] {
        let one = bound_socket(&mut stack);
        stack
            .setsockopt(Instant::ZERO, one, level, name, &1i32.to_ne_bytes())
            .unwrap();
        each.push((level, name, per_datagram(&mut stack, one, 256)));
        stack.close(Instant::ZERO, one);
    }

    // SO_ATTACH_FILTER with `ret #0xffff` (keeps everything): the cost of running a filter.
    let filtered = bound_socket(&mut stack);
    let program = [Instruction::statement(RET | K, 0xffff)];
    let bytes: Vec<u8> = program.iter().flat_map(|i| i.encode()).collect();
    let mut fprog = 1u16.to_ne_bytes().to_vec();
    fprog.resize(8, 0);
    fprog.extend_from_slice(&0x1000u64.to_ne_bytes());
    stack
        .setsockopt_with_program(Instant::ZERO, filtered, 1, 26, &fprog, Some(&bytes))
        .unwrap();
    let with_filter = per_datagram(&mut stack, filtered, 0);

    println!("ns per datagram (frame in + recvmsg):");
    println!("  no options, no control buffer     {base:8.1}");
    println!("  no options, 256-byte control room {base_with_room:8.1}");
    println!("  7 receive control messages        {with_messages:8.1}");
    println!("  a one-instruction socket filter   {with_filter:8.1}");
    for (level, name, cost) in each {
        println!("  only ({level}, {name:2})                      {cost:8.1}");
    }
}
