//! One connection's control block (RFC 9293 3.3.1's TCB plus what Linux keeps in tcp_sock):
//! sequence variables, queues, negotiated options, timers, congestion state, and what the
//! application is told (pending error, shutdown bits). The behaviour is in `input.rs`,
//! `output.rs` and `timeout.rs`; this file holds the state and the small helpers they share.

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;

use super::autotune::ReceiveSpace;
use super::buffers::{ReceiveQueue, SendQueue};
use super::congestion::Congestion;
use super::options::{self, Negotiated, TIMESTAMP_OPTION_LEN};
use super::sent::SentLog;
use super::seq::Seq;
use super::settings::Settings;
use super::state::State;
use super::timers::{RttEstimator, Timers};
use super::urgent::UrgentReceive;
use crate::errno::Errno;
use crate::socket::WakeupCounts;
use crate::time::Instant;
use crate::wire::tcp::{flags, Options, Repr, SackBlock};

/// A segment ready for the network layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutSegment {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: Option<u8>,
    pub tos: u8,
    /// The IP id to use (the connection's inet_id counter). None: the segment is a reply
    /// the kernel sends through its per-netns TCP control socket (ip_send_unicast_reply from
    /// tcp_v4_send_reset / tcp_v4_send_ack: resets to segments without a socket, TIME_WAIT
    /// ACKs and resets). That socket is unconnected and IP_PMTUDISC_DO, so
    /// ip_select_ident_segs gives DF and id 0.
    pub ident: Option<u16>,
    /// The complete TCP segment, checksum filled in.
    pub bytes: Vec<u8>,
}

/// Counters TCP_INFO reports.
#[derive(Debug, Clone, Default)]
pub struct ConnectionStats {
    pub segments_out: u32,
    pub segments_in: u32,
    pub data_segments_out: u32,
    pub data_segments_in: u32,
    pub total_retransmits: u32,
    pub bytes_acked: u64,
    pub bytes_received: u64,
    pub bytes_sent: u64,
    pub bytes_retransmitted: u64,
    pub last_data_sent: Instant,
    pub last_data_received: Instant,
    pub last_ack_received: Instant,
}

#[derive(Debug)]
pub struct Connection {
    pub state: State,
    pub local: SocketAddrV4,
    pub remote: SocketAddrV4,

    // Send sequence space. SND.NXT is also the highest sequence sent: retransmissions are
    // driven by the congestion module's cursor, never by moving SND.NXT back.
    pub iss: Seq,
    pub snd_una: Seq,
    pub snd_nxt: Seq,
    pub snd_wnd: u32,
    pub snd_wl1: Seq,
    pub snd_wl2: Seq,
    pub max_window: u32,
    pub send_queue: SendQueue,
    /// The application closed the sending side: a FIN follows the queued data.
    pub fin_queued: bool,

    // Receive sequence space.
    pub irs: Seq,
    pub rcv_nxt: Seq,
    /// RCV.NXT when the last window was advertised (tp->rcv_wup) and the advertised right
    /// edge (rcv_wup + rcv_wnd).
    pub rcv_wup: Seq,
    pub rcv_adv: Seq,
    pub receive: ReceiveQueue,
    /// Window growth limit (tp->rcv_ssthresh), starting at the initial window.
    pub rcv_ssthresh: u32,

    // Negotiated at the handshake.
    pub advertised_mss: u16,
    pub peer_mss: u16,
    /// Send MSS without options (tp->mss_cache minus TCP options).
    pub mss: u32,
    pub path_mtu: u32,
    /// The shift applied to windows the peer sends, and to the windows we send.
    pub snd_wscale: u8,
    pub rcv_wscale: u8,
    pub timestamps: bool,
    pub ts_recent: u32,
    pub ts_offset: u32,
    pub sack: bool,
    /// The options our SYN or SYN-ACK carries (kept for retransmissions).
    pub syn_options: Options,

