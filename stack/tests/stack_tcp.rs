//! TCP through the public `Stack` API (the dispatch by id, loopback inside the call, timers
//! joined into poll_at/handle_timeout, frames out through IPv4): what the shim relies on.

mod common;

use common::{root, sockaddr};

use core::time::Duration;

use stack::socket::poll_bits::{POLLHUP, POLLIN, POLLOUT, POLLRDHUP};
use stack::{Errno, Instant, RecvArgs, SendArgs, Shutdown, Stack};

const SOCK_STREAM: i32 = 1;

fn send(stack: &mut Stack, now: Instant, id: stack::SocketId, data: &[u8]) -> Result<usize, Errno> {
    stack.send(
        now,
        id,
        SendArgs {
            data,
            dest: None,
            control: &[],
            flags: 0,
        },
    )
}

fn recv(stack: &mut Stack, now: Instant, id: stack::SocketId) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; 65536];
    let result = stack.recv(
        now,
        id,
        RecvArgs {
            capacity: buf.len(),
            control_capacity: 0,
            flags: 0,
        },
        &mut buf,
    )?;
    buf.truncate(result.len);
    Ok(buf)
}

#[test]
fn loopback_connection_completes_inside_the_calls() {
    for address in [[127, 0, 0, 1], [198, 18, 0, 2]] {
        let mut stack = common::host_stack(7);
        let now = Instant::ZERO + Duration::from_secs(1);
        let listener = stack.socket(SOCK_STREAM, 0, root()).unwrap();
        stack.bind(listener, &sockaddr(address, 5000)).unwrap();
        stack.listen(listener, 4).unwrap();
        assert_eq!(stack.accept(listener), Err(Errno::EAGAIN));

        let client = stack.socket(SOCK_STREAM, 0, root()).unwrap();
        assert_eq!(
            stack.connect(now, client, &sockaddr(address, 5000)),
            Err(Errno::EINPROGRESS)
        );
        // The handshake ran on the loopback queue before connect returned.
        assert!(!stack.connecting(client));
        assert_eq!(stack.connect(now, client, &sockaddr(address, 5000)), Ok(()));
        assert_eq!(
            stack.connect(now, client, &sockaddr(address, 5000)),
            Err(Errno::EISCONN)
        );
        assert_ne!(stack.poll(listener) & POLLIN, 0);
        let (server, peer) = stack.accept(listener).unwrap();
        assert_eq!(peer, stack.local_addr(client).unwrap());
        assert_eq!(stack.peer_addr(server).unwrap(), peer);

        assert_eq!(send(&mut stack, now, client, b"hello"), Ok(5));
        assert_eq!(recv(&mut stack, now, server).unwrap(), b"hello");
        assert_eq!(recv(&mut stack, now, server), Err(Errno::EAGAIN));
        // SIOCINQ / SIOCOUTQ through the Stack's ioctl.
        assert_eq!(send(&mut stack, now, server, b"back"), Ok(4));
        let inq = stack.ioctl(client, 0x541B, Default::default()).unwrap();
        assert_eq!(i32::from_ne_bytes(inq.try_into().unwrap()), 4);
        let outq = stack.ioctl(server, 0x5411, Default::default()).unwrap();
        assert_eq!(i32::from_ne_bytes(outq.try_into().unwrap()), 0);

        stack.shutdown(now, client, Shutdown::Write).unwrap();
        let mask = stack.poll(server);
        assert_ne!(mask & POLLRDHUP, 0);
        assert_eq!(stack.poll(client) & (POLLOUT | POLLHUP), POLLOUT);
        stack.close(now, server);
        assert_ne!(stack.poll(client) & POLLHUP, 0);
        assert_eq!(recv(&mut stack, now, client).unwrap(), b"back");
        assert_eq!(recv(&mut stack, now, client).unwrap(), b"");
        // The client closed first's counterpart: TIME_WAIT is on the client's side, whose
        // timer is the stack's next deadline.
        stack.close(now, client);
        stack.close(now, listener);
        let deadline = stack.poll_at().expect("TIME_WAIT keeps a timer");
        stack.handle_timeout(deadline);
        assert!(!stack.tcp_unfinished());
    }
}

#[test]
fn refused_and_wrong_state_calls() {
    let mut stack = common::host_stack(8);
    let now = Instant::ZERO + Duration::from_secs(1);
    let client = stack.socket(SOCK_STREAM, 0, root()).unwrap();
    assert_eq!(send(&mut stack, now, client, b"x"), Err(Errno::EPIPE));
    assert_eq!(recv(&mut stack, now, client), Err(Errno::ENOTCONN));
    assert_eq!(stack.accept(client), Err(Errno::EINVAL));
    assert_eq!(
        stack.connect(now, client, &sockaddr([127, 0, 0, 1], 5001)),
        Err(Errno::EINPROGRESS)
    );
    assert!(!stack.connecting(client));
    assert_eq!(
        stack.connect(now, client, &sockaddr([127, 0, 0, 1], 5001)),
        Err(Errno::ECONNREFUSED)
    );
    // A UDP socket keeps answering as before.
    let udp = stack.socket(2, 0, root()).unwrap();
    assert_eq!(stack.listen(udp, 1), Err(Errno::EOPNOTSUPP));
    assert_eq!(stack.accept(udp), Err(Errno::EOPNOTSUPP));
}

#[test]
fn a_syn_to_the_wire_arms_the_retransmission_timer() {
    let mut stack = common::host_stack(9);
    let now = Instant::ZERO + Duration::from_secs(1);
    let client = stack.socket(SOCK_STREAM, 0, root()).unwrap();
    assert_eq!(
        stack.connect(now, client, &sockaddr([198, 18, 0, 1], 7)),
        Err(Errno::EINPROGRESS)
    );
    assert!(stack.connecting(client));
    // The peer's MAC is unknown: the SYN waits behind an ARP request.
    let frame = stack.poll_transmit(now).expect("an ARP request");
    assert_eq!(&frame[12..14], &[0x08, 0x06]);
    let at = stack.poll_at().expect("ARP and SYN timers");
    assert!(at > now);
    assert_eq!(stack.poll(client) & POLLOUT, 0);
}
