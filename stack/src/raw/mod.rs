//! Raw sockets (net/ipv4/raw.c) and ping sockets (net/ipv4/ping.c), served side by side: both
//! are datagram sockets keyed by the IP protocol and local/remote address rather than by port,
//! both receive copies handed up by IPv4 input, and both report ICMP errors the same way.
//!
//! Map:
//! - `socket.rs`: the socket state (`RawSocket`) and what recv hands back (`Received`).
//! - `layer.rs`: `RawLayer`, the table and the socket calls (bind, connect, options, poll).
//! - `input.rs`: raw_v4_input / raw_v4_match / icmp_filter, ping_rcv / ping_lookup,
//!   raw_icmp_error + raw_err, ping_err.
//! - `send.rs`: raw_sendmsg (and raw_send_hdrinc through IPv4), ping_v4_sendmsg.
//! - `recv.rs`: raw_recvmsg, ping_recvmsg, ip_recv_error for their error queues.
//! - `tests.rs`: the delivery rules in virtual time.
//!
//! Ids: slot index + `INDEX_BASE` (0x4000_0000), distinct from UDP's small ids and TCP's
//! >= 0x8000_0000 ones, so `Stack` dispatches by id alone (`is_raw_id`).

mod input;
mod layer;
mod recv;
mod send;
mod socket;
#[cfg(test)]
mod tests;
mod tx_reports;

pub use layer::RawLayer;

use crate::socket::SocketId;

/// The first slot index of a raw or ping socket id.
pub const INDEX_BASE: u32 = 0x4000_0000;

/// Whether `id` was issued by the raw/ping socket table.
pub fn is_raw_id(id: SocketId) -> bool {
    // TCP ids start at 0x8000_0000 (tcp::table::INDEX_BASE).
    (INDEX_BASE..0x8000_0000).contains(&id.index)
}
