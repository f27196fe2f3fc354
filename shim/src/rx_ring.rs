//! A TPACKET_V2 receive ring on the packet socket (packet_mmap.rst): the kernel writes each
//! frame into a shared slot and flips its status to TP_STATUS_USER; we read it in place and
//! hand the slot back with TP_STATUS_KERNEL. Unlike TPACKET_V3, whose blocks reach user space
//! only when full or after a retire timeout, every V2 slot is visible at once, so the ring
//! costs no latency; and "is anything waiting?" is a memory load, not a system call.
//!
//! Slots are sized for the interface MTU. A frame too large for its slot (a 64 KiB GSO frame
//! from the veth peer) still takes its turn in the ring, truncated and flagged TP_STATUS_COPY,
//! while PACKET_COPY_THRESH queues the whole frame on the socket's ordinary receive queue,
//! where the device reads it with recvmmsg (tpacket_rcv).

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU32, Ordering};

use stack::WallTime;

use crate::sys;

/// Slot layout chosen for `mtu`, and the ring's total size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Geometry {
    frame_size: usize,
    block_size: usize,
    block_count: usize,
}

impl Geometry {
    /// A slot holds the V2 header and sockaddr_ll (tpacket_rcv starts the network header at
    /// TPACKET_ALIGN(TPACKET2_HDRLEN + 16) = 80 bytes) and an MTU-sized frame with its Ethernet
    /// header and a VLAN tag, rounded to TPACKET_ALIGNMENT: 1600 bytes for MTU 1500. 8 MiB in
    /// all, about 5000 slots: as many small frames as the 4 MiB socket buffer of the recvmmsg
    /// path holds (truesize ~768 bytes each), so a burst while the driving thread is off the
    /// CPU is absorbed, not dropped.
    fn for_mtu(mtu: u32) -> Geometry {
        const PAGE: usize = 4096;
        const RING_BYTES: usize = 8 << 20;
        let needed = 80 + 18 + mtu.clamp(576, 65_536) as usize;
        let frame_size = needed.next_multiple_of(libc::TPACKET_ALIGNMENT);
        let block_size = (64 * 1024).max(frame_size.next_multiple_of(PAGE));
        let block_count = (RING_BYTES / block_size).max(4);
        Geometry {
            frame_size,
            block_size,
            block_count,
        }
    }

    fn frame_count(&self) -> usize {
        self.block_count * (self.block_size / self.frame_size)
    }

    fn len(&self) -> usize {
        self.block_size * self.block_count
    }
}

pub struct RxRing {
    base: *mut u8,
    geometry: Geometry,
    /// The next slot the kernel fills (it fills them in order).
    next: usize,
}

// SAFETY: the mapping is owned by this value and only used under the engine's lock.
unsafe impl Send for RxRing {}

/// One frame read from the ring (borrowed until `RxRing::release`).
pub struct RingFrame<'a> {
    /// The captured bytes (all of the frame unless `copied` or `truncated`).
    pub bytes: &'a [u8],
    /// The whole frame waits on the socket's receive queue (TP_STATUS_COPY).
    pub copied: bool,
    /// The frame was larger than what the kernel put in the slot, with no copy queued.
    pub truncated: bool,
    pub checksum_trusted: bool,
    pub timestamp: WallTime,
}

