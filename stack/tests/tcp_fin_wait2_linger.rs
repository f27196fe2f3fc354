//! An orphan kept in FIN_WAIT2 longer than TIME_WAIT (TCP_LINGER2 over 60 s), in virtual time.
//! tcp_close / tcp_rcv_state_process arm the socket's timer for "tmo - TCP_TIMEWAIT_LEN";
//! when it fires, tcp_keepalive_timer hands the connection to a TIME_WAIT record in substate
//! FIN_WAIT2 for "tcp_fin_time(sk) - TCP_TIMEWAIT_LEN" again (at least 3.5 RTO, as
//! tcp_time_wait sets it). So TCP_LINGER2 100 lasts 40 s on the socket and 40 s in the record,
//! 80 s in all; 120 (TCP_FIN_TIMEOUT_MAX) lasts 60 + 60 s. Which of the two answers shows in
//! the IP id of the ACK of a late FIN: the socket's own counter, or the control socket's 0.

mod tcp_harness;

/// Named `tcp` so `cargo test -p ipshim-stack tcp` selects every script here.
mod tcp {
    use super::tcp_harness::*;

    const SOL_TCP: i32 = 6;
    const TCP_LINGER2: i32 = 8;

    /// One segment queued; returns it parsed and its IP id choice (None: the control
    /// socket's DF and id 0, what a TIME_WAIT record answers with).
    fn sent_with_ident(script: &mut Script) -> (Sent, Option<u16>) {
        let queued = script.tcp.take_queued();
        assert_eq!(queued.len(), 1, "expected one segment");
        (Sent::parse(&queued[0]), queued[0].ident)
    }

    /// An orphan in FIN_WAIT2 with TCP_LINGER2 `seconds`, its FIN acked at `script.now`:
    /// (our next sequence number after the FIN, the peer's next, our port).
    fn orphan_in_fin_wait2(script: &mut Script, seconds: i32) -> (u32, u32, u16) {
        let (id, ours, peer, port) = established(script);
        script
            .setsockopt_int(id, SOL_TCP, TCP_LINGER2, seconds)
            .unwrap();
        script.close_sending_fin(id);
        script.deliver(&PeerSegment::new(ACK, peer, ours + 1).addressed_to(port));
        assert!(script.sent().is_empty());
        (ours + 1, peer, port)
    }

    /// The peer's FIN `after_ms` into FIN_WAIT2: what answers it.
    fn late_fin(seconds: i32, after_ms: u64) -> (Sent, Option<u16>) {
        let mut script = Script::new();
        let (ours, peer, port) = orphan_in_fin_wait2(&mut script, seconds);
        script.advance(after_ms);
        script.deliver(&PeerSegment::new(FIN | ACK, peer, ours).addressed_to(port));
        sent_with_ident(&mut script)
    }

    #[test]
    fn the_socket_waits_the_excess_over_time_wait_then_a_record_takes_over() {
        // Before 40 s the full socket ACKs the FIN (its own IP id), after it the record.
        let (ack, ident) = late_fin(100, 39_900);
        assert!(ack.is(ACK) && !ack.is(RST), "{ack:?}");
        assert!(ident.is_some(), "the socket answers before the handoff");
        let (ack, ident) = late_fin(100, 40_100);
        assert!(ack.is(ACK) && !ack.is(RST), "{ack:?}");
        assert_eq!(ident, None, "a TIME_WAIT record answers after the handoff");
    }

    #[test]
    fn linger2_100_lasts_80_seconds_in_all() {
        // The record's FIN_WAIT2 substate lasts tcp_fin_time - 60 s = 40 s more.
        let (ack, ident) = late_fin(100, 79_900);
        assert!(ack.is(ACK) && !ack.is(RST), "{ack:?}");
        assert_eq!(ident, None);
        let (reset, _) = late_fin(100, 80_100);
        assert!(reset.is(RST), "nothing left after 80 s: {reset:?}");
    }

    #[test]
    fn linger2_120_lasts_60_seconds_on_the_socket_and_60_in_the_record() {
        let (_, ident) = late_fin(120, 59_900);
        assert!(ident.is_some());
        let (_, ident) = late_fin(120, 60_100);
        assert_eq!(ident, None);
        let (ack, _) = late_fin(120, 119_900);
        assert!(ack.is(ACK) && !ack.is(RST), "{ack:?}");
        let (reset, _) = late_fin(120, 120_100);
        assert!(reset.is(RST), "{reset:?}");
    }

    #[test]
    fn the_record_keeps_the_fin_wait2_substate_rules() {
        // tcp_timewait_state_process, TCP_FIN_WAIT2: a duplicate ACK is ignored, new data
        // is answered with a reset that ends the record.
        let mut script = Script::new();
        let (ours, peer, port) = orphan_in_fin_wait2(&mut script, 100);
        script.advance(50_000);
        script.deliver(&PeerSegment::new(ACK, peer, ours).addressed_to(port));
        assert!(script.sent().is_empty());
        script.deliver(
            &PeerSegment::new(ACK | PSH, peer, ours)
                .addressed_to(port)
                .data(b"late"),
        );
        assert!(script.sent_one().is(RST));
        script.deliver(&PeerSegment::new(FIN | ACK, peer, ours).addressed_to(port));
        assert!(script.sent_one().is(RST), "the record is gone");
    }

    #[test]
    fn the_fin_wait2_record_of_a_peer_fin_lasts_time_wait() {
        // A FIN after the handoff turns the record into true TIME_WAIT for 60 s.
        let mut script = Script::new();
        let (ours, peer, port) = orphan_in_fin_wait2(&mut script, 100);
        script.advance(41_000);
        script.deliver(&PeerSegment::new(FIN | ACK, peer, ours).addressed_to(port));
        assert!(script.sent_one().is(ACK));
        // TIME_WAIT's 60 s from the FIN, past the FIN_WAIT2 budget (80 s): at 100.9 s the
        // record still holds the port; at 101.1 s it is gone.
        script.advance(59_900);
        script.deliver(&PeerSegment::new(SYN, peer.wrapping_sub(1000), 0).addressed_to(port));
        let (answer, ident) = sent_with_ident(&mut script);
        assert!(answer.is(ACK) && !answer.is(RST), "{answer:?}");
        assert_eq!(ident, None);
        script.advance(300);
        script.deliver(&PeerSegment::new(FIN | ACK, peer, ours).addressed_to(port));
        assert!(script.sent_one().is(RST));
    }

    #[test]
    fn a_linger2_within_time_wait_still_goes_to_a_record_at_once() {
        // tcp_fin_time <= TCP_TIMEWAIT_LEN: no socket timer, the record for the whole wait.
        let (ack, ident) = late_fin(60, 100);
        assert!(ack.is(ACK), "{ack:?}");
        assert_eq!(ident, None);
        let (reset, _) = late_fin(60, 60_100);
        assert!(reset.is(RST), "{reset:?}");
    }
}
