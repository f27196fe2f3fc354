//! Packet scripts for ECN (RFC 3168) as Linux 6.18 does it: the SYN's ECE|CWR under
//! net.ipv4.tcp_ecn=1 and its fallback, a listener's ECE on the SYN-ACK, ECT(0) on new data
//! only, ECE from a CE mark until the peer's CWR, and the sender's CWR state.

mod tcp_harness;

/// Named `tcp_ecn` so `cargo test -p ipshim-stack tcp_ecn` selects every script here.
mod tcp_ecn {
    use super::tcp_harness::*;
    use stack::tcp::OutSegment;
    use stack::wire::checksum;
    use stack::{Errno, SocketId, Sysctls};

    const ECE: u8 = 0x40;
    const CWR: u8 = 0x80;
    const NOT_ECT: u8 = 0;
    const ECT_0: u8 = 2;
    const CE: u8 = 3;
    const SOL_IP: i32 = 0;
    const IP_TOS: i32 = 1;
    const SOL_TCP: i32 = 6;
    const TCP_INFO: i32 = 11;
    const TCP_NODELAY: i32 = 1;
    const TCPI_OPT_ECN: u8 = 8;
    const TCPI_OPT_ECN_SEEN: u8 = 16;

    fn script_with_ecn(ecn: u8, fallback: bool) -> Script {
        let mut sysctls = Sysctls::default();
        sysctls.tcp.ecn = ecn;
        sysctls.tcp.ecn_fallback = fallback;
        Script::with_sysctls(sysctls)
    }

    /// A peer segment inside an IPv4 header whose TOS carries `ecn`.
    fn deliver_with_ecn(script: &mut Script, segment: &PeerSegment, ecn: u8) {
        let mut bytes = frame(PEER, OURS, &segment.bytes(PEER, OURS));
        bytes[15] = ecn;
        bytes[24..26].copy_from_slice(&[0, 0]);
        let sum = checksum::checksum(&bytes[14..34]);
        bytes[24..26].copy_from_slice(&sum.to_be_bytes());
        script.deliver_frame(&bytes);
    }

    /// The peer's DATA at SEQ acknowledging ACK, to PORT, in a frame whose TOS carries `ecn`.
    fn deliver_data_with_ecn(
        script: &mut Script,
        port: u16,
        (seq, ack): (u32, u32),
        data: &[u8],
        ecn: u8,
    ) {
        let segment = PeerSegment::new(ACK, seq, ack)
            .addressed_to(port)
            .data(data);
        deliver_with_ecn(script, &segment, ecn);
    }

    /// What the stack queued, with each segment's TOS.
    fn sent_with_tos(script: &mut Script) -> Vec<(Sent, u8)> {
        let queued: Vec<OutSegment> = script.tcp.take_queued();
        queued.iter().map(|s| (Sent::parse(s), s.tos)).collect()
    }

    fn one_with_tos(script: &mut Script) -> (Sent, u8) {
        let sent = sent_with_tos(script);
        assert_eq!(sent.len(), 1, "expected one segment, got {sent:#?}");
        sent.into_iter().next().unwrap()
    }

    fn tcp_info(script: &mut Script, id: SocketId) -> Vec<u8> {
        script
            .tcp
            .getsockopt(&script.net, id, SOL_TCP, TCP_INFO, 280)
            .unwrap()
    }

    /// An active open under `script`'s sysctls; the SYN-ACK carries `synack_flags` extra.
    /// Returns (socket, our next, peer next, port, the SYN's flags).
    fn open(script: &mut Script, synack_flags: u8) -> (SocketId, u32, u32, u16, u8) {
        let id = script.socket();
        assert_eq!(script.connect(id, PEER_PORT), Err(Errno::EINPROGRESS));
        let (syn, tos) = one_with_tos(script);
        assert_eq!(tos, NOT_ECT, "a SYN is never ECT");
        let peer_iss = 7_000u32;
        script.deliver(
            &PeerSegment::new(SYN | ACK | synack_flags, peer_iss, syn.seq.wrapping_add(1))
                .addressed_to(syn.source_port)
                .mss_only(),
        );
        let (ack, tos) = one_with_tos(script);
        assert!(ack.is(ACK) && ack.flags & (ECE | CWR) == 0);
        assert_eq!(tos, NOT_ECT);
        assert_eq!(script.connect(id, PEER_PORT), Ok(()));
        (
            id,
            syn.seq.wrapping_add(1),
            peer_iss + 1,
            syn.source_port,
            syn.flags,
        )
    }

