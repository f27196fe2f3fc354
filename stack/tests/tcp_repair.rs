//! Packet scripts for TCP_REPAIR (CRIU's checkpoint/restore interface), as measured on the
//! kernel (6.18, ctests/cases/tcp_repair.c): a connection dumped and closed in repair mode
//! sends nothing; a new socket restored from the dump connects without a handshake, takes
//! its queues without sending, and leaves repair mode with a window probe at SND.UNA − 1.

mod tcp_harness;

/// Named `tcp` so `cargo test -p ipshim-stack tcp` selects every script here.
mod tcp {
    use super::tcp_harness::*;
    use stack::socket::msg_flags::MSG_PEEK;
    use stack::socket::SocketId;
    use stack::{Credentials, Errno};

    const SOL_TCP: i32 = 6;
    const SOL_SOCKET: i32 = 1;
    const SO_REUSEADDR: i32 = 2;
    const SO_ERROR: i32 = 4;
    const TCP_MAXSEG: i32 = 2;
    const TCP_REPAIR: i32 = 19;
    const TCP_REPAIR_QUEUE: i32 = 20;
    const TCP_QUEUE_SEQ: i32 = 21;
    const TCP_REPAIR_OPTIONS: i32 = 22;
    const TCP_TIMESTAMP: i32 = 24;
    const TCP_REPAIR_WINDOW: i32 = 29;
    const TCP_RECV_QUEUE: i32 = 1;
    const TCP_SEND_QUEUE: i32 = 2;
    const PEER_ISS: u32 = 1_000_000;

    fn admin_socket(script: &mut Script) -> SocketId {
        script.tcp.socket(Credentials {
            cap_net_admin: true,
            ..Credentials::default()
        })
    }

    /// An established connection of a CAP_NET_ADMIN socket: (socket, our ISS + 1, port).
    fn established_admin(script: &mut Script) -> (SocketId, u32, u16) {
        let id = admin_socket(script);
        assert_eq!(script.connect(id, PEER_PORT), Err(Errno::EINPROGRESS));
        let syn = script.sent_one();
        script.deliver(
            &PeerSegment::new(SYN | ACK, PEER_ISS, syn.seq.wrapping_add(1))
                .addressed_to(syn.source_port)
                .mss_only(),
        );
        let _ = script.sent();
        (id, syn.seq.wrapping_add(1), syn.source_port)
    }

    fn set(script: &mut Script, id: SocketId, name: i32, value: i32) -> Result<(), Errno> {
        script.setsockopt_int(id, SOL_TCP, name, value)
    }

    fn get(script: &mut Script, id: SocketId, name: i32) -> Result<i32, Errno> {
        script.getsockopt_int(id, SOL_TCP, name)
    }

    fn queue_seq(script: &mut Script, id: SocketId) -> u32 {
        get(script, id, TCP_QUEUE_SEQ).unwrap() as u32
    }

