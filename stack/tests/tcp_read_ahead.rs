//! What a read that already copied bytes may still take (`TcpLayer::read_ahead`) and the
//! pieces after the first of a large MSG_PEEK (`TcpLayer::peek_from`), which the shim uses
//! to copy one large receive in pieces: queued bytes up to the urgent mark, the mark
//! itself ending such a read, the FIN or an error left for the next call.

mod tcp_harness;

mod tcp_read_ahead {
    use super::tcp_harness::*;
    use stack::socket::msg_flags::MSG_PEEK;
    use stack::tcp::ReadAhead;

    const URG: u8 = 0x20;

    #[test]
    fn queued_bytes_are_what_a_read_could_take() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        assert_eq!(script.tcp.read_ahead(id), ReadAhead::default());
        script.deliver(
            &PeerSegment::new(ACK | PSH, peer_next, our_next)
                .addressed_to(port)
                .data(b"hello, world"),
        );
        let ahead = script.tcp.read_ahead(id);
        assert_eq!((ahead.queued, ahead.peekable), (12, 12));
        assert!(!ahead.at_mark && !ahead.ended);
        assert_eq!(script.recv(id, 5).unwrap(), b"hello");
        assert_eq!(script.tcp.read_ahead(id).queued, 7);
    }

    #[test]
    fn peek_from_shows_the_queue_from_an_offset_without_taking_it() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        let payload: Vec<u8> = (0..200u8).collect();
        script.deliver(
            &PeerSegment::new(ACK | PSH, peer_next, our_next)
                .addressed_to(port)
                .data(&payload),
        );
        let mut buf = [0u8; 64];
        assert_eq!(script.tcp.peek_from(id, 150, &mut buf), 50);
        assert_eq!(&buf[..50], &payload[150..]);
        assert_eq!(script.tcp.peek_from(id, 10, &mut buf[..4]), 4);
        assert_eq!(&buf[..4], &payload[10..14]);
        assert_eq!(script.tcp.peek_from(id, 200, &mut buf), 0);
        // Nothing was taken: a read still starts at the first byte.
        assert_eq!(script.recv_flags(id, 3, MSG_PEEK).unwrap(), &payload[..3]);
        assert_eq!(script.recv(id, 300).unwrap(), payload);
        assert_eq!(script.tcp.peek_from(id, 0, &mut buf), 0);
    }

    #[test]
    fn the_urgent_mark_ends_a_read_that_copied_bytes() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        // "abcdef" with urgent pointer 4: 'd' is the urgent byte, kept apart.
        let mut segment = PeerSegment::new(ACK | PSH | URG, peer_next, our_next)
            .addressed_to(port)
            .data(b"abcdef");
        segment.urgent_pointer = 4;
        script.deliver(&segment);
        // Before the mark: three bytes, for a read and for a peek.
        let ahead = script.tcp.read_ahead(id);
        assert_eq!((ahead.queued, ahead.peekable, ahead.at_mark), (3, 3, false));
        let mut buf = [0u8; 8];
        assert_eq!(script.tcp.peek_from(id, 1, &mut buf), 2);
        assert_eq!(&buf[..2], b"bc");
        assert_eq!(script.recv(id, 100).unwrap(), b"abc");
        // At the mark: a read that copied bytes stops (tcp_recvmsg_locked "if (copied)
        // break"); a peek shows what follows the urgent byte.
        let ahead = script.tcp.read_ahead(id);
        assert_eq!((ahead.queued, ahead.peekable, ahead.at_mark), (0, 2, true));
        assert_eq!(script.tcp.peek_from(id, 0, &mut buf), 2);
        assert_eq!(&buf[..2], b"ef");
        assert_eq!(script.tcp.peek_from(id, 1, &mut buf), 1);
        assert_eq!(buf[0], b'f');
        // A new read skips the urgent byte.
        assert_eq!(script.recv(id, 100).unwrap(), b"ef");
        assert!(!script.tcp.read_ahead(id).at_mark);
    }

    #[test]
    fn the_fin_ends_a_read_but_stays_for_the_next_call() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        script.deliver(
            &PeerSegment::new(ACK | PSH | FIN, peer_next, our_next)
                .addressed_to(port)
                .data(b"bye"),
        );
        let ahead = script.tcp.read_ahead(id);
        assert_eq!((ahead.queued, ahead.ended), (3, true));
        assert_eq!(script.recv(id, 100).unwrap(), b"bye");
        let ahead = script.tcp.read_ahead(id);
        assert_eq!((ahead.queued, ahead.ended), (0, true));
        // Asking changed nothing: the next read sees the end.
        assert_eq!(script.recv(id, 100).unwrap(), b"");
    }

    #[test]
    fn a_pending_error_is_left_for_the_next_call() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        script.deliver(
            &PeerSegment::new(ACK | PSH, peer_next, our_next)
                .addressed_to(port)
                .data(b"data"),
        );
        script.deliver(&PeerSegment::new(RST, peer_next + 4, 0).addressed_to(port));
        // The bytes that arrived before the reset are still read first (tcp_reset keeps
        // the receive queue); the read that takes them must stop there and leave the
        // error for the next call.
        let ahead = script.tcp.read_ahead(id);
        assert_eq!((ahead.queued, ahead.ended), (4, true));
        assert_eq!(script.recv(id, 100).unwrap(), b"data");
        let ahead = script.tcp.read_ahead(id);
        assert_eq!((ahead.queued, ahead.ended), (0, true));
        assert_eq!(script.recv(id, 100), Err(stack::Errno::ECONNRESET));
    }

    #[test]
    fn an_unknown_socket_has_ended() {
        let mut script = Script::new();
        let id = script.socket();
        let ahead = script.tcp.read_ahead(id);
        assert_eq!((ahead.queued, ahead.ended), (0, true));
        let mut buf = [0u8; 4];
        assert_eq!(script.tcp.peek_from(id, 0, &mut buf), 0);
    }
}
