//! Packet scripts for a listener's queues in virtual time: SYNs beyond the accept queue
//! dropped, final ACKs that find it full (dropped with the SYN-ACK retransmitted, or reset
//! with tcp_abort_on_overflow), SYN-ACK retries and their back-off, the "young" pruning of
//! reqsk_timer_handler, and SYN cookies (tcp_syncookies 1 and 2): the round trip, the
//! options kept in the timestamp, a bad cookie answered with a reset. The numbers are the
//! kernel's (measured on 6.18 where the behaviour is visible: ctests/cases/tcp_backlog.c).

mod tcp_harness;

mod tcp {
    use super::tcp_harness::*;
    use stack::{Errno, Sysctls};

    const PORT: u16 = 8080;

    fn script_with(syncookies: u32, abort_on_overflow: bool) -> Script {
        let mut sysctls = Sysctls::default();
        sysctls.tcp.syncookies = syncookies;
        sysctls.tcp.abort_on_overflow = abort_on_overflow;
        Script::with_sysctls(sysctls)
    }

    fn listening(script: &mut Script, backlog: i32) -> stack::socket::SocketId {
        let listener = script.socket();
        script.bind(listener, PORT).unwrap();
        script.tcp.listen(listener, backlog).unwrap();
        listener
    }

    fn syn(client_port: u16, seq: u32) -> PeerSegment {
        PeerSegment::new(SYN, seq, 0)
            .addressed_to(PORT)
            .coming_from(client_port)
            .mss_only()
    }

    fn ack(client_port: u16, seq: u32, ack: u32) -> PeerSegment {
        PeerSegment::new(ACK, seq, ack)
            .addressed_to(PORT)
            .coming_from(client_port)
    }

    /// The SYN-ACK the last SYN got (exactly one segment).
    fn syn_ack(script: &mut Script) -> Sent {
        let sent = script.sent_one();
        assert!(sent.is(SYN | ACK), "{sent:?}");
        sent
    }

    /// The peer's SYN from CLIENT_PORT (sequence 100) and the SYN-ACK it got.
    fn request(script: &mut Script, client_port: u16) -> Sent {
        script.deliver(&syn(client_port, 100));
        syn_ack(script)
    }

    /// The handshake's last ACK from CLIENT_PORT, for the SYN-ACK ANSWER to its SYN of
    /// sequence 100.
    fn final_ack(client_port: u16, answer: &Sent) -> PeerSegment {
        ack(client_port, 101, answer.seq.wrapping_add(1))
    }

    /// Clients 6000 and 6001 complete their handshakes, interleaved with client 6002's SYN
    /// as a busy listener sees them; the SYN-ACK 6002 got.
    fn two_established_and_a_third_requested(script: &mut Script) -> Sent {
        let first = request(script, 6000);
        let second = request(script, 6001);
        script.deliver(&final_ack(6000, &first));
        let third = request(script, 6002);
        script.deliver(&final_ack(6001, &second));
        third
    }

    #[test]
    fn syns_beyond_the_accept_queue_are_dropped() {
        let mut script = script_with(1, false);
        let listener = listening(&mut script, 1);
        // "len > max": a backlog of 1 holds two established connections.
        for client in 0..2u16 {
            let answer = request(&mut script, 6000 + client);
            script.deliver(&final_ack(6000 + client, &answer));
            assert!(script.sent().is_empty());
        }
        script.deliver(&syn(6002, 100));
        assert!(script.sent().is_empty(), "the third SYN is dropped");
        let counters = script.tcp.counters();
        assert_eq!(counters.listen_overflows, 1);
        assert_eq!(counters.listen_drops, 1);
        // With room again the retransmitted SYN is answered.
        assert!(script.tcp.accept(listener).is_ok());
        request(&mut script, 6002);
    }

