//! Epoll emulation (DESIGN.md, "Readiness and blocking"; docs/architecture.md, "Readiness").
//!
//! An epoll fd the program creates stays a real kernel epoll: that fd is its identity, and the
//! kernel fds the program adds go straight into it with the program's data, so the kernel keeps
//! doing their readiness, edge triggering and wakeups. What the kernel cannot see is the
//! readiness of the shim's sockets (their kernel fds are placeholders that never become
//! readable) and of nested emulated epolls. Those interests live here, in a shadow interest
//! list that copies fs/eventpoll.c:
//!
//! * an interest is keyed by (fd number, open file), like an epitem by (struct file, fd), and
//!   holds the file weakly: when the last fd of a shim socket is closed the interest is gone,
//!   as `eventpoll_release_file` removes the epitems of a released file;
//! * a ready list in the order items became ready. The kernel queues an item from the wakeup
//!   callback (`ep_poll_callback`); the stack has no callbacks into us, so each look at the
//!   list first queues the items whose target had, since the last look, a wakeup of a kind
//!   the item listens to (`Wakeups`, the key filter of ep_poll_callback);
//! * harvesting (`ep_send_events`) re-polls each queued item: not ready → dropped; ready →
//!   reported with `revents & events`; level-triggered items go back to the tail, edge-triggered
//!   ones leave the list until their next event, EPOLLONESHOT ones are disarmed until
//!   EPOLL_CTL_MOD (`epi->event.events &= EP_PRIVATE_BITS`).
//!
//! Readiness comes through the `Readiness` trait, so the bookkeeping is tested with a fake.
//! The hooks (hooks/epoll.rs) do the argument copying, the errno checks that need the kernel,
//! the waiting, and merge these events with the real epoll's.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use stack::{Errno, SocketId, Stack};

use crate::fdtable::{FileKind, OpenFile};
use crate::sys;

/// Event bits (include/uapi/linux/eventpoll.h). The poll bits equal the stack's `poll_bits`.
pub mod bits {
    pub const EPOLLIN: u32 = 0x001;
    pub const EPOLLPRI: u32 = 0x002;
    pub const EPOLLOUT: u32 = 0x004;
    pub const EPOLLERR: u32 = 0x008;
    pub const EPOLLHUP: u32 = 0x010;
    pub const EPOLLNVAL: u32 = 0x020;
    pub const EPOLLRDNORM: u32 = 0x040;
    pub const EPOLLRDBAND: u32 = 0x080;
    pub const EPOLLWRNORM: u32 = 0x100;
    pub const EPOLLWRBAND: u32 = 0x200;
    pub const EPOLLRDHUP: u32 = 0x2000;
    pub const EPOLLEXCLUSIVE: u32 = 1 << 28;
    pub const EPOLLWAKEUP: u32 = 1 << 29;
    pub const EPOLLONESHOT: u32 = 1 << 30;
    pub const EPOLLET: u32 = 1 << 31;
    /// fs/eventpoll.c: the flags that are not events.
    pub const EP_PRIVATE_BITS: u32 = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
    /// fs/eventpoll.c: what may accompany EPOLLEXCLUSIVE (anything else is EINVAL).
    pub const EPOLLEXCLUSIVE_OK_BITS: u32 =
        EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
}
use bits::*;

pub const EPOLL_CTL_ADD: i32 = 1;
pub const EPOLL_CTL_DEL: i32 = 2;
pub const EPOLL_CTL_MOD: i32 = 3;

/// fs/eventpoll.c EP_MAX_NESTS: the deepest chain of epolls inside epolls.
pub const EP_MAX_NESTS: usize = 4;
/// sizeof(struct epoll_event) on x86_64 (packed: u32 events, u64 data).
pub const EPOLL_EVENT_SIZE: usize = 12;
/// fs/eventpoll.c EP_MAX_EVENTS: INT_MAX / sizeof(struct epoll_event).
pub const EP_MAX_EVENTS: i32 = i32::MAX / EPOLL_EVENT_SIZE as i32;

/// How the bookkeeping learns readiness: the stack (under its lock) in the shim, a fake in tests.
pub trait Readiness {
    /// Linux poll bits of a stack socket as the kernel's ->poll computes them for a caller
    /// (`Stack::poll_from_user`: it may arm the O_ASYNC write-space signal).
    fn socket_poll(&self, id: SocketId) -> u32;
    /// The same bits without the side effects of a ->poll call (`Stack::poll`), for the
    /// shim's own bookkeeping where the kernel calls no ->poll.
    fn socket_peek(&self, id: SocketId) -> u32 {
        self.socket_poll(id)
    }
    /// The socket's wakeup counts.
    fn socket_wakeups(&self, id: SocketId) -> Wakeups;
    /// Whether the kernel epoll behind `fd` has events (a zero-timeout poll).
    fn kernel_ready(&self, fd: RawFd) -> bool;
    /// Keep `file` alive until the caller has left the stack lock: dropping the last reference
    /// of a socket closes it in the stack, which takes that lock again.
    fn hold(&self, file: Arc<OpenFile>);
}

/// The shim's readiness source: the stack, when an engine runs (without one no shim socket
/// exists, and only nested epolls have shadow interests).
///
/// The stack is mutable because looking can change it: tcp_poll arms the O_ASYNC write-space
/// signal of a socket it finds unwritable (`Stack::poll_from_user`).
pub struct LiveReadiness<'a> {
    stack: Option<RefCell<&'a mut Stack>>,
    held: RefCell<Vec<Arc<OpenFile>>>,
}

