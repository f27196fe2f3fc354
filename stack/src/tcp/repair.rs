//! TCP_REPAIR: the checkpoint/restore interface CRIU uses (Linux 6.18, net/ipv4/tcp.c
//! do_tcp_setsockopt / do_tcp_getsockopt, tcp_v4_connect → tcp_connect's repair branch,
//! tcp_sendmsg_locked / tcp_recvmsg_locked's repair paths, __tcp_close and tcp_disconnect).
//!
//! A process with CAP_NET_ADMIN puts a closed or established socket in repair mode. Then
//! it reads the sequence numbers (TCP_QUEUE_SEQ), both queues (recv with MSG_PEEK, per
//! TCP_REPAIR_QUEUE), the windows (TCP_REPAIR_WINDOW) and the timestamp clock
//! (TCP_TIMESTAMP), and closes the socket without a FIN or a reset. A new socket in repair
//! mode binds the same port (SK_FORCE_REUSE), takes the sequence numbers, connects without a
//! handshake (tcp_finish_connect at once), takes the negotiated options
//! (TCP_REPAIR_OPTIONS), the windows and the queues (send in repair: into the receive queue,
//! or into the send queue as already sent), and leaves repair mode with a window probe.
//! This file holds the state and the socket options; the connect, close, send and receive
//! paths are in `repair_paths.rs`.

use super::layer::{user_socket_in, TcpLayer};
use super::seq::Seq;
use super::socket::TcpSocket;
use super::state::State;
use super::tcb::Connection;
use crate::errno::Errno;
use crate::socket::SocketId;
use crate::time::Instant;

/// SOL_TCP names of the repair family (linux/tcp.h).
pub const TCP_REPAIR: i32 = 19;
/// TCP_MAXSEG, which shows the MSS clamp in repair mode.
const TCP_MAXSEG: i32 = 2;
pub const TCP_REPAIR_QUEUE: i32 = 20;
pub const TCP_QUEUE_SEQ: i32 = 21;
pub const TCP_REPAIR_OPTIONS: i32 = 22;
pub const TCP_TIMESTAMP: i32 = 24;
pub const TCP_REPAIR_WINDOW: i32 = 29;

/// TCP_REPAIR values.
const TCP_REPAIR_ON: i32 = 1;
const TCP_REPAIR_OFF: i32 = 0;
const TCP_REPAIR_OFF_NO_WP: i32 = -1;

/// TCP_REPAIR_QUEUE values (TCP_NO_QUEUE, TCP_RECV_QUEUE, TCP_SEND_QUEUE; TCP_QUEUES_NR).
pub const TCP_NO_QUEUE: u32 = 0;
pub const TCP_RECV_QUEUE: u32 = 1;
pub const TCP_SEND_QUEUE: u32 = 2;
const TCP_QUEUES_NR: u32 = 3;

/// TCP option kinds TCP_REPAIR_OPTIONS understands (tcp_repair_options_est).
const TCPOPT_MSS: u32 = 2;
const TCPOPT_WINDOW: u32 = 3;
const TCPOPT_SACK_PERM: u32 = 4;
const TCPOPT_TIMESTAMP: u32 = 8;
/// TCP_MAX_WSCALE.
const MAX_WINDOW_SCALE: u32 = 14;
/// sizeof(struct tcp_repair_opt): opt_code, opt_val.
const REPAIR_OPT_LEN: usize = 8;
/// sizeof(struct tcp_repair_window): snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup.
const REPAIR_WINDOW_LEN: usize = 20;

/// The repair state of one socket: tp->repair, tp->repair_queue, and what a socket that
/// has no connection yet keeps in its tcp_sock for connect() (write_seq, rcv_nxt, tsoffset).
#[derive(Debug, Clone, Copy, Default)]
pub struct Repair {
    /// tp->repair.
    pub on: bool,
    /// sk->sk_reuse == SK_FORCE_REUSE: set by TCP_REPAIR 1, gone when repair mode ends or
    /// SO_REUSEADDR is set (which writes sk_reuse).
    pub force_reuse: bool,
    /// tp->repair_queue: survives leaving repair mode (only TCP_REPAIR 1 resets it).
    pub queue: u32,
    /// tp->write_seq as TCP_QUEUE_SEQ set it on a closed socket.
    pub write_seq: u32,
    /// tp->rcv_nxt as TCP_QUEUE_SEQ set it on a closed socket.
    pub rcv_nxt: u32,
    /// tp->tsoffset as TCP_TIMESTAMP set it before connect (a repaired connect keeps it).
    pub ts_offset: u32,
    /// struct tcp_repair_window as TCP_REPAIR_WINDOW set it before connect: shown by
    /// getsockopt until tcp_connect_init sets every field again.
    pub window: [u32; 5],
}

