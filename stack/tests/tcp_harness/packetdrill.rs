//! packetdrill's server scripts over the harness: a passive open as they do it, the
//! server's writes and the peer's ACKs (with SACK blocks) and data in script sequence
//! numbers (script sequence n is our ISS + n), and tcp_info read by field. Shared by the
//! loss-recovery test files (`tcp_recovery.rs`, `tcp_sack_partial.rs`).

use super::*;

/// The port the scripts' listener takes.
pub const LISTEN_PORT: u16 = 8080;

/// tcpi_ca_state values.
pub const OPEN: u8 = 0;
pub const DISORDER: u8 = 1;
pub const RECOVERY: u8 = 3;
pub const LOSS: u8 = 4;

/// tcp_info fields (struct tcp_info offsets).
pub struct Info(pub Vec<u8>);

impl Info {
    pub fn ca_state(&self) -> u8 {
        self.0[1]
    }
    pub fn u32(&self, at: usize) -> u32 {
        u32_at(&self.0, at)
    }
    pub fn unacked(&self) -> u32 {
        self.u32(24)
    }
    pub fn sacked(&self) -> u32 {
        self.u32(28)
    }
    pub fn lost(&self) -> u32 {
        self.u32(32)
    }
    pub fn retrans(&self) -> u32 {
        self.u32(36)
    }
    pub fn ssthresh(&self) -> u32 {
        self.u32(76)
    }
    pub fn cwnd(&self) -> u32 {
        self.u32(80)
    }
    pub fn reordering(&self) -> u32 {
        self.u32(88)
    }
    pub fn total_retrans(&self) -> u32 {
        self.u32(100)
    }
    pub fn delivery_rate(&self) -> u64 {
        u64_at(&self.0, 160)
    }
    pub fn dsack_dups(&self) -> u32 {
        self.u32(216)
    }
    pub fn reord_seen(&self) -> u32 {
        self.u32(220)
    }
}

/// A passive open as packetdrill's server scripts do it:
/// `< S 0:0(0) win 32792 <mss MSS,sackOK,nop,nop,nop,wscale 7>`, our SYN-ACK, and
/// `+.1 < . 1:1(0) ack 1 win WINDOW` (an RTT of 100 ms), then accept().
/// Returns (socket, our ISS + 1, the peer's ISS + 1 = 1 in script terms).
pub struct Server {
    pub script: Script,
    pub id: stack::SocketId,
    /// Our ISS: script sequence n is `ours + n`.
    pub ours: u32,
    /// The peer's ISS: its sequence n is `theirs + n`.
    pub theirs: u32,
}

impl Server {
    pub fn open(mss: u16, window: u16) -> Server {
        let [high, low] = mss.to_be_bytes();
        Server::open_with(vec![2, 4, high, low, 4, 2, 1, 1, 1, 3, 3, 7], window)
    }

    /// The same with other SYN options (e.g. no sackOK).
    pub fn open_with(options: Vec<u8>, window: u16) -> Server {
        Server::open_on(Script::new(), options, window)
    }

    /// The same on a host whose /proc/sys values are `sysctls`.
    pub fn open_on(mut script: Script, options: Vec<u8>, window: u16) -> Server {
        let listener = script.listening_on(LISTEN_PORT, 1);
        let theirs = 0u32;
        let mut syn = PeerSegment::new(SYN, theirs, 0)
            .addressed_to(LISTEN_PORT)
            .window(32792);
        syn.options = options;
        script.deliver(&syn);
        let syn_ack = script.sent_one();
        assert!(syn_ack.is(SYN | ACK));
        script.advance(100);
        let ours = syn_ack.seq;
        script.deliver(
            &PeerSegment::new(ACK, theirs + 1, ours + 1)
                .addressed_to(LISTEN_PORT)
                .window(window),
        );
        let (id, _) = script.tcp.accept(listener).unwrap();
        // packetdrill's defaults.sh: net.ipv4.tcp_wmem = "4096 262144 4194304".
        script.setsockopt_int(id, 1, 7, 262_144).unwrap();
        Server {
            script,
            id,
            ours,
            theirs,
        }
    }

    pub fn write(&mut self, len: usize) {
        let data = vec![b'x'; len];
        let mut written = 0;
        while written < len {
            written += self.script.send(self.id, &data[written..]).unwrap();
        }
    }

    /// `< . 1:1(0) ack ACK win WINDOW <sack ...>` in script sequence numbers.
    pub fn ack(&mut self, ack: u32, window: u16, sacks: &[(u32, u32)]) {
        let mut segment = PeerSegment::new(ACK, self.theirs + 1, self.ours + ack)
            .addressed_to(LISTEN_PORT)
            .window(window);
        if !sacks.is_empty() {
            let blocks: Vec<(u32, u32)> = sacks
                .iter()
                .map(|&(l, r)| (self.ours + l, self.ours + r))
                .collect();
            segment = segment.sack(&blocks);
        }
        self.script.deliver(&segment);
    }

    /// `< P. SEQ:END(LEN) ack 1 win WINDOW` in script sequence numbers.
    pub fn data(&mut self, seq: u32, len: usize, window: u16) {
        self.script.deliver(
            &PeerSegment::new(ACK | PSH, self.theirs + seq, self.ours + 1)
                .addressed_to(LISTEN_PORT)
                .window(window)
                .data(&vec![b'y'; len]),
        );
    }

    /// What we sent, as (script seq, payload length) pairs.
    pub fn sent(&mut self) -> Vec<(u32, usize)> {
        let ours = self.ours;
        self.script
            .sent()
            .into_iter()
            .map(|s| (s.seq.wrapping_sub(ours), s.payload.len()))
            .collect()
    }

    pub fn sent_segments(&mut self) -> Vec<Sent> {
        self.script.sent()
    }

    pub fn info(&mut self) -> Info {
        Info(self.script.tcp_info(self.id, 232))
    }

    pub fn advance(&mut self, millis: u64) {
        self.script.advance(millis);
    }
}
