//! poll(2), ppoll(2), glibc's __poll_chk / __ppoll_chk, and the waiting machinery that select
//! and epoll share (DESIGN.md, "Readiness and blocking").
//!
//! A call that involves no shim file goes to the real function untouched: when the fd table is
//! empty, when no engine runs and no epoll has a shadow interest (then every fd is a plain
//! kernel fd), or when none of the fds is the shim's. Otherwise the call is emulated as
//! fs/select.c do_poll does it, with the stack standing in for the files it cannot poll:
//! one pass over every fd (shim sockets from `Stack::poll`, kernel fds by a zero-timeout
//! ppoll), and if nothing is ready, sleep in `Engine::wait` on the kernel fds, the packet
//! socket and the thread's wake eventfd with the caller's signal mask, then pass again.
//! An emulated epoll in the set counts as readable when its shadow side is ready or its real
//! epoll fd (polled by the kernel with the caller's events) is.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use libc::{c_int, nfds_t, pollfd, sigset_t, size_t, timespec};
use stack::Errno;

use crate::engine::{self, WaitOutcome};
use crate::epoll::{self, bits, LiveReadiness, Readiness};
use crate::fdtable::{self, FileKind, OpenFile};
use crate::hook;
use crate::hooks::Outcome;
use crate::{sys, usermem};

// ----- shared by poll, select and epoll -------------------------------------------------------

/// True when the call cannot involve a shim file: the real function serves it as is.
pub(crate) fn all_kernel() -> bool {
    fdtable::is_empty() || (engine::get().is_none() && !epoll::any_shadow_interest())
}

/// When a wait ends, measured on CLOCK_MONOTONIC as the kernel's poll_select_set_timeout does.
pub(crate) struct Deadline {
    /// None: wait forever.
    at: Option<u64>,
    /// The caller asked for a zero timeout: look once, never sleep.
    zero: bool,
}

impl Deadline {
    pub(crate) fn after(timeout: Option<Duration>) -> Deadline {
        let zero = timeout.is_some_and(|t| t.is_zero());
        let at = timeout.map(|t| {
            let nanos = u64::try_from(t.as_nanos()).unwrap_or(u64::MAX);
            sys::monotonic_nanos().saturating_add(nanos)
        });
        Deadline { at, zero }
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.zero
    }

    /// Time left (None: forever).
    pub(crate) fn remaining(&self) -> Option<Duration> {
        self.at
            .map(|at| Duration::from_nanos(at.saturating_sub(sys::monotonic_nanos())))
    }
}

/// Runs `look` over the shim's readiness: under the stack lock when an engine runs (frames
/// already waiting are processed first). Returns what `look` returned and the stack generation
/// it saw (None without an engine). Files the look kept alive are released after the lock.
pub(crate) fn evaluate<R>(look: impl FnOnce(&dyn Readiness) -> R) -> (R, Option<u64>) {
    match engine::get() {
        Some(engine) => {
            let (result, generation, held) = engine.with_stack(|stack, _now| {
                let source = LiveReadiness::new(Some(&mut *stack));
                let result = look(&source);
                let held = source.into_held();
                (result, stack.generation(), held)
            });
            drop(held);
            (result, Some(generation))
        }
        None => {
            let source = LiveReadiness::new(None);
            let result = look(&source);
            drop(source.into_held());
            (result, None)
        }
    }
}

/// How a sleep ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slept {
    /// Look again: the stack moved, a kernel fd is ready (its revents are set), or a kick.
    Woken,
    TimedOut,
}

/// Threads sleeping in a plain ppoll because no engine ran when they looked: an ADD of a shim
/// socket kicks them so they come back and wait on the engine too.
static SLEEPERS_WITHOUT_ENGINE: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn sleepers_without_engine() -> bool {
    SLEEPERS_WITHOUT_ENGINE.load(Ordering::SeqCst) > 0
}

/// Sleep until `generation` (from `evaluate`) is stale, a kernel fd is ready, the deadline
/// passes or a signal arrives (EINTR; `sigmask` is in force only while asleep, as in ppoll).
pub(crate) fn sleep(
    kernel_fds: &mut [pollfd],
    deadline: &Deadline,
    sigmask: Option<&sigset_t>,
    generation: Option<u64>,
) -> Result<Slept, Errno> {
    let timeout = deadline.remaining();
    if timeout == Some(Duration::ZERO) {
        return Ok(Slept::TimedOut);
    }
    match (engine::get(), generation) {
        (Some(engine), Some(generation)) => {
            match engine.wait(kernel_fds, timeout, sigmask, generation)? {
                WaitOutcome::Woken => Ok(Slept::Woken),
                WaitOutcome::TimedOut => Ok(Slept::TimedOut),
            }
        }
        // The engine started after we looked: look again, with it.
        (Some(_), None) => Ok(Slept::Woken),
        (None, _) => {
            SLEEPERS_WITHOUT_ENGINE.fetch_add(1, Ordering::SeqCst);
            let result = sys::ppoll(kernel_fds, timeout, sigmask);
            SLEEPERS_WITHOUT_ENGINE.fetch_sub(1, Ordering::SeqCst);
            match result? {
                0 => Ok(Slept::TimedOut),
                _ => Ok(Slept::Woken),
            }
        }
    }
}

