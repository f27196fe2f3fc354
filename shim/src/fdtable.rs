//! Program fd → shim file (DESIGN.md, File descriptors).
//!
//! Every shim file holds a real kernel fd at the number the program sees (a never-used kernel
//! socket of the same domain/type for a socket, the epoll fd itself for an epoll instance), so
//! fd numbers, `O_NONBLOCK`, `FD_CLOEXEC`, EMFILE and fork/exec inheritance are the kernel's.
//! The table maps the number to an `Arc<OpenFile>`; `dup`-style calls insert the same Arc under
//! the new number, so the last `close` drops the last Arc, and `SocketFile::drop` closes the
//! stack socket.
//!
//! glibc closes some fds without going through our `close` (`__close_nocancel` in its own
//! code), and the number may then be reused for, say, a file. So each entry records the
//! (st_dev, st_ino) of its kernel object and `lookup` compares it with a raw `fstat` of the fd:
//! a mismatch means the entry is stale; it is dropped and the fd treated as not ours.
//!
//! Layout: a `Vec` indexed by fd behind a reader-writer lock (lookups from many threads do not
//! contend) and an atomic count of live entries, so a program without shim files pays one
//! relaxed load per hooked call (`is_empty`).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use stack::SocketId;
use std::cell::RefCell;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A socket served by the stack. Shared by every fd that dup'd it (one open file description).
pub struct SocketFile {
    pub id: SocketId,
    /// SOCK_DGRAM, SOCK_STREAM, ... without the SOCK_NONBLOCK/SOCK_CLOEXEC flags.
    pub ty: i32,
    pub protocol: i32,
    /// Mirror of O_NONBLOCK on the open file description (the real fd holds the truth; the
    /// fcntl(F_SETFL) and ioctl(FIONBIO) hooks keep this copy current so the blocking decision
    /// costs no syscall).
    pub nonblocking: AtomicBool,
}

impl Drop for SocketFile {
    /// The last fd of the socket is gone: release it in the stack, as the kernel's
    /// sock_close → inet_release does when the file's last reference drops.
    fn drop(&mut self) {
        if let Some(engine) = crate::engine::get() {
            // TCP's SO_LINGER wait happens here too (stream.rs).
            crate::hooks::stream::release_socket(engine, self.id);
        }
    }
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

impl OpenFile {
    /// The socket, if this file is one.
    pub fn socket(&self) -> Option<&SocketFile> {
        match &self.kind {
            FileKind::Socket(socket) => Some(socket),
            FileKind::Epoll(_) => None,
        }
    }
}

/// A shim socket found by `lookup_socket`: keeps its file alive for the call, derefs to it.
#[derive(Clone)]
pub struct SocketRef(Arc<OpenFile>);

impl SocketRef {
    pub fn file(&self) -> &Arc<OpenFile> {
        &self.0
    }
}

impl std::ops::Deref for SocketRef {
    type Target = SocketFile;
    fn deref(&self) -> &SocketFile {
        match &self.0.kind {
            FileKind::Socket(socket) => socket,
            // lookup_socket only builds a SocketRef around a socket.
            FileKind::Epoll(_) => unreachable!("SocketRef holds a socket"),
        }
    }
}

/// The shim socket behind `fd`; None for kernel fds and shim epoll fds (their kernel identity
/// answers socket calls: ENOTSOCK).
pub fn lookup_socket(fd: i32) -> Option<SocketRef> {
    let file = lookup(fd)?;
    file.socket()?;
    Some(SocketRef(file))
}

/// (st_dev, st_ino) of the kernel object behind `fd`, by raw syscall (no hook, no libc
/// wrapper that someone could interpose). None when `fd` is not open.
pub fn kernel_identity(fd: i32) -> Option<(u64, u64)> {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes at most one struct stat into `stat`.
    let result = unsafe { libc::syscall(libc::SYS_fstat, fd, stat.as_mut_ptr()) };
    if result != 0 {
        return None;
    }
    // SAFETY: the kernel filled the struct.
    let stat = unsafe { stat.assume_init() };
    Some((stat.st_dev, stat.st_ino))
}

/// std's lock, not parking_lot's: the table is locked across fork() and released in the
/// child (`lock_for_fork`), and parking_lot's unlock may hand a contended lock directly to a
/// waiting thread, which does not exist in the child (measured: children hung in `lookup`).
/// std's futex lock just clears its state and wakes whoever waits.
struct Table {
    files: RwLock<Vec<Option<Arc<OpenFile>>>>,
    live: AtomicUsize,
}

static TABLE: Table = Table {
    files: RwLock::new(Vec::new()),
    live: AtomicUsize::new(0),
};

/// The file behind `fd`, if the shim serves it (identity verified).
pub fn lookup(fd: i32) -> Option<Arc<OpenFile>> {
    if is_empty() || fd < 0 {
        return None;
    }
    let file = read_files().get(fd as usize)?.clone()?;
    if kernel_identity(fd) == Some(file.identity) {
        return Some(file);
    }
    // Closed (or closed and reused) without our close hook: forget the stale entry, unless
    // another thread has replaced it meanwhile. The Arc drops outside the lock. (A vfork
    // child sees its own fd table, not the one these records describe.)
    if !crate::fork::memory_is_ours() {
        return None;
    }
    let stale = {
        let mut files = write_files();
        match files.get_mut(fd as usize) {
            Some(slot)
                if slot
                    .as_ref()
                    .is_some_and(|current| Arc::ptr_eq(current, &file)) =>
            {
                TABLE.live.fetch_sub(1, Ordering::Relaxed);
                slot.take()
            }
            _ => None,
        }
    };
    drop(stale);
    None
}

/// Record that `fd` refers to `file` (after socket(), dup*, F_DUPFD*, accept, epoll_create).
/// Replaces whatever stale entry the number had.
pub fn insert(fd: i32, file: Arc<OpenFile>) {
    let Ok(index) = usize::try_from(fd) else {
        return;
    };
    crate::fork::register_handlers();
    if !crate::fork::memory_is_ours() {
        return;
    }
    let previous = {
        let mut files = write_files();
        if files.len() <= index {
            files.resize(index + 1, None);
        }
        let previous = files[index].replace(file);
        if previous.is_none() {
            TABLE.live.fetch_add(1, Ordering::Relaxed);
        }
        previous
    };
    // Dropping the old file may close a stack socket (engine lock): never under our lock.
    drop(previous);
}

type Files = Vec<Option<Arc<OpenFile>>>;

// Nothing panics while holding the lock; if something did, the table is still consistent
// (every write is a single slot or length change), so a poisoned lock is used as is.
fn read_files() -> RwLockReadGuard<'static, Files> {
    TABLE.files.read().unwrap_or_else(PoisonError::into_inner)
}

