//! TCP Fast Open (RFC 7413) as Linux 6.18 does it (net/ipv4/tcp_fastopen.c and the Fast Open
//! parts of tcp.c, tcp_output.c, tcp_input.c, tcp_metrics.c):
//!
//! - the server's cookie: SipHash-2-4 of the SYN's source and destination addresses under the
//!   listener's TCP_FASTOPEN_KEY or the namespace's key (__tcp_fastopen_cookie_gen_cipher),
//!   eight bytes, little-endian; tcp_try_fastopen decides, per SYN, whether a child socket is
//!   created at once with the SYN's data (and the SYN-ACK acknowledges it) and which cookie the
//!   SYN-ACK carries;
//! - the client's cookie cache (the kernel keeps it in the tcp metrics of the destination: it
//!   outlives the socket; here it lives as long as the stack): tcp_fastopen_cache_get/set;
//! - the client's SYN: tcp_send_syn_data puts up to one MSS less 40 bytes of the first write
//!   in the SYN when a cookie is cached (or cookies are not required), and a cookie request
//!   otherwise; tcp_rcv_fastopen_synack learns the cookie and retransmits data the SYN-ACK did
//!   not acknowledge;
//! - sendmsg(MSG_FASTOPEN) (tcp_sendmsg_fastopen) and TCP_FASTOPEN_CONNECT's deferred connect
//!   (tcp_fastopen_defer_connect).
//!
//! Not modelled: the blackhole detection (net.ipv4.tcp_fastopen_blackhole_timeout_sec, 0 by
//! default, which disables it), the per-route RTAX_FASTOPEN_NO_COOKIE metric, and the
//! fastopen queue's reset-request list (rskq_rst_head): a full queue just refuses Fast Open.

use core::net::{Ipv4Addr, SocketAddrV4};
use std::collections::HashMap;

use super::layer::TcpLayer;
use super::socket::SocketPhase;
use super::socket::{Role, TcpSocket};
use super::state::State;
use super::tcb::{Connection, OutSegment};
use super::timers::Timer;
use crate::errno::Errno;
use crate::random::Random;
use crate::sockaddr;
use crate::socket::{msg_flags, SendArgs, SocketId};
use crate::time::Instant;
use crate::wire::tcp::{flags, FastOpenCookie, Repr};

/// net.ipv4.tcp_fastopen bits (include/net/tcp.h).
pub const TFO_CLIENT_ENABLE: u32 = 1;
pub const TFO_SERVER_ENABLE: u32 = 2;
pub const TFO_CLIENT_NO_COOKIE: u32 = 4;
pub const TFO_SERVER_COOKIE_NOT_REQD: u32 = 0x200;
pub const TFO_SERVER_WO_SOCKOPT1: u32 = 0x400;

/// TCP_FASTOPEN_COOKIE_SIZE: the cookie this server hands out.
const COOKIE_SIZE: usize = 8;
/// TCP_FASTOPEN_KEY_LENGTH.
pub const KEY_LENGTH: usize = 16;
/// MAX_TCP_OPTION_SPACE: tcp_send_syn_data leaves room for every option a middlebox might add.
const MAX_OPTION_SPACE: u32 = 40;
/// tcpi_fastopen_client_fail values (enum tfo_client_fail... TFO_COOKIE_UNAVAILABLE etc.).
pub const TFO_COOKIE_UNAVAILABLE: u8 = 1;
pub const TFO_DATA_NOT_ACKED: u8 = 2;
pub const TFO_SYN_RETRANSMITTED: u8 = 3;

/// SipHash-2-4 (the kernel's siphash()) of `data` under `key`.
pub fn siphash(key: [u64; 2], data: &[u8]) -> u64 {
    let mut v0 = 0x736f_6d65_7073_6575 ^ key[0];
    let mut v1 = 0x646f_7261_6e64_6f6d ^ key[1];
    let mut v2 = 0x6c79_6765_6e65_7261 ^ key[0];
    let mut v3 = 0x7465_6462_7974_6573 ^ key[1];
    let round = |v0: &mut u64, v1: &mut u64, v2: &mut u64, v3: &mut u64| {
        *v0 = v0.wrapping_add(*v1);
        *v1 = v1.rotate_left(13) ^ *v0;
        *v0 = v0.rotate_left(32);
        *v2 = v2.wrapping_add(*v3);
        *v3 = v3.rotate_left(16) ^ *v2;
        *v0 = v0.wrapping_add(*v3);
        *v3 = v3.rotate_left(21) ^ *v0;
        *v2 = v2.wrapping_add(*v1);
        *v1 = v1.rotate_left(17) ^ *v2;
        *v2 = v2.rotate_left(32);
    };
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let m = u64::from_le_bytes(word);
        v3 ^= m;
        round(&mut v0, &mut v1, &mut v2, &mut v3);
        round(&mut v0, &mut v1, &mut v2, &mut v3);
        v0 ^= m;
    }
    let mut last = [0u8; 8];
    let rest = chunks.remainder();
    last[..rest.len()].copy_from_slice(rest);
    last[7] = data.len() as u8;
    let m = u64::from_le_bytes(last);
    v3 ^= m;
    round(&mut v0, &mut v1, &mut v2, &mut v3);
    round(&mut v0, &mut v1, &mut v2, &mut v3);
    v0 ^= m;
    v2 ^= 0xff;
    for _ in 0..4 {
        round(&mut v0, &mut v1, &mut v2, &mut v3);
    }
    v0 ^ v1 ^ v2 ^ v3
}

