//! libipshim.so: serves every AF_INET socket of an unmodified program from the in-process
//! stack (`stack` crate), moving Ethernet frames through an AF_PACKET socket.
//!
//! Map: `hooks/` are the exported libc symbols; `fdtable` maps program fds to shim files;
//! `engine` owns the stack, the device and the waiting protocol; `device` is the packet
//! socket; `config`, `log`, `pcap` are what their names say. docs/architecture.md has more.

pub mod async_signals;
pub mod config;
pub mod device;
pub mod engine;
pub mod epoll;
pub mod fdtable;
pub mod fork;
pub mod gso;
pub mod hooks;
pub mod log;
pub mod pcap;
pub mod real;
pub mod rx_ring;
pub mod sys;
pub mod usermem;
