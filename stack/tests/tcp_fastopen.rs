//! TCP Fast Open (RFC 7413) packet scripts in virtual time, with Linux 6.18's behaviour: the
//! client's cookie request, cache and SYN data (tcp_send_syn_data, tcp_rcv_fastopen_synack),
//! sendmsg(MSG_FASTOPEN) and TCP_FASTOPEN_CONNECT, and the server's cookie and child created
//! with the SYN's data (tcp_try_fastopen). The cookies are the ones Linux computes for the
//! same key and addresses (captured in ctests tcp_fastopen_server).

mod tcp_harness;

mod tcp_fastopen {
    use super::tcp_harness::fastopen::*;
    use super::tcp_harness::*;
    use core::net::{Ipv4Addr, SocketAddrV4};
    use stack::socket::msg_flags::{MSG_DONTWAIT, MSG_FASTOPEN};
    use stack::socket::poll_bits::*;
    use stack::socket::{SendArgs, SocketId};
    use stack::wire::tcp::FastOpenCookie;
    use stack::{Errno, Sysctls};

    const SOL_TCP: i32 = 6;
    const TCP_FASTOPEN: i32 = 23;
    const TCP_FASTOPEN_CONNECT: i32 = 30;
    const TCP_FASTOPEN_KEY: i32 = 33;
    const TCPI_OPT_SYN_DATA: u8 = 32;
    const TCPI_OPT_TFO_CHILD: u8 = 128;
    /// The cookie a listener whose TCP_FASTOPEN_KEY is 00 11 22 .. ff hands 198.18.0.1 for
    /// 198.18.0.2 (Linux 6.18, captured).
    const LINUX_COOKIE: [u8; 8] = [0x96, 0xea, 0x8f, 0x53, 0xbb, 0x3e, 0x40, 0xc9];
    const KEY: [u8; 16] = [
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
        0xff,
    ];

    fn script_with_fastopen(mode: u32) -> Script {
        let mut sysctls = Sysctls::default();
        sysctls.tcp.fastopen = mode;
        Script::with_sysctls(sysctls)
    }

    fn client_fail(info: &[u8]) -> u8 {
        (info[7] >> 1) & 3
    }

    /// The first connection asks for a cookie and sends its data after the handshake; the
    /// second puts the data and the cookie in the SYN.
    #[test]
    fn cookie_request_then_data_in_the_syn() {
        let mut script = script_with_fastopen(1);
        let id = script.socket();
        let flags = MSG_FASTOPEN | MSG_DONTWAIT;
        assert_eq!(
            fast_open_send(&mut script, id, b"hello", flags),
            Err(Errno::EINPROGRESS)
        );
        let (syn, cookie) = one_with_cookie(&mut script);
        assert!(syn.is(SYN) && syn.payload.is_empty());
        assert_eq!(cookie, Some(FastOpenCookie::REQUEST));
        // Non-blocking: EALREADY while the handshake runs.
        assert_eq!(
            fast_open_send(&mut script, id, b"hello", flags),
            Err(Errno::EALREADY)
        );
        let tsval = syn.timestamps.unwrap().0;
        script.deliver(&synack(&syn, 5000, 1, tsval, Some(&LINUX_COOKIE)));
        let ack = script.sent_one();
        assert!(ack.is(ACK));
        assert_eq!(client_fail(&script.tcp_info(id, 104)), 1);
        // MSG_FASTOPEN once connecting ended: the connection's result, then plain data.
        assert_eq!(fast_open_send(&mut script, id, b"hello", flags), Ok(5));
        assert_eq!(script.sent_one().payload, b"hello");
        assert_eq!(
            fast_open_send(&mut script, id, b"again", flags),
            Err(Errno::EISCONN)
        );

        let second = script.socket();
        assert_eq!(fast_open_send(&mut script, second, b"world", flags), Ok(5));
        let (syn, cookie) = one_with_cookie(&mut script);
        assert!(syn.is(SYN));
        assert_eq!(syn.payload, b"world");
        assert_eq!(cookie.unwrap().value(), &LINUX_COOKIE);
        script.deliver(&synack(&syn, 7000, 6, syn.timestamps.unwrap().0, None));
        let ack = script.sent_one();
        assert!(ack.is(ACK));
        assert_eq!(ack.seq, syn.seq.wrapping_add(6));
        let info = script.tcp_info(second, 104);
        assert_eq!(info[5] & TCPI_OPT_SYN_DATA, TCPI_OPT_SYN_DATA);
        assert_eq!(client_fail(&info), 0);
    }

