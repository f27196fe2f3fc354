//! select(2) and pselect(2) (fs/select.c core_sys_select / do_select, and glibc 2.36's
//! wrappers, which the program really calls: select is pselect6 with a normalised timeout that
//! glibc writes back, pselect copies its timeout and never updates it).
//!
//! A set with no shim fd goes to the real function. Otherwise each fd with a bit set becomes
//! one entry: a shim socket is judged from `Stack::poll`, an emulated epoll from its shadow
//! side plus its real fd, and kernel fds are polled by the kernel for the POLLIN_SET /
//! POLLOUT_SET / POLLEX_SET bits select asks for; the waiting is poll's (hooks/poll.rs).

use std::sync::Arc;
use std::time::Duration;

use libc::{c_int, fd_set, pollfd, sigset_t, timespec, timeval};
use stack::Errno;

use crate::epoll::bits::*;
use crate::fdtable::{self, FileKind, OpenFile};
use crate::hook;
use crate::hooks::poll::{
    all_kernel, evaluate, poll_kernel_now, read_timeout_and_mask, sleep, Deadline, Slept, Watching,
};
use crate::hooks::Outcome;
use crate::{sys, usermem};

/// fs/select.c: what counts as readable, writable, exceptional.
const POLLIN_SET: u32 = EPOLLRDNORM | EPOLLRDBAND | EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLNVAL;
const POLLOUT_SET: u32 = EPOLLWRBAND | EPOLLWRNORM | EPOLLOUT | EPOLLERR | EPOLLNVAL;
const POLLEX_SET: u32 = EPOLLPRI | EPOLLNVAL;

/// FD_SETSIZE: beyond it the kernel caps nfds at the size of its fd table (max_fds).
const FD_SETSIZE: usize = 1024;

/// The three sets, as the kernel copies them: FDS_BYTES(n) bytes each, in longs.
struct Sets {
    addresses: [usize; 3],
    bits: [Vec<u64>; 3],
}

const READ: usize = 0;
const WRITE: usize = 1;
const EXCEPT: usize = 2;

fn words_for(n: usize) -> usize {
    n.div_ceil(64)
}

impl Sets {
    /// get_fd_set for each non-NULL set: EFAULT if unreadable.
    fn read(n: usize, addresses: [usize; 3]) -> Result<Sets, Errno> {
        let words = words_for(n);
        let mut bits: [Vec<u64>; 3] = Default::default();
        for (set, &address) in bits.iter_mut().zip(&addresses) {
            *set = vec![0u64; words];
            if address != 0 {
                let bytes = usermem::read_bytes(address, words * 8)?;
                for (word, chunk) in set.iter_mut().zip(bytes.chunks_exact(8)) {
                    let mut array = [0u8; 8];
                    array.copy_from_slice(chunk);
                    *word = u64::from_ne_bytes(array);
                }
            }
        }
        Ok(Sets { addresses, bits })
    }

    fn is_set(&self, which: usize, fd: usize) -> bool {
        self.bits[which][fd / 64] & (1u64 << (fd % 64)) != 0
    }

    /// set_fd_set for each non-NULL set: the whole FDS_BYTES(n), so bits at and above n in the
    /// last long are cleared, as on Linux.
    fn write(&self, results: &[Vec<u64>; 3]) -> Result<(), Errno> {
        for (result, &address) in results.iter().zip(&self.addresses) {
            if address != 0 {
                let bytes: Vec<u8> = result.iter().flat_map(|word| word.to_ne_bytes()).collect();
                usermem::write_bytes(address, &bytes)?;
            }
        }
        Ok(())
    }
}

/// One fd with at least one bit set.
struct Entry {
    fd: usize,
    wants: [bool; 3],
    target: Target,
}

enum Target {
    /// Index into the kernel pollfds.
    Kernel(usize),
    Socket(Arc<OpenFile>),
    Epoll(Arc<OpenFile>, usize),
}

/// The poll events that make the kernel report what select asks for (wait_key_set).
fn events_for(wants: [bool; 3]) -> i16 {
    let mut events = 0u32;
    if wants[READ] {
        events |= EPOLLIN | EPOLLRDNORM | EPOLLRDBAND;
    }
    if wants[WRITE] {
        events |= EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;
    }
    if wants[EXCEPT] {
        events |= EPOLLPRI;
    }
    events as i16
}

/// The kernel's max_fds (FDSize in /proc/self/status), for nfds beyond FD_SETSIZE only.
fn fd_table_size() -> Option<usize> {
    let status = sys::read_small_file(c"/proc/self/status").ok()?;
    let text = String::from_utf8_lossy(&status);
    let line = text.lines().find(|line| line.starts_with("FDSize:"))?;
    line["FDSize:".len()..].trim().parse().ok()
}

