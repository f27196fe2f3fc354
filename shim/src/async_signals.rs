//! Signals a socket sends its owner: SIGURG when a new urgent pointer arrives
//! (tcp_check_urg → sk_send_sigurg → send_sigurg), and the O_ASYNC signal (SIGIO, or the one
//! F_SETSIG chose) for the wakeups sk_wake_async reports (sock_wake_async → kill_fasync →
//! send_sigio).
//!
//! The owner, the F_SETSIG signal and O_ASYNC live where the kernel keeps them: on the open
//! file description of the socket's kernel identity (fcntl F_SETOWN/F_SETOWN_EX/F_SETSIG/
//! F_SETFL and ioctl FIOSETOWN/SIOCSPGRP/FIOASYNC reach it unchanged), so F_GETOWN,
//! F_GETOWN_EX and F_GETSIG answer as natively. What the identity never sees is the stack's
//! events. So a socket whose owner or O_ASYNC is set is *watched*: the shim keeps a duplicate
//! of its identity (high in the fd space) and asks the stack to log the socket's events in
//! the order they happen (stack::async_watch); after every engine pass that changed the
//! stack they are taken (`collect`, under the engine's lock) and the signals are sent once
//! the lock is released (`deliver`), reading the owner from the identity at that moment, as
//! the kernel reads fown at the time of the event.
//!
//! How a signal is sent: the kernel sends SIGURG with SEND_SIG_PRIV (si_code SI_KERNEL) and an
//! F_SETSIG signal with si_code POLL_* (SI_SIGIO for a signal with codes of its own), si_band
//! and si_fd. rt_sigqueueinfo lets a process send itself such a siginfo; called with the
//! calling thread's id it is process-directed (kill_proc_info looks up the thread group), so
//! the kernel picks the receiving thread as it would for the kernel's own signal, even when the
//! caller is the progress thread, which blocks every signal. A thread owner (F_OWNER_TID) gets
//! rt_tgsigqueueinfo when it is the calling thread, tgkill (si_code SI_TKILL) otherwise; an
//! owner outside this process gets kill(2) (SI_USER): the kernel refuses forged siginfo for
//! other processes.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use libc::c_int;
use stack::async_watch::AsyncKind;
use stack::{SocketId, Stack};

use crate::fdtable::OpenFile;
use crate::sys;

/// si_code values (include/uapi/asm-generic/siginfo.h).
const SI_KERNEL: i32 = 0x80;
const SI_SIGIO: i32 = -5;
pub const POLL_IN: i32 = 1;
pub const POLL_OUT: i32 = 2;
pub const POLL_ERR: i32 = 4;
pub const POLL_PRI: i32 = 5;
pub const POLL_HUP: i32 = 6;

/// fcntl commands (include/uapi/asm-generic/fcntl.h); the libc crate lacks some.
pub const F_SETSIG: i32 = 10;
pub const F_GETSIG: i32 = 11;
pub const F_SETOWN_EX: i32 = 15;
pub const F_GETOWN_EX: i32 = 16;

/// struct f_owner_ex.
#[repr(C)]
struct OwnerEx {
    kind: c_int,
    pid: c_int,
}

/// F_OWNER_* of struct f_owner_ex.
const F_OWNER_TID: i32 = 0;
const F_OWNER_PID: i32 = 1;
const F_OWNER_PGRP: i32 = 2;

/// A duplicate of a socket's kernel identity: the same open file description, so the same
/// owner, F_SETSIG signal and O_ASYNC flag.
struct Identity(RawFd);

impl Drop for Identity {
    fn drop(&mut self) {
        let _ = sys::close(self.0);
    }
}

struct Watched {
    file: Weak<OpenFile>,
    id: SocketId,
    identity: Arc<Identity>,
    /// fa_fd: the descriptor through which O_ASYNC was turned on (si_fd).
    async_fd: c_int,
}

/// What `collect` found, sent by `deliver` once the engine's lock is released.
pub struct Pending {
    identity: Arc<Identity>,
    async_fd: c_int,
    event: Event,
}

