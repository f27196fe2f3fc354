//! The SOL_TCP names beyond the basic ones, in virtual time: every answer of a fresh socket
//! against a native sweep of names 1..50 (fixtures/tcp_sockopt_sweep_linux_6.18.txt), then
//! the effect of each option the stack obeys (TCP_LINGER2, TCP_WINDOW_CLAMP,
//! TCP_NOTSENT_LOWAT, TCP_INQ, TCP_SAVE_SYN, TCP_DELACK_MAX_US, TCP_RTO_MIN_US /
//! TCP_RTO_MAX_MS, TCP_CONGESTION's permission rule) and TCP_INFO's "since the last" fields.

mod tcp_harness;

/// Named `tcp` so `cargo test -p ipshim-stack tcp` selects every script here.
mod tcp {
    use super::tcp_harness::*;
    use stack::config::{Credentials, Sysctls};
    use stack::socket::poll_bits::*;
    use stack::socket::RecvArgs;
    use stack::Errno;

    const SOL_TCP: i32 = 6;
    const TCP_LINGER2: i32 = 8;
    const TCP_WINDOW_CLAMP: i32 = 10;
    const TCP_INFO: i32 = 11;
    const TCP_CONGESTION: i32 = 13;
    const TCP_NOTSENT_LOWAT: i32 = 25;
    const TCP_SAVE_SYN: i32 = 27;
    const TCP_SAVED_SYN: i32 = 28;
    const TCP_INQ: i32 = 36;
    const TCP_RTO_MAX_MS: i32 = 44;
    const TCP_RTO_MIN_US: i32 = 45;
    const TCP_DELACK_MAX_US: i32 = 46;

