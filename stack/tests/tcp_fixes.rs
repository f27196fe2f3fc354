//! Packet scripts for three behaviours measured on the kernel (6.18) that the stack once got
//! wrong: initial sequence numbers and timestamp offsets (secure_tcp_seq / secure_tcp_ts_off),
//! the reset a closed listener sends for connections nobody accepted, and a shutdown() made
//! before connect.

mod tcp_harness;

/// Named `tcp` so `cargo test -p ipshim-stack tcp` selects every script here.
mod tcp {
    use core::time::Duration;

    use super::tcp_harness::*;
    use stack::ipv4::Ipv4Layer;
    use stack::socket::poll_bits::*;
    use stack::socket::Shutdown;
    use stack::tcp::TcpLayer;
    use stack::{Errno, Instant};

    const BOOT_ID: u128 = 0x0225_c858_308a_4a29_a872_d7ba_eb35_8c13;

    /// A stack as one shim process on a host whose boot_id is BOOT_ID: `seed` stands for the
    /// process's own getrandom seed.
    fn process(seed: u64, now: Instant) -> Script {
        let mut config = config(seed);
        config.sysctls.boot_id = Some(BOOT_ID);
        Script {
            tcp: TcpLayer::new(&config),
            now,
            net: ScriptNetwork {
                ip: Ipv4Layer::new(&config),
            },
        }
    }

    /// What the stack sent, as the peer's segment (options in the order Linux writes them).
    fn relay(sent: &Sent) -> PeerSegment {
        let mut options = Vec::new();
        if let Some(mss) = sent.mss {
            options.extend_from_slice(&[2, 4]);
            options.extend_from_slice(&mss.to_be_bytes());
        }
        if sent.sack_permitted {
            options.extend_from_slice(&[4, 2]);
        }
        if let Some((value, echo)) = sent.timestamps {
            if sent.mss.is_none() {
                options.extend_from_slice(&[1, 1]);
            }
            options.extend_from_slice(&[8, 10]);
            options.extend_from_slice(&value.to_be_bytes());
            options.extend_from_slice(&echo.to_be_bytes());
        }
        if let Some(scale) = sent.window_scale {
            options.extend_from_slice(&[1, 3, 3, scale]);
        }
        let mut segment = PeerSegment::new(sent.flags, sent.seq, sent.ack)
            .coming_from(sent.source_port)
            .addressed_to(sent.destination_port)
            .window(sent.window)
            .data(&sent.payload);
        segment.options = options;
        segment
    }

    /// Hands everything `from` queued to `to` (both run at `from`'s time); returns it.
    fn carry(from: &mut Script, to: &mut Script) -> Vec<Sent> {
        to.now = from.now;
        let sent = from.sent();
        for segment in &sent {
            to.deliver(&relay(segment));
        }
        sent
    }

    fn only(sent: Vec<Sent>) -> Sent {
        assert_eq!(sent.len(), 1, "expected one segment, got {sent:#?}");
        sent.into_iter().next().unwrap()
    }

    #[test]
    fn reused_port_is_accepted_by_a_peer_holding_time_wait_across_processes() {
        // Measured (kernel client, port 40000 reused 200.7 ms later against a kernel server
        // in TIME_WAIT): the new SYN's seq was 3136451 (= 200.7 ms / 64 ns) past the old
        // one, its TSval 200 past, and the server answered with a SYN-ACK at once.
        let mut server = Script::new();
        let listener = server.socket();
        server.bind(listener, 8080).unwrap();
        server.tcp.listen(listener, 5).unwrap();

        let mut first = process(1, server.now);
        let id = first.socket();
        first.bind(id, 40000).unwrap();
        assert_eq!(first.connect(id, 8080), Err(Errno::EINPROGRESS));
        let first_syn = only(carry(&mut first, &mut server));
        assert!(only(carry(&mut server, &mut first)).is(SYN | ACK));
        assert!(only(carry(&mut first, &mut server)).is(ACK));
        assert_eq!(first.connect(id, 8080), Ok(()));
        // The server closes first (as scripts/bench's tcp_echo does), so it keeps TIME_WAIT.
        let (child, _) = server.tcp.accept(listener).unwrap();
        server.tcp.close(server.now, child);
        assert!(only(carry(&mut server, &mut first)).is(FIN | ACK));
        // The FIN's ACK is delayed (pingpong mode) and leaves with our FIN.
        assert!(carry(&mut first, &mut server).is_empty());
        first.tcp.close(first.now, id);
        let first_fin = only(carry(&mut first, &mut server));
        assert!(first_fin.is(FIN | ACK));
        assert!(only(carry(&mut server, &mut first)).is(ACK));

        // Another process of the same host, 10 ms later, gets the same port.
        let mut second = process(2, first.now + Duration::from_millis(10));
        let id = second.socket();
        second.bind(id, 40000).unwrap();
        assert_eq!(second.connect(id, 8080), Err(Errno::EINPROGRESS));
        let syn = only(carry(&mut second, &mut server));
        assert!(syn.is(SYN));
        assert_eq!(
            syn.seq.wrapping_sub(first_syn.seq),
            (10_000_000u64 >> 6) as u32,
            "the ISN of one 4-tuple moves with the clock only"
        );
        let tsval = |sent: &Sent| sent.timestamps.unwrap().0;
        assert_eq!(tsval(&syn).wrapping_sub(tsval(&first_fin)), 10);
        // tcp_timewait_state_process: TCP_TW_SYN, the new connection starts at once with
        // the ISN TIME_WAIT hands over (its snd_nxt + 65535 + 2).
        let syn_ack = only(carry(&mut server, &mut second));
        assert!(syn_ack.is(SYN | ACK), "{syn_ack:?}");
        assert_eq!(syn_ack.ack, syn.seq.wrapping_add(1));
        assert!(only(carry(&mut second, &mut server)).is(ACK));
        assert_eq!(second.connect(id, 8080), Ok(()));
    }

