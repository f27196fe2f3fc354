//! SACK blocks that do not fall on segment edges, and SACK reneging, as Linux 6.18's
//! tcp_sacktag_write_queue / tcp_match_skb_to_sack and tcp_check_sack_reneging /
//! tcp_timeout_mark_lost handle them, as packet scripts against a scripted peer in virtual
//! time (the conventions of `tcp_recovery.rs`: script sequence n is our ISS + n).
//!
//! A SACK block marks only whole segments: tcp_match_skb_to_sack splits a multi-segment
//! (GSO) skb at the block's edges rounded to MSS multiples of the skb ("so that SACKs cover
//! only full MSSes") and never splits a one-segment skb, so the part of a segment a block
//! covers is neither SACKed nor spared from retransmission. Each record of our
//! retransmission queue is one segment as sent, so the kernel's split points are our record
//! edges.

mod tcp_harness;

/// Named `tcp` so `cargo test -p ipshim-stack tcp` selects every script here.
mod tcp {
    use super::tcp_harness::packetdrill::*;
    use super::tcp_harness::*;

    /// Ten segments of 1000 bytes, all sent at once.
    fn ten_segments_out() -> Server {
        let mut server = Server::open(1000, 320);
        server.write(10_000);
        let sent = server.sent();
        assert_eq!(sent.len(), 10);
        assert_eq!(sent[0], (1, 1000));
        assert_eq!(sent[9], (9001, 1000));
        server
    }

    /// A block covering parts of two segments and none whole SACKs nothing: no segment is
    /// marked, the ACK is a plain duplicate and the state stays Open.
    #[test]
    fn block_inside_two_segments_sacks_nothing() {
        let mut server = ten_segments_out();
        server.advance(100);
        server.ack(1, 320, &[(1501, 2501)]);
        let info = server.info();
        assert_eq!((info.ca_state(), info.sacked(), info.lost()), (OPEN, 0, 0));
        assert!(server.sent().is_empty());
    }

    /// tcp_match_skb_to_sack's "if (pkt_len < mss) return -EINVAL": a block starting on a
    /// segment edge but ending inside that segment marks nothing either.
    #[test]
    fn block_shorter_than_a_segment_sacks_nothing() {
        let mut server = ten_segments_out();
        server.advance(100);
        server.ack(1, 320, &[(3001, 3501)]);
        let info = server.info();
        assert_eq!((info.ca_state(), info.sacked()), (OPEN, 0));
        // A block over the whole segment marks it (Disorder: something SACKed).
        server.ack(1, 320, &[(3001, 4001)]);
        let info = server.info();
        assert_eq!((info.ca_state(), info.sacked()), (DISORDER, 1));
    }

    /// A block from the middle of one segment to the middle of another SACKs the six
    /// segments wholly inside (the kernel's split points rounded up at the left edge and
    /// down at the right one). RACK (reordering window 0 with six SACKed) marks the three
    /// segments below lost, the half-covered 2001:3001 among them, and PRR (ssthresh 7,
    /// one segment in flight) sends all three again; 9001:10001, sent after the newest
    /// SACKed segment, is not lost, and no SACKed byte is sent again.
    #[test]
    fn block_off_segment_edges_sacks_whole_segments_only() {
        let mut server = ten_segments_out();
        server.advance(100);
        server.ack(1, 320, &[(2501, 9501)]);
        assert_eq!(server.sent(), vec![(1, 1000), (1001, 1000), (2001, 1000)]);
        let info = server.info();
        assert_eq!(info.ca_state(), RECOVERY);
        assert_eq!(
            (info.unacked(), info.sacked(), info.lost(), info.retrans()),
            (10, 6, 3, 3)
        );
        // The retransmissions arrive: the ACK covers through the SACKed run; the tail is
        // still out and only RACK's timer or the RTO would send it again.
        // The retransmissions arrive and the ACK covers through the SACKed run. They were
        // sent 100 ms after 9001:10001, so RACK now finds that one overdue too (its
        // reordering window is zero in recovery) and sends it again.
        server.advance(100);
        server.ack(9001, 320, &[]);
        assert_eq!(server.sent(), vec![(9001, 1000)]);
        let info = server.info();
        assert_eq!(
            (info.unacked(), info.sacked(), info.lost(), info.retrans()),
            (1, 0, 1, 1)
        );
        server.advance(100);
        server.ack(10_001, 320, &[]);
        let info = server.info();
        assert_eq!((info.ca_state(), info.unacked()), (OPEN, 0));
        // Four retransmissions in all, none of a SACKed byte.
        assert_eq!(info.total_retrans(), 4);
    }