    /// A cookie request the server did not answer: the next request uses the experimental
    /// option (254, magic 0xF989), and if that fails too, option 34 again (try_exp 1, 2).
    #[test]
    fn unanswered_request_tries_the_experimental_option() {
        let mut script = script_with_fastopen(1);
        let mut expected = [false, true, false];
        for (round, experimental) in expected.iter_mut().enumerate() {
            let id = script.socket();
            assert_eq!(
                fast_open_send(&mut script, id, b"x", MSG_FASTOPEN | MSG_DONTWAIT),
                Err(Errno::EINPROGRESS)
            );
            let (syn, cookie) = one_with_cookie(&mut script);
            let cookie = cookie.unwrap();
            assert_eq!(cookie.len, 0);
            assert_eq!(cookie.experimental, *experimental, "round {round}");
            script.deliver(&synack(&syn, 5000, 1, syn.timestamps.unwrap().0, None));
            assert!(script.sent_one().is(ACK));
        }
    }

    /// A SYN takes at most one MSS less 40 bytes (MAX_TCP_OPTION_SPACE): 1420 here.
    #[test]
    fn syn_data_is_bounded() {
        let mut script = script_with_fastopen(1 | 4);
        let id = script.socket();
        let data = vec![7u8; 3000];
        assert_eq!(
            fast_open_send(&mut script, id, &data, MSG_FASTOPEN | MSG_DONTWAIT),
            Ok(1420)
        );
        let (syn, cookie) = one_with_cookie(&mut script);
        // TFO_CLIENT_NO_COOKIE (4): data without any option.
        assert_eq!(cookie, None);
        assert_eq!(syn.payload.len(), 1420);
    }

    /// sk_write_pending: a blocking MSG_FASTOPEN whose data waits for the handshake gets no
    /// pure ACK of the SYN-ACK; its data carries the ACK.
    #[test]
    fn blocking_request_lets_the_data_carry_the_ack() {
        let mut script = script_with_fastopen(1);
        let id = script.socket();
        assert_eq!(
            fast_open_send(&mut script, id, b"hello", MSG_FASTOPEN),
            Err(Errno::EINPROGRESS)
        );
        let (syn, _) = one_with_cookie(&mut script);
        script.deliver(&synack(
            &syn,
            5000,
            1,
            syn.timestamps.unwrap().0,
            Some(&LINUX_COOKIE),
        ));
        assert!(script.sent().is_empty(), "the ACK waits for the writer");
        assert_eq!(script.tcp.fast_open_connect_result(id), Ok(()));
        assert_eq!(script.send(id, b"hello"), Ok(5));
        let data = script.sent_one();
        assert!(data.is(ACK | PSH));
        assert_eq!((data.ack, data.payload.as_slice()), (5001, &b"hello"[..]));
    }

    /// A nonblocking sendmsg(MSG_FASTOPEN) of "hello" with the cookie cached: all five bytes
    /// go in the SYN. The socket and that SYN.
    fn sent_hello_in_the_syn(script: &mut Script) -> (SocketId, Sent) {
        let id = script.socket();
        assert_eq!(
            fast_open_send(script, id, b"hello", MSG_FASTOPEN | MSG_DONTWAIT),
            Ok(5)
        );
        let (syn, _) = one_with_cookie(script);
        (id, syn)
    }

