//! fork(): what a child of a shim process may and may not do.
//!
//! A forked child gets a copy of the parent's memory, so a copy of the stack, but it shares the
//! parent's packet socket and its receive ring (a MAP_SHARED mapping). If the child drove its
//! copy of the stack, it would take frames out of the shared ring that the parent's stack is
//! waiting for (the parent then never sees them and its ring position goes astray: measured, the
//! parent's next receives time out), and it would answer for the parent's ports. Until the
//! stack is shared between processes (DESIGN.md, "Several processes"), the child therefore
//! gets no engine at all:
//!
//! - every socket call on an inherited shim socket, and `socket(AF_INET, ...)` in the child,
//!   answers EAFNOSUPPORT (as when the engine cannot start: "no IPv4 in this process"), with
//!   one warning in the log; `close` works (the parent's socket stays open);
//! - poll/select/epoll see an inherited shim socket as the idle kernel socket that holds its
//!   number: never readable;
//! - the exit counters are logged by the parent only.
//!
//! A child that only execs (subprocess, system(), socat's SYSTEM:) is unaffected: the new
//! image starts with a fresh shim. So is a child forked before the parent's first AF_INET
//! socket: it starts its own engine like any process. A vfork() child (posix_spawn, Python's
//! subprocess) shares the parent's memory but not its fd table: what it closes or dups before
//! exec leaves the fd table's records alone (`memory_is_ours`). Measured before this rule:
//! Python's vfork child close_range()d the parent's shim sockets out of the table and out of
//! the stack, and the parent's next sendto went to the kernel (ENETUNREACH).
//!
//! The fd table's lock is held across fork() (pthread_atfork prepare, released in parent and
//! child), so the child never inherits it locked by a thread that does not exist there. The
//! engine's lock needs no such care: the child never takes it.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Once;

use crate::{engine, fdtable, hooks};

/// True in a child forked after the engine started (set by the atfork child handler).
static IN_FORKED_CHILD: AtomicBool = AtomicBool::new(false);

/// The process whose memory this is: set when the handlers are installed, and by each fork
/// child for its own copy. A vfork() child (posix_spawn, Python's subprocess) runs in its
/// parent's memory without any atfork handler, so its pid differs from this one.
static MEMORY_OWNER: AtomicI32 = AtomicI32::new(0);

fn current_pid() -> i32 {
    // SAFETY: getpid cannot fail; the raw syscall because glibc no longer caches it anyway.
    unsafe { libc::syscall(libc::SYS_getpid) as i32 }
}

/// False in a vfork() child: it shares the parent's memory (so the fd table and the stack)
/// but has its own kernel fd table, so what it closes or dups before exec must not change
/// the parent's records. Measured: Python's subprocess vforks and close_range()s every fd
/// above 2 in the child, which used to close the parent's shim sockets. Costs one getpid;
/// for the fd table's writes only.
pub fn memory_is_ours() -> bool {
    let owner = MEMORY_OWNER.load(Ordering::Relaxed);
    owner == 0 || owner == current_pid()
}

/// True when this process is a fork child of a process whose engine was running: it must not
/// touch the (copied) engine.
pub fn in_forked_child() -> bool {
    IN_FORKED_CHILD.load(Ordering::Relaxed)
}

/// Install the fork handlers (once; called when the first shim file is recorded).
pub fn register_handlers() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        MEMORY_OWNER.store(current_pid(), Ordering::Relaxed);
        // SAFETY: registers plain functions; glibc runs them around every fork().
        let result =
            unsafe { libc::pthread_atfork(Some(prepare), Some(release_in_parent), Some(child)) };
        if result != 0 {
            tracing::warn!(
                errno = result,
                "pthread_atfork failed; a fork child may inherit a held lock"
            );
        }
    });
}

extern "C" fn prepare() {
    // A signal handler that forks while its thread is inside a hook might interrupt that
    // thread while it holds the table lock: waiting would never end, so only try.
    if hooks::inside_shim() {
        fdtable::try_lock_for_fork();
    } else {
        fdtable::lock_for_fork();
    }
}

extern "C" fn release_in_parent() {
    fdtable::unlock_after_fork();
}

extern "C" fn child() {
    MEMORY_OWNER.store(current_pid(), Ordering::Relaxed);
    if engine::started() {
        IN_FORKED_CHILD.store(true, Ordering::Relaxed);
    }
    release_in_parent();
}

/// The answer to an AF_INET call in a forked child, with one warning that says why.
pub fn refuse_in_child() -> stack::Errno {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "AF_INET sockets are unavailable in a fork() child of a shim process (EAFNOSUPPORT): \
             the parent's stack cannot be shared yet; exec'd programs are not affected"
        );
    }
    stack::Errno::EAFNOSUPPORT
}
