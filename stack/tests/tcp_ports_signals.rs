//! TCP's own port choices, listener selection and owner signals through the public `Stack`
//! API, over loopback (the handshakes complete inside the calls): __inet_hash_connect's
//! parity and port sharing across destinations, inet_csk_find_open_port's,
//! IP_BIND_ADDRESS_NO_PORT, SO_REUSEPORT listener groups (reuseport_select_sock_by_hash), and
//! the ordered SIGURG / O_ASYNC events of watched sockets (async_watch.rs).

mod common;

use common::{host_stack_with, root, sockaddr};

use core::time::Duration;

use stack::async_watch::AsyncKind;
use stack::{Errno, Instant, Stack, Sysctls};

const SOCK_STREAM: i32 = 1;
const SOL_SOCKET: i32 = 1;
const SO_REUSEADDR: i32 = 2;
const SO_REUSEPORT: i32 = 15;
const SOL_IP: i32 = 0;
const IP_BIND_ADDRESS_NO_PORT: i32 = 24;
const LOOPBACK: [u8; 4] = [127, 0, 0, 1];

fn stack_with_range(seed: u64, range: (u16, u16)) -> Stack {
    let sysctls = Sysctls {
        ip_local_port_range: range,
        ..Default::default()
    };
    host_stack_with(seed, sysctls)
}

fn now() -> Instant {
    Instant::ZERO + Duration::from_secs(1)
}

fn listener(stack: &mut Stack, port: u16, reuse_port: bool) -> stack::SocketId {
    let id = stack.socket(SOCK_STREAM, 0, root()).unwrap();
    if reuse_port {
        stack
            .setsockopt(now(), id, SOL_SOCKET, SO_REUSEPORT, &1i32.to_ne_bytes())
            .unwrap();
    }
    stack.bind(id, &sockaddr(LOOPBACK, port)).unwrap();
    stack.listen(id, 128).unwrap();
    id
}

/// connect() to 127.0.0.1:`port`: Ok(local port) once the handshake completed.
fn connect(stack: &mut Stack, port: u16) -> Result<(stack::SocketId, u16), Errno> {
    let id = stack.socket(SOCK_STREAM, 0, root()).unwrap();
    match stack.connect(now(), id, &sockaddr(LOOPBACK, port)) {
        Err(Errno::EINPROGRESS) | Ok(()) => {}
        Err(error) => {
            stack.close(now(), id);
            return Err(error);
        }
    }
    assert_eq!(stack.connect(now(), id, &sockaddr(LOOPBACK, port)), Ok(()));
    Ok((id, stack.local_addr(id).unwrap().port()))
}

#[test]
fn connect_prefers_the_low_ends_parity_and_bind_the_other() {
    for (range, connect_parity) in [((32768, 60999), 0), ((40001, 40100), 1)] {
        let mut stack = stack_with_range(3, range);
        let _server = listener(&mut stack, 5000, false);
        for _ in 0..5 {
            let (_, port) = connect(&mut stack, 5000).unwrap();
            assert_eq!(port % 2, connect_parity, "connect in {range:?}");
        }
        for _ in 0..5 {
            let id = stack.socket(SOCK_STREAM, 0, root()).unwrap();
            stack.bind(id, &sockaddr([0, 0, 0, 0], 0)).unwrap();
            let port = stack.local_addr(id).unwrap().port();
            assert_eq!(port % 2, 1 - connect_parity, "bind(0) in {range:?}");
        }
        let id = stack.socket(SOCK_STREAM, 0, root()).unwrap();
        stack.listen(id, 1).unwrap();
        assert_eq!(stack.local_addr(id).unwrap().port() % 2, 1 - connect_parity);
    }
}

#[test]
fn reuse_address_bind_walks_the_lower_half_first() {
    let mut stack = stack_with_range(5, (40001, 40004));
    let mut ports = Vec::new();
    for _ in 0..4 {
        let id = stack.socket(SOCK_STREAM, 0, root()).unwrap();
        stack
            .setsockopt(now(), id, SOL_SOCKET, SO_REUSEADDR, &1i32.to_ne_bytes())
            .unwrap();
        stack.bind(id, &sockaddr([0, 0, 0, 0], 0)).unwrap();
        ports.push(stack.local_addr(id).unwrap().port());
    }
    // The order the kernel gives (measured: tcp_ephemeral_ports).
    assert_eq!(ports, [40002, 40001, 40004, 40003]);
    let id = stack.socket(SOCK_STREAM, 0, root()).unwrap();
    assert_eq!(
        stack.bind(id, &sockaddr([0, 0, 0, 0], 0)),
        Err(Errno::EADDRINUSE)
    );
}