impl RxRing {
    /// Switch `fd` to TPACKET_V2, ask for large frames to be copied to the receive queue, set
    /// up the ring and map it. Must run before bind (the ring then sees the first frame).
    pub fn attach(fd: RawFd, mtu: u32) -> Result<RxRing, String> {
        let version = libc::tpacket_versions::TPACKET_V2 as i32;
        sys::setsockopt(fd, libc::SOL_PACKET, libc::PACKET_VERSION, &version)
            .map_err(|errno| format!("PACKET_VERSION: {errno}"))?;
        let copy_threshold: i32 = 1;
        sys::setsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_COPY_THRESH,
            &copy_threshold,
        )
        .map_err(|errno| format!("PACKET_COPY_THRESH: {errno}"))?;
        let geometry = Geometry::for_mtu(mtu);
        let request = libc::tpacket_req {
            tp_block_size: geometry.block_size as u32,
            tp_block_nr: geometry.block_count as u32,
            tp_frame_size: geometry.frame_size as u32,
            tp_frame_nr: geometry.frame_count() as u32,
        };
        sys::setsockopt(fd, libc::SOL_PACKET, libc::PACKET_RX_RING, &request)
            .map_err(|errno| format!("PACKET_RX_RING {geometry:?}: {errno}"))?;
        let base =
            sys::mmap_shared(fd, geometry.len()).map_err(|errno| format!("mmap: {errno}"))?;
        Ok(RxRing {
            base,
            geometry,
            next: 0,
        })
    }

    /// Slots never straddle blocks: each block holds block_size / frame_size of them and
    /// leaves its remainder unused (packet_mmap.rst).
    fn slot(&self, index: usize) -> *mut u8 {
        let per_block = self.geometry.block_size / self.geometry.frame_size;
        let offset = (index / per_block) * self.geometry.block_size
            + (index % per_block) * self.geometry.frame_size;
        // SAFETY: index < frame_count, so the slot lies inside the mapping.
        unsafe { self.base.add(offset) }
    }

    fn status(&self, index: usize) -> &AtomicU32 {
        // SAFETY: tp_status is the first, 4-byte aligned field of the slot's tpacket2_hdr, and
        // the kernel and we only touch it atomically (acquire/release, as packet_mmap.rst's
        // __sync_synchronize pairs do).
        unsafe { &*(self.slot(index) as *const AtomicU32) }
    }

    /// The next frame the kernel handed over, if any. Call `release` when done with it.
    pub fn peek(&self) -> Option<RingFrame<'_>> {
        let status = self.status(self.next).load(Ordering::Acquire);
        if status & libc::TP_STATUS_USER == 0 {
            return None;
        }
        // SAFETY: the slot belongs to us until release; the header is a tpacket2_hdr.
        let header = unsafe { std::ptr::read(self.slot(self.next) as *const libc::tpacket2_hdr) };
        let start = header.tp_mac as usize;
        let captured = header.tp_snaplen as usize;
        let end = (start + captured).min(self.geometry.frame_size);
        let start = start.min(end);
        // SAFETY: start..end lies inside the slot.
        let bytes =
            unsafe { std::slice::from_raw_parts(self.slot(self.next).add(start), end - start) };
        let copied = status & libc::TP_STATUS_COPY != 0;
        Some(RingFrame {
            bytes,
            copied,
            truncated: !copied && (header.tp_len as usize > bytes.len()),
            checksum_trusted: status & (libc::TP_STATUS_CSUMNOTREADY | libc::TP_STATUS_CSUM_VALID)
                != 0,
            timestamp: WallTime {
                sec: i64::from(header.tp_sec),
                nsec: i64::from(header.tp_nsec),
            },
        })
    }

    /// Give the current slot back to the kernel and move on.
    pub fn release(&mut self) {
        self.status(self.next)
            .store(libc::TP_STATUS_KERNEL, Ordering::Release);
        self.next = (self.next + 1) % self.geometry.frame_count();
    }
}

impl Drop for RxRing {
    fn drop(&mut self) {
        sys::munmap(self.base, self.geometry.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_fits_frames_in_blocks() {
        let g = Geometry::for_mtu(1500);
        assert_eq!(g.frame_size, 1600);
        assert_eq!(g.frame_count(), 128 * 40);
        assert_eq!(g.len(), 8 << 20);
        let jumbo = Geometry::for_mtu(9000);
        assert_eq!(jumbo.frame_size % libc::TPACKET_ALIGNMENT, 0);
        assert!(jumbo.frame_size >= 9000 + 98 && jumbo.frame_count() > 500);
        let huge = Geometry::for_mtu(65_536);
        assert!(huge.block_size >= huge.frame_size && huge.block_size.is_multiple_of(4096));
    }
}
