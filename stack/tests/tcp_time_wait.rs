//! TIME_WAIT records as Linux keeps them (tcp_time_wait, tcp_timewait_state_process): the
//! window their ACKs carry (tw_rcv_wnd, what was left of the last window offered), the
//! control socket's IP id, and the FIN_WAIT2 substate an orphan enters as soon as its FIN is
//! acked (tcp_rcv_state_process, FIN_WAIT1; tcp_close in FIN_WAIT2). Measured on the wire by
//! ctests/cases/tcp_time_wait_window.c.

mod tcp_harness;

mod tcp {
    use super::tcp_harness::*;

    const SOL_TCP: i32 = 6;
    const TCP_LINGER2: i32 = 8;

    /// One segment queued; returns it parsed and its IP id choice (None: the control
    /// socket's DF and id 0).
    fn sent_with_ident(script: &mut Script) -> (Sent, Option<u16>) {
        let queued = script.tcp.take_queued();
        assert_eq!(queued.len(), 1, "expected one segment");
        (Sent::parse(&queued[0]), queued[0].ident)
    }

    /// The peer sends 3 bytes and the stack ACKs them: the window it offers is no longer the
    /// initial one, so a window computed anew (one byte less after the FIN) shows.
    fn receive_a_little(
        script: &mut Script,
        id: stack::socket::SocketId,
        peer: u32,
        ours: u32,
        port: u16,
    ) {
        script.deliver(
            &PeerSegment::new(ACK | PSH, peer, ours)
                .addressed_to(port)
                .data(b"abc"),
        );
        script.advance(200);
        let _ = script.sent();
        assert_eq!(script.recv(id, 100).unwrap(), b"abc");
    }

    #[test]
    fn an_orphan_whose_fin_is_acked_answers_the_peer_fin_from_a_record() {
        let mut script = Script::new();
        let (id, ours, peer, port) = established(&mut script);
        receive_a_little(&mut script, id, peer, ours, port);
        let fin = script.close_sending_fin(id);
        // The peer ACKs the FIN alone: FIN_WAIT2 substate record.
        script.deliver(&PeerSegment::new(ACK, peer + 3, ours + 1).addressed_to(port));
        assert!(script.sent().is_empty());
        script.deliver(&PeerSegment::new(FIN | ACK, peer + 3, ours + 1).addressed_to(port));
        let (ack, ident) = sent_with_ident(&mut script);
        assert!(ack.is(ACK) && !ack.is(FIN));
        assert_eq!((ack.seq, ack.ack), (ours + 1, peer + 4));
        // tw_rcv_wnd: the FIN's window, not one byte less as a full socket would offer.
        assert_eq!(ack.window, fin.window);
        assert_eq!(ident, None);
        // A retransmitted FIN: the same answer from the true TIME_WAIT.
        script.advance(1_000);
        script.deliver(&PeerSegment::new(FIN | ACK, peer + 3, ours + 1).addressed_to(port));
        let (again, ident) = sent_with_ident(&mut script);
        assert_eq!(
            (again.seq, again.ack, again.window),
            (ours + 1, peer + 4, fin.window)
        );
        assert_eq!(ident, None);
    }

    #[test]
    fn a_half_closed_socket_acks_the_fin_itself_and_the_record_repeats_its_window() {
        let mut script = Script::new();
        let (id, ours, peer, port) = established(&mut script);
        receive_a_little(&mut script, id, peer, ours, port);
        let fin = script.shutdown_sending_fin(id);
        script.deliver(&PeerSegment::new(ACK, peer + 3, ours + 1).addressed_to(port));
        assert!(script.sent().is_empty());
        script.deliver(&PeerSegment::new(FIN | ACK, peer + 3, ours + 1).addressed_to(port));
        let (ack, ident) = sent_with_ident(&mut script);
        // tcp_fin → tcp_send_ack from the full socket: its own IP id, and the offered right
        // edge kept (the FIN took one byte of it).
        assert!(ident.is_some());
        assert_eq!(ack.window, fin.window - 1);
        script.advance(1_000);
        script.deliver(&PeerSegment::new(FIN | ACK, peer + 3, ours + 1).addressed_to(port));
        let (again, ident) = sent_with_ident(&mut script);
        assert_eq!(again.window, ack.window);
        assert_eq!(ident, None);
    }

    #[test]
    fn close_in_fin_wait2_becomes_a_record() {
        let mut script = Script::new();
        let (id, ours, peer, port) = established(&mut script);
        script.shutdown_sending_fin(id);
        script.deliver(&PeerSegment::new(ACK, peer, ours + 1).addressed_to(port));
        script.tcp.close(script.now, id);
        assert!(script.sent().is_empty());
        script.deliver(&PeerSegment::new(FIN | ACK, peer, ours + 1).addressed_to(port));
        let (ack, ident) = sent_with_ident(&mut script);
        assert_eq!((ack.seq, ack.ack), (ours + 1, peer + 1));
        assert_eq!(ident, None);
    }

    #[test]
    fn the_fin_wait2_record_resets_a_syn_and_acks_out_of_window() {
        let mut script = Script::new();
        let (id, ours, peer, port) = established(&mut script);
        script.close_sending_fin(id);
        script.deliver(&PeerSegment::new(ACK, peer, ours + 1).addressed_to(port));
        // Beyond the window: an ACK (tcp_timewait_check_oow_rate_limit).
        script.deliver(
            &PeerSegment::new(ACK, peer.wrapping_add(1_000_000), ours + 1).addressed_to(port),
        );
        let (ack, ident) = sent_with_ident(&mut script);
        assert_eq!((ack.seq, ack.ack), (ours + 1, peer));
        assert_eq!(ident, None);
        // A SYN at RCV.NXT: TCP_TW_RST, and the record is gone.
        script.deliver(&PeerSegment::new(SYN, peer, 0).addressed_to(port));
        let reset = script.sent_one();
        assert!(reset.is(RST | ACK), "{reset:?}");
        assert_eq!(reset.ack, peer + 1);
        script.deliver(&PeerSegment::new(FIN | ACK, peer, ours + 1).addressed_to(port));
        assert!(script.sent_one().is(RST));
    }

    #[test]
    fn the_fin_wait2_record_lasts_tcp_fin_time() {
        let mut script = Script::new();
        let (id, ours, peer, port) = established(&mut script);
        script.close_sending_fin(id);
        script.deliver(&PeerSegment::new(ACK, peer, ours + 1).addressed_to(port));
        // A duplicate ACK neither answers nor extends the wait.
        script.advance(30_000);
        script.deliver(&PeerSegment::new(ACK, peer, ours + 1).addressed_to(port));
        assert!(script.sent().is_empty());
        script.advance(30_100);
        script.deliver(&PeerSegment::new(FIN | ACK, peer, ours + 1).addressed_to(port));
        assert!(script.sent_one().is(RST));
    }

    #[test]
    fn a_fin_wait2_longer_than_time_wait_stays_on_the_socket() {
        let mut script = Script::new();
        let (id, ours, peer, port) = established(&mut script);
        script
            .setsockopt_int(id, SOL_TCP, TCP_LINGER2, 120)
            .unwrap();
        script.close_sending_fin(id);
        script.deliver(&PeerSegment::new(ACK, peer, ours + 1).addressed_to(port));
        script.deliver(&PeerSegment::new(FIN | ACK, peer, ours + 1).addressed_to(port));
        // tcp_fin_time > TCP_TIMEWAIT_LEN: the full socket ACKs (its own IP id).
        let (ack, ident) = sent_with_ident(&mut script);
        assert_eq!(ack.ack, peer + 1);
        assert!(ident.is_some());
    }
}
