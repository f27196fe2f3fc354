//! Packet scripts for the delayed-ACK engine (`stack/src/tcp/delayed_ack.rs`): quick-ACK
//! mode, pingpong mode entered by a reply sent within the ACK timeout, the delayed-ACK timer
//! (on a jiffy boundary, leaving pingpong mode), TCP_QUICKACK, tcpi_ato, the ACK of a SYN-ACK
//! held back in pingpong mode, SACK compression, and the IP id of the control socket's
//! resets. Each expectation is the rule of the kernel function named beside it.

mod tcp_harness;

/// Named `tcp` so `cargo test -p ipshim-stack tcp` selects every script here.
mod tcp {
    use super::tcp_harness::*;

    const SOL_TCP: i32 = 6;
    const TCP_QUICKACK: i32 = 12;

    /// The host sends a request, the peer ACKs it and replies; returns the peer's next
    /// sequence number.
    fn request_reply(
        script: &mut Script,
        id: stack::socket::SocketId,
        our_next: &mut u32,
        peer_next: u32,
        port: u16,
    ) -> u32 {
        assert_eq!(script.send(id, b"req"), Ok(3));
        let request = script.sent_one();
        assert_eq!(request.payload, b"req");
        *our_next = our_next.wrapping_add(3);
        script.deliver(
            &PeerSegment::new(ACK | PSH, peer_next, *our_next)
                .addressed_to(port)
                .data(b"rsp"),
        );
        peer_next.wrapping_add(3)
    }

    /// An established connection after two request/reply rounds 1 ms apart: the first
    /// reply is acknowledged at once (quick ACKs), the second's ACK is held back (pingpong
    /// mode). Returns (socket, our next, peer next, port), as `established` does.
    fn delaying_acks(script: &mut Script) -> (stack::socket::SocketId, u32, u32, u16) {
        let (id, mut our_next, mut peer_next, port) = established(script);
        peer_next = request_reply(script, id, &mut our_next, peer_next, port);
        script.sent_one();
        script.recv(id, 10).unwrap();
        script.advance(1);
        peer_next = request_reply(script, id, &mut our_next, peer_next, port);
        assert!(script.sent().is_empty());
        (id, our_next, peer_next, port)
    }

    #[test]
    fn a_reply_within_the_ack_timeout_enters_pingpong_mode() {
        let mut script = Script::new();
        let (id, mut our_next, mut peer_next, port) = established(&mut script);
        // tcp_event_data_recv: the first data starts quick-ACK mode.
        peer_next = request_reply(&mut script, id, &mut our_next, peer_next, port);
        assert_eq!(
            script.sent_one().ack,
            peer_next,
            "quick ACK of the first reply"
        );
        assert_eq!(script.recv(id, 10).unwrap(), b"rsp");
        // tcp_event_data_sent: a request 1 ms after the reply counts as interactive.
        script.advance(1);
        peer_next = request_reply(&mut script, id, &mut our_next, peer_next, port);
        assert!(script.sent().is_empty(), "pingpong: the reply's ACK waits");
        assert_eq!(script.getsockopt_int(id, SOL_TCP, TCP_QUICKACK), Ok(0));
        assert_eq!(script.recv(id, 10).unwrap(), b"rsp");
        assert!(
            script.sent().is_empty(),
            "a read in pingpong mode does not ACK"
        );
        // The next request carries it.
        script.advance(2);
        assert_eq!(script.send(id, b"req"), Ok(3));
        let request = script.sent_one();
        assert_eq!(request.payload, b"req");
        assert_eq!(request.ack, peer_next);
        our_next = our_next.wrapping_add(3);
        script.deliver(&PeerSegment::new(ACK, peer_next, our_next).addressed_to(port));
        // Nothing is owed: no ACK follows later.
        script.advance(500);
        assert!(script.sent().is_empty());
    }

