//! Two complete stacks (IPv4 + TCP) joined by a simulated Ethernet link that loses,
//! duplicates, reorders and corrupts frames with a seeded generator. Every run must end with
//! the transferred bytes identical in both directions and both connections closed cleanly,
//! in virtual time. The seeds are fixed, so a failure reproduces exactly.

mod tcp_harness;

/// Named `tcp` so `cargo test -p ipshim-stack tcp` selects every script here.
mod tcp {

    use core::net::{Ipv4Addr, SocketAddrV4};
    use core::time::Duration;

    use stack::socket::{poll_bits, RecvArgs, SendArgs, Shutdown, SocketId};
    use stack::tcp::TcpLayer;
    use stack::{Credentials, Errno, Instant, Sysctls};

    use crate::tcp_harness::link::{link_config, InFlight, LinkEndpoint as Endpoint};

    const CLIENT: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
    const SERVER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
    const SERVER_PORT: u16 = 7007;

    fn endpoint(addr: Ipv4Addr, mac_last: u8, seed: u64) -> Endpoint {
        Endpoint::new(&link_config(addr, mac_last, Sysctls::default(), seed))
    }

    /// SplitMix64, the link's own generator.
    struct Dice(u64);

    impl Dice {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        /// True with probability `percent` / 100.
        fn chance(&mut self, percent: f64) -> bool {
            (self.next() % 1_000_000) as f64 / 10_000.0 < percent
        }

        fn below(&mut self, bound: u64) -> u64 {
            self.next() % bound.max(1)
        }
    }

    #[derive(Clone, Copy, Debug)]
    struct Impairments {
        loss: f64,
        duplicate: f64,
        reorder: f64,
        corrupt: f64,
    }

    const CLEAN: Impairments = Impairments {
        loss: 0.0,
        duplicate: 0.0,
        reorder: 0.0,
        corrupt: 0.0,
    };

    struct Link {
        dice: Dice,
        impairments: Impairments,
        /// One-way delay.
        delay: Duration,
        /// (delivery time, destination endpoint, frame), unordered.
        queue: InFlight,
        frames: u64,
    }

    /// TCP_SIM_TRACE=1 prints every frame the link carries (for debugging a failing seed).
    fn trace(now: Instant, event: &str, to: usize, frame: &[u8]) {
        if std::env::var_os("TCP_SIM_TRACE").is_none() {
            return;
        }
        let who = if to == 1 { "c->s" } else { "s->c" };
        if frame.len() < 54 || frame[23] != 6 {
            eprintln!(
                "{:>10} {event} {who} non-TCP {} bytes",
                now.as_nanos() / 1000,
                frame.len()
            );
            return;
        }
        let tcp = &frame[34..];
        let word = |at: usize| u32::from_be_bytes([tcp[at], tcp[at + 1], tcp[at + 2], tcp[at + 3]]);
        let header = usize::from(tcp[12] >> 4) * 4;
        eprintln!(
            "{:>10} {event} {who} flags {:02x} seq {} ack {} win {} len {}",
            now.as_nanos() / 1000,
            tcp[13],
            word(4),
            word(8),
            u16::from_be_bytes([tcp[14], tcp[15]]),
            tcp.len().saturating_sub(header)
        );
    }

    impl Link {
        fn send(&mut self, now: Instant, to: usize, frame: Vec<u8>) {
            self.frames += 1;
            // Only IPv4 frames are impaired: an ARP resolution that fails three times makes
            // connect() fail with EHOSTUNREACH, as it does on Linux (ipv4_link_failure), which
            // is not what these runs are about.
            // A TCP segment must fit the MTU: never an IP fragment (MF or an offset).
            if frame.get(12..14) == Some(&[0x08, 0x00]) && frame.get(23) == Some(&6) {
                assert!(frame.len() <= 14 + 1500, "oversized TCP frame");
                assert_eq!(frame[20] & 0x3f, 0, "TCP segment fragmented");
                assert_eq!(frame[21], 0, "TCP segment fragmented");
            }
            let impairments = if frame.get(12..14) == Some(&[0x08, 0x00]) {
                self.impairments
            } else {
                CLEAN
            };
            if self.dice.chance(impairments.loss) {
                trace(now, "LOST", to, &frame);
                return;
            }
            trace(now, "sent", to, &frame);
            let copies = if self.dice.chance(impairments.duplicate) {
                2
            } else {
                1
            };
            for _ in 0..copies {
                let mut frame = frame.clone();
                if self.dice.chance(impairments.corrupt) {
                    let at = 14 + self.dice.below(frame.len() as u64 - 14) as usize;
                    frame[at] ^= 1 << self.dice.below(8);
                }
                let mut delay = self.delay;
                if self.dice.chance(impairments.reorder) {
                    delay += Duration::from_micros(
                        self.dice.below(3 * self.delay.as_micros() as u64 + 1),
                    );
                }
                self.queue.push(now + delay, to, frame);
            }
        }
    }