    #[test]
    fn listen_again_changes_the_backlog_and_somaxconn_clamps_it() {
        let mut script = script_with(1, false);
        let listener = listening(&mut script, 0);
        let answer = request(&mut script, 6000);
        script.deliver(&final_ack(6000, &answer));
        script.deliver(&syn(6001, 100));
        assert!(script.sent().is_empty(), "backlog 0 holds one connection");
        // listen() again on a listener only changes sk_max_ack_backlog; a negative backlog
        // is somaxconn.
        script.tcp.listen(listener, -1).unwrap();
        request(&mut script, 6001);
    }

    #[test]
    fn final_ack_on_a_full_accept_queue_is_dropped_and_the_synack_retransmitted() {
        let mut script = script_with(1, false);
        let listener = listening(&mut script, 1);
        let third = two_established_and_a_third_requested(&mut script);
        // Two wait for accept(): the third final ACK finds the queue full.
        script.deliver(&final_ack(6002, &third));
        assert!(script.sent().is_empty(), "dropped without an answer");
        assert_eq!(script.tcp.counters().listen_overflows, 1);
        // The request stays and its SYN-ACK comes again after 1 s (TCP_TIMEOUT_INIT).
        script.advance(999);
        assert!(script.sent().is_empty());
        script.advance(1);
        let again = syn_ack(&mut script);
        assert_eq!(again.seq, third.seq);
        assert_eq!(again.destination_port, 6002);
        // The peer acknowledges it again; once accept() made room it is taken.
        script.tcp.accept(listener).unwrap();
        script.deliver(&final_ack(6002, &third));
        assert!(script.sent().is_empty());
        script.tcp.accept(listener).unwrap();
        script.tcp.accept(listener).unwrap();
        assert_eq!(script.tcp.accept(listener), Err(Errno::EAGAIN));
    }

    #[test]
    fn abort_on_overflow_resets_the_final_ack() {
        let mut script = script_with(1, true);
        let listener = listening(&mut script, 1);
        let third = two_established_and_a_third_requested(&mut script);
        script.deliver(&final_ack(6002, &third).data(b"hello"));
        // tcp_v4_send_reset for an ACK: RST at the ACK's number, no ACK flag.
        let reset = script.sent_one();
        assert_eq!(reset.flags, RST);
        assert_eq!(reset.seq, third.seq.wrapping_add(1));
        assert_eq!(reset.destination_port, 6002);
        assert_eq!(script.tcp.counters().embryonic_resets, 1);
        // The request is gone: nothing more is retransmitted to that client.
        script.advance(5_000);
        assert!(script
            .sent()
            .iter()
            .all(|sent| sent.destination_port != 6002));
        script.tcp.accept(listener).unwrap();
        script.tcp.accept(listener).unwrap();
        assert_eq!(script.tcp.accept(listener), Err(Errno::EAGAIN));
    }

    #[test]
    fn synack_retries_back_off_from_one_second() {
        let mut script = script_with(1, false);
        let _listener = listening(&mut script, 5);
        let first = request(&mut script, 6000);
        let start = script.now;
        let mut times = Vec::new();
        for _ in 0..70 {
            script.advance(1_000);
            for sent in script.sent() {
                assert_eq!(sent.seq, first.seq);
                times.push(script.now.saturating_since(start).as_secs());
            }
        }
        // tcp_synack_retries 5: 1, 2, 4, 8, 16 s apart; the request ends 32 s after the last.
        assert_eq!(times, vec![1, 3, 7, 15, 31]);
    }

    #[test]
    fn listener_syncnt_limits_synack_retries() {
        let mut script = script_with(1, false);
        let listener = listening(&mut script, 5);
        // reqsk_timer_handler: "icsk->icsk_syn_retries ? : sysctl_tcp_synack_retries".
        const IPPROTO_TCP: i32 = 6;
        const TCP_SYNCNT: i32 = 7;
        script
            .setsockopt_int(listener, IPPROTO_TCP, TCP_SYNCNT, 2)
            .unwrap();
        script.deliver(&syn(6000, 100));
        let start = script.now;
        syn_ack(&mut script);
        let mut times = Vec::new();
        for _ in 0..20 {
            script.advance(1_000);
            for _ in script.sent() {
                times.push(script.now.saturating_since(start).as_secs());
            }
        }
        // Measured: SYN-ACKs again at 1 s and 3 s, then the request is gone.
        assert_eq!(times, vec![1, 3]);
        script.deliver(&ack(6000, 101, 0));
        assert!(script.sent_one().is(RST));
    }

