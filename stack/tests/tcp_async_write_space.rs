//! The O_ASYNC write-space signal (sock_wake_async(SOCK_WAKE_SPACE, POLL_OUT)) in virtual
//! time: it fires only when SOCKWQ_ASYNC_NOSPACE is set, and tcp_poll sets that bit when it
//! finds the socket unwritable, not only a send that ran out of room. TCP_NOTSENT_LOWAT 1 with
//! TCP_CORK makes a socket unwritable after one send that is taken whole.

mod tcp_harness;

/// Named `tcp` so `cargo test -p ipshim-stack tcp` selects every script here.
mod tcp {
    use super::tcp_harness::*;
    use stack::socket::poll_bits::*;
    use stack::socket::Shutdown;

    const SOL_TCP: i32 = 6;
    const TCP_CORK: i32 = 3;
    const TCP_NOTSENT_LOWAT: i32 = 25;

    /// An established socket that one corked 10-byte send left unwritable (nothing was sent):
    /// (socket, our next sequence number, the peer's, our port).
    fn unwritable_after_a_corked_send(script: &mut Script) -> (stack::SocketId, u32, u32, u16) {
        let (id, our_next, peer_next, port) = established(script);
        script
            .setsockopt_int(id, SOL_TCP, TCP_NOTSENT_LOWAT, 1)
            .unwrap();
        script.setsockopt_int(id, SOL_TCP, TCP_CORK, 1).unwrap();
        assert_eq!(script.send(id, b"0123456789"), Ok(10));
        assert!(script.sent().is_empty());
        (id, our_next, peer_next, port)
    }

    /// Uncorking sends the 10 bytes and the peer acknowledges them: sk_stream_write_space
    /// finds the socket writable again. Returns the O_ASYNC POLL_OUT notices it made.
    fn uncork_and_ack(
        script: &mut Script,
        id: stack::SocketId,
        our_next: u32,
        peer_next: u32,
        port: u16,
    ) -> u64 {
        let before = script.tcp.async_notices(id).output;
        script.setsockopt_int(id, SOL_TCP, TCP_CORK, 0).unwrap();
        let data = script.sent_one();
        assert_eq!(data.payload.len(), 10);
        script.deliver(
            &PeerSegment::new(ACK, peer_next, our_next.wrapping_add(10)).addressed_to(port),
        );
        assert_ne!(script.tcp.poll(id) & POLLOUT, 0);
        script.tcp.async_notices(id).output - before
    }

    #[test]
    fn write_space_is_silent_when_nobody_looked() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = unwritable_after_a_corked_send(&mut script);
        // A plain readiness check (the stack's own, e.g. a send's) arms nothing.
        assert_eq!(script.tcp.poll(id) & POLLOUT, 0);
        assert_eq!(
            uncork_and_ack(&mut script, id, our_next, peer_next, port),
            0
        );
    }

    #[test]
    fn a_poll_that_found_it_unwritable_arms_one_signal() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = unwritable_after_a_corked_send(&mut script);
        assert_eq!(script.tcp.poll_from_user(id) & POLLOUT, 0);
        assert_eq!(
            uncork_and_ack(&mut script, id, our_next, peer_next, port),
            1
        );
        // The signal cleared the bit: the next write space is silent again.
        script.setsockopt_int(id, SOL_TCP, TCP_CORK, 1).unwrap();
        assert_eq!(script.send(id, b"abcdefghij"), Ok(10));
        let next = our_next.wrapping_add(10);
        assert_eq!(uncork_and_ack(&mut script, id, next, peer_next, port), 0);
    }

    #[test]
    fn a_poll_of_a_writable_socket_arms_nothing() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        assert_ne!(script.tcp.poll_from_user(id) & POLLOUT, 0);
        assert_eq!(script.send(id, b"0123456789"), Ok(10));
        assert_eq!(script.sent_one().payload.len(), 10);
        let before = script.tcp.async_notices(id).output;
        script.deliver(
            &PeerSegment::new(ACK, peer_next, our_next.wrapping_add(10)).addressed_to(port),
        );
        assert_eq!(script.tcp.async_notices(id).output, before);
    }

    #[test]
    fn the_bit_waits_until_the_unsent_bytes_fall_under_the_low_water_mark() {
        // sk_stream_write_space asks __sk_stream_is_writeable(sk, 1): an ACK that frees
        // buffer while bytes stay unsent (still corked) signals nothing and keeps the bit.
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        script
            .setsockopt_int(id, SOL_TCP, TCP_NOTSENT_LOWAT, 1)
            .unwrap();
        assert_eq!(script.send(id, b"sent"), Ok(4));
        assert_eq!(script.sent_one().payload.len(), 4);
        script.setsockopt_int(id, SOL_TCP, TCP_CORK, 1).unwrap();
        assert_eq!(script.send(id, b"held"), Ok(4));
        assert_eq!(script.tcp.poll_from_user(id) & POLLOUT, 0);
        let connected = script.tcp.async_notices(id).output;
        script.deliver(
            &PeerSegment::new(ACK, peer_next, our_next.wrapping_add(4)).addressed_to(port),
        );
        assert!(script.sent().is_empty(), "still corked");
        assert_eq!(script.tcp.poll(id) & POLLOUT, 0, "still unwritable");
        assert_eq!(script.tcp.async_notices(id).output, connected);
        let next = our_next.wrapping_add(4);
        assert_eq!(
            uncork_and_ack_bytes(&mut script, id, next, peer_next, port, 4),
            1
        );
    }

    fn uncork_and_ack_bytes(
        script: &mut Script,
        id: stack::SocketId,
        our_next: u32,
        peer_next: u32,
        port: u16,
        len: usize,
    ) -> u64 {
        let before = script.tcp.async_notices(id).output;
        script.setsockopt_int(id, SOL_TCP, TCP_CORK, 0).unwrap();
        assert_eq!(script.sent_one().payload.len(), len);
        script.deliver(
            &PeerSegment::new(ACK, peer_next, our_next.wrapping_add(len as u32)).addressed_to(port),
        );
        script.tcp.async_notices(id).output - before
    }

    #[test]
    fn after_shut_wr_poll_reports_pollout_and_arms_nothing() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = unwritable_after_a_corked_send(&mut script);
        let now = script.now;
        script.tcp.shutdown(now, id, Shutdown::Write).unwrap();
        let fin = script.sent_one();
        assert!(fin.is(FIN | PSH | ACK), "{fin:?}");
        assert_eq!(fin.payload.len(), 10);
        assert_ne!(script.tcp.poll_from_user(id) & POLLOUT, 0);
        let connected = script.tcp.async_notices(id).output;
        script.deliver(
            &PeerSegment::new(ACK, peer_next, our_next.wrapping_add(11)).addressed_to(port),
        );
        assert_eq!(script.tcp.async_notices(id).output, connected);
    }

    #[test]
    fn a_connecting_socket_is_not_armed() {
        // tcp_poll reports no writability in SYN_SENT, so it sets no bit either; the
        // connection's own POLL_OUT (tcp_finish_connect) is the only notice.
        let mut script = Script::new();
        let (id, syn) = script.connect_sending_syn(PEER_PORT);
        assert_eq!(script.tcp.poll_from_user(id) & POLLOUT, 0);
        script.deliver(
            &PeerSegment::new(SYN | ACK, 5000, syn.seq.wrapping_add(1))
                .addressed_to(syn.source_port)
                .mss_only(),
        );
        assert!(script.sent_one().is(ACK));
        assert_eq!(script.tcp.async_notices(id).output, 1);
    }
}
