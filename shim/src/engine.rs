//! The engine: the stack, the packet device, and the protocol by which threads drive them.
//!
//! * `with_stack` is the only way in: lock, process frames already waiting on the packet
//!   socket, run due timers, run the caller's operation, transmit, wake waiters if readiness
//!   may have moved, unlock.
//! * `wait` puts a program thread to sleep in `ppoll` on the packet socket, its own wake eventfd
//!   and the caller's kernel fds. The thread that waits drives (DESIGN.md): when frames arrive it
//!   processes them itself, so the latency path has no handoff between threads.
//! * A progress thread covers the gaps (ARP and ICMP answers, timers) while no program thread
//!   waits. It parks while program threads watch the packet socket themselves, so a frame wakes
//!   one thread, not two. docs/architecture.md ("Who drives the stack") has the measurements.
//!
//! A program that never opens an AF_INET socket never reaches `get_or_init`: no thread, no
//! packet socket, no cost.

mod device_watch;
mod progress;
mod waker;

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;

use once_cell::sync::OnceCell;
use parking_lot::Mutex;
use stack::{Credentials, Errno, Instant, Stack, WallTime};

use self::device_watch::DeviceWatch;
use self::progress::ProgressState;
pub use self::waker::WakeFd;
use self::waker::{thread_waker, Wakeups};
use crate::config::{self, ShimConfig};
use crate::device::{Device, BATCH};
use crate::fork;
use crate::pcap::PcapWriter;
use crate::sys;

/// Receive batches one engine pass processes at most, so one caller never works through an
/// unbounded flood before its own operation runs; what is left stays readable and is taken by
/// the next pass (or by the waiter/progress thread it wakes).
const MAX_RECEIVE_BATCHES: usize = 8;
/// If the stack's deadline is still due right after its timers ran (it should never be), sleep
/// this long rather than spin.
const STALE_DEADLINE_BACKOFF: Duration = Duration::from_millis(1);

pub struct Engine {
    core: Mutex<Core>,
    device_fd: RawFd,
    /// The progress thread's eventfd: written when it must look again (earlier timer, last
    /// waiter left while it is parked for long).
    progress_wake: RawFd,
    progress_started: Once,
    ping_group_range: (u32, u32),
}

/// Everything behind the engine's lock.
struct Core {
    stack: Stack,
    device: Device,
    pcap: Option<PcapWriter>,
    /// Frames from poll_transmit waiting for one sendmmsg.
    transmit: Vec<Vec<u8>>,
    /// Threads sleeping in `wait` (each watches the packet socket and its own eventfd).
    waiters: Vec<Arc<WakeFd>>,
    /// Bumped each time a waiter leaves: the progress thread's sign that program threads are
    /// coming and going (a request/response loop), not parked for good.
    waiter_departures: u64,
    progress: ProgressState,
    counters: EngineCounters,
}

/// How the engine's threads spent their wake-ups, for the exit log: a person tuning latency
/// wants to see who processed the frames and how often the progress thread woke.
#[derive(Debug, Default, Clone, Copy)]
pub struct EngineCounters {
    /// Times a program thread went to sleep in `wait`.
    pub wait_sleeps: u64,
    /// Progress thread passes (each follows one wake-up), and those made while parked.
    pub progress_passes: u64,
    pub progress_parked_passes: u64,
    /// Frames processed by the progress thread (not by a program thread).
    pub progress_frames: u64,
}

impl EngineCounters {
    pub fn summary(&self) -> String {
        format!(
            "engine.wait_sleeps={} engine.progress_passes={} engine.progress_parked_passes={} engine.progress_frames={}",
            self.wait_sleeps, self.progress_passes, self.progress_parked_passes, self.progress_frames
        )
    }
}

static ENGINE: OnceCell<Result<Engine, Errno>> = OnceCell::new();

/// The engine if some AF_INET socket already started it; None otherwise (nothing to drive),
/// and always None in a fork child (`fork.rs`: the copy must not be driven).
pub fn get() -> Option<&'static Engine> {
    if fork::in_forked_child() {
        return None;
    }
    ENGINE.get().and_then(|started| started.as_ref().ok())
}

