//! STUB (contract): epoll emulation. See docs/shim-internals.md.

/// An epoll instance created by the program.
pub struct EpollFile {}
