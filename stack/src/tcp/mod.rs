//! TCP (RFC 9293) with window scaling and timestamps (RFC 7323), SACK (RFC 2018) and D-SACK
//! (RFC 2883) driving loss recovery as Linux's defaults run it (RACK-TLP of RFC 8985, PRR of
//! RFC 6937, F-RTO of RFC 5682, undo), the RTO of RFC 6298 with Linux's floor, congestion control by
//! net.ipv4.tcp_congestion_control's choice of BBR, CUBIC (RFC 9438, with HyStart) or Reno
//! (RFC 5681) with internal pacing, and urgent data; where the RFCs leave a choice it behaves as
//! Linux's tcp_input.c, tcp_output.c and tcp_timer.c do.
//!
//! Map:
//! - `layer.rs`: `TcpLayer` (sockets, demultiplexing tables, ports, timers, output queue) and
//!   the `Network` / `SegmentOutput` traits it needs from IPv4.
//! - `calls.rs`: socket, bind, listen, accept, connect, shutdown, close, SO_LINGER's wait.
//! - `io.rs`: send, recv, poll; `read_ahead.rs`: what a large read copied in pieces may
//!   still take. `sockopt.rs`: SOL_TCP, TCP_INFO, and the shared
//!   SOL_SOCKET/SOL_IP table. `ioctl.rs`: SIOCINQ/OUTQ/ATMARK. `exit.rs`: closing at exit.
//! - `demux.rs`: segment arrival, listeners (SYN → SYN_RECV child), resets, ICMP errors.
//! - `tcb.rs`: one connection's state; `input.rs` (segment processing), `output.rs`
//!   (tcp_write_xmit, ACKs), `timeout.rs` (timer expiry), `urgent.rs` (MSG_OOB),
//!   `autotune.rs` (receive-buffer autotuning), `delayed_ack.rs` (when to ACK: quick-ACK and
//!   pingpong modes, the delayed-ACK timer, SACK compression) act on it.
//! - `recovery.rs`: loss recovery (tcp_fastretrans_alert and its states, NewReno without
//!   SACK, tcp_xmit_retransmit_queue) over the per-segment scoreboard of `sent.rs`, with
//!   `sack_tag.rs` (SACK blocks marking segments), `rack.rs` (RACK loss detection, REO timer),
//!   `loss_probe.rs` (tail loss probes and the shared transmit timer), `prr.rs`, `undo.rs`,
//!   `frto.rs` (the RTO's loss state and F-RTO), `dsack.rs` (D-SACK sent and received).
//! - `fastopen.rs`: TCP Fast Open (RFC 7413): cookies, the client's cookie cache, data in
//!   the SYN, MSG_FASTOPEN and TCP_FASTOPEN_CONNECT; `fastopen_blackhole.rs`: the pause after
//!   a suspected blackhole (tcp_fastopen_blackhole_timeout_sec).
//! - `md5sig.rs`: TCP MD5 signatures (RFC 2385): keys, digest (`md5.rs`), signing and the
//!   input check; `md5sig_layer.rs` applies them to demultiplexed segments and resets.
//! - `timewait.rs`: TIME_WAIT records. `ports.rs`: port reservations. `table.rs`: socket ids.
//! - `secure_seq.rs`: initial sequence numbers and timestamp offsets (secure_seq.c).
//! - `seq.rs`, `state.rs`, `options.rs` (SYN option negotiation), `timers.rs` (constants, RTT
//!   estimator, timer table), `sent.rs` (per-segment send times and scoreboard marks:
//!   RTT samples, Karn, SACKed/lost/retransmitted), `congestion.rs` (windows, the congestion
//!   state), `congestion_ops.rs`
//!   (tcp_congestion_ops: Reno, CUBIC in `cubic.rs` with `hystart.rs`, BBR in `bbr.rs` with
//!   `minmax.rs`), `congestion_hooks.rs` (where a connection calls them), `pacing.rs`, `buffers.rs`
//!   (send queue, receive reassembly), `settings.rs` (what the application set),
//!   `sysctls.rs` (the host's net.ipv4.tcp_* values), `counters.rs` (drop reasons).
//! - `reneging.rs`: SACK reneging (tcp_check_sack_reneging's delayed timeout);
//!   `pacing_kick.rs`: the pacing timer's transmit (lost segments before new data).
//! - `repair.rs`: TCP_REPAIR and its options (checkpoint/restore); `repair_paths.rs`: connect,
//!   send, recv and close in repair mode.
//! - `credentials.rs`: the caller's capabilities for permission checks at setsockopt.
//! - `tx_timestamps.rs`: SO_TIMESTAMPING transmit reports and MSG_ZEROCOPY completions of TCP
//!   (the shared rules are in `crate::tx_timestamp` and `crate::zerocopy`).

mod autotune;
mod bbr;
mod buffers;
mod calls;
mod chrono;
mod congestion;
mod congestion_hooks;
mod congestion_ops;
mod counters;
mod credentials;
mod cubic;
mod delayed_ack;
mod demux;
mod dsack;
mod ecn;
mod ephemeral;
mod error_queue;
mod exit;
mod fastopen;
mod fastopen_blackhole;
mod frto;
mod hystart;
mod input;
mod io;
mod ioctl;
mod layer;
mod listen_queue;
mod loss_probe;
mod md5;
pub mod md5sig;
mod md5sig_layer;
mod minmax;
mod multicast;
mod notify;
mod options;
mod output;
mod pacing;
mod pacing_kick;
mod ports;
mod prr;
mod rack;
mod rate;
mod read_ahead;
mod recovery;
mod reneging;
mod repair;
mod repair_paths;
mod reuseport;
mod sack_tag;
mod secure_seq;
mod sent;
mod seq;
mod settings;
mod socket;
pub mod sockopt;
pub mod sol_tcp;
mod state;
mod syncookies;
mod sysctls;
mod table;
mod tcb;
mod timeout;
mod timers;
mod timewait;
mod tx_timestamps;
mod undo;
mod urgent;

pub use congestion::Algorithm as CongestionAlgorithm;
pub use counters::TcpCounters;
pub use layer::{Network, SegmentOutput, TcpLayer, SOMAXCONN};
pub use read_ahead::ReadAhead;
pub use sysctls::TcpSysctls;
pub use table::is_tcp_id;
pub use tcb::OutSegment;