/// True once an AF_INET socket started the engine (for the fork handlers).
pub fn started() -> bool {
    matches!(ENGINE.get(), Some(Ok(_)))
}

/// Start the engine on first use (config, packet socket, progress thread). When it cannot
/// start (IPSHIM_IFACE missing, no CAP_NET_RAW, ...) one error is logged and every call answers
/// EAFNOSUPPORT, as a kernel without IPv4 would.
pub fn get_or_init() -> Result<&'static Engine, Errno> {
    if fork::in_forked_child() {
        return Err(fork::refuse_in_child());
    }
    let engine = ENGINE
        .get_or_init(Engine::start)
        .as_ref()
        .map_err(|errno| *errno)?;
    engine
        .progress_started
        .call_once(|| engine.spawn_progress_thread());
    Ok(engine)
}

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitOutcome {
    /// Something may have changed: frames processed, the stack's generation moved, or a
    /// caller's kernel fd became ready (`revents` filled in the caller's pollfds).
    Woken,
    /// The timeout passed.
    TimedOut,
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// The time on the stack's clock: CLOCK_MONOTONIC itself (its zero is boot), so instants read
/// by different threads, and later by different processes, compare directly.
pub fn now() -> Instant {
    Instant::from_nanos(sys::monotonic_nanos())
}

/// CLOCK_REALTIME, for pcap records and receive timestamps.
pub fn wall_now() -> WallTime {
    let (sec, nsec) = sys::realtime();
    WallTime { sec, nsec }
}

impl Core {
    /// Process frames waiting on the packet socket (bounded), then due timers.
    /// Returns how many frames it took off the packet socket.
    fn service(&mut self, now: Instant) -> u64 {
        // TCP_INFO's "since the last ..." fields read the time of the latest call.
        self.stack.observe_time(now);
        let taken_before = self.device.frames_taken();
        let Core {
            stack,
            device,
            pcap,
            ..
        } = self;
        for _ in 0..MAX_RECEIVE_BATCHES {
            let received = device.receive_batch(|frame| {
                if let Some(pcap) = pcap.as_mut() {
                    pcap.record(frame.meta.timestamp, frame.bytes);
                }
                stack.handle_frame(now, frame.bytes, frame.meta);
            });
            if received < BATCH {
                break;
            }
        }
        self.run_due_timers(now);
        self.device.frames_taken() - taken_before
    }

    fn run_due_timers(&mut self, now: Instant) {
        if self.stack.poll_at().is_some_and(|at| at <= now) {
            self.stack.handle_timeout(now);
        }
    }

    /// When the stack next needs `handle_timeout`, as a wake-up time (never in the past).
    fn stack_wake_at(&self, now: Instant) -> Option<Instant> {
        self.stack.poll_at().map(|at| {
            if at <= now {
                static WARNED: AtomicBool = AtomicBool::new(false);
                if !WARNED.swap(true, Ordering::Relaxed) {
                    tracing::warn!("the stack's deadline stays due after handle_timeout (a stack bug); waking every {STALE_DEADLINE_BACKOFF:?} instead");
                }
                now + STALE_DEADLINE_BACKOFF
            } else {
                at
            }
        })
    }

    /// Put what the stack produced on the wire (and in the capture).
    fn transmit(&mut self, now: Instant) {
        while let Some(frame) = self.stack.poll_transmit(now) {
            self.transmit.push(frame);
        }
        if !self.transmit.is_empty() {
            if let Some(pcap) = self.pcap.as_mut() {
                let time = wall_now();
                for frame in &self.transmit {
                    pcap.record(time, frame);
                }
            }
            self.device.send(&self.transmit);
            self.transmit.clear();
        }
        if let Some(pcap) = self.pcap.as_mut() {
            pcap.flush();
        }
    }

    /// End of an engine pass: transmit, then decide who must look again. `me` is the calling
    /// thread's waker (it needs no wake-up: it is awake and will look itself).
    /// `progress_fd`: the progress thread's eventfd, None when the progress thread itself
    /// calls (it recomputes its sleep right after, and must not wake itself).
    fn finish(
        &mut self,
        now: Instant,
        generation_before: u64,
        me: Option<&Arc<WakeFd>>,
        progress_fd: Option<RawFd>,
    ) -> Wakeups {
        self.transmit(now);
        let mut wakeups = Wakeups::default();
        if self.stack.generation() != generation_before {
            // Owners of watched sockets are signalled once the lock is released.
            wakeups.signals = crate::async_signals::collect(&mut self.stack);
            wakeups.waiters = self
                .waiters
                .iter()
                .filter(|waker| !me.is_some_and(|me| Arc::ptr_eq(me, waker)))
                .cloned()
                .collect();
        }
        // A timer armed by this pass that is earlier than the progress thread's planned wake-up
        // (an ARP retry after a send, say) must not wait for it.
        if let (Some(at), Some(progress_fd)) = (self.stack_wake_at(now), progress_fd) {
            if self.progress.sleep_until.is_none_or(|planned| at < planned) {
                self.progress.sleep_until = Some(at);
                wakeups.progress = Some(progress_fd);
            }
        }
        wakeups
    }

    /// Remove `waker` from the registry; false if it was not registered.
    fn unregister(&mut self, waker: &Arc<WakeFd>) -> bool {
        let Some(index) = self
            .waiters
            .iter()
            .position(|other| Arc::ptr_eq(other, waker))
        else {
            return false;
        };
        self.waiters.swap_remove(index);
        self.waiter_departures += 1;
        true
    }
}

impl Engine {
    fn start() -> Result<Engine, Errno> {
        crate::log::init();
        let config = ShimConfig::from_environment().map_err(|why| {
            tracing::error!("{why}; AF_INET sockets are unavailable (EAFNOSUPPORT)");
            Errno::EAFNOSUPPORT
        })?;
        Engine::with_config(config)
    }

    /// Open the device and build the engine from a configuration.
    fn with_config(config: ShimConfig) -> Result<Engine, Errno> {
        let interface = &config.stack.interface;
        let promiscuous = interface.mac != config.interface_mac;
        let device =
            Device::open(interface.ifindex, interface.mtu, promiscuous).map_err(|why| {
                tracing::error!(
                    "IPSHIM_IFACE={}: {why}; AF_INET sockets are unavailable (EAFNOSUPPORT)",
                    interface.name
                );
                Errno::EAFNOSUPPORT
            })?;
        let pcap = config
            .pcap_path
            .as_deref()
            .and_then(|path| match PcapWriter::create(path) {
                Ok(writer) => Some(writer),
                Err(why) => {
                    tracing::error!("IPSHIM_PCAP={path}: {why}; continuing without a capture");
                    None
                }
            });
        let progress_wake = sys::eventfd().map(sys::move_fd_high).map_err(|errno| {
            tracing::error!(%errno, "cannot create the progress thread's eventfd");
            Errno::EAFNOSUPPORT
        })?;
        let mac = interface.mac;
        tracing::info!(
            interface = %interface.name,
            ifindex = interface.ifindex,
            address = %format_args!("{}/{}", interface.addr, interface.prefix_len),
            gateway = ?interface.gateway,
            mac = %format_args!("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]),
            mtu = interface.mtu,
            promiscuous,
            packet_fd = device.fd(),
            receive = device.receive_path(),
            send = device.send_path(),
            "ipshim engine started"
        );
        let device_fd = device.fd();
        let ping_group_range = config.stack.sysctls.ping_group_range;
        let mut stack = Stack::new(config.stack);
        stack.set_wall_clock(now(), wall_now());
        Ok(Engine {
            core: Mutex::new(Core {
                stack,
                device,
                pcap,
                transmit: Vec::with_capacity(BATCH),
                waiters: Vec::new(),
                waiter_departures: 0,
                progress: ProgressState {
                    sleep_until: None,
                    parked: false,
                },
                counters: EngineCounters::default(),
            }),
            device_fd,
            progress_wake,
            progress_started: Once::new(),
            ping_group_range,
        })
    }

    /// Lock the stack, process frames already waiting on the packet socket, run `f` with the
    /// current time, transmit what the stack produced, wake other waiters if readiness moved.
    /// `f` must not call back into the engine (the lock is not reentrant).
    pub fn with_stack<R>(&self, f: impl FnOnce(&mut Stack, Instant) -> R) -> R {
        let mut core = self.core.lock();
        let now = now();
        let generation_before = core.stack.generation();
        core.service(now);
        let result = f(&mut core.stack, now);
        let wakeups = core.finish(now, generation_before, None, Some(self.progress_wake));
        drop(core);
        wakeups.signal();
        result
    }

    /// The calling thread waits until the stack's generation differs from `seen_generation`,
    /// one of `kernel_fds` is ready, `timeout` passes, or a signal arrives (Err(EINTR)).
    /// While waiting the thread itself watches the packet socket and processes what arrives
    /// (DESIGN.md: the thread that waits drives). `sigmask` as for ppoll.
    ///
    /// `revents` of `kernel_fds` are reset, then filled by the kernel if the thread slept.
    /// Woken is also returned when another thread called `wake_all` (or, rarely, spuriously):
    /// callers re-check their condition and wait again.
    pub fn wait(
        &self,
        kernel_fds: &mut [libc::pollfd],
        timeout: Option<Duration>,
        sigmask: Option<&libc::sigset_t>,
        seen_generation: u64,
    ) -> Result<WaitOutcome, Errno> {
        for pollfd in kernel_fds.iter_mut() {
            pollfd.revents = 0;
        }
        let deadline = timeout.map(|timeout| now() + timeout);
        // Signals for socket owners found while waiting are sent at once (async_signals.rs).
        let _waiting = crate::async_signals::WaitMark::enter();
        // Those this thread put off earlier in the same call must not wait for its end.
        crate::async_signals::collect_mail();
        let waker = thread_waker()?;
        let mut pollfds = Vec::with_capacity(kernel_fds.len() + 2);
        let mut woken_by_sleep = false;
        let mut watch = DeviceWatch::default();
        let mut device_revents = 0;
        loop {
            // One critical section: leave the registry (after a sleep), process what arrived,
            // decide, and register again if the thread must sleep. Registering under the same
            // lock as the generation check means a change made after it is always signalled.
            let mut core = self.core.lock();
            let now = now();
            let generation_before = core.stack.generation();
            let unpark_progress = core.unregister(&waker) && core.progress_needs_unpark(now);
            let taken = core.service(now);
            watch.observe(&core.device, device_revents, taken);
            let outcome = if woken_by_sleep || core.stack.generation() != seen_generation {
                Some(WaitOutcome::Woken)
            } else if deadline.is_some_and(|deadline| now >= deadline) {
                Some(WaitOutcome::TimedOut)
            } else {
                core.waiters.push(waker.clone());
                core.counters.wait_sleeps += 1;
                None
            };
            let stack_wake_at = core.stack_wake_at(now);
            let mut wakeups = core.finish(
                now,
                generation_before,
                Some(&waker),
                Some(self.progress_wake),
            );
            if unpark_progress && outcome.is_some() {
                wakeups.progress = Some(self.progress_wake);
            }
            drop(core);
            wakeups.signal();
            // A signal another thread saw for this one (an F_OWNER_TID owner).
            crate::async_signals::collect_mail();
            if let Some(outcome) = outcome {
                return Ok(outcome);
            }

            let pause = watch.pause();
            let sleep_until = earliest(deadline, stack_wake_at);
            let sleep_until = earliest(sleep_until, pause.map(|pause| now + pause));
            pollfds.clear();
            pollfds.extend_from_slice(kernel_fds);
            pollfds.push(libc::pollfd {
                // A negative fd is skipped by ppoll: the device sits this sleep out.
                fd: if pause.is_some() { -1 } else { self.device_fd },
                events: libc::POLLIN,
                revents: 0,
            });
            pollfds.push(libc::pollfd {
                fd: waker.fd(),
                events: libc::POLLIN,
                revents: 0,
            });
            let sleep = sleep_until.map(|until| until.saturating_since(self::now()));
            let slept = sys::ppoll(&mut pollfds, sleep, sigmask);
            let signalled = sys::eventfd_drain(waker.fd());
            for (caller, polled) in kernel_fds.iter_mut().zip(&pollfds) {
                caller.revents = polled.revents;
            }
            if let Err(errno) = slept {
                // EINTR (a handler ran), or EFAULT/EINVAL/ENOMEM from the caller's arguments.
                self.leave(&waker);
                return Err(errno);
            }
            device_revents = pollfds[kernel_fds.len()].revents;
            woken_by_sleep = signalled || kernel_fds.iter().any(|pollfd| pollfd.revents != 0);
            // Otherwise frames arrived, a stack timer is due, or the deadline passed: the next
            // pass processes them and decides.
        }
    }

    /// Leave the waiter registry outside the wait loop (error paths).
    fn leave(&self, waker: &Arc<WakeFd>) {
        let mut core = self.core.lock();
        let unpark = core.unregister(waker) && core.progress_needs_unpark(now());
        drop(core);
        if unpark {
            sys::eventfd_signal(self.progress_wake);
        }
    }

    /// Wake every waiting thread without a change of the stack's generation (e.g. an epoll
    /// interest list changed under a thread blocked in epoll_wait).
    pub fn wake_all(&self) {
        let waiters: Vec<Arc<WakeFd>> = self.core.lock().waiters.clone();
        Wakeups {
            waiters,
            progress: None,
            signals: Vec::new(),
        }
        .signal();
    }

    /// The packet socket (for diagnostics).
    pub fn device_fd(&self) -> RawFd {
        self.device_fd
    }

    /// The program's privileges now, for `Stack::socket` (the kernel checks at each call, and
    /// a program may drop capabilities or change groups while it runs).
    pub fn credentials(&self) -> Credentials {
        config::current_credentials(self.ping_group_range)
    }

    /// The engine's own counters (who processed frames, how often threads woke).
    pub fn engine_counters(&self) -> EngineCounters {
        self.core.lock().counters
    }

    /// One line with every non-zero counter (the exit log).
    pub fn counters_summary(&self, wait: Duration) -> Option<String> {
        let mut core = self.core.try_lock_for(wait)?;
        core.device.collect_kernel_drops();
        let stack = core.stack.counters().summary();
        Some(
            format!(
                "{} {} {}",
                core.counters.summary(),
                core.device.counters.summary(),
                stack
            )
            .trim()
            .to_string(),
        )
    }
}

/// At exit the kernel closes the program's sockets: each leaves its multicast groups
/// (ip_mc_drop_socket) and the kernel reports that, and any change still unreported, on its
/// own timers after the process is gone. The stack goes with the process, so it sends that
/// report now (its retransmissions are lost). Waits briefly for the lock, as below.
#[ctor::dtor]
fn leave_groups_at_exit() {
    if let Some(engine) = get() {
        if let Some(mut core) = engine.core.try_lock_for(Duration::from_millis(100)) {
            let now = now();
            core.stack.process_exit(now);
            core.transmit(now);
        }
    }
}

/// At exit, the counters at info level (DESIGN.md: a person debugging asks where a packet
/// went). Waits briefly for the lock: another thread may be inside the engine as exit runs.
#[ctor::dtor]
fn log_counters_at_exit() {
    if let Some(engine) = get() {
        if let Some(summary) = engine.counters_summary(Duration::from_millis(100)) {
            crate::log::info_at_exit("ipshim::engine", &format!("exit counters: {summary}"));
        }
    }
}
