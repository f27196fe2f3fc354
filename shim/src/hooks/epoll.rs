//! epoll_create, epoll_create1, epoll_ctl, epoll_wait, epoll_pwait, epoll_pwait2
//! (fs/eventpoll.c), over the shadow interest lists of epoll.rs.
//!
//! * Every epoll the program creates is recorded in the fd table (so dup'd numbers and a
//!   later ADD of a shim socket find it); it stays a real kernel epoll.
//! * epoll_ctl on a kernel fd goes straight to the real epoll with the program's data. On a
//!   shim socket or an emulated epoll it changes the shadow list, after the checks that precede
//!   ep_find in do_epoll_ctl, in the kernel's order. A nested emulated epoll is also linked into
//!   the outer real epoll as a wake-only item, so its kernel events wake the outer's waiters.
//! * epoll_wait on an epoll without shadow interests is the kernel's (the fast path). With
//!   some, it harvests the shadow list and the real epoll (timeout 0); if both are empty it
//!   sleeps in `Engine::wait` on the real epoll fd, then harvests again.
//! * Wake-only items (data = `epoll::wake_token()`) are removed from what the kernel returns.
//!   An epoll_ctl that makes an interest ready while threads wait, or that adds the first
//!   shadow interest while threads sleep in the kernel's epoll_wait, kicks the epoll's eventfd
//!   so they look again (ep_insert / ep_modify wake the waiters).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use libc::{c_int, epoll_event, pollfd, sigset_t, timespec};
use stack::Errno;

use crate::epoll::{
    self, bits::*, EpollFile, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD, EPOLL_EVENT_SIZE,
    EP_MAX_EVENTS,
};
use crate::fdtable::{self, FileKind, OpenFile};
use crate::hook;
use crate::hooks::poll::{
    evaluate, read_timeout_and_mask, sleep, sleepers_without_engine, Deadline, Slept, Watching,
};
use crate::hooks::{errno, Outcome};
use crate::{real, usermem};

// ----- creation -------------------------------------------------------------------------------

/// Records a new epoll fd in the table.
fn register(fd: c_int) {
    if let Some(identity) = fdtable::kernel_identity(fd) {
        fdtable::insert(
            fd,
            Arc::new(OpenFile {
                identity,
                kind: FileKind::Epoll(EpollFile::new()),
            }),
        );
    }
}

hook! {
    /// epoll_create(2): the kernel's (size <= 0 is EINVAL there), then recorded.
    fn epoll_create(size: c_int) -> c_int {
        let fd = real::epoll_create(size);
        if fd < 0 {
            return Outcome::Raw(fd);
        }
        register(fd);
        Outcome::Done(Ok(fd))
    }
}

hook! {
    /// epoll_create1(2): the kernel's (unknown flags are EINVAL there), then recorded.
    fn epoll_create1(flags: c_int) -> c_int {
        let fd = real::epoll_create1(flags);
        if fd < 0 {
            return Outcome::Raw(fd);
        }
        register(fd);
        Outcome::Done(Ok(fd))
    }
}

// ----- epoll_ctl ------------------------------------------------------------------------------

/// The epoll behind `epfd` for an epoll_ctl on a shim target. An fd the table does not know is
/// probed with a real EPOLL_CTL_DEL of the target's placeholder fd, which is in no real epoll:
/// EBADF (bad epfd) and EINVAL (not an epoll) come back exactly as do_epoll_ctl orders them;
/// ENOENT means an epoll we did not see created (inherited across exec): recorded now.
fn epoll_for_ctl(epfd: c_int, fd: c_int) -> Result<Arc<OpenFile>, Errno> {
    if let Some(file) = fdtable::lookup(epfd) {
        return match file.kind {
            FileKind::Epoll(_) => Ok(file),
            // Both fds valid, pollable, and epfd is no epoll.
            FileKind::Socket(_) => Err(Errno::EINVAL),
        };
    }
    // SAFETY: DEL takes no event; the real function, not our hook.
    let probe = unsafe { real::epoll_ctl(epfd, EPOLL_CTL_DEL, fd, std::ptr::null_mut()) };
    let probe_errno = errno();
    if probe == 0 || probe_errno == libc::ENOENT {
        register(epfd);
        return fdtable::lookup(epfd).ok_or(Errno::EBADF);
    }
    Err(Errno::from_raw(probe_errno).unwrap_or(Errno::EINVAL))
}