    pub rtt: RttEstimator,
    pub timers: Timers,
    /// Consecutive timeouts without progress (icsk_retransmits) and when the first of them
    /// was sent (tp->retrans_stamp), for tcp_retries2 / TCP_USER_TIMEOUT.
    pub timeouts: u32,
    pub retransmit_since: Option<Instant>,
    /// Each unacknowledged segment's first transmission time and marks (RTT samples, and
    /// tp->retrans_stamp at the first retransmission).
    pub sent: SentLog,
    /// tcp_rate.c's state: tcpi_delivered, tcpi_delivery_rate.
    pub rate: super::rate::DeliveryRate,
    /// tcpi_busy_time / tcpi_rwnd_limited / tcpi_sndbuf_limited.
    pub chrono: super::chrono::Chrono,
    /// Unanswered zero-window or keepalive probes (icsk_probes_out).
    pub probes: u32,
    pub congestion: Congestion,
    /// Loss recovery: RACK, TLP, PRR, undo, F-RTO, reordering (`recovery.rs`).
    pub recovery: super::recovery::Recovery,
    /// The D-SACK block owed to the peer (`dsack.rs`).
    pub dsack: super::dsack::DuplicateSack,
    /// RFC 3168 ECN state and the ECN bits of inet->tos (`ecn.rs`).
    pub ecn: super::ecn::Ecn,

    /// The delayed-ACK engine: icsk_ack (`delayed_ack.rs`).
    pub ack: super::delayed_ack::AckState,
    pub last_challenge_ack: Option<Instant>,
    /// TCP_SAVED_SYN: the IP and TCP headers of the SYN that opened this connection, when
    /// its listener had TCP_SAVE_SYN set (tcp_reqsk_record_syn); taken once.
    pub saved_syn: Option<Vec<u8>>,
    /// TCP_DEFER_ACCEPT: the handshake's bare ACK came and was dropped (inet_rsk(req)->acked).
    pub deferred_ack_seen: bool,
    pub last_received: Instant,
    /// End of the last segment shorter than the MSS (tp->snd_sml, for Nagle).
    pub small_segment_end: Option<Seq>,

    pub settings: Settings,
    /// sk_err (reported once), sk_err_soft (reported if the connection then times out).
    pub error: Option<Errno>,
    pub soft_error: Option<Errno>,
    /// sk_shutdown bits.
    pub read_shut: bool,
    pub write_shut: bool,
    /// SOCK_DONE: the peer's FIN arrived (a read at the end returns 0).
    pub done: bool,
    /// The application closed its descriptor; nothing reads or writes any more.
    pub orphaned: bool,
    pub wakeups: WakeupCounts,
    pub stats: ConnectionStats,
    /// inet_id: the IP id counter of a connected TCP socket (random start).
    pub ip_ident: u16,
    /// Receive-buffer autotuning state (tp->rcvq_space).
    pub receive_space: ReceiveSpace,
    /// tp->snd_up: the urgent pointer of the last send(MSG_OOB) (`urgent.rs`).
    pub snd_up: Option<Seq>,
    /// The peer's urgent byte, and how many urgent pointers arrived (each one is a SIGURG
    /// for the socket's owner, sk_send_sigurg: the shim's to deliver).
    pub urgent: UrgentReceive,
    pub urgent_signals: u64,
    /// sk_wake_async calls by reason (the shim's O_ASYNC signals).
    pub async_notices: crate::socket::AsyncNotices,
    /// SOCKWQ_ASYNC_NOSPACE: a send ran out of buffer space; the next write space makes
    /// one POLL_OUT notice (notify.rs).
    pub async_nospace: bool,
    /// TCP Fast Open (`fastopen.rs`).
    pub fastopen: super::fastopen::ConnectionFastOpen,
}

/// How a connection starts.
pub struct Opening {
    pub local: SocketAddrV4,
    pub remote: SocketAddrV4,
    pub iss: Seq,
    pub path_mtu: u32,
    pub ts_offset: u32,
    pub settings: Settings,
    pub now: Instant,
    pub ip_ident: u16,
}

