//! Wake eventfds: one per thread that ever waited, created on its first wait and high in the
//! descriptor space. A writer signals one to make that thread's `ppoll` return.

use std::cell::RefCell;
use std::os::fd::RawFd;
use std::sync::Arc;

use parking_lot::Mutex;
use stack::Errno;

use crate::sys;

/// A thread's wake eventfd. Shared through Arc so a waker copied out of the registry can be
/// written after the lock is dropped without ever hitting a closed (and reused) fd number.
pub struct WakeFd {
    fd: RawFd,
}

impl WakeFd {
    fn new() -> Result<WakeFd, Errno> {
        Ok(WakeFd {
            fd: sys::move_fd_high(sys::eventfd()?),
        })
    }
    pub fn fd(&self) -> RawFd {
        self.fd
    }
}

impl Drop for WakeFd {
    fn drop(&mut self) {
        let _ = sys::close(self.fd);
    }
}

/// Who to wake once the lock is released.
#[derive(Default)]
pub(super) struct Wakeups {
    pub(super) waiters: Vec<Arc<WakeFd>>,
    pub(super) progress: Option<RawFd>,
    /// SIGURG and O_ASYNC signals for socket owners (async_signals.rs).
    pub(super) signals: Vec<crate::async_signals::Pending>,
}

impl Wakeups {
    pub(super) fn signal(self) {
        for waker in &self.waiters {
            sys::eventfd_signal(waker.fd);
        }
        if let Some(fd) = self.progress {
            sys::eventfd_signal(fd);
        }
        if !self.signals.is_empty() {
            crate::async_signals::deliver_or_defer(self.signals);
        }
    }
}

/// Wake eventfds of threads that exited, handed to new threads (a program that starts and
/// ends many threads does not leak descriptors).
static SPARE_WAKERS: Mutex<Vec<Arc<WakeFd>>> = Mutex::new(Vec::new());

thread_local! {
    /// This thread's wake eventfd, created on its first wait; returned to SPARE_WAKERS
    /// when the thread exits.
    static THREAD_WAKER: RefCell<ThreadWaker> = const { RefCell::new(ThreadWaker(None)) };
}

struct ThreadWaker(Option<Arc<WakeFd>>);

impl Drop for ThreadWaker {
    fn drop(&mut self) {
        if let Some(waker) = self.0.take() {
            SPARE_WAKERS.lock().push(waker);
        }
    }
}

/// The calling thread's wake eventfd.
pub(super) fn thread_waker() -> Result<Arc<WakeFd>, Errno> {
    let cached = THREAD_WAKER.try_with(|cell| -> Result<Arc<WakeFd>, Errno> {
        let mut slot = cell.borrow_mut();
        if let Some(waker) = &slot.0 {
            return Ok(waker.clone());
        }
        let waker = new_waker()?;
        slot.0 = Some(waker.clone());
        Ok(waker)
    });
    // During thread teardown the thread-local is gone: use an uncached waker.
    cached.unwrap_or_else(|_| new_waker())
}

fn new_waker() -> Result<Arc<WakeFd>, Errno> {
    if let Some(waker) = SPARE_WAKERS.lock().pop() {
        sys::eventfd_drain(waker.fd);
        return Ok(waker);
    }
    WakeFd::new().map(Arc::new)
}