/// A Fast Open context (struct tcp_fastopen_context): the primary key and an optional backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys(Vec<[u64; 2]>);

impl Keys {
    /// tcp_fastopen_reset_cipher: each 16-byte key as two little-endian words.
    pub fn from_bytes(bytes: &[u8]) -> Option<Keys> {
        if bytes.len() != KEY_LENGTH && bytes.len() != 2 * KEY_LENGTH {
            return None;
        }
        let word = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(w)
        };
        Some(Keys(
            bytes
                .chunks_exact(KEY_LENGTH)
                .enumerate()
                .map(|(index, _)| [word(index * 16), word(index * 16 + 8)])
                .collect(),
        ))
    }

    /// __tcp_fastopen_cookie_gen_cipher for IPv4: siphash(saddr, daddr) as little-endian bytes.
    fn cookie(key: [u64; 2], client: Ipv4Addr, server: Ipv4Addr) -> FastOpenCookie {
        let mut path = [0u8; 8];
        path[..4].copy_from_slice(&client.octets());
        path[4..].copy_from_slice(&server.octets());
        FastOpenCookie::new(&siphash(key, &path).to_le_bytes()[..COOKIE_SIZE], false)
    }

    /// The cookie under the primary key (tcp_fastopen_cookie_gen).
    pub fn primary_cookie(&self, client: Ipv4Addr, server: Ipv4Addr) -> Option<FastOpenCookie> {
        self.0.first().map(|key| Keys::cookie(*key, client, server))
    }

    /// tcp_fastopen_cookie_gen_check: 0 no match, 1 the primary key, 2 the backup.
    fn matching_key(&self, offered: &FastOpenCookie, client: Ipv4Addr, server: Ipv4Addr) -> u8 {
        for (index, key) in self.0.iter().enumerate() {
            let valid = Keys::cookie(*key, client, server);
            // tcp_fastopen_cookie_match: same length (8) and bytes.
            if valid.value() == offered.value() {
                return index as u8 + 1;
            }
        }
        0
    }
}

/// What the tcp metrics of one destination keep for Fast Open (struct tcp_fastopen_metrics).
#[derive(Debug, Clone, Default)]
struct CacheEntry {
    mss: u16,
    cookie: Option<FastOpenCookie>,
    /// 1: the last cookie request got no answer, ask with the experimental option next;
    /// 2: that did not work either, back to option 34.
    try_experimental: u8,
}

/// The stack-wide Fast Open state: the namespace key and the client's cookie cache.
#[derive(Debug, Default)]
pub struct FastOpenHost {
    /// net->ipv4.tcp_fastopen_ctx; None until a listener needs it or the sysctl set it.
    keys: Option<Keys>,
    /// tcp metrics by (source, destination) address.
    cache: HashMap<(Ipv4Addr, Ipv4Addr), CacheEntry>,
    /// tp->fastopen_req while sendmsg(MSG_FASTOPEN) runs connect: the data to put in the
    /// SYN, then how much of it went (fo->copied).
    request: Option<Vec<u8>>,
    copied: usize,
    /// Active Fast Open paused after a suspected blackhole (`fastopen_blackhole.rs`).
    pub(super) active: super::fastopen_blackhole::ActiveDisable,
}

impl FastOpenHost {
    pub fn new(sysctl_key: &[u8]) -> FastOpenHost {
        FastOpenHost {
            keys: Keys::from_bytes(sysctl_key),
            cache: HashMap::new(),
            request: None,
            copied: 0,
            active: Default::default(),
        }
    }

    /// tcp_fastopen_init_key_once: a random key the first time a listener enables Fast Open.
    pub(super) fn init_key_once(&mut self, random: &mut Random) {
        if self.keys.is_none() {
            let mut bytes = [0u8; KEY_LENGTH];
            for chunk in bytes.chunks_exact_mut(2) {
                chunk.copy_from_slice(&random.next_u16().to_ne_bytes());
            }
            self.keys = Keys::from_bytes(&bytes);
        }
    }

