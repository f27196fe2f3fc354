//! A UDP socket's O_ASYNC write-space signal through a whole `Stack`: datagram_poll arms
//! SOCKWQ_ASYNC_NOSPACE when corked data fills half the send buffer, and the next write space
//! (the corked datagram sent, or SO_SNDBUF raised) is one POLL_OUT notice (ctests
//! sigio_async_poll measured both on the kernel).

mod common;
use common::host_stack;
use core::net::{Ipv4Addr, SocketAddrV4};

use stack::sockaddr::encode_in;
use stack::socket::poll_bits::POLLOUT;
use stack::{Credentials, Instant, SendArgs, SocketId, Stack};

const SOL_SOCKET: i32 = 1;
const SO_SNDBUF: i32 = 7;
const SOL_UDP: i32 = 17;
const UDP_CORK: i32 = 1;

fn set(stack: &mut Stack, now: Instant, id: SocketId, level: i32, name: i32, value: i32) {
    stack
        .setsockopt(now, id, level, name, &value.to_ne_bytes())
        .unwrap();
}

/// A sender with SO_SNDBUF 4096 (8192 doubled) holding 3000 corked bytes for 127.0.0.1:9310:
/// a 4352-byte charge, over half the buffer.
fn corked_sender(stack: &mut Stack, now: Instant) -> SocketId {
    let sender = stack.socket(2, 0, Credentials::default()).unwrap();
    set(stack, now, sender, SOL_SOCKET, SO_SNDBUF, 4096);
    cork_3000(stack, now, sender);
    sender
}

/// UDP_CORK on, and 3000 bytes for 127.0.0.1:9310.
fn cork_3000(stack: &mut Stack, now: Instant, sender: SocketId) {
    set(stack, now, sender, SOL_UDP, UDP_CORK, 1);
    let dest = encode_in(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9310)).to_vec();
    let args = SendArgs {
        data: &[7u8; 3000],
        dest: Some(&dest),
        control: &[],
        flags: 0,
    };
    assert_eq!(stack.send(now, sender, args), Ok(3000));
}

#[test]
fn uncorking_without_a_poll_signals_nothing() {
    let mut stack = host_stack(7);
    let now = Instant::from_millis(5);
    let sender = corked_sender(&mut stack, now);
    assert_eq!(stack.poll(sender) & POLLOUT, 0);
    set(&mut stack, now, sender, SOL_UDP, UDP_CORK, 0);
    assert_ne!(stack.poll(sender) & POLLOUT, 0);
    assert_eq!(stack.async_notices(sender).output, 0);
}

#[test]
fn a_poll_that_found_it_unwritable_makes_the_sent_datagram_one_pollout() {
    let mut stack = host_stack(7);
    let now = Instant::from_millis(5);
    let sender = corked_sender(&mut stack, now);
    assert_eq!(stack.poll_from_user(sender) & POLLOUT, 0);
    set(&mut stack, now, sender, SOL_UDP, UDP_CORK, 0);
    assert_eq!(stack.async_notices(sender).output, 1);
    // The bit is spent: the next corked datagram, uncorked unpolled, is silent.
    cork_3000(&mut stack, now, sender);
    assert_eq!(stack.poll(sender) & POLLOUT, 0);
    set(&mut stack, now, sender, SOL_UDP, UDP_CORK, 0);
    assert_eq!(stack.async_notices(sender).output, 1);
}

#[test]
fn a_larger_send_buffer_is_write_space() {
    let mut stack = host_stack(7);
    let now = Instant::from_millis(5);
    let sender = corked_sender(&mut stack, now);
    assert_eq!(stack.poll_from_user(sender) & POLLOUT, 0);
    set(&mut stack, now, sender, SOL_SOCKET, SO_SNDBUF, 65536);
    assert_eq!(stack.async_notices(sender).output, 1);
    set(&mut stack, now, sender, SOL_UDP, UDP_CORK, 0);
    assert_eq!(stack.async_notices(sender).output, 1);
}