    #[test]
    fn the_timer_fires_on_a_jiffy_and_leaves_pingpong_mode() {
        let mut script = Script::new();
        let (id, _, peer_next, _) = delaying_acks(&mut script);
        // ato is TCP_ATO_MIN, 10 jiffies: the timer is due at the 10th tick (the reply came
        // 1 ms after a tick, so 39 ms later).
        script.advance(38);
        assert!(script.sent().is_empty());
        script.advance(1);
        assert_eq!(script.sent_one().ack, peer_next);
        // tcp_delack_timer_handler: "Delayed ACK missed: leave pingpong mode".
        assert_eq!(script.getsockopt_int(id, SOL_TCP, TCP_QUICKACK), Ok(1));
        // tcpi_ato: 40 ms.
        let info = script.tcp_info(id, 104);
        assert_eq!(u32_at(&info, 12), 40_000);
    }

    #[test]
    fn tcpi_ato_is_zero_before_data_and_the_fin_is_acked_at_the_next_tick() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        assert_eq!(u32_at(&script.tcp_info(id, 104), 12), 0);
        // tcp_fin: pingpong mode; ato 0 makes the timer due at once (the next tick).
        script.advance(1);
        script.deliver(&PeerSegment::new(FIN | ACK, peer_next, our_next).addressed_to(port));
        assert!(script.sent().is_empty());
        script.advance(3);
        assert_eq!(script.sent_one().ack, peer_next + 1);
    }

    #[test]
    fn quickack_zero_before_connect_holds_the_handshake_ack() {
        let mut script = Script::new();
        let id = script.socket();
        script.setsockopt_int(id, SOL_TCP, TCP_QUICKACK, 0).unwrap();
        assert_eq!(script.getsockopt_int(id, SOL_TCP, TCP_QUICKACK), Ok(0));
        assert_eq!(
            script.connect(id, PEER_PORT),
            Err(stack::Errno::EINPROGRESS)
        );
        let syn = script.sent_one();
        script.deliver(
            &PeerSegment::new(SYN | ACK, 7000, syn.seq.wrapping_add(1))
                .addressed_to(syn.source_port)
                .mss_only(),
        );
        // tcp_rcv_synsent_state_process: "Save one ACK": it waits up to TCP_DELACK_MAX and
        // tcp_enter_quickack_mode leaves pingpong mode.
        assert!(script.sent().is_empty());
        assert_eq!(script.getsockopt_int(id, SOL_TCP, TCP_QUICKACK), Ok(1));
        // Data sent meanwhile carries it.
        assert_eq!(script.send(id, b"hello"), Ok(5));
        let data = script.sent_one();
        assert!(data.is(ACK | PSH));
        assert_eq!(data.ack, 7001);
        script.deliver(
            &PeerSegment::new(ACK, 7001, syn.seq.wrapping_add(6)).addressed_to(syn.source_port),
        );
        script.advance(300);
        assert!(script.sent().is_empty());

        // Without data it leaves 200 ms later.
        let mut script = Script::new();
        let id = script.socket();
        script.setsockopt_int(id, SOL_TCP, TCP_QUICKACK, 0).unwrap();
        let _ = script.connect(id, PEER_PORT);
        let syn = script.sent_one();
        script.deliver(
            &PeerSegment::new(SYN | ACK, 7000, syn.seq.wrapping_add(1))
                .addressed_to(syn.source_port)
                .mss_only(),
        );
        script.advance(199);
        assert!(script.sent().is_empty());
        script.advance(1);
        assert_eq!(script.sent_one().ack, 7001);
    }

    #[test]
    fn an_even_quickack_value_sends_the_ack_and_stays_in_pingpong_mode() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        script.setsockopt_int(id, SOL_TCP, TCP_QUICKACK, 0).unwrap();
        script.deliver(
            &PeerSegment::new(ACK | PSH, peer_next, our_next)
                .addressed_to(port)
                .data(b"data"),
        );
        assert!(script.sent().is_empty());
        script.recv(id, 10).unwrap();
        // __tcp_sock_set_quickack(2): the owed ACK goes, then "if (!(val & 1))
        // inet_csk_enter_pingpong_mode(sk)".
        script.setsockopt_int(id, SOL_TCP, TCP_QUICKACK, 2).unwrap();
        assert_eq!(script.sent_one().ack, peer_next + 4);
        assert_eq!(script.getsockopt_int(id, SOL_TCP, TCP_QUICKACK), Ok(0));
    }

    #[test]
    fn an_old_segment_restarts_quick_ack_mode() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = delaying_acks(&mut script);
        assert_eq!(script.getsockopt_int(id, SOL_TCP, TCP_QUICKACK), Ok(0));
        // The reply again: our ACK was lost. tcp_data_queue: "A retransmit, 2nd most common
        // case. Force an immediate ack." (tcp_enter_quickack_mode leaves pingpong mode.)
        script.deliver(
            &PeerSegment::new(ACK | PSH, peer_next.wrapping_sub(3), our_next)
                .addressed_to(port)
                .data(b"rsp"),
        );
        assert_eq!(script.sent_one().ack, peer_next);
        assert_eq!(script.getsockopt_int(id, SOL_TCP, TCP_QUICKACK), Ok(1));
    }

    #[test]
    fn sacks_for_out_of_order_data_are_compressed_after_three() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established_with_sack(&mut script);
        // Leave quick-ACK mode: pingpong keeps in-order ACKs delayed, which does not matter
        // for the out-of-order ones (they go through the SACK path).
        script.setsockopt_int(id, SOL_TCP, TCP_QUICKACK, 0).unwrap();
        let segment = |seq: u32| {
            PeerSegment::new(ACK, seq, our_next)
                .addressed_to(port)
                .timestamps(10, 0)
                .data(&[5; 100])
        };
        // The first segment is lost; the next three are each SACKed at once
        // (tp->dup_ack_counter < TCP_FASTRETRANS_THRESH).
        for n in 1..=3u32 {
            script.deliver(&segment(peer_next + n * 100));
            let sack = script.sent_one();
            assert_eq!(sack.ack, peer_next);
            assert_eq!(
                sack.sacks,
                vec![(peer_next + 100, peer_next + 100 + n * 100)]
            );
        }
        // The fourth and fifth wait for the compression timer (at most
        // tcp_comp_sack_delay_ns, 1 ms).
        script.deliver(&segment(peer_next + 400));
        script.deliver(&segment(peer_next + 500));
        assert!(script.sent().is_empty());
        script.advance(1);
        let sack = script.sent_one();
        assert_eq!(sack.sacks, vec![(peer_next + 100, peer_next + 600)]);
        // Filling the hole is ACKed at once (ICSK_ACK_NOW).
        script.deliver(&segment(peer_next));
        assert_eq!(script.sent_one().ack, peer_next + 600);
    }

    #[test]
    fn a_reset_for_a_closed_port_comes_from_the_control_socket() {
        let mut script = Script::new();
        script.deliver(
            &PeerSegment::new(SYN, 300, 0)
                .coming_from(40000)
                .addressed_to(5999),
        );
        let reset = script.tcp.take_queued();
        assert_eq!(reset.len(), 1);
        // tcp_v4_send_reset → ip_send_unicast_reply on the unconnected IP_PMTUDISC_DO control
        // socket: the network layer gives it DF and id 0.
        assert_eq!(reset[0].ident, None);
    }

    #[test]
    fn a_request_socket_answers_through_the_control_socket() {
        let mut script = Script::new();
        script.listening_on(6000, 4);
        let syn_ack = script.peer_sends_syn(6000);
        assert!(syn_ack.is(SYN | ACK));
        // Data far beyond the window before the handshake ends: tcp_check_req answers with
        // tcp_v4_reqsk_send_ack, the control socket's ACK (DF, id 0).
        script.deliver(
            &PeerSegment::new(ACK, PEER_CLIENT_ISS + 1 + 10_000_000, syn_ack.seq + 1)
                .addressed_to(6000)
                .data(b"far"),
        );
        let answer = script.tcp.take_queued();
        assert_eq!(answer.len(), 1);
        assert_eq!(answer[0].ident, None);
        // Once established, the connection's own counter.
        script.peer_acks_syn_ack(6000, &syn_ack);
        script.deliver(
            &PeerSegment::new(ACK | PSH, PEER_CLIENT_ISS + 1, syn_ack.seq + 1)
                .addressed_to(6000)
                .data(b"near"),
        );
        let ack = script.tcp.take_queued();
        assert_eq!(ack.len(), 1);
        assert!(ack[0].ident.is_some());
    }
}