impl Repair {
    /// What getsockopt(SO_REUSEADDR) shows: sk->sk_reuse, which TCP_REPAIR 1 sets to
    /// SK_FORCE_REUSE (2). None: the socket's own SO_REUSEADDR value stands.
    pub fn reuse_address_shown(&self) -> Option<i32> {
        const SK_FORCE_REUSE: i32 = 2;
        self.force_reuse.then_some(SK_FORCE_REUSE)
    }

    /// SK_FORCE_REUSE: bind takes the port whoever holds it (inet_csk_get_port: "if
    /// (sk->sk_reuse == SK_FORCE_REUSE ...) goto success").
    pub fn forces_port(&self) -> bool {
        self.force_reuse
    }
}

fn int_of(value: &[u8]) -> i32 {
    i32::from_ne_bytes([value[0], value[1], value[2], value[3]])
}

fn u32_at(value: &[u8], offset: usize) -> u32 {
    u32::from_ne_bytes([
        value[offset],
        value[offset + 1],
        value[offset + 2],
        value[offset + 3],
    ])
}

/// The CLOCK_MONOTONIC milliseconds tcp_clock_ts() reads (the stack's clock).
fn clock_ms(now: Instant) -> u32 {
    now.as_millis() as u32
}

impl TcpLayer {
    /// do_tcp_setsockopt for the repair family; None: not one of its names. `value` holds
    /// at least 4 bytes (the caller checked "optlen < sizeof(int)").
    pub(super) fn set_repair_option(
        &mut self,
        now: Instant,
        id: SocketId,
        name: i32,
        value: &[u8],
    ) -> Option<Result<(), Errno>> {
        if !matches!(
            name,
            TCP_REPAIR
                | TCP_REPAIR_QUEUE
                | TCP_QUEUE_SEQ
                | TCP_REPAIR_OPTIONS
                | TCP_TIMESTAMP
                | TCP_REPAIR_WINDOW
        ) {
            return None;
        }
        let socket = match self.user_socket_mut(id) {
            Ok(socket) => socket,
            Err(errno) => return Some(Err(errno)),
        };
        let int = int_of(value);
        let result = match name {
            TCP_REPAIR => return Some(self.set_repair_mode(now, id, int)),
            TCP_REPAIR_QUEUE => {
                if !socket.repair.on {
                    Err(Errno::EPERM)
                } else if (int as u32) < TCP_QUEUES_NR {
                    socket.repair.queue = int as u32;
                    Ok(())
                } else {
                    Err(Errno::EINVAL)
                }
            }
            TCP_QUEUE_SEQ => set_queue_seq(socket, int as u32),
            TCP_REPAIR_OPTIONS => {
                if !socket.repair.on {
                    Err(Errno::EINVAL)
                } else {
                    match socket.connection_mut() {
                        // "sk->sk_state == TCP_ESTABLISHED && !tp->bytes_sent": only before
                        // anything went on the wire.
                        Some(c) if c.state == State::Established && nothing_transmitted(c) => {
                            set_options(c, value)
                        }
                        _ => Err(Errno::EPERM),
                    }
                }
            }
            TCP_TIMESTAMP => {
                if !socket.repair.on {
                    Err(Errno::EPERM)
                } else {
                    // "tp->tsoffset = val - tcp_clock_ts(tp->tcp_usec_ts)". The low bit asks
                    // for microsecond timestamps (tcp_usec_ts), which this stack does not
                    // keep: its clock stays in milliseconds.
                    let offset = (int as u32).wrapping_sub(clock_ms(now));
                    match socket.connection_mut() {
                        Some(connection) => connection.ts_offset = offset,
                        None => socket.repair.ts_offset = offset,
                    }
                    Ok(())
                }
            }
            _ => set_window(socket, value),
        };
        Some(result)
    }

    /// TCP_REPAIR: tcp_can_repair_sock (CAP_NET_ADMIN, CLOSE or ESTABLISHED), then on, off
    /// (with a window probe) or off without one.
    fn set_repair_mode(&mut self, now: Instant, id: SocketId, value: i32) -> Result<(), Errno> {
        let socket = self.user_socket_mut(id)?;
        let repairable = socket.creds.cap_net_admin
            && matches!(socket.state(), State::Closed | State::Established);
        if !repairable {
            return Err(Errno::EPERM);
        }
        match value {
            TCP_REPAIR_ON => {
                socket.repair.on = true;
                socket.repair.force_reuse = true;
                socket.repair.queue = TCP_NO_QUEUE;
            }
            TCP_REPAIR_OFF | TCP_REPAIR_OFF_NO_WP => {
                socket.repair.on = false;
                socket.repair.force_reuse = false;
                // "sk->sk_reuse = SK_NO_REUSE": SO_REUSEADDR is off afterwards, whatever it was.
                self.clear_reuse_address(id);
                if value == TCP_REPAIR_OFF {
                    self.send_window_probe(now, id);
                }
            }
            _ => return Err(Errno::EINVAL),
        }
        Ok(())
    }