#[test]
fn connect_shares_a_port_between_destinations() {
    let mut stack = stack_with_range(7, (40001, 40004));
    // Two listeners on ports outside the range.
    let _echo = listener(&mut stack, 7, false);
    let _discard = listener(&mut stack, 9, false);
    let mut to_echo = Vec::new();
    for _ in 0..4 {
        to_echo.push(connect(&mut stack, 7).unwrap().1);
    }
    let mut sorted = to_echo.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [40001, 40002, 40003, 40004]);
    // Odd ports (the low end's parity) were taken first.
    assert!(to_echo[..2].iter().all(|port| port % 2 == 1));
    assert_eq!(
        connect(&mut stack, 7).map(|c| c.1),
        Err(Errno::EADDRNOTAVAIL)
    );
    // Every port is used towards :7, yet :9 gets each of them again.
    let mut to_discard = Vec::new();
    for _ in 0..4 {
        to_discard.push(connect(&mut stack, 9).unwrap().1);
    }
    to_discard.sort_unstable();
    assert_eq!(to_discard, [40001, 40002, 40003, 40004]);
    // bind(0) and an autobinding listen() find nothing: connect() holds them all.
    let id = stack.socket(SOCK_STREAM, 0, root()).unwrap();
    assert_eq!(
        stack.bind(id, &sockaddr([0, 0, 0, 0], 0)),
        Err(Errno::EADDRINUSE)
    );
    assert_eq!(stack.listen(id, 1), Err(Errno::EADDRINUSE));
}

#[test]
fn a_port_bind_took_is_not_shared_by_connect() {
    let mut stack = stack_with_range(9, (40001, 40002));
    let _echo = listener(&mut stack, 7, false);
    let held = stack.socket(SOCK_STREAM, 0, root()).unwrap();
    stack.bind(held, &sockaddr(LOOPBACK, 40001)).unwrap();
    assert_eq!(connect(&mut stack, 7).unwrap().1, 40002);
    assert_eq!(
        connect(&mut stack, 7).map(|c| c.1),
        Err(Errno::EADDRNOTAVAIL)
    );
}

#[test]
fn bind_address_no_port_leaves_the_port_to_connect() {
    let mut stack = stack_with_range(11, (40001, 40004));
    let _echo = listener(&mut stack, 7, false);
    let id = stack.socket(SOCK_STREAM, 0, root()).unwrap();
    stack
        .setsockopt(
            now(),
            id,
            SOL_IP,
            IP_BIND_ADDRESS_NO_PORT,
            &1i32.to_ne_bytes(),
        )
        .unwrap();
    stack.bind(id, &sockaddr(LOOPBACK, 0)).unwrap();
    assert_eq!(stack.local_addr(id).unwrap().port(), 0);
    // No port yet, so a second bind is allowed (inet_bind checks inet_num).
    stack.bind(id, &sockaddr(LOOPBACK, 0)).unwrap();
    assert_eq!(
        stack.connect(now(), id, &sockaddr(LOOPBACK, 7)),
        Err(Errno::EINPROGRESS)
    );
    let port = stack.local_addr(id).unwrap().port();
    assert_eq!(port % 2, 1, "connect's parity");
    assert!((40001..=40004).contains(&port));
}

#[test]
fn reuseport_listeners_share_the_connections() {
    let mut stack = common::host_stack(13);
    let listeners: Vec<_> = (0..4).map(|_| listener(&mut stack, 6000, true)).collect();
    let mut accepted = [0usize; 4];
    for _ in 0..64 {
        connect(&mut stack, 6000).unwrap();
        let mut takers = 0;
        for (index, &id) in listeners.iter().enumerate() {
            while stack.accept(id).is_ok() {
                accepted[index] += 1;
                takers += 1;
            }
        }
        assert_eq!(takers, 1, "each connection reaches exactly one listener");
    }
    assert!(accepted.iter().all(|&count| count >= 1), "{accepted:?}");
    assert_eq!(accepted.iter().sum::<usize>(), 64);
}

#[test]
fn a_closed_member_leaves_the_group_and_resets_its_queue() {
    let mut stack = common::host_stack(17);
    let first = listener(&mut stack, 6001, true);
    let second = listener(&mut stack, 6001, true);
    let mut clients = Vec::new();
    for _ in 0..32 {
        clients.push(connect(&mut stack, 6001).unwrap().0);
    }
    // Nothing accepted yet: closing `first` resets what it queued (no tcp_migrate_req).
    stack.close(now(), first);
    let mut reset = 0;
    for &client in &clients {
        if stack.poll(client) & stack::socket::poll_bits::POLLERR != 0 {
            reset += 1;
        }
    }
    let mut queued_on_second = 0;
    while stack.accept(second).is_ok() {
        queued_on_second += 1;
    }
    assert!(reset >= 1, "the closed listener had some connections");
    assert_eq!(reset + queued_on_second, 32);
    // New connections all go to the remaining member.
    for _ in 0..8 {
        connect(&mut stack, 6001).unwrap();
        assert!(stack.accept(second).is_ok());
    }
}

fn send(stack: &mut Stack, id: stack::SocketId, data: &[u8], flags: i32) {
    stack
        .send(
            now(),
            id,
            stack::SendArgs {
                data,
                dest: None,
                control: &[],
                flags,
            },
        )
        .unwrap();
}