    #[test]
    fn passive_isn_and_offset_come_from_the_host_secret_and_the_clock() {
        let syn = PeerSegment::new(SYN, 9000, 0)
            .addressed_to(8080)
            .linux_syn_options(42, 0);
        let answer = |seed: u64, at: Instant| {
            let mut server = process(seed, at);
            let listener = server.socket();
            server.bind(listener, 8080).unwrap();
            server.tcp.listen(listener, 5).unwrap();
            server.deliver(&syn);
            server.sent_one()
        };
        let start = Instant::from_millis(5_000);
        let one = answer(1, start);
        let other_process = answer(2, start);
        assert_eq!(one.seq, other_process.seq);
        assert_eq!(one.timestamps, other_process.timestamps);
        let later = answer(3, start + Duration::from_secs(1));
        assert_eq!(later.seq.wrapping_sub(one.seq), 1_000_000_000 >> 6);
        assert_eq!(
            later
                .timestamps
                .unwrap()
                .0
                .wrapping_sub(one.timestamps.unwrap().0),
            1000
        );
        // Without a boot_id the secret is the stack's own (from its seed).
        let mut plain = Script::new();
        let listener = plain.socket();
        plain.bind(listener, 8080).unwrap();
        plain.tcp.listen(listener, 5).unwrap();
        plain.now = start;
        plain.deliver(&syn);
        assert_ne!(plain.sent_one().seq, one.seq);
    }

    #[test]
    fn closing_a_listener_resets_an_unaccepted_connection_at_once() {
        // Measured (kernel listener, python client that sent 10 bytes): close() of the
        // listener's last descriptor sends "[R.] seq 1, ack 11" with timestamps at once
        // (inet_csk_listen_stop -> inet_child_forget -> tcp_disconnect); the client's next
        // segment meets no socket and gets a bare reset.
        let mut script = Script::new();
        let listener = script.socket();
        script.bind(listener, 8080).unwrap();
        script.tcp.listen(listener, 5).unwrap();
        script.deliver(
            &PeerSegment::new(SYN, 100, 0)
                .addressed_to(8080)
                .linux_syn_options(500, 0),
        );
        let syn_ack = script.sent_one();
        let our_tsval = syn_ack.timestamps.unwrap().0;
        let our_next = syn_ack.seq.wrapping_add(1);
        script.deliver(
            &PeerSegment::new(ACK, 101, our_next)
                .addressed_to(8080)
                .timestamps(501, our_tsval),
        );
        script.deliver(
            &PeerSegment::new(ACK | PSH, 101, our_next)
                .addressed_to(8080)
                .timestamps(502, our_tsval)
                .data(b"unaccepted"),
        );
        script.sent();
        assert_eq!(script.tcp.poll(listener), POLLIN | POLLRDNORM);
        script.advance(300);
        script.tcp.close(script.now, listener);
        let reset = script.sent_one();
        assert!(reset.is(RST | ACK));
        assert_eq!((reset.seq, reset.ack), (our_next, 111));
        assert_eq!(reset.timestamps.map(|(_, echo)| echo), Some(502));
        assert!(reset.window > 0);
        script.deliver(
            &PeerSegment::new(ACK | PSH, 111, our_next)
                .addressed_to(8080)
                .timestamps(503, our_tsval)
                .data(b"more"),
        );
        let bare = script.sent_one();
        assert!(bare.is(RST));
        assert_eq!(bare.seq, our_next);
    }

