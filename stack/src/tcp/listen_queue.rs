//! A listener's two queues as Linux keeps them: the SYN queue (request sockets, here children
//! in SYN_RECV) and the accept queue (established children). What a SYN meets
//! (tcp_conn_request: SYN cookies, the accept-queue check, tcp_max_syn_backlog), what a
//! final ACK meets when the accept queue is full (tcp_check_req: dropped, or a reset with
//! tcp_abort_on_overflow), the ACK that brings a SYN cookie back (cookie_v4_check), and how
//! long a request's SYN-ACK is retransmitted (reqsk_timer_handler's "young" pruning).

use super::layer::{FourTuple, TcpLayer};
use super::options::{initial_window, negotiate};
use super::ports::Binding;
use super::seq::Seq;
use super::socket::{Listener, Role, SocketPhase, TcpSocket};
use super::state::State;
use super::syncookies::{self, CookieOptions, COOKIE_VALID_MILLIS};
use super::tcb::{Connection, Opening};
use crate::ipv4::InboundDatagram;
use crate::socket::SocketId;
use crate::time::Instant;
use crate::wire::tcp::{Options, Repr};

/// The MTU of the loopback device (routes to our own addresses).
const LOOPBACK_MTU: u32 = 65536;

/// What tcp_conn_request decides before it makes a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admission {
    /// A request socket (here a child in SYN_RECV) answers with a SYN-ACK.
    Request,
    /// A SYN-ACK carrying a cookie answers, and nothing is kept.
    Cookie,
    Drop,
}

/// What the ACK a cookie listener receives leads to (cookie_v4_check's result).
pub(super) enum CookieVerdict {
    /// Not a cookie (or cookies not in use): the listener answers with a reset.
    NotACookie,
    /// A child was made and took the ACK.
    Accepted,
    /// Valid, but the accept queue is full: dropped silently.
    Dropped,
}

impl Listener {
    /// inet_csk_reqsk_queue_is_full: "qlen > sk_max_ack_backlog" (measured on 6.18: a
    /// backlog of 1 takes two requests before SYN cookies start).
    pub fn request_queue_full(&self) -> bool {
        self.handshaking.len() as u32 > self.backlog
    }
}

