//! Fast Open's blackhole detection in virtual time (net/ipv4/tcp_fastopen.c of Linux 6.18):
//! with net.ipv4.tcp_fastopen_blackhole_timeout_sec set, the third consecutive timeout of a
//! connection that used Fast Open (tcp_fastopen_active_detect_blackhole) or a FIN that
//! arrived alone out of order on one that received no data
//! (tcp_fastopen_active_disable_ofo_check) pauses active Fast Open: SYNs go without the
//! option for the timeout, doubled per detection; a connection that receives data after a
//! pause clears the count. With the default 0 nothing is paused.

mod tcp_harness;

mod tcp_fastopen_blackhole {
    use super::tcp_harness::fastopen::*;
    use super::tcp_harness::*;
    use stack::socket::msg_flags::{MSG_DONTWAIT, MSG_FASTOPEN};
    use stack::socket::SocketId;
    use stack::wire::tcp::FastOpenCookie;
    use stack::{Errno, Sysctls};

    const COOKIE: [u8; 8] = [0x96, 0xea, 0x8f, 0x53, 0xbb, 0x3e, 0x40, 0xc9];
    const TIMEOUT_SECS: u32 = 60;

    fn script_with_blackhole_timeout(secs: u32) -> Script {
        let mut sysctls = Sysctls::default();
        sysctls.tcp.fastopen = 1;
        sysctls.tcp.fastopen_blackhole_timeout_secs = secs;
        Script::with_sysctls(sysctls)
    }

    /// A first connection asks for the cookie and gets it (the cache keeps it). It stays
    /// open and idle: closing it would leave a FIN unacknowledged, whose timeouts count
    /// too (its SYN carried the cookie request).
    fn learn_cookie(script: &mut Script) {
        let id = script.socket();
        assert_eq!(
            fast_open_send(script, id, b"x", MSG_FASTOPEN | MSG_DONTWAIT),
            Err(Errno::EINPROGRESS)
        );
        let (syn, cookie) = one_with_cookie(script);
        assert_eq!(cookie, Some(FastOpenCookie::REQUEST));
        script.deliver(&synack_echoing(&syn, 5000, 1, Some(&COOKIE)));
        script.sent();
    }

    /// A connection whose SYN carried "hello" and the cookie, established: (socket, our
    /// next sequence number, the peer's next sequence number).
    fn fast_open_connection(script: &mut Script) -> (SocketId, u32, u32) {
        let id = script.socket();
        assert_eq!(
            fast_open_send(script, id, b"hello", MSG_FASTOPEN | MSG_DONTWAIT),
            Ok(5)
        );
        let (syn, cookie) = one_with_cookie(script);
        assert_eq!(syn.payload, b"hello");
        assert_eq!(cookie.map(|c| c.value().to_vec()), Some(COOKIE.to_vec()));
        script.deliver(&synack_echoing(&syn, 7000, 6, None));
        assert!(script.sent_one().is(ACK));
        (id, syn.seq.wrapping_add(6), 7001)
    }

    /// Sends data nobody acknowledges and runs the retransmission timer until Fast Open is
    /// paused (or 20 s pass): the connection's timeouts when it happened.
    fn time_out_until_paused(script: &mut Script, id: SocketId) -> Option<u8> {
        assert_eq!(script.send(id, b"lost in a blackhole"), Ok(19));
        script.sent();
        for _ in 0..2000 {
            script.advance(10);
            script.sent();
            if script.tcp.fastopen_blackhole_detections() > 0 {
                return Some(script.tcp_info(id, 104)[2]);
            }
        }
        None
    }

    /// The next MSG_FASTOPEN: Ok(SYN carried the data and the cookie) or Err(a plain SYN,
    /// the call answering EINPROGRESS).
    fn next_syn_uses_fast_open(script: &mut Script) -> bool {
        script.sent();
        let id = script.socket();
        let answer = fast_open_send(script, id, b"again", MSG_FASTOPEN | MSG_DONTWAIT);
        let (syn, cookie) = one_with_cookie(script);
        let used = answer == Ok(5);
        assert_eq!(used, syn.payload == b"again");
        assert_eq!(used, cookie.is_some());
        if !used {
            assert_eq!(answer, Err(Errno::EINPROGRESS));
            // A pause is no cookie failure: tcpi_fastopen_client_fail stays 0.
            assert_eq!((script.tcp_info(id, 104)[7] >> 1) & 3, 0);
        }
        script.tcp.close(script.now, id);
        script.sent();
        used
    }

    #[test]
    fn the_default_timeout_0_never_pauses() {
        let mut script = script_with_blackhole_timeout(0);
        learn_cookie(&mut script);
        let (id, _, _) = fast_open_connection(&mut script);
        assert_eq!(time_out_until_paused(&mut script, id), None);
        assert!(next_syn_uses_fast_open(&mut script));
    }

    #[test]
    fn the_third_timeout_pauses_fast_open_for_the_timeout() {
        let mut script = script_with_blackhole_timeout(TIMEOUT_SECS);
        learn_cookie(&mut script);
        let (id, _, _) = fast_open_connection(&mut script);
        // icsk_retransmits == 2 when tcp_write_timeout runs: the third timeout.
        assert_eq!(time_out_until_paused(&mut script, id), Some(3));
        assert!(!next_syn_uses_fast_open(&mut script));
        // The detection happened within the last 10 ms step.
        script.advance(u64::from(TIMEOUT_SECS) * 1000 - 10);
        assert!(!next_syn_uses_fast_open(&mut script));
        script.advance(10);
        assert!(next_syn_uses_fast_open(&mut script));
    }

