//! UDP sockets (udp(7)), and UDP-Lite where the kernel supports it.

mod layer;
pub use layer::{UdpCounters, UdpLayer};