impl Connection {
    pub fn new(opening: Opening, state: State) -> Connection {
        let Opening {
            local,
            remote,
            iss,
            path_mtu,
            ts_offset,
            settings,
            now,
            ip_ident,
        } = opening;
        // icsk_pmtu_cookie: the route's MTU, at most IP_MAX_MTU (65535; lo says 65536).
        let path_mtu = path_mtu.min(65535);
        let advertised_mss = options::advertised_mss(path_mtu, settings.user_mss);
        let window_space = if settings.receive_buffer_locked {
            settings.receive_buffer
        } else {
            settings.tunables.window_space
        };
        // tcp_select_initial_window: "space = min_t(u32, space, *window_clamp)" before the
        // scale is chosen, so TCP_WINDOW_CLAMP set before connect shrinks the scale too.
        let window_space = settings.more.clamp_window(window_space);
        let rcv_wscale = options::window_scale_for(window_space);
        let mss = u32::from(advertised_mss).min(u32::from(options::DEFAULT_PEER_MSS));
        Connection {
            state,
            local,
            remote,
            iss,
            snd_una: iss,
            snd_nxt: iss,
            snd_wnd: 0,
            snd_wl1: Seq(0),
            snd_wl2: iss,
            max_window: 0,
            send_queue: SendQueue::new(iss.add(1)),
            fin_queued: false,
            irs: Seq(0),
            rcv_nxt: Seq(0),
            rcv_wup: Seq(0),
            rcv_adv: Seq(0),
            receive: ReceiveQueue::default(),
            rcv_ssthresh: 0,
            advertised_mss,
            peer_mss: options::DEFAULT_PEER_MSS,
            mss,
            path_mtu,
            snd_wscale: 0,
            rcv_wscale,
            timestamps: false,
            ts_recent: 0,
            ts_offset,
            sack: false,
            // tcp_syn_options: what net.ipv4.tcp_window_scaling / _sack / _timestamps allow.
            syn_options: Options {
                mss: Some(advertised_mss),
                window_scale: settings.tunables.window_scaling.then_some(rcv_wscale),
                sack_permitted: settings.tunables.sack,
                // tcp_syn_options: a SYN signed with MD5 carries no timestamps.
                timestamps: (settings.tunables.timestamps
                    && !super::md5sig::signs_syn(&settings.more.md5_keys, state, *remote.ip()))
                .then_some((0, 0)),
                ..Options::default()
            },
            rtt: RttEstimator::with_bounds(settings.more.rto_min(), settings.more.rto_max()),
            timers: Timers::default(),
            timeouts: 0,
            retransmit_since: None,
            sent: SentLog::default(),
            rate: super::rate::DeliveryRate::default(),
            chrono: super::chrono::Chrono::default(),
            probes: 0,
            congestion: Congestion::new(mss, settings.congestion),
            recovery: super::recovery::Recovery::new(settings.tunables.reordering),
            dsack: super::dsack::DuplicateSack::default(),
            ecn: super::ecn::Ecn::default(),
            ack: super::delayed_ack::AckState::new(
                settings.more.pingpong,
                settings.tunables.pingpong_thresh,
                state == State::SynReceived,
            ),
            last_challenge_ack: None,
            last_received: now,
            saved_syn: None,
            deferred_ack_seen: false,
            small_segment_end: None,
            settings,
            error: None,
            soft_error: None,
            read_shut: false,
            write_shut: false,
            done: false,
            orphaned: false,
            wakeups: WakeupCounts::default(),
            // tcp_finish_connect / tcp_create_openreq_child stamp lsndtime, lrcvtime and
            // rcv_tstamp when the connection starts.
            stats: ConnectionStats {
                last_data_sent: now,
                last_data_received: now,
                last_ack_received: now,
                ..ConnectionStats::default()
            },
            ip_ident,
            receive_space: ReceiveSpace::default(),
            snd_up: None,
            urgent: UrgentReceive::default(),
            urgent_signals: 0,
            async_notices: Default::default(),
            async_nospace: false,
            fastopen: super::fastopen::ConnectionFastOpen::default(),
        }
    }