impl TcpLayer {
    /// tcp_conn_request: a SYN (no ACK, no RST, no FIN) reached a listener. `isn` is the
    /// sequence TIME_WAIT handed over (tcp_tw_isn), which skips the SYN-queue checks.
    pub(super) fn conn_request(
        &mut self,
        now: Instant,
        listener_id: SocketId,
        tuple: FourTuple,
        segment: &Repr<'_>,
        datagram: &InboundDatagram<'_>,
        isn: Option<Seq>,
    ) {
        let want_cookie = match self.admit_syn(now, listener_id, isn.is_some()) {
            Admission::Drop => return,
            Admission::Cookie => true,
            Admission::Request => false,
        };
        let (local, remote) = tuple;
        // tcp_conn_request: init_ts_off and init_seq (secure_tcp_ts_off, secure_tcp_seq on
        // the SYN's addresses), unless TIME_WAIT handed over an ISN.
        let iss = isn.unwrap_or_else(|| self.secrets.initial_sequence(now, local, remote));
        // "if (want_cookie && !tmp_opt.saw_tstamp) tcp_clear_options(&tmp_opt)": without a
        // timestamp to carry them, a cookie connection has no SACK and no window scaling.
        let mut peer_options = segment.options;
        if want_cookie && peer_options.timestamps.is_none() {
            peer_options = Options {
                mss: peer_options.mss,
                ..Options::default()
            };
        }
        let Some(mut connection) =
            self.request_connection(now, listener_id, tuple, datagram, iss, &peer_options)
        else {
            return;
        };
        connection.irs = Seq(segment.seq);
        connection.rcv_nxt = connection.irs.add(1);
        connection.rcv_wup = connection.rcv_nxt;
        if let Some((value, _)) = peer_options.timestamps {
            connection.ts_recent = value;
        }
        self.size_request_window(&mut connection);
        connection.snd_wnd = u32::from(segment.window);
        connection.snd_wl1 = Seq(segment.seq);
        connection.note_peer_window(connection.snd_wnd);
        // tcp_ecn_create_request (`ecn.rs`); the reserved header bits sit in the low nibble
        // of byte 12.
        let reserved_bits = datagram.payload.get(12).map_or(0, |byte| byte & 0x0f);
        connection.ecn = super::ecn::Ecn::for_request(
            connection.settings.tunables.ecn,
            segment.flags,
            reserved_bits,
            datagram.tos,
        );
        if want_cookie {
            self.send_cookie_synack(now, connection, segment, &peer_options);
            return;
        }
        // tcp_try_fastopen (fastopen.rs), never for a cookie: a valid cookie (or none needed)
        // creates the child now with the SYN's data, and the SYN-ACK carries the cookie a
        // request asked for (only the first SYN-ACK: tcp_rtx_synack passes no cookie).
        let fast_open = self.try_fastopen(listener_id, segment, *remote.ip(), *local.ip());
        if fast_open.create_child {
            connection.accept_syn_data(segment);
        }
        connection.syn_options.fast_open = fast_open.cookie;
        connection.send_syn(now, &mut self.outbox);
        connection.syn_options.fast_open = None;
        let save_syn = connection.settings.more.save_syn != 0;
        if save_syn {
            // tcp_reqsk_record_syn: the network header and the TCP header, options included
            // (save_syn 2 would add the link header, which the stack does not keep).
            let tcp_header = datagram
                .payload
                .get(12)
                .map_or(0, |offset| usize::from(offset >> 4) * 4)
                .min(datagram.payload.len());
            let mut saved = datagram.header.to_vec();
            saved.extend_from_slice(&datagram.payload[..tcp_header]);
            connection.saved_syn = Some(saved);
        }
        let child = self.insert_request(listener_id, tuple, connection);
        if let (true, Some(child)) = (fast_open.create_child, child) {
            self.fastopen_child_ready(listener_id, child);
        }
        self.counters.passive_opens += 1;
    }

    /// The checks of tcp_conn_request before a request is made, in its order: the SYN
    /// queue (tcp_syn_flood_action: cookies or a drop), then the accept queue
    /// (LISTENOVERFLOWS even when a cookie was wanted), then without cookies the last
    /// quarter of tcp_max_syn_backlog.
    fn admit_syn(
        &mut self,
        now: Instant,
        listener_id: SocketId,
        from_time_wait: bool,
    ) -> Admission {
        let syncookies = self.sysctls.tcp.syncookies;
        let max_syn_backlog = self.sysctls.tcp.max_syn_backlog;
        let Some(listener) = self
            .sockets
            .get_mut(listener_id)
            .ok()
            .and_then(TcpSocket::listener_mut)
        else {
            return Admission::Drop;
        };
        let mut want_cookie = false;
        // "TW buckets are converted to open requests without limitations".
        if !from_time_wait && (syncookies == 2 || listener.request_queue_full()) {
            if syncookies != 0 {
                self.counters.request_queue_full_cookies += 1;
                want_cookie = true;
            } else {
                self.counters.request_queue_full_drops += 1;
                self.counters.listen_drops += 1;
                return Admission::Drop;
            }
        }
        if listener.accept_queue_full() {
            listener.overflows += 1;
            self.counters.listen_overflows += 1;
            self.counters.listen_drops += 1;
            return Admission::Drop;
        }
        if want_cookie {
            // tcp_synq_overflow (from cookie_init_sequence): remember the flood, at most once
            // a second, so the cookies that come back are checked.
            let stale = listener
                .last_overflow
                .is_none_or(|last| now.saturating_since(last).as_millis() > 1000 || now < last);
            if stale {
                listener.last_overflow = Some(now);
            }
            return Admission::Cookie;
        }
        // "Without syncookies last quarter of backlog is filled with destinations, proven
        // to be alive": tcp_peer_is_proven needs the tcp_metrics cache, which the stack
        // does not keep, so no peer counts as proven.
        let queued = listener.handshaking.len() as u32;
        if !from_time_wait
            && syncookies == 0
            && max_syn_backlog.saturating_sub(queued) < (max_syn_backlog >> 2)
        {
            self.counters.listen_drops += 1;
            return Admission::Drop;
        }
        Admission::Request
    }

