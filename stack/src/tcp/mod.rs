//! TCP (RFC 9293) with window scaling and timestamps (RFC 7323), SACK (RFC 2018) driving
//! loss recovery (RFC 6675), the RTO of RFC 6298 with Linux's floor, CUBIC (RFC 9438, the
//! default) or Reno (RFC 5681), and urgent data; where the RFCs leave a choice it behaves as
//! Linux's tcp_input.c, tcp_output.c and tcp_timer.c do.
//!
//! Map:
//! - `layer.rs`: `TcpLayer` (sockets, demultiplexing tables, ports, timers, output queue) and
//!   the `Network` / `SegmentOutput` traits it needs from IPv4.
//! - `calls.rs`: socket, bind, listen, accept, connect, shutdown, close, SO_LINGER's wait.
//! - `io.rs`: send, recv, poll. `sockopt.rs`: SOL_TCP, TCP_INFO, and the shared
//!   SOL_SOCKET/SOL_IP table. `ioctl.rs`: SIOCINQ/OUTQ/ATMARK. `exit.rs`: closing at exit.
//! - `demux.rs`: segment arrival, listeners (SYN → SYN_RECV child), resets, ICMP errors.
//! - `tcb.rs`: one connection's state; `input.rs` (segment processing), `output.rs`
//!   (tcp_write_xmit, ACKs), `timeout.rs` (timer expiry), `urgent.rs` (MSG_OOB),
//!   `autotune.rs` (receive-buffer autotuning) act on it.
//! - `timewait.rs`: TIME_WAIT records. `ports.rs`: port reservations. `table.rs`: socket ids.
//! - `secure_seq.rs`: initial sequence numbers and timestamp offsets (secure_seq.c).
//! - `seq.rs`, `state.rs`, `options.rs` (SYN option negotiation), `timers.rs` (constants, RTT
//!   estimator, timer table), `sent.rs` (per-segment send times: RTT samples, Karn),
//!   `congestion.rs` (slow start, Reno, recovery, SACK scoreboard), `cubic.rs`, `buffers.rs`
//!   (send queue, receive reassembly), `settings.rs` (what the application set),
//!   `sysctls.rs` (the host's net.ipv4.tcp_* values), `counters.rs` (drop reasons).

mod autotune;
mod buffers;
mod calls;
mod chrono;
mod congestion;
mod counters;
mod cubic;
mod demux;
mod error_queue;
mod exit;
mod input;
mod io;
mod ioctl;
mod layer;
mod options;
mod output;
mod ports;
mod rate;
mod secure_seq;
mod sent;
mod seq;
mod settings;
mod socket;
pub mod sockopt;
pub mod sol_tcp;
mod state;
mod sysctls;
mod table;
mod tcb;
mod timeout;
mod timers;
mod timewait;
mod urgent;

pub use congestion::Algorithm as CongestionAlgorithm;
pub use counters::TcpCounters;
pub use layer::{Network, SegmentOutput, TcpLayer, SOMAXCONN};
pub use sysctls::TcpSysctls;
pub use table::is_tcp_id;
pub use tcb::OutSegment;
