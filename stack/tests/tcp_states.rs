//! Packet scripts for the TCP state machine (RFC 9293 3.3.2 figure 5 and 3.10), in virtual
//! time: "at 1.000 s the stack sends SYN; the peer answers SYN-ACK; the stack ACKs ...".
//! Expected values are Linux's (options and windows of its SYN and SYN-ACK, errno, poll bits).

mod tcp_harness;

/// Named `tcp` so `cargo test -p ipshim-stack tcp` selects every script here.
mod tcp {

    use super::tcp_harness::*;
    use stack::socket::poll_bits::*;
    use stack::socket::Shutdown;
    use stack::Errno;

    #[test]
    fn active_open_sends_linux_syn_and_completes() {
        let mut script = Script::new();
        let (id, syn) = script.connect_sending_syn(80);
        assert_eq!((syn.src, syn.dst, syn.destination_port), (OURS, PEER, 80));
        assert_eq!(syn.mss, Some(1460));
        assert_eq!(syn.window_scale, Some(7));
        assert!(syn.sack_permitted);
        assert_eq!(syn.timestamps.map(|(_, echo)| echo), Some(0));
        assert_eq!(syn.window, 64240);
        // Connect's ephemeral port is even (__inet_hash_connect prefers even ports).
        assert_eq!(syn.source_port % 2, 0);
        assert_eq!(script.connect(id, 80), Err(Errno::EALREADY));
        assert_eq!(script.tcp.poll(id) & (POLLOUT | POLLIN), 0);
        script.advance(10);
        let tsval = syn.timestamps.unwrap().0;
        script.deliver(
            &PeerSegment::new(SYN | ACK, 5000, syn.seq.wrapping_add(1))
                .coming_from(80)
                .addressed_to(syn.source_port)
                .linux_syn_options(777, tsval),
        );
        let ack = script.sent_one();
        assert!(ack.is(ACK), "{ack:?}");
        assert_eq!((ack.seq, ack.ack), (syn.seq.wrapping_add(1), 5001));
        assert_eq!(ack.timestamps.map(|(_, echo)| echo), Some(777));
        // The window is now scaled by 7.
        assert!(
            ack.window > 400 && ack.window < 512,
            "window {}",
            ack.window
        );
        assert_eq!(script.tcp.poll(id), POLLOUT | POLLWRNORM);
        // The second connect reports success once, then EISCONN.
        assert_eq!(script.connect(id, 80), Ok(()));
        assert_eq!(script.connect(id, 80), Err(Errno::EISCONN));
        assert_eq!(script.tcp.peer_addr(id).unwrap().port(), 80);
    }

    #[test]
    fn passive_open_mirrors_the_peer_options_and_accepts() {
        let mut script = Script::new();
        let listener = script.listening_on(8080, 5);
        assert_eq!(script.tcp.accept(listener), Err(Errno::EAGAIN));
        assert_eq!(script.tcp.poll(listener), 0);
        script.deliver(
            &PeerSegment::new(SYN, 9000, 0)
                .addressed_to(8080)
                .linux_syn_options(42, 0),
        );
        let syn_ack = script.sent_one();
        assert!(syn_ack.is(SYN | ACK));
        assert_eq!(syn_ack.ack, 9001);
        assert_eq!(syn_ack.mss, Some(1460));
        assert_eq!(syn_ack.window_scale, Some(7));
        assert!(syn_ack.sack_permitted);
        assert_eq!(syn_ack.timestamps.map(|(_, echo)| echo), Some(42));
        // tcp_openreq_init_rwin: 45 * 1448.
        assert_eq!(syn_ack.window, 65160);
        // Not acceptable before the handshake completes.
        assert_eq!(script.tcp.accept(listener), Err(Errno::EAGAIN));
        let tsval = syn_ack.timestamps.unwrap().0;
        script.deliver(
            &PeerSegment::new(ACK, 9001, syn_ack.seq.wrapping_add(1))
                .addressed_to(8080)
                .timestamps(43, tsval),
        );
        assert!(script.sent().is_empty());
        assert_eq!(script.tcp.poll(listener), POLLIN | POLLRDNORM);
        let (child, peer) = script.tcp.accept(listener).unwrap();
        assert_eq!(peer.port(), PEER_PORT);
        assert_eq!(script.tcp.local_addr(child).unwrap().port(), 8080);
        assert_eq!(script.tcp.poll(child), POLLOUT | POLLWRNORM);
    }

