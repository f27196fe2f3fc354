//! Loss detection and recovery as Linux 6.18 runs it by default (tcp_recovery = 1: RACK,
//! tcp_early_retrans = 3: TLP, tcp_frto = 2, tcp_dsack = 1), as packet scripts against a
//! scripted peer in virtual time. Scripts translated from Linux's packetdrill tests name
//! their source above them; the times are the script's, the expectations the kernel's.

mod tcp_harness;

/// Named `tcp` so `cargo test -p ipshim-stack tcp` selects every script here.
mod tcp {
    use super::tcp_harness::packetdrill::*;
    use super::tcp_harness::*;

    /// google/packetdrill gtests/net/tcp/fast_retransmit/fr-4pkt-sack.pkt: four segments,
    /// the first lost; the third SACK reaches DupThresh and RACK (its reordering window is
    /// zero at three SACKed segments without reordering seen) marks it lost at once.
    #[test]
    fn fast_retransmit_after_three_sacks() {
        let mut server = Server::open(1460, 257);
        server.write(5840);
        assert_eq!(
            server.sent(),
            vec![(1, 1460), (1461, 1460), (2921, 1460), (4381, 1460)]
        );
        server.advance(100);
        server.ack(1, 257, &[(1461, 2921)]);
        server.ack(1, 257, &[(1461, 4381)]);
        assert!(server.sent().is_empty());
        server.ack(1, 257, &[(1461, 5841)]);
        assert_eq!(server.sent(), vec![(1, 1460)]);
        let info = server.info();
        assert_eq!(info.ca_state(), RECOVERY);
        assert_eq!(
            (info.unacked(), info.sacked(), info.lost(), info.retrans()),
            (4, 3, 1, 1)
        );
        assert_eq!(info.total_retrans(), 1);
        server.advance(100);
        server.ack(5841, 257, &[]);
        let info = server.info();
        assert_eq!(info.ca_state(), OPEN);
        assert_eq!((info.unacked(), info.lost(), info.retrans()), (0, 0, 0));
        // A hole filled by a retransmission is no reordering.
        assert_eq!((info.reordering(), info.reord_seen()), (3, 0));
    }

    /// google/packetdrill gtests/net/tcp/fast_recovery/prr-ss-10pkt-lost-1.pkt (also
    /// tools/testing/selftests/net/packetdrill/tcp_fast_recovery_prr-ss-10pkt-lost-1.pkt):
    /// in-flight equals ssthresh through recovery, so PRR sends one segment per segment
    /// SACKed or ACKed; cwnd and ssthresh are 7 (CUBIC's 10 × 717/1024).
    #[test]
    fn prr_sends_one_segment_per_delivery() {
        let mut server = Server::open(1000, 320);
        server.write(10_000);
        assert_eq!(server.sent().len(), 10);
        server.advance(110);
        server.ack(1, 320, &[(1001, 2001)]);
        server.advance(10);
        server.ack(1, 320, &[(1001, 3001)]);
        server.advance(10);
        server.ack(1, 320, &[(1001, 4001)]);
        assert_eq!(server.sent(), vec![(1, 1000)]);
        server.advance(10);
        let info = server.info();
        assert_eq!(info.ca_state(), RECOVERY);
        assert_eq!((info.cwnd(), info.ssthresh()), (7, 7));
        server.advance(10);
        server.write(7000);
        assert!(server.sent().is_empty());
        for (n, end) in (5001..=10_001).step_by(1000).enumerate() {
            server.advance(10);
            server.ack(1, 320, &[(1001, end)]);
            let start = 10_001 + 1000 * n as u32;
            assert_eq!(server.sent(), vec![(start, 1000)], "after sack 1001:{end}");
        }
        server.advance(20);
        server.ack(10_001, 320, &[]);
        assert_eq!(server.sent(), vec![(16_001, 1000)]);
        server.advance(10);
        let info = server.info();
        assert_eq!(info.ca_state(), OPEN);
        assert_eq!((info.cwnd(), info.ssthresh()), (7, 7));
    }