    /// A connection in SYN_RECV for a request: the listener's settings, the route's MTU,
    /// the timestamp offset, and the options agreed with `peer` (tcp_openreq_init).
    fn request_connection(
        &mut self,
        now: Instant,
        listener_id: SocketId,
        tuple: FourTuple,
        datagram: &InboundDatagram<'_>,
        iss: Seq,
        peer: &Options,
    ) -> Option<Connection> {
        let mut settings = self.sockets.get(listener_id).ok()?.settings.clone();
        let (local, remote) = tuple;
        // tcp_v4_syn_recv_sock: the child keeps the listener's key for its peer (`md5sig.rs`).
        settings.more.md5_keys = settings.more.md5_keys.for_child(*remote.ip());
        // A SYN that came through lo, or from our own address (the kernel routes it over
        // lo: RTN_LOCAL), is answered with lo's MTU.
        let path_mtu = if datagram.ifindex == 1 || datagram.src == datagram.dst {
            LOOPBACK_MTU
        } else {
            self.interface_mtu
        };
        let ts_offset = self.secrets.timestamp_offset(*local.ip(), *remote.ip());
        let ip_ident = self.random.next_u16();
        let mut connection = Connection::new(
            Opening {
                local,
                remote,
                iss,
                path_mtu,
                ts_offset,
                settings,
                now,
                ip_ident,
            },
            State::SynReceived,
        );
        // The SYN-ACK offers only what the SYN offered (tcp_openreq_init + tcp_synack_options).
        let ours = connection.syn_options;
        let offer = Options {
            mss: ours.mss,
            window_scale: peer.window_scale.and(ours.window_scale),
            sack_permitted: peer.sack_permitted && ours.sack_permitted,
            // tcp_synack_options: beside an MD5 signature, timestamps only without SACK.
            timestamps: peer
                .timestamps
                .filter(|_| ours.timestamps.is_some())
                .filter(|_| {
                    connection.settings.more.md5_keys.is_empty()
                        || !(peer.sack_permitted && ours.sack_permitted)
                })
                .map(|(value, _)| (0, value)),
            ..Options::default()
        };
        connection.syn_options = offer;
        connection.apply_negotiated(negotiate(&offer, peer));
        Some(connection)
    }

    /// tcp_openreq_init_rwin: the MSS less the timestamp option sizes the first window.
    fn size_request_window(&self, connection: &mut Connection) {
        let settings = &connection.settings;
        let window_mss =
            u32::from(connection.advertised_mss) - if connection.timestamps { 12 } else { 0 };
        let window = initial_window(
            settings.more.clamp_window(settings.receive_buffer / 2),
            window_mss,
        );
        connection.rcv_adv = connection.rcv_nxt.add(window);
        connection.rcv_ssthresh = window;
    }

    /// The child joins the listener's SYN queue and the demultiplexing table; it shares the
    /// listener's port (inet_csk_clone_lock + __inet_inherit_port).
    fn insert_request(
        &mut self,
        listener_id: SocketId,
        tuple: FourTuple,
        connection: Connection,
    ) -> Option<SocketId> {
        let listener_socket = self.sockets.get(listener_id).ok()?;
        let options = listener_socket.options.clone();
        let creds = listener_socket.creds;
        let settings = connection.settings.clone();
        let local = tuple.0;
        let mut child = TcpSocket::new(creds, options, settings);
        child.bound = Some(local);
        child.parent = Some(listener_id);
        child.phase = SocketPhase::Connected;
        child.bind_locked = false;
        child.role = Role::Connection(Box::new(connection));
        let child_id = self.sockets.insert(child);
        self.ports.hold(
            local.port(),
            Binding {
                holder: super::ports::Holder::Socket(child_id),
                address: *local.ip(),
                reuse_address: false,
                reuse_port: false,
                listening: false,
            },
        );
        self.connections.insert(tuple, child_id);
        if let Some(listener) = self
            .sockets
            .get_mut(listener_id)
            .ok()
            .and_then(TcpSocket::listener_mut)
        {
            listener.handshaking.push(child_id);
        }
        Some(child_id)
    }