/// core_sys_select for sets that may hold shim fds. Real when none does.
fn select_impl(
    nfds: c_int,
    addresses: [usize; 3],
    deadline: &Deadline,
    sigmask: Option<&sigset_t>,
) -> Outcome<c_int> {
    let Ok(mut n) = usize::try_from(nfds) else {
        return Outcome::Done(Err(Errno::EINVAL));
    };
    if n > FD_SETSIZE {
        if let Some(max_fds) = fd_table_size() {
            n = n.min(max_fds);
        }
    }
    let sets = match Sets::read(n, addresses) {
        Ok(sets) => sets,
        Err(errno) => return Outcome::Done(Err(errno)),
    };

    let mut entries = Vec::new();
    let mut kernel_fds = Vec::new();
    let mut epolls = Vec::new();
    let mut any_shim = false;
    for word in 0..words_for(n) {
        let any = sets.bits[READ][word] | sets.bits[WRITE][word] | sets.bits[EXCEPT][word];
        if any == 0 {
            continue;
        }
        for bit in 0..64 {
            let fd = word * 64 + bit;
            if fd >= n || any & (1u64 << bit) == 0 {
                continue;
            }
            let wants = [
                sets.is_set(READ, fd),
                sets.is_set(WRITE, fd),
                sets.is_set(EXCEPT, fd),
            ];
            let target = match fdtable::lookup(fd as c_int) {
                None => {
                    kernel_fds.push(pollfd {
                        fd: fd as c_int,
                        events: events_for(wants),
                        revents: 0,
                    });
                    Target::Kernel(kernel_fds.len() - 1)
                }
                Some(file) => {
                    any_shim = true;
                    match file.kind {
                        FileKind::Socket(_) => Target::Socket(file),
                        FileKind::Epoll(_) => {
                            kernel_fds.push(pollfd {
                                fd: fd as c_int,
                                events: events_for(wants),
                                revents: 0,
                            });
                            epolls.push(file.clone());
                            Target::Epoll(file, kernel_fds.len() - 1)
                        }
                    }
                }
            };
            entries.push(Entry { fd, wants, target });
        }
    }
    if !any_shim {
        return Outcome::Real;
    }

    let _watching = Watching::new(epolls);
    let mut timed_out = false;
    let mut kernel_fresh = false;
    loop {
        let (shim_masks, generation) = evaluate(|source| {
            entries
                .iter()
                .map(|entry| match &entry.target {
                    Target::Socket(file) => match &file.kind {
                        FileKind::Socket(socket) => source.socket_poll(socket.id),
                        FileKind::Epoll(_) => 0,
                    },
                    Target::Epoll(file, _) => match &file.kind {
                        FileKind::Epoll(epoll) if epoll.shim_ready(source, 0) => {
                            EPOLLIN | EPOLLRDNORM
                        }
                        _ => 0,
                    },
                    Target::Kernel(_) => 0,
                })
                .collect::<Vec<u32>>()
        });
        let (results, count) = tally(&entries, &shim_masks, &kernel_fds);
        let kernel_ready = kernel_fresh && kernel_fds.iter().any(|pollfd| pollfd.revents != 0);
        let shim_ready = count > 0;
        if shim_ready || kernel_ready || timed_out || deadline.is_zero() {
            let mut results = results;
            let mut count = count;
            // With no kernel fd, the pass only matters for a signal the caller's mask unblocks
            // (pending ones it does not block were delivered before we got here).
            if !kernel_ready && (!kernel_fds.is_empty() || (!shim_ready && sigmask.is_some())) {
                let mask = if shim_ready { None } else { sigmask };
                if let Err(errno) = poll_kernel_now(&mut kernel_fds, mask) {
                    return Outcome::Done(Err(errno));
                }
                (results, count) = tally(&entries, &shim_masks, &kernel_fds);
            }
            // max_select_fd: a set bit on a closed fd is EBADF, nothing written back.
            if kernel_fds
                .iter()
                .any(|pollfd| pollfd.revents & libc::POLLNVAL != 0)
            {
                return Outcome::Done(Err(Errno::EBADF));
            }
            if let Err(errno) = sets.write(&padded(results, sets.words())) {
                return Outcome::Done(Err(errno));
            }
            return Outcome::Done(Ok(count));
        }
        match sleep(&mut kernel_fds, deadline, sigmask, generation) {
            Ok(Slept::Woken) => kernel_fresh = kernel_fds.iter().any(|pollfd| pollfd.revents != 0),
            Ok(Slept::TimedOut) => {
                timed_out = true;
                kernel_fresh = kernel_fds.iter().any(|pollfd| pollfd.revents != 0);
            }
            // EINTR: core_sys_select returns before set_fd_set; the sets are left as they were.
            Err(errno) => return Outcome::Done(Err(errno)),
        }
    }
}

/// do_select's tally: the result sets and the number of bits set in them.
fn tally(entries: &[Entry], shim_masks: &[u32], kernel_fds: &[pollfd]) -> ([Vec<u64>; 3], c_int) {
    let words = entries.last().map_or(0, |entry| entry.fd / 64 + 1);
    let mut results: [Vec<u64>; 3] = Default::default();
    let mut count = 0;
    for (entry, &shim_mask) in entries.iter().zip(shim_masks) {
        let mask = shim_mask
            | match entry.target {
                Target::Kernel(k) | Target::Epoll(_, k) => kernel_fds[k].revents as u16 as u32,
                Target::Socket(_) => 0,
            };
        for (which, set) in [
            (READ, POLLIN_SET),
            (WRITE, POLLOUT_SET),
            (EXCEPT, POLLEX_SET),
        ] {
            if entry.wants[which] && mask & set != 0 {
                let result = &mut results[which];
                if result.len() < words {
                    result.resize(words, 0);
                }
                result[entry.fd / 64] |= 1u64 << (entry.fd % 64);
                count += 1;
            }
        }
    }
    (results, count)
}