    /// tools/testing/selftests/net/packetdrill/tcp_dsack_mult.pkt: SACK coalescing, and
    /// the D-SACK blocks of RFC 2883 for data received twice (the repeated out-of-order
    /// range when a retransmission covers it, then an old segment).
    #[test]
    fn receiver_reports_duplicates_with_dsack() {
        let mut server = Server::open(1000, 1024);
        let theirs = server.theirs;
        let expect = |server: &mut Server, seq: u32, len: usize, ack: u32, sacks: &[(u32, u32)]| {
            server.data(seq, len, 1024);
            // The fourth ACK for the same RCV.NXT is compressed (tcp_comp_sack_delay_ns,
            // 1 ms at most): packetdrill's timing tolerance takes it as "+0".
            server.advance(2);
            let sent = server.sent_segments();
            assert_eq!(sent.len(), 1, "one ACK for {seq}:{}", seq + len as u32);
            let segment = &sent[0];
            assert_eq!(segment.ack, theirs + ack);
            let got: Vec<(u32, u32)> = segment
                .sacks
                .iter()
                .map(|&(l, r)| (l - theirs, r - theirs))
                .collect();
            assert_eq!(got, sacks, "after {seq}:{}", seq + len as u32);
        };
        expect(&mut server, 1001, 1000, 1, &[(1001, 2001)]);
        expect(&mut server, 2001, 1000, 1, &[(1001, 3001)]);
        expect(&mut server, 4001, 1000, 1, &[(4001, 5001), (1001, 3001)]);
        expect(
            &mut server,
            7001,
            1000,
            1,
            &[(7001, 8001), (4001, 5001), (1001, 3001)],
        );
        // DSACK (1001:3001) + SACK (6001:7001).
        expect(&mut server, 1, 6000, 6001, &[(1001, 3001), (7001, 8001)]);
        // DSACK (7001:8001).
        expect(&mut server, 6001, 2000, 8001, &[(7001, 8001)]);
        // DSACK for an older segment.
        expect(&mut server, 1, 1000, 8001, &[(1, 1001)]);
    }

    /// RFC 8985 7.2 / tcp_schedule_loss_probe: with two or more segments out the probe
    /// timeout is 2·SRTT + 2 ms (in jiffies: 204 ms for SRTT 100 ms), before the RTO
    /// (300 ms here); tcp_send_loss_probe sends new data when there is some, past the
    /// congestion window. Its ACK ends the episode without a reduction.
    #[test]
    fn loss_probe_sends_new_data_at_two_srtt() {
        let mut server = Server::open(1000, 320);
        server.write(11_000);
        assert_eq!(server.sent().len(), 10);
        server.advance(203);
        assert!(server.sent().is_empty());
        server.advance(1);
        assert_eq!(server.sent(), vec![(10_001, 1000)]);
        let info = server.info();
        assert_eq!((info.ca_state(), info.total_retrans()), (OPEN, 0));
        server.advance(50);
        server.ack(11_001, 320, &[]);
        let info = server.info();
        // Slow start: eleven segments delivered.
        assert_eq!((info.ca_state(), info.cwnd()), (OPEN, 21));
    }

    /// tcp_send_loss_probe without new data: the last segment again (a retransmission in
    /// tcpi_total_retrans, but not in tcpi_retrans). A D-SACK of exactly the probe
    /// (FLAG_DSACK_TLP) says both copies arrived: no loss, no reduction, one D-SACKed
    /// duplicate (tcpi_dsack_dups).
    #[test]
    fn loss_probe_retransmits_the_tail_and_its_dsack_means_no_loss() {
        let mut server = Server::open(1000, 320);
        server.write(2000);
        assert_eq!(server.sent(), vec![(1, 1000), (1001, 1000)]);
        server.advance(204);
        assert_eq!(server.sent(), vec![(1001, 1000)]);
        let info = server.info();
        assert_eq!(
            (info.total_retrans(), info.retrans(), info.lost()),
            (1, 0, 0)
        );
        server.advance(100);
        server.ack(2001, 320, &[(1001, 2001)]);
        let info = server.info();
        assert_eq!(info.ca_state(), OPEN);
        assert_eq!(info.dsack_dups(), 1);
        assert_eq!(info.ssthresh(), 0x7fff_ffff);
        assert_eq!(info.cwnd(), 10);
    }