#[derive(Clone, Copy)]
enum Event {
    /// sk_send_sigurg.
    Urgent,
    /// sk_wake_async with this POLL_* reason.
    Wake(i32),
}

static WATCHED: Mutex<Vec<Watched>> = Mutex::new(Vec::new());
/// Fast path: no watched socket, nothing to look at after a pass.
static ANY_WATCHED: AtomicBool = AtomicBool::new(false);

/// After a successful F_SETOWN, F_SETOWN_EX, F_SETSIG, F_SETFL, FIOSETOWN, SIOCSPGRP or
/// FIOASYNC on `fd`, a shim socket: start watching it (once per open file description).
/// `async_turned_on`: this call turned O_ASYNC on, so `fd` becomes si_fd.
pub fn watch(fd: c_int, file: &Arc<OpenFile>, async_turned_on: bool) {
    let Some(socket) = file.socket() else {
        return;
    };
    let Some(engine) = crate::engine::get() else {
        return;
    };
    let id = socket.id;
    {
        let mut watched = WATCHED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = watched
            .iter_mut()
            .find(|entry| std::ptr::eq(entry.file.as_ptr(), Arc::as_ptr(file)))
        {
            if async_turned_on {
                entry.async_fd = fd;
            }
            return;
        }
    }
    let Ok(duplicate) = sys::dup_cloexec_at_least(fd, 0) else {
        return;
    };
    let identity = Arc::new(Identity(sys::move_fd_high(duplicate)));
    // The entry goes in under the engine's lock, which `collect` holds when it takes
    // WATCHED: events from now on are logged and find their entry. What happened before
    // the owner was set is not signalled.
    engine.with_stack(|stack, _| {
        let mut watched = WATCHED.lock().unwrap_or_else(PoisonError::into_inner);
        if watched
            .iter()
            .any(|entry| std::ptr::eq(entry.file.as_ptr(), Arc::as_ptr(file)))
        {
            return;
        }
        stack.watch_async(id);
        watched.push(Watched {
            file: Arc::downgrade(file),
            id,
            identity,
            async_fd: fd,
        });
        ANY_WATCHED.store(true, Ordering::Release);
    });
}

/// Under the engine's lock, after a pass that moved the stack's generation: the watched
/// sockets' events, in the order the stack logged them.
pub fn collect(stack: &mut Stack) -> Vec<Pending> {
    if !ANY_WATCHED.load(Ordering::Acquire) {
        return Vec::new();
    }
    let mut watched = WATCHED.lock().unwrap_or_else(PoisonError::into_inner);
    watched.retain(|entry| {
        let alive = entry.file.strong_count() > 0;
        if !alive {
            stack.unwatch_async(entry.id);
        }
        alive
    });
    if watched.is_empty() {
        ANY_WATCHED.store(false, Ordering::Release);
    }
    stack
        .take_async_events()
        .into_iter()
        .filter_map(|event| {
            let entry = watched.iter().find(|entry| entry.id == event.id)?;
            let event = match event.kind {
                AsyncKind::Urgent => Event::Urgent,
                AsyncKind::Input => Event::Wake(POLL_IN),
                AsyncKind::Output => Event::Wake(POLL_OUT),
                AsyncKind::Error => Event::Wake(POLL_ERR),
                AsyncKind::Hangup => Event::Wake(POLL_HUP),
            };
            Some(Pending {
                identity: entry.identity.clone(),
                async_fd: entry.async_fd,
                event,
            })
        })
        .collect()
}