    /// tcp_fastopen_cache_get: the cached MSS and cookie for this path.
    fn cache_get(&self, local: Ipv4Addr, remote: Ipv4Addr) -> (Option<u16>, FastOpenCookie) {
        match self.cache.get(&(local, remote)) {
            None => (None, FastOpenCookie::REQUEST),
            Some(entry) => {
                let mut cookie = entry.cookie.unwrap_or(FastOpenCookie::REQUEST);
                if entry.cookie.is_none() && entry.try_experimental == 1 {
                    cookie.experimental = true;
                }
                (Some(entry.mss).filter(|&mss| mss != 0), cookie)
            }
        }
    }

    /// tcp_fastopen_cache_set.
    fn cache_set(
        &mut self,
        local: Ipv4Addr,
        remote: Ipv4Addr,
        mss: u16,
        cookie: Option<FastOpenCookie>,
        try_experimental: u8,
    ) {
        let entry = self.cache.entry((local, remote)).or_default();
        if mss != 0 {
            entry.mss = mss;
        }
        match cookie.filter(|cookie| cookie.len > 0) {
            Some(cookie) => entry.cookie = Some(cookie),
            None => {
                let cookie_is_experimental = entry.cookie.is_some_and(|c| c.experimental);
                if try_experimental > entry.try_experimental
                    && entry.cookie.is_none()
                    && !cookie_is_experimental
                {
                    entry.try_experimental = try_experimental;
                }
            }
        }
    }

    /// Forgets every cached cookie (`ip tcp_metrics flush`).
    pub fn flush_cache(&mut self) {
        self.cache.clear();
    }
}

/// A connection's Fast Open state (the tcp_sock bits syn_fastopen, syn_data, syn_data_acked,
/// fastopen_client_fail, fastopen_rsk / syn_fastopen_child, inet's defer_connect).
#[derive(Debug, Clone, Default)]
pub struct ConnectionFastOpen {
    /// Our SYN carried a Fast Open option (tp->syn_fastopen) / the experimental one.
    pub syn_fastopen: bool,
    pub syn_fastopen_experimental: bool,
    /// Our SYN carried data (tp->syn_data); the SYN-ACK acknowledged it, or we accepted the
    /// data of the peer's SYN (tp->syn_data_acked: TCPI_OPT_SYN_DATA).
    pub syn_data: bool,
    pub syn_data_acked: bool,
    /// tcpi_fastopen_client_fail.
    pub client_fail: u8,
    /// A passive Fast Open child: in the accept queue while still in SYN_RECV, allowed to
    /// read and write (tcp_passive_fastopen).
    pub passive_child: bool,
    /// TCP_FASTOPEN_CONNECT with a usable cookie: connect() returned 0 and the SYN waits for
    /// the first write (inet->defer_connect).
    pub deferred: bool,
    /// A blocking sendmsg(MSG_FASTOPEN) waits for the handshake with data still to write
    /// (sk_write_pending): the SYN-ACK is not answered with a pure ACK, the data carries it.
    pub write_pending: bool,
    /// What the SYN-ACK taught, for the layer's cookie cache.
    pub learned: Option<Learned>,
    /// tp->syn_fastopen_ch: Fast Open was allowed again after a blackhole pause; data
    /// received clears the namespace's count (`fastopen_blackhole.rs`).
    pub check_after_pause: bool,
    /// The retransmission timer suspects a blackhole: the layer pauses Fast Open.
    pub blackhole_suspected: bool,
}

/// tcp_fastopen_cache_set's arguments, from tcp_rcv_fastopen_synack.
#[derive(Debug, Clone, Copy)]
pub struct Learned {
    mss: u16,
    cookie: Option<FastOpenCookie>,
    try_experimental: u8,
}

/// What to do with the SYN-ACK's ACK once tcp_rcv_fastopen_synack ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynAckAnswer {
    /// As usual: a pure ACK at once.
    Acknowledge,
    /// Data of the SYN was not acknowledged and is being sent again: it carries the ACK.
    DataRetransmitted,
    /// sk_write_pending: the ACK is delayed (TCP_DELACK_MAX); the writer's data will carry it.
    Delayed,
}

