//! STUB (contract): the stack, the device, and who drives them. See docs/shim-internals.md.
use std::os::fd::RawFd;
use std::time::Duration;

use stack::{Errno, Instant, Stack};

pub struct Engine {}

/// The engine if some AF_INET socket already started it; None otherwise (nothing to drive).
pub fn get() -> Option<&'static Engine> {
    todo!()
}

/// Start the engine on first use (config, packet socket, progress thread).
pub fn get_or_init() -> Result<&'static Engine, Errno> {
    todo!()
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

impl Engine {
    /// Lock the stack, process frames already waiting on the packet socket, run `f` with the
    /// current time, transmit what the stack produced, wake other waiters if readiness moved.
    pub fn with_stack<R>(&self, _f: impl FnOnce(&mut Stack, Instant) -> R) -> R {
        todo!()
    }

    /// The calling thread waits until the stack's generation differs from `seen_generation`,
    /// one of `kernel_fds` is ready, `timeout` passes, or a signal arrives (Err(EINTR)).
    /// While waiting the thread itself watches the packet socket and processes what arrives
    /// (DESIGN.md: the thread that waits drives). `sigmask` as for ppoll.
    pub fn wait(
        &self,
        _kernel_fds: &mut [libc::pollfd],
        _timeout: Option<Duration>,
        _sigmask: Option<&libc::sigset_t>,
        _seen_generation: u64,
    ) -> Result<WaitOutcome, Errno> {
        todo!()
    }

    /// The packet socket (for diagnostics).
    pub fn device_fd(&self) -> RawFd {
        todo!()
    }
}