    /// A SYN-ACK that acknowledges only the SYN: the data is sent again at once
    /// (tcpi_fastopen_client_fail = TFO_DATA_NOT_ACKED).
    #[test]
    fn unacknowledged_syn_data_is_sent_again() {
        let mut script = script_with_fastopen(1 | 4);
        let (id, syn) = sent_hello_in_the_syn(&mut script);
        script.deliver(&synack(&syn, 5000, 1, syn.timestamps.unwrap().0, None));
        let again = script.sent_one();
        assert_eq!(again.seq, syn.seq.wrapping_add(1));
        assert_eq!(again.payload, b"hello");
        assert_eq!(again.ack, 5001);
        let info = script.tcp_info(id, 104);
        assert_eq!(client_fail(&info), 2);
        assert_eq!(info[5] & TCPI_OPT_SYN_DATA, 0);
    }

    /// The SYN's retransmission carries neither data nor option (fo->cookie.len = -1); a
    /// SYN-ACK for it gets the data sent again (TFO_SYN_RETRANSMITTED).
    #[test]
    fn retransmitted_syn_is_plain() {
        let mut script = script_with_fastopen(1 | 4);
        let (id, syn) = sent_hello_in_the_syn(&mut script);
        assert_eq!(syn.payload, b"hello");
        script.advance(1_000);
        let (again, cookie) = one_with_cookie(&mut script);
        assert!(again.is(SYN));
        assert_eq!((again.seq, again.payload.len(), cookie), (syn.seq, 0, None));
        script.deliver(&synack(&syn, 5000, 1, again.timestamps.unwrap().0, None));
        let data = script.sent_one();
        assert_eq!(
            (data.seq, data.payload.as_slice()),
            (syn.seq.wrapping_add(1), &b"hello"[..])
        );
        assert_eq!(client_fail(&script.tcp_info(id, 104)), 3);
    }

    /// TCP_FASTOPEN_CONNECT with a cached cookie: connect() answers 0 and sends nothing,
    /// poll says writable, the first write sends SYN + data.
    #[test]
    fn fastopen_connect_defers_the_syn() {
        let mut script = script_with_fastopen(1 | 4);
        let id = script.socket();
        assert_eq!(
            script.setsockopt_int(id, SOL_TCP, TCP_FASTOPEN_CONNECT, 1),
            Ok(())
        );
        assert_eq!(
            script.getsockopt_int(id, SOL_TCP, TCP_FASTOPEN_CONNECT),
            Ok(1)
        );
        assert_eq!(script.connect(id, SERVER_PORT), Ok(()));
        assert!(script.sent().is_empty());
        assert_eq!(script.tcp.poll(id) & (POLLOUT | POLLIN), POLLOUT);
        assert_eq!(script.tcp.peer_addr(id), Err(Errno::ENOTCONN));
        assert_eq!(script.connect(id, SERVER_PORT), Err(Errno::EISCONN));
        let now = script.now;
        let written = script.tcp.send_or_fast_open(
            now,
            &script.net,
            id,
            SendArgs {
                data: b"abc",
                dest: None,
                control: &[],
                flags: MSG_DONTWAIT,
            },
        );
        assert_eq!(written, Ok(3));
        let syn = script.sent_one();
        assert!(syn.is(SYN));
        assert_eq!(syn.payload, b"abc");
    }

    /// Without a cookie TCP_FASTOPEN_CONNECT's connect() asks for one, as a plain connect.
    #[test]
    fn fastopen_connect_without_cookie_requests_one() {
        let mut script = script_with_fastopen(1);
        let id = script.socket();
        script
            .setsockopt_int(id, SOL_TCP, TCP_FASTOPEN_CONNECT, 1)
            .unwrap();
        assert_eq!(script.connect(id, SERVER_PORT), Err(Errno::EINPROGRESS));
        let (syn, cookie) = one_with_cookie(&mut script);
        assert!(syn.is(SYN));
        assert_eq!(cookie, Some(FastOpenCookie::REQUEST));
    }