    #[test]
    fn syn_ack_without_options_offers_none() {
        let mut script = Script::new();
        script.listening_on(8080, 5);
        let syn_ack = script.peer_sends_syn(8080);
        assert_eq!(syn_ack.mss, Some(1460));
        assert_eq!(syn_ack.window_scale, None);
        assert!(!syn_ack.sack_permitted);
        assert_eq!(syn_ack.timestamps, None);
        assert_eq!(syn_ack.window, 64240);
    }

    #[test]
    fn simultaneous_open_goes_through_syn_received() {
        let mut script = Script::new();
        let id = script.socket();
        script.bind(id, 6000).unwrap();
        assert_eq!(script.connect(id, PEER_PORT), Err(Errno::EINPROGRESS));
        let syn = script.sent_one();
        // The peer's own SYN crosses ours.
        script.deliver(&PeerSegment::new(SYN, 7000, 0).addressed_to(6000).mss_only());
        let syn_ack = script.sent_one();
        assert!(syn_ack.is(SYN | ACK));
        assert_eq!((syn_ack.seq, syn_ack.ack), (syn.seq, 7001));
        assert_eq!(script.connect(id, PEER_PORT), Err(Errno::EALREADY));
        // The peer's SYN-ACK (its answer to our SYN) completes the handshake.
        script.deliver(
            &PeerSegment::new(SYN | ACK, 7000, syn.seq.wrapping_add(1))
                .addressed_to(6000)
                .mss_only(),
        );
        assert_eq!(script.connect(id, PEER_PORT), Ok(()));
        assert_eq!(script.tcp.poll(id), POLLOUT | POLLWRNORM);
    }

    #[test]
    fn connect_to_a_closed_port_is_refused() {
        let mut script = Script::new();
        let (id, syn) = script.connect_sending_syn(1);
        script.deliver(
            &PeerSegment::new(RST | ACK, 0, syn.seq.wrapping_add(1))
                .coming_from(1)
                .addressed_to(syn.source_port),
        );
        assert!(script.sent().is_empty());
        assert_eq!(
            script.tcp.poll(id),
            POLLIN | POLLRDNORM | POLLRDHUP | POLLOUT | POLLWRNORM | POLLERR | POLLHUP
        );
        assert_eq!(script.connect(id, 1), Err(Errno::ECONNREFUSED));
        // The socket is unconnected again: a new connect starts over.
        assert_eq!(script.connect(id, 1), Err(Errno::EINPROGRESS));
    }

    #[test]
    fn a_reset_that_does_not_ack_our_syn_is_ignored_and_a_bad_ack_is_reset() {
        let mut script = Script::new();
        let (id, syn) = script.connect_sending_syn(80);
        // RST without ACK in SYN_SENT: dropped (RFC 9293 3.10.7.3).
        script.deliver(
            &PeerSegment::new(RST, 0, 0)
                .coming_from(80)
                .addressed_to(syn.source_port),
        );
        assert!(script.sent().is_empty());
        assert_eq!(script.connect(id, 80), Err(Errno::EALREADY));
        // A SYN-ACK acknowledging something we never sent gets a reset with its ACK number.
        script.deliver(
            &PeerSegment::new(SYN | ACK, 50, syn.seq.wrapping_add(99))
                .coming_from(80)
                .addressed_to(syn.source_port),
        );
        let reset = script.sent_one();
        assert!(reset.is(RST));
        assert_eq!(reset.seq, syn.seq.wrapping_add(99));
        assert_eq!(script.connect(id, 80), Err(Errno::EALREADY));
    }

    #[test]
    fn syn_retries_end_in_etimedout_after_131_seconds() {
        let mut script = Script::new();
        let start = script.now;
        let (id, first) = script.connect_sending_syn(80);
        let mut retransmitted_at = Vec::new();
        for _ in 0..400 {
            script.advance(500);
            for sent in script.sent() {
                assert!(sent.is(SYN));
                assert_eq!(sent.seq, first.seq);
                retransmitted_at.push(script.now.saturating_since(start).as_secs());
            }
            if script.tcp.poll(id) & POLLERR != 0 {
                break;
            }
        }
        // tcp_syn_retries 6 + tcp_syn_linear_timeouts 4 retransmissions: the first five 1 s
        // apart (the RTO is not doubled while total_rto <= 4), then doubling; the connection
        // fails when the 11th timer finds the budget spent (the kernel measured: SYNs 1 s
        // apart five times, then 2, 4, 8, 16, 32 s; ETIMEDOUT after about 131 s).
        assert_eq!(retransmitted_at, vec![1, 2, 3, 4, 5, 7, 11, 19, 35, 67]);
        let failed_at = script.now.saturating_since(start).as_secs();
        assert_eq!(failed_at, 131);
        assert_eq!(script.connect(id, 80), Err(Errno::ETIMEDOUT));
    }