    #[test]
    fn old_requests_lose_retries_when_the_syn_queue_is_half_full() {
        let mut script = script_with(1, false);
        let _listener = listening(&mut script, 8);
        // qlen 9 > backlog 8 would send cookies after this; nine requests, none answered.
        for client in 0..9u16 {
            request(&mut script, 6000 + client);
        }
        let mut per_client = [0u32; 9];
        for _ in 0..70 {
            script.advance(1_000);
            for sent in script.sent() {
                per_client[usize::from(sent.destination_port - 6000)] += 1;
            }
        }
        // reqsk_timer_handler: while (qlen << 1) > max(8, backlog), max_syn_ack_retries
        // falls by one for each halving of the young requests; once none is young it is 2.
        // At 1 s all are young (five retries allowed); at 3 s none is, so each request
        // expires at its third timeout (7 s) after two retransmissions, newest first (the
        // timer wheel's order), until the queue is down to four (4 << 1 is not above 8):
        // those keep tcp_synack_retries' five. Measured on 6.18 with nine crafted SYNs
        // whose SYN-ACKs the peer blackholed: 5 5 5 5 2 2 2 2 2.
        assert_eq!(per_client, [5, 5, 5, 5, 2, 2, 2, 2, 2]);
        // The queue is empty again: a new SYN gets an ordinary SYN-ACK.
        request(&mut script, 6010);
    }

    #[test]
    fn cookie_round_trip_with_syncookies_2() {
        let mut script = script_with(2, false);
        let listener = listening(&mut script, 5);
        script.deliver(
            &PeerSegment::new(SYN, 1000, 0)
                .addressed_to(PORT)
                .coming_from(6000)
                .linux_syn_options(5555, 0),
        );
        let answer = syn_ack(&mut script);
        // The SYN-ACK offers what the SYN did; its timestamp carries SACK and wscale 7 in
        // the low six bits before the offset is added, so only the round trip shows it.
        assert_eq!(answer.mss, Some(1460));
        assert!(answer.sack_permitted);
        assert!(answer.window_scale.is_some());
        let (tsval, ecr) = answer.timestamps.unwrap();
        assert_eq!(ecr, 5555);
        // Nothing is kept: no request waits.
        assert_eq!(script.tcp.accept(listener), Err(Errno::EAGAIN));
        script.advance(5_000);
        assert!(
            script.sent().is_empty(),
            "a cookie SYN-ACK is never retransmitted"
        );
        script.deliver(
            &ack(6000, 1001, answer.seq.wrapping_add(1))
                .timestamps(5556, tsval)
                .data(b"hi"),
        );
        let counters = script.tcp.counters();
        assert_eq!(counters.syncookies_sent, 1);
        assert_eq!(counters.syncookies_received, 1);
        assert_eq!(counters.request_queue_full_cookies, 1);
        let (child, peer) = script.tcp.accept(listener).unwrap();
        assert_eq!(peer.port(), 6000);
        assert_eq!(script.recv(child, 16).unwrap(), b"hi");
    }