    /// RFC 5682 (tcp_enter_loss / tcp_process_loss): after the RTO the head alone is sent
    /// again with cwnd 1; an ACK of never-retransmitted data below the recovery point
    /// (FLAG_ORIG_SACK_ACKED) shows the timeout was spurious, and the reduction is undone
    /// (tcp_try_undo_loss with frto_undo).
    #[test]
    fn frto_undoes_a_spurious_timeout() {
        let mut server = Server::open(1000, 320);
        server.write(12_000);
        assert_eq!(server.sent().len(), 10);
        // The loss probe (new data) at 204 ms, then the RTO 300 ms later.
        server.advance(204);
        assert_eq!(server.sent(), vec![(10_001, 1000)]);
        server.advance(299);
        assert!(server.sent().is_empty());
        server.advance(1);
        assert_eq!(server.sent(), vec![(1, 1000)]);
        let info = server.info();
        assert_eq!(info.ca_state(), LOSS);
        assert_eq!((info.cwnd(), info.lost(), info.retrans()), (1, 11, 1));
        // The originals were only delayed.
        server.advance(20);
        server.ack(5001, 320, &[]);
        let info = server.info();
        assert_eq!(info.ca_state(), OPEN);
        assert_eq!(info.lost(), 0);
        assert_eq!(info.ssthresh(), 0x7fff_ffff);
        assert!(info.cwnd() >= 10, "cwnd {}", info.cwnd());
    }

    /// tcp_try_undo_dsack: every retransmission of a fast recovery comes back D-SACKed, so
    /// the recovery was needless; cwnd and ssthresh return to their values before it. The
    /// D-SACK is below SND.UNA ("D-SACK for already forgotten data... Do dumb counting"),
    /// and without timestamps nothing proves reordering: tcpi_reord_seen stays 0.
    #[test]
    fn dsack_of_every_retransmission_undoes_recovery() {
        let mut server = Server::open(1000, 320);
        server.write(10_000);
        assert_eq!(server.sent().len(), 10);
        server.advance(100);
        server.ack(1, 320, &[(1001, 2001)]);
        server.ack(1, 320, &[(1001, 3001)]);
        server.ack(1, 320, &[(1001, 4001)]);
        assert_eq!(server.sent(), vec![(1, 1000)]);
        assert_eq!(server.info().ca_state(), RECOVERY);
        // The original segment 1:1001 arrives late: everything to 4001 is acknowledged.
        server.ack(4001, 320, &[]);
        let info = server.info();
        assert_eq!(info.ca_state(), RECOVERY);
        assert_eq!((info.reord_seen(), info.reordering()), (0, 3));
        // Then the retransmission's D-SACK.
        server.ack(4001, 320, &[(1, 1001)]);
        let info = server.info();
        assert_eq!(info.dsack_dups(), 1);
        assert_eq!(info.ssthresh(), 0x7fff_ffff);
        assert_eq!(info.cwnd(), 10);
    }

    /// RACK's reordering window (min_rtt/4 before DupThresh SACKs): a SACK above two
    /// unacknowledged segments only arms the REO timer; when they are acknowledged without
    /// a retransmission (tcp_clean_rtx_queue: "Non-retransmitted hole got filled? That's
    /// reordering") tcpi_reord_seen counts it and nothing was sent again.
    #[test]
    fn reordering_within_the_window_is_not_loss() {
        let mut server = Server::open(1000, 320);
        server.write(10_000);
        assert_eq!(server.sent().len(), 10);
        server.advance(100);
        server.ack(1, 320, &[(2001, 3001)]);
        assert!(server.sent().is_empty());
        let info = server.info();
        assert_eq!((info.ca_state(), info.lost()), (DISORDER, 0));
        server.advance(10);
        server.ack(3001, 320, &[]);
        assert!(server.sent().iter().all(|&(seq, _)| seq >= 10_001));
        let info = server.info();
        assert_eq!(info.ca_state(), OPEN);
        assert_eq!((info.reord_seen(), info.reordering()), (1, 3));
        assert_eq!(info.total_retrans(), 0);
    }

