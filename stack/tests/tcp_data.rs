//! Packet scripts for the data path: SACK blocks, fast retransmit and recovery, the RTO and
//! its back-off, delayed ACKs, Nagle and TCP_CORK, zero windows in both directions,
//! keepalive, TCP_USER_TIMEOUT, MSG_PEEK / MSG_TRUNC.

mod tcp_harness;

/// Named `tcp` so `cargo test -p ipshim-stack tcp` selects every script here.
mod tcp {

    use super::tcp_harness::*;
    use stack::socket::msg_flags::{MSG_PEEK, MSG_TRUNC};
    use stack::socket::poll_bits::*;
    use stack::Errno;

    const SOL_SOCKET: i32 = 1;
    const SO_KEEPALIVE: i32 = 9;
    const SOL_TCP: i32 = 6;
    const TCP_NODELAY: i32 = 1;
    const TCP_CORK: i32 = 3;
    const TCP_KEEPIDLE: i32 = 4;
    const TCP_KEEPINTVL: i32 = 5;
    const TCP_KEEPCNT: i32 = 6;
    const TCP_QUICKACK: i32 = 12;
    const TCP_USER_TIMEOUT: i32 = 18;

    #[test]
    fn out_of_order_data_is_sacked_and_acked_at_once() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established_with_sack(&mut script);
        // Bytes 100..200 arrive before 0..100.
        script.deliver(
            &PeerSegment::new(ACK, peer_next + 100, our_next)
                .addressed_to(port)
                .data(&[b'b'; 100]),
        );
        let ack = script.sent_one();
        assert_eq!(ack.ack, peer_next);
        assert_eq!(ack.sacks, vec![(peer_next + 100, peer_next + 200)]);
        assert_eq!(script.recv(id, 500), Err(Errno::EAGAIN));
        script.deliver(
            &PeerSegment::new(ACK, peer_next + 300, our_next)
                .addressed_to(port)
                .data(&[b'd'; 100]),
        );
        // The newest block first (RFC 2018 4).
        assert_eq!(
            script.sent_one().sacks,
            vec![
                (peer_next + 300, peer_next + 400),
                (peer_next + 100, peer_next + 200)
            ]
        );
        // The hole is filled: an immediate ACK up to the next hole.
        script.deliver(
            &PeerSegment::new(ACK, peer_next, our_next)
                .addressed_to(port)
                .data(&[b'a'; 100]),
        );
        let ack = script.sent_one();
        assert_eq!(ack.ack, peer_next + 200);
        assert_eq!(ack.sacks, vec![(peer_next + 300, peer_next + 400)]);
        let data = script.recv(id, 1000).unwrap();
        assert_eq!(data.len(), 200);
        assert!(data[..100].iter().all(|&b| b == b'a') && data[100..].iter().all(|&b| b == b'b'));
    }

    #[test]
    fn sack_blocks_shrink_the_data_so_segments_fit_the_mtu() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established_with_sack(&mut script);
        script.deliver(
            &PeerSegment::new(ACK, peer_next + 100, our_next)
                .addressed_to(port)
                .data(&[1; 100]),
        );
        script.sent_one();
        script.setsockopt_int(id, SOL_TCP, TCP_NODELAY, 1).unwrap();
        assert_eq!(script.send(id, &[2; 3000]), Ok(3000));
        let sent = script.sent();
        // tcp_current_mss: 1448 less one SACK block (12 bytes with its NOPs).
        assert_eq!(sent[0].sacks.len(), 1);
        assert_eq!(sent[0].payload.len(), 1436);
        assert!(sent.iter().all(|s| s.payload.len() <= 1436));
    }

    #[test]
    fn receive_buffer_autotuning_opens_the_window() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established_with_sack(&mut script);
        assert_eq!(script.getsockopt_int(id, SOL_SOCKET, 8), Ok(131_072));
        let mut offset = 0u32;
        let mut last_window = 0u32;
        for _ in 0..30 {
            for _ in 0..14 {
                script.deliver(
                    &PeerSegment::new(ACK, peer_next + offset, our_next)
                        .addressed_to(port)
                        .data(&[4; 1448]),
                );
                offset += 1448;
            }
            script.advance(1);
            assert_eq!(script.recv(id, 1 << 20).unwrap().len(), 14 * 1448);
            if let Some(ack) = script.sent().pop() {
                last_window = u32::from(ack.window) << 7;
            }
        }
        // tcp_rcv_space_adjust grew SO_RCVBUF past its 128 KiB start, and the window with it.
        assert!(script.getsockopt_int(id, SOL_SOCKET, 8).unwrap() > 131_072);
        assert!(last_window > 65_536, "window {last_window}");
    }

    /// Queues `count` full segments from our side and returns what was sent.
    fn send_segments(
        script: &mut Script,
        id: stack::SocketId,
        count: usize,
        mss: usize,
    ) -> Vec<Sent> {
        let data = vec![7u8; count * mss];
        let mut written = 0;
        while written < data.len() {
            written += script.send(id, &data[written..]).unwrap();
        }
        script.sent()
    }

    #[test]
    fn three_duplicate_acks_trigger_fast_retransmit() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        let sent = send_segments(&mut script, id, 10, 1460);
        // The initial window is ten segments.
        assert_eq!(sent.len(), 10);
        assert!(sent.iter().all(|s| s.payload.len() == 1460));
        // Segment 0 is lost: the peer ACKs our_next again and again. The first of those ACKs
        // carries a sequence number above the SYN-ACK's, so tcp_may_update_window takes it as
        // a window update (FLAG_WIN_UPDATE), not a duplicate: three more follow.
        for _ in 0..3 {
            script.deliver(&PeerSegment::new(ACK, peer_next, our_next).addressed_to(port));
            assert!(script.sent().is_empty());
        }
        script.deliver(&PeerSegment::new(ACK, peer_next, our_next).addressed_to(port));
        let retransmission = script.sent();
        assert_eq!(retransmission[0].seq, our_next);
        assert_eq!(retransmission[0].payload.len(), 1460);
        // Recovery ends when everything sent so far is acknowledged.
        script.deliver(&PeerSegment::new(ACK, peer_next, our_next + 14_600).addressed_to(port));
        assert_eq!(script.tcp.poll(id) & POLLOUT, POLLOUT);
    }

    #[test]
    fn sack_recovery_retransmits_only_the_holes() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established_with_sack(&mut script);
        let sent = send_segments(&mut script, id, 10, 1448);
        assert_eq!(sent.len(), 10);
        let segment = |n: u32| our_next + n * 1448;
        // Segments 0 and 4 are lost; the peer SACKs 1..4 and 5..10.
        script.deliver(
            &PeerSegment::new(ACK, peer_next, our_next)
                .addressed_to(port)
                .timestamps(2, 0)
                .sack(&[(segment(1), segment(4)), (segment(5), segment(10))]),
        );
        let retransmitted: Vec<u32> = script
            .sent()
            .iter()
            .filter(|s| !s.payload.is_empty())
            .map(|s| s.seq)
            .collect();
        assert_eq!(retransmitted, vec![segment(0), segment(4)]);
        // A cumulative ACK of everything ends recovery; nothing else is resent.
        script.deliver(
            &PeerSegment::new(ACK, peer_next, segment(10))
                .addressed_to(port)
                .timestamps(3, 0),
        );
        script.advance(5_000);
        assert!(script.sent().iter().all(|s| s.payload.is_empty()));
    }

    #[test]
    fn retransmission_timeout_backs_off_and_gives_up() {
        let mut script = Script::new();
        let (id, our_next, _, _) = established(&mut script);
        assert_eq!(script.send(id, b"lost"), Ok(4));
        script.sent_one();
        let start = script.now;
        let mut times = Vec::new();
        for _ in 0..200_000 {
            script.advance(10);
            for sent in script.sent() {
                assert_eq!(sent.seq, our_next);
                times.push(script.now.saturating_since(start).as_millis() as u64);
            }
            if script.tcp.poll(id) & POLLERR != 0 {
                break;
            }
        }
        // RTO 200 ms (a near-zero SRTT plus the floor), doubling: 0.2, 0.6, 1.4, 3.0, 6.2 s ...
        // capped at 120 s between retransmissions.
        assert_eq!(&times[..5], &[210, 610, 1410, 3010, 6210]);
        let gaps: Vec<u64> = times.windows(2).map(|pair| pair[1] - pair[0]).collect();
        assert!(gaps.iter().all(|&gap| gap <= 120_010), "{gaps:?}");
        let gave_up = script.now.saturating_since(start).as_secs();
        // tcp_retries2 = 15: about 924.6 s after the first retransmission.
        assert!((924..=1100).contains(&gave_up), "gave up after {gave_up} s");
        assert_eq!(script.recv(id, 10), Err(Errno::ETIMEDOUT));
    }

    #[test]
    fn tcp_user_timeout_shortens_the_budget() {
        let mut script = Script::new();
        let (id, _, _, _) = established(&mut script);
        script
            .setsockopt_int(id, SOL_TCP, TCP_USER_TIMEOUT, 5_000)
            .unwrap();
        assert_eq!(
            script.getsockopt_int(id, SOL_TCP, TCP_USER_TIMEOUT),
            Ok(5_000)
        );
        assert_eq!(script.send(id, b"lost"), Ok(4));
        script.advance(4_000);
        assert_eq!(script.tcp.poll(id) & POLLERR, 0);
        script.advance(10_000);
        assert_eq!(script.send(id, b"x"), Err(Errno::ETIMEDOUT));
    }

    #[test]
    fn delayed_ack_after_the_quick_acks() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        // The first sixteen data segments are ACKed at once (quick-ACK mode).
        for n in 0..16u32 {
            script.deliver(
                &PeerSegment::new(ACK, peer_next + n * 10, our_next)
                    .addressed_to(port)
                    .data(&[1; 10]),
            );
            assert_eq!(script.sent().len(), 1, "segment {n}");
            script.recv(id, 100).unwrap();
        }
        script.deliver(
            &PeerSegment::new(ACK, peer_next + 160, our_next)
                .addressed_to(port)
                .data(&[1; 10]),
        );
        assert!(script.sent().is_empty());
        script.advance(39);
        assert!(script.sent().is_empty());
        script.advance(2);
        let ack = script.sent_one();
        assert_eq!(ack.ack, peer_next + 170);
        script.recv(id, 100).unwrap();
        // The first full segment grows the window (rcv_ssthresh), and tcp_grow_window
        // announces that at once ("inet_csk(sk)->icsk_ack.quick |= 1").
        script.deliver(
            &PeerSegment::new(ACK, peer_next + 170, our_next)
                .addressed_to(port)
                .data(&[1; 1460]),
        );
        assert_eq!(script.sent_one().ack, peer_next + 1630);
        script.recv(id, 2000).unwrap();
        // Then a second full segment since the last ACK is ACKed at once, the first not
        // (while the reader keeps the window from shrinking).
        script.deliver(
            &PeerSegment::new(ACK, peer_next + 1630, our_next)
                .addressed_to(port)
                .data(&[1; 1460]),
        );
        assert!(script.sent().is_empty());
        script.recv(id, 2000).unwrap();
        assert!(script.sent().is_empty());
        script.deliver(
            &PeerSegment::new(ACK, peer_next + 3090, our_next)
                .addressed_to(port)
                .data(&[1; 1460]),
        );
        assert_eq!(script.sent_one().ack, peer_next + 4550);
    }

    #[test]
    fn tcp_quickack_zero_delays_at_once() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        assert_eq!(script.getsockopt_int(id, SOL_TCP, TCP_QUICKACK), Ok(1));
        script.setsockopt_int(id, SOL_TCP, TCP_QUICKACK, 0).unwrap();
        assert_eq!(script.getsockopt_int(id, SOL_TCP, TCP_QUICKACK), Ok(0));
        script.deliver(
            &PeerSegment::new(ACK, peer_next, our_next)
                .addressed_to(port)
                .data(b"x"),
        );
        assert!(script.sent().is_empty());
        // Setting it to 1 runs tcp_cleanup_rbuf as after a read, with the segment marked
        // pushed: the owed ACK waits while the byte is unread ("!atomic_read(&sk->
        // sk_rmem_alloc)"), and goes with the read that empties the queue.
        script.setsockopt_int(id, SOL_TCP, TCP_QUICKACK, 1).unwrap();
        assert!(script.sent().is_empty());
        assert_eq!(script.recv(id, 10).unwrap(), b"x");
        assert_eq!(script.sent_one().ack, peer_next + 1);
        // With nothing unread it sends the owed ACK at once.
        script.setsockopt_int(id, SOL_TCP, TCP_QUICKACK, 0).unwrap();
        script.deliver(
            &PeerSegment::new(ACK, peer_next + 1, our_next)
                .addressed_to(port)
                .data(b"y"),
        );
        assert!(script.sent().is_empty());
        assert_eq!(script.recv(id, 10).unwrap(), b"y");
        assert!(script.sent().is_empty(), "pingpong: the read does not ACK");
        script.setsockopt_int(id, SOL_TCP, TCP_QUICKACK, 1).unwrap();
        assert_eq!(script.sent_one().ack, peer_next + 2);
    }

    #[test]
    fn nagle_holds_small_segments_until_acked() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        assert_eq!(script.send(id, b"one"), Ok(3));
        assert_eq!(script.sent_one().payload, b"one");
        assert_eq!(script.send(id, b"two"), Ok(3));
        assert!(
            script.sent().is_empty(),
            "Nagle: a small segment is in flight"
        );
        script.deliver(&PeerSegment::new(ACK, peer_next, our_next + 3).addressed_to(port));
        assert_eq!(script.sent_one().payload, b"two");
        // TCP_NODELAY: small segments go at once.
        script.setsockopt_int(id, SOL_TCP, TCP_NODELAY, 1).unwrap();
        assert_eq!(script.send(id, b"three"), Ok(5));
        assert_eq!(script.send(id, b"four"), Ok(4));
        assert_eq!(script.sent().len(), 2);
    }

    #[test]
    fn tcp_cork_holds_partial_segments_until_uncorked() {
        let mut script = Script::new();
        let (id, _, _, _) = established(&mut script);
        script.setsockopt_int(id, SOL_TCP, TCP_CORK, 1).unwrap();
        assert_eq!(script.send(id, &[5; 1000]), Ok(1000));
        assert!(script.sent().is_empty());
        assert_eq!(script.send(id, &[6; 1000]), Ok(1000));
        let full = script.sent_one();
        assert_eq!(full.payload.len(), 1460);
        script.setsockopt_int(id, SOL_TCP, TCP_CORK, 0).unwrap();
        assert_eq!(script.sent_one().payload.len(), 540);
    }

    #[test]
    fn zero_window_is_probed_until_it_opens() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        script.deliver(
            &PeerSegment::new(ACK, peer_next, our_next)
                .addressed_to(port)
                .window(0),
        );
        assert_eq!(script.send(id, b"waiting"), Ok(7));
        assert!(script.sent().is_empty());
        let mut probes = 0;
        for _ in 0..10 {
            script.advance(1_000);
            for probe in script.sent() {
                // tcp_xmit_probe_skb: an old sequence number, no data.
                assert_eq!(probe.seq, our_next.wrapping_sub(1));
                assert!(probe.payload.is_empty());
                probes += 1;
                script.deliver(
                    &PeerSegment::new(ACK, peer_next, our_next)
                        .addressed_to(port)
                        .window(0),
                );
            }
        }
        assert!(probes >= 3, "{probes} probes");
        script.deliver(
            &PeerSegment::new(ACK, peer_next, our_next)
                .addressed_to(port)
                .window(1000),
        );
        assert_eq!(script.sent_one().payload, b"waiting");
    }

    #[test]
    fn our_zero_window_and_the_update_after_reading() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        let mut offset = 0u32;
        let mut last_window = u16::MAX;
        for _ in 0..100 {
            script.deliver(
                &PeerSegment::new(ACK, peer_next + offset, our_next)
                    .addressed_to(port)
                    .data(&[9; 1460]),
            );
            if let Some(ack) = script.sent().pop() {
                last_window = ack.window;
                if ack.ack == peer_next + offset {
                    break;
                }
            }
            offset += 1460;
            if last_window == 0 {
                break;
            }
        }
        assert_eq!(last_window, 0, "the receive buffer never filled");
        let queued = offset as usize;
        // A probe at the edge gets the zero window again.
        script.deliver(&PeerSegment::new(ACK, peer_next + offset - 1, our_next).addressed_to(port));
        assert_eq!(script.sent_one().window, 0);
        // Reading opens the window and tells the peer at once.
        let read = script.recv(id, 1 << 20).unwrap();
        assert_eq!(read.len(), queued);
        let update = script.sent_one();
        assert!(update.window > 0);
        assert_eq!(update.ack, peer_next + offset);
    }

    #[test]
    fn keepalive_probes_then_reset_and_etimedout() {
        let mut script = Script::new();
        let (id, our_next, _, _) = established(&mut script);
        script
            .setsockopt_int(id, SOL_TCP, TCP_KEEPIDLE, 10)
            .unwrap();
        script
            .setsockopt_int(id, SOL_TCP, TCP_KEEPINTVL, 2)
            .unwrap();
        script.setsockopt_int(id, SOL_TCP, TCP_KEEPCNT, 3).unwrap();
        script
            .setsockopt_int(id, SOL_SOCKET, SO_KEEPALIVE, 1)
            .unwrap();
        assert_eq!(script.getsockopt_int(id, SOL_SOCKET, SO_KEEPALIVE), Ok(1));
        let start = script.now;
        let mut events = Vec::new();
        for _ in 0..40 {
            script.advance(500);
            for sent in script.sent() {
                events.push((
                    script.now.saturating_since(start).as_millis() as u64,
                    sent.flags,
                    sent.seq,
                ));
            }
        }
        let probe = (ACK, our_next.wrapping_sub(1));
        assert_eq!(
            events,
            vec![
                (10_000, probe.0, probe.1),
                (12_000, probe.0, probe.1),
                (14_000, probe.0, probe.1),
                (16_000, RST | ACK, our_next),
            ]
        );
        assert_eq!(script.recv(id, 1), Err(Errno::ETIMEDOUT));
    }

    #[test]
    fn keepalive_is_answered_and_resets_the_count() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        script
            .setsockopt_int(id, SOL_TCP, TCP_KEEPIDLE, 10)
            .unwrap();
        script
            .setsockopt_int(id, SOL_SOCKET, SO_KEEPALIVE, 1)
            .unwrap();
        script.advance(10_001);
        assert_eq!(script.sent_one().seq, our_next.wrapping_sub(1));
        script.deliver(&PeerSegment::new(ACK, peer_next, our_next).addressed_to(port));
        // As in tcp_keepalive_timer, the timer next fires one interval (75 s by default) after
        // the probe; the connection has been idle longer than TCP_KEEPIDLE by then, so it
        // probes again, with the unanswered-probe count back at zero.
        script.advance(74_000);
        assert!(script.sent().is_empty());
        script.advance(1_500);
        assert_eq!(script.sent().len(), 1);
        assert_eq!(script.tcp.poll(id) & POLLERR, 0);
    }

    #[test]
    fn peek_and_trunc() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        script.deliver(
            &PeerSegment::new(ACK | PSH, peer_next, our_next)
                .addressed_to(port)
                .data(b"abcdef"),
        );
        assert_eq!(script.recv_flags(id, 3, MSG_PEEK).unwrap(), b"abc");
        assert_eq!(script.recv_flags(id, 2, MSG_TRUNC).unwrap().len(), 2);
        assert_eq!(script.recv(id, 10).unwrap(), b"cdef");
        assert_eq!(script.recv(id, 10), Err(Errno::EAGAIN));
        // MSG_OOB without urgent data: EINVAL (tcp_recv_urg).
        assert_eq!(script.recv_flags(id, 10, 1), Err(Errno::EINVAL));
    }

    #[test]
    fn sol_tcp_options_answer_with_linux_errno() {
        // Expected values measured on Linux 6.18 with a fresh socket (see the helper report).
        let mut script = Script::new();
        let id = script.socket();
        let set = |script: &mut Script, name: i32, value: i32| {
            script.setsockopt_int(id, SOL_TCP, name, value)
        };
        assert_eq!(set(&mut script, TCP_KEEPIDLE, 0), Err(Errno::EINVAL));
        assert_eq!(set(&mut script, TCP_KEEPIDLE, 32768), Err(Errno::EINVAL));
        assert_eq!(set(&mut script, TCP_KEEPCNT, 128), Err(Errno::EINVAL));
        assert_eq!(set(&mut script, 2, 87), Err(Errno::EINVAL));
        assert_eq!(set(&mut script, TCP_USER_TIMEOUT, -1), Err(Errno::EINVAL));
        assert_eq!(set(&mut script, 11, 1), Err(Errno::ENOPROTOOPT));
        let now = script.now;
        assert_eq!(
            script
                .tcp
                .setsockopt(now, &script.net, id, SOL_TCP, TCP_NODELAY, &[1, 0]),
            Err(Errno::EINVAL)
        );
        assert_eq!(script.getsockopt_int(id, SOL_TCP, 2), Ok(536));
        assert_eq!(script.getsockopt_int(id, SOL_TCP, TCP_KEEPIDLE), Ok(7200));
        assert_eq!(script.getsockopt_int(id, SOL_TCP, TCP_USER_TIMEOUT), Ok(0));
        assert_eq!(script.getsockopt_int(id, SOL_TCP, TCP_QUICKACK), Ok(1));
        assert_eq!(
            script.getsockopt_int(id, SOL_TCP, 99),
            Err(Errno::ENOPROTOOPT)
        );
        assert_eq!(script.getsockopt_int(id, SOL_SOCKET, 7), Ok(16384));
        assert_eq!(script.getsockopt_int(id, SOL_SOCKET, 8), Ok(131072));
        // TCP_CONGESTION: the sysctl's default (cubic in Sysctls::default); bbr exists but
        // is outside the default tcp_allowed_congestion_control ("reno cubic"): EPERM
        // without CAP_NET_ADMIN; reno can be chosen.
        let name = script
            .tcp
            .getsockopt(&script.net, id, SOL_TCP, 13, 32)
            .unwrap();
        assert_eq!(name.len(), 16);
        assert_eq!(&name[..6], b"cubic\0");
        assert_eq!(
            script
                .tcp
                .setsockopt(now, &script.net, id, SOL_TCP, 13, b"bbr"),
            Err(Errno::EPERM)
        );
        assert_eq!(
            script
                .tcp
                .setsockopt(now, &script.net, id, SOL_TCP, 13, b"reno\0junk"),
            Ok(())
        );
        let name = script
            .tcp
            .getsockopt(&script.net, id, SOL_TCP, 13, 4)
            .unwrap();
        assert_eq!(name, b"reno");
        assert_eq!(
            script
                .tcp
                .setsockopt(now, &script.net, id, SOL_TCP, 13, b""),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn tcp_info_of_a_fresh_socket_matches_linux() {
        let mut script = Script::new();
        let id = script.socket();
        let info = script.tcp_info(id, 1024);
        assert_eq!(info.len(), 280);
        let u32_at = |at: usize| u32_at(&info, at);
        assert_eq!(info[0], 7);
        assert_eq!(info[7], 1);
        assert_eq!(u32_at(8), 1_000_000);
        assert_eq!(u32_at(16), 536);
        assert_eq!(u32_at(72), 250_000);
        assert_eq!(u32_at(76), 0x7fff_ffff);
        assert_eq!(u32_at(80), 10);
        assert_eq!(u32_at(88), 3);
        assert_eq!(u32_at(148), u32::MAX);
        // A short buffer gets a prefix.
        assert_eq!(script.tcp_info(id, 8).len(), 8);
    }

    #[test]
    fn tcp_info_of_a_listener_aliases_the_backlog() {
        let mut script = Script::new();
        let id = script.socket();
        script.tcp.listen(id, 7).unwrap();
        let info = script.tcp_info(id, 280);
        let u32_at = |at: usize| u32_at(&info, at);
        assert_eq!(info[0], 10, "LISTEN");
        assert_eq!(u32_at(8), 0, "no rto for a listener");
        assert_eq!((u32_at(24), u32_at(28)), (0, 7));
        assert_eq!(u32_at(80), 10);
    }

    #[test]
    fn tcp_info_of_a_connection_reports_real_values() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established_with_sack(&mut script);
        assert_eq!(script.send(id, &[1; 3000]), Ok(3000));
        script.sent();
        // 3 ms: the ACK comes before the tail loss probe (2·SRTT + 2 ms, a jiffy at least).
        script.advance(3);
        script.deliver(
            &PeerSegment::new(ACK, peer_next, our_next + 3000)
                .addressed_to(port)
                .timestamps(5, 0),
        );
        let info = script.tcp_info(id, 280);
        let u32_at = |at: usize| u32_at(&info, at);
        let u64_at = |at: usize| u64_at(&info, at);
        assert_eq!(info[0], 1, "ESTABLISHED");
        // TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE; both scales 7.
        assert_eq!(info[5], 7);
        assert_eq!(info[6], 0x77);
        assert_eq!(u32_at(16), 1448, "snd_mss");
        assert_eq!(u32_at(24), 0, "unacked");
        // RFC 6298: a first sample of ~0 (SYN-ACK at once), then 3 ms: SRTT = 3 ms / 8.
        assert_eq!(u32_at(68), 375, "srtt");
        assert_eq!(u32_at(148), 1, "min_rtt");
        // tcp_snd_una_update counts the SYN too.
        assert_eq!(u64_at(120), 3001, "bytes_acked");
        assert_eq!(u64_at(200), 3000, "bytes_sent");
        assert_eq!(u32_at(228), 65535 << 7, "snd_wnd");
    }

    #[test]
    fn connections_to_our_own_address_work_inside_the_layer() {
        use stack::ipv4::Ipv4Layer;
        use stack::transport::{Delivery, IcmpError, Transports};
        struct Upper<'a>(&'a mut stack::tcp::TcpLayer);
        impl Transports for Upper<'_> {
            fn deliver(
                &mut self,
                now: stack::Instant,
                datagram: &stack::ipv4::InboundDatagram<'_>,
            ) -> Delivery {
                self.0.deliver(now, datagram)
            }
            fn icmp_error(&mut self, now: stack::Instant, error: &IcmpError<'_>) {
                self.0.icmp_error(now, error);
            }
        }
        let config = config(3);
        let mut ip = Ipv4Layer::new(&config);
        let mut tcp = stack::tcp::TcpLayer::new(&config);
        let now = stack::Instant::from_millis(5);
        let listener = tcp.socket(stack::Credentials::default());
        let any = sockaddr(core::net::SocketAddrV4::new(
            core::net::Ipv4Addr::UNSPECIFIED,
            9000,
        ));
        tcp.bind(&ip, listener, &any).unwrap();
        tcp.listen(listener, 4).unwrap();
        for target in [OURS, core::net::Ipv4Addr::LOCALHOST] {
            let client = tcp.socket(stack::Credentials::default());
            let addr = sockaddr(core::net::SocketAddrV4::new(target, 9000));
            assert_eq!(
                tcp.connect(now, &ip, client, &addr),
                Err(Errno::EINPROGRESS)
            );
            // What Stack does after every call: hand segments to IPv4 and run its loopback.
            for _ in 0..10 {
                tcp.transmit_queued(now, &mut ip);
                ip.run_loopback(now, &mut Upper(&mut tcp));
            }
            assert_eq!(tcp.connect(now, &ip, client, &addr), Ok(()));
            let (server, peer) = tcp.accept(listener).unwrap();
            assert_eq!(*peer.ip(), target);
            let args = stack::SendArgs {
                data: b"ping",
                dest: None,
                control: &[],
                flags: 0,
            };
            assert_eq!(tcp.send(now, client, args), Ok(4));
            for _ in 0..10 {
                tcp.transmit_queued(now, &mut ip);
                ip.run_loopback(now, &mut Upper(&mut tcp));
            }
            let mut buf = [0u8; 16];
            let got = tcp
                .recv(
                    now,
                    server,
                    stack::RecvArgs {
                        capacity: 16,
                        control_capacity: 0,
                        flags: 0,
                    },
                    &mut buf,
                )
                .unwrap();
            assert_eq!(&buf[..got.len], b"ping");
            assert!(ip.poll_transmit(now).is_none(), "nothing leaves the host");
        }
    }
}