fn write_files() -> RwLockWriteGuard<'static, Files> {
    TABLE.files.write().unwrap_or_else(PoisonError::into_inner)
}

thread_local! {
    /// The write guard held across fork() by the forking thread (the same thread runs the
    /// prepare, parent and child handlers).
    static FORK_GUARD: RefCell<Option<RwLockWriteGuard<'static, Files>>> = const { RefCell::new(None) };
}

fn keep_for_fork(guard: RwLockWriteGuard<'static, Files>) -> bool {
    FORK_GUARD
        .try_with(|slot| slot.replace(Some(guard)).is_none())
        .unwrap_or(false)
}

/// fork() prepare handler: hold the table's write lock across fork, so the child never
/// inherits it held by a thread that does not exist there. Released by `unlock_after_fork`.
pub fn lock_for_fork() -> bool {
    keep_for_fork(write_files())
}

/// As `lock_for_fork`, but gives up after about 50 ms (the forking thread may hold the lock
/// itself, in a signal handler); true if the lock was taken.
pub fn try_lock_for_fork() -> bool {
    for _ in 0..50 {
        match TABLE.files.try_write() {
            Ok(guard) => return keep_for_fork(guard),
            Err(std::sync::TryLockError::Poisoned(poisoned)) => {
                return keep_for_fork(poisoned.into_inner())
            }
            Err(std::sync::TryLockError::WouldBlock) => {
                std::thread::sleep(std::time::Duration::from_millis(1))
            }
        }
    }
    false
}

/// Release the lock taken by `lock_for_fork` / `try_lock_for_fork` (in parent and child).
pub fn unlock_after_fork() {
    let guard = FORK_GUARD.try_with(|slot| slot.take()).ok().flatten();
    drop(guard);
}

/// Forget `fd` (close, dup2 over it); returns what it referred to.
pub fn remove(fd: i32) -> Option<Arc<OpenFile>> {
    if is_empty() || fd < 0 || !crate::fork::memory_is_ours() {
        return None;
    }
    let mut files = write_files();
    let removed = files.get_mut(fd as usize)?.take();
    if removed.is_some() {
        TABLE.live.fetch_sub(1, Ordering::Relaxed);
    }
    removed
}

/// Forget every fd in `first..=last` (close_range, closefrom); returns what they referred to,
/// to be dropped by the caller outside any lock.
pub fn remove_range(first: u32, last: u32) -> Vec<Arc<OpenFile>> {
    if is_empty() || !crate::fork::memory_is_ours() {
        return Vec::new();
    }
    let mut files = write_files();
    let start = (first as usize).min(files.len());
    let end = (last as usize).saturating_add(1).min(files.len());
    let removed: Vec<Arc<OpenFile>> = files[start..end.max(start)]
        .iter_mut()
        .filter_map(Option::take)
        .collect();
    TABLE.live.fetch_sub(removed.len(), Ordering::Relaxed);
    removed
}