    #[test]
    fn repair_dump_close_restore_and_probe() {
        let mut script = Script::new();
        let (id, iss_next, port) = established_admin(&mut script);
        assert_eq!(script.send(id, b"ping"), Ok(4));
        assert_eq!(script.sent_one().payload, b"ping");
        let snd = iss_next + 4;
        script.deliver(
            &PeerSegment::new(ACK | PSH, PEER_ISS + 1, snd)
                .addressed_to(port)
                .data(b"hello"),
        );
        let _ = script.sent();

        // The dump.
        assert_eq!(set(&mut script, id, TCP_REPAIR, 1), Ok(()));
        assert_eq!(script.getsockopt_int(id, SOL_SOCKET, SO_REUSEADDR), Ok(2));
        assert_eq!(get(&mut script, id, TCP_MAXSEG), Ok(1460));
        assert_eq!(script.recv(id, 64), Err(Errno::EPERM));
        assert_eq!(script.recv_flags(id, 64, MSG_PEEK), Err(Errno::EINVAL));
        assert_eq!(script.send(id, b"x"), Err(Errno::EINVAL));
        assert_eq!(
            set(&mut script, id, TCP_REPAIR_QUEUE, 3),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            set(&mut script, id, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE),
            Ok(())
        );
        assert_eq!(queue_seq(&mut script, id), snd);
        assert_eq!(script.send(id, b"xyz"), Ok(3));
        assert!(
            script.sent().is_empty(),
            "data queued in repair mode stays off the wire"
        );
        assert_eq!(queue_seq(&mut script, id), snd + 3);
        assert_eq!(script.recv_flags(id, 64, MSG_PEEK), Ok(b"xyz".to_vec()));
        // The shim's later pieces of a large peek read the same queue.
        let mut piece = [0u8; 8];
        assert_eq!(script.tcp.peek_from(id, 1, &mut piece), 2);
        assert_eq!(&piece[..2], b"yz");
        assert_eq!(
            script.tcp.read_ahead(id).peekable,
            0,
            "no wait for the receive queue"
        );
        assert_eq!(set(&mut script, id, TCP_QUEUE_SEQ, 7), Err(Errno::EPERM));
        assert_eq!(
            set(&mut script, id, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE),
            Ok(())
        );
        assert_eq!(queue_seq(&mut script, id), PEER_ISS + 6);
        assert_eq!(script.recv_flags(id, 64, MSG_PEEK), Ok(b"hello".to_vec()));
        let window = script
            .tcp
            .getsockopt(&script.net, id, SOL_TCP, TCP_REPAIR_WINDOW, 20)
            .unwrap();
        assert_eq!(
            u32_at_ne(&window, 0),
            PEER_ISS + 1,
            "snd_wl1: the data segment's"
        );
        assert_eq!(
            script
                .tcp
                .getsockopt(&script.net, id, SOL_TCP, TCP_REPAIR_WINDOW, 16),
            Err(Errno::EINVAL)
        );
        let timestamp = get(&mut script, id, TCP_TIMESTAMP).unwrap();
        assert_eq!(timestamp & 1, 0);
        let late_mss = [2u32.to_ne_bytes(), 1000u32.to_ne_bytes()].concat();
        assert_eq!(
            script.tcp.setsockopt(
                script.now,
                &script.net,
                id,
                SOL_TCP,
                TCP_REPAIR_OPTIONS,
                &late_mss
            ),
            Err(Errno::EPERM),
            "options only before data went on the wire"
        );
        script.tcp.close(script.now, id);
        assert!(script.sent().is_empty(), "no FIN and no reset");

        // The restore.
        let restored = admin_socket(&mut script);
        assert_eq!(set(&mut script, restored, TCP_REPAIR, 1), Ok(()));
        assert_eq!(get(&mut script, restored, TCP_MAXSEG), Ok(0));
        assert_eq!(
            set(&mut script, restored, TCP_QUEUE_SEQ, 5),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            set(&mut script, restored, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE),
            Ok(())
        );
        assert_eq!(
            set(&mut script, restored, TCP_QUEUE_SEQ, snd as i32),
            Ok(())
        );
        assert_eq!(
            set(&mut script, restored, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE),
            Ok(())
        );
        assert_eq!(
            set(&mut script, restored, TCP_QUEUE_SEQ, (PEER_ISS + 1) as i32),
            Ok(())
        );
        assert_eq!(script.bind(restored, port), Ok(()));
        assert_eq!(script.connect(restored, PEER_PORT), Ok(()));
        assert!(script.sent().is_empty(), "a repaired connect sends no SYN");
        assert_eq!(queue_seq(&mut script, restored), PEER_ISS + 1);
        let options = [[2u32, 1460], [3, 7 | (7 << 16)], [4, 0], [8, 0]]
            .iter()
            .flat_map(|[code, value]| [code.to_ne_bytes(), value.to_ne_bytes()].concat())
            .collect::<Vec<u8>>();
        assert_eq!(
            script.tcp.setsockopt(
                script.now,
                &script.net,
                restored,
                SOL_TCP,
                TCP_REPAIR_OPTIONS,
                &options
            ),
            Ok(())
        );
        let too_big = [3u32.to_ne_bytes(), 15u32.to_ne_bytes()].concat();
        assert_eq!(
            script.tcp.setsockopt(
                script.now,
                &script.net,
                restored,
                SOL_TCP,
                TCP_REPAIR_OPTIONS,
                &too_big
            ),
            Err(Errno::EFBIG)
        );
        assert_eq!(set(&mut script, restored, TCP_TIMESTAMP, timestamp), Ok(()));
        assert_eq!(script.send(restored, b"hello"), Ok(5));
        assert_eq!(queue_seq(&mut script, restored), PEER_ISS + 6);
        // tcp_repair_set_window: "if (after(opt.rcv_wup, tp->rcv_nxt)) return -EINVAL" —
        // the receive queue goes first.
        assert_eq!(
            script.tcp.setsockopt(
                script.now,
                &script.net,
                restored,
                SOL_TCP,
                TCP_REPAIR_WINDOW,
                &window
            ),
            Ok(())
        );
        assert_eq!(
            set(&mut script, restored, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE),
            Ok(())
        );
        assert_eq!(script.send(restored, b"xyz"), Ok(3));
        assert!(script.sent().is_empty());
        assert_eq!(queue_seq(&mut script, restored), snd + 3);

        // Leaving repair mode: the window probe, an ACK at SND.UNA - 1.
        assert_eq!(set(&mut script, restored, TCP_REPAIR, 0), Ok(()));
        let probe = script.sent_one();
        assert!(probe.is(ACK));
        assert_eq!(probe.seq, snd.wrapping_sub(1));
        assert_eq!(probe.ack, PEER_ISS + 6);
        assert!(probe.payload.is_empty());
        let (tsval, _) = probe.timestamps.expect("timestamps restored");
        assert!(tsval.wrapping_sub(timestamp as u32) < 1000);
        assert_eq!(
            script.getsockopt_int(restored, SOL_SOCKET, SO_REUSEADDR),
            Ok(0)
        );
        assert_eq!(
            get(&mut script, restored, TCP_REPAIR_QUEUE),
            Err(Errno::EINVAL)
        );
        assert_eq!(script.recv(restored, 64), Ok(b"hello".to_vec()));

        // The data restored as sent goes out when the retransmission timer fires.
        script.deliver(
            &PeerSegment::new(ACK, PEER_ISS + 6, snd)
                .addressed_to(port)
                .window(1000),
        );
        let _ = script.sent();
        script.advance(1100);
        let retransmitted = script.sent_one();
        assert_eq!(retransmitted.seq, snd);
        assert_eq!(retransmitted.payload, b"xyz");
        assert!(
            retransmitted.is(ACK | PSH),
            "the restored skb kept its push mark"
        );

        // The peer's echo is taken, and acknowledged, whatever its timestamp: none was
        // recorded yet (tcp_paws_check: "if (!rx_opt->ts_recent) return true").
        script.deliver(
            &PeerSegment::new(ACK | PSH, PEER_ISS + 6, snd + 3)
                .addressed_to(port)
                .window(1000)
                .timestamps(0x9000_0000, tsval)
                .data(b"xyz"),
        );
        script.advance(300);
        let ack = script.sent_one();
        assert_eq!(ack.ack, PEER_ISS + 9);
        assert_eq!(ack.timestamps.map(|(_, echo)| echo), Some(0x9000_0000));
        assert_eq!(script.recv(restored, 64), Ok(b"xyz".to_vec()));
    }