mod tcp_icmp {
    use super::tcp_harness::*;
    use stack::Errno;

    #[test]
    fn host_unreachable_during_syn_sent_fails_the_connect() {
        let mut script = Script::new();
        let (id, syn) = script.connect_sending_syn(80);
        script.deliver_icmp(3, 1, [0; 4], &syn);
        assert_eq!(script.connect(id, 80), Err(Errno::EHOSTUNREACH));
    }

    #[test]
    fn a_stale_icmp_error_is_ignored() {
        let mut script = Script::new();
        let (id, mut syn) = script.connect_sending_syn(80);
        syn.seq = syn.seq.wrapping_add(5000);
        script.deliver_icmp(3, 1, [0; 4], &syn);
        assert_eq!(script.connect(id, 80), Err(Errno::EALREADY));
    }

    #[test]
    fn fragmentation_needed_lowers_the_mss_and_resends() {
        let mut script = Script::new();
        let (id, our_next, _, _) = established(&mut script);
        assert_eq!(script.send(id, &[3; 2920]), Ok(2920));
        let sent = script.sent();
        assert_eq!(sent.len(), 2);
        // Next-hop MTU 1400.
        script.deliver_icmp(3, 4, [0, 0, 0x05, 0x78], &sent[0]);
        let resent = script.sent();
        assert!(!resent.is_empty());
        assert_eq!(resent[0].seq, our_next);
        assert_eq!(resent[0].payload.len(), 1360);
        assert_eq!(script.getsockopt_int(id, 6, 2), Ok(1360));
    }

