//! TCP MD5 signatures (RFC 2385) in virtual time, as Linux 6.18 applies them: a keyed
//! connection signs every segment (the SYN without timestamps, data segments 20 bytes
//! shorter), drops what is unsigned, wrongly signed or signed when no key covers the sender
//! (tcp_inbound_hash and its counters), signs its resets and its TIME_WAIT ACKs, and a
//! listener's child inherits the key. The digests against the kernel are checked by
//! ctests/cases/tcp_md5sig.c (the peer's kernel verifies the shim's and the other way round).

mod tcp_harness;

mod tcp {
    use super::tcp_harness::*;
    use core::net::Ipv4Addr;
    use stack::tcp::md5sig::{self, Signature};

    const SOL_TCP: i32 = 6;
    const TCP_MD5SIG: i32 = 14;
    const TCP_MD5SIG_EXT: i32 = 32;
    const KEY: &[u8] = b"ipshim-md5-key";
    /// NOP NOP kind 19 length 18 and a digest the signer fills in.
    const MD5_OPTION: [u8; 20] = [1, 1, 19, 18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    /// struct tcp_md5sig for `address`/`prefix` (prefix None: TCP_MD5SIG's /32).
    fn md5sig(address: Ipv4Addr, prefix: Option<u8>, key: &[u8]) -> Vec<u8> {
        let mut value = vec![0u8; 216];
        value[0..2].copy_from_slice(&2u16.to_ne_bytes());
        value[4..8].copy_from_slice(&address.octets());
        if let Some(prefix) = prefix {
            value[128] = 1;
            value[129] = prefix;
        }
        value[130..132].copy_from_slice(&(key.len() as u16).to_ne_bytes());
        value[136..136 + key.len()].copy_from_slice(key);
        value
    }

    fn add_key(script: &mut Script, id: stack::socket::SocketId, value: &[u8], name: i32) {
        let now = script.now;
        script
            .tcp
            .setsockopt(now, &script.net, id, SOL_TCP, name, value)
            .unwrap();
    }

    /// The peer's segment, signed with `key` (the option first, as Linux lays it out).
    fn signed(segment: PeerSegment, key: &[u8]) -> Vec<u8> {
        let mut segment = segment;
        let mut options = MD5_OPTION.to_vec();
        options.extend_from_slice(&segment.options);
        segment.options = options;
        let mut bytes = segment.bytes(PEER, OURS);
        md5sig::sign(&mut bytes, PEER, OURS, key);
        bytes
    }

    /// What the stack queued, raw, each checked to carry a valid signature for `key`.
    fn sent_signed(script: &mut Script, key: &[u8]) -> Vec<Sent> {
        let queued = script.tcp.take_queued();
        for segment in &queued {
            let Ok(Signature::Md5(at)) = md5sig::find_signature(&segment.bytes) else {
                panic!("an unsigned segment: {:?}", Sent::parse(segment));
            };
            assert_eq!(at, 24, "the option comes first (NOP NOP 19 18)");
            let digest = md5sig::digest(key, segment.src, segment.dst, &segment.bytes);
            assert_eq!(&segment.bytes[at..at + 16], &digest, "a bad signature");
        }
        queued.iter().map(Sent::parse).collect()
    }

    /// A keyed connection to PEER:PEER_PORT, handshake signed both ways: (socket, our next
    /// sequence number, the peer's, our port).
    fn keyed_connection(script: &mut Script) -> (stack::socket::SocketId, u32, u32, u16) {
        let id = script.socket();
        add_key(script, id, &md5sig(PEER, None, KEY), TCP_MD5SIG);
        assert_eq!(
            script.connect(id, PEER_PORT),
            Err(stack::Errno::EINPROGRESS)
        );
        let syn = sent_signed(script, KEY).remove(0);
        // tcp_syn_options: no timestamps beside the signature; MSS, SACK_PERM, WS remain.
        assert_eq!(syn.timestamps, None);
        assert_eq!(syn.mss, Some(1460));
        assert!(syn.sack_permitted && syn.window_scale.is_some());
        let peer_iss = 7_000u32;
        let syn_ack = PeerSegment::new(SYN | ACK, peer_iss, syn.seq.wrapping_add(1))
            .addressed_to(syn.source_port)
            .mss_only();
        script.deliver_segment_bytes(PEER, &signed(syn_ack, KEY));
        let ack = sent_signed(script, KEY).remove(0);
        assert!(ack.is(ACK));
        assert_eq!(script.connect(id, PEER_PORT), Ok(()));
        (
            id,
            syn.seq.wrapping_add(1),
            peer_iss.wrapping_add(1),
            syn.source_port,
        )
    }

    #[test]
    fn a_keyed_connection_signs_everything_and_drops_what_is_not_signed_right() {
        let mut script = Script::new();
        let (id, ours, peer, port) = keyed_connection(&mut script);
        // Signed data is taken.
        let data = PeerSegment::new(ACK | PSH, peer, ours)
            .addressed_to(port)
            .data(b"hello");
        script.deliver_segment_bytes(PEER, &signed(data.clone(), KEY));
        assert_eq!(script.recv(id, 100).unwrap(), b"hello");
        script.advance(200);
        let acks = sent_signed(&mut script, KEY);
        assert!(acks.iter().all(|ack| ack.ack == peer + 5));
        // Unsigned: TCPMD5NOTFOUND. Wrong key: TCPMD5FAILURE. Nothing answers either.
        let next = PeerSegment::new(ACK | PSH, peer + 5, ours)
            .addressed_to(port)
            .data(b"again");
        script.deliver(&next);
        script.deliver_segment_bytes(PEER, &signed(next.clone(), b"not the key"));
        assert!(script.tcp.take_queued().is_empty());
        assert!(script.recv(id, 100).is_err());
        let counters = script.tcp.counters();
        assert_eq!((counters.md5_not_found, counters.md5_failure), (1, 1));
        // The same data signed right still arrives.
        script.deliver_segment_bytes(PEER, &signed(next, KEY));
        assert_eq!(script.recv(id, 100).unwrap(), b"again");
    }

    #[test]
    fn signed_segments_carry_twenty_bytes_less_data() {
        let mut script = Script::new();
        let (id, ours, peer, port) = keyed_connection(&mut script);
        // Open the peer's window wide, then send more than one segment's worth.
        let window = PeerSegment::new(ACK, peer, ours)
            .addressed_to(port)
            .window(65535);
        script.deliver_segment_bytes(PEER, &signed(window, KEY));
        let _ = script.tcp.take_queued();
        script.send(id, &[7u8; 4000]).unwrap();
        script.advance(1);
        let sent = sent_signed(&mut script, KEY);
        let sizes: Vec<usize> = sent.iter().map(|s| s.payload.len()).collect();
        // MSS 1460 (no timestamps), less the 20-byte signature option: 1440.
        assert_eq!(sizes[0], 1440, "{sizes:?}");
        // TCP_MAXSEG still reads mss_cache (1460), as the kernel's does.
        assert_eq!(script.getsockopt_int(id, SOL_TCP, 2), Ok(1460));
    }

    #[test]
    fn a_socket_without_a_key_drops_signed_segments() {
        let mut script = Script::new();
        let listener = script.listening_on(8080, 4);
        let syn = PeerSegment::new(SYN, 100, 0).addressed_to(8080).mss_only();
        script.deliver_segment_bytes(PEER, &signed(syn, KEY));
        assert!(script.tcp.take_queued().is_empty());
        assert_eq!(script.tcp.counters().md5_unexpected, 1);
        let _ = listener;
    }

    #[test]
    fn a_listener_key_covers_a_prefix_and_its_child_signs_and_time_waits_signed() {
        let mut script = Script::new();
        let listener = script.socket();
        add_key(
            &mut script,
            listener,
            &md5sig(Ipv4Addr::new(198, 18, 0, 0), Some(24), KEY),
            TCP_MD5SIG_EXT,
        );
        script.bind(listener, 8080).unwrap();
        script.tcp.listen(listener, 4).unwrap();
        // An unsigned SYN from a covered address: TCPMD5NOTFOUND, no SYN-ACK.
        script.deliver(&PeerSegment::new(SYN, 100, 0).addressed_to(8080).mss_only());
        assert!(script.tcp.take_queued().is_empty());
        assert_eq!(script.tcp.counters().md5_not_found, 1);
        // A signed one with SACK and timestamps: the SYN-ACK is signed and, SACK agreed,
        // leaves timestamps out (tcp_synack_options).
        let syn = PeerSegment::new(SYN, 100, 0)
            .addressed_to(8080)
            .linux_syn_options(5, 0);
        script.deliver_segment_bytes(PEER, &signed(syn, KEY));
        let syn_ack = sent_signed(&mut script, KEY).remove(0);
        assert!(syn_ack.is(SYN | ACK) && syn_ack.sack_permitted);
        assert_eq!(syn_ack.timestamps, None);
        let ack = PeerSegment::new(ACK, 101, syn_ack.seq.wrapping_add(1)).addressed_to(8080);
        script.deliver_segment_bytes(PEER, &signed(ack, KEY));
        let child = script.tcp.accept(listener).unwrap().0;
        // The child holds the key as a /32 for the peer: the /24 is not there to delete.
        let now = script.now;
        let delete = md5sig(Ipv4Addr::new(198, 18, 0, 0), Some(24), b"");
        assert_eq!(
            script
                .tcp
                .setsockopt(now, &script.net, child, SOL_TCP, TCP_MD5SIG_EXT, &delete),
            Err(stack::Errno::ENOENT)
        );
        // Active close, the peer's FIN: the TIME_WAIT record's ACK is signed too.
        script.tcp.close(script.now, child);
        let fin = sent_signed(&mut script, KEY).remove(0);
        assert!(fin.flags & FIN != 0);
        let fin_ack = PeerSegment::new(FIN | ACK, 101, fin.seq.wrapping_add(1)).addressed_to(8080);
        script.deliver_segment_bytes(PEER, &signed(fin_ack.clone(), KEY));
        let last_ack = sent_signed(&mut script, KEY);
        assert_eq!(last_ack.len(), 1);
        // TIME_WAIT does not check signatures (tcp_v4_rcv's do_time_wait): a retransmitted
        // FIN signed with another key is still answered, with our key.
        script.deliver_segment_bytes(PEER, &signed(fin_ack, b"other"));
        assert_eq!(sent_signed(&mut script, KEY).len(), 1);
    }

    #[test]
    fn resets_for_keyed_sockets_are_signed_and_signed_strays_get_none() {
        let mut script = Script::new();
        let (_id, ours, peer, port) = keyed_connection(&mut script);
        // A signed SYN to a port nobody listens on: no listener on its source port holds a
        // key, so no reset ("don't send rst if it can't find key").
        let stray = PeerSegment::new(SYN, 1, 0).addressed_to(9999);
        script.deliver_segment_bytes(PEER, &signed(stray, KEY));
        assert!(script.tcp.take_queued().is_empty());
        // Unsigned, it gets the usual reset.
        script.deliver(&PeerSegment::new(SYN, 1, 0).addressed_to(9999));
        let reset = script.sent_one();
        assert!(reset.flags & RST != 0);
        // A malformed authentication option (an MD5 option of 17 bytes) is dropped before
        // any socket sees it, and gets no reset either.
        let mut bad = PeerSegment::new(ACK, peer, ours).addressed_to(port);
        bad.options = vec![19, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1];
        script.deliver(&bad);
        assert!(script.tcp.take_queued().is_empty());
        assert_eq!(script.tcp.counters().auth_header_drops, 1);
        // A keyed socket's own reset (tcp_v4_send_reset with a full socket) is signed: a
        // SYN_SENT socket answering a SYN-ACK that acknowledges the wrong number.
        let id = script.socket();
        add_key(&mut script, id, &md5sig(PEER, None, KEY), TCP_MD5SIG);
        assert_eq!(script.connect(id, 6000), Err(stack::Errno::EINPROGRESS));
        let syn = sent_signed(&mut script, KEY).remove(0);
        let wrong_ack = PeerSegment::new(SYN | ACK, 1, syn.seq.wrapping_add(99))
            .coming_from(6000)
            .addressed_to(syn.source_port);
        script.deliver_segment_bytes(PEER, &signed(wrong_ack, KEY));
        let reset = sent_signed(&mut script, KEY).remove(0);
        assert!(reset.flags & RST != 0);
    }
}