    #[test]
    fn repair_needs_cap_net_admin_and_a_closed_or_established_socket() {
        let mut script = Script::new();
        let plain = script.socket();
        assert_eq!(set(&mut script, plain, TCP_REPAIR, 1), Err(Errno::EPERM));
        assert_eq!(set(&mut script, plain, TCP_REPAIR, 0), Err(Errno::EPERM));
        assert_eq!(get(&mut script, plain, TCP_REPAIR), Ok(0));
        assert_eq!(
            set(&mut script, plain, TCP_REPAIR_QUEUE, 1),
            Err(Errno::EPERM)
        );
        assert_eq!(get(&mut script, plain, TCP_QUEUE_SEQ), Err(Errno::EINVAL));
        assert_eq!(set(&mut script, plain, TCP_TIMESTAMP, 5), Err(Errno::EPERM));
        assert_eq!(
            set(&mut script, plain, TCP_REPAIR_OPTIONS, 0),
            Err(Errno::EINVAL)
        );

        let listener = admin_socket(&mut script);
        assert_eq!(script.bind(listener, 4000), Ok(()));
        assert_eq!(script.tcp.listen(listener, 1), Ok(()));
        assert_eq!(set(&mut script, listener, TCP_REPAIR, 1), Err(Errno::EPERM));

        let admin = admin_socket(&mut script);
        assert_eq!(set(&mut script, admin, TCP_REPAIR, 2), Err(Errno::EINVAL));
        assert_eq!(set(&mut script, admin, TCP_REPAIR, 1), Ok(()));
        assert_eq!(set(&mut script, admin, TCP_REPAIR, -1), Ok(()));
        assert_eq!(get(&mut script, admin, TCP_REPAIR), Ok(0));
        // tp->repair_queue outlives repair mode.
        assert_eq!(set(&mut script, admin, TCP_REPAIR, 1), Ok(()));
        assert_eq!(
            set(&mut script, admin, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE),
            Ok(())
        );
        assert_eq!(set(&mut script, admin, TCP_REPAIR, -1), Ok(()));
        assert_eq!(set(&mut script, admin, TCP_QUEUE_SEQ, 77), Ok(()));
        assert_eq!(get(&mut script, admin, TCP_QUEUE_SEQ), Ok(77));

        // A closed socket shows the window it was given (checked against rcv_nxt 0).
        assert_eq!(set(&mut script, admin, TCP_REPAIR, 1), Ok(()));
        let window = |fields: [u32; 5]| -> Vec<u8> {
            fields
                .iter()
                .flat_map(|field| field.to_ne_bytes())
                .collect()
        };
        let zeros = script
            .tcp
            .getsockopt(&script.net, admin, SOL_TCP, TCP_REPAIR_WINDOW, 20);
        assert_eq!(zeros, Ok(window([0; 5])));
        let set_window = |script: &mut Script, fields| {
            let now = script.now;
            script.tcp.setsockopt(
                now,
                &script.net,
                admin,
                SOL_TCP,
                TCP_REPAIR_WINDOW,
                &window(fields),
            )
        };
        assert_eq!(
            set_window(&mut script, [5, 100, 200, 300, 1]),
            Err(Errno::EINVAL)
        );
        assert_eq!(set_window(&mut script, [5, 100, 200, 300, 0]), Ok(()));
        let shown = script
            .tcp
            .getsockopt(&script.net, admin, SOL_TCP, TCP_REPAIR_WINDOW, 20);
        assert_eq!(shown, Ok(window([5, 100, 200, 300, 0])));
    }