    #[test]
    fn default_sysctl_never_asks() {
        let mut script = Script::new();
        let (id, _, _, _, syn_flags) = open(&mut script, 0);
        assert_eq!(syn_flags & (ECE | CWR), 0);
        assert_eq!(tcp_info(&mut script, id)[5] & TCPI_OPT_ECN, 0);
        script.send(id, b"plain").unwrap();
        let (_, tos) = one_with_tos(&mut script);
        assert_eq!(tos, NOT_ECT);
    }

    #[test]
    fn negotiated_ecn_marks_new_data_ect0_only() {
        let mut script = script_with_ecn(1, true);
        let (id, our_next, peer_next, port, syn_flags) = open(&mut script, ECE);
        assert_eq!(syn_flags & (ECE | CWR), ECE | CWR);
        assert_eq!(
            tcp_info(&mut script, id)[5] & (TCPI_OPT_ECN | TCPI_OPT_ECN_SEEN),
            TCPI_OPT_ECN
        );
        assert_eq!(script.getsockopt_int(id, SOL_IP, IP_TOS), Ok(0));
        script.send(id, b"hello").unwrap();
        let (data, tos) = one_with_tos(&mut script);
        assert_eq!(data.payload, b"hello");
        assert_eq!(tos, ECT_0);
        assert_eq!(data.flags & (ECE | CWR), 0);
        // inet->tos keeps the ECN bits of the last segment: IP_TOS reads them, and
        // setsockopt keeps them.
        assert_eq!(script.getsockopt_int(id, SOL_IP, IP_TOS), Ok(2));
        script.setsockopt_int(id, SOL_IP, IP_TOS, 0x11).unwrap();
        assert_eq!(script.getsockopt_int(id, SOL_IP, IP_TOS), Ok(0x12));
        // The RTO's retransmissions are Not-ECT (the DSCP bits set above stay).
        script.advance(1_100);
        let again = sent_with_tos(&mut script);
        assert!(!again.is_empty());
        for (segment, tos) in again {
            assert_eq!(segment.payload, b"hello");
            assert_eq!(tos, 0x10);
        }
        // ECT data from the peer: ECN seen; the ACK is Not-ECT.
        deliver_data_with_ecn(&mut script, port, (peer_next, our_next + 5), b"echo", ECT_0);
        let (ack, tos) = one_with_tos(&mut script);
        assert!(ack.is(ACK) && ack.flags & ECE == 0);
        assert_eq!(tos & 3, NOT_ECT);
        assert_eq!(script.getsockopt_int(id, SOL_IP, IP_TOS), Ok(0x10));
        assert_eq!(
            tcp_info(&mut script, id)[5] & (TCPI_OPT_ECN | TCPI_OPT_ECN_SEEN),
            TCPI_OPT_ECN | TCPI_OPT_ECN_SEEN
        );
    }

    #[test]
    fn synack_without_ece_turns_ecn_off() {
        let mut script = script_with_ecn(1, true);
        let (id, ..) = open(&mut script, 0);
        assert_eq!(tcp_info(&mut script, id)[5] & TCPI_OPT_ECN, 0);
        script.send(id, b"x").unwrap();
        assert_eq!(one_with_tos(&mut script).1, NOT_ECT);
        // ECE|CWR on a SYN-ACK (what a kernel would take for AccECN) turns it off too.
        let mut script = script_with_ecn(1, true);
        let (id, ..) = open(&mut script, ECE | CWR);
        assert_eq!(tcp_info(&mut script, id)[5] & TCPI_OPT_ECN, 0);
    }

    #[test]
    fn retransmitted_syn_falls_back() {
        for (fallback, wanted) in [(true, 0), (false, ECE | CWR)] {
            let mut script = script_with_ecn(1, fallback);
            let id = script.socket();
            assert_eq!(script.connect(id, PEER_PORT), Err(Errno::EINPROGRESS));
            assert_eq!(script.sent_one().flags & (ECE | CWR), ECE | CWR);
            script.advance(1_100);
            let again = script.sent_one();
            assert_eq!(again.flags & (SYN | ACK), SYN);
            assert_eq!(again.flags & (ECE | CWR), wanted, "fallback {fallback}");
        }
    }