    #[test]
    fn tcp_syncnt_limits_the_retries() {
        let mut script = Script::new();
        let id = script.socket();
        script.setsockopt_int(id, 6, 7, 2).unwrap();
        assert_eq!(script.connect(id, 80), Err(Errno::EINPROGRESS));
        script.sent_one();
        // Measured natively with TCP_SYNCNT 2: SYNs at 0, 1, 2, 3, 4, 5 s and ETIMEDOUT at 7 s:
        // 2 + tcp_syn_linear_timeouts retransmissions are allowed, but tcp_model_timeout's
        // budget for 2 back-offs from 1 s (7 s) runs out first.
        script.advance(6_999);
        assert_eq!(script.sent().len(), 5);
        assert_eq!(script.connect(id, 80), Err(Errno::EALREADY));
        script.advance(2);
        assert_eq!(script.connect(id, 80), Err(Errno::ETIMEDOUT));
    }

    #[test]
    fn active_close_fin_wait_and_time_wait() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        let fin = script.shutdown_sending_fin(id);
        assert_eq!((fin.seq, fin.ack), (our_next, peer_next));
        assert_eq!(script.send(id, b"x"), Err(Errno::EPIPE));
        // FIN_WAIT1 → FIN_WAIT2 on its ACK; still readable.
        script.deliver(&PeerSegment::new(ACK, peer_next, our_next + 1).addressed_to(port));
        assert!(script.sent().is_empty());
        script.deliver(
            &PeerSegment::new(ACK | PSH, peer_next, our_next + 1)
                .addressed_to(port)
                .data(b"late"),
        );
        assert_eq!(script.recv(id, 100).unwrap(), b"late");
        // Their FIN: ACK at once, TIME_WAIT.
        script
            .deliver(&PeerSegment::new(FIN | ACK, peer_next + 4, our_next + 1).addressed_to(port));
        let ack = script.sent().pop().unwrap();
        assert!(ack.is(ACK));
        assert_eq!(ack.ack, peer_next + 5);
        assert_eq!(script.recv(id, 100).unwrap(), b"");
        // The application's socket is CLOSE (tcp_done) while TIME_WAIT holds the 4-tuple.
        assert_eq!(script.tcp.poll(id) & POLLHUP, POLLHUP);
        // A retransmitted FIN is ACKed again from TIME_WAIT.
        script.advance(1_000);
        script
            .deliver(&PeerSegment::new(FIN | ACK, peer_next + 4, our_next + 1).addressed_to(port));
        let again = script.sent_one();
        assert!(again.is(ACK));
        assert_eq!((again.seq, again.ack), (our_next + 1, peer_next + 5));
        // 60 s after the last FIN TIME_WAIT ends: a segment then meets a closed port.
        script.advance(59_999);
        script.deliver(&PeerSegment::new(ACK, peer_next + 5, our_next + 1).addressed_to(port));
        assert!(script.sent().is_empty(), "still in TIME_WAIT");
        script.advance(61_000);
        script.deliver(&PeerSegment::new(ACK, peer_next + 5, our_next + 1).addressed_to(port));
        let reset = script.sent_one();
        assert!(reset.is(RST));
        assert_eq!(reset.seq, our_next + 1);
    }

    #[test]
    fn passive_close_close_wait_and_last_ack() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        script.deliver(&PeerSegment::new(FIN | ACK, peer_next, our_next).addressed_to(port));
        // tcp_fin enters pingpong mode: the ACK waits for the delayed-ACK timer, which
        // before any data fires at the next jiffy (measured: 1.7 ms).
        assert!(script.sent().is_empty());
        script.advance(4);
        let ack = script.sent_one();
        assert_eq!(ack.ack, peer_next + 1);
        assert_eq!(
            script.tcp.poll(id),
            POLLIN | POLLRDNORM | POLLRDHUP | POLLOUT | POLLWRNORM
        );
        assert_eq!(script.recv(id, 10).unwrap(), b"");
        // CLOSE_WAIT still sends.
        assert_eq!(script.send(id, b"bye"), Ok(3));
        let data = script.sent_one();
        assert_eq!(data.payload, b"bye");
        let fin = script.close_sending_fin(id);
        assert_eq!(fin.seq, our_next + 3);
        // The orphan is gone for the application.
        assert_eq!(script.tcp.check(id), Err(Errno::EBADF));
        script.deliver(&PeerSegment::new(ACK, peer_next + 1, our_next + 4).addressed_to(port));
        assert!(script.sent().is_empty());
        // LAST_ACK → CLOSED: the 4-tuple is free, a segment now meets a closed port.
        script.deliver(&PeerSegment::new(ACK, peer_next + 1, our_next + 4).addressed_to(port));
        assert!(script.sent_one().is(RST));
    }

    #[test]
    fn simultaneous_close_goes_through_closing() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        script.shutdown_sending_fin(id);
        // Their FIN crosses ours and does not acknowledge it.
        script.deliver(&PeerSegment::new(FIN | ACK, peer_next, our_next).addressed_to(port));
        let ack = script.sent_one();
        assert_eq!((ack.seq, ack.ack), (our_next + 1, peer_next + 1));
        // CLOSING: our FIN is retransmitted until acknowledged (the RTO is 200 ms after a
        // near-zero RTT sample: SRTT + the 200 ms floor).
        script.advance(250);
        let retransmitted = script.sent_one();
        assert!(retransmitted.is(FIN | ACK));
        assert_eq!(retransmitted.seq, our_next);
        script.deliver(&PeerSegment::new(ACK, peer_next + 1, our_next + 1).addressed_to(port));
        // TIME_WAIT: the retransmission timer is gone, the FIN is ACKed again if it comes back.
        script.advance(5_000);
        assert!(script.sent().is_empty());
        script.deliver(&PeerSegment::new(FIN | ACK, peer_next, our_next + 1).addressed_to(port));
        assert!(script.sent_one().is(ACK));
    }

    #[test]
    fn half_close_keeps_receiving() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        script.shutdown_sending_fin(id);
        script.deliver(&PeerSegment::new(ACK, peer_next, our_next + 1).addressed_to(port));
        for round in 0..3u32 {
            script.deliver(
                &PeerSegment::new(ACK | PSH, peer_next + round * 5, our_next + 1)
                    .addressed_to(port)
                    .data(b"hello"),
            );
        }
        assert_eq!(script.recv(id, 100).unwrap(), b"hellohellohello");
        assert_eq!(script.tcp.poll(id) & (POLLOUT | POLLIN), POLLOUT);
    }

    #[test]
    fn rst_rules_of_rfc_5961() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        // Out of window: silently dropped.
        script.deliver(
            &PeerSegment::new(RST, peer_next.wrapping_add(10_000_000), 0).addressed_to(port),
        );
        assert!(script.sent().is_empty());
        // In window but not RCV.NXT: a challenge ACK, the connection survives.
        script.deliver(&PeerSegment::new(RST, peer_next + 100, 0).addressed_to(port));
        let challenge = script.sent_one();
        assert!(challenge.is(ACK));
        assert_eq!((challenge.seq, challenge.ack), (our_next, peer_next));
        assert_eq!(script.send(id, b"a"), Ok(1));
        script.sent();
        script.deliver(&PeerSegment::new(ACK, peer_next, our_next + 1).addressed_to(port));
        // A second one within 500 ms is not answered (tcp_oow_rate_limited).
        script.deliver(&PeerSegment::new(RST, peer_next + 200, 0).addressed_to(port));
        assert!(script.sent().is_empty());
        // A SYN in ESTABLISHED: challenge ACK as well (RFC 5961 4.2), after the rate limit.
        script.advance(600);
        script.deliver(
            &PeerSegment::new(SYN, peer_next + 5, 0)
                .addressed_to(port)
                .mss_only(),
        );
        let challenge = script.sent_one();
        assert!(challenge.is(ACK));
        // Exactly RCV.NXT: reset.
        script.deliver(&PeerSegment::new(RST, peer_next, 0).addressed_to(port));
        let _ = our_next;
        assert!(script.sent().is_empty());
        assert_eq!(script.recv(id, 10), Err(Errno::ECONNRESET));
        assert_eq!(script.recv(id, 10), Ok(vec![]));
        assert_eq!(script.send(id, b"a"), Err(Errno::EPIPE));
        assert_eq!(script.tcp.poll(id) & (POLLHUP | POLLERR), POLLHUP);
    }

    #[test]
    fn reset_in_close_wait_reports_epipe() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        script.deliver(&PeerSegment::new(FIN | ACK, peer_next, our_next).addressed_to(port));
        script.sent();
        // tcp_reset_check: RCV.NXT − 1 is accepted once the FIN was taken.
        script.deliver(&PeerSegment::new(RST, peer_next, 0).addressed_to(port));
        assert_eq!(script.send(id, b"x"), Err(Errno::EPIPE));
    }

    #[test]
    fn closed_port_resets_follow_rfc_9293() {
        let mut script = Script::new();
        // A SYN to a port nobody listens on: RST|ACK acknowledging it, sequence 0.
        script.deliver(&PeerSegment::new(SYN, 4000, 0).addressed_to(9).mss_only());
        let reset = script.sent_one();
        assert!(reset.is(RST | ACK));
        assert_eq!((reset.seq, reset.ack, reset.window), (0, 4001, 0));
        // Data with ACK: the reset takes the ACK number and has no ACK itself.
        script.deliver(
            &PeerSegment::new(ACK | PSH, 4001, 777)
                .addressed_to(9)
                .data(b"abc"),
        );
        let reset = script.sent_one();
        assert!(reset.is(RST));
        assert_eq!(reset.seq, 777);
        // A FIN without ACK counts in the acknowledged length.
        script.deliver(&PeerSegment::new(FIN, 10, 0).addressed_to(9).data(b"ab"));
        assert_eq!(script.sent_one().ack, 13);
        // Never a reset for a reset.
        script.deliver(&PeerSegment::new(RST, 1, 0).addressed_to(9));
        assert!(script.sent().is_empty());
        assert_eq!(script.tcp.counters().resets_sent, 3);
    }

    #[test]
    fn listener_answers_a_stray_ack_with_a_reset() {
        let mut script = Script::new();
        script.listening_on(8080, 1);
        script.deliver(&PeerSegment::new(ACK, 5, 12345).addressed_to(8080));
        let reset = script.sent_one();
        assert!(reset.is(RST));
        assert_eq!(reset.seq, 12345);
    }

    #[test]
    fn close_with_unread_data_sends_reset() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        script.deliver(
            &PeerSegment::new(ACK | PSH, peer_next, our_next)
                .addressed_to(port)
                .data(b"unread"),
        );
        script.sent();
        let reset = script.close_sending(id);
        assert!(reset.is(RST | ACK));
        assert_eq!(reset.seq, our_next);
        // The connection is gone.
        script.deliver(&PeerSegment::new(ACK, peer_next + 6, our_next).addressed_to(port));
        assert!(script.sent_one().is(RST));
    }

    #[test]
    fn linger_zero_close_sends_reset() {
        let mut script = Script::new();
        let (id, our_next, _, _) = established(&mut script);
        let mut linger = Vec::new();
        linger.extend_from_slice(&1i32.to_ne_bytes());
        linger.extend_from_slice(&0i32.to_ne_bytes());
        let now = script.now;
        script
            .tcp
            .setsockopt(now, &script.net, id, 1, 13, &linger)
            .unwrap();
        let reset = script.close_sending(id);
        assert!(reset.is(RST | ACK));
        assert_eq!(reset.seq, our_next);
    }

    #[test]
    fn time_wait_is_killed_by_an_exact_reset() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        script.close_sending_fin(id);
        script.deliver(&PeerSegment::new(FIN | ACK, peer_next, our_next + 1).addressed_to(port));
        script.sent_one();
        script.deliver(&PeerSegment::new(RST, peer_next + 1, 0).addressed_to(port));
        assert!(script.sent().is_empty());
        // Gone: an ACK now gets a reset.
        script.deliver(&PeerSegment::new(ACK, peer_next + 1, our_next + 1).addressed_to(port));
        assert!(script.sent_one().is(RST));
    }

    #[test]
    fn orphaned_fin_wait2_times_out_after_tcp_fin_timeout() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        script.close_sending_fin(id);
        script.deliver(&PeerSegment::new(ACK, peer_next, our_next + 1).addressed_to(port));
        script.advance(59_000);
        script.deliver(&PeerSegment::new(ACK, peer_next, our_next + 1).addressed_to(port));
        assert!(script.sent().is_empty());
        script.advance(2_000);
        script.deliver(&PeerSegment::new(ACK, peer_next, our_next + 1).addressed_to(port));
        assert!(script.sent_one().is(RST));
    }

    #[test]
    fn data_after_close_aborts_the_orphan() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        script.close_sending_fin(id);
        script.deliver(&PeerSegment::new(ACK, peer_next, our_next + 1).addressed_to(port));
        script.deliver(
            &PeerSegment::new(ACK | PSH, peer_next, our_next + 1)
                .addressed_to(port)
                .data(b"more"),
        );
        let reset = script.sent_one();
        assert!(reset.is(RST));
        assert_eq!(reset.seq, our_next + 1);
    }

    #[test]
    fn listen_backlog_overflow_drops_syns() {
        let mut script = Script::new();
        // Backlog 0 still admits one connection: the queue is full when ack_backlog >
        // max_ack_backlog, so a SYN is dropped only once one connection waits.
        let listener = script.listening_on(8080, 0);
        for client in 0..3u16 {
            let mut syn = PeerSegment::new(SYN, 100, 0).addressed_to(8080).mss_only();
            syn.source_port = 6000 + client;
            script.deliver(&syn);
            let sent = script.sent();
            if client < 1 {
                let syn_ack = &sent[0];
                let mut ack =
                    PeerSegment::new(ACK, 101, syn_ack.seq.wrapping_add(1)).addressed_to(8080);
                ack.source_port = 6000 + client;
                script.deliver(&ack);
            } else {
                assert!(sent.is_empty(), "SYN beyond the backlog must be dropped");
            }
        }
        assert!(script.tcp.accept(listener).is_ok());
        assert_eq!(script.tcp.accept(listener), Err(Errno::EAGAIN));
        assert_eq!(script.tcp.counters().listen_overflows, 2);
    }

    #[test]
    fn synack_retries_then_the_half_open_connection_vanishes() {
        let mut script = Script::new();
        script.listening_on(8080, 5);
        let syn_ack = script.peer_sends_syn(8080);
        let mut count = 0;
        for _ in 0..130 {
            script.advance(1_000);
            for sent in script.sent() {
                assert!(sent.is(SYN | ACK));
                assert_eq!(sent.seq, syn_ack.seq);
                count += 1;
            }
        }
        // tcp_synack_retries = 5.
        assert_eq!(count, 5);
        script.peer_acks_syn_ack(8080, &syn_ack);
        assert!(script.sent_one().is(RST));
    }

    #[test]
    fn closing_a_listener_resets_unaccepted_connections() {
        let mut script = Script::new();
        let listener = script.listening_on(8080, 5);
        let syn_ack = script.peer_handshake(8080);
        script.tcp.close(script.now, listener);
        let reset = script.sent_one();
        assert!(reset.is(RST | ACK));
        assert_eq!(reset.seq, syn_ack.seq.wrapping_add(1));
    }

    #[test]
    fn unconnected_socket_calls_answer_like_linux() {
        let mut script = Script::new();
        let id = script.socket();
        // Measured natively: send EPIPE, recv ENOTCONN, poll POLLOUT|POLLHUP, accept EINVAL.
        assert_eq!(script.send(id, b"x"), Err(Errno::EPIPE));
        assert_eq!(script.recv(id, 1), Err(Errno::ENOTCONN));
        assert_eq!(script.tcp.poll(id), POLLOUT | POLLWRNORM | POLLHUP);
        assert_eq!(script.tcp.accept(id), Err(Errno::EINVAL));
        assert_eq!(script.tcp.peer_addr(id), Err(Errno::ENOTCONN));
        assert_eq!(
            script.tcp.shutdown(script.now, id, Shutdown::Both),
            Err(Errno::ENOTCONN)
        );
        assert_eq!(
            script.tcp.poll(id),
            POLLIN | POLLRDNORM | POLLRDHUP | POLLOUT | POLLWRNORM | POLLHUP
        );
        // listen() binds an odd ephemeral port; connect on a listener is EISCONN.
        let listener = script.socket();
        script.tcp.listen(listener, 1).unwrap();
        assert_eq!(script.tcp.local_addr(listener).unwrap().port() % 2, 1);
        assert_eq!(script.connect(listener, 80), Err(Errno::EISCONN));
        assert_eq!(script.recv(listener, 1), Err(Errno::ENOTCONN));
        assert_eq!(
            script.tcp.shutdown(script.now, listener, Shutdown::Write),
            Ok(())
        );
    }

    #[test]
    fn connect_with_af_unspec_disconnects_with_a_reset() {
        let mut script = Script::new();
        let (id, our_next, _, _) = established(&mut script);
        let unspec = vec![0u8; 16];
        let now = script.now;
        assert_eq!(script.tcp.connect(now, &script.net, id, &unspec), Ok(()));
        let reset = script.sent_one();
        assert!(reset.is(RST | ACK));
        assert_eq!(reset.seq, our_next);
        // The socket may connect again.
        assert_eq!(script.connect(id, 81), Err(Errno::EINPROGRESS));
    }

    #[test]
    fn bind_rules() {
        let mut script = Script::new();
        let first = script.socket();
        script.bind(first, 7000).unwrap();
        let second = script.socket();
        assert_eq!(script.bind(second, 7000), Err(Errno::EADDRINUSE));
        assert_eq!(script.bind(first, 7001), Err(Errno::EINVAL));
        // SO_REUSEADDR on both: shared while neither listens.
        let (a, b) = (script.socket(), script.socket());
        for id in [a, b] {
            script.setsockopt_int(id, 1, 2, 1).unwrap();
        }
        script.bind(a, 7100).unwrap();
        script.bind(b, 7100).unwrap();
        script.tcp.listen(a, 1).unwrap();
        assert_eq!(script.tcp.listen(b, 1), Err(Errno::EADDRINUSE));
        // Privileged port without CAP_NET_BIND_SERVICE.
        let c = script.socket();
        assert_eq!(script.bind(c, 80), Err(Errno::EACCES));
        // An address that is not ours.
        let addr = sockaddr(core::net::SocketAddrV4::new(
            core::net::Ipv4Addr::new(10, 0, 0, 1),
            9000,
        ));
        assert_eq!(
            script.tcp.bind(&script.net, c, &addr),
            Err(Errno::EADDRNOTAVAIL)
        );
        assert_eq!(
            script.tcp.bind(&script.net, c, &addr[..15]),
            Err(Errno::EINVAL)
        );
    }

    /// A listener on 8080 with SO_REUSEADDR set before its bind.
    fn listening_with_reuseaddr(script: &mut Script) -> stack::SocketId {
        let listener = script.socket();
        script.setsockopt_int(listener, 1, 2, 1).unwrap();
        script.bind(listener, 8080).unwrap();
        script.tcp.listen(listener, 5).unwrap();
        listener
    }

    /// A passive connection on 8080 taken to TIME_WAIT by our close (we close first).
    fn server_connection_in_time_wait(script: &mut Script, reuse: bool) -> (u32, u32) {
        let listener = if reuse {
            listening_with_reuseaddr(script)
        } else {
            script.listening_on(8080, 5)
        };
        let our_next = script.peer_handshake(8080).seq.wrapping_add(1);
        let (child, _) = script.tcp.accept(listener).unwrap();
        script.tcp.close(script.now, listener);
        script.close_sending_fin(child);
        script.deliver(&PeerSegment::new(FIN | ACK, 101, our_next + 1).addressed_to(8080));
        assert!(script.sent_one().is(ACK));
        (our_next + 1, 102)
    }

    #[test]
    fn time_wait_holds_the_port_against_bind() {
        let mut script = Script::new();
        server_connection_in_time_wait(&mut script, false);
        let again = script.socket();
        assert_eq!(script.bind(again, 8080), Err(Errno::EADDRINUSE));
        script.advance(61_000);
        assert_eq!(script.bind(again, 8080), Ok(()));
    }

    #[test]
    fn so_reuseaddr_on_both_sides_binds_over_time_wait() {
        let mut script = Script::new();
        server_connection_in_time_wait(&mut script, true);
        let again = script.socket();
        script.setsockopt_int(again, 1, 2, 1).unwrap();
        assert_eq!(script.bind(again, 8080), Ok(()));
        assert_eq!(script.tcp.listen(again, 5), Ok(()));
    }

    #[test]
    fn a_new_syn_reopens_a_time_wait_connection() {
        let mut script = Script::new();
        let (our_next, _) = server_connection_in_time_wait(&mut script, true);
        listening_with_reuseaddr(&mut script);
        // Sequence above the old RCV.NXT: TCP_TW_SYN; the new ISN is past the old SND.NXT.
        script.deliver(
            &PeerSegment::new(SYN, 5_000, 0)
                .addressed_to(8080)
                .mss_only(),
        );
        let syn_ack = script.sent_one();
        assert!(syn_ack.is(SYN | ACK));
        assert_eq!(syn_ack.seq, our_next.wrapping_add(65535 + 2));
        // An old SYN (below RCV.NXT) just gets the TIME_WAIT ACK.
        let mut fresh = Script::new();
        server_connection_in_time_wait(&mut fresh, false);
        fresh.deliver(&PeerSegment::new(SYN, 50, 0).addressed_to(8080).mss_only());
        assert!(fresh.sent_one().is(ACK));
    }

    #[test]
    fn accept_returns_a_connection_reset_before_accept() {
        let mut script = Script::new();
        let listener = script.listening_on(8080, 5);
        let syn_ack = script.peer_sends_syn(8080);
        script.deliver(
            &PeerSegment::new(ACK | PSH, 101, syn_ack.seq.wrapping_add(1))
                .addressed_to(8080)
                .data(b"hi"),
        );
        script.sent();
        script.deliver(&PeerSegment::new(RST, 103, 0).addressed_to(8080));
        let (child, _) = script.tcp.accept(listener).unwrap();
        // The data that arrived first is still readable, then the reset is reported.
        assert_eq!(script.recv(child, 10).unwrap(), b"hi");
        assert_eq!(script.recv(child, 10), Err(Errno::ECONNRESET));
        assert_eq!(script.recv(child, 10), Ok(vec![]));
    }

    #[test]
    fn a_reset_during_the_handshake_drops_the_embryonic_child() {
        let mut script = Script::new();
        let listener = script.listening_on(8080, 5);
        script.peer_sends_syn(8080);
        script.deliver(&PeerSegment::new(RST, 101, 0).addressed_to(8080));
        assert!(script.sent().is_empty());
        assert_eq!(script.tcp.accept(listener), Err(Errno::EAGAIN));
        // No SYN-ACK retransmission follows.
        script.advance(5_000);
        assert!(script.sent().is_empty());
    }

    #[test]
    fn an_orphan_gives_up_after_tcp_orphan_retries() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        script.close_sending_fin(id);
        // Nobody answers: 8 retransmissions from a 200 ms RTO take about 102 s.
        script.advance(100_000);
        assert_eq!(script.sent().len(), 8);
        script.advance(3_000);
        script.sent();
        script.deliver(&PeerSegment::new(ACK, peer_next, our_next + 1).addressed_to(port));
        assert!(script.sent_one().is(RST), "the orphan should be gone");
    }

    #[test]
    fn host_sysctls_shape_the_syn_and_the_defaults() {
        let mut sysctls = stack::Sysctls::default();
        // This machine's tcp_rmem[2] is 32 MiB: the kernel's SYN says wscale 10.
        sysctls.tcp.rmem = (4096, 131_072, 33_554_432);
        sysctls.tcp.timestamps = false;
        sysctls.tcp.congestion_control = "reno".into();
        let mut script = Script::with_sysctls(sysctls.clone());
        let (id, syn) = script.connect_sending_syn(80);
        assert_eq!(syn.window_scale, Some(10));
        assert_eq!(syn.timestamps, None);
        assert!(syn.sack_permitted);
        let name = script.tcp.getsockopt(&script.net, id, 6, 13, 16).unwrap();
        assert_eq!(&name[..5], b"reno\0");
        // An algorithm the stack lacks (vegas) falls back to cubic.
        sysctls.tcp.congestion_control = "vegas".into();
        sysctls.tcp.sack = false;
        sysctls.tcp.syn_retries = 2;
        let mut script = Script::with_sysctls(sysctls);
        let id = script.socket();
        let name = script.tcp.getsockopt(&script.net, id, 6, 13, 16).unwrap();
        assert_eq!(&name[..6], b"cubic\0");
        assert_eq!(script.getsockopt_int(id, 6, 7), Ok(2));
        assert_eq!(script.connect(id, 80), Err(Errno::EINPROGRESS));
        assert!(!script.sent_one().sack_permitted);
        script.advance(6_999);
        assert_eq!(script.connect(id, 80), Err(Errno::EALREADY));
        script.advance(2);
        assert_eq!(script.connect(id, 80), Err(Errno::ETIMEDOUT));
    }

    #[test]
    fn lingering_reports_an_unacknowledged_close() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        assert!(!script.tcp.lingering(id));
        script.close_sending_fin(id);
        assert!(script.tcp.lingering(id));
        script.deliver(&PeerSegment::new(ACK, peer_next, our_next + 1).addressed_to(port));
        assert!(!script.tcp.lingering(id));
    }

    #[test]
    fn shutdown_before_connect_still_holds_after_connect() {
        // Measured (ctests tcp_shutdown): shutdown(SHUT_WR) on a fresh socket is ENOTCONN but
        // sets SEND_SHUTDOWN, which tcp_v4_connect keeps: after the handshake send is EPIPE,
        // poll shows OUT; a later SHUT_RD makes it IN|OUT|HUP|RDHUP.
        let mut script = Script::new();
        let id = script.socket();
        assert_eq!(
            script.tcp.shutdown(script.now, id, Shutdown::Write),
            Err(Errno::ENOTCONN)
        );
        assert_eq!(script.connect(id, PEER_PORT), Err(Errno::EINPROGRESS));
        let syn = script.sent_one();
        assert!(syn.is(SYN));
        script.deliver(
            &PeerSegment::new(SYN | ACK, 5, syn.seq.wrapping_add(1))
                .addressed_to(syn.source_port)
                .mss_only(),
        );
        assert!(script.sent_one().is(ACK));
        assert_eq!(script.connect(id, PEER_PORT), Ok(()));
        assert_eq!(script.tcp.poll(id), POLLOUT | POLLWRNORM);
        assert_eq!(script.send(id, b"abc"), Err(Errno::EPIPE));
        script.tcp.shutdown(script.now, id, Shutdown::Read).unwrap();
        assert_eq!(
            script.tcp.poll(id),
            POLLIN | POLLRDNORM | POLLRDHUP | POLLOUT | POLLWRNORM | POLLHUP
        );
    }
}