impl<'a> LiveReadiness<'a> {
    pub fn new(stack: Option<&'a mut Stack>) -> LiveReadiness<'a> {
        LiveReadiness {
            stack: stack.map(RefCell::new),
            held: RefCell::new(Vec::new()),
        }
    }

    /// The files held during the evaluation; drop them after leaving the stack lock.
    pub fn into_held(self) -> Vec<Arc<OpenFile>> {
        self.held.into_inner()
    }
}

impl Readiness for LiveReadiness<'_> {
    fn socket_poll(&self, id: SocketId) -> u32 {
        self.stack
            .as_ref()
            .map_or(0, |stack| stack.borrow_mut().poll_from_user(id))
    }
    fn socket_peek(&self, id: SocketId) -> u32 {
        self.stack
            .as_ref()
            .map_or(0, |stack| stack.borrow().poll(id))
    }
    fn socket_wakeups(&self, id: SocketId) -> Wakeups {
        let counts = self
            .stack
            .as_ref()
            .map(|stack| stack.borrow().wakeups(id))
            .unwrap_or_default();
        Wakeups {
            readable: counts.readable,
            writable: counts.writable,
            other: counts.other,
        }
    }
    fn kernel_ready(&self, fd: RawFd) -> bool {
        kernel_fd_readable(fd)
    }
    fn hold(&self, file: Arc<OpenFile>) {
        self.held.borrow_mut().push(file);
    }
}

/// A zero-timeout poll of one kernel fd for POLLIN.
pub fn kernel_fd_readable(fd: RawFd) -> bool {
    let mut pollfd = [libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }];
    matches!(
        sys::ppoll(&mut pollfd, Some(std::time::Duration::ZERO), None),
        Ok(1)
    ) && pollfd[0].revents & libc::POLLIN != 0
}

/// Shadow interests alive in all epolls: zero means every epoll is a plain kernel epoll and
/// poll/select may pass straight to the kernel.
static SHADOW_INTERESTS: AtomicUsize = AtomicUsize::new(0);

/// True when some epoll has a shadow interest (a shim socket or a nested emulated epoll).
pub fn any_shadow_interest() -> bool {
    SHADOW_INTERESTS.load(Ordering::SeqCst) != 0
}

/// The `data` of the wake-only items the shim puts into real epolls (the kick eventfd, a nested
/// epoll's descriptor). Random per process so a program's own data never collides in practice;
/// events carrying it are removed before the program sees them.
pub fn wake_token() -> u64 {
    static TOKEN: AtomicU64 = AtomicU64::new(0);
    let token = TOKEN.load(Ordering::Relaxed);
    if token != 0 {
        return token;
    }
    let fresh = sys::random_u64() | 1;
    match TOKEN.compare_exchange(0, fresh, Ordering::Relaxed, Ordering::Relaxed) {
        Ok(_) => fresh,
        Err(existing) => existing,
    }
}

/// Wakeups of a target, counted by the key the kernel's wakeup carries: ep_poll_callback
/// queues an item only when the key meets its events (or there is no key).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wakeups {
    /// sk_data_ready (key EPOLLIN | EPOLLPRI | EPOLLRDNORM | EPOLLRDBAND), and a nested epoll's
    /// own wakeup (ep_poll_safewake: EPOLLIN).
    pub readable: u64,
    /// sk_write_space (key EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND).
    pub writable: u64,
    /// sk_error_report (key EPOLLERR, which every item has) and sk_state_change (no key).
    pub other: u64,
}

const READABLE_KEY: u32 = EPOLLIN | EPOLLPRI | EPOLLRDNORM | EPOLLRDBAND;
const WRITABLE_KEY: u32 = EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;

impl Wakeups {
    /// A wakeup since `seen` that would queue an item listening to `events`.
    fn wakes(&self, seen: &Wakeups, events: u32) -> bool {
        (self.readable != seen.readable && events & READABLE_KEY != 0)
            || (self.writable != seen.writable && events & WRITABLE_KEY != 0)
            || self.other != seen.other
    }
}

/// (fd number, open file address): the identity of an interest, as ep_find's (file, fd).
type Key = (RawFd, usize);

fn key_of(fd: RawFd, target: &Arc<OpenFile>) -> Key {
    (fd, Arc::as_ptr(target) as usize)
}

/// One epitem of the shadow list.
struct Interest {
    fd: RawFd,
    target: Weak<OpenFile>,
    /// The program's events with EPOLLERR | EPOLLHUP added, as epoll_ctl stores them.
    events: u32,
    data: u64,
    /// On the ready list (the kernel's `ep_is_linked`).
    queued: bool,
    /// The target's wakeups when we last looked: a difference is a wakeup we have not seen.
    seen: Wakeups,
    /// EPOLLONESHOT fired: no events until EPOLL_CTL_MOD.
    disarmed: bool,
    /// A nested epoll target's count of parents, released with the interest (without
    /// upgrading the target: that could drop a socket's last reference under the stack lock).
    nested_parents: Option<Arc<AtomicUsize>>,
}