    /// The same SACK with no further ACK: the REO timer fires once the window has passed
    /// (usecs_to_jiffies(remaining) + TCP_TIMEOUT_MIN) and RACK marks both segments lost:
    /// recovery, and the first is retransmitted.
    #[test]
    fn reorder_timer_marks_the_holes_lost() {
        let mut server = Server::open(1000, 320);
        server.write(10_000);
        assert_eq!(server.sent().len(), 10);
        server.advance(100);
        server.ack(1, 320, &[(2001, 3001)]);
        // 25 ms of window, rounded to 28 ms of jiffies, plus two jiffies.
        server.advance(35);
        assert!(server.sent().is_empty());
        server.advance(1);
        let sent = server.sent();
        assert_eq!(sent.first(), Some(&(1, 1000)), "{sent:?}");
        let info = server.info();
        assert_eq!(info.ca_state(), RECOVERY);
        assert_eq!(info.lost(), 2);
    }

    /// google/packetdrill gtests/net/tcp/fast_retransmit/fr-4pkt.pkt: the receiver does not
    /// support SACK, so three duplicate ACKs (tcp_add_reno_sack) make tcp_newreno_mark_lost
    /// mark the head lost, and it is retransmitted at once.
    #[test]
    fn fast_retransmit_after_three_duplicate_acks_without_sack() {
        // <mss 1460,nop,wscale 7>
        let mut server = Server::open_with(vec![2, 4, 0x05, 0xb4, 1, 3, 3, 7], 257);
        server.write(5840);
        assert_eq!(server.sent().len(), 4);
        server.advance(100);
        server.ack(1, 257, &[]);
        server.ack(1, 257, &[]);
        assert!(server.sent().is_empty());
        let info = server.info();
        assert_eq!((info.ca_state(), info.sacked()), (DISORDER, 2));
        server.ack(1, 257, &[]);
        assert_eq!(server.sent(), vec![(1, 1460)]);
        let info = server.info();
        assert_eq!(info.ca_state(), RECOVERY);
        assert_eq!((info.lost(), info.retrans()), (1, 1));
        server.advance(100);
        server.ack(5841, 257, &[]);
        // NewReno holds the state until something above high_seq is acknowledged
        // (tcp_is_non_sack_preventing_reopen): the FIN will be.
        let info = server.info();
        assert_eq!((info.unacked(), info.lost(), info.retrans()), (0, 0, 0));
    }

    /// The host's net.ipv4 values are Linux's switches: tcp_reordering is tcpi_reordering's
    /// start and DupThresh, tcp_early_retrans 0 turns the loss probe off (the RTO fires
    /// instead), tcp_dsack 0 keeps the D-SACK block out of the duplicate's ACK.
    #[test]
    fn recovery_sysctls_are_the_hosts() {
        let sack_options = vec![2, 4, 0x03, 0xe8, 4, 2, 1, 1, 1, 3, 3, 7];
        let mut sysctls = stack::Sysctls::default();
        sysctls.tcp.reordering = 5;
        sysctls.tcp.early_retrans = 0;
        sysctls.tcp.dsack = false;
        let mut server = Server::open_on(Script::with_sysctls(sysctls), sack_options, 320);
        assert_eq!(server.info().reordering(), 5);
        server.write(2000);
        assert_eq!(server.sent().len(), 2);
        // No probe at 204 ms: the RTO (300 ms) retransmits the head.
        server.advance(299);
        assert!(server.sent().is_empty());
        server.advance(1);
        assert_eq!(server.sent(), vec![(1, 1000)]);
        assert_eq!(server.info().ca_state(), LOSS);
        // An old segment from the peer: ACKed without a D-SACK block.
        server.data(1, 100, 320);
        server.data(1, 100, 320);
        let acks = server.sent_segments();
        assert!(!acks.is_empty());
        assert!(acks.iter().all(|ack| ack.sacks.is_empty()), "{acks:?}");
    }