/// Registers the calling thread as a waiter on emulated epolls for the duration of a wait, so
/// an epoll_ctl that makes one of them ready wakes it (ep_insert / ep_modify wake waiters).
pub(crate) struct Watching(Vec<Arc<OpenFile>>);

impl Watching {
    pub(crate) fn new(files: Vec<Arc<OpenFile>>) -> Watching {
        for file in &files {
            if let FileKind::Epoll(epoll) = &file.kind {
                epoll.waiters().fetch_add(1, Ordering::SeqCst);
            }
        }
        Watching(files)
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        for file in &self.0 {
            if let FileKind::Epoll(epoll) = &file.kind {
                epoll.waiters().fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

/// A zero-timeout pass over kernel fds (do_poll with a zero timeout). `sigmask` as in ppoll:
/// a pending signal it unblocks answers EINTR when nothing is ready.
pub(crate) fn poll_kernel_now(
    kernel_fds: &mut [pollfd],
    sigmask: Option<&sigset_t>,
) -> Result<usize, Errno> {
    sys::ppoll(kernel_fds, Some(Duration::ZERO), sigmask)
}

/// A timespec the program passed (ppoll, pselect, epoll_pwait2): EFAULT if unreadable, EINVAL
/// if not normalised (poll_select_set_timeout → timespec64_valid).
/// The optional timeout and signal mask of ppoll, pselect and epoll_pwait2, copied in the
/// order their syscalls copy them (timeout first: EFAULT/EINVAL; then the mask: EFAULT).
pub(crate) fn read_timeout_and_mask(
    timeout: *const timespec,
    sigmask: *const sigset_t,
) -> Result<(Option<Duration>, Option<sigset_t>), Errno> {
    let timeout = if timeout.is_null() {
        None
    } else {
        Some(read_timespec(timeout as usize)?)
    };
    let mask = if sigmask.is_null() {
        None
    } else {
        Some(read_sigmask(sigmask as usize)?)
    };
    Ok((timeout, mask))
}

pub(crate) fn read_timespec(address: usize) -> Result<Duration, Errno> {
    let ts: timespec = usermem::read_struct(address)?;
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// The signal mask a program passed: the kernel copies _NSIG/8 = 8 bytes (set_user_sigmask).
pub(crate) fn read_sigmask(address: usize) -> Result<sigset_t, Errno> {
    let mut bytes = [0u8; 8];
    usermem::read_into(address, &mut bytes)?;
    // SAFETY: sigset_t is plain bits; all-zero is the empty set.
    let mut set: sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: sigset_t is at least 8 bytes; its first 8 bytes are the kernel's mask.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), &mut set as *mut sigset_t as *mut u8, 8)
    };
    Ok(set)
}

// ----- poll -----------------------------------------------------------------------------------

/// What one pollfd refers to.
enum Slot {
    /// fd < 0: skipped, revents 0.
    Ignored,
    /// A kernel fd: index into the kernel pollfds.
    Kernel(usize),
    Socket(Arc<OpenFile>),
    /// An emulated epoll: its real fd is polled by the kernel too (index).
    Epoll(Arc<OpenFile>, usize),
}

const POLLFD_SIZE: usize = std::mem::size_of::<pollfd>();

fn parse_pollfds(bytes: &[u8]) -> Vec<pollfd> {
    bytes
        .chunks_exact(POLLFD_SIZE)
        .map(|chunk| pollfd {
            fd: i32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]),
            events: i16::from_ne_bytes([chunk[4], chunk[5]]),
            revents: i16::from_ne_bytes([chunk[6], chunk[7]]),
        })
        .collect()
}

fn serialize_pollfds(entries: &[pollfd]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(entries.len() * POLLFD_SIZE);
    for entry in entries {
        bytes.extend_from_slice(&entry.fd.to_ne_bytes());
        bytes.extend_from_slice(&entry.events.to_ne_bytes());
        bytes.extend_from_slice(&entry.revents.to_ne_bytes());
    }
    bytes
}

/// The bits poll reports for an fd: what it asked for plus POLLERR | POLLHUP (do_pollfd).
fn poll_filter(events: i16) -> u32 {
    (events as u16 as u32) | bits::EPOLLERR | bits::EPOLLHUP
}

/// do_sys_poll for a set that holds shim files; Real when it holds none.
fn poll_impl(
    address: usize,
    nfds: nfds_t,
    timeout: Option<Duration>,
    sigmask: Option<&sigset_t>,
) -> Outcome<c_int> {
    // sys_poll / sys_ppoll take nfds as an unsigned int: the upper half never reaches the kernel.
    let nfds = nfds as u32 as nfds_t;
    if nfds > sys::nofile_soft_limit().unwrap_or(u64::MAX) {
        return Outcome::Done(Err(Errno::EINVAL));
    }
    let Some(len) = (nfds as usize).checked_mul(POLLFD_SIZE) else {
        return Outcome::Done(Err(Errno::EFAULT));
    };
    let mut entries = match usermem::read_bytes(address, len) {
        Ok(bytes) => parse_pollfds(&bytes),
        Err(errno) => return Outcome::Done(Err(errno)),
    };

    let mut kernel_fds = Vec::new();
    let mut slots = Vec::with_capacity(entries.len());
    let mut epolls = Vec::new();
    let mut any_shim = false;
    for entry in &entries {
        let slot = if entry.fd < 0 {
            Slot::Ignored
        } else {
            match fdtable::lookup(entry.fd) {
                None => {
                    kernel_fds.push(pollfd {
                        fd: entry.fd,
                        events: entry.events,
                        revents: 0,
                    });
                    Slot::Kernel(kernel_fds.len() - 1)
                }
                Some(file) => {
                    any_shim = true;
                    match file.kind {
                        FileKind::Socket(_) => Slot::Socket(file),
                        FileKind::Epoll(_) => {
                            kernel_fds.push(pollfd {
                                fd: entry.fd,
                                events: entry.events,
                                revents: 0,
                            });
                            epolls.push(file.clone());
                            Slot::Epoll(file, kernel_fds.len() - 1)
                        }
                    }
                }
            }
        };
        slots.push(slot);
    }
    if !any_shim {
        return Outcome::Real;
    }

    let _watching = Watching::new(epolls);
    let deadline = Deadline::after(timeout);
    let mut timed_out = false;
    // The kernel pollfds hold the result of a pass made since the last look at the shim side.
    let mut kernel_fresh = false;
    loop {
        let (shim_bits, generation) = evaluate(|source| {
            slots
                .iter()
                .zip(&entries)
                .map(|(slot, entry)| match slot {
                    Slot::Socket(file) => match &file.kind {
                        FileKind::Socket(socket) => {
                            source.socket_poll(socket.id) & poll_filter(entry.events)
                        }
                        FileKind::Epoll(_) => 0,
                    },
                    Slot::Epoll(file, _) => match &file.kind {
                        FileKind::Epoll(epoll) if epoll.shim_ready(source, 0) => {
                            (bits::EPOLLIN | bits::EPOLLRDNORM) & poll_filter(entry.events)
                        }
                        _ => 0,
                    },
                    Slot::Ignored | Slot::Kernel(_) => 0,
                })
                .collect::<Vec<u32>>()
        });
        let shim_ready = shim_bits.iter().any(|&bits| bits != 0);
        let kernel_ready = kernel_fresh && kernel_fds.iter().any(|pollfd| pollfd.revents != 0);
        if shim_ready || kernel_ready || timed_out || deadline.is_zero() {
            // With no kernel fd, the pass only matters for a signal the caller's mask unblocks
            // (pending ones it does not block were delivered before we got here).
            if !kernel_ready && (!kernel_fds.is_empty() || (!shim_ready && sigmask.is_some())) {
                // The final pass over kernel fds. With a shim fd ready the count is positive,
                // so no signal can turn it into EINTR: no mask then.
                let mask = if shim_ready { None } else { sigmask };
                if let Err(errno) = poll_kernel_now(&mut kernel_fds, mask) {
                    return finish_poll(address, &mut entries, &[], &[], &kernel_fds, Err(errno));
                }
            }
            return finish_poll(
                address,
                &mut entries,
                &slots,
                &shim_bits,
                &kernel_fds,
                Ok(()),
            );
        }
        match sleep(&mut kernel_fds, &deadline, sigmask, generation) {
            Ok(Slept::Woken) => kernel_fresh = kernel_fds.iter().any(|pollfd| pollfd.revents != 0),
            Ok(Slept::TimedOut) => {
                timed_out = true;
                kernel_fresh = kernel_fds.iter().any(|pollfd| pollfd.revents != 0);
            }
            Err(errno) => {
                return finish_poll(address, &mut entries, &[], &[], &kernel_fds, Err(errno))
            }
        }
    }
}

/// Writes every revents back (do_sys_poll does so even after EINTR, with zeros) and answers
/// the count of pollfds with events.
fn finish_poll(
    address: usize,
    entries: &mut [pollfd],
    slots: &[Slot],
    shim_bits: &[u32],
    kernel_fds: &[pollfd],
    result: Result<(), Errno>,
) -> Outcome<c_int> {
    let mut count = 0;
    for (index, entry) in entries.iter_mut().enumerate() {
        let bits = match slots.get(index) {
            Some(Slot::Kernel(k)) => kernel_fds[*k].revents as u16 as u32,
            Some(Slot::Socket(_)) => shim_bits[index],
            Some(Slot::Epoll(_, k)) => (kernel_fds[*k].revents as u16 as u32) | shim_bits[index],
            Some(Slot::Ignored) | None => 0,
        };
        entry.revents = bits as u16 as i16;
        if bits != 0 {
            count += 1;
        }
    }
    if let Err(errno) = usermem::write_bytes(address, &serialize_pollfds(entries)) {
        return Outcome::Done(Err(errno));
    }
    Outcome::Done(result.map(|()| count))
}

hook! {
    /// poll(2): sys_poll. A negative timeout waits forever; EINTR is never restarted when a
    /// handler ran (ERESTART_RESTARTBLOCK becomes EINTR then).
    fn poll(fds: *mut pollfd, nfds: nfds_t, timeout: c_int) -> c_int {
        if all_kernel() {
            return Outcome::Real;
        }
        let timeout = u64::try_from(timeout).ok().map(Duration::from_millis);
        poll_impl(fds as usize, nfds, timeout, None)
    }
}

hook! {
    /// ppoll(2). glibc copies the timeout into a local before the syscall, so the program's
    /// timespec is never updated; we read it without crashing on a bad pointer (EFAULT).
    fn ppoll(fds: *mut pollfd, nfds: nfds_t, timeout: *const timespec, sigmask: *const sigset_t) -> c_int {
        if all_kernel() {
            return Outcome::Real;
        }
        ppoll_impl(fds, nfds, timeout, sigmask)
    }
}

/// sys_ppoll's order: the timeout (EFAULT, EINVAL), the signal mask (EFAULT), then the poll.
unsafe fn ppoll_impl(
    fds: *mut pollfd,
    nfds: nfds_t,
    timeout: *const timespec,
    sigmask: *const sigset_t,
) -> Outcome<c_int> {
    let (timeout, mask) = match read_timeout_and_mask(timeout, sigmask) {
        Ok(pair) => pair,
        Err(errno) => return Outcome::Done(Err(errno)),
    };
    poll_impl(fds as usize, nfds, timeout, mask.as_ref())
}

hook! {
    /// glibc's fortified poll (debug/poll_chk.c): aborts through __chk_fail when the array is
    /// shorter than nfds, else poll. The real __poll_chk does the abort itself.
    fn __poll_chk(fds: *mut pollfd, nfds: nfds_t, timeout: c_int, fdslen: size_t) -> c_int {
        if (fdslen / POLLFD_SIZE) < nfds as usize || all_kernel() {
            return Outcome::Real;
        }
        let timeout = u64::try_from(timeout).ok().map(Duration::from_millis);
        poll_impl(fds as usize, nfds, timeout, None)
    }
}

hook! {
    /// glibc's fortified ppoll (debug/ppoll_chk.c).
    fn __ppoll_chk(fds: *mut pollfd, nfds: nfds_t, timeout: *const timespec, sigmask: *const sigset_t, fdslen: size_t) -> c_int {
        if (fdslen / POLLFD_SIZE) < nfds as usize || all_kernel() {
            return Outcome::Real;
        }
        ppoll_impl(fds, nfds, timeout, sigmask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pollfd_bytes_round_trip() {
        let entries = vec![
            pollfd {
                fd: 3,
                events: libc::POLLIN,
                revents: 0,
            },
            pollfd {
                fd: -1,
                events: -1,
                revents: libc::POLLNVAL,
            },
        ];
        let parsed = parse_pollfds(&serialize_pollfds(&entries));
        assert_eq!(parsed.len(), 2);
        assert_eq!(
            (parsed[1].fd, parsed[1].events, parsed[1].revents),
            (-1, -1, libc::POLLNVAL)
        );
    }

    #[test]
    fn filter_keeps_requested_bits_and_errors() {
        assert_eq!(
            poll_filter(libc::POLLIN),
            bits::EPOLLIN | bits::EPOLLERR | bits::EPOLLHUP
        );
        // POLLRDHUP and friends come through as the program asked.
        assert_eq!(
            poll_filter(libc::POLLRDHUP) & bits::EPOLLRDHUP,
            bits::EPOLLRDHUP
        );
    }

    #[test]
    fn deadline_arithmetic() {
        assert!(Deadline::after(Some(Duration::ZERO)).is_zero());
        assert_eq!(Deadline::after(None).remaining(), None);
        let left = Deadline::after(Some(Duration::from_secs(5)))
            .remaining()
            .unwrap();
        assert!(left <= Duration::from_secs(5) && left > Duration::from_secs(4));
    }
}