    /// Applies what the handshake agreed (tcp_finish_connect / tcp_create_openreq_child).
    pub fn apply_negotiated(&mut self, negotiated: Negotiated) {
        self.peer_mss = negotiated.peer_mss;
        match negotiated.window_scale {
            Some((ours, theirs)) => {
                self.rcv_wscale = ours;
                self.snd_wscale = theirs;
            }
            None => {
                self.rcv_wscale = 0;
                self.snd_wscale = 0;
            }
        }
        self.timestamps = negotiated.timestamps;
        self.sack = negotiated.sack;
        self.update_mss();
        self.congestion = Congestion::new(self.mss, self.settings.congestion);
    }

    /// tcp_sync_mss: the path's MSS, the peer's MSS and TCP_MAXSEG, minus the timestamp
    /// option every segment will carry.
    pub fn update_mss(&mut self) {
        let path = self.path_mtu.saturating_sub(options::HEADERS_LEN);
        let mut mss = path.min(u32::from(self.peer_mss));
        if let Some(user) = self.settings.user_mss {
            mss = mss.min(user);
        }
        if self.timestamps {
            mss = mss.saturating_sub(TIMESTAMP_OPTION_LEN);
        }
        let mss = mss.max(options::MIN_MSS - if self.timestamps { 12 } else { 0 });
        self.mss = self.bound_to_half_window(mss);
    }

    /// tp->advmss after the handshake: the MSS we announced, less the timestamp option
    /// when both sides use it (tcp_rcv_synsent_state_process / tcp_check_req:
    /// "tp->advmss -= TCPOLEN_TSTAMP_ALIGNED").
    pub fn advmss(&self) -> u32 {
        u32::from(self.advertised_mss)
            - if self.timestamps {
                TIMESTAMP_OPTION_LEN
            } else {
                0
            }
    }

    /// tp->tcp_header_len: the header every segment carries.
    pub fn header_len(&self) -> u32 {
        20 + if self.timestamps {
            TIMESTAMP_OPTION_LEN
        } else {
            0
        }
    }

    /// tcp_bound_to_half_wnd: no segment larger than half the largest window the peer
    /// offered (the whole window when that is at most TCP_MSS_DEFAULT), but at least
    /// 68 bytes less the header. It matters on loopback, where the MSS is near 64 KiB: the
    /// kernel's TCP_MAXSEG there reads 32741 after the handshake, then 32768.
    fn bound_to_half_window(&self, mss: u32) -> u32 {
        let cutoff = if self.max_window > u32::from(options::DEFAULT_PEER_MSS) {
            self.max_window >> 1
        } else {
            self.max_window
        };
        if cutoff > 0 && mss > cutoff {
            let header = 20
                + if self.timestamps {
                    TIMESTAMP_OPTION_LEN
                } else {
                    0
                };
            cutoff.max(68 - header)
        } else {
            mss
        }
    }

    /// tcp_ack_update_window: "if (nwin > tp->max_window) { tp->max_window = nwin;
    /// tcp_sync_mss(sk, inet_csk(sk)->icsk_pmtu_cookie); }".
    pub fn note_peer_window(&mut self, window: u32) {
        if window > self.max_window {
            self.max_window = window;
            self.update_mss();
        }
    }

    /// SACK blocks the next segment will carry (tcp_established_options).
    fn sack_blocks_to_send(&self) -> usize {
        // tcp_established_options: "eff_sacks = tp->rx_opt.num_sacks + tp->rx_opt.dsack".
        let dsack = usize::from(self.dsack.block.is_some());
        if !self.sack || (!self.receive.has_out_of_order() && dsack == 0) {
            return 0;
        }
        let limit = super::md5sig::sack_block_limit(self.timestamps, self.md5_secret().is_some());
        (self.receive.ranges().len() + dsack).min(limit)
    }