    #[test]
    fn errno_corners() {
        let mut script = script_with_fastopen(0);
        let id = script.socket();
        assert_eq!(
            fast_open_send(&mut script, id, b"x", MSG_FASTOPEN),
            Err(Errno::EOPNOTSUPP)
        );
        assert_eq!(
            script.setsockopt_int(id, SOL_TCP, TCP_FASTOPEN_CONNECT, 1),
            Err(Errno::EOPNOTSUPP)
        );
        let mut script = script_with_fastopen(1);
        let id = script.socket();
        let unspecified = [0u8; 16];
        let now = script.now;
        let args = |dest| SendArgs {
            data: b"x",
            dest,
            control: &[],
            flags: MSG_FASTOPEN,
        };
        assert_eq!(
            script
                .tcp
                .send_or_fast_open(now, &script.net, id, args(Some(&unspecified))),
            Err(Errno::EOPNOTSUPP)
        );
        assert_eq!(
            script
                .tcp
                .send_or_fast_open(now, &script.net, id, args(None)),
            Err(Errno::EINVAL)
        );
        let listener = script.listening_on(SERVER_PORT, 4);
        assert_eq!(
            fast_open_send(&mut script, listener, b"x", MSG_FASTOPEN),
            Err(Errno::EISCONN)
        );
        assert!(script.sent().is_empty());
    }

    fn fastopen_listener(script: &mut Script, queue: i32) -> SocketId {
        let listener = script.socket();
        let now = script.now;
        script
            .tcp
            .setsockopt(now, &script.net, listener, SOL_TCP, TCP_FASTOPEN_KEY, &KEY)
            .unwrap();
        script
            .setsockopt_int(listener, SOL_TCP, TCP_FASTOPEN, queue)
            .unwrap();
        script.bind(listener, SERVER_PORT).unwrap();
        script.tcp.listen(listener, 8).unwrap();
        listener
    }

    fn peer_syn(seq: u32, source_port: u16, cookie: Option<&[u8]>, data: &[u8]) -> PeerSegment {
        let syn = PeerSegment::new(SYN, seq, 0)
            .coming_from(source_port)
            .addressed_to(SERVER_PORT)
            .linux_syn_options(100, 0)
            .data(data);
        with_cookie_option(syn, cookie)
    }