    /// Blocks that each cover part of a segment and together cover all of it: every block
    /// is matched on its own (tcp_sacktag_write_queue does not merge a new block with
    /// earlier marks), so the segment stays unSACKed.
    #[test]
    fn two_blocks_splitting_one_segment_sack_nothing_of_it() {
        let mut server = ten_segments_out();
        server.advance(100);
        server.ack(1, 320, &[(4001, 4501), (4501, 5001)]);
        assert_eq!(server.info().sacked(), 0);
        server.ack(1, 320, &[(4001, 5001)]);
        assert_eq!(server.info().sacked(), 1);
    }

    /// The packetdrill script of Linux commit "tcp: fix cwnd ... tcp_check_sack_reneging"
    /// (net-next, FLAG_SET_XMIT_TIMER cleared): after `<sack 1001:10001>` the head is lost
    /// and sent again; `ack 1001 <sack 9001:10001>` stops at a SACKed segment, and the
    /// retransmission timer fires max(SRTT/2, 10 ms) later (50 ms, 13 jiffies: 52 ms), not
    /// an RTO later: the SACK marks are forgotten, everything is lost, 1001:2001 goes again.
    #[test]
    fn reneging_retransmits_after_half_the_srtt() {
        let mut server = ten_segments_out();
        server.advance(100);
        server.ack(1, 257, &[(1001, 10_001)]);
        assert_eq!(server.sent(), vec![(1, 1000)]);
        assert_eq!(server.info().sacked(), 9);
        server.advance(100);
        server.ack(1001, 257, &[(9001, 10_001)]);
        assert!(server.sent().is_empty());
        let info = server.info();
        // Until the timer fires the marks stand.
        assert_eq!((info.ca_state(), info.sacked()), (RECOVERY, 9));
        server.advance(51);
        assert!(server.sent().is_empty());
        server.advance(1);
        assert_eq!(server.sent(), vec![(1001, 1000)]);
        let info = server.info();
        assert_eq!(info.ca_state(), LOSS);
        assert_eq!(
            (info.unacked(), info.sacked(), info.lost(), info.retrans()),
            (9, 0, 9, 1)
        );
        // The receiver now acknowledges in order: each ACK clocks out more of the lost
        // segments, the once-SACKed ones included.
        server.advance(100);
        server.ack(2001, 257, &[]);
        let sent = server.sent();
        assert!(!sent.is_empty());
        assert_eq!(sent[0], (2001, 1000));
    }

    /// More ACKs within the delay that repair the scoreboard end the episode: the timer
    /// goes back to the RTO (or a probe) and nothing is resent.
    #[test]
    fn reneging_repaired_before_the_timer_resends_nothing() {
        let mut server = ten_segments_out();
        server.advance(100);
        server.ack(1, 257, &[(1001, 10_001)]);
        assert_eq!(server.sent(), vec![(1, 1000)]);
        server.advance(100);
        server.ack(1001, 257, &[(9001, 10_001)]);
        server.advance(20);
        server.ack(10_001, 257, &[]);
        server.advance(100);
        assert!(server.sent().is_empty());
        let info = server.info();
        assert_eq!(
            (info.unacked(), info.sacked(), info.total_retrans()),
            (0, 0, 1)
        );
    }