    /// tcp_current_mss: the data a segment may carry now — the MSS less the SACK blocks
    /// this segment must include, so header + data never exceed the path MTU.
    pub fn current_mss(&self) -> u32 {
        let blocks = self.sack_blocks_to_send() as u32;
        let sack_option = if blocks > 0 { 4 + 8 * blocks } else { 0 };
        // tcp_current_mss: an MD5 option (20 bytes) the header did not count shrinks it too.
        let md5_option = self.md5_option_len();
        self.mss.saturating_sub(sack_option + md5_option).max(1)
    }

    pub fn timestamp_now(&self, now: Instant) -> u32 {
        (now.as_millis() as u32).wrapping_add(self.ts_offset)
    }

    /// Sequence number of our FIN (valid when `fin_queued`).
    pub fn fin_seq(&self) -> Seq {
        self.send_queue.end()
    }

    /// The end of our sequence space so far: data, plus the FIN once queued.
    pub fn send_end(&self) -> Seq {
        self.send_queue.end().add(u32::from(self.fin_queued))
    }

    pub fn fin_acked(&self) -> bool {
        self.fin_queued && self.snd_una.gt(self.fin_seq())
    }

    pub fn syn_acked(&self) -> bool {
        self.snd_una.gt(self.iss)
    }

    /// When the oldest unacknowledged segment was first sent (its skb timestamp).
    pub fn head_sent_at(&self, now: Instant) -> Instant {
        self.sent.head_sent_at().unwrap_or(now)
    }

    /// Bytes sent and not acknowledged.
    pub fn in_flight(&self) -> u32 {
        self.snd_nxt.since(self.snd_una)
    }

    /// The send buffer the application may fill: SO_SNDBUF, grown with the congestion window
    /// unless the user set it (tcp_sndbuf_expand: about two windows of segments, three under
    /// BBR: ca_ops->sndbuf_expand).
    pub fn send_capacity(&self) -> usize {
        let base = self.settings.send_buffer as usize / 2;
        if self.settings.send_buffer_locked {
            return base;
        }
        let windows = self.send_buffer_windows() as usize;
        let grown = (self.congestion.cwnd as usize).saturating_mul(windows);
        base.max(grown.min(self.settings.tunables.send_buffer_max as usize / 2))
    }

    pub fn send_space(&self) -> usize {
        self.send_capacity().saturating_sub(self.send_queue.len())
    }

    /// sk_stream_is_writeable: free space at least half of what is queued.
    pub fn writable(&self) -> bool {
        self.send_space() >= self.send_queue.len() / 2 && self.send_space() > 0
    }

    /// TCP_DEFER_ACCEPT on a passive open still in SYN_RECEIVED: an acceptable ACK that
    /// carries nothing ("end_seq == rcv_isn + 1") while fewer than rskq_defer_accept SYN-ACK
    /// timeouts have passed.
    pub fn defers_bare_ack(&self, segment: &crate::wire::tcp::Repr<'_>) -> bool {
        use crate::wire::tcp::flags;
        self.state == State::SynReceived
            && self.timeouts < u32::from(self.settings.more.defer_accept_retries)
            && segment.has(flags::ACK)
            && !segment.has(flags::RST | flags::SYN | flags::FIN)
            && segment.payload.is_empty()
            && segment.seq == self.irs.add(1).0
            && segment.ack == self.iss.add(1).0
    }

    /// tcp_stream_memory_free(sk, wake): the bytes not yet sent stay under TCP_NOTSENT_LOWAT
    /// (or net.ipv4.tcp_notsent_lowat); tcp_poll asks with wake = 1, "notsent_bytes << 1".
    pub fn notsent_below_lowat(&self, wake: bool) -> bool {
        let lowat = match self.settings.more.notsent_lowat {
            0 => self.settings.tunables.notsent_lowat,
            set => set,
        };
        let notsent = u64::from(self.send_queue.end().since(self.snd_nxt));
        (notsent << u32::from(wake)) < u64::from(lowat)
    }