    /// A listener on 7777 receiving a SYN with `syn_flags` in an IP header with `ecn`;
    /// returns the SYN-ACK's flags.
    fn synack_for(sysctl: u8, syn_flags: u8, ecn: u8) -> u8 {
        let mut script = script_with_ecn(sysctl, true);
        let listener = script.socket();
        script.bind(listener, 7777).unwrap();
        script.tcp.listen(listener, 8).unwrap();
        deliver_with_ecn(
            &mut script,
            &PeerSegment::new(SYN | syn_flags, 40_000, 0)
                .addressed_to(7777)
                .coming_from(45_000)
                .mss_only(),
            ecn,
        );
        let (synack, tos) = one_with_tos(&mut script);
        assert_eq!(synack.flags & (SYN | ACK), SYN | ACK);
        assert_eq!(tos, NOT_ECT);
        synack.flags & (ECE | CWR)
    }

    #[test]
    fn listener_accepts_only_a_proper_request() {
        assert_eq!(synack_for(2, ECE | CWR, NOT_ECT), ECE);
        assert_eq!(synack_for(1, ECE | CWR, NOT_ECT), ECE);
        assert_eq!(synack_for(0, ECE | CWR, NOT_ECT), 0);
        // RFC 3168 6.1.1: an ECT SYN means a broken path.
        assert_eq!(synack_for(2, ECE | CWR, ECT_0), 0);
        assert_eq!(synack_for(2, ECE, NOT_ECT), 0);
        assert_eq!(synack_for(2, CWR, NOT_ECT), 0);
    }

    #[test]
    fn accepted_child_uses_ecn() {
        let mut script = Script::new();
        let listener = script.socket();
        script.bind(listener, 7777).unwrap();
        script.tcp.listen(listener, 8).unwrap();
        let peer = PeerSegment::new(SYN | ECE | CWR, 40_000, 0)
            .addressed_to(7777)
            .coming_from(45_000)
            .mss_only();
        script.deliver(&peer);
        let synack = script.sent_one();
        script.deliver(
            &PeerSegment::new(ACK, 40_001, synack.seq.wrapping_add(1))
                .addressed_to(7777)
                .coming_from(45_000),
        );
        let (child, _) = script.tcp.accept(listener).unwrap();
        assert_eq!(tcp_info(&mut script, child)[5] & TCPI_OPT_ECN, TCPI_OPT_ECN);
        script.send(child, b"served").unwrap();
        assert_eq!(one_with_tos(&mut script).1, ECT_0);
    }

    #[test]
    fn ce_is_echoed_until_cwr() {
        let mut script = script_with_ecn(1, true);
        let (id, our_next, peer_next, port, _) = open(&mut script, ECE);
        // A CE-marked segment: acknowledged at once, with ECE.
        deliver_data_with_ecn(&mut script, port, (peer_next, our_next), b"marked", CE);
        let (ack, tos) = one_with_tos(&mut script);
        assert_eq!(ack.flags & (ECE | CWR), ECE);
        assert_eq!(tos, NOT_ECT);
        // Every segment carries ECE until the peer's CWR, new data too.
        script.send(id, b"reply").unwrap();
        let (data, tos) = one_with_tos(&mut script);
        assert_eq!(data.flags & (ECE | CWR), ECE);
        assert_eq!(tos, ECT_0);
        // Unmarked data does not stop it.
        deliver_data_with_ecn(
            &mut script,
            port,
            (peer_next + 6, our_next + 5),
            b"more",
            ECT_0,
        );
        let sent = sent_with_tos(&mut script);
        assert!(sent.iter().all(|(s, _)| s.flags & ECE != 0), "{sent:#?}");
        script.advance(300);
        let _ = sent_with_tos(&mut script);
        // The peer's CWR on data: no more ECE, and the data is acknowledged at once.
        deliver_with_ecn(
            &mut script,
            &PeerSegment::new(ACK | CWR, peer_next + 10, our_next + 5)
                .addressed_to(port)
                .data(b"reduced"),
            ECT_0,
        );
        let (ack, _) = one_with_tos(&mut script);
        assert_eq!(ack.ack, peer_next + 17);
        assert_eq!(ack.flags & ECE, 0);
        assert_eq!(script.recv(id, 100).unwrap(), b"markedmorereduced");
        assert_eq!(
            tcp_info(&mut script, id)[5] & TCPI_OPT_ECN_SEEN,
            TCPI_OPT_ECN_SEEN
        );
    }