    /// Without SND.UNA moving (a duplicate ACK whose blocks leave out what was SACKed)
    /// there is no reneging check (FLAG_SND_UNA_ADVANCED) and no mark is cleared: SACK
    /// information only accumulates.
    #[test]
    fn sacked_segment_missing_from_a_duplicate_ack_is_no_reneging() {
        let mut server = ten_segments_out();
        server.advance(100);
        server.ack(1, 257, &[(5001, 6001)]);
        assert_eq!(server.info().sacked(), 1);
        server.advance(10);
        server.ack(1, 257, &[(7001, 8001)]);
        let info = server.info();
        assert_eq!((info.sacked(), info.ca_state()), (2, DISORDER));
        // RACK's reordering timer (SRTT 100 ms + min_rtt/4) then marks the six segments
        // below 7001 that are not SACKed lost; both SACKed segments keep their marks.
        server.advance(60);
        assert_eq!(server.sent(), vec![(1, 1000)]);
        let info = server.info();
        assert_eq!(
            (info.ca_state(), info.sacked(), info.lost(), info.retrans()),
            (RECOVERY, 2, 6, 1)
        );
    }

    /// A cumulative ACK ending inside a SACKed segment also lands on it (the partly
    /// acknowledged segment stays at the head, SACKed).
    #[test]
    fn ack_inside_a_sacked_segment_is_reneging() {
        let mut server = ten_segments_out();
        server.advance(100);
        server.ack(1, 257, &[(1001, 10_001)]);
        assert_eq!(server.sent(), vec![(1, 1000)]);
        server.advance(100);
        server.ack(1501, 257, &[]);
        server.advance(51);
        assert!(server.sent().is_empty());
        server.advance(1);
        let sent = server.sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(server.info().ca_state(), LOSS);
        assert_eq!(server.info().sacked(), 0);
    }

    /// The ctest's case (tcp_sack_partial) on a host whose default congestion control is
    /// BBR, as this machine's is: BBR paces, so the three retransmissions after
    /// `<sack 2501:9501>` do not all leave at once; the pacing timer sends the rest
    /// (tcp_pace_kick → tcp_tsq_write retransmits lost segments before new data).
    #[test]
    fn paced_retransmissions_continue_from_the_pacing_timer() {
        let mut sysctls = stack::Sysctls::default();
        sysctls.tcp.congestion_control = "bbr".into();
        let script = Script::with_sysctls(sysctls);
        // `< S 0:0(0) win 32792 <mss 1000,sackOK>`: no window scaling, no timestamps.
        let mut server = Server::open_on(script, vec![2, 4, 3, 232, 1, 1, 4, 2], 64240);
        server.write(10_000);
        assert_eq!(server.sent().len(), 10);
        server.advance(20);
        server.ack(1, 64240, &[(2501, 9501)]);
        let mut resent = server.sent();
        for _ in 0..20 {
            server.advance(1);
            resent.extend(server.sent());
        }
        assert_eq!(resent, vec![(1, 1000), (1001, 1000), (2001, 1000)]);
        let info = server.info();
        assert_eq!(
            (info.unacked(), info.sacked(), info.lost(), info.retrans()),
            (10, 6, 3, 3)
        );
    }

    /// tp->is_sack_reneg: from the timeout that found the reneging until the loss episode
    /// ends, tcp_rate_gen gives no delivery-rate sample ("Rate samples taken during a SACK
    /// reneging event may overestimate bw by including packets that were SACKed before the
    /// reneg"), so tcpi_delivery_rate keeps the value from before.
    #[test]
    fn no_rate_sample_while_recovering_from_reneging() {
        let mut server = ten_segments_out();
        server.advance(100);
        server.ack(1, 257, &[(1001, 10_001)]);
        assert_eq!(server.sent(), vec![(1, 1000)]);
        server.advance(100);
        server.ack(1001, 257, &[(9001, 10_001)]);
        server.advance(52);
        assert_eq!(server.sent(), vec![(1001, 1000)]);
        let before = server.info().delivery_rate();
        assert_ne!(before, 0);
        for end in [2001, 3001, 4001] {
            server.advance(100);
            server.ack(end, 257, &[]);
            let _ = server.sent();
            let info = server.info();
            assert_eq!(info.ca_state(), LOSS);
            assert_eq!(info.delivery_rate(), before, "after ack {end}");
        }
    }
}