    /// sk->sk_reuse = SK_NO_REUSE, in the option table, the settings and the port's binding.
    fn clear_reuse_address(&mut self, id: SocketId) {
        let Ok(socket) = self.user_socket_mut(id) else {
            return;
        };
        socket.options.reuse_address = false;
        socket.settings.reuse_address = false;
        if let Some(connection) = socket.connection_mut() {
            connection.settings.reuse_address = false;
        }
        if let Some(bound) = socket.bound {
            self.ports
                .update(bound.port(), super::ports::Holder::Socket(id), |binding| {
                    binding.reuse_address = false;
                });
        }
    }

    /// tcp_send_window_probe: "tp->snd_wl1 = tp->rcv_nxt - 1" (so that the answer's window
    /// is taken whatever it is), then tcp_xmit_probe_skb: an ACK at SND.UNA − 1.
    fn send_window_probe(&mut self, now: Instant, id: SocketId) {
        let Ok(socket) = user_socket_in(&mut self.sockets, id) else {
            return;
        };
        let Some(connection) = socket.connection_mut() else {
            return;
        };
        if connection.state != State::Established {
            return;
        }
        connection.snd_wl1 = connection.rcv_nxt.sub(1);
        connection.send_probe(now, &mut self.outbox);
    }

    /// do_tcp_getsockopt for the repair family; None: not one of its names.
    pub(super) fn get_repair_option(
        &self,
        id: SocketId,
        name: i32,
        optlen: usize,
    ) -> Option<Result<Vec<u8>, Errno>> {
        let socket = match self.user_socket(id) {
            Ok(socket) => socket,
            Err(errno) => return Some(Err(errno)),
        };
        let int = |value: u32| Some(Ok(value.to_ne_bytes()[..optlen.min(4)].to_vec()));
        let repair = &socket.repair;
        let connection = socket.connection();
        match name {
            TCP_REPAIR => int(u32::from(repair.on)),
            // do_tcp_getsockopt: "if (tp->repair) val = tp->rx_opt.mss_clamp" — the peer's
            // MSS (measured: 0 before a connection has one).
            TCP_MAXSEG if repair.on => int(connection.map_or(0, |c| u32::from(c.peer_mss))),
            TCP_REPAIR_QUEUE if repair.on => int(repair.queue),
            TCP_REPAIR_QUEUE => Some(Err(Errno::EINVAL)),
            TCP_QUEUE_SEQ => match repair.queue {
                // tp->write_seq (a queued FIN counts) or tp->rcv_nxt.
                TCP_SEND_QUEUE => int(connection.map_or(repair.write_seq, |c| c.send_end().0)),
                TCP_RECV_QUEUE => int(connection.map_or(repair.rcv_nxt, |c| c.rcv_nxt.0)),
                _ => Some(Err(Errno::EINVAL)),
            },
            TCP_TIMESTAMP => {
                // "val = tcp_clock_ts(tp->tcp_usec_ts) + tp->tsoffset", its low bit the
                // microsecond flag (clear: milliseconds).
                let offset = connection.map_or(repair.ts_offset, |c| c.ts_offset);
                int(clock_ms(self.clock).wrapping_add(offset) & !1)
            }
            TCP_REPAIR_WINDOW => {
                if optlen != REPAIR_WINDOW_LEN {
                    return Some(Err(Errno::EINVAL));
                }
                if !repair.on {
                    return Some(Err(Errno::EPERM));
                }
                Some(Ok(window_of(connection, repair)))
            }
            _ => None,
        }
    }
}