impl Connection {
    /// tcp_send_syn_data (with `data`, which may be empty for TCP_FASTOPEN_CONNECT without a
    /// cookie) or a SYN with a cookie request: sends the SYN and returns how many bytes of
    /// `data` it carries.
    /// `paused`: tcp_fastopen_active_should_disable said yes (a blackhole pause): the SYN is
    /// a plain one, without the option ("cookie->len = -1").
    pub fn send_fastopen_syn(
        &mut self,
        now: Instant,
        host: &FastOpenHost,
        sysctl: u32,
        paused: bool,
        data: &[u8],
        out: &mut Vec<OutSegment>,
    ) -> usize {
        // tcp_fastopen_cookie_check: the cache, the blackhole pause, then "no cookie"
        // (sysctl bit or socket).
        let (cached_mss, mut cookie) = host.cache_get(*self.local.ip(), *self.remote.ip());
        let no_cookie = sysctl & TFO_CLIENT_NO_COOKIE != 0 || self.settings.more.fastopen_no_cookie;
        let (usable, option) = if paused {
            (false, None)
        } else if no_cookie {
            (true, None)
        } else if cookie.len > 0 {
            (true, Some(cookie))
        } else {
            self.fastopen.client_fail = TFO_COOKIE_UNAVAILABLE;
            (false, Some(cookie))
        };
        let mut copied = 0;
        if usable {
            // "tp->rx_opt.mss_clamp = tp->advmss" unless the cache knows the peer's MSS, then
            // tcp_mss_clamp (TCP_MAXSEG); the data room is that MSS at most, for the path MTU,
            // less MAX_TCP_OPTION_SPACE.
            let mut clamp = u32::from(cached_mss.unwrap_or(self.advertised_mss));
            if let Some(user) = self.settings.user_mss {
                clamp = clamp.min(user);
            }
            let mss = self.path_mtu.saturating_sub(40).min(clamp).max(48);
            let space = mss.saturating_sub(MAX_OPTION_SPACE) as usize;
            copied = space.min(data.len()).min(self.send_space());
        } else {
            // "fallback: if (fo->cookie.len > 0) fo->cookie.len = 0": a plain request.
            cookie.len = 0;
        }
        let option = option.map(|option| if usable { option } else { cookie });
        if copied > 0 {
            self.send_queue.push(&data[..copied]);
            self.chrono.start(now, super::chrono::ChronoKind::Busy);
        }
        let payload = self.send_queue.read(self.iss.add(1), copied);
        let saved = self.syn_options;
        self.syn_options.fast_open = option;
        let segment = self.build_segment(now, self.iss, flags::SYN, &payload);
        self.syn_options = saved;
        out.push(segment);
        // tcp_syn_options: the option went out (there is always room in a SYN here).
        self.fastopen.syn_fastopen = option.is_some();
        self.fastopen.syn_fastopen_experimental = option.is_some_and(|o| o.experimental);
        self.fastopen.syn_data = copied > 0;
        // The SYN and its data are two skbs of the retransmission queue.
        let snapshot = self.rate.segment_sent(now, false);
        self.sent.record(self.iss, self.iss.add(1), now, snapshot);
        if copied > 0 {
            let snapshot = self.rate.segment_sent(now, false);
            let end = self.iss.add(1 + copied as u32);
            self.sent.record(self.iss.add(1), end, now, snapshot);
            self.stats.bytes_sent += copied as u64;
        }
        self.snd_nxt = self.iss.add(1 + copied as u32);
        self.timers.set(Timer::Retransmit, now + self.rtt.rto());
        copied
    }

    /// tcp_rcv_fastopen_synack, after the SYN-ACK was taken (tcp_ack has run: data it
    /// acknowledged is gone from the queue). Learns the cookie and the peer's MSS, and sends
    /// again whatever of the SYN's data is still unacknowledged.
    pub fn fastopen_synack(&mut self, now: Instant, segment: &Repr<'_>) -> SynAckAnswer {
        let write_pending = core::mem::take(&mut self.fastopen.write_pending);
        if !self.fastopen.syn_fastopen && !self.fastopen.syn_data {
            return if write_pending {
                self.delay_handshake_ack(now)
            } else {
                SynAckAnswer::Acknowledge
            };
        }
        // The SYN-ACK's own MSS option, not one clamped by TCP_MAXSEG.
        let mss = segment.options.mss.unwrap_or(0);
        let mut cookie = segment.options.fast_open;
        let data_unacked = self.fastopen.syn_data && self.snd_una.lt(self.snd_nxt);
        let retransmitted = self.stats.total_retransmits > 0 || self.timeouts > 0;
        let mut try_experimental = 0;
        if !self.fastopen.syn_fastopen {
            // "Ignore an unsolicited cookie".
            cookie = None;
        } else if retransmitted {
            // The SYN was sent again (without its data): no verdict about the cookie.
        } else if cookie.is_none() && !self.fastopen.syn_data {
            try_experimental = if self.fastopen.syn_fastopen_experimental {
                2
            } else {
                1
            };
        }
        // tcp_fastopen_cache_set, done by the layer once the segment is processed.
        self.fastopen.learned = Some(Learned {
            mss,
            cookie,
            try_experimental,
        });
        if data_unacked {
            self.fastopen.client_fail = if retransmitted {
                TFO_SYN_RETRANSMITTED
            } else {
                TFO_DATA_NOT_ACKED
            };
            // tcp_mark_skb_lost on the data, then tcp_non_congestion_loss_retransmit: the
            // window is not reduced (`recovery.rs`; the caller sends).
            self.mark_all_lost_without_reduction();
            return SynAckAnswer::DataRetransmitted;
        }
        self.fastopen.syn_data_acked = self.fastopen.syn_data;
        if write_pending {
            return self.delay_handshake_ack(now);
        }
        SynAckAnswer::Acknowledge
    }