    /// cookie_init_sequence + tcp_make_synack(TCP_SYNACK_COOKIE): the SYN-ACK's sequence is
    /// the cookie, its timestamp carries the SYN's options (cookie_init_timestamp), and the
    /// request is freed at once.
    fn send_cookie_synack(
        &mut self,
        now: Instant,
        mut connection: Connection,
        segment: &Repr<'_>,
        peer: &Options,
    ) {
        let peer_mss = peer.mss.unwrap_or(super::options::DEFAULT_PEER_MSS);
        let (cookie, _mss) = self.cookies.initial_sequence(
            now,
            connection.remote,
            connection.local,
            segment.seq,
            peer_mss,
        );
        self.counters.syncookies_sent += 1;
        let iss = Seq(cookie);
        connection.iss = iss;
        connection.snd_una = iss;
        connection.snd_nxt = iss;
        connection.snd_wl2 = iss;
        // "if (!tmp_opt.tstamp_ok) inet_rsk(req)->ecn_ok = 0": only a timestamp could
        // remember that ECN was agreed, so without one the SYN-ACK does not agree to it.
        if !connection.timestamps {
            connection.ecn.enabled = false;
        }
        if connection.timestamps {
            let options = CookieOptions {
                timestamps: true,
                sack: connection.sack,
                window_scale: connection
                    .syn_options
                    .window_scale
                    .map(|_| connection.snd_wscale),
                // inet_rsk(req)->ecn_ok from tcp_ecn_create_request (`ecn.rs`).
                ecn: connection.ecn.enabled,
            };
            // The timestamp the SYN-ACK carries is the cookie's, plus the offset: shift this
            // throwaway connection's offset so that build_segment writes it.
            let cookie_ts = syncookies::cookie_timestamp(now, options);
            connection.ts_offset = connection
                .ts_offset
                .wrapping_add(cookie_ts.wrapping_sub(now.as_millis() as u32));
        }
        let mut out = Vec::new();
        connection.send_syn(now, &mut out);
        self.outbox.append(&mut out);
    }