/// epoll_ctl on a shim target (`target`, the file of `fd`): do_epoll_ctl's checks in order,
/// then the shadow list.
fn ctl_shim(
    epfd: c_int,
    op: c_int,
    fd: c_int,
    target: Arc<OpenFile>,
    event: usize,
) -> Result<(), Errno> {
    // epoll_ctl copies the event first, for every op but DEL.
    let (events, data) = if op != EPOLL_CTL_DEL {
        let mut bytes = [0u8; EPOLL_EVENT_SIZE];
        usermem::read_into(event, &mut bytes)?;
        let events = u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let mut data = [0u8; 8];
        data.copy_from_slice(&bytes[4..12]);
        (events, u64::from_ne_bytes(data))
    } else {
        (0, 0)
    };
    let epoll_file = epoll_for_ctl(epfd, fd)?;
    // Not an epoll inside itself (epfd and fd the same file).
    if Arc::ptr_eq(&epoll_file, &target) {
        return Err(Errno::EINVAL);
    }
    let target_is_epoll = matches!(target.kind, FileKind::Epoll(_));
    if op != EPOLL_CTL_DEL && events & EPOLLEXCLUSIVE != 0 {
        // EPOLLEXCLUSIVE is set at ADD only, never on a nested epoll, with few companions.
        if op == EPOLL_CTL_MOD || target_is_epoll || events & !EPOLLEXCLUSIVE_OK_BITS != 0 {
            return Err(Errno::EINVAL);
        }
    }
    let FileKind::Epoll(epoll) = &epoll_file.kind else {
        return Err(Errno::EINVAL);
    };
    let outcome = match (op, &target.kind) {
        (EPOLL_CTL_ADD, FileKind::Socket(_)) => {
            evaluate(|source| epoll.add(fd, &target, events, data, source)).0?
        }
        (EPOLL_CTL_ADD, FileKind::Epoll(inner)) => {
            let link = || link_nested(epfd, fd, inner);
            evaluate(|source| {
                epoll::add_nested(&epoll_file, fd, &target, events, data, source, link)
            })
            .0?
        }
        (EPOLL_CTL_MOD, _) => {
            evaluate(|source| epoll.modify(fd, &target, events, data, source)).0?
        }
        (EPOLL_CTL_DEL, _) => {
            epoll.delete(fd, &target)?;
            if let FileKind::Epoll(inner) = &target.kind {
                unlink_nested(epfd, epoll, &target, inner);
            }
            return Ok(());
        }
        _ => return Err(Errno::EINVAL),
    };
    let socket_added = op == EPOLL_CTL_ADD && !target_is_epoll;
    if epoll.needs_kick(outcome) || (socket_added && sleepers_without_engine()) {
        epoll.kick(epfd);
    }
    Ok(())
}

/// Puts the nested epoll's private fd into the outer real epoll as a wake-only item
/// (edge-triggered: one wakeup per new event inside), so the outer's sleepers wake for it.
/// The kernel's own checks on this link (ELOOP through kernel-only nesting) apply.
fn link_nested(epfd: c_int, fd: c_int, inner: &EpollFile) -> Result<(), Errno> {
    let own = inner.own_fd(fd)?;
    let mut event = epoll_event {
        events: EPOLLIN | EPOLLET,
        u64: epoll::wake_token(),
    };
    // SAFETY: a valid event; the real function.
    if unsafe { real::epoll_ctl(epfd, EPOLL_CTL_ADD, own, &mut event) } == 0 {
        return Ok(());
    }
    match errno() {
        // Already linked through another fd number of the same inner epoll.
        libc::EEXIST => Ok(()),
        other => Err(Errno::from_raw(other).unwrap_or(Errno::EINVAL)),
    }
}

/// Removes the wake-only link once no interest of `outer` points at `target` any more.
fn unlink_nested(epfd: c_int, outer: &EpollFile, target: &Arc<OpenFile>, inner: &EpollFile) {
    if outer.holds_target(Arc::as_ptr(target)) {
        return;
    }
    if let Some(own) = inner.existing_own_fd() {
        // SAFETY: DEL takes no event; the real function.
        unsafe { real::epoll_ctl(epfd, EPOLL_CTL_DEL, own, std::ptr::null_mut()) };
    }
}

hook! {
    /// epoll_ctl(2).
    fn epoll_ctl(epfd: c_int, op: c_int, fd: c_int, event: *mut epoll_event) -> c_int {
        if fdtable::is_empty() {
            return Outcome::Real;
        }
        // A kernel fd (or a bad one) goes into the real epoll: the kernel decides everything.
        let Some(target) = fdtable::lookup(fd) else {
            return Outcome::Real;
        };
        // An unknown op fails in the kernel with the right errno whatever the fds are (the
        // shim fds are real fds of the right kind) and changes nothing.
        if !matches!(op, EPOLL_CTL_ADD | EPOLL_CTL_DEL | EPOLL_CTL_MOD) {
            return Outcome::Real;
        }
        Outcome::Done(ctl_shim(epfd, op, fd, target, event as usize).map(|()| 0))
    }
}

// ----- epoll_wait -----------------------------------------------------------------------------

