//! UDP sockets (udp(7)), and UDP-Lite (RFC 3828) where the kernel supports it.
//!
//! Map: `layer.rs` is the public face the `Stack` calls; `socket.rs` is one socket's state;
//! `table.rs` holds the sockets, `ports.rs` the port reservations (the one interface to move
//! to shared memory later); `bind.rs`, `connect.rs`, `send.rs`, `recv.rs`, `deliver.rs`
//! (input and demux), `filter.rs` (socket filters: SO_ATTACH_FILTER's program run before
//! queueing, reuseport group programs), `icmp.rs` (udp_err), `error_queue.rs` (IP_RECVERR's queue), `poll.rs` (readiness and ioctls) and `options.rs`
//! follow the kernel functions they copy; `network.rs` is what UDP needs from IPv4.

mod bind;
mod connect;
mod counters;
mod deliver;
mod error_queue;
mod filter;
pub(crate) use filter::{run_transport_reuseport_program, FilterDevice};
mod icmp;
mod layer;
mod multicast;
mod network;
mod notify;
mod options;
mod pmtu;
mod poll;
mod ports;
mod recv;
mod send;
mod socket;
mod table;

#[cfg(test)]
mod tests;

pub use counters::UdpCounters;
pub use layer::UdpLayer;