    /// tcp_rcv_synsent_state_process with sk_write_pending: "inet_csk_schedule_ack;
    /// tcp_enter_quickack_mode; reset ICSK_TIME_DACK to TCP_DELACK_MAX".
    fn delay_handshake_ack(&mut self, now: Instant) -> SynAckAnswer {
        self.delay_ack_of_syn_ack(now);
        SynAckAnswer::Delayed
    }

    /// tcp_fastopen_create_child + tcp_fastopen_add_skb on a passive open's new connection:
    /// the SYN's data is queued for reading at once; RCV.NXT moves past it.
    pub fn accept_syn_data(&mut self, segment: &Repr<'_>) {
        self.fastopen.passive_child = true;
        if segment.payload.is_empty() && !segment.has(flags::FIN) {
            return;
        }
        let window = self.rcv_adv.since(self.rcv_nxt);
        let inserted = self
            .receive
            .insert(0, segment.payload, segment.has(flags::FIN));
        let advanced = inserted.advanced as u32;
        self.rcv_nxt = self.rcv_nxt.add(advanced);
        self.fastopen.syn_data_acked = true;
        self.stats.bytes_received += u64::from(advanced);
        if advanced > 0 {
            self.stats.data_segments_in += 1;
            self.wakeups.readable += 1;
        }
        if inserted.fin_reached {
            // tcp_fin in SYN_RECV: the FIN is taken; the state moves on at the final ACK.
            self.rcv_nxt = self.rcv_nxt.add(1);
            self.done = true;
            self.read_shut = true;
        }
        // tcp_openreq_init_rwin's window is kept whole: the SYN-ACK offers all of it.
        self.rcv_wup = self.rcv_nxt;
        self.rcv_adv = self.rcv_nxt.add(window);
    }

    /// tcp_passive_fastopen: a Fast Open child still in SYN_RECV (it may read and write).
    pub fn passive_fastopen(&self) -> bool {
        self.fastopen.passive_child && self.state == State::SynReceived
    }

    /// Whether this connection's TCP_INFO shows TCPI_OPT_SYN_DATA.
    pub fn syn_data_acked(&self) -> bool {
        self.fastopen.syn_data_acked
    }
}

/// The outcome of tcp_try_fastopen for one SYN.
pub struct ServerVerdict {
    /// Create the child now, with the SYN's data.
    pub create_child: bool,
    /// The cookie the SYN-ACK carries (None: no Fast Open option).
    pub cookie: Option<FastOpenCookie>,
}

impl TcpLayer {
    /// tcp_try_fastopen for a SYN that reached `listener`.
    pub(super) fn try_fastopen(
        &mut self,
        listener: SocketId,
        segment: &Repr<'_>,
        client: Ipv4Addr,
        server: Ipv4Addr,
    ) -> ServerVerdict {
        let refuse = ServerVerdict {
            create_child: false,
            cookie: None,
        };
        let sysctl = self.sysctls.tcp.fastopen;
        let Ok(socket) = self.sockets.get(listener) else {
            return refuse;
        };
        let syn_data = !segment.payload.is_empty() || segment.has(flags::FIN);
        let offered = segment.options.fast_open;
        if sysctl & TFO_SERVER_ENABLE == 0
            || !(syn_data || offered.is_some())
            || !self.fastopen_queue_has_room(socket)
        {
            return refuse;
        }
        let no_cookie =
            sysctl & TFO_SERVER_COOKIE_NOT_REQD != 0 || socket.settings.more.fastopen_no_cookie;
        let keys = self.fastopen_keys(socket);
        let exp = offered.is_some_and(|cookie| cookie.experimental);
        let with_exp = |cookie: Option<FastOpenCookie>| {
            cookie.map(|mut cookie| {
                cookie.experimental = exp;
                cookie
            })
        };
        if no_cookie {
            return ServerVerdict {
                create_child: true,
                cookie: None,
            };
        }
        let Some(offered) = offered else {
            return refuse;
        };
        let Some(keys) = keys else {
            // No context: "valid_foc" stays len -1, no option.
            return refuse;
        };
        if offered.len == 0 {
            return ServerVerdict {
                create_child: false,
                cookie: with_exp(keys.primary_cookie(client, server)),
            };
        }
        match keys.matching_key(&offered, client, server) {
            0 => ServerVerdict {
                create_child: false,
                cookie: with_exp(keys.primary_cookie(client, server)),
            },
            // Valid under the backup key: the child is created and the SYN-ACK hands out the
            // primary key's cookie.
            2 => ServerVerdict {
                create_child: true,
                cookie: with_exp(keys.primary_cookie(client, server)),
            },
            _ => ServerVerdict {
                create_child: true,
                cookie: None,
            },
        }
    }