    /// cookie_v4_check for an ACK (without SYN or RST) that found no connection but a
    /// listener: with tcp_syncookies on and a cookie sent within two minutes, a valid
    /// cookie makes the child the request would have been and hands it the ACK.
    pub(super) fn cookie_check(
        &mut self,
        now: Instant,
        listener_id: SocketId,
        tuple: FourTuple,
        segment: &Repr<'_>,
        datagram: &InboundDatagram<'_>,
    ) -> CookieVerdict {
        if self.sysctls.tcp.syncookies == 0 {
            return CookieVerdict::NotACookie;
        }
        let Some(listener) =
            self.sockets
                .get(listener_id)
                .ok()
                .and_then(|socket| match &socket.role {
                    Role::Listener(listener) => Some(listener),
                    _ => None,
                })
        else {
            return CookieVerdict::NotACookie;
        };
        // tcp_synq_no_recent_overflow.
        let recent = listener.last_overflow.is_some_and(|last| {
            now >= last && now.saturating_since(last).as_millis() < u128::from(COOKIE_VALID_MILLIS)
        });
        if !recent {
            return CookieVerdict::NotACookie;
        }
        let accept_full = listener.accept_queue_full();
        let (local, remote) = tuple;
        let Some(mss) = self
            .cookies
            .check(now, remote, local, segment.seq, segment.ack)
        else {
            self.counters.syncookies_failed += 1;
            return CookieVerdict::NotACookie;
        };
        self.counters.syncookies_received += 1;
        // The echoed timestamp less our offset holds the options.
        let ts_offset = self.secrets.timestamp_offset(*local.ip(), *remote.ip());
        let echoed = segment.options.timestamps.map(|(_, echo)| {
            if echo == 0 {
                0
            } else {
                echo.wrapping_sub(ts_offset)
            }
        });
        let tunables = &self.sysctls.tcp;
        let Some(options) = syncookies::decode_timestamp(
            echoed,
            tunables.timestamps,
            tunables.sack,
            tunables.window_scaling,
        ) else {
            return CookieVerdict::NotACookie;
        };
        // tcp_v4_syn_recv_sock: "if (sk_acceptq_is_full(sk)) goto exit_overflow"; for a
        // cookie nothing stays behind.
        if accept_full {
            self.count_accept_overflow(listener_id);
            return CookieVerdict::Dropped;
        }
        // The SYN as the cookie remembers it (cookie_tcp_reqsk_alloc): the table's MSS, and
        // the options the timestamp carried.
        let our_window_scale = self.sysctls.tcp.window_scaling;
        let peer = Options {
            mss: Some(mss),
            window_scale: options.window_scale.filter(|_| our_window_scale),
            sack_permitted: options.sack,
            timestamps: segment.options.timestamps.filter(|_| options.timestamps),
            ..Options::default()
        };
        let iss = Seq(segment.ack.wrapping_sub(1));
        let Some(mut connection) =
            self.request_connection(now, listener_id, tuple, datagram, iss, &peer)
        else {
            return CookieVerdict::Dropped;
        };
        connection.ecn = super::ecn::Ecn::from_cookie(options.ecn, self.sysctls.tcp.ecn);
        connection.irs = Seq(segment.seq.wrapping_sub(1));
        connection.rcv_nxt = Seq(segment.seq);
        connection.rcv_wup = connection.rcv_nxt;
        connection.ts_recent = peer.timestamps.map_or(0, |(value, _)| value);
        // cookie_v4_check sizes the window for the table's MSS (req->mss), not advmss.
        let window = initial_window(
            connection
                .settings
                .more
                .clamp_window(connection.settings.receive_buffer / 2),
            u32::from(mss),
        );
        connection.rcv_adv = connection.rcv_nxt.add(window);
        connection.rcv_ssthresh = window;
        // The SYN-ACK is already acknowledged by the segment this child is about to take.
        connection.snd_una = iss;
        connection.snd_nxt = iss.add(1);
        connection.snd_wl2 = iss;
        connection.snd_wl1 = Seq(segment.seq);
        // The kernel's cookie child goes straight to the accept queue and takes the ACK
        // itself (tcp_get_cookie_sock, tcp_child_process): TCP_DEFER_ACCEPT's drop of a
        // bare ACK is tcp_check_req's, which never sees it.
        connection.settings.more.defer_accept_retries = 0;
        let Some(child) = self.insert_request(listener_id, tuple, connection) else {
            return CookieVerdict::Dropped;
        };
        self.counters.passive_opens += 1;
        self.connection_input(now, child, segment, datagram);
        CookieVerdict::Accepted
    }

    /// tcp_check_req's verdict on an ACK for a request whose listener's accept queue is
    /// full (syn_recv_sock failing: listen_overflow). Returns true when the segment was
    /// consumed: dropped with the request kept and marked acked (its SYN-ACK timer goes
    /// on), or, with tcp_abort_on_overflow, answered with a reset and the request dropped.
    pub(super) fn request_overflow(
        &mut self,
        child: SocketId,
        parent: SocketId,
        segment: &Repr<'_>,
        datagram: &InboundDatagram<'_>,
    ) -> bool {
        let full = self
            .sockets
            .get(parent)
            .ok()
            .and_then(|listener| match &listener.role {
                Role::Listener(listener) => Some(listener.accept_queue_full()),
                _ => None,
            })
            .unwrap_or(false);
        if !full {
            return false;
        }
        // Only an ACK tcp_check_req accepts gets this far: "ack_seq != snt_isn + 1" goes
        // back to the listener, which resets it.
        let acceptable = self
            .sockets
            .get(child)
            .ok()
            .and_then(TcpSocket::connection)
            .is_some_and(|connection| Seq(segment.ack) == connection.iss.add(1));
        if !acceptable {
            return false;
        }
        self.count_accept_overflow(parent);
        if !self.sysctls.tcp.abort_on_overflow {
            if let Some(connection) = self
                .sockets
                .get_mut(child)
                .ok()
                .and_then(TcpSocket::connection_mut)
            {
                connection.deferred_ack_seen = true;
            }
            return true;
        }
        // embryonic_reset: tcp_v4_send_reset for the ACK, inet_csk_reqsk_queue_drop.
        self.send_reset_reply_for(Some(parent), segment, datagram);
        self.counters.embryonic_resets += 1;
        if let Some(connection) = self
            .sockets
            .get_mut(child)
            .ok()
            .and_then(TcpSocket::connection_mut)
        {
            connection.finish();
        }
        self.connection_closed(child);
        true
    }