    fn pattern(len: usize, seed: u64) -> Vec<u8> {
        let mut dice = Dice(seed);
        (0..len).map(|_| dice.next() as u8).collect()
    }

    /// One side of the application: writes `outgoing`, reads into `incoming`, shuts down its
    /// writing side when all is written and closes once the peer's end of stream arrived.
    struct App {
        name: &'static str,
        socket: Option<SocketId>,
        outgoing: Vec<u8>,
        written: usize,
        incoming: Vec<u8>,
        shut: bool,
        eof: bool,
        closed: bool,
    }

    impl App {
        fn new(name: &'static str, outgoing: Vec<u8>) -> App {
            App {
                name,
                socket: None,
                outgoing,
                written: 0,
                incoming: Vec::new(),
                shut: false,
                eof: false,
                closed: false,
            }
        }

        fn run(&mut self, now: Instant, tcp: &mut TcpLayer) {
            let Some(id) = self.socket else {
                return;
            };
            if self.closed {
                return;
            }
            while self.written < self.outgoing.len() {
                let end = (self.written + 20_000).min(self.outgoing.len());
                match tcp.send(
                    now,
                    id,
                    SendArgs {
                        data: &self.outgoing[self.written..end],
                        dest: None,
                        control: &[],
                        flags: 0,
                    },
                ) {
                    Ok(count) => self.written += count,
                    Err(Errno::EAGAIN) => break,
                    Err(error) => panic!("{}: send failed: {error:?}", self.name),
                }
            }
            if self.written == self.outgoing.len() && !self.shut {
                tcp.shutdown(now, id, Shutdown::Write).unwrap();
                self.shut = true;
            }
            let mut buf = vec![0u8; 16_384];
            loop {
                let args = RecvArgs {
                    capacity: buf.len(),
                    control_capacity: 0,
                    flags: 0x40,
                };
                match tcp.recv(now, id, args, &mut buf) {
                    Ok(result) if result.len == 0 => {
                        self.eof = true;
                        break;
                    }
                    Ok(result) => self.incoming.extend_from_slice(&buf[..result.len]),
                    Err(Errno::EAGAIN) => break,
                    Err(error) => panic!("{}: recv failed: {error:?}", self.name),
                }
            }
            // Close once the peer's end of stream arrived and everything of ours (FIN
            // included) is acknowledged (SIOCOUTQ 0), so the socket is never an orphan with
            // data at risk: an orphan gives up after tcp_orphan_retries (8), which a 20% loss
            // link can exhaust, leaving the peer in FIN_WAIT2 for good — as on Linux.
            let unacknowledged = tcp
                .ioctl(id, 0x5411)
                .map(|bytes| i32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]));
            if self.eof && self.shut && unacknowledged == Ok(0) {
                tcp.close(now, id);
                self.closed = true;
            }
        }
    }

    struct Outcome {
        finished_at: Duration,
        frames: u64,
    }

    fn transfer(
        seed: u64,
        impairments: Impairments,
        client_bytes: usize,
        server_bytes: usize,
    ) -> Outcome {
        transfer_with(seed, impairments, client_bytes, server_bytes, b"cubic")
    }

    /// `algorithm`: the TCP_CONGESTION of both ends (set on the listener, inherited).
    fn transfer_with(
        seed: u64,
        impairments: Impairments,
        client_bytes: usize,
        server_bytes: usize,
        algorithm: &[u8],
    ) -> Outcome {
        let mut endpoints = [
            endpoint(CLIENT, 2, seed ^ 0xc1),
            endpoint(SERVER, 1, seed ^ 0x5e),
        ];
        let mut link = Link {
            dice: Dice(seed),
            impairments,
            delay: Duration::from_millis(5),
            queue: InFlight::default(),
            frames: 0,
        };
        let start = Instant::from_millis(10_000);
        let mut now = start;
        let server_tcp = &mut endpoints[1].tcp;
        let listener = server_tcp.socket(Credentials::default());
        let any =
            super::tcp_harness::sockaddr(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, SERVER_PORT));
        server_tcp.bind(&endpoints[1].ip, listener, &any).unwrap();
        endpoints[1].tcp.listen(listener, 16).unwrap();
        let client_socket = endpoints[0].tcp.socket(Credentials::default());
        for (endpoint, id) in [(0, client_socket), (1, listener)] {
            let Endpoint { ip, tcp } = &mut endpoints[endpoint];
            tcp.setsockopt(now, &*ip, id, 6, 13, algorithm).unwrap();
        }
        let target = super::tcp_harness::sockaddr(SocketAddrV4::new(SERVER, SERVER_PORT));
        assert_eq!(
            endpoints[0]
                .tcp
                .connect(now, &endpoints[0].ip, client_socket, &target),
            Err(Errno::EINPROGRESS)
        );
        let mut client = App::new("client", pattern(client_bytes, seed ^ 1));
        let mut server = App::new("server", pattern(server_bytes, seed ^ 2));
        let mut connected = false;
        let deadline = start + Duration::from_secs(3 * 3600);
        for _ in 0..5_000_000u32 {
            if !connected && endpoints[0].tcp.poll(client_socket) & poll_bits::POLLOUT != 0 {
                assert_eq!(
                    endpoints[0]
                        .tcp
                        .connect(now, &endpoints[0].ip, client_socket, &target),
                    Ok(())
                );
                connected = true;
                client.socket = Some(client_socket);
            }
            if server.socket.is_none() {
                if let Ok((child, _)) = endpoints[1].tcp.accept(listener) {
                    server.socket = Some(child);
                }
            }
            client.run(now, &mut endpoints[0].tcp);
            server.run(now, &mut endpoints[1].tcp);
            if client.closed && server.closed && server.socket.is_some() {
                endpoints[1].tcp.close(now, listener);
            }
            for (from, endpoint) in endpoints.iter_mut().enumerate() {
                for frame in endpoint.flush(now) {
                    link.send(now, 1 - from, frame);
                }
            }
            let Some(next) = link.queue.next_event(&endpoints) else {
                break;
            };
            assert!(
                next <= deadline,
                "seed {seed}: no progress by {:?}",
                deadline.saturating_since(start)
            );
            now = now.max(next);
            for (to, frame) in link.queue.due(now) {
                endpoints[to].receive(now, &frame);
            }
            for endpoint in &mut endpoints {
                if endpoint.poll_at().is_some_and(|at| at <= now) {
                    endpoint.run_timers(now);
                }
            }
        }
        assert!(
            client.closed && server.closed,
            "seed {seed}: did not finish"
        );
        assert!(
            server.incoming == client.outgoing,
            "seed {seed}: server received {} of {} bytes, not identical",
            server.incoming.len(),
            client.outgoing.len()
        );
        assert!(
            client.incoming == server.outgoing,
            "seed {seed}: client received {} of {} bytes, not identical",
            client.incoming.len(),
            server.outgoing.len()
        );
        // Every timer ran out: TIME_WAIT ended, nothing was left behind.
        assert_eq!(endpoints[0].tcp.poll_at(), None);
        assert_eq!(endpoints[1].tcp.poll_at(), None);
        Outcome {
            finished_at: now.saturating_since(start),
            frames: link.frames,
        }
    }

    const MIB: usize = 1 << 20;

    #[test]
    fn clean_link_transfers_one_mebibyte_each_way() {
        let outcome = transfer(1, CLEAN, MIB, MIB);
        // TIME_WAIT (60 s) dominates the end; the data itself needs well under a second.
        assert!(
            outcome.finished_at < Duration::from_secs(70),
            "{:?}",
            outcome.finished_at
        );
        // 2 MiB in 1448-byte segments, plus ACKs: no runaway retransmission on a clean link.
        assert!(
            (1_448..4_000).contains(&outcome.frames),
            "{} frames",
            outcome.frames
        );
    }

    #[test]
    fn lossy_links_end_byte_exact() {
        let profiles = [
            Impairments { loss: 1.0, ..CLEAN },
            Impairments { loss: 5.0, ..CLEAN },
            Impairments {
                loss: 15.0,
                ..CLEAN
            },
        ];
        for (index, impairments) in profiles.into_iter().enumerate() {
            for seed in 0..3u64 {
                transfer(100 + seed + 10 * index as u64, impairments, MIB, 64 * 1024);
            }
        }
    }

    #[test]
    fn reordering_duplication_and_corruption_end_byte_exact() {
        let profiles = [
            Impairments {
                reorder: 20.0,
                ..CLEAN
            },
            Impairments {
                duplicate: 10.0,
                ..CLEAN
            },
            Impairments {
                corrupt: 5.0,
                ..CLEAN
            },
            Impairments {
                loss: 3.0,
                duplicate: 3.0,
                reorder: 10.0,
                corrupt: 2.0,
            },
        ];
        for (index, impairments) in profiles.into_iter().enumerate() {
            for seed in 0..3u64 {
                transfer(200 + seed + 10 * index as u64, impairments, MIB, 128 * 1024);
            }
        }
    }

    #[test]
    fn reno_ends_byte_exact_too() {
        for seed in 0..3u64 {
            let impairments = Impairments {
                loss: 5.0,
                reorder: 5.0,
                ..CLEAN
            };
            transfer_with(400 + seed, impairments, MIB, 64 * 1024, b"reno");
        }
    }

    /// A wider sweep for bug hunting: `cargo test --release -p ipshim-stack --test
    /// tcp_simulation -- --ignored` (TCP_SIM_SEEDS=n for more seeds, TCP_SIM_SEED=k for one,
    /// TCP_SIM_TRACE=1 to print every frame). 1500 seeds pass. Loss stays at or below 12%:
    /// at 20% both ways, ACKs lost during repeated timeouts echo old timestamps, whose RTT
    /// samples (taken as Linux's tcp_ack_update_rtt takes them) push the RTO towards its
    /// 120 s ceiling, and a megabyte can take longer than the run's three virtual hours.
    #[test]
    #[ignore]
    fn many_seeds() {
        let only: Option<u64> = std::env::var("TCP_SIM_SEED")
            .ok()
            .and_then(|v| v.parse().ok());
        let count: u64 = std::env::var("TCP_SIM_SEEDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(200);
        for seed in 0..count {
            if only.is_some_and(|only| only != seed) {
                continue;
            }
            let dice = seed % 7;
            let impairments = Impairments {
                loss: [0.0, 1.0, 3.0, 8.0, 12.0, 2.0, 5.0][dice as usize],
                duplicate: [0.0, 2.0, 0.0, 5.0, 0.0, 10.0, 1.0][dice as usize],
                reorder: [0.0, 5.0, 30.0, 0.0, 10.0, 10.0, 3.0][dice as usize],
                corrupt: [0.0, 1.0, 0.0, 2.0, 3.0, 0.0, 5.0][dice as usize],
            };
            let algorithm: &[u8] = if seed % 2 == 0 { b"cubic" } else { b"reno" };
            let size = [1, 1000, 70_000, 300_000, MIB][(seed % 5) as usize];
            transfer_with(1000 + seed, impairments, size, size / 3, algorithm);
        }
    }

    #[test]
    fn tiny_transfers_and_empty_ones_close_cleanly() {
        for seed in 0..4u64 {
            transfer(
                300 + seed,
                Impairments {
                    loss: 10.0,
                    reorder: 10.0,
                    ..CLEAN
                },
                1,
                0,
            );
            transfer(
                310 + seed,
                Impairments {
                    loss: 10.0,
                    ..CLEAN
                },
                0,
                0,
            );
        }
    }
}
