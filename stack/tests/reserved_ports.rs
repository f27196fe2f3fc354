//! net.ipv4.ip_local_reserved_ports and ip_autobind_reuse through the public `Stack` API:
//! every automatic port choice (TCP bind(0), listen() and connect() without a port, UDP
//! bind(0) and the autobind of connect) skips the reserved ports, an explicit bind to one
//! succeeds, and ip_autobind_reuse lets a SO_REUSEADDR bind(0) share a port once the range is
//! exhausted. The range 40001-40004 with 40001-40003 reserved leaves one port, 40004, so every
//! choice is forced whatever the random draws.

mod common;

use common::{host_stack_with, root, sockaddr};

use core::time::Duration;

use stack::reserved_ports::ReservedPorts;
use stack::{Errno, Instant, SocketId, Stack, Sysctls};

const SOCK_STREAM: i32 = 1;
const SOCK_DGRAM: i32 = 2;
const SOL_SOCKET: i32 = 1;
const SO_REUSEADDR: i32 = 2;
const SO_REUSEPORT: i32 = 15;
const ANY: [u8; 4] = [0, 0, 0, 0];
const LOOPBACK: [u8; 4] = [127, 0, 0, 1];
const LAST_FREE: u16 = 40004;

fn stack_with(seed: u64, autobind_reuse: bool) -> Stack {
    let sysctls = Sysctls {
        ip_local_port_range: (40001, 40004),
        ip_local_reserved_ports: ReservedPorts::parse("40001-40003\n").unwrap(),
        ip_autobind_reuse: autobind_reuse,
        ..Default::default()
    };
    host_stack_with(seed, sysctls)
}

fn now() -> Instant {
    Instant::ZERO + Duration::from_secs(1)
}

fn socket(stack: &mut Stack, kind: i32, options: &[i32]) -> SocketId {
    let id = stack.socket(kind, 0, root()).unwrap();
    for &option in options {
        stack
            .setsockopt(now(), id, SOL_SOCKET, option, &1i32.to_ne_bytes())
            .unwrap();
    }
    id
}

/// bind(0.0.0.0:0): the port chosen, or the error.
fn bind_any(stack: &mut Stack, id: SocketId) -> Result<u16, Errno> {
    stack.bind(id, &sockaddr(ANY, 0))?;
    Ok(stack.local_addr(id).unwrap().port())
}

#[test]
fn tcp_autobind_skips_reserved_ports() {
    for seed in 1..6 {
        let mut stack = stack_with(seed, false);
        let first = socket(&mut stack, SOCK_STREAM, &[]);
        assert_eq!(bind_any(&mut stack, first), Ok(LAST_FREE));
        let second = socket(&mut stack, SOCK_STREAM, &[]);
        assert_eq!(bind_any(&mut stack, second), Err(Errno::EADDRINUSE));
        // listen() on an unbound socket: inet_csk_listen_start's EADDRINUSE.
        let third = socket(&mut stack, SOCK_STREAM, &[]);
        assert_eq!(stack.listen(third, 1), Err(Errno::EADDRINUSE));
        // A reserved port is only kept from the automatic choice.
        let explicit = socket(&mut stack, SOCK_STREAM, &[]);
        assert_eq!(stack.bind(explicit, &sockaddr(ANY, 40002)), Ok(()));
        stack.listen(explicit, 8).unwrap();
        // connect() never shares a port bind() took: no port left.
        let client = socket(&mut stack, SOCK_STREAM, &[]);
        assert_eq!(
            stack.connect(now(), client, &sockaddr(LOOPBACK, 40002)),
            Err(Errno::EADDRNOTAVAIL)
        );
        stack.close(now(), first);
        let client = socket(&mut stack, SOCK_STREAM, &[]);
        assert_eq!(
            stack.connect(now(), client, &sockaddr(LOOPBACK, 40002)),
            Err(Errno::EINPROGRESS)
        );
        assert_eq!(stack.local_addr(client).unwrap().port(), LAST_FREE);
    }
}