    #[test]
    fn a_soft_error_is_what_a_later_timeout_reports() {
        let mut script = Script::new();
        let (id, _, _, _) = established(&mut script);
        script.setsockopt_int(id, 6, 18, 3_000).unwrap();
        assert_eq!(script.send(id, b"lost"), Ok(4));
        let sent = script.sent_one();
        script.deliver_icmp(3, 1, [0; 4], &sent);
        // Established: not fatal by itself.
        assert_eq!(script.send(id, b"more"), Ok(4));
        script.advance(10_000);
        assert_eq!(script.recv(id, 10), Err(Errno::EHOSTUNREACH));
    }
}

mod tcp_ioctl {
    use super::tcp_harness::*;
    use stack::Errno;

    fn int(bytes: Result<Vec<u8>, Errno>) -> Result<i32, Errno> {
        bytes.map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    }

    #[test]
    fn queue_sizes_like_tcp_ioctl() {
        let mut script = Script::new();
        let fresh = script.socket();
        for request in [0x541B, 0x5411, 0x894B, 0x8905] {
            assert_eq!(int(script.tcp.ioctl(fresh, request)), Ok(0));
        }
        assert_eq!(script.tcp.ioctl(fresh, 0x8906), Err(Errno::ENOENT));
        assert_eq!(script.tcp.ioctl(fresh, 0x1234), Err(Errno::ENOTTY));
        let (id, our_next, peer_next, port) = established(&mut script);
        script.deliver(
            &PeerSegment::new(ACK | PSH | FIN, peer_next, our_next)
                .addressed_to(port)
                .data(b"12345"),
        );
        // The FIN does not count.
        assert_eq!(int(script.tcp.ioctl(id, 0x541B)), Ok(5));
        script
            .tcp
            .setsockopt(script.now, &script.net, id, 6, 3, &1i32.to_ne_bytes())
            .unwrap();
        assert_eq!(script.send(id, &[0; 100]), Ok(100));
        // Corked: queued, not sent.
        assert_eq!(int(script.tcp.ioctl(id, 0x5411)), Ok(100));
        assert_eq!(int(script.tcp.ioctl(id, 0x894B)), Ok(100));
        let listener = script.socket();
        script.tcp.listen(listener, 1).unwrap();
        assert_eq!(script.tcp.ioctl(listener, 0x541B), Err(Errno::EINVAL));
        assert_eq!(int(script.tcp.ioctl(listener, 0x8905)), Ok(0));
    }
}

