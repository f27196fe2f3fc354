//! The progress thread: it covers the gaps (ARP and ICMP answers, timers) while no program
//! thread waits in the shim, and parks while program threads watch the packet socket
//! themselves. docs/architecture.md ("The progress thread") explains the parking rules.

use std::time::Duration;

use stack::{Errno, Instant};

use super::device_watch::DeviceWatch;
use super::{earliest, now, Core, Engine};
use crate::sys;
use crate::sys::raw_syscall;

/// How long the progress thread may stay parked after the last waiter left before it watches
/// the packet socket again: the worst extra delay of an ARP or echo answer while the program is
/// busy elsewhere. Short enough to be invisible to ping, long enough that a request/response
/// loop (waits of tens of microseconds) never pays an eventfd write to unpark it.
pub(super) const PROGRESS_GRACE: Duration = Duration::from_millis(2);
/// While the same waiters stay in place, the progress thread's park timeout doubles from
/// PROGRESS_GRACE; past this it sleeps until signalled (a waiter that leaves then writes its
/// eventfd), so a program blocked for hours costs no periodic wakeups.
const PROGRESS_MAX_PARK: Duration = Duration::from_secs(1);

#[derive(Clone, Copy)]
pub(super) struct ProgressState {
    /// When the progress thread wakes on its own (None: only when signalled).
    pub(super) sleep_until: Option<Instant>,
    /// True while it leaves the packet socket to the program threads that wait on it.
    pub(super) parked: bool,
}

impl Core {
    /// After a waiter left: must the parked progress thread be told now? Only when it would
    /// otherwise sleep past PROGRESS_GRACE with nobody watching the packet socket.
    pub(super) fn progress_needs_unpark(&self, now: Instant) -> bool {
        self.waiters.is_empty()
            && self.progress.parked
            && self
                .progress
                .sleep_until
                .is_none_or(|until| until > now + PROGRESS_GRACE)
    }
}

impl Engine {
    pub(super) fn spawn_progress_thread(&'static self) {
        // The progress thread must never take one of the program's signals: a handler would
        // run on a thread the program does not know, and a blocked recv would miss its EINTR.
        // Block them all around the spawn so the thread starts with every signal blocked
        // (glibc gives a new thread its creator's mask). SIGCANCEL (32) and SIGSETXID (33)
        // stay open: glibc's setuid() broadcast waits for every thread to take SIGSETXID.
        let all_but_glibc_internal: u64 = !((1u64 << (32 - 1)) | (1u64 << (33 - 1)));
        let mut previous: u64 = 0;
        let blocked = sigprocmask(
            libc::SIG_SETMASK,
            &all_but_glibc_internal,
            Some(&mut previous),
        );
        let spawned = std::thread::Builder::new()
            .name("ipshim-progress".into())
            .spawn(move || self.progress_loop());
        if blocked {
            sigprocmask(libc::SIG_SETMASK, &previous, None);
        }
        if let Err(why) = spawned {
            tracing::error!(%why, "cannot start the progress thread; frames are processed only inside socket calls");
        }
    }

    /// The progress thread: sleep in ppoll until the stack's next deadline, watching the
    /// packet socket only while no program thread does.
    fn progress_loop(&self) {
        let mut park = PROGRESS_GRACE;
        let mut departures_seen = 0;
        let mut watch = DeviceWatch::default();
        let mut device_revents = 0;
        loop {
            let (watch_packets, sleep_until) = {
                let mut core = self.core.lock();
                let now = now();
                let generation_before = core.stack.generation();
                let program_threads_watch = !core.waiters.is_empty();
                core.counters.progress_passes += 1;
                if program_threads_watch {
                    core.counters.progress_parked_passes += 1;
                    // A frame is theirs to process: taking it here would be the cross-CPU
                    // handoff the design avoids. Timers are still ours.
                    core.run_due_timers(now);
                } else {
                    let taken = core.service(now);
                    core.counters.progress_frames += taken;
                    watch.observe(&core.device, device_revents, taken);
                }
                let wakeups = core.finish(now, generation_before, None, None);
                let park_until = if program_threads_watch {
                    park = if core.waiter_departures != departures_seen {
                        PROGRESS_GRACE
                    } else {
                        park.saturating_mul(2)
                    };
                    departures_seen = core.waiter_departures;
                    (park <= PROGRESS_MAX_PARK).then(|| now + park)
                } else {
                    park = PROGRESS_GRACE;
                    None
                };
                let stack_wake_at = core.stack_wake_at(now);
                let pause = watch.pause().filter(|_| !program_threads_watch);
                let sleep_until = if program_threads_watch {
                    earliest(stack_wake_at, park_until)
                } else {
                    earliest(stack_wake_at, pause.map(|pause| now + pause))
                };
                core.progress = ProgressState {
                    sleep_until,
                    parked: program_threads_watch,
                };
                drop(core);
                wakeups.signal();
                (!program_threads_watch && pause.is_none(), sleep_until)
            };
            let mut pollfds = [
                libc::pollfd {
                    fd: self.progress_wake,
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: self.device_fd,
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            let watched = if watch_packets { 2 } else { 1 };
            let sleep = sleep_until.map(|until| until.saturating_since(now()));
            let slept = sys::ppoll(&mut pollfds[..watched], sleep, None);
            device_revents = if watch_packets { pollfds[1].revents } else { 0 };
            match slept {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(errno) => {
                    // Cannot happen with these arguments; never spin on it.
                    tracing::error!(%errno, "progress thread: ppoll failed");
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            sys::eventfd_drain(self.progress_wake);
        }
    }
}

/// rt_sigprocmask with the kernel's 8-byte mask; false if it failed.
fn sigprocmask(how: i32, set: &u64, old: Option<&mut u64>) -> bool {
    let old_ptr = old.map_or(std::ptr::null_mut(), |old| old as *mut u64);
    // SAFETY: set and old point to 8-byte masks, the kernel's sigset size on x86_64.
    unsafe {
        raw_syscall!(
            libc::SYS_rt_sigprocmask,
            how,
            set as *const u64,
            old_ptr,
            8usize,
        ) == 0
    }
}
