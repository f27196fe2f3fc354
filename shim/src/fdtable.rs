//! STUB (contract): program fd → shim file. See docs/shim-internals.md.
use std::sync::Arc;

use stack::SocketId;

/// A socket served by the stack. Shared by every fd that dup'd it.
pub struct SocketFile {
    pub id: SocketId,
    pub ty: i32,
    pub protocol: i32,
}

/// What a program fd refers to, when the shim serves it.
pub enum FileKind {
    Socket(SocketFile),
    Epoll(crate::epoll::EpollFile),
}

pub struct OpenFile {
    /// (st_dev, st_ino) of the kernel object that holds the fd number, checked on lookup so a
    /// number reused behind our back (glibc's internal close) never reaches a dead file.
    pub identity: (u64, u64),
    pub kind: FileKind,
}

/// The file behind `fd`, if the shim serves it (identity verified).
pub fn lookup(_fd: i32) -> Option<Arc<OpenFile>> {
    todo!()
}
/// Record that `fd` refers to `file` (after socket(), dup*, F_DUPFD*, accept, epoll_create).
pub fn insert(_fd: i32, _file: Arc<OpenFile>) {
    todo!()
}
/// Forget `fd` (close, dup2 over it); returns what it referred to.
pub fn remove(_fd: i32) -> Option<Arc<OpenFile>> {
    todo!()
}
/// True when no fd is served by the shim: poll/select/epoll take their fast path.
pub fn is_empty() -> bool {
    todo!()
}