    #[test]
    fn shutdown_before_connect_sends_no_fin_until_shut_wr_again() {
        // Measured (tcpdump on the peer): shutdown(SHUT_WR) before connect is ENOTCONN; the
        // handshake completes with no FIN; send is EPIPE; shutdown(SHUT_RD) sends nothing;
        // a second shutdown(SHUT_WR) sends the FIN (tcp_shutdown in ESTABLISHED).
        let mut script = Script::new();
        let id = script.socket();
        assert_eq!(
            script.tcp.shutdown(script.now, id, Shutdown::Write),
            Err(Errno::ENOTCONN)
        );
        let (our_next, peer_next) = {
            assert_eq!(script.connect(id, PEER_PORT), Err(Errno::EINPROGRESS));
            let syn = script.sent_one();
            script.deliver(
                &PeerSegment::new(SYN | ACK, 1_000_000, syn.seq.wrapping_add(1))
                    .addressed_to(syn.source_port)
                    .mss_only(),
            );
            assert!(script.sent_one().is(ACK));
            assert_eq!(script.connect(id, PEER_PORT), Ok(()));
            (syn.seq.wrapping_add(1), 1_000_001u32)
        };
        assert_eq!(script.send(id, b"abc"), Err(Errno::EPIPE));
        script.tcp.shutdown(script.now, id, Shutdown::Read).unwrap();
        script.advance(1_000);
        assert!(script.sent().is_empty());
        script
            .tcp
            .shutdown(script.now, id, Shutdown::Write)
            .unwrap();
        let fin = script.sent_one();
        assert!(fin.is(FIN | ACK));
        assert_eq!((fin.seq, fin.ack), (our_next, peer_next));
    }

    /// TCP_QUICKACK (tcp.h).
    const TCP_QUICKACK: i32 = 12;

    /// A connection that received the peer's reply and FIN, as bench/tcp_crr.c sees it.
    fn replied_and_closed_by_peer(script: &mut Script) -> (stack::socket::SocketId, u32, u32) {
        let (id, our_next, peer_next, port) = established(script);
        assert_eq!(script.send(id, b"request"), Ok(7));
        script.sent();
        let our_next = our_next.wrapping_add(7);
        script.deliver(
            &PeerSegment::new(ACK | PSH, peer_next, our_next)
                .addressed_to(port)
                .data(b"reply"),
        );
        assert!(script.sent_one().is(ACK), "quick ACK of the reply");
        let peer_fin = peer_next.wrapping_add(5);
        script.deliver(&PeerSegment::new(FIN | ACK, peer_fin, our_next).addressed_to(port));
        (id, our_next, peer_fin.wrapping_add(1))
    }

    #[test]
    fn fin_is_acknowledged_late_in_pingpong_mode() {
        // Measured (kernel client of tcp_echo reply): after the server's FIN no ACK goes
        // out at once and TCP_QUICKACK reads 0 (tcp_fin enters pingpong mode); a close
        // 5 ms later sends only FIN+ACK. Without a close the ACK leaves 40 ms after the FIN
        // and TCP_QUICKACK reads 1 again (the delayed-ACK timer leaves pingpong mode).
        let mut script = Script::new();
        let (id, our_next, peer_end) = replied_and_closed_by_peer(&mut script);
        assert!(script.sent().is_empty());
        assert_eq!(script.getsockopt_int(id, 6, TCP_QUICKACK), Ok(0));
        script.advance(5);
        assert_eq!(script.recv(id, 16).unwrap(), b"reply");
        assert_eq!(script.recv(id, 16).unwrap(), b"");
        script.tcp.close(script.now, id);
        let fin = script.sent_one();
        assert!(fin.is(FIN | ACK));
        assert_eq!((fin.seq, fin.ack), (our_next, peer_end));

        let mut script = Script::new();
        let (id, _, peer_end) = replied_and_closed_by_peer(&mut script);
        script.advance(39);
        assert!(script.sent().is_empty());
        script.advance(1);
        let ack = script.sent_one();
        assert!(ack.is(ACK));
        assert_eq!(ack.ack, peer_end);
        assert_eq!(script.getsockopt_int(id, 6, TCP_QUICKACK), Ok(1));
    }
}