impl Interest {
    /// The interest leaves its list.
    fn release(&self) {
        SHADOW_INTERESTS.fetch_sub(1, Ordering::SeqCst);
        if let Some(parents) = &self.nested_parents {
            parents.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

#[derive(Default)]
struct State {
    /// In insertion order, so items that became ready between two looks queue in a stable order.
    interests: BTreeMap<u64, Interest>,
    by_key: HashMap<Key, u64>,
    /// The ready list, front first.
    ready: VecDeque<u64>,
    next_serial: u64,
}

/// What an epoll_ctl ADD or MOD did, for the caller's wakeups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtlOutcome {
    /// The target is ready now (ep_insert / ep_modify wake the epoll's waiters then).
    pub ready: bool,
    /// This was the first shadow interest: threads blocked in the kernel's epoll_wait on this
    /// epoll (taken while it had none) must come back and wait the emulated way.
    pub first_interest: bool,
}

/// The shadow side of an epoll fd the program created.
pub struct EpollFile {
    state: Mutex<State>,
    /// Threads inside an emulated wait that involves this epoll (epoll_wait on it, poll/select
    /// with it in the set).
    waiters: AtomicUsize,
    /// Threads blocked in the kernel's epoll_wait on it (the fast path, while the shadow list
    /// is empty).
    kernel_waiters: AtomicUsize,
    /// Shadow interests of other epolls that point at this one.
    parents: Arc<AtomicUsize>,
    /// Which source a harvest takes first when both have events: alternated whenever one
    /// filled the caller's array, so neither starves the other.
    kernel_first: AtomicBool,
    /// eventfd inside the real epoll whose events (carrying `wake_token`) wake the real epoll's
    /// waiters; -1 until first needed.
    kick_fd: Mutex<RawFd>,
    /// A private descriptor of the real epoll, made when the epoll is nested in another (the
    /// program may close the number it added); -1 until then.
    own_fd: Mutex<RawFd>,
    /// Nested readiness edges of the kernel side (for an edge-triggered outer interest).
    kernel_edges: AtomicU64,
    kernel_was_ready: AtomicBool,
}

impl Default for EpollFile {
    fn default() -> Self {
        EpollFile::new()
    }
}

impl Drop for EpollFile {
    fn drop(&mut self) {
        for interest in self.state.get_mut().interests.values() {
            interest.release();
        }
        for fd in [*self.kick_fd.get_mut(), *self.own_fd.get_mut()] {
            if fd >= 0 {
                let _ = sys::close(fd);
            }
        }
    }
}

/// The readiness bits of a shadow target (`ep_item_poll` → vfs_poll).
fn target_poll(target: &OpenFile, source: &dyn Readiness, depth: usize) -> u32 {
    match &target.kind {
        FileKind::Socket(socket) => source.socket_poll(socket.id),
        // ep_eventpoll_poll: an epoll is readable when its ready list holds a ready item.
        FileKind::Epoll(inner) => {
            if inner.is_ready(source, depth + 1) {
                EPOLLIN | EPOLLRDNORM
            } else {
                0
            }
        }
    }
}

/// `target_poll` for the shim's scan of interests that did not move (`State::discover`): the
/// kernel has no ->poll call there (ep_poll_callback queues an item from its wakeup), so a
/// socket's bits are read without arming anything; a nested epoll is looked at as usual.
fn target_peek(target: &OpenFile, source: &dyn Readiness, depth: usize) -> u32 {
    match &target.kind {
        FileKind::Socket(socket) => source.socket_peek(socket.id),
        FileKind::Epoll(_) => target_poll(target, source, depth),
    }
}

/// How many wakeup-worthy events a target has had (compared, never interpreted).
fn target_wakeups(target: &OpenFile, source: &dyn Readiness, depth: usize) -> Wakeups {
    match &target.kind {
        FileKind::Socket(socket) => source.socket_wakeups(socket.id),
        FileKind::Epoll(inner) => Wakeups {
            readable: inner.activity(source, depth + 1),
            ..Wakeups::default()
        },
    }
}

impl EpollFile {
    pub fn new() -> EpollFile {
        EpollFile {
            state: Mutex::new(State::default()),
            waiters: AtomicUsize::new(0),
            kernel_waiters: AtomicUsize::new(0),
            parents: Arc::new(AtomicUsize::new(0)),
            kernel_first: AtomicBool::new(true),
            kick_fd: Mutex::new(-1),
            own_fd: Mutex::new(-1),
            kernel_edges: AtomicU64::new(0),
            kernel_was_ready: AtomicBool::new(false),
        }
    }

    /// True when the shadow list holds interests (possibly of files closed since).
    pub fn has_interests(&self) -> bool {
        !self.state.lock().interests.is_empty()
    }

    // ----- epoll_ctl -----------------------------------------------------------------------

    /// EPOLL_CTL_ADD of a shim file (the caller did the checks that precede ep_find).
    /// ep_insert: EPOLLERR | EPOLLHUP always; an item ready now goes on the ready list at once.
    pub fn add(
        &self,
        fd: RawFd,
        target: &Arc<OpenFile>,
        events: u32,
        data: u64,
        source: &dyn Readiness,
    ) -> Result<CtlOutcome, Errno> {
        let key = key_of(fd, target);
        let events = events | EPOLLERR | EPOLLHUP;
        // Read readiness before taking our lock: a nested target takes its own.
        let wakeups = target_wakeups(target, source, 0);
        let ready = target_poll(target, source, 0) & events != 0;
        let mut state = self.state.lock();
        state.purge_dead();
        if state.by_key.contains_key(&key) {
            return Err(Errno::EEXIST);
        }
        let serial = state.next_serial;
        state.next_serial += 1;
        state.interests.insert(
            serial,
            Interest {
                fd,
                target: Arc::downgrade(target),
                events,
                data,
                queued: ready,
                seen: wakeups,
                disarmed: false,
                nested_parents: match &target.kind {
                    FileKind::Epoll(inner) => Some(inner.parents.clone()),
                    FileKind::Socket(_) => None,
                },
            },
        );
        state.by_key.insert(key, serial);
        if ready {
            state.ready.push_back(serial);
        }
        SHADOW_INTERESTS.fetch_add(1, Ordering::SeqCst);
        if let FileKind::Epoll(inner) = &target.kind {
            inner.parents.fetch_add(1, Ordering::SeqCst);
        }
        Ok(CtlOutcome {
            ready,
            first_interest: state.interests.len() == 1,
        })
    }

    /// EPOLL_CTL_MOD (ep_modify): new events and data, re-armed; queued if ready now.
    /// An item added with EPOLLEXCLUSIVE cannot be modified (EINVAL).
    pub fn modify(
        &self,
        fd: RawFd,
        target: &Arc<OpenFile>,
        events: u32,
        data: u64,
        source: &dyn Readiness,
    ) -> Result<CtlOutcome, Errno> {
        let key = key_of(fd, target);
        let events = events | EPOLLERR | EPOLLHUP;
        let wakeups = target_wakeups(target, source, 0);
        let ready = target_poll(target, source, 0) & events != 0;
        let mut state = self.state.lock();
        let Some(&serial) = state.by_key.get(&key) else {
            return Err(Errno::ENOENT);
        };
        let State {
            interests,
            ready: ready_list,
            ..
        } = &mut *state;
        let Some(interest) = interests.get_mut(&serial) else {
            return Err(Errno::ENOENT);
        };
        if interest.events & EPOLLEXCLUSIVE != 0 {
            return Err(Errno::EINVAL);
        }
        interest.events = events;
        interest.data = data;
        interest.disarmed = false;
        interest.seen = wakeups;
        if ready && !interest.queued {
            interest.queued = true;
            ready_list.push_back(serial);
        }
        Ok(CtlOutcome {
            ready,
            first_interest: false,
        })
    }

    /// EPOLL_CTL_DEL: ENOENT when (fd, file) is not in the list.
    pub fn delete(&self, fd: RawFd, target: &Arc<OpenFile>) -> Result<(), Errno> {
        let key = key_of(fd, target);
        let mut state = self.state.lock();
        let serial = state.by_key.remove(&key).ok_or(Errno::ENOENT)?;
        if let Some(interest) = state.interests.remove(&serial) {
            interest.release();
        }
        state.ready.retain(|&queued| queued != serial);
        Ok(())
    }

    /// Whether (fd, file) is in the shadow list.
    pub fn contains(&self, fd: RawFd, target: &Arc<OpenFile>) -> bool {
        self.state.lock().by_key.contains_key(&key_of(fd, target))
    }

    // ----- readiness -----------------------------------------------------------------------

    /// ep_send_events: up to `max` events, in ready-list order, appended to `out` as
    /// (events, data).
    pub fn harvest(&self, source: &dyn Readiness, max: usize, out: &mut Vec<(u32, u64)>) {
        let mut state = self.state.lock();
        state.discover(source, 0);
        let State {
            interests, ready, ..
        } = &mut *state;
        // Each queued item is looked at once; level-triggered ones go back to the tail after
        // the items not reached, as ep_send_events + ep_done_scan leave the list.
        let mut remaining = ready.len();
        while remaining > 0 && out.len() < max {
            remaining -= 1;
            let Some(serial) = ready.pop_front() else {
                break;
            };
            let Some(interest) = interests.get_mut(&serial) else {
                continue;
            };
            interest.queued = false;
            if interest.disarmed {
                continue;
            }
            let Some(target) = interest.target.upgrade() else {
                continue;
            };
            let revents = target_poll(&target, source, 0) & interest.events & !EP_PRIVATE_BITS;
            source.hold(target);
            if revents == 0 {
                continue;
            }
            out.push((revents, interest.data));
            if interest.events & EPOLLONESHOT != 0 {
                interest.disarmed = true;
            } else if interest.events & EPOLLET == 0 {
                interest.queued = true;
                ready.push_back(serial);
            }
        }
    }

    /// The shadow side has a reportable item (`__ep_eventpoll_poll`): walks the ready list,
    /// dropping items that are not ready, and stops at the first that is. Nothing is consumed.
    pub fn shim_ready(&self, source: &dyn Readiness, depth: usize) -> bool {
        if depth > EP_MAX_NESTS + 1 {
            return false;
        }
        let mut state = self.state.lock();
        state.discover(source, depth);
        let State {
            interests, ready, ..
        } = &mut *state;
        while let Some(&serial) = ready.front() {
            if let Some(interest) = interests.get_mut(&serial) {
                if !interest.disarmed {
                    if let Some(target) = interest.target.upgrade() {
                        let revents = target_poll(&target, source, depth) & interest.events;
                        source.hold(target);
                        if revents & !EP_PRIVATE_BITS != 0 {
                            return true;
                        }
                    }
                }
                interest.queued = false;
            }
            ready.pop_front();
        }
        false
    }

    /// Readiness of this epoll as a nested target: the shadow side, or the real epoll (through
    /// the private descriptor made when it was nested).
    pub fn is_ready(&self, source: &dyn Readiness, depth: usize) -> bool {
        self.shim_ready(source, depth) || self.kernel_side_ready(source)
    }

    fn kernel_side_ready(&self, source: &dyn Readiness) -> bool {
        let own_fd = *self.own_fd.lock();
        let ready = own_fd >= 0 && source.kernel_ready(own_fd);
        if ready && !self.kernel_was_ready.swap(true, Ordering::Relaxed) {
            self.kernel_edges.fetch_add(1, Ordering::Relaxed);
        } else if !ready {
            self.kernel_was_ready.store(false, Ordering::Relaxed);
        }
        ready
    }

    /// Wakeup count of this epoll as a nested target: the sum of its targets' counts plus the
    /// kernel side's edges. Moves whenever an item inside may have become ready.
    fn activity(&self, source: &dyn Readiness, depth: usize) -> u64 {
        if depth > EP_MAX_NESTS + 1 {
            return 0;
        }
        let mut total = 0u64;
        {
            let state = self.state.lock();
            for interest in state.interests.values() {
                if let Some(target) = interest.target.upgrade() {
                    let wakeups = target_wakeups(&target, source, depth);
                    total = total
                        .wrapping_add(wakeups.readable)
                        .wrapping_add(wakeups.writable)
                        .wrapping_add(wakeups.other);
                    source.hold(target);
                }
            }
        }
        self.kernel_side_ready(source);
        total.wrapping_add(self.kernel_edges.load(Ordering::Relaxed))
    }

    // ----- nesting -------------------------------------------------------------------------

    /// The emulated epolls this one holds as shadow interests.
    fn epoll_children(&self, source: &dyn Readiness) -> Vec<Arc<OpenFile>> {
        let state = self.state.lock();
        let mut children = Vec::new();
        for target in state
            .interests
            .values()
            .filter_map(|interest| interest.target.upgrade())
        {
            if matches!(target.kind, FileKind::Epoll(_)) {
                children.push(target);
            } else {
                source.hold(target);
            }
        }
        children
    }

    /// Whether `target` (an open file) is one of this epoll's shadow targets.
    pub fn holds_target(&self, target: *const OpenFile) -> bool {
        let state = self.state.lock();
        state
            .interests
            .values()
            .any(|interest| Weak::as_ptr(&interest.target) == target)
    }

    /// The private descriptor of the real epoll, made from `fd` (the program's number for it)
    /// the first time; placed high, out of the program's fd range.
    pub fn own_fd(&self, fd: RawFd) -> Result<RawFd, Errno> {
        let mut own = self.own_fd.lock();
        if *own < 0 {
            let low = sys::dup_cloexec_at_least(fd, 0)?;
            *own = sys::move_fd_high(low);
        }
        Ok(*own)
    }

    /// The private descriptor, if it was made.
    pub fn existing_own_fd(&self) -> Option<RawFd> {
        let own = *self.own_fd.lock();
        (own >= 0).then_some(own)
    }

    /// Wake the threads that wait on the real epoll (kernel epoll_wait, poll on it, an outer
    /// epoll): an event on the kick eventfd, which sits in the real epoll edge-triggered with
    /// `wake_token` as data. `epfd` is a descriptor of this epoll (to add the eventfd once).
    pub fn kick(&self, epfd: RawFd) {
        let mut kick_fd = self.kick_fd.lock();
        if *kick_fd < 0 {
            let Ok(fd) = sys::eventfd() else { return };
            let fd = sys::move_fd_high(fd);
            let mut event = libc::epoll_event {
                events: EPOLLIN | EPOLLET,
                u64: wake_token(),
            };
            // SAFETY: a valid epoll_event; the real function, not our hook.
            let added = unsafe { crate::real::epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &mut event) };
            if added != 0 {
                let _ = sys::close(fd);
                return;
            }
            *kick_fd = fd;
        }
        sys::eventfd_signal(*kick_fd);
    }

    /// Whether a kick must follow an ADD or MOD that did `outcome`.
    pub fn needs_kick(&self, outcome: CtlOutcome) -> bool {
        (outcome.first_interest && self.kernel_waiters.load(Ordering::SeqCst) > 0)
            || (outcome.ready
                && (self.waiters.load(Ordering::SeqCst) > 0
                    || self.parents.load(Ordering::SeqCst) > 0))
    }

    /// Threads that are blocked in the kernel's epoll_wait on this epoll (the fast path).
    pub fn kernel_waiters(&self) -> &AtomicUsize {
        &self.kernel_waiters
    }

    /// Threads inside an emulated wait involving this epoll.
    pub fn waiters(&self) -> &AtomicUsize {
        &self.waiters
    }

    /// Which source the next harvest takes first; `filled` says the first source filled the
    /// array, which hands the next turn to the other.
    pub fn take_kernel_first(&self) -> bool {
        self.kernel_first.load(Ordering::Relaxed)
    }
    pub fn first_source_filled(&self) {
        self.kernel_first.fetch_xor(true, Ordering::Relaxed);
    }
}

impl State {
    /// Drop interests whose file is gone (the last fd of a shim socket was closed).
    fn purge_dead(&mut self) {
        let dead: Vec<u64> = self
            .interests
            .iter()
            .filter(|(_, interest)| interest.target.strong_count() == 0)
            .map(|(&serial, _)| serial)
            .collect();
        self.remove_serials(&dead);
    }