    /// tcp_fastopen_cache_set for what a connection's SYN-ACK taught (after its input).
    pub(super) fn fastopen_learn(&mut self, id: SocketId) {
        let Some(connection) = self
            .sockets
            .get_mut(id)
            .ok()
            .and_then(TcpSocket::connection_mut)
        else {
            return;
        };
        let Some(learned) = connection.fastopen.learned.take() else {
            return;
        };
        let (local, remote) = (*connection.local.ip(), *connection.remote.ip());
        self.fastopen.cache_set(
            local,
            remote,
            learned.mss,
            learned.cookie,
            learned.try_experimental,
        );
    }

    /// tcp_fastopen_create_child's "inet_csk_reqsk_queue_add": the child skips the SYN queue
    /// and is ready for accept() at once (sk_data_ready on the listener).
    pub(super) fn fastopen_child_ready(&mut self, listener_id: SocketId, child: SocketId) {
        let Ok(listener) = self.sockets.get_mut(listener_id) else {
            return;
        };
        if let Some(queues) = listener.listener_mut() {
            queues.handshaking.retain(|id| *id != child);
            queues.ready.push_back(child);
        }
        listener.wakeups.readable += 1;
    }

    /// The keys a listener's cookies come from: its own TCP_FASTOPEN_KEY, else the
    /// namespace's (tcp_fastopen_cookie_gen: tcp_fastopen_get_ctx, else the net's context).
    fn fastopen_keys(&self, listener: &TcpSocket) -> Option<Keys> {
        listener
            .settings
            .more
            .fastopen_key
            .as_deref()
            .and_then(Keys::from_bytes)
            .or_else(|| self.fastopen.keys.clone())
    }

    /// tcp_fastopen_queue_check: max_qlen (TCP_FASTOPEN) set, and fewer Fast Open children
    /// still in SYN_RECV than that.
    fn fastopen_queue_has_room(&self, listener: &TcpSocket) -> bool {
        let max = listener.settings.more.fastopen_queue;
        let Role::Listener(queues) = &listener.role else {
            return false;
        };
        if max == 0 {
            return false;
        }
        let pending = queues
            .ready
            .iter()
            .filter_map(|child| self.sockets.get(*child).ok())
            .filter_map(TcpSocket::connection)
            .filter(|connection| connection.passive_fastopen())
            .count();
        (pending as u32) < max
    }

    /// The listen() side of TFO_SERVER_WO_SOCKOPT1: with 0x400 and 0x402 set, a listener
    /// without TCP_FASTOPEN gets a queue of its backlog (inet_listen).
    pub(super) fn fastopen_on_listen(&mut self, id: SocketId, backlog: u32) {
        let sysctl = self.sysctls.tcp.fastopen;
        let Ok(socket) = self.sockets.get_mut(id) else {
            return;
        };
        if sysctl & TFO_SERVER_WO_SOCKOPT1 != 0
            && sysctl & TFO_SERVER_ENABLE != 0
            && socket.settings.more.fastopen_queue == 0
        {
            socket.settings.more.fastopen_queue = backlog;
        }
        if socket.settings.more.fastopen_queue > 0 {
            self.fastopen.init_key_once(&mut self.random);
        }
    }

    /// TCP_FASTOPEN set on a socket: fastopen_queue_tune + tcp_fastopen_init_key_once.
    pub(super) fn fastopen_enabled(&mut self) {
        self.fastopen.init_key_once(&mut self.random);
    }

