//! Fuzz-style robustness for TCP (malformed_frames.rs's rule, issue #2, applied to issue #5):
//! a TCP layer with a listener, an established connection and a connecting socket is fed
//! mutations of plausible segments — truncated headers, data offsets past the segment,
//! option lists with bad lengths, random flag combinations, sequence and ACK numbers in and
//! out of the window, urgent pointers past the data — with correct and broken checksums,
//! interleaved with socket calls and timer runs. Nothing may panic, no counter may go down,
//! and every segment TCP is handed moves `segments_received`.
//!
//! Deterministic (seeded xorshift); `IPSHIM_FUZZ_ITERATIONS` / `IPSHIM_FUZZ_SEED` for long runs.

mod fuzz_rng;
mod tcp_harness;

/// Named `tcp` so `cargo test -p ipshim-stack tcp` selects it.
mod tcp {
    use super::fuzz_rng::{env_u64, Rng};
    use super::tcp_harness::*;
    use core::net::Ipv4Addr;
    use stack::counters::CounterSet;
    use stack::socket::msg_flags::{MSG_OOB, MSG_PEEK};
    use stack::socket::{RecvArgs, SocketId};
    use stack::wire::checksum;

    const DEFAULT_ITERATIONS: u64 = 20_000;
    const LISTEN_PORT: u16 = 8080;

    /// Option bytes: well-formed ones (MSS, WS, SACK-permitted, SACK blocks, timestamps)
    /// mixed with bad kinds and lengths (0, 1, past the end).
    fn options(rng: &mut Rng) -> Vec<u8> {
        let mut out = Vec::new();
        for _ in 0..rng.below(5) {
            match rng.below(8) {
                0 => out.extend_from_slice(&[2, 4, rng.next() as u8, rng.next() as u8]),
                1 => out.extend_from_slice(&[3, 3, rng.below(20) as u8]),
                2 => out.extend_from_slice(&[4, 2]),
                3 => {
                    let blocks = rng.below(5);
                    out.extend_from_slice(&[5, (2 + 8 * blocks) as u8]);
                    out.extend(rng.bytes(8 * blocks));
                }
                4 => {
                    out.extend_from_slice(&[8, 10]);
                    out.extend(rng.bytes(8));
                }
                5 => out.extend_from_slice(&[1]),
                6 => {
                    let kind = rng.next() as u8;
                    out.extend_from_slice(&[kind, rng.below(4) as u8]);
                }
                _ => {
                    let len = rng.below(6);
                    out.extend(rng.bytes(len));
                }
            }
        }
        out.truncate(40);
        out
    }

    struct Fuzz {
        rng: Rng,
        script: Script,
        sockets: Vec<SocketId>,
        /// (peer port, our port, a sequence number near the peer's, near ours).
        flows: Vec<(u16, u16, u32, u32)>,
        counters: Vec<(&'static str, u64)>,
    }

    impl Fuzz {
        fn segment(&mut self) -> Vec<u8> {
            let rng = &mut self.rng;
            let (peer_port, our_port, peer_seq, our_seq) = self.flows[rng.below(self.flows.len())];
            let options = options(rng);
            let mut padded = options.clone();
            while !padded.len().is_multiple_of(4) {
                padded.push(if rng.chance(80) { 0 } else { 1 });
            }
            let header_len = 20 + padded.len();
            let near = |rng: &mut Rng, base: u32| match rng.below(4) {
                0 => base,
                1 => base.wrapping_add(rng.below(70_000) as u32),
                2 => base.wrapping_sub(rng.below(70_000) as u32),
                _ => rng.next() as u32,
            };
            let seq = near(rng, peer_seq);
            let ack = near(rng, our_seq);
            let flags = if rng.chance(50) {
                [0x10u8, 0x18, 0x02, 0x12, 0x11, 0x04, 0x14, 0x38, 0x01][rng.below(9)]
            } else {
                rng.next() as u8
            };
            let mut out = Vec::new();
            out.extend_from_slice(&peer_port.to_be_bytes());
            out.extend_from_slice(&our_port.to_be_bytes());
            out.extend_from_slice(&seq.to_be_bytes());
            out.extend_from_slice(&ack.to_be_bytes());
            out.push(((header_len / 4) as u8) << 4);
            out.push(flags);
            out.extend_from_slice(&(rng.next() as u16).to_be_bytes());
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&(rng.below(3000) as u16).to_be_bytes());
            out.extend_from_slice(&padded);
            let payload_len = [0, 1, 10, 536, 1460][rng.below(5)];
            out.extend(rng.bytes(payload_len));
            // Mutations of the header itself.
            match rng.below(10) {
                0 => out.truncate(rng.below(out.len() + 1)),
                1 => out[12] = (rng.next() as u8) & 0xf0,
                2 => {
                    let at = rng.below(out.len());
                    out[at] ^= 1 << rng.below(8);
                }
                _ => {}
            }
            if out.len() >= 18 && rng.chance(85) {
                out[16..18].copy_from_slice(&[0, 0]);
                let acc = checksum::pseudo_header(PEER, OURS, 6, out.len() as u32);
                let sum = !checksum::fold(checksum::accumulate(acc, &out));
                out[16..18].copy_from_slice(&sum.to_be_bytes());
            }
            out
        }