    #[test]
    fn ece_puts_the_sender_in_cwr() {
        let mut script = script_with_ecn(1, true);
        let (id, our_next, peer_next, port, _) = open(&mut script, ECE);
        script.setsockopt_int(id, SOL_TCP, TCP_NODELAY, 1).unwrap();
        script.send(id, &[b'a'; 100]).unwrap();
        let _ = script.sent();
        script.send(id, &[b'b'; 100]).unwrap();
        let _ = script.sent();
        let before = tcp_info(&mut script, id);
        let cwnd_before = u32::from_ne_bytes(before[80..84].try_into().unwrap());
        // The first segment's ACK echoes ECE.
        script.deliver(&PeerSegment::new(ACK | ECE, peer_next, our_next + 100).addressed_to(port));
        let info = tcp_info(&mut script, id);
        assert_eq!(info[1], 2, "tcpi_ca_state TCP_CA_CWR");
        let ssthresh = u32::from_ne_bytes(info[76..80].try_into().unwrap());
        assert!(
            ssthresh < cwnd_before,
            "ssthresh {ssthresh} cwnd {cwnd_before}"
        );
        assert_eq!(u32::from_ne_bytes(info[196..200].try_into().unwrap()), 1);
        // The next new data segment carries CWR, once.
        script.send(id, b"c").unwrap();
        let (data, tos) = one_with_tos(&mut script);
        assert_eq!(data.flags & (ECE | CWR), CWR);
        assert_eq!(tos, ECT_0);
        // More ECEs while in CWR change nothing; the ACK above the high mark ends CWR.
        script.deliver(&PeerSegment::new(ACK | ECE, peer_next, our_next + 200).addressed_to(port));
        assert_eq!(tcp_info(&mut script, id)[1], 2);
        script.deliver(&PeerSegment::new(ACK, peer_next, our_next + 201).addressed_to(port));
        assert_eq!(tcp_info(&mut script, id)[1], 0, "back to TCP_CA_Open");
        script.send(id, b"d").unwrap();
        let (data, _) = one_with_tos(&mut script);
        assert_eq!(data.flags & (ECE | CWR), 0);
    }

    #[test]
    fn ece_without_negotiation_is_ignored() {
        let mut script = Script::new();
        let (id, our_next, peer_next, port, _) = open(&mut script, ECE);
        script.send(id, b"data").unwrap();
        let _ = script.sent();
        script.deliver(&PeerSegment::new(ACK | ECE, peer_next, our_next + 4).addressed_to(port));
        assert_eq!(tcp_info(&mut script, id)[1], 0);
    }

    #[test]
    fn ce_on_out_of_order_data_and_not_on_pure_acks() {
        let mut script = script_with_ecn(1, true);
        let (id, our_next, peer_next, port, _) = open(&mut script, ECE);
        // A CE mark on a pure ACK is not looked at (only data is, tcp_data_ecn_check).
        deliver_with_ecn(
            &mut script,
            &PeerSegment::new(ACK, peer_next, our_next).addressed_to(port),
            CE,
        );
        assert!(script.sent().is_empty());
        script.send(id, b"q").unwrap();
        let (data, _) = one_with_tos(&mut script);
        assert_eq!(data.flags & ECE, 0);
        // CE on data that arrives out of order (tcp_data_queue_ofo) demands CWR too.
        deliver_data_with_ecn(
            &mut script,
            port,
            (peer_next + 10, our_next + 1),
            b"later",
            CE,
        );
        let (ack, _) = one_with_tos(&mut script);
        assert_eq!(ack.ack, peer_next);
        assert_eq!(ack.flags & ECE, ECE);
    }

    #[test]
    fn reset_carries_ece_while_demanded() {
        let mut script = script_with_ecn(1, true);
        let (id, our_next, peer_next, port, _) = open(&mut script, ECE);
        deliver_data_with_ecn(&mut script, port, (peer_next, our_next), b"marked", CE);
        let _ = script.sent();
        // close() with unread data sends a reset (tcp_close), built like any other segment
        // by tcp_transmit_skb: Not-ECT, ECE while a CWR is demanded.
        script.tcp.close(script.now, id);
        let (reset, tos) = one_with_tos(&mut script);
        assert_eq!(reset.flags & (RST | ECE), RST | ECE);
        assert_eq!(tos, NOT_ECT);
    }
}