mod tcp_urgent {
    use super::tcp_harness::*;
    use stack::socket::poll_bits::POLLPRI;
    use stack::{Errno, RecvArgs, SendArgs};

    const MSG_OOB: i32 = 1;
    const URG: u8 = 0x20;

    fn atmark(script: &mut Script, id: stack::SocketId) -> i32 {
        let bytes = script.tcp.ioctl(id, 0x8905).unwrap();
        i32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
    }

    #[test]
    fn send_oob_sets_the_urgent_pointer_past_the_write() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        assert_eq!(script.send(id, b"x"), Ok(1));
        script.sent_one();
        // Nagle would hold this behind the unacknowledged "x"; urgent data is not held.
        let args = SendArgs {
            data: b"abc",
            dest: None,
            control: &[],
            flags: MSG_OOB,
        };
        assert_eq!(script.tcp.send(script.now, id, args), Ok(3));
        let segment = script.sent_one();
        assert_eq!(segment.payload, b"abc");
        assert_eq!(segment.flags & URG, URG);
        // snd_up − seq: one past the last byte of the write.
        assert_eq!(segment.urgent_pointer, 3);
        // Once the urgent data is acknowledged, URG is no longer sent.
        script.deliver(&PeerSegment::new(ACK, peer_next, our_next + 4).addressed_to(port));
        assert_eq!(script.send(id, b"y"), Ok(1));
        assert_eq!(script.sent_one().flags & URG, 0);
    }

    #[test]
    fn received_urgent_byte_is_kept_apart() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        // "abcd" with urgent pointer 4: 'd' is urgent (BSD semantics).
        let mut segment = PeerSegment::new(ACK | PSH | URG, peer_next, our_next)
            .addressed_to(port)
            .data(b"abcd");
        segment.urgent_pointer = 4;
        script.deliver(&segment);
        script.sent();
        assert_eq!(script.tcp.poll(id) & POLLPRI, POLLPRI);
        assert_eq!(atmark(&mut script, id), 0);
        // An ordinary read stops at the mark.
        assert_eq!(script.recv(id, 100).unwrap(), b"abc");
        assert_eq!(atmark(&mut script, id), 1);
        let mut buf = [0u8; 8];
        let args = RecvArgs {
            capacity: 8,
            control_capacity: 0,
            flags: MSG_OOB,
        };
        let result = script.tcp.recv(script.now, id, args, &mut buf).unwrap();
        assert_eq!((result.len, buf[0], result.flags), (1, b'd', MSG_OOB));
        assert_eq!(
            script.tcp.recv(script.now, id, args, &mut buf),
            Err(Errno::EINVAL)
        );
        assert_eq!(script.tcp.poll(id) & POLLPRI, 0);
        script.deliver(
            &PeerSegment::new(ACK | PSH, peer_next + 4, our_next)
                .addressed_to(port)
                .data(b"ef"),
        );
        // The urgent byte is skipped in the stream.
        assert_eq!(script.recv(id, 100).unwrap(), b"ef");
        assert_eq!(atmark(&mut script, id), 0);
    }

    #[test]
    fn so_oobinline_keeps_the_byte_in_the_stream() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        script.setsockopt_int(id, 1, 10, 1).unwrap();
        let mut segment = PeerSegment::new(ACK | PSH | URG, peer_next, our_next)
            .addressed_to(port)
            .data(b"abcd");
        segment.urgent_pointer = 4;
        script.deliver(&segment);
        assert_eq!(script.recv(id, 100).unwrap(), b"abc");
        assert_eq!(script.recv_flags(id, 1, MSG_OOB), Err(Errno::EINVAL));
        assert_eq!(script.recv(id, 100).unwrap(), b"d");
    }

    #[test]
    fn urgent_pointer_before_its_byte_arrives() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        // A pointer to byte 9 in a segment of 4 bytes: the byte comes later.
        let mut segment = PeerSegment::new(ACK | PSH | URG, peer_next, our_next)
            .addressed_to(port)
            .data(b"abcd");
        segment.urgent_pointer = 10;
        script.deliver(&segment);
        assert_eq!(script.recv_flags(id, 1, MSG_OOB), Err(Errno::EAGAIN));
        script.deliver(
            &PeerSegment::new(ACK | PSH, peer_next + 4, our_next)
                .addressed_to(port)
                .data(b"efghij"),
        );
        assert_eq!(script.recv_flags(id, 1, MSG_OOB).unwrap(), b"j");
        assert_eq!(script.recv(id, 100).unwrap(), b"abcdefghi");
    }
}