    #[test]
    fn cookie_without_timestamps_has_no_sack_or_window_scaling() {
        let mut script = script_with(2, false);
        let listener = listening(&mut script, 5);
        // MSS 1400, SACK_PERM, window scale 7, no timestamps.
        let mut syn = PeerSegment::new(SYN, 1000, 0)
            .addressed_to(PORT)
            .coming_from(6000);
        syn.options = vec![2, 4, 0x05, 0x78, 4, 2, 1, 3, 3, 7];
        script.deliver(&syn);
        let answer = syn_ack(&mut script);
        assert_eq!(answer.mss, Some(1460));
        assert!(!answer.sack_permitted);
        assert_eq!(answer.window_scale, None);
        assert_eq!(answer.timestamps, None);
        script.deliver(&ack(6000, 1001, answer.seq.wrapping_add(1)));
        let (child, _) = script.tcp.accept(listener).unwrap();
        // The cookie kept MSS 1300 of msstab (the largest not above 1400).
        let data = vec![7u8; 3000];
        script.send(child, &data).unwrap();
        let sent = script.sent();
        assert!(!sent.is_empty());
        assert_eq!(sent[0].payload.len(), 1300);
    }

    #[test]
    fn cookies_start_when_the_syn_queue_overflows() {
        let mut script = script_with(1, false);
        let listener = listening(&mut script, 1);
        // Two requests fill a SYN queue of backlog 1 ("qlen > max"); the third SYN gets a
        // cookie.
        for client in 0..2u16 {
            request(&mut script, 6000 + client);
        }
        let cookie = request(&mut script, 6002);
        assert_eq!(script.tcp.counters().syncookies_sent, 1);
        script.deliver(&final_ack(6002, &cookie));
        assert!(script.sent().is_empty());
        let (_, peer) = script.tcp.accept(listener).unwrap();
        assert_eq!(peer.port(), 6002);
    }

    #[test]
    fn syn_queue_overflow_without_cookies_drops() {
        let mut script = script_with(0, false);
        let _listener = listening(&mut script, 1);
        for client in 0..2u16 {
            request(&mut script, 6000 + client);
        }
        script.deliver(&syn(6002, 100));
        assert!(script.sent().is_empty());
        let counters = script.tcp.counters();
        assert_eq!(counters.request_queue_full_drops, 1);
        assert_eq!(counters.listen_drops, 1);
        assert_eq!(counters.listen_overflows, 0);
    }

    #[test]
    fn bad_cookie_is_answered_with_a_reset() {
        let mut script = script_with(2, false);
        let _listener = listening(&mut script, 5);
        script.deliver(&syn(6000, 1000));
        let answer = syn_ack(&mut script);
        // A wrong acknowledgment number: SYNCOOKIESFAILED, then the listener's reset.
        script.deliver(&ack(6000, 1001, answer.seq.wrapping_add(2)));
        let reset = script.sent_one();
        assert_eq!(reset.flags, RST);
        assert_eq!(reset.seq, answer.seq.wrapping_add(2));
        assert_eq!(script.tcp.counters().syncookies_failed, 1);
        // The right one, three minutes later: the cookie has expired.
        script.advance(180_000);
        script.deliver(&ack(6000, 1001, answer.seq.wrapping_add(1)));
        let reset = script.sent_one();
        assert_eq!(reset.flags, RST);
    }

    #[test]
    fn valid_cookie_on_a_full_accept_queue_is_dropped_silently() {
        let mut script = script_with(2, false);
        let listener = listening(&mut script, 0);
        let first = request(&mut script, 6000);
        let second = request(&mut script, 6001);
        script.deliver(&final_ack(6000, &first));
        assert!(script.sent().is_empty());
        // tcp_v4_syn_recv_sock refuses: LISTENOVERFLOWS, no reset, nothing kept.
        script.deliver(&final_ack(6001, &second));
        assert!(script.sent().is_empty());
        assert_eq!(script.tcp.counters().listen_overflows, 1);
        script.tcp.accept(listener).unwrap();
        assert_eq!(script.tcp.accept(listener), Err(Errno::EAGAIN));
        // Its next ACK (the peer believes it is connected) is let in once there is room.
        script.deliver(&final_ack(6001, &second));
        let (_, peer) = script.tcp.accept(listener).unwrap();
        assert_eq!(peer.port(), 6001);
    }
}