    #[test]
    fn a_second_detection_doubles_the_pause_and_data_after_a_pause_clears_it() {
        let mut script = script_with_blackhole_timeout(1);
        learn_cookie(&mut script);
        let (id, _, _) = fast_open_connection(&mut script);
        assert_eq!(time_out_until_paused(&mut script, id), Some(3));
        script.advance(1000);
        // The pause is over: this connection is marked (syn_fastopen_ch) and blackholed too.
        let (second, _, _) = fast_open_connection(&mut script);
        let detections = script.tcp.fastopen_blackhole_detections();
        assert_eq!(detections, 1);
        assert_eq!(time_out_until_paused_again(&mut script, second, 2), Some(3));
        // Two detections: 2 s (the second within the last 10 ms step).
        script.advance(1990);
        assert!(!next_syn_uses_fast_open(&mut script));
        script.advance(10);
        // A marked connection that receives data, over a route that is not loopback,
        // clears the count when it is destroyed.
        let (third, our_next, peer_next) = fast_open_connection(&mut script);
        let port = script.tcp.local_addr(third).unwrap().port();
        script.deliver(
            &PeerSegment::new(ACK | PSH, peer_next, our_next)
                .coming_from(SERVER_PORT)
                .addressed_to(port)
                .data(b"reply"),
        );
        script.sent();
        assert_eq!(script.tcp.fastopen_blackhole_detections(), 2);
        script.deliver(
            &PeerSegment::new(RST, peer_next + 5, 0)
                .coming_from(SERVER_PORT)
                .addressed_to(port),
        );
        script.tcp.close(script.now, third);
        assert_eq!(script.tcp.fastopen_blackhole_detections(), 0);
    }

    /// Like `time_out_until_paused`, until the count reaches `detections`.
    fn time_out_until_paused_again(
        script: &mut Script,
        id: SocketId,
        detections: u32,
    ) -> Option<u8> {
        assert_eq!(script.send(id, b"lost again"), Ok(10));
        script.sent();
        for _ in 0..2000 {
            script.advance(10);
            script.sent();
            if script.tcp.fastopen_blackhole_detections() >= detections {
                return Some(script.tcp_info(id, 104)[2]);
            }
        }
        None
    }

    #[test]
    fn an_unanswered_fast_open_syn_pauses_at_its_third_timeout() {
        let mut script = script_with_blackhole_timeout(TIMEOUT_SECS);
        learn_cookie(&mut script);
        let id = script.socket();
        assert_eq!(
            fast_open_send(&mut script, id, b"hello", MSG_FASTOPEN | MSG_DONTWAIT),
            Ok(5)
        );
        script.sent();
        let mut timeouts_at_pause = None;
        for _ in 0..1000 {
            script.advance(10);
            script.sent();
            if script.tcp.fastopen_blackhole_detections() > 0 {
                timeouts_at_pause = Some(script.tcp_info(id, 104)[2]);
                break;
            }
        }
        assert_eq!(timeouts_at_pause, Some(3));
        assert!(!next_syn_uses_fast_open(&mut script));
    }

    #[test]
    fn a_lone_out_of_order_fin_without_data_pauses_at_destruction() {
        let mut script = script_with_blackhole_timeout(TIMEOUT_SECS);
        learn_cookie(&mut script);
        let (id, our_next, peer_next) = fast_open_connection(&mut script);
        let port = script.tcp.local_addr(id).unwrap().port();
        // The data before it was dropped: the FIN sits alone out of order.
        script.deliver(
            &PeerSegment::new(ACK | FIN, peer_next + 100, our_next)
                .coming_from(SERVER_PORT)
                .addressed_to(port),
        );
        script.sent();
        assert_eq!(script.tcp.fastopen_blackhole_detections(), 0);
        script.deliver(
            &PeerSegment::new(RST, peer_next, 0)
                .coming_from(SERVER_PORT)
                .addressed_to(port),
        );
        script.tcp.close(script.now, id);
        assert_eq!(script.tcp.fastopen_blackhole_detections(), 1);
        assert!(!next_syn_uses_fast_open(&mut script));
    }

    #[test]
    fn a_connection_that_received_data_does_not_pause() {
        let mut script = script_with_blackhole_timeout(TIMEOUT_SECS);
        learn_cookie(&mut script);
        let (id, our_next, peer_next) = fast_open_connection(&mut script);
        let port = script.tcp.local_addr(id).unwrap().port();
        script.deliver(
            &PeerSegment::new(ACK | PSH, peer_next, our_next)
                .coming_from(SERVER_PORT)
                .addressed_to(port)
                .data(b"data"),
        );
        script.deliver(
            &PeerSegment::new(ACK | FIN, peer_next + 100, our_next)
                .coming_from(SERVER_PORT)
                .addressed_to(port),
        );
        script.sent();
        script.deliver(
            &PeerSegment::new(RST, peer_next + 4, 0)
                .coming_from(SERVER_PORT)
                .addressed_to(port),
        );
        script.tcp.close(script.now, id);
        assert_eq!(script.tcp.fastopen_blackhole_detections(), 0);
        assert!(next_syn_uses_fast_open(&mut script));
    }
}