#[test]
fn udp_autobind_skips_reserved_ports() {
    for seed in 1..6 {
        let mut stack = stack_with(seed, false);
        let first = socket(&mut stack, SOCK_DGRAM, &[]);
        assert_eq!(bind_any(&mut stack, first), Ok(LAST_FREE));
        let second = socket(&mut stack, SOCK_DGRAM, &[]);
        assert_eq!(bind_any(&mut stack, second), Err(Errno::EADDRINUSE));
        // inet_autobind's EAGAIN from connect().
        let third = socket(&mut stack, SOCK_DGRAM, &[]);
        assert_eq!(
            stack.connect(now(), third, &sockaddr(LOOPBACK, 9)),
            Err(Errno::EAGAIN)
        );
        let explicit = socket(&mut stack, SOCK_DGRAM, &[]);
        assert_eq!(stack.bind(explicit, &sockaddr(ANY, 40001)), Ok(()));
    }
}

#[test]
fn autobind_reuse_shares_a_reuseaddr_port_once_the_range_is_exhausted() {
    for seed in 1..6 {
        // Off: the search is never relaxed.
        let mut stack = stack_with(seed, false);
        let first = socket(&mut stack, SOCK_STREAM, &[SO_REUSEADDR]);
        assert_eq!(bind_any(&mut stack, first), Ok(LAST_FREE));
        let second = socket(&mut stack, SOCK_STREAM, &[SO_REUSEADDR]);
        assert_eq!(bind_any(&mut stack, second), Err(Errno::EADDRINUSE));

        let mut stack = stack_with(seed, true);
        let first = socket(&mut stack, SOCK_STREAM, &[SO_REUSEADDR]);
        assert_eq!(bind_any(&mut stack, first), Ok(LAST_FREE));
        let second = socket(&mut stack, SOCK_STREAM, &[SO_REUSEADDR]);
        assert_eq!(bind_any(&mut stack, second), Ok(LAST_FREE));
        // Without SO_REUSEADDR on the new socket, no sharing.
        let plain = socket(&mut stack, SOCK_STREAM, &[]);
        assert_eq!(bind_any(&mut stack, plain), Err(Errno::EADDRINUSE));
        // SO_REUSEPORT on both sides is a conflict in the relaxed pass (reuseport_ok false).
        let mut both = stack_with(seed, true);
        let a = socket(&mut both, SOCK_STREAM, &[SO_REUSEADDR, SO_REUSEPORT]);
        assert_eq!(bind_any(&mut both, a), Ok(LAST_FREE));
        let b = socket(&mut both, SOCK_STREAM, &[SO_REUSEADDR, SO_REUSEPORT]);
        assert_eq!(bind_any(&mut both, b), Err(Errno::EADDRINUSE));
        // A listening holder is never shared.
        stack.close(now(), second);
        stack.listen(first, 4).unwrap();
        let third = socket(&mut stack, SOCK_STREAM, &[SO_REUSEADDR]);
        assert_eq!(bind_any(&mut stack, third), Err(Errno::EADDRINUSE));
        // listen() on an unbound SO_REUSEADDR socket autobinds through the same search.
        let unbound = socket(&mut stack, SOCK_STREAM, &[SO_REUSEADDR]);
        assert_eq!(stack.listen(unbound, 1), Err(Errno::EADDRINUSE));
    }
}

/// ip_autobind_reuse is TCP's: UDP's bind(0) shares a port between SO_REUSEADDR sockets with
/// or without it (udp_lib_lport_inuse).
#[test]
fn udp_reuseaddr_shares_without_autobind_reuse() {
    let mut stack = stack_with(7, false);
    let first = socket(&mut stack, SOCK_DGRAM, &[SO_REUSEADDR]);
    assert_eq!(bind_any(&mut stack, first), Ok(LAST_FREE));
    let second = socket(&mut stack, SOCK_DGRAM, &[SO_REUSEADDR]);
    assert_eq!(bind_any(&mut stack, second), Ok(LAST_FREE));
}