    /// The memory the receive side may use for the window (tcp_win_from_space with the
    /// default scaling: half of SO_RCVBUF).
    pub fn receive_space(&self) -> u32 {
        self.settings.receive_buffer / 2
    }

    /// __tcp_select_window's "full_space = min_t(int, tp->window_clamp, allowed_space)".
    fn clamped_receive_space(&self) -> u32 {
        self.settings.more.clamp_window(self.receive_space())
    }

    fn free_receive_space(&self) -> u32 {
        let used = self.receive.ready.len() + self.receive.out_of_order_bytes();
        self.receive_space().saturating_sub(used as u32)
    }

    /// The window still open to the peer (tcp_receive_window).
    pub fn receive_window(&self) -> u32 {
        self.rcv_adv.since(self.rcv_nxt)
    }

    /// The window to put in an outgoing segment (tcp_select_window / __tcp_select_window):
    /// receiver-side silly window avoidance, never shrinking the right edge already offered
    /// (RFC 9293 3.8.6.2.2), rounded to the scale.
    pub fn select_window(&mut self) -> u16 {
        let window = self.window_to_offer();
        self.rcv_wup = self.rcv_nxt;
        self.rcv_adv = self.rcv_nxt.add(window);
        (window >> self.rcv_wscale) as u16
    }

    /// __tcp_select_window plus tcp_select_window's no-shrink rule, in bytes, without
    /// recording it.
    pub fn window_to_offer(&self) -> u32 {
        let mss = u32::from(self.advertised_mss);
        let full = self.clamped_receive_space();
        let mut free = self
            .free_receive_space()
            .min(full)
            .min(self.rcv_ssthresh.max(mss));
        if free < full / 2 && free < mss {
            free = 0;
        }
        let current = self.receive_window();
        let mut window = if self.rcv_wscale > 0 {
            // "window = ALIGN(window, (1 << tp->rx_opt.rcv_wscale))": rounded up, so a
            // window smaller than one granule is not scaled away to zero.
            let granule = 1u32 << self.rcv_wscale;
            free.div_ceil(granule) * granule
        } else if current + mss <= free || current > free {
            free / mss.max(1) * mss.max(1)
        } else {
            current
        };
        if window < current {
            let granule = 1u32 << self.rcv_wscale;
            window = current.div_ceil(granule) * granule;
        }
        window.min(65535u32 << self.rcv_wscale)
    }

    /// tcp_grow_window, simplified: each in-order segment lets the window grow by two MSS
    /// towards the full space.
    pub fn grow_window(&mut self) {
        let limit = self.clamped_receive_space();
        self.rcv_ssthresh = (self.rcv_ssthresh + 2 * u32::from(self.advertised_mss)).min(limit);
    }