/// Pads the result sets to FDS_BYTES(n) (the kernel writes that much).
fn padded(mut results: [Vec<u64>; 3], words: usize) -> [Vec<u64>; 3] {
    for result in results.iter_mut() {
        result.resize(words, 0);
    }
    results
}

impl Sets {
    fn words(&self) -> usize {
        self.bits[READ].len()
    }
}

hook! {
    /// select(2) as glibc 2.36 implements it (sysdeps/unix/sysv/linux/select.c): a negative
    /// tv_sec or tv_usec is EINVAL before the kernel; tv_usec is normalised into seconds; the
    /// kernel's pselect6 runs; the remaining time is written back to the timeval whatever the
    /// result (poll_select_finish: unchanged for a zero timeout).
    fn select(nfds: c_int, readfds: *mut fd_set, writefds: *mut fd_set, exceptfds: *mut fd_set, timeout: *mut timeval) -> c_int {
        if all_kernel() {
            return Outcome::Real;
        }
        let duration = if timeout.is_null() {
            None
        } else {
            let tv: timeval = match usermem::read_struct(timeout as usize) {
                Ok(tv) => tv,
                Err(errno) => return Outcome::Done(Err(errno)),
            };
            // glibc reads tv_usec into an int32_t.
            let usec = tv.tv_usec as i32;
            if tv.tv_sec < 0 || usec < 0 {
                return Outcome::Done(Err(Errno::EINVAL));
            }
            let seconds = (tv.tv_sec as u64).saturating_add((usec / 1_000_000) as u64);
            Some(Duration::new(seconds, (usec % 1_000_000) as u32 * 1000))
        };
        let deadline = Deadline::after(duration);
        let addresses = [readfds as usize, writefds as usize, exceptfds as usize];
        let outcome = select_impl(nfds, addresses, &deadline, None);
        if matches!(outcome, Outcome::Real) {
            return Outcome::Real;
        }
        if duration.is_some_and(|d| !d.is_zero()) {
            let left = deadline.remaining().unwrap_or_default();
            let tv = timeval { tv_sec: left.as_secs() as libc::time_t, tv_usec: left.subsec_micros() as libc::suseconds_t };
            // A failed write is ignored, as poll_select_finish ignores it.
            let _ = usermem::write_struct(timeout as usize, &tv);
        }
        outcome
    }
}

hook! {
    /// pselect(2): do_pselect's order (timeout EFAULT/EINVAL, signal mask EFAULT, then the
    /// select); glibc passes a copy of the timeout, so the program's is never updated.
    fn pselect(nfds: c_int, readfds: *mut fd_set, writefds: *mut fd_set, exceptfds: *mut fd_set, timeout: *const timespec, sigmask: *const sigset_t) -> c_int {
        if all_kernel() {
            return Outcome::Real;
        }
        let (duration, mask) = match read_timeout_and_mask(timeout, sigmask) {
            Ok(pair) => pair,
            Err(errno) => return Outcome::Done(Err(errno)),
        };
        let deadline = Deadline::after(duration);
        let addresses = [readfds as usize, writefds as usize, exceptfds as usize];
        select_impl(nfds, addresses, &deadline, mask.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_cover_the_select_sets() {
        let read_only = events_for([true, false, false]) as u16 as u32;
        assert_eq!(
            read_only & (EPOLLIN | EPOLLRDNORM | EPOLLRDBAND),
            EPOLLIN | EPOLLRDNORM | EPOLLRDBAND
        );
        assert_eq!(read_only & EPOLLOUT, 0);
        assert_eq!(events_for([false, false, true]) as u16 as u32, EPOLLPRI);
    }

    #[test]
    fn tally_counts_each_set() {
        let entries = vec![
            Entry {
                fd: 3,
                wants: [true, true, false],
                target: Target::Kernel(0),
            },
            Entry {
                fd: 70,
                wants: [true, false, true],
                target: Target::Kernel(1),
            },
        ];
        let kernel_fds = vec![
            pollfd {
                fd: 3,
                events: 0,
                revents: (EPOLLOUT | EPOLLHUP) as i16,
            },
            pollfd {
                fd: 70,
                events: 0,
                revents: EPOLLPRI as i16,
            },
        ];
        let (results, count) = tally(&entries, &[0, 0], &kernel_fds);
        // HUP is readable; OUT is writable; PRI is exceptional only.
        assert_eq!(count, 3);
        assert_eq!(results[READ][0], 1 << 3);
        assert_eq!(results[WRITE][0], 1 << 3);
        assert_eq!(results[EXCEPT][1], 1 << (70 - 64));
        let padded = padded(results, 2);
        assert_eq!(padded[READ].len(), 2);
    }
}