        fn socket_call(&mut self) {
            let now = self.script.now;
            let id = self.sockets[self.rng.below(self.sockets.len())];
            let tcp = &mut self.script.tcp;
            match self.rng.below(9) {
                0 => {
                    let _ = tcp.send(
                        now,
                        id,
                        stack::socket::SendArgs {
                            data: &[9u8; 3000],
                            dest: None,
                            control: &[],
                            flags: if self.rng.chance(20) { MSG_OOB } else { 0 },
                        },
                    );
                }
                1..=3 => {
                    let mut buf = [0u8; 4096];
                    let flags = [0, MSG_PEEK, MSG_OOB][self.rng.below(3)];
                    let args = RecvArgs {
                        capacity: buf.len(),
                        control_capacity: 64,
                        flags,
                    };
                    let _ = tcp.recv(now, id, args, &mut buf);
                }
                4 => {
                    if let Ok((child, _)) = tcp.accept(id) {
                        self.sockets.push(child);
                    }
                }
                5 => {
                    let _ = tcp.poll(id);
                }
                6 => {
                    let value = (self.rng.next() as i32).to_ne_bytes();
                    let name = 1 + self.rng.below(46) as i32;
                    let _ = tcp.setsockopt(now, &self.script.net, id, 6, name, &value);
                    let _ = tcp.getsockopt(&self.script.net, id, 6, name, self.rng.below(300));
                }
                7 => {
                    let _ = tcp.shutdown(now, id, stack::socket::Shutdown::Write);
                }
                _ => {
                    if self.rng.chance(10) && self.sockets.len() > 2 {
                        let index = self.rng.below(self.sockets.len());
                        let id = self.sockets.swap_remove(index);
                        tcp.close(now, id);
                    }
                }
            }
        }

        fn check_counters(&mut self, delivered: bool) {
            let now = self.script.tcp.counters().entries();
            for ((name, before), (_, after)) in self.counters.iter().zip(&now) {
                assert!(after >= before, "tcp.{name} went down: {before} → {after}");
            }
            if delivered {
                let received = |entries: &[(&str, u64)]| {
                    entries
                        .iter()
                        .find(|(name, _)| *name == "segments_received")
                        .map(|&(_, value)| value)
                };
                assert!(
                    received(&now) > received(&self.counters),
                    "a segment reached TCP without being counted"
                );
            }
            self.counters = now;
        }
    }

    #[test]
    fn malformed_tcp_segments_are_counted_and_dropped() {
        let seed = env_u64("IPSHIM_FUZZ_SEED", 0x5eed_7c9a);
        let iterations = env_u64("IPSHIM_FUZZ_ITERATIONS", DEFAULT_ITERATIONS);
        let mut script = Script::new();
        let listener = script.socket();
        script.bind(listener, LISTEN_PORT).unwrap();
        script.tcp.listen(listener, 8).unwrap();
        let (connected, our_next, peer_next, port) = established(&mut script);
        let connecting = script.socket();
        let _ = script.connect(connecting, PEER_PORT + 1);
        let syn = script.sent().pop().unwrap();
        let mut fuzz = Fuzz {
            rng: Rng(seed | 1),
            counters: script.tcp.counters().entries(),
            script,
            sockets: vec![listener, connected, connecting],
            flows: vec![
                (40_000, LISTEN_PORT, 9000, 0),
                (PEER_PORT, port, peer_next, our_next),
                (PEER_PORT + 1, syn.source_port, 0, syn.seq.wrapping_add(1)),
                (PEER_PORT, 1, 0, 0),
            ],
        };
        for _ in 0..iterations {
            match fuzz.rng.below(10) {
                0..=6 => {
                    let segment = fuzz.segment();
                    fuzz.script.deliver_segment_bytes(PEER, &segment);
                    // The IP layer hands TCP every datagram of protocol 6 that reached us.
                    fuzz.check_counters(true);
                }
                7 => {
                    // From a broadcast source / to ourselves from elsewhere.
                    let segment = fuzz.segment();
                    let src = [PEER, Ipv4Addr::new(198, 18, 0, 77)][fuzz.rng.below(2)];
                    fuzz.script.deliver_segment_bytes(src, &segment);
                    fuzz.check_counters(true);
                }
                8 => {
                    fuzz.socket_call();
                    fuzz.check_counters(false);
                }
                _ => {
                    let step = [1, 40, 200, 3000][fuzz.rng.below(4)];
                    fuzz.script.advance(step);
                    fuzz.check_counters(false);
                }
            }
            fuzz.script.sent();
        }
        let counters = fuzz.script.tcp.counters();
        assert!(counters.bad_checksum > 0);
        assert!(counters.malformed > 0);
    }
}