    /// Builds a segment from this connection. `sacks`: include SACK blocks (ACKs while data
    /// is out of order). The window is chosen now and remembered.
    pub fn build_segment(
        &mut self,
        now: Instant,
        seq: Seq,
        segment_flags: u8,
        payload: &[u8],
    ) -> OutSegment {
        let syn = segment_flags & flags::SYN != 0;
        let mut options = Options::default();
        if syn {
            options = self.syn_options;
            if let Some((_, echo)) = options.timestamps {
                options.timestamps = Some((self.timestamp_now(now), echo));
            }
        } else if self.timestamps {
            options.timestamps = Some((self.timestamp_now(now), self.ts_recent));
        }
        // tcp_options_write: NOP NOP MD5 first when a key covers the peer (`md5sig.rs`).
        let md5_secret = self.md5_secret();
        if md5_secret.is_some() {
            options.md5 = Some([0; 16]);
            super::md5sig::fit_syn_options(&mut options);
        }
        let limit = super::md5sig::sack_block_limit(self.timestamps, md5_secret.is_some());
        let sack_due = self.receive.has_out_of_order() || self.dsack.block.is_some();
        if !syn && self.sack && limit > 0 && sack_due {
            // tcp_options_write: a pending D-SACK block goes first, once (`dsack.rs`).
            let mut blocks: Vec<SackBlock> = self.take_dsack_block().into_iter().collect();
            blocks.extend(self.receive.sack_blocks(self.rcv_nxt, limit));
            blocks.truncate(limit);
            for (slot, block) in options.sack_blocks.iter_mut().zip(&blocks) {
                *slot = *block;
            }
            options.sack_count = blocks.len();
        }
        // A SYN's window is never scaled (RFC 7323 2.2).
        let window = if syn {
            let window = self.rcv_adv.since(self.rcv_nxt).min(65535);
            window as u16
        } else {
            self.select_window()
        };
        let has_ack = segment_flags & flags::ACK != 0;
        // tcp_ecn_send (every segment but a SYN): ECT(0) and a queued CWR on new data, ECE
        // while a CWR is demanded. A SYN's ECN flags come from `send_syn`.
        let new_data = !payload.is_empty() && !seq.lt(self.snd_nxt);
        let segment_flags = if syn {
            segment_flags
        } else {
            segment_flags | self.ecn.transmit_flags(new_data)
        };
        let urgent = if syn { None } else { self.urgent_field(seq) };
        let segment_flags = segment_flags | if urgent.is_some() { flags::URG } else { 0 };
        let repr = Repr {
            source_port: self.local.port(),
            destination_port: self.remote.port(),
            seq: seq.0,
            ack: if has_ack { self.rcv_nxt.0 } else { 0 },
            flags: segment_flags,
            window,
            urgent_pointer: urgent.unwrap_or(0),
            options,
            payload,
        };
        if has_ack {
            // tcp_event_ack_sent: nothing is owed any more (`delayed_ack.rs`).
            self.ack_on_ack_sent();
        }
        self.stats.segments_out += 1;
        if !payload.is_empty() {
            // tcp_event_data_sent: a reply counts towards pingpong mode.
            self.ack_on_data_sent(now);
            self.stats.data_segments_out += 1;
            self.stats.last_data_sent = now;
        }
        // ip_build_and_send_pkt gives a SYN-ACK id 0; a request socket's other answers
        // (tcp_v4_reqsk_send_ack) are the control socket's (`OutSegment::ident`); a full
        // socket's segments take inet_id.
        let ident = if syn && has_ack {
            Some(0)
        } else if self.state == State::SynReceived
            && self.ack.is_request_socket()
            && !self.fastopen.passive_child
        {
            // (A Fast Open child is a full socket from the SYN on.)
            None
        } else {
            let ident = self.ip_ident;
            self.ip_ident = self.ip_ident.wrapping_add(1);
            Some(ident)
        };
        OutSegment {
            src: *self.local.ip(),
            dst: *self.remote.ip(),
            ttl: self.settings.ttl,
            // inet->tos with the ECN bits TCP set for this segment.
            tos: (self.settings.tos & !super::ecn::ECN_MASK) | self.ecn.tos_bits(),
            ident,
            bytes: super::md5sig::signed(
                repr.emit(*self.local.ip(), *self.remote.ip()),
                *self.local.ip(),
                *self.remote.ip(),
                md5_secret.as_deref(),
            ),
        }
    }

    /// Records an error for the application and wakes every waiter (sk_error_report).
    pub fn report_error(&mut self, errno: Errno) {
        self.error = Some(errno);
        self.wakeups.other += 1;
        // sock_def_error_report: sk_wake_async(SOCK_WAKE_IO, POLL_ERR).
        self.async_notices.error += 1;
    }

    /// tcp_done: the connection is over; both directions are shut.
    pub fn finish(&mut self) {
        self.state = State::Closed;
        self.read_shut = true;
        self.write_shut = true;
        self.timers.clear_all();
        self.wakeups.other += 1;
    }

    /// Takes the pending error (sock_error: reading it clears it).
    pub fn take_error(&mut self) -> Option<Errno> {
        self.error.take()
    }

    pub fn idle_since(&self, now: Instant) -> Duration {
        now.saturating_since(self.last_received)
    }
}