    fn remove_serials(&mut self, serials: &[u64]) {
        if serials.is_empty() {
            return;
        }
        for serial in serials {
            if let Some(interest) = self.interests.remove(serial) {
                self.by_key
                    .remove(&(interest.fd, Weak::as_ptr(&interest.target) as usize));
                interest.release();
            }
        }
        self.ready.retain(|queued| !serials.contains(queued));
    }

    /// The lazy ep_poll_callback: queue each item whose target had a wakeup since we last
    /// looked. A level-triggered item that is ready is queued even without one, so readiness
    /// the stack reached without counting an event is never missed.
    fn discover(&mut self, source: &dyn Readiness, depth: usize) {
        let mut dead = Vec::new();
        let State {
            interests, ready, ..
        } = self;
        for (&serial, interest) in interests.iter_mut() {
            let Some(target) = interest.target.upgrade() else {
                dead.push(serial);
                continue;
            };
            let wakeups = target_wakeups(&target, source, depth);
            let moved = wakeups.wakes(&interest.seen, interest.events);
            interest.seen = wakeups;
            if !interest.queued && !interest.disarmed {
                let queue = moved
                    || (interest.events & EPOLLET == 0
                        && target_peek(&target, source, depth)
                            & interest.events
                            & !EP_PRIVATE_BITS
                            != 0);
                if queue {
                    interest.queued = true;
                    ready.push_back(serial);
                }
            }
            source.hold(target);
        }
        self.remove_serials(&dead);
    }
}

// ----- ELOOP ---------------------------------------------------------------------------------

/// Epolls that hold other epolls, for the upward depth of ep_loop_check. Its lock also
/// serialises the ADDs of epoll targets, as the kernel's epnested_mutex does.
static NESTING_PARENTS: Mutex<Vec<Weak<OpenFile>>> = Mutex::new(Vec::new());

fn epoll_of(file: &OpenFile) -> Option<&EpollFile> {
    match &file.kind {
        FileKind::Epoll(epoll) => Some(epoll),
        FileKind::Socket(_) => None,
    }
}

/// ep_loop_check_proc: how deep the epolls under `ep` go; usize::MAX when `inserting_into` is
/// reachable (a cycle) or the chain is too deep.
fn depth_below(
    ep: &EpollFile,
    inserting_into: *const OpenFile,
    depth: usize,
    source: &dyn Readiness,
) -> usize {
    let mut result = 0usize;
    for child in ep.epoll_children(source) {
        if Arc::as_ptr(&child) == inserting_into || depth > EP_MAX_NESTS {
            result = usize::MAX;
        } else if let Some(inner) = epoll_of(&child) {
            result =
                result.max(depth_below(inner, inserting_into, depth + 1, source).saturating_add(1));
        }
        if result > EP_MAX_NESTS {
            break;
        }
    }
    result
}

/// ep_get_upwards_depth_proc: how many epolls are stacked above `file`.
fn depth_above(parents: &[Arc<OpenFile>], file: *const OpenFile, depth: usize) -> usize {
    if depth > EP_MAX_NESTS + 1 {
        return usize::MAX;
    }
    let mut result = 0usize;
    for parent in parents {
        if epoll_of(parent).is_some_and(|epoll| epoll.holds_target(file)) {
            result =
                result.max(depth_above(parents, Arc::as_ptr(parent), depth + 1).saturating_add(1));
        }
    }
    result
}

/// Adds the epoll `target` to `outer`'s shadow list under the nesting lock, after the kernel's
/// ep_loop_check: ELOOP when `outer` is reachable from `target` or the chain would be deeper
/// than EP_MAX_NESTS. `link` runs (still under the lock) once the check passed and before the
/// interest is inserted; its error aborts the ADD.
pub fn add_nested(
    outer_file: &Arc<OpenFile>,
    fd: RawFd,
    target: &Arc<OpenFile>,
    events: u32,
    data: u64,
    source: &dyn Readiness,
    link: impl FnOnce() -> Result<(), Errno>,
) -> Result<CtlOutcome, Errno> {
    let (Some(outer), Some(inner)) = (epoll_of(outer_file), epoll_of(target)) else {
        return Err(Errno::EINVAL);
    };
    let mut registry = NESTING_PARENTS.lock();
    registry.retain(|parent| parent.strong_count() > 0);
    let below = depth_below(inner, Arc::as_ptr(outer_file), 0, source);
    if below > EP_MAX_NESTS {
        return Err(Errno::ELOOP);
    }
    let parents: Vec<Arc<OpenFile>> = registry.iter().filter_map(Weak::upgrade).collect();
    let above = depth_above(&parents, Arc::as_ptr(outer_file), 0);
    if below.saturating_add(1).saturating_add(above) > EP_MAX_NESTS {
        return Err(Errno::ELOOP);
    }
    // do_epoll_ctl checks loops before ep_find: EEXIST comes after ELOOP.
    if outer.contains(fd, target) {
        return Err(Errno::EEXIST);
    }
    link()?;
    let outcome = outer.add(fd, target, events, data, source)?;
    if !registry
        .iter()
        .any(|parent| Weak::as_ptr(parent) == Arc::as_ptr(outer_file))
    {
        registry.push(Arc::downgrade(outer_file));
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fdtable::SocketFile;
    use std::cell::Cell;
    use std::collections::HashMap;
    use std::sync::atomic::AtomicBool;

    /// Readiness the test sets by hand.
    #[derive(Default)]
    struct Fake {
        poll: RefCell<HashMap<u32, u32>>,
        activity: RefCell<HashMap<u32, Wakeups>>,
        kernel: Cell<bool>,
    }

    impl Fake {
        /// The socket gets `bits` through a wakeup-worthy event.
        fn event(&self, socket: u32, bits: u32) {
            self.poll.borrow_mut().insert(socket, bits);
            self.activity.borrow_mut().entry(socket).or_default().other += 1;
        }
        /// A keyed wakeup: data arrived (`readable`) or write space (`writable`).
        fn keyed(&self, socket: u32, bits: u32, readable: bool) {
            self.poll.borrow_mut().insert(socket, bits);
            let mut activity = self.activity.borrow_mut();
            let wakeups = activity.entry(socket).or_default();
            if readable {
                wakeups.readable += 1;
            } else {
                wakeups.writable += 1;
            }
        }
        /// Readiness changes without an event (data consumed by recv).
        fn set(&self, socket: u32, bits: u32) {
            self.poll.borrow_mut().insert(socket, bits);
        }
    }

    impl Readiness for Fake {
        fn socket_poll(&self, id: SocketId) -> u32 {
            self.poll.borrow().get(&id.index).copied().unwrap_or(0)
        }
        fn socket_wakeups(&self, id: SocketId) -> Wakeups {
            self.activity
                .borrow()
                .get(&id.index)
                .copied()
                .unwrap_or_default()
        }
        fn kernel_ready(&self, _fd: RawFd) -> bool {
            self.kernel.get()
        }
        fn hold(&self, _file: Arc<OpenFile>) {}
    }

    fn socket(index: u32) -> Arc<OpenFile> {
        Arc::new(OpenFile {
            identity: (0, index as u64),
            kind: FileKind::Socket(SocketFile {
                id: SocketId {
                    index,
                    generation: 0,
                },
                ty: libc::SOCK_DGRAM,
                protocol: 0,
                nonblocking: AtomicBool::new(false),
            }),
        })
    }

    fn epoll() -> Arc<OpenFile> {
        Arc::new(OpenFile {
            identity: (0, 0),
            kind: FileKind::Epoll(EpollFile::new()),
        })
    }

    fn harvest(ep: &EpollFile, fake: &Fake, max: usize) -> Vec<(u32, u64)> {
        let mut out = Vec::new();
        ep.harvest(fake, max, &mut out);
        out
    }

    #[test]
    fn level_triggered_reports_while_ready() {
        let fake = Fake::default();
        let ep = EpollFile::new();
        let sock = socket(1);
        ep.add(3, &sock, EPOLLIN, 7, &fake).unwrap();
        assert!(harvest(&ep, &fake, 8).is_empty());
        fake.event(1, EPOLLIN | EPOLLRDNORM | EPOLLOUT);
        // Only the requested bits (plus ERR/HUP) are reported.
        assert_eq!(harvest(&ep, &fake, 8), vec![(EPOLLIN, 7)]);
        assert_eq!(harvest(&ep, &fake, 8), vec![(EPOLLIN, 7)]);
        fake.set(1, EPOLLOUT);
        assert!(harvest(&ep, &fake, 8).is_empty());
        // Errors are always reported.
        fake.event(1, EPOLLERR);
        assert_eq!(harvest(&ep, &fake, 8), vec![(EPOLLERR, 7)]);
    }

    #[test]
    fn edge_triggered_reports_once_per_event() {
        let fake = Fake::default();
        let ep = EpollFile::new();
        let sock = socket(1);
        fake.event(1, EPOLLIN);
        // Ready at ADD: reported once (ep_insert queues it).
        ep.add(3, &sock, EPOLLIN | EPOLLET, 1, &fake).unwrap();
        assert_eq!(harvest(&ep, &fake, 8), vec![(EPOLLIN, 1)]);
        assert!(harvest(&ep, &fake, 8).is_empty());
        // Another datagram: a new edge although the socket stayed readable.
        fake.event(1, EPOLLIN);
        assert_eq!(harvest(&ep, &fake, 8), vec![(EPOLLIN, 1)]);
        assert!(harvest(&ep, &fake, 8).is_empty());
        // An event that leaves the socket not ready for the mask consumes the edge.
        fake.event(1, EPOLLOUT);
        assert!(harvest(&ep, &fake, 8).is_empty());
        // MOD of a ready item re-reports it (ep_modify).
        fake.set(1, EPOLLIN);
        let outcome = ep.modify(3, &sock, EPOLLIN | EPOLLET, 2, &fake).unwrap();
        assert!(outcome.ready);
        assert_eq!(harvest(&ep, &fake, 8), vec![(EPOLLIN, 2)]);
    }

    #[test]
    fn edges_are_filtered_by_the_wakeup_key() {
        let fake = Fake::default();
        let ep = EpollFile::new();
        let reader = socket(1);
        let writer = socket(2);
        ep.add(3, &reader, EPOLLIN | EPOLLET, 1, &fake).unwrap();
        ep.add(4, &writer, EPOLLOUT | EPOLLET, 2, &fake).unwrap();
        fake.keyed(1, EPOLLIN | EPOLLOUT, true);
        fake.keyed(2, EPOLLIN | EPOLLOUT, true);
        // Data arrived on both: only the EPOLLIN item hears it.
        assert_eq!(harvest(&ep, &fake, 8), vec![(EPOLLIN, 1)]);
        // Write space on both, data still unread: only the EPOLLOUT item hears it.
        fake.keyed(1, EPOLLIN | EPOLLOUT, false);
        fake.keyed(2, EPOLLIN | EPOLLOUT, false);
        assert_eq!(harvest(&ep, &fake, 8), vec![(EPOLLOUT, 2)]);
        // An error report reaches everyone (EPOLLERR is in every item).
        fake.event(1, EPOLLIN | EPOLLERR);
        assert_eq!(harvest(&ep, &fake, 8), vec![(EPOLLIN | EPOLLERR, 1)]);
    }

    #[test]
    fn oneshot_disarms_until_mod() {
        let fake = Fake::default();
        let ep = EpollFile::new();
        let sock = socket(1);
        ep.add(3, &sock, EPOLLIN | EPOLLONESHOT, 9, &fake).unwrap();
        fake.event(1, EPOLLIN);
        assert_eq!(harvest(&ep, &fake, 8), vec![(EPOLLIN, 9)]);
        fake.event(1, EPOLLIN | EPOLLERR);
        assert!(
            harvest(&ep, &fake, 8).is_empty(),
            "disarmed: not even EPOLLERR"
        );
        assert!(!ep.shim_ready(&fake, 0));
        ep.modify(3, &sock, EPOLLIN | EPOLLONESHOT, 10, &fake)
            .unwrap();
        assert_eq!(harvest(&ep, &fake, 8), vec![(EPOLLIN | EPOLLERR, 10)]);
        assert!(harvest(&ep, &fake, 8).is_empty());
    }

    #[test]
    fn ctl_errors_follow_the_kernel() {
        let fake = Fake::default();
        let ep = EpollFile::new();
        let sock = socket(1);
        assert_eq!(ep.modify(3, &sock, EPOLLIN, 0, &fake), Err(Errno::ENOENT));
        assert_eq!(ep.delete(3, &sock), Err(Errno::ENOENT));
        assert!(ep.add(3, &sock, EPOLLIN, 0, &fake).unwrap().first_interest);
        assert_eq!(ep.add(3, &sock, EPOLLIN, 0, &fake), Err(Errno::EEXIST));
        // The same socket under another fd number (a dup) is another interest.
        assert!(!ep.add(4, &sock, EPOLLIN, 0, &fake).unwrap().first_interest);
        ep.delete(3, &sock).unwrap();
        assert_eq!(ep.delete(3, &sock), Err(Errno::ENOENT));
        // An EPOLLEXCLUSIVE item cannot be modified.
        let other = socket(2);
        ep.add(5, &other, EPOLLIN | EPOLLEXCLUSIVE, 0, &fake)
            .unwrap();
        assert_eq!(ep.modify(5, &other, EPOLLIN, 0, &fake), Err(Errno::EINVAL));
    }

    #[test]
    fn ready_list_order_and_fairness() {
        let fake = Fake::default();
        let ep = EpollFile::new();
        let sockets: Vec<_> = (1..=3).map(socket).collect();
        for (i, sock) in sockets.iter().enumerate() {
            ep.add(10 + i as RawFd, sock, EPOLLIN, i as u64, &fake)
                .unwrap();
        }
        fake.event(2, EPOLLIN);
        assert_eq!(harvest(&ep, &fake, 8), vec![(EPOLLIN, 1)]);
        fake.event(1, EPOLLIN);
        fake.event(3, EPOLLIN);
        // The one already queued first; level-triggered items rotate, so max 1 takes turns.
        assert_eq!(harvest(&ep, &fake, 1), vec![(EPOLLIN, 1)]);
        assert_eq!(harvest(&ep, &fake, 1), vec![(EPOLLIN, 0)]);
        assert_eq!(harvest(&ep, &fake, 1), vec![(EPOLLIN, 2)]);
        assert_eq!(harvest(&ep, &fake, 1), vec![(EPOLLIN, 1)]);
    }

    #[test]
    fn closed_socket_leaves_the_list() {
        let fake = Fake::default();
        let ep = EpollFile::new();
        let sock = socket(1);
        ep.add(3, &sock, EPOLLIN, 0, &fake).unwrap();
        fake.event(1, EPOLLIN);
        assert!(ep.has_interests());
        drop(sock);
        assert!(harvest(&ep, &fake, 8).is_empty());
        assert!(!ep.has_interests());
    }

    #[test]
    fn nested_epoll_readiness_and_loops() {
        let fake = Fake::default();
        let outer = epoll();
        let inner = epoll();
        let sock = socket(1);
        let inner_ep = epoll_of(&inner).unwrap();
        let outer_ep = epoll_of(&outer).unwrap();
        inner_ep.add(3, &sock, EPOLLIN, 1, &fake).unwrap();
        add_nested(&outer, 4, &inner, EPOLLIN, 2, &fake, || Ok(())).unwrap();
        assert!(harvest(outer_ep, &fake, 8).is_empty());
        fake.event(1, EPOLLIN);
        assert!(outer_ep.shim_ready(&fake, 0));
        assert_eq!(harvest(outer_ep, &fake, 8), vec![(EPOLLIN, 2)]);
        // Polling the inner through the outer consumed nothing.
        assert_eq!(harvest(inner_ep, &fake, 8), vec![(EPOLLIN, 1)]);
        // The kernel side of a nested epoll counts too.
        fake.set(1, 0);
        assert!(harvest(outer_ep, &fake, 8).is_empty());
        *inner_ep.own_fd.lock() = 99;
        fake.kernel.set(true);
        assert_eq!(harvest(outer_ep, &fake, 8), vec![(EPOLLIN, 2)]);
        fake.kernel.set(false);

        // A cycle is ELOOP, and so is adding the same epoll again only EEXIST.
        assert_eq!(
            add_nested(&inner, 5, &outer, EPOLLIN, 0, &fake, || Ok(())),
            Err(Errno::ELOOP)
        );
        assert_eq!(
            add_nested(&outer, 4, &inner, EPOLLIN, 0, &fake, || Ok(())),
            Err(Errno::EEXIST)
        );

        // Depth: a chain of EP_MAX_NESTS + 1 epolls is the longest allowed.
        let chain: Vec<_> = (0..=EP_MAX_NESTS + 1).map(|_| epoll()).collect();
        for i in 0..EP_MAX_NESTS {
            add_nested(&chain[i], 10, &chain[i + 1], EPOLLIN, 0, &fake, || Ok(())).unwrap();
        }
        assert_eq!(
            add_nested(
                &chain[EP_MAX_NESTS],
                10,
                &chain[EP_MAX_NESTS + 1],
                EPOLLIN,
                0,
                &fake,
                || Ok(())
            ),
            Err(Errno::ELOOP)
        );
        // Adding on top of the chain is as deep.
        let top = epoll();
        assert_eq!(
            add_nested(&top, 10, &chain[0], EPOLLIN, 0, &fake, || Ok(())),
            Err(Errno::ELOOP)
        );
    }
}