    /// The server: a cookie request gets Linux's cookie for this key; a SYN with it and data
    /// creates the child at once, readable and writable before the handshake ends.
    #[test]
    fn server_hands_out_linux_cookie_and_takes_syn_data() {
        let mut script = script_with_fastopen(3);
        let listener = fastopen_listener(&mut script, 16);
        assert_eq!(
            script.getsockopt_int(listener, SOL_TCP, TCP_FASTOPEN),
            Ok(16)
        );
        script.deliver(&peer_syn(100, 40000, Some(&[]), b""));
        let (synack, cookie) = one_with_cookie(&mut script);
        assert!(synack.is(SYN | ACK));
        assert_eq!(synack.ack, 101);
        assert_eq!(cookie.unwrap().value(), &LINUX_COOKIE);
        assert_eq!(
            script.tcp.fastopen_cookie_for(
                listener,
                SocketAddrV4::new(PEER, 40000),
                SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 2), SERVER_PORT)
            ),
            Some(LINUX_COOKIE.to_vec())
        );
        assert_eq!(script.tcp.accept(listener), Err(Errno::EAGAIN));

        script.deliver(&peer_syn(5000, 40002, Some(&LINUX_COOKIE), b"hello"));
        let (synack, cookie) = one_with_cookie(&mut script);
        assert!(synack.is(SYN | ACK));
        assert_eq!(synack.ack, 5006, "the SYN-ACK acknowledges the data");
        assert_eq!(cookie, None);
        assert_eq!(synack.window, 65160, "the whole initial window");
        assert_eq!(script.tcp.poll(listener) & POLLIN, POLLIN);
        let (child, peer) = script.tcp.accept(listener).unwrap();
        assert_eq!(peer.port(), 40002);
        assert_eq!(
            script.tcp.poll(child) & (POLLIN | POLLOUT),
            POLLIN | POLLOUT
        );
        assert_eq!(script.recv(child, 100).unwrap(), b"hello");
        let info = script.tcp_info(child, 104);
        assert_eq!(info[0], 3, "still SYN_RECV");
        assert_eq!(
            info[5] & (TCPI_OPT_SYN_DATA | TCPI_OPT_TFO_CHILD),
            TCPI_OPT_SYN_DATA | TCPI_OPT_TFO_CHILD
        );
        // tcp_passive_fastopen: data goes out before the handshake's last ACK.
        assert_eq!(script.send(child, b"reply"), Ok(5));
        let reply = script.sent_one();
        assert_eq!(
            (reply.seq, reply.payload.as_slice()),
            (synack.seq.wrapping_add(1), &b"reply"[..])
        );
        script.deliver(
            &PeerSegment::new(ACK, 5006, synack.seq.wrapping_add(6))
                .coming_from(40002)
                .addressed_to(SERVER_PORT)
                .timestamps(101, synack.timestamps.unwrap().0),
        );
        assert_eq!(script.tcp_info(child, 104)[0], 1, "ESTABLISHED");
        assert_eq!(script.tcp.accept(listener), Err(Errno::EAGAIN));
    }

    /// A wrong cookie: no child until the handshake ends, the data is not acknowledged, and
    /// the SYN-ACK carries the right cookie.
    #[test]
    fn invalid_cookie_gets_the_valid_one() {
        let mut script = script_with_fastopen(3);
        let listener = fastopen_listener(&mut script, 16);
        script.deliver(&peer_syn(5000, 40004, Some(&[1; 8]), b"hello"));
        let (synack, cookie) = one_with_cookie(&mut script);
        assert_eq!(synack.ack, 5001);
        assert_eq!(cookie.unwrap().value(), &LINUX_COOKIE);
        assert_eq!(script.tcp.accept(listener), Err(Errno::EAGAIN));
    }

    /// TCP_FASTOPEN's queue bounds the children still in SYN_RECV; past it, a valid cookie
    /// gets a plain handshake without any option.
    #[test]
    fn fastopen_queue_limit() {
        let mut script = script_with_fastopen(3);
        let _listener = fastopen_listener(&mut script, 1);
        script.deliver(&peer_syn(5000, 40006, Some(&LINUX_COOKIE), b"one"));
        let (first, _) = one_with_cookie(&mut script);
        assert_eq!(first.ack, 5004);
        script.deliver(&peer_syn(6000, 40008, Some(&LINUX_COOKIE), b"two"));
        let (second, cookie) = one_with_cookie(&mut script);
        assert_eq!(second.ack, 6001);
        assert_eq!(cookie, None);
    }

    /// Without TFO_SERVER_ENABLE (2) a listener with TCP_FASTOPEN ignores the option.
    #[test]
    fn server_bit_off_ignores_fast_open() {
        let mut script = script_with_fastopen(1);
        let _listener = fastopen_listener(&mut script, 16);
        script.deliver(&peer_syn(5000, 40010, Some(&LINUX_COOKIE), b"hello"));
        let (synack, cookie) = one_with_cookie(&mut script);
        assert_eq!((synack.ack, cookie), (5001, None));
    }

    /// TFO_SERVER_COOKIE_NOT_REQD (0x200): data in any SYN is taken.
    #[test]
    fn server_without_cookies() {
        let mut script = script_with_fastopen(0x203);
        let listener = fastopen_listener(&mut script, 16);
        script.deliver(&peer_syn(5000, 40012, None, b"hello"));
        let (synack, cookie) = one_with_cookie(&mut script);
        assert_eq!((synack.ack, cookie), (5006, None));
        let (child, _) = script.tcp.accept(listener).unwrap();
        assert_eq!(script.recv(child, 10).unwrap(), b"hello");
    }
}