/// True when no fd is served by the shim: poll/select/epoll take their fast path.
pub fn is_empty() -> bool {
    TABLE.live.load(Ordering::Relaxed) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// The table is process-global; tests that use it run one at a time.
    static SERIAL: Mutex<()> = Mutex::new(());

    /// A socket entry whose stack id is never used: the engine is not started in unit tests,
    /// so dropping it closes nothing.
    fn socket_file(fd: i32) -> Arc<OpenFile> {
        Arc::new(OpenFile {
            identity: kernel_identity(fd).unwrap(),
            kind: FileKind::Socket(SocketFile {
                id: SocketId {
                    index: 0,
                    generation: 0,
                },
                ty: libc::SOCK_DGRAM,
                protocol: 0,
                nonblocking: AtomicBool::new(false),
            }),
        })
    }

    fn pipe() -> (i32, i32) {
        let mut fds = [0; 2];
        assert_eq!(
            unsafe { libc::syscall(libc::SYS_pipe2, fds.as_mut_ptr(), 0) },
            0
        );
        (fds[0], fds[1])
    }

    fn raw_close(fd: i32) {
        unsafe { libc::syscall(libc::SYS_close, fd) };
    }

    #[test]
    fn insert_lookup_remove() {
        let _serial = SERIAL.lock().unwrap();
        let (read_end, write_end) = pipe();
        assert!(lookup(read_end).is_none());
        let file = socket_file(read_end);
        insert(read_end, file.clone());
        assert!(!is_empty());
        assert!(Arc::ptr_eq(&lookup(read_end).unwrap(), &file));
        assert!(lookup(write_end).is_none());
        assert!(lookup(-1).is_none());
        assert!(Arc::ptr_eq(&remove(read_end).unwrap(), &file));
        assert!(remove(read_end).is_none());
        assert!(is_empty());
        raw_close(read_end);
        raw_close(write_end);
    }

    #[test]
    fn reused_number_is_not_ours() {
        let _serial = SERIAL.lock().unwrap();
        let (read_end, write_end) = pipe();
        insert(read_end, socket_file(read_end));
        // Close the number behind the table's back and reuse it for another object, as
        // dup2 onto it (or glibc's internal close, then open) does.
        let (other_read, other_write) = pipe();
        assert_eq!(
            unsafe { libc::syscall(libc::SYS_dup3, other_read, read_end, 0) },
            read_end as i64
        );
        assert!(lookup(read_end).is_none());
        assert!(is_empty(), "the stale entry was dropped");
        for fd in [read_end, write_end, other_read, other_write] {
            raw_close(fd);
        }
    }

    #[test]
    fn ranges_are_forgotten() {
        let _serial = SERIAL.lock().unwrap();
        let (read_end, write_end) = pipe();
        insert(read_end, socket_file(read_end));
        insert(write_end, socket_file(write_end));
        assert_eq!(
            remove_range(read_end.min(write_end) as u32, u32::MAX).len(),
            2
        );
        assert!(is_empty());
        assert!(remove_range(0, u32::MAX).is_empty());
        raw_close(read_end);
        raw_close(write_end);
    }

    #[test]
    fn closed_number_is_not_ours() {
        let _serial = SERIAL.lock().unwrap();
        let (read_end, write_end) = pipe();
        insert(read_end, socket_file(read_end));
        raw_close(read_end);
        assert!(lookup(read_end).is_none());
        assert!(is_empty());
        raw_close(write_end);
    }

    /// fork() while other threads insert and remove entries as fast as they can: the child
    /// must find the table usable (std's lock, released by the atfork child handler), and
    /// the parent's entries must survive the child's close of the same number.
    #[test]
    fn fork_while_the_table_is_busy_leaves_a_usable_table() {
        let _serial = SERIAL.lock().unwrap();
        crate::fork::register_handlers();
        let (kept, kept_writer) = pipe();
        let kept_file = socket_file(kept);
        insert(kept, kept_file.clone());
        let stop = Arc::new(AtomicBool::new(false));
        let churners: Vec<_> = (0..2)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let (read_end, write_end) = pipe();
                    let file = socket_file(read_end);
                    while !stop.load(Ordering::Relaxed) {
                        insert(read_end, file.clone());
                        drop(remove(read_end));
                    }
                    raw_close(read_end);
                    raw_close(write_end);
                })
            })
            .collect();
        let mut hung = 0;
        for _ in 0..100 {
            // SAFETY: the child only uses the table and raw syscalls, then _exits.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                let ok = lookup(kept).is_some() && remove(kept).is_some();
                unsafe { libc::_exit(if ok { 0 } else { 1 }) };
            }
            assert!(pid > 0);
            let mut status = 0;
            let mut exited = false;
            for _ in 0..2000 {
                if unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid {
                    exited = true;
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            if !exited {
                hung += 1;
                unsafe { libc::kill(pid, libc::SIGKILL) };
                unsafe { libc::waitpid(pid, &mut status, 0) };
            } else {
                assert_eq!(status, 0, "the child could not use the table");
            }
        }
        stop.store(true, Ordering::Relaxed);
        for churner in churners {
            churner.join().unwrap();
        }
        assert_eq!(hung, 0, "children hung on the fd table's lock");
        assert!(Arc::ptr_eq(&lookup(kept).unwrap(), &kept_file));
        drop(remove(kept));
        raw_close(kept);
        raw_close(kept_writer);
    }
}