    #[test]
    fn repair_forces_the_port_and_disconnect_aborts_silently() {
        let mut script = Script::new();
        let (_, _, port) = established_admin(&mut script);
        let second = admin_socket(&mut script);
        assert_eq!(script.bind(second, port), Err(Errno::EADDRINUSE));
        let forced = admin_socket(&mut script);
        assert_eq!(set(&mut script, forced, TCP_REPAIR, 1), Ok(()));
        // SO_REUSEADDR writes sk_reuse: the forced reuse is gone until TCP_REPAIR 1 again.
        assert_eq!(
            script.setsockopt_int(forced, SOL_SOCKET, SO_REUSEADDR, 0),
            Ok(())
        );
        assert_eq!(
            script.getsockopt_int(forced, SOL_SOCKET, SO_REUSEADDR),
            Ok(0)
        );
        assert_eq!(script.bind(forced, port), Err(Errno::EADDRINUSE));
        assert_eq!(set(&mut script, forced, TCP_REPAIR, 1), Ok(()));
        assert_eq!(
            script.getsockopt_int(forced, SOL_SOCKET, SO_REUSEADDR),
            Ok(2)
        );
        assert_eq!(script.bind(forced, port), Ok(()));
        // The same 4-tuple is still in use: inet_hash_connect's check_established.
        assert_eq!(script.connect(forced, PEER_PORT), Err(Errno::EADDRNOTAVAIL));

        let other = admin_socket(&mut script);
        assert_eq!(set(&mut script, other, TCP_REPAIR, 1), Ok(()));
        assert_eq!(
            set(&mut script, other, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE),
            Ok(())
        );
        assert_eq!(set(&mut script, other, TCP_QUEUE_SEQ, 1000), Ok(()));
        assert_eq!(script.connect(other, PEER_PORT + 1), Ok(()));
        assert_eq!(script.send(other, b"abc"), Ok(3));
        let unspec = [0u8; 16];
        assert_eq!(
            script.tcp.connect(script.now, &script.net, other, &unspec),
            Ok(())
        );
        assert!(script.sent().is_empty(), "no reset in repair mode");
        assert_eq!(
            script.getsockopt_int(other, SOL_SOCKET, SO_ERROR),
            Ok(Errno::ECONNABORTED as i32)
        );
    }

    fn u32_at_ne(bytes: &[u8], at: usize) -> u32 {
        u32::from_ne_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
    }
}
