//! A guard that keeps a sleeping thread from spinning on the packet socket.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::device::Device;

/// Keeps a sleeping thread from spinning on a packet socket that reports ready but yields
/// nothing (an unexpected kernel state: it must cost a few wake-ups, never a CPU). Also clears
/// a pending socket error, which would otherwise keep POLLERR raised (see Device::take_error).
#[derive(Default)]
pub(super) struct DeviceWatch {
    /// Consecutive wake-ups with the device ready and no frame taken.
    empty_wakeups: u32,
}

impl DeviceWatch {
    const EMPTY_WAKEUPS_TOLERATED: u32 = 3;
    /// How long the device is left out of the poll set once it misbehaves.
    const PAUSE: Duration = Duration::from_millis(10);

    /// After a pass: `revents` of the device from the sleep before it, frames the pass took.
    pub(super) fn observe(&mut self, device: &Device, revents: i16, frames_taken: u64) {
        if revents & libc::POLLERR != 0 {
            if let Some(errno) = device.take_error() {
                tracing::warn!(%errno, "packet socket error (interface down?)");
            }
        }
        if revents != 0 && frames_taken == 0 {
            self.empty_wakeups += 1;
            if self.empty_wakeups == Self::EMPTY_WAKEUPS_TOLERATED {
                static WARNED: AtomicBool = AtomicBool::new(false);
                if !WARNED.swap(true, Ordering::Relaxed) {
                    tracing::warn!(revents, "the packet socket reports ready with nothing to read; polling it every {:?}", Self::PAUSE);
                }
            }
        } else {
            self.empty_wakeups = 0;
        }
    }

    /// Whether the next sleep may watch the device; if not, how long it may last at most.
    pub(super) fn pause(&self) -> Option<Duration> {
        (self.empty_wakeups >= Self::EMPTY_WAKEUPS_TOLERATED).then_some(Self::PAUSE)
    }
}