/// TCP_QUEUE_SEQ: only on a closed socket; the send queue's when nothing waits for an ACK,
/// the receive queue's when everything was read; EINVAL without a queue chosen.
fn set_queue_seq(socket: &mut TcpSocket, value: u32) -> Result<(), Errno> {
    if socket.state() != State::Closed {
        return Err(Errno::EPERM);
    }
    let connection = socket.connection();
    match socket.repair.queue {
        TCP_SEND_QUEUE => {
            // "if (!tcp_rtx_queue_empty(sk)) err = -EPERM".
            if connection.is_some_and(|c| !c.sent.is_empty()) {
                return Err(Errno::EPERM);
            }
            socket.repair.write_seq = value;
        }
        TCP_RECV_QUEUE => {
            // "if (tp->rcv_nxt != tp->copied_seq) err = -EPERM".
            if connection.is_some_and(|c| !c.receive.ready.is_empty()) {
                return Err(Errno::EPERM);
            }
            socket.repair.rcv_nxt = value;
        }
        _ => return Err(Errno::EINVAL),
    }
    Ok(())
}

/// tp->bytes_sent == 0: no data went on the wire (data marked sent in repair mode never did).
fn nothing_transmitted(connection: &Connection) -> bool {
    connection.stats.bytes_sent == 0 && connection.stats.bytes_retransmitted == 0
}

/// tcp_repair_options_est: one struct tcp_repair_opt after another while 8 bytes remain;
/// unknown codes are skipped, and what came before an error stays applied.
fn set_options(connection: &mut Connection, value: &[u8]) -> Result<(), Errno> {
    for record in value.chunks_exact(REPAIR_OPT_LEN) {
        let (code, option_value) = (u32_at(record, 0), u32_at(record, 4));
        match code {
            TCPOPT_MSS => {
                // "tp->rx_opt.mss_clamp = opt.opt_val" (a u16), then tcp_mtup_init: the
                // segment size follows at the next tcp_sync_mss (a larger peer window).
                connection.peer_mss = option_value as u16;
            }
            TCPOPT_WINDOW => {
                let send_scale = option_value & 0xffff;
                let receive_scale = option_value >> 16;
                if send_scale > MAX_WINDOW_SCALE || receive_scale > MAX_WINDOW_SCALE {
                    return Err(Errno::EFBIG);
                }
                connection.snd_wscale = send_scale as u8;
                connection.rcv_wscale = receive_scale as u8;
            }
            TCPOPT_SACK_PERM => {
                if option_value != 0 {
                    return Err(Errno::EINVAL);
                }
                connection.sack = true;
            }
            TCPOPT_TIMESTAMP => {
                if option_value != 0 {
                    return Err(Errno::EINVAL);
                }
                connection.timestamps = true;
            }
            _ => {}
        }
    }
    Ok(())
}

/// tcp_repair_set_window.
fn set_window(socket: &mut TcpSocket, value: &[u8]) -> Result<(), Errno> {
    if !socket.repair.on {
        return Err(Errno::EPERM);
    }
    if value.len() != REPAIR_WINDOW_LEN {
        return Err(Errno::EINVAL);
    }
    let snd_wl1 = Seq(u32_at(value, 0));
    let snd_wnd = u32_at(value, 4);
    let max_window = u32_at(value, 8);
    let rcv_wnd = u32_at(value, 12);
    let rcv_wup = Seq(u32_at(value, 16));
    let rcv_nxt = socket
        .connection()
        .map_or(Seq(socket.repair.rcv_nxt), |c| c.rcv_nxt);
    if max_window < snd_wnd {
        return Err(Errno::EINVAL);
    }
    if snd_wl1.gt(rcv_nxt.add(rcv_wnd)) {
        return Err(Errno::EINVAL);
    }
    if rcv_wup.gt(rcv_nxt) {
        return Err(Errno::EINVAL);
    }
    match socket.connection_mut() {
        Some(connection) => {
            connection.snd_wl1 = snd_wl1;
            connection.snd_wnd = snd_wnd;
            connection.max_window = max_window;
            connection.rcv_wup = rcv_wup;
            connection.rcv_adv = rcv_wup.add(rcv_wnd);
        }
        // A socket not yet connected only shows them: tcp_connect_init sets every one
        // again ("tp->snd_wnd = 0; tcp_init_wl(tp, 0); tp->max_window = 0; ...").
        None => socket.repair.window = [snd_wl1.0, snd_wnd, max_window, rcv_wnd, rcv_wup.0],
    }
    Ok(())
}

/// struct tcp_repair_window of a connection, or what a socket without one was given.
fn window_of(connection: Option<&Connection>, repair: &Repair) -> Vec<u8> {
    let fields = connection.map_or(repair.window, |c| {
        [
            c.snd_wl1.0,
            c.snd_wnd,
            c.max_window,
            c.rcv_adv.since(c.rcv_wup),
            c.rcv_wup.0,
        ]
    });
    fields
        .iter()
        .flat_map(|field| field.to_ne_bytes())
        .collect()
}