thread_local! {
    /// Signals this thread found while running a hook outside `Engine::wait`, sent when the
    /// hook returns (`collect_mail`).
    static DEFERRED: std::cell::RefCell<Vec<Pending>> = const { std::cell::RefCell::new(Vec::new()) };
    /// This thread is inside `Engine::wait`.
    static IN_WAIT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks the calling thread as waiting in `Engine::wait` while it lives.
pub struct WaitMark(bool);

impl WaitMark {
    pub fn enter() -> WaitMark {
        WaitMark(IN_WAIT.try_with(|mark| mark.replace(true)).unwrap_or(false))
    }
}

impl Drop for WaitMark {
    fn drop(&mut self) {
        let _ = IN_WAIT.try_with(|mark| mark.set(self.0));
    }
}

/// Outside the engine's lock: send what `collect` found, now or when the hook returns.
/// The kernel sends from the event, and the handler runs on the way back to user space.
/// A thread running a hook (a send over loopback, say) would run the program's handler
/// inside the shim, where a socket call from the handler could not reach the stack: such a
/// thread sends them as it leaves the hook. A thread sleeping in `Engine::wait` sends them
/// at once, so that a handler interrupts the wait as a signal interrupts the kernel's.
pub fn deliver_or_defer(pending: Vec<Pending>) {
    let waiting = IN_WAIT.try_with(std::cell::Cell::get).unwrap_or(false);
    if crate::hooks::inside_shim() && !waiting {
        let deferred = DEFERRED.try_with(|deferred| {
            deferred
                .borrow_mut()
                .extend(pending.iter().map(|item| Pending {
                    identity: item.identity.clone(),
                    async_fd: item.async_fd,
                    event: item.event,
                }))
        });
        if deferred.is_ok() {
            return;
        }
    }
    deliver(pending);
}

/// Outside the engine's lock: send what `collect` found.
pub fn deliver(pending: Vec<Pending>) {
    for item in pending {
        let fd = item.identity.0;
        let Some((owner_type, owner)) = owner_of(fd) else {
            continue;
        };
        match item.event {
            Event::Urgent => {
                // send_sigurg: nothing without an owner; then sk_wake_async(SOCK_WAKE_URG,
                // POLL_PRI), whose kill_fasync skips SIGURG for files without F_SETSIG
                // ("SIGURG has its own default signalling mechanism").
                if owner == 0 {
                    continue;
                }
                send(
                    owner_type,
                    owner,
                    libc::SIGURG,
                    &kernel_siginfo(libc::SIGURG),
                );
                if let Some(signal) = async_signal(fd).filter(|&signal| signal != 0) {
                    send(
                        owner_type,
                        owner,
                        signal,
                        &sigio_siginfo(signal, POLL_PRI, item.async_fd),
                    );
                }
            }
            Event::Wake(reason) => {
                if owner == 0 {
                    continue;
                }
                match async_signal(fd) {
                    None => {}
                    // send_sigio_to_task, "case 0": plain SIGIO with SEND_SIG_PRIV.
                    Some(0) => send(owner_type, owner, libc::SIGIO, &kernel_siginfo(libc::SIGIO)),
                    Some(signal) => send(
                        owner_type,
                        owner,
                        signal,
                        &sigio_siginfo(signal, reason, item.async_fd),
                    ),
                }
            }
        }
    }
}

/// F_GETOWN_EX on the identity: (F_OWNER_*, pid).
fn owner_of(fd: RawFd) -> Option<(i32, i32)> {
    let mut owner = OwnerEx { kind: 0, pid: 0 };
    // SAFETY: F_GETOWN_EX writes a struct f_owner_ex through the pointer.
    let ret =
        unsafe { sys::raw_syscall!(libc::SYS_fcntl, fd, F_GETOWN_EX, &mut owner as *mut OwnerEx) };
    (ret >= 0).then_some((owner.kind, owner.pid))
}

/// The signal O_ASYNC sends (F_GETSIG: 0 means plain SIGIO); None when O_ASYNC is off.
fn async_signal(fd: RawFd) -> Option<i32> {
    // SAFETY: F_GETFL and F_GETSIG take no argument.
    let flags = unsafe { sys::raw_syscall!(libc::SYS_fcntl, fd, libc::F_GETFL, 0) };
    if flags < 0 || flags as i32 & libc::O_ASYNC == 0 {
        return None;
    }
    // SAFETY: as above.
    let signal = unsafe { sys::raw_syscall!(libc::SYS_fcntl, fd, F_GETSIG, 0) };
    Some(signal.max(0) as i32)
}

/// The siginfo of SEND_SIG_PRIV: si_code SI_KERNEL, no sender.
fn kernel_siginfo(signal: i32) -> SigInfo {
    let mut info = SigInfo::default();
    info.set_header(signal, SI_KERNEL);
    info
}

/// send_sigio_to_task's siginfo: si_code the POLL_* reason (SI_SIGIO for a signal that has
/// codes of its own, other than SIGPOLL), si_band from band_table, si_fd.
fn sigio_siginfo(signal: i32, reason: i32, fd: c_int) -> SigInfo {
    let code = if signal != libc::SIGPOLL && has_specific_codes(signal) {
        SI_SIGIO
    } else {
        reason
    };
    let mut info = SigInfo::default();
    info.set_header(signal, code);
    info.set_poll(band_of(reason), fd);
    info
}

/// sig_specific_sicodes (SIG_SPECIFIC_SICODES_MASK).
fn has_specific_codes(signal: i32) -> bool {
    matches!(
        signal,
        libc::SIGILL
            | libc::SIGFPE
            | libc::SIGSEGV
            | libc::SIGBUS
            | libc::SIGTRAP
            | libc::SIGCHLD
            | libc::SIGPOLL
            | libc::SIGSYS
    )
}

/// band_table[reason - POLL_IN], through mangle_poll (the same numbers on x86).
fn band_of(reason: i32) -> i64 {
    let bits = match reason {
        POLL_IN => libc::POLLIN | libc::POLLRDNORM,
        POLL_OUT => libc::POLLOUT | libc::POLLWRNORM | libc::POLLWRBAND,
        // POLL_MSG (POLLMSG is 0x400).
        3 => libc::POLLIN | libc::POLLRDNORM | 0x400,
        POLL_ERR => libc::POLLERR,
        POLL_PRI => libc::POLLPRI | libc::POLLRDBAND,
        POLL_HUP => libc::POLLHUP | libc::POLLERR,
        _ => return !0,
    };
    i64::from(bits)
}

/// struct siginfo as x86_64 lays it out: signo, errno, code, then the union at byte 16
/// (_sigpoll: long si_band, int si_fd; _kill: pid, uid).
#[repr(C)]
#[derive(Default)]
struct SigInfo {
    words: [u64; 16],
}

impl SigInfo {
    fn set_header(&mut self, signal: i32, code: i32) {
        self.words[0] = u64::from(signal as u32);
        self.words[1] = u64::from(code as u32);
    }

    fn set_poll(&mut self, band: i64, fd: c_int) {
        self.words[2] = band as u64;
        self.words[3] = u64::from(fd as u32);
    }
}

/// Sends `signal` to the owner as send_sigio/send_sigurg would (see the module comment).
fn send(owner_type: i32, owner: i32, signal: i32, info: &SigInfo) {
    // SAFETY: getpid and gettid take no arguments.
    let me = unsafe { sys::raw_syscall!(libc::SYS_getpid) } as i32;
    let thread = sys::gettid() as i32;
    match owner_type {
        F_OWNER_TID => {
            if owner == thread {
                // SAFETY: a valid siginfo for the calling thread.
                unsafe {
                    sys::raw_syscall!(
                        libc::SYS_rt_tgsigqueueinfo,
                        me,
                        thread,
                        signal,
                        info as *const SigInfo
                    )
                };
            } else {
                // Only the thread itself may queue a kernel-looking siginfo for itself: the
                // owner picks it up from the mailbox when it next passes through the shim
                // (waiting threads are woken for it).
                post_to_thread(owner, signal, info);
            }
        }
        F_OWNER_PID if owner == me => queue_to_this_process(thread, signal, info),
        F_OWNER_PID => {
            // SAFETY: plain integer arguments.
            unsafe { sys::raw_syscall!(libc::SYS_kill, owner, signal) };
        }
        F_OWNER_PGRP => {
            // SAFETY: no arguments.
            let my_group = unsafe { sys::raw_syscall!(libc::SYS_getpgid, 0) } as i32;
            if my_group == owner {
                queue_to_this_process(thread, signal, info);
            }
            for member in group_members(owner, me) {
                // SAFETY: plain integer arguments.
                unsafe { sys::raw_syscall!(libc::SYS_kill, member, signal) };
            }
        }
        _ => {}
    }
}

/// Signals for thread owners other than the thread that saw the event: (tid, signal, info).
static MAILBOX: Mutex<Vec<(i32, i32, SigInfo)>> = Mutex::new(Vec::new());
static MAIL_WAITING: AtomicBool = AtomicBool::new(false);

fn post_to_thread(thread: i32, signal: i32, info: &SigInfo) {
    let mut mailbox = MAILBOX.lock().unwrap_or_else(PoisonError::into_inner);
    // Bounded: a thread that never comes back into the shim must not grow it forever.
    if mailbox.len() >= 256 {
        mailbox.remove(0);
    }
    mailbox.push((thread, signal, SigInfo { words: info.words }));
    MAIL_WAITING.store(true, Ordering::Release);
    drop(mailbox);
    if let Some(engine) = crate::engine::get() {
        engine.wake_all();
    }
}

/// Called by every thread as it leaves a hook or wakes in `Engine::wait`: sends itself the
/// signals posted for it (rt_tgsigqueueinfo on itself, so the siginfo is the kernel's).
pub fn collect_mail() {
    let deferred = DEFERRED
        .try_with(|deferred| std::mem::take(&mut *deferred.borrow_mut()))
        .unwrap_or_default();
    if !deferred.is_empty() {
        deliver(deferred);
    }
    if !MAIL_WAITING.load(Ordering::Acquire) {
        return;
    }
    let thread = sys::gettid() as i32;
    let mine: Vec<(i32, SigInfo)> = {
        let mut mailbox = MAILBOX.lock().unwrap_or_else(PoisonError::into_inner);
        let mut mine = Vec::new();
        mailbox.retain(|(owner, signal, info)| {
            if *owner == thread {
                mine.push((*signal, SigInfo { words: info.words }));
                false
            } else {
                true
            }
        });
        if mailbox.is_empty() {
            MAIL_WAITING.store(false, Ordering::Release);
        }
        mine
    };
    // SAFETY: no arguments.
    let me = unsafe { sys::raw_syscall!(libc::SYS_getpid) } as i32;
    for (signal, info) in mine {
        // SAFETY: a valid siginfo for the calling thread.
        unsafe {
            sys::raw_syscall!(
                libc::SYS_rt_tgsigqueueinfo,
                me,
                thread,
                signal,
                &info as *const SigInfo
            )
        };
    }
}

/// rt_sigqueueinfo with the calling thread's id: kill_proc_info sends to its thread group,
/// and the kernel accepts a forged si_code only when the id is the caller's own.
fn queue_to_this_process(thread: i32, signal: i32, info: &SigInfo) {
    // SAFETY: a valid siginfo; the target is this process.
    unsafe {
        sys::raw_syscall!(
            libc::SYS_rt_sigqueueinfo,
            thread,
            signal,
            info as *const SigInfo
        )
    };
}

/// The other processes of process group `group` (do_each_pid_task over PIDTYPE_PGID), from
/// /proc/PID/stat's fifth field. At most 4096 entries are looked at.
fn group_members(group: i32, me: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut members = Vec::new();
    for entry in entries.take(4096).flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp ...": comm may hold spaces, so split after its ')'.
        let fields = stat.rsplit_once(')').map(|(_, rest)| rest);
        let process_group = fields
            .and_then(|rest| rest.split_whitespace().nth(2))
            .and_then(|field| field.parse::<i32>().ok());
        if process_group == Some(group) {
            members.push(pid);
        }
    }
    members
}