    /// The Fast Open part of tcp_v4_connect for a new connection about to send its SYN:
    /// a sendmsg(MSG_FASTOPEN) request puts data in the SYN; TCP_FASTOPEN_CONNECT with a
    /// usable cookie defers the SYN to the first write (returns true) and without one asks
    /// for a cookie. Otherwise a plain SYN.
    pub(super) fn fastopen_open(
        &mut self,
        now: Instant,
        connection: &mut Connection,
    ) -> FastOpenOpen {
        let sysctl = self.sysctls.tcp.fastopen;
        if let Some(data) = self.fastopen.request.take() {
            let paused = self.fastopen_paused(now, connection);
            let copied = connection.send_fastopen_syn(
                now,
                &self.fastopen,
                sysctl,
                paused,
                &data,
                &mut self.outbox,
            );
            self.fastopen.copied = copied;
            return FastOpenOpen::Sent { copied };
        }
        if connection.settings.more.fastopen_connect {
            // tcp_fastopen_defer_connect → tcp_fastopen_cookie_check: paused, the SYN goes
            // now without the option (and without TFO_COOKIE_UNAVAILABLE).
            let paused = self.fastopen_paused(now, connection);
            if !paused {
                let (_, cookie) = self
                    .fastopen
                    .cache_get(*connection.local.ip(), *connection.remote.ip());
                let no_cookie = sysctl & TFO_CLIENT_NO_COOKIE != 0
                    || connection.settings.more.fastopen_no_cookie;
                if no_cookie || cookie.len > 0 {
                    connection.fastopen.deferred = true;
                    return FastOpenOpen::Deferred;
                }
                connection.fastopen.client_fail = TFO_COOKIE_UNAVAILABLE;
            }
            let copied = connection.send_fastopen_syn(
                now,
                &self.fastopen,
                sysctl,
                paused,
                &[],
                &mut self.outbox,
            );
            return FastOpenOpen::Sent { copied };
        }
        connection.send_syn(now, &mut self.outbox);
        FastOpenOpen::Sent { copied: 0 }
    }

    /// The SYN of a deferred connect (TCP_FASTOPEN_CONNECT), sent by the first write.
    pub(super) fn fastopen_send_deferred(
        &mut self,
        now: Instant,
        id: SocketId,
        data: &[u8],
    ) -> usize {
        let sysctl = self.sysctls.tcp.fastopen;
        let timeout = self.sysctls.tcp.fastopen_blackhole_timeout_secs;
        let verdict = self.fastopen.active.verdict(now, timeout);
        let Ok(socket) = self.sockets.get_mut(id) else {
            return 0;
        };
        let Some(connection) = socket.connection_mut() else {
            return 0;
        };
        connection.fastopen.deferred = false;
        // tcp_connect → tcp_send_syn_data → tcp_fastopen_cookie_check asks again: a pause
        // that began since connect() makes this a plain SYN.
        use super::fastopen_blackhole::ActiveVerdict;
        let paused = verdict == ActiveVerdict::Paused;
        if let ActiveVerdict::Allowed { after_pause: true } = verdict {
            connection.fastopen.check_after_pause = true;
        }
        connection.send_fastopen_syn(now, &self.fastopen, sysctl, paused, data, &mut self.outbox)
    }

    /// The cookie this stack would hand `client` for `server` (tests and diagnostics).
    pub fn fastopen_cookie_for(
        &self,
        listener: SocketId,
        client: SocketAddrV4,
        server: SocketAddrV4,
    ) -> Option<Vec<u8>> {
        let socket = self.sockets.get(listener).ok()?;
        let keys = self.fastopen_keys(socket)?;
        keys.primary_cookie(*client.ip(), *server.ip())
            .map(|cookie| cookie.value().to_vec())
    }
}

impl TcpLayer {
    /// tcp_sendmsg_locked's first step: with MSG_FASTOPEN, or on a connect that
    /// TCP_FASTOPEN_CONNECT deferred, tcp_sendmsg_fastopen connects first
    /// (__inet_stream_connect with is_sendmsg). It answers the bytes the SYN carried, or
    /// EINPROGRESS when it carried none (a cookie request, the data follows the handshake);
    /// a call the shim makes blocking then waits for the handshake and sends the rest.
    pub fn send_or_fast_open(
        &mut self,
        now: Instant,
        network: &dyn super::layer::Network,
        id: SocketId,
        args: SendArgs<'_>,
    ) -> Result<usize, Errno> {
        let socket = self.user_socket(id)?;
        let deferred = socket
            .connection()
            .is_some_and(|connection| connection.fastopen.deferred);
        if args.flags & msg_flags::MSG_FASTOPEN == 0 && !deferred {
            return self.send(now, id, args);
        }
        let unspecified = args
            .dest
            .is_some_and(|dest| sockaddr::family(dest) == Some(sockaddr::AF_UNSPEC));
        if self.sysctls.tcp.fastopen & TFO_CLIENT_ENABLE == 0 || unspecified {
            return Err(Errno::EOPNOTSUPP);
        }
        let blocking = args.flags & msg_flags::MSG_DONTWAIT == 0;
        let copied = if deferred {
            // "if (inet_test_bit(DEFER_CONNECT, sk)) err = tcp_connect(sk)", then
            // __inet_stream_connect finds SS_CONNECTING with defer_connect: EINPROGRESS.
            self.fastopen_send_deferred(now, id, args.data)
        } else {
            match socket.phase {
                SocketPhase::Connected => return Err(Errno::EISCONN),
                SocketPhase::Disconnecting => return Err(Errno::EINVAL),
                // __inet_stream_connect on SS_CONNECTING: EALREADY while the handshake runs
                // (a non-blocking call), the connection's result once it is over.
                SocketPhase::Connecting => {
                    self.connect_progress(id)?;
                    return self.send(now, id, args);
                }
                SocketPhase::Unconnected => {}
            }
            self.fastopen.request = Some(args.data.to_vec());
            self.fastopen.copied = 0;
            let result = self.connect(now, network, id, args.dest.unwrap_or(&[]));
            self.fastopen.request = None;
            match result {
                Err(Errno::EINPROGRESS) => self.fastopen.copied,
                // A connect to our own address completes inside the call.
                Ok(()) => self.fastopen.copied,
                Err(error) => return Err(error),
            }
        };
        if blocking && copied < args.data.len() {
            if let Some(connection) = self
                .sockets
                .get_mut(id)
                .ok()
                .and_then(TcpSocket::connection_mut)
            {
                connection.fastopen.write_pending = true;
            }
        }
        if copied > 0 {
            Ok(copied)
        } else {
            Err(Errno::EINPROGRESS)
        }
    }
}

