//! ipshim's IPv4 stack: sans-IO (no syscalls, no threads, no clock reads), reproducing the
//! behaviour of Linux's net/ipv4 as seen through the socket API. See README.md and
//! docs/architecture.md for the map.

pub mod async_watch;
pub mod bpf;
pub mod cmsg;
pub mod config;
pub mod counters;
pub mod errno;
mod inet_create;
pub mod ipv4;
pub mod netdevice;
mod random;
mod raw;
pub mod reserved_ports;
pub mod sockaddr;
pub mod socket;
pub mod sockopt;
mod stack;
pub mod tcp;
pub mod time;
pub mod transport;
pub mod tx_timestamp;
pub mod udp;
pub mod wire;
pub mod zerocopy;

pub use config::{Credentials, InterfaceConfig, StackConfig, Sysctls};
pub use errno::Errno;
pub use socket::{
    AsyncNotices, RecvArgs, RecvResult, RxMeta, SendArgs, Shutdown, SocketId, WakeupCounts,
};
pub use stack::{ip_proto, Stack};
pub use time::{Instant, WallTime};