    /// A final ACK (or a valid cookie) that found the accept queue full: ListenOverflows and
    /// ListenDrops (tcp_v4_syn_recv_sock's exit_overflow), and the listener's own count.
    fn count_accept_overflow(&mut self, listener_id: SocketId) {
        self.counters.listen_overflows += 1;
        self.counters.listen_drops += 1;
        if let Some(listener) = self
            .sockets
            .get_mut(listener_id)
            .ok()
            .and_then(TcpSocket::listener_mut)
        {
            listener.overflows += 1;
        }
    }

    /// reqsk_timer_handler's max_syn_ack_retries for a request of `listener_id`: the
    /// listener's TCP_SYNCNT or tcp_synack_retries, lowered while the SYN queue is more than
    /// half full of requests that already timed out ("we reserve half of room for young
    /// embrions; and abort old ones without pity").
    pub(super) fn request_retry_limit(&self, listener_id: SocketId) -> Option<u32> {
        let socket = self.sockets.get(listener_id).ok()?;
        let Role::Listener(listener) = &socket.role else {
            return None;
        };
        let mut limit = socket
            .settings
            .syn_count
            .unwrap_or(self.sysctls.tcp.synack_retries);
        let queued = listener.handshaking.len() as u32;
        if (queued << 1) > listener.backlog.max(8) {
            let young = listener
                .handshaking
                .iter()
                .filter_map(|&id| self.sockets.get(id).ok())
                .filter_map(TcpSocket::connection)
                .filter(|connection| connection.timeouts == 0)
                .count() as u32;
            let mut young = young << 1;
            while limit > 2 {
                if queued < young {
                    break;
                }
                limit -= 1;
                young <<= 1;
            }
        }
        Some(limit)
    }

    /// The order in which `handle_timeout` visits sockets: requests of one listener newest
    /// first. Request timers armed within the same timer-wheel bucket expire in one batch,
    /// and a bucket is a list the kernel adds to at its head, so the newest request runs
    /// first (measured: nine unanswered requests on a backlog of 8 lose their retries
    /// newest first, and the four oldest keep all five). Which request times out first
    /// decides the others' "young" pruning.
    pub(super) fn timer_order(&self, ids: Vec<SocketId>) -> Vec<SocketId> {
        let (mut requests, mut others): (Vec<SocketId>, Vec<SocketId>) =
            ids.into_iter().partition(|&id| {
                self.sockets.get(id).ok().is_some_and(|socket| {
                    socket.parent.is_some() && socket.state() == State::SynReceived
                })
            });
        let position = |id: SocketId| {
            let parent = self.sockets.get(id).ok().and_then(|socket| socket.parent)?;
            let Role::Listener(listener) = &self.sockets.get(parent).ok()?.role else {
                return None;
            };
            let index = listener.handshaking.iter().position(|&child| child == id)?;
            Some((parent, index))
        };
        requests.sort_by_key(|&id| core::cmp::Reverse(position(id)));
        others.append(&mut requests);
        others
    }

    /// Before a request's timer runs: the retry limit its listener allows now.
    pub(super) fn refresh_request_retry_limit(&mut self, id: SocketId) {
        let Some(parent) = self.sockets.get(id).ok().and_then(|socket| socket.parent) else {
            return;
        };
        let Some(limit) = self.request_retry_limit(parent) else {
            return;
        };
        if let Some(connection) = self
            .sockets
            .get_mut(id)
            .ok()
            .and_then(TcpSocket::connection_mut)
            .filter(|connection| connection.state == State::SynReceived)
        {
            connection.settings.tunables.synack_retries = limit;
        }
    }
}