    fn strerror(errno: Errno) -> &'static str {
        match errno {
            Errno::EINVAL => "Invalid argument",
            Errno::ENOPROTOOPT => "Protocol not available",
            Errno::EPERM => "Operation not permitted",
            Errno::ENOENT => "No such file or directory",
            Errno::EOPNOTSUPP => "Operation not supported",
            _ => "?",
        }
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().take(24).map(|b| format!("{b:02x}")).collect()
    }

    /// The probe's lines (fixtures/tcp_sockopt_sweep_probe.c) as the stack answers them.
    fn sweep_lines(script: &mut Script, name: i32) -> Vec<String> {
        // The probe ran as root: CAP_NET_ADMIN.
        let id = script.tcp.socket(Credentials {
            cap_net_admin: true,
            ..Credentials::default()
        });
        let mut lines = vec![format!("name {name}")];
        let get = |script: &mut Script, len: usize, lines: &mut Vec<String>| {
            lines.push(
                match script.tcp.getsockopt(&script.net, id, SOL_TCP, name, len) {
                    Ok(bytes) => format!(
                        "  get(len {len}) -> 0  len={} [{}]",
                        bytes.len(),
                        hex(&bytes)
                    ),
                    Err(errno) => {
                        format!("  get(len {len}) -> -1 {} len={len}", strerror(errno))
                    }
                },
            );
        };
        let set = |script: &mut Script, value: &[u8], shown: &str, lines: &mut Vec<String>| {
            let now = script.now;
            lines.push(
                match script
                    .tcp
                    .setsockopt(now, &script.net, id, SOL_TCP, name, value)
                {
                    Ok(()) => format!("  set({shown}) -> 0 "),
                    Err(errno) => format!("  set({shown}) -> -1 {}", strerror(errno)),
                },
            );
        };
        get(script, 4, &mut lines);
        get(script, 0, &mut lines);
        get(script, 8, &mut lines);
        for value in [0i32, 1, -1] {
            set(script, &value.to_ne_bytes(), &value.to_string(), &mut lines);
            get(script, 4, &mut lines);
        }
        set(script, &[], "len0", &mut lines);
        script.tcp.close(script.now, id);
        lines
    }

    #[test]
    fn sol_tcp_sweep_matches_the_kernel() {
        let expected = include_str!("fixtures/tcp_sockopt_sweep_linux_6.18.txt");
        let mut blocks: Vec<Vec<&str>> = Vec::new();
        for line in expected.lines() {
            if line.starts_with("name ") {
                blocks.push(Vec::new());
            }
            blocks.last_mut().unwrap().push(line);
        }
        assert_eq!(blocks.len(), 50);
        let mut script = Script::new();
        for (index, block) in blocks.iter().enumerate() {
            let name = index as i32 + 1;
            // Host-dependent (checked below): TCP_CONGESTION reads the namespace default
            // (bbr here), TCP_TIMESTAMP the clock, TCP_CC_INFO bbr's get_info.
            if matches!(name, 13 | 24 | 26) {
                continue;
            }
            let ours = sweep_lines(&mut script, name);
            assert_eq!(ours, *block, "SOL_TCP name {name}");
        }
    }

    #[test]
    fn host_dependent_names_answer_for_the_algorithm_in_use() {
        let mut script = Script::new();
        let id = script.socket();
        // TCP_CC_INFO: cubic and reno have no get_info, so the length is 0.
        assert_eq!(
            script.tcp.getsockopt(&script.net, id, SOL_TCP, 26, 8),
            Ok(Vec::new())
        );
        // TCP_TIMESTAMP: CLOCK_MONOTONIC in ms (tcp_clock_ts) for a socket without offset.
        script.now = stack::time::Instant::from_millis(11_916_368);
        script.tcp.handle_timeout(script.now);
        assert_eq!(script.getsockopt_int(id, SOL_TCP, 24), Ok(11_916_368));
    }

    fn congestion(script: &mut Script, id: stack::socket::SocketId) -> String {
        let name = script
            .tcp
            .getsockopt(&script.net, id, SOL_TCP, TCP_CONGESTION, 16)
            .unwrap();
        String::from_utf8_lossy(&name)
            .trim_end_matches('\0')
            .to_string()
    }

    #[test]
    fn tcp_congestion_follows_the_sysctl_and_its_permission_list() {
        let mut sysctls = Sysctls::default();
        sysctls.tcp.congestion_control = "reno".into();
        sysctls.tcp.allowed_congestion_control = "reno bbr".into();
        let mut script = Script::with_sysctls(sysctls.clone());
        let id = script.socket();
        assert_eq!(congestion(&mut script, id), "reno");
        // Measured unprivileged: an algorithm outside tcp_allowed_congestion_control is EPERM,
        // the current one and listed ones are fine, unknown names ENOENT.
        let now = script.now;
        let set = |script: &mut Script, id, name: &[u8]| {
            script
                .tcp
                .setsockopt(now, &script.net, id, SOL_TCP, TCP_CONGESTION, name)
        };
        assert_eq!(set(&mut script, id, b"cubic"), Err(Errno::EPERM));
        assert_eq!(set(&mut script, id, b"reno"), Ok(()));
        assert_eq!(set(&mut script, id, b"vegas"), Err(Errno::ENOENT));
        // CAP_NET_ADMIN may choose any available algorithm (measured as root: cubic, ok).
        let admin = script.tcp.socket(Credentials {
            cap_net_admin: true,
            ..Credentials::default()
        });
        assert_eq!(set(&mut script, admin, b"cubic"), Ok(()));
        assert_eq!(congestion(&mut script, admin), "cubic");
        // This host's default, bbr: a new socket runs and reports it, and choosing it again
        // is the "no change" success.
        sysctls.tcp.congestion_control = "bbr".into();
        let mut script = Script::with_sysctls(sysctls);
        let id = script.socket();
        assert_eq!(congestion(&mut script, id), "bbr");
        let now = script.now;
        assert_eq!(
            script
                .tcp
                .setsockopt(now, &script.net, id, SOL_TCP, TCP_CONGESTION, b"bbr"),
            Ok(())
        );
    }

    #[test]
    fn tcp_linger2_bounds_the_orphaned_fin_wait2() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        script.setsockopt_int(id, SOL_TCP, TCP_LINGER2, 5).unwrap();
        assert_eq!(script.getsockopt_int(id, SOL_TCP, TCP_LINGER2), Ok(5));
        script.tcp.close(script.now, id);
        assert!(script.sent_one().is(FIN | ACK));
        script.deliver(&PeerSegment::new(ACK, peer_next, our_next + 1).addressed_to(port));
        script.advance(4_900);
        script.deliver(&PeerSegment::new(ACK, peer_next, our_next + 1).addressed_to(port));
        assert!(script.sent().is_empty(), "still in FIN_WAIT2 before 5 s");
        script.advance(200);
        // Gone: the peer's segment finds no socket.
        script.deliver(&PeerSegment::new(ACK, peer_next, our_next + 1).addressed_to(port));
        assert!(script.sent_one().is(RST));
    }

    #[test]
    fn negative_tcp_linger2_resets_a_fin_wait2_close() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        script.setsockopt_int(id, SOL_TCP, TCP_LINGER2, -1).unwrap();
        assert_eq!(script.getsockopt_int(id, SOL_TCP, TCP_LINGER2), Ok(-1));
        script
            .tcp
            .shutdown(script.now, id, stack::socket::Shutdown::Write)
            .unwrap();
        assert!(script.sent_one().is(FIN | ACK));
        script.deliver(&PeerSegment::new(ACK, peer_next, our_next + 1).addressed_to(port));
        // tcp_close in FIN_WAIT2 with linger2 < 0: tcp_send_active_reset.
        script.tcp.close(script.now, id);
        let reset = script.sent_one();
        assert!(reset.is(RST | ACK), "{reset:?}");
        assert_eq!(reset.seq, our_next + 1);
    }

    #[test]
    fn tcp_window_clamp_shrinks_the_syn_window_and_scale() {
        // Measured (tcpdump, kernel world): clamp 5000 → SYN "win 4380 ... wscale 0",
        // TCP_WINDOW_CLAMP still 5000 and tcpi_rcv_ssthresh 4380 once connected.
        let mut script = Script::new();
        let id = script.socket();
        script
            .setsockopt_int(id, SOL_TCP, TCP_WINDOW_CLAMP, 5000)
            .unwrap();
        assert_eq!(script.connect(id, PEER_PORT), Err(Errno::EINPROGRESS));
        let syn = script.sent_one();
        assert_eq!(syn.window, 4380);
        assert_eq!(syn.window_scale, Some(0));
        script.deliver(
            &PeerSegment::new(SYN | ACK, 77, syn.seq.wrapping_add(1))
                .addressed_to(syn.source_port)
                .mss_only(),
        );
        let ack = script.sent_one();
        assert!(ack.window <= 5000);
        assert_eq!(
            script.getsockopt_int(id, SOL_TCP, TCP_WINDOW_CLAMP),
            Ok(5000)
        );
        let info = script
            .tcp
            .getsockopt(&script.net, id, SOL_TCP, TCP_INFO, 280)
            .unwrap();
        assert_eq!(u32::from_ne_bytes(info[64..68].try_into().unwrap()), 4380);
        // Data never opens the window past the clamp.
        let mut seq = 78u32;
        for _ in 0..8 {
            script.deliver(
                &PeerSegment::new(ACK | PSH, seq, syn.seq.wrapping_add(1))
                    .addressed_to(syn.source_port)
                    .data(&[7u8; 536]),
            );
            seq += 536;
            script.recv(id, 4096).unwrap();
            for sent in script.sent() {
                assert!(u32::from(sent.window) <= 5000, "window {}", sent.window);
            }
        }
        // 0 is refused once the socket is not closed.
        assert_eq!(
            script.setsockopt_int(id, SOL_TCP, TCP_WINDOW_CLAMP, 0),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn tcp_notsent_lowat_holds_pollout_while_unsent_bytes_pile_up() {
        let mut script = Script::new();
        let (id, _, _, _) = established(&mut script);
        assert_ne!(script.tcp.poll(id) & POLLOUT, 0);
        script
            .setsockopt_int(id, SOL_TCP, TCP_NOTSENT_LOWAT, 1000)
            .unwrap();
        // The peer's window (mss_only SYN-ACK, no scale) lets 1 segment's worth out at a
        // time with Nagle; a 5000-byte write leaves most of it unsent.
        // More than the initial congestion window (10 segments) can carry: the rest stays
        // unsent until ACKs come.
        let taken = script.send(id, &[1u8; 16000]).unwrap();
        let sent: usize = script.sent().iter().map(|s| s.payload.len()).sum();
        assert!(taken - sent >= 500, "taken {taken}, sent {sent}");
        // tcp_poll: (notsent << 1) < lowat, else no POLLOUT.
        assert_eq!(script.tcp.poll(id) & POLLOUT, 0);
        script
            .setsockopt_int(id, SOL_TCP, TCP_NOTSENT_LOWAT, 0)
            .unwrap();
        assert_ne!(script.tcp.poll(id) & POLLOUT, 0, "0: the sysctl (UINT_MAX)");
    }

    #[test]
    fn tcp_delack_max_us_shortens_the_delayed_ack() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        // Leave quick-ACK mode first, as delayed_ack_after_the_quick_acks does.
        script.setsockopt_int(id, SOL_TCP, 12, 0).unwrap();
        script
            .setsockopt_int(id, SOL_TCP, TCP_DELACK_MAX_US, 8000)
            .unwrap();
        assert_eq!(
            script.getsockopt_int(id, SOL_TCP, TCP_DELACK_MAX_US),
            Ok(8000)
        );
        script.deliver(
            &PeerSegment::new(ACK | PSH, peer_next, our_next)
                .addressed_to(port)
                .data(b"x"),
        );
        assert!(script.sent().is_empty());
        script.advance(7);
        assert!(script.sent().is_empty());
        script.advance(2);
        assert!(script.sent_one().is(ACK));
    }

    #[test]
    fn tcp_rto_min_and_max_bound_the_retransmission_timer() {
        let mut script = Script::new();
        let (id, _, _, _) = established(&mut script);
        script
            .setsockopt_int(id, SOL_TCP, TCP_RTO_MAX_MS, 1001)
            .unwrap();
        // msecs_to_jiffies rounds up to a 4 ms tick.
        assert_eq!(script.getsockopt_int(id, SOL_TCP, TCP_RTO_MAX_MS), Ok(1004));
        script.send(id, b"lost").unwrap();
        assert_eq!(script.sent().len(), 1);
        // The handshake's RTT sample (0 in virtual time) gives SRTT + the 200 ms floor; the
        // back-offs double it, capped at 1004 ms.
        let start = script.now;
        let mut gaps = Vec::new();
        let mut last = start;
        for _ in 0..5000 {
            script.advance(1);
            if !script.sent().is_empty() {
                gaps.push(script.now.saturating_since(last).as_millis() as u64);
                last = script.now;
            }
        }
        // (The first is SRTT + 200 ms with a 1 µs sample, seen on the next 1 ms step.)
        assert!((200..=201).contains(&gaps[0]), "{gaps:?}");
        assert_eq!(gaps[1..5], [400, 800, 1004, 1004]);
        let info = script
            .tcp
            .getsockopt(&script.net, id, SOL_TCP, TCP_INFO, 280)
            .unwrap();
        assert_eq!(
            u32::from_ne_bytes(info[8..12].try_into().unwrap()),
            1_004_000
        );
        assert_eq!(
            script.setsockopt_int(id, SOL_TCP, TCP_RTO_MIN_US, 4000),
            Err(Errno::EINVAL)
        );
        script
            .setsockopt_int(id, SOL_TCP, TCP_RTO_MIN_US, 4001)
            .unwrap();
        assert_eq!(script.getsockopt_int(id, SOL_TCP, TCP_RTO_MIN_US), Ok(8000));
    }

    #[test]
    fn tcp_save_syn_keeps_the_syn_headers_for_the_accepted_socket() {
        let mut script = Script::new();
        let listener = script.socket();
        script
            .setsockopt_int(listener, SOL_TCP, TCP_SAVE_SYN, 1)
            .unwrap();
        script.bind(listener, 8080).unwrap();
        script.tcp.listen(listener, 5).unwrap();
        script.deliver(
            &PeerSegment::new(SYN, 9000, 0)
                .addressed_to(8080)
                .linux_syn_options(42, 0),
        );
        let syn_ack = script.sent_one();
        script.deliver(
            &PeerSegment::new(ACK, 9001, syn_ack.seq.wrapping_add(1))
                .addressed_to(8080)
                .timestamps(43, syn_ack.timestamps.unwrap().0),
        );
        let (child, _) = script.tcp.accept(listener).unwrap();
        assert_eq!(script.getsockopt_int(child, SOL_TCP, TCP_SAVE_SYN), Ok(1));
        // Measured: a short buffer is EINVAL; the headers (20 + 40 bytes for Linux's SYN
        // options) come out once, then length 0.
        assert_eq!(
            script
                .tcp
                .getsockopt(&script.net, child, SOL_TCP, TCP_SAVED_SYN, 10),
            Err(Errno::EINVAL)
        );
        let saved = script
            .tcp
            .getsockopt(&script.net, child, SOL_TCP, TCP_SAVED_SYN, 128)
            .unwrap();
        assert_eq!(saved.len(), 60);
        assert_eq!(saved[0], 0x45);
        assert_eq!(saved[9], 6);
        assert_eq!(saved[32] >> 4, 10);
        assert_eq!(saved[33] & 0x02, 0x02);
        assert_eq!(
            script
                .tcp
                .getsockopt(&script.net, child, SOL_TCP, TCP_SAVED_SYN, 128),
            Ok(Vec::new())
        );
    }

    fn recv_inq(script: &mut Script, id: stack::socket::SocketId, capacity: usize) -> Vec<u8> {
        let mut buf = vec![0u8; capacity];
        let result = script
            .tcp
            .recv(
                script.now,
                id,
                RecvArgs {
                    capacity,
                    control_capacity: 64,
                    flags: 0,
                },
                &mut buf,
            )
            .unwrap();
        result.control
    }

    #[test]
    fn tcp_inq_adds_the_unread_count_to_each_read() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        script.setsockopt_int(id, SOL_TCP, TCP_INQ, 1).unwrap();
        script.deliver(
            &PeerSegment::new(ACK | PSH, peer_next, our_next)
                .addressed_to(port)
                .data(b"hello world"),
        );
        // struct cmsghdr { len 20, level SOL_TCP, type TCP_CM_INQ } + int, as measured.
        let cmsg = |inq: i32| {
            let mut bytes = Vec::new();
            bytes.extend_from_slice(&20u64.to_ne_bytes());
            bytes.extend_from_slice(&6i32.to_ne_bytes());
            bytes.extend_from_slice(&36i32.to_ne_bytes());
            bytes.extend_from_slice(&inq.to_ne_bytes());
            bytes.extend_from_slice(&[0u8; 4]);
            bytes
        };
        assert_eq!(recv_inq(&mut script, id, 5), cmsg(6));
        assert_eq!(recv_inq(&mut script, id, 6), cmsg(0));
        script.deliver(&PeerSegment::new(FIN | ACK, peer_next + 11, our_next).addressed_to(port));
        assert_eq!(recv_inq(&mut script, id, 6), cmsg(1));
        script.setsockopt_int(id, SOL_TCP, TCP_INQ, 0).unwrap();
        assert!(recv_inq(&mut script, id, 6).is_empty());
    }

    #[test]
    fn tcp_info_counts_the_time_since_the_last_events() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port) = established(&mut script);
        script.send(id, b"ping").unwrap();
        script.sent();
        script.advance(100);
        script.deliver(
            &PeerSegment::new(ACK | PSH, peer_next, our_next + 4)
                .addressed_to(port)
                .data(b"pong"),
        );
        script.advance(250);
        script.tcp.handle_timeout(script.now);
        let info = script
            .tcp
            .getsockopt(&script.net, id, SOL_TCP, TCP_INFO, 280)
            .unwrap();
        let field = |at: usize| u32::from_ne_bytes(info[at..at + 4].try_into().unwrap());
        // jiffies_to_msecs of whole 4 ms ticks.
        assert_eq!(field(44), 348, "tcpi_last_data_sent");
        assert_eq!(field(52), 248, "tcpi_last_data_recv");
        assert_eq!(field(56), 248, "tcpi_last_ack_recv");
    }

    #[test]
    fn tcp_defer_accept_waits_for_data_or_the_end_of_the_deferral() {
        let mut script = Script::new();
        let listener = script.socket();
        script.bind(listener, 8080).unwrap();
        script.tcp.listen(listener, 5).unwrap();
        script.setsockopt_int(listener, SOL_TCP, 9, 1).unwrap();
        // secs_to_retrans(1) = 1 retransmission; 2 → 2 (reads 3), as measured.
        assert_eq!(script.getsockopt_int(listener, SOL_TCP, 9), Ok(1));
        let handshake = |script: &mut Script, port: u16| {
            script.deliver(
                &PeerSegment::new(SYN, 5000, 0)
                    .addressed_to(8080)
                    .coming_from(port)
                    .mss_only(),
            );
            let syn_ack = script.sent_one();
            script.deliver(
                &PeerSegment::new(ACK, 5001, syn_ack.seq.wrapping_add(1))
                    .addressed_to(8080)
                    .coming_from(port),
            );
            syn_ack
        };
        // Data: the dropped bare ACK is followed by data, which completes the handshake.
        let syn_ack = handshake(&mut script, 40_001);
        assert!(script.sent().is_empty());
        assert_eq!(script.tcp.accept(listener), Err(Errno::EAGAIN));
        script.deliver(
            &PeerSegment::new(ACK | PSH, 5001, syn_ack.seq.wrapping_add(1))
                .addressed_to(8080)
                .coming_from(40_001)
                .data(b"data"),
        );
        let (child, _) = script.tcp.accept(listener).unwrap();
        assert_eq!(script.recv(child, 16).unwrap(), b"data");
        script.sent();
        // No data: at the first timeout (1 s) the SYN-ACK is resent (the deferral's last
        // period), and the peer's ACK of it is taken.
        let syn_ack = handshake(&mut script, 40_002);
        script.advance(999);
        assert!(script.sent().is_empty());
        assert_eq!(script.tcp.accept(listener), Err(Errno::EAGAIN));
        script.advance(2);
        assert!(script.sent_one().is(SYN | ACK));
        script.deliver(
            &PeerSegment::new(ACK, 5001, syn_ack.seq.wrapping_add(1))
                .addressed_to(8080)
                .coming_from(40_002),
        );
        assert!(script.tcp.accept(listener).is_ok());
    }

    #[test]
    fn ip_recverr_makes_an_icmp_error_hard_on_a_connection() {
        // tcp_v4_err: with IP_RECVERR, sk_err at once (the next call fails with it, once,
        // and the connection goes on); without it the error waits for a timeout
        // (tcp_data.rs: a_soft_error_is_what_a_later_timeout_reports).
        let mut script = Script::new();
        let (id, _, _, _) = established(&mut script);
        script.setsockopt_int(id, 0, 11, 1).unwrap();
        assert_eq!(script.send(id, b"lost"), Ok(4));
        let sent = script.sent_one();
        script.deliver_icmp(3, 1, [0; 4], &sent);
        assert_ne!(script.tcp.poll(id) & POLLERR, 0);
        assert_eq!(script.send(id, b"more"), Err(Errno::EHOSTUNREACH));
        assert_eq!(script.tcp.poll(id) & POLLERR, 0);
        assert_eq!(script.send(id, b"more"), Ok(4));
    }

    #[test]
    fn ip_recverr_queues_a_handshake_error() {
        // Measured (ctests tcp_sockopt_recverr): EHOSTUNREACH from connect, POLLERR while
        // the entry waits, MSG_ERRQUEUE gives the quoted SYN, the destination and the
        // sock_extended_err (origin ICMP, type 3 code 1, offender the router); then EAGAIN.
        let mut script = Script::new();
        let id = script.socket();
        script.setsockopt_int(id, 0, 11, 1).unwrap();
        assert_eq!(script.connect(id, PEER_PORT), Err(Errno::EINPROGRESS));
        let syn = script.sent_one();
        script.deliver_icmp(3, 1, [0; 4], &syn);
        assert_eq!(script.connect(id, PEER_PORT), Err(Errno::EHOSTUNREACH));
        assert_ne!(script.tcp.poll(id) & POLLERR, 0);
        let mut buf = [0u8; 64];
        let args = RecvArgs {
            capacity: 64,
            control_capacity: 256,
            flags: 0x2000,
        };
        let result = script.tcp.receive_error(id, args, &mut buf).unwrap();
        assert_eq!(result.flags, 0x2000);
        assert_eq!(
            result.from,
            Some(core::net::SocketAddrV4::new(PEER, PEER_PORT))
        );
        // The harness quotes the first 8 bytes of the TCP header.
        assert_eq!(result.len, 8);
        assert_eq!(&buf[2..4], &PEER_PORT.to_be_bytes());
        let control = result.control;
        assert_eq!(control.len(), 48);
        assert_eq!(&control[0..8], &48u64.to_ne_bytes());
        assert_eq!(&control[8..16], &[0, 0, 0, 0, 11, 0, 0, 0]);
        assert_eq!(&control[16..20], &113u32.to_ne_bytes());
        assert_eq!(&control[20..23], &[2, 3, 1]);
        assert_eq!(&control[32..34], &2u16.to_ne_bytes());
        assert_eq!(&control[36..40], &PEER.octets());
        assert_eq!(script.tcp.poll(id) & POLLERR, 0);
        assert_eq!(
            script.tcp.receive_error(id, args, &mut buf).err(),
            Some(Errno::EAGAIN)
        );
    }
}