impl TcpLayer {
    /// __inet_stream_connect's end for a Fast Open send that waited: SS_CONNECTING becomes
    /// SS_CONNECTED, or the connection's error.
    pub fn fast_open_connect_result(&mut self, id: SocketId) -> Result<(), Errno> {
        if self.user_socket(id)?.phase == SocketPhase::Connecting {
            return self.connect_progress(id);
        }
        Ok(())
    }
}

/// What `fastopen_open` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FastOpenOpen {
    Sent { copied: usize },
    Deferred,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SipHash reference vectors (key 00..0f, messages 00.., lengths 8 and 15).
    #[test]
    fn siphash_reference_vectors() {
        let key = [0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908];
        let message: Vec<u8> = (0u8..15).collect();
        assert_eq!(siphash(key, &message[..8]), 0x93f5_f579_9a93_2462);
        assert_eq!(siphash(key, &message), 0xa129_ca61_49be_45e5);
        assert_eq!(siphash(key, &[]), 0x726f_db47_dd0e_0e31);
    }

    /// The cookies Linux 6.18 handed out in ctests tcp_fastopen_server (TCP_FASTOPEN_KEY
    /// 00 11 .. ff, client 198.18.0.1, server 198.18.0.2) and tcp_fastopen_client
    /// (net.ipv4.tcp_fastopen_key "00112233-44556677-8899aabb-ccddeeff", whose words are
    /// stored little-endian; client 198.18.0.2, server 198.18.0.1).
    #[test]
    fn cookies_match_linux() {
        let one = Ipv4Addr::new(198, 18, 0, 1);
        let two = Ipv4Addr::new(198, 18, 0, 2);
        let socket_key: Vec<u8> = (0u8..16).map(|i| i * 0x11).collect();
        let keys = Keys::from_bytes(&socket_key).unwrap();
        let cookie = keys.primary_cookie(one, two).unwrap();
        assert_eq!(
            cookie.value(),
            &[0x96, 0xea, 0x8f, 0x53, 0xbb, 0x3e, 0x40, 0xc9]
        );
        let mut sysctl_key = Vec::new();
        for word in [0x0011_2233u32, 0x4455_6677, 0x8899_aabb, 0xccdd_eeff] {
            sysctl_key.extend_from_slice(&word.to_le_bytes());
        }
        let keys = Keys::from_bytes(&sysctl_key).unwrap();
        let cookie = keys.primary_cookie(two, one).unwrap();
        assert_eq!(
            cookie.value(),
            &[0xa4, 0x8d, 0xac, 0x06, 0x38, 0x24, 0x7c, 0xd6]
        );
        // A backup key still validates its cookies (tcp_fastopen_cookie_gen_check: 2).
        let mut both = sysctl_key.clone();
        both.extend_from_slice(&socket_key);
        let rotated = Keys::from_bytes(&both).unwrap();
        let old = Keys::from_bytes(&socket_key)
            .unwrap()
            .primary_cookie(one, two)
            .unwrap();
        assert_eq!(rotated.matching_key(&old, one, two), 2);
        assert_eq!(rotated.matching_key(&cookie, two, one), 1);
        assert_eq!(rotated.matching_key(&cookie, one, two), 0);
    }

    #[test]
    fn key_words_are_little_endian() {
        let mut bytes = [0u8; 16];
        bytes[0] = 1;
        bytes[8] = 2;
        assert_eq!(Keys::from_bytes(&bytes), Some(Keys(vec![[1, 2]])));
        assert_eq!(Keys::from_bytes(&[0; 15]), None);
        assert_eq!(Keys::from_bytes(&[0; 32]).map(|k| k.0.len()), Some(2));
    }
}