    /// google/packetdrill gtests/net/tcp/fast_recovery/prr-ss-30pkt-lost1_4.pkt (also
    /// tools/testing/selftests/net/packetdrill/tcp_fast_recovery_prr-ss-30pkt-lost1_4.pkt):
    /// segments 1 to 4 lost, RTT 10 ms. The first two SACKs only arm the REO timer (min_rtt/4
    /// of window); the third reaches DupThresh and RACK marks all four lost. PRR-SSRB then
    /// sends one retransmission per SACK; after recovery cwnd is ssthresh (7) and a new write
    /// goes out as seven segments at once.
    #[test]
    fn prr_slow_start_reduction_bound_with_four_losses() {
        let mut server = Server::open(1000, 320);
        // The script's RTT is 10 ms; here it is 100 ms (the SACK times keep their order and
        // stay inside the 25 ms reordering window the same way).
        server.write(10_000);
        assert_eq!(server.sent().len(), 10);
        server.advance(100);
        server.ack(1, 320, &[(4001, 5001)]);
        server.advance(2);
        server.ack(1, 320, &[(4001, 6001)]);
        assert!(server.sent().is_empty());
        server.ack(1, 320, &[(4001, 7001)]);
        assert_eq!(server.sent(), vec![(1, 1000)]);
        assert_eq!(server.info().lost(), 4);
        server.ack(1, 320, &[(4001, 8001)]);
        assert_eq!(server.sent(), vec![(1001, 1000)]);
        server.ack(1, 320, &[(4001, 9001)]);
        assert_eq!(server.sent(), vec![(2001, 1000)]);
        server.ack(1, 320, &[(4001, 10_001)]);
        assert_eq!(server.sent(), vec![(3001, 1000)]);
        server.advance(10);
        server.ack(1001, 320, &[(4001, 10_001)]);
        server.ack(2001, 320, &[(4001, 10_001)]);
        server.ack(3001, 320, &[(4001, 10_001)]);
        server.ack(10_001, 320, &[]);
        let info = server.info();
        assert_eq!(info.ca_state(), OPEN);
        assert_eq!((info.cwnd(), info.ssthresh()), (7, 7));
        assert_eq!(info.total_retrans(), 4);
        server.advance(10);
        server.write(10_000);
        let sent = server.sent();
        assert_eq!(sent.len(), 7, "{sent:?}");
        assert_eq!(sent[0], (10_001, 1000));
    }

    /// tcp_data_queue's "Partial packet, seq < rcv_next < end_seq" (D-SACK of the old part)
    /// and tcp_send_dupack for a segment wholly below the last window update (tcp_sequence
    /// fails): each ACK names the repeated range in its first SACK block, once.
    #[test]
    fn partial_and_out_of_window_duplicates_get_a_dsack() {
        let mut server = Server::open(1000, 1024);
        let theirs = server.theirs;
        let sacks = |segment: &Sent| -> Vec<(u32, u32)> {
            segment
                .sacks
                .iter()
                .map(|&(l, r)| (l - theirs, r - theirs))
                .collect()
        };
        server.data(1, 1000, 1024);
        server.advance(50);
        server.sent_segments();
        // 501:1501 repeats 501:1001.
        server.data(501, 1000, 1024);
        server.advance(50);
        let acks = server.sent_segments();
        let dsack = acks.iter().find(|a| !a.sacks.is_empty()).expect("a D-SACK");
        assert_eq!(dsack.ack, theirs + 1501);
        assert_eq!(sacks(dsack), vec![(501, 1001)]);
        // Below RCV.WUP: the duplicate ACK (quick-ACK mode) carries the D-SACK.
        server.data(1, 500, 1024);
        let acks = server.sent_segments();
        assert_eq!(acks.len(), 1);
        assert_eq!(acks[0].ack, theirs + 1501);
        assert_eq!(sacks(&acks[0]), vec![(1, 501)]);
        // The block went out once.
        server.data(1501, 100, 1024);
        server.advance(50);
        assert!(server.sent_segments().iter().all(|a| a.sacks.is_empty()));
    }
}
