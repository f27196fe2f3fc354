//! IPSHIM_PCAP: every frame the shim sends or receives, in the classic pcap format with
//! nanosecond timestamps (magic 0xa1b23c4d, LINKTYPE_ETHERNET), readable by tcpdump, tshark
//! and Wireshark. Records are gathered in memory and written with one raw write(2) per batch
//! (`flush`), so a capture costs one system call per engine pass, not one per frame.

use std::ffi::CString;
use std::os::fd::RawFd;

use stack::{Errno, WallTime};

use crate::sys;

/// The nanosecond-resolution pcap magic (written in host byte order; readers detect the order).
const MAGIC_NANOSECONDS: u32 = 0xa1b2_3c4d;
const VERSION_MAJOR: u16 = 2;
const VERSION_MINOR: u16 = 4;
/// Larger than any frame the device handles (64 KiB GSO frames plus headers).
const SNAPLEN: u32 = 262_144;
const LINKTYPE_ETHERNET: u32 = 1;
/// Flush early when this much is buffered, so a burst never grows the buffer without bound.
const FLUSH_THRESHOLD: usize = 1 << 20;

pub struct PcapWriter {
    fd: RawFd,
    pending: Vec<u8>,
    /// Set after a write error: the capture stops (logged once) instead of failing traffic.
    broken: bool,
}

impl PcapWriter {
    /// Create (truncate) `path` and write the file header.
    pub fn create(path: &str) -> Result<PcapWriter, String> {
        let c_path = CString::new(path).map_err(|_| "the path contains a NUL byte".to_string())?;
        let fd = sys::open(
            &c_path,
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
            0o644,
        )
        .map_err(|errno| format!("cannot create: {errno}"))?;
        let fd = sys::move_fd_high(fd);
        let mut writer = PcapWriter {
            fd,
            pending: Vec::with_capacity(64 * 1024),
            broken: false,
        };
        writer
            .pending
            .extend_from_slice(&MAGIC_NANOSECONDS.to_ne_bytes());
        writer
            .pending
            .extend_from_slice(&VERSION_MAJOR.to_ne_bytes());
        writer
            .pending
            .extend_from_slice(&VERSION_MINOR.to_ne_bytes());
        writer.pending.extend_from_slice(&0i32.to_ne_bytes()); // thiszone: UTC
        writer.pending.extend_from_slice(&0u32.to_ne_bytes()); // sigfigs
        writer.pending.extend_from_slice(&SNAPLEN.to_ne_bytes());
        writer
            .pending
            .extend_from_slice(&LINKTYPE_ETHERNET.to_ne_bytes());
        writer.flush();
        if writer.broken {
            return Err("cannot write the pcap header".into());
        }
        Ok(writer)
    }

    /// Record one frame seen at wall-clock `time`.
    pub fn record(&mut self, time: WallTime, frame: &[u8]) {
        if self.broken {
            return;
        }
        let captured = frame.len().min(SNAPLEN as usize);
        self.pending
            .extend_from_slice(&(time.sec as u32).to_ne_bytes());
        self.pending
            .extend_from_slice(&(time.nsec as u32).to_ne_bytes());
        self.pending
            .extend_from_slice(&(captured as u32).to_ne_bytes());
        self.pending
            .extend_from_slice(&(frame.len() as u32).to_ne_bytes());
        self.pending.extend_from_slice(&frame[..captured]);
        if self.pending.len() >= FLUSH_THRESHOLD {
            self.flush();
        }
    }

    /// Write what is buffered.
    pub fn flush(&mut self) {
        if self.pending.is_empty() || self.broken {
            return;
        }
        if let Err(errno) = sys::write_all(self.fd, &self.pending) {
            self.fail(errno);
        }
        self.pending.clear();
    }

    fn fail(&mut self, errno: Errno) {
        tracing::error!(%errno, "IPSHIM_PCAP: write failed; the capture stops here");
        self.broken = true;
    }
}

impl Drop for PcapWriter {
    fn drop(&mut self) {
        self.flush();
        let _ = sys::close(self.fd);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_record_layout() {
        let path = format!("/tmp/ipshim-pcap-test-{}.pcap", std::process::id());
        {
            let mut writer = PcapWriter::create(&path).unwrap();
            writer.record(
                WallTime {
                    sec: 1_700_000_000,
                    nsec: 123_456_789,
                },
                &[0xab; 60],
            );
        }
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(bytes.len(), 24 + 16 + 60);
        assert_eq!(
            u32::from_ne_bytes(bytes[0..4].try_into().unwrap()),
            MAGIC_NANOSECONDS
        );
        assert_eq!(
            u32::from_ne_bytes(bytes[20..24].try_into().unwrap()),
            LINKTYPE_ETHERNET
        );
        assert_eq!(
            u32::from_ne_bytes(bytes[28..32].try_into().unwrap()),
            123_456_789
        );
        assert_eq!(u32::from_ne_bytes(bytes[32..36].try_into().unwrap()), 60);
    }
}