fn kinds(stack: &mut Stack) -> Vec<(stack::SocketId, AsyncKind)> {
    stack
        .take_async_events()
        .into_iter()
        .map(|event| (event.id, event.kind))
        .collect()
}

/// The events the shim turns into SIGURG and O_ASYNC signals, in the kernel's order (the
/// same sequence `ctests/run sigio_async tcp_sigurg` shows natively).
#[test]
fn watched_sockets_log_their_signals_in_order() {
    let mut stack = common::host_stack(19);
    let server = listener(&mut stack, 7000, false);
    let client = stack.socket(SOCK_STREAM, 0, root()).unwrap();
    stack.watch_async(server);
    stack.watch_async(client);
    let _ = stack.connect(now(), client, &sockaddr(LOOPBACK, 7000));
    // The SYN-ACK establishes the client (POLL_OUT) before the ACK reaches the listener.
    assert_eq!(
        kinds(&mut stack),
        [(client, AsyncKind::Output), (server, AsyncKind::Input)]
    );
    let (accepted, _) = stack.accept(server).unwrap();
    stack.watch_async(accepted);
    assert!(kinds(&mut stack).is_empty());

    // Urgent data: SIGURG first, then sk_data_ready for the byte (tcp_urg) and the segment.
    const MSG_OOB: i32 = 1;
    send(&mut stack, client, b"!", MSG_OOB);
    assert_eq!(
        kinds(&mut stack),
        [
            (accepted, AsyncKind::Urgent),
            (accepted, AsyncKind::Input),
            (accepted, AsyncKind::Input)
        ]
    );
    assert_eq!(stack.urgent_signals(accepted), 1);

    // A bare FIN: tcp_fin's POLL_IN and tcp_data_ready's.
    stack
        .shutdown(now(), client, stack::Shutdown::Write)
        .unwrap();
    assert_eq!(
        kinds(&mut stack),
        [(accepted, AsyncKind::Input), (accepted, AsyncKind::Input)]
    );
    // The FIN back reaches a client that shut down already: POLL_HUP, then POLL_IN.
    stack
        .shutdown(now(), accepted, stack::Shutdown::Write)
        .unwrap();
    assert_eq!(
        kinds(&mut stack),
        [(client, AsyncKind::Hangup), (client, AsyncKind::Input)]
    );
    // Unwatched sockets log nothing.
    stack.unwatch_async(client);
    stack.unwatch_async(accepted);
    stack.unwatch_async(server);
    let other = stack.socket(SOCK_STREAM, 0, root()).unwrap();
    let _ = stack.connect(now(), other, &sockaddr(LOOPBACK, 7000));
    assert!(kinds(&mut stack).is_empty());
}

#[test]
fn a_reset_is_an_error_notice() {
    let mut stack = common::host_stack(23);
    let server = listener(&mut stack, 7001, false);
    let (client, _) = connect(&mut stack, 7001).unwrap();
    let (accepted, _) = stack.accept(server).unwrap();
    stack.watch_async(client);
    let linger_zero = [1i32.to_ne_bytes(), 0i32.to_ne_bytes()].concat();
    const SO_LINGER: i32 = 13;
    stack
        .setsockopt(now(), accepted, SOL_SOCKET, SO_LINGER, &linger_zero)
        .unwrap();
    stack.close(now(), accepted);
    assert_eq!(kinds(&mut stack), [(client, AsyncKind::Error)]);
}

/// sk_stream_write_space signals only after a send ran out of space (SOCKWQ_ASYNC_NOSPACE),
/// once: a reader draining a full connection gives the writer one POLL_OUT.
#[test]
fn write_space_after_a_full_send_is_one_output_notice() {
    let mut stack = common::host_stack(29);
    let server = listener(&mut stack, 7002, false);
    let (client, _) = connect(&mut stack, 7002).unwrap();
    let (accepted, _) = stack.accept(server).unwrap();
    stack.watch_async(client);
    let block = vec![0u8; 65536];
    let mut sent = 0;
    for _ in 0..1000 {
        match stack.send(
            now(),
            client,
            stack::SendArgs {
                data: &block,
                dest: None,
                control: &[],
                flags: 0,
            },
        ) {
            Ok(count) => sent += count,
            Err(Errno::EAGAIN) => break,
            Err(error) => panic!("send: {error:?}"),
        }
    }
    assert!(sent > 0);
    let _ = stack.take_async_events();
    let mut received = 0;
    let mut buffer = vec![0u8; 65536];
    while received < sent {
        let Ok(result) = stack.recv(
            now(),
            accepted,
            stack::RecvArgs {
                capacity: buffer.len(),
                control_capacity: 0,
                flags: 0,
            },
            &mut buffer,
        ) else {
            break;
        };
        received += result.len;
    }
    assert_eq!(received, sent);
    assert_eq!(kinds(&mut stack), [(client, AsyncKind::Output)]);
}