/// epoll_pwait2 by raw syscall: the one kernel entry behind the three waits (epoll_wait's
/// milliseconds convert exactly; ep_timeout_to_timespec does the same).
fn raw_epoll_wait(
    epfd: c_int,
    events: usize,
    maxevents: c_int,
    timeout: Option<Duration>,
    sigmask: Option<&sigset_t>,
) -> Result<usize, Errno> {
    let ts = timeout.map(|t| timespec {
        tv_sec: t.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: t.subsec_nanos() as libc::c_long,
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const timespec);
    let mask_ptr = sigmask.map_or(std::ptr::null(), |m| m as *const sigset_t);
    const KERNEL_SIGSET_SIZE: usize = 8;
    // SAFETY: the kernel checks the events range and the fds; our timespec and mask outlive it.
    let result = unsafe {
        libc::syscall(
            libc::SYS_epoll_pwait2,
            epfd,
            events,
            maxevents,
            ts_ptr,
            mask_ptr,
            KERNEL_SIGSET_SIZE,
        )
    };
    if result < 0 {
        Err(Errno::from_raw(errno()).unwrap_or(Errno::EINVAL))
    } else {
        Ok(result as usize)
    }
}

/// Removes wake-only events from the `count` events the kernel just wrote at `address`.
/// Returns how many remain and whether any was removed.
///
/// # Safety
/// The kernel has just written `count` events there, so the range is mapped and writable.
unsafe fn drop_wake_events(address: usize, count: usize) -> (usize, bool) {
    let token = epoll::wake_token();
    let base = address as *mut u8;
    let mut kept = 0;
    let mut found = false;
    for index in 0..count {
        let source = base.add(index * EPOLL_EVENT_SIZE);
        let data = std::ptr::read_unaligned(source.add(4) as *const u64);
        if data == token {
            found = true;
            continue;
        }
        if kept != index {
            std::ptr::copy(source, base.add(kept * EPOLL_EVENT_SIZE), EPOLL_EVENT_SIZE);
        }
        kept += 1;
    }
    (kept, found)
}

/// Events from the real epoll without waiting, written at `address` (the kernel copies them;
/// a bad buffer is its EFAULT). A consumed kick is passed on to kernel sleepers still there.
fn harvest_kernel(
    epoll: &EpollFile,
    epfd: c_int,
    address: usize,
    max: usize,
) -> Result<usize, Errno> {
    let count = raw_epoll_wait(epfd, address, max as c_int, Some(Duration::ZERO), None)?;
    // SAFETY: the kernel wrote `count` events at `address`.
    let (kept, found) = unsafe { drop_wake_events(address, count) };
    if found && epoll.kernel_waiters().load(Ordering::SeqCst) > 0 {
        epoll.kick(epfd);
    }
    Ok(kept)
}

fn serialize_events(events: &[(u32, u64)]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(events.len() * EPOLL_EVENT_SIZE);
    for (bits, data) in events {
        bytes.extend_from_slice(&bits.to_ne_bytes());
        bytes.extend_from_slice(&data.to_ne_bytes());
    }
    bytes
}

/// do_epoll_wait after the signal mask and timeout were read.
fn wait_impl(
    epfd: c_int,
    events: usize,
    maxevents: c_int,
    timeout: Option<Duration>,
    sigmask: Option<&sigset_t>,
) -> Outcome<c_int> {
    // Not one of ours (a kernel epoll, a bad fd, a shim socket: EBADF/EINVAL): the kernel's.
    let Some(file) = fdtable::lookup(epfd) else {
        return Outcome::Real;
    };
    let FileKind::Epoll(epoll) = &file.kind else {
        return Outcome::Real;
    };
    let deadline = Deadline::after(timeout);
    loop {
        // The fast path: no shadow interest, the kernel's epoll_wait. A kick (the first shadow
        // interest arrived while we slept) sends us round to the emulated wait.
        epoll.kernel_waiters().fetch_add(1, Ordering::SeqCst);
        if epoll.has_interests() {
            epoll.kernel_waiters().fetch_sub(1, Ordering::SeqCst);
            break;
        }
        let result = raw_epoll_wait(epfd, events, maxevents, deadline.remaining(), sigmask);
        let others = epoll.kernel_waiters().fetch_sub(1, Ordering::SeqCst) - 1;
        let count = match result {
            Ok(count) => count,
            Err(errno) => return Outcome::Done(Err(errno)),
        };
        // SAFETY: the kernel wrote `count` events at `events`.
        let (kept, found) = unsafe { drop_wake_events(events, count) };
        if found && others > 0 {
            epoll.kick(epfd);
        }
        if kept > 0 || !found || deadline.remaining() == Some(Duration::ZERO) {
            return Outcome::Done(Ok(kept as c_int));
        }
    }
    Outcome::Done(
        emulated_wait(&file, epoll, epfd, events, maxevents, &deadline, sigmask)
            .map(|n| n as c_int),
    )
}

/// ep_poll over the shadow list and the real epoll.
fn emulated_wait(
    file: &Arc<OpenFile>,
    epoll: &EpollFile,
    epfd: c_int,
    events: usize,
    maxevents: c_int,
    deadline: &Deadline,
    sigmask: Option<&sigset_t>,
) -> Result<usize, Errno> {
    if maxevents <= 0 || maxevents > EP_MAX_EVENTS {
        return Err(Errno::EINVAL);
    }
    let max = maxevents as usize;
    if !usermem::access_ok(events, max * EPOLL_EVENT_SIZE) {
        return Err(Errno::EFAULT);
    }
    let _watching = Watching::new(vec![file.clone()]);
    let mut timed_out = false;
    loop {
        let kernel_first = epoll.take_kernel_first();
        let mut count = 0;
        if kernel_first {
            count = harvest_kernel(epoll, epfd, events, max)?;
        }
        let first_count = count;
        let (shim, generation) = if count < max {
            evaluate(|source| {
                let mut out = Vec::new();
                epoll.harvest(source, max - count, &mut out);
                out
            })
        } else {
            (Vec::new(), None)
        };
        if !shim.is_empty() {
            // ep_send_events: a copy that faults ends the harvest; EFAULT if nothing was copied.
            if let Err(errno) =
                usermem::write_bytes(events + count * EPOLL_EVENT_SIZE, &serialize_events(&shim))
            {
                return if count > 0 { Ok(count) } else { Err(errno) };
            }
            count += shim.len();
        }
        let first_count = if kernel_first {
            first_count
        } else {
            shim.len()
        };
        if !kernel_first && count < max {
            match harvest_kernel(epoll, epfd, events + count * EPOLL_EVENT_SIZE, max - count) {
                Ok(more) => count += more,
                Err(errno) => return if count > 0 { Ok(count) } else { Err(errno) },
            }
        }
        if first_count == max {
            epoll.first_source_filled();
        }
        if count > 0 {
            return Ok(count);
        }
        if timed_out || deadline.is_zero() {
            return Ok(0);
        }
        let mut watched = [pollfd {
            fd: epfd,
            events: libc::POLLIN,
            revents: 0,
        }];
        // ep_poll returns EINTR directly (never restarted).
        match sleep(&mut watched, deadline, sigmask, generation)? {
            Slept::Woken => {}
            Slept::TimedOut => timed_out = true,
        }
    }
}

fn timeout_from_millis(timeout: c_int) -> Option<Duration> {
    u64::try_from(timeout).ok().map(Duration::from_millis)
}

hook! {
    /// epoll_wait(2).
    fn epoll_wait(epfd: c_int, events: *mut epoll_event, maxevents: c_int, timeout: c_int) -> c_int {
        if fdtable::is_empty() {
            return Outcome::Real;
        }
        wait_impl(epfd, events as usize, maxevents, timeout_from_millis(timeout), None)
    }
}

hook! {
    /// epoll_pwait(2): the signal mask is copied first (EFAULT), then as epoll_wait with it
    /// in force while asleep.
    fn epoll_pwait(epfd: c_int, events: *mut epoll_event, maxevents: c_int, timeout: c_int, sigmask: *const sigset_t) -> c_int {
        if fdtable::is_empty() {
            return Outcome::Real;
        }
        let (_, mask) = match read_timeout_and_mask(std::ptr::null(), sigmask) {
            Ok(pair) => pair,
            Err(errno) => return Outcome::Done(Err(errno)),
        };
        wait_impl(epfd, events as usize, maxevents, timeout_from_millis(timeout), mask.as_ref())
    }
}

hook! {
    /// epoll_pwait2(2): the timeout is copied and checked first (EFAULT, EINVAL), then the
    /// signal mask.
    fn epoll_pwait2(epfd: c_int, events: *mut epoll_event, maxevents: c_int, timeout: *const timespec, sigmask: *const sigset_t) -> c_int {
        if fdtable::is_empty() {
            return Outcome::Real;
        }
        let (duration, mask) = match read_timeout_and_mask(timeout, sigmask) {
            Ok(pair) => pair,
            Err(errno) => return Outcome::Done(Err(errno)),
        };
        wait_impl(epfd, events as usize, maxevents, duration, mask.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wake_events_are_removed_in_place() {
        let token = epoll::wake_token();
        let events = [(1u32, 10u64), (1, token), (4, 11), (1, token)];
        let mut bytes = serialize_events(&events);
        let (kept, found) = unsafe { drop_wake_events(bytes.as_mut_ptr() as usize, events.len()) };
        assert!(found);
        assert_eq!(kept, 2);
        assert_eq!(&bytes[..24], &serialize_events(&[(1, 10), (4, 11)])[..]);
    }
}
