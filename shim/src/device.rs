//! The packet device: one AF_PACKET/SOCK_RAW socket bound to the interface, moving whole
//! Ethernet frames. Receive goes through a TPACKET_V2 ring (`rx_ring`), with recvmmsg for
//! frames too large for a ring slot and as the fallback when no ring can be set up; send is
//! batched with sendmmsg. docs/architecture.md ("Packet device") has the measurements.

use std::os::fd::RawFd;

use stack::{Errno, RxMeta, WallTime};

use crate::rx_ring::RxRing;
use crate::sys;

/// Frames per recvmmsg/sendmmsg call.
pub const BATCH: usize = 32;
/// A receive buffer: a 64 KiB GSO frame (veth hands the packet socket TCP segments of up to
/// 64 KiB of IP) plus its Ethernet header and a VLAN tag, rounded up.
pub const FRAME_BUFFER_LEN: usize = 65_536 + 64;
/// Control space per message: PACKET_AUXDATA (CMSG_SPACE(20) = 40) and SCM_TIMESTAMPNS
/// (CMSG_SPACE(16) = 32), with room to spare.
const CONTROL_LEN: usize = 128;
/// Receive buffer asked for (SO_RCVBUFFORCE when we may, else capped by rmem_max): a burst of
/// GSO frames must not overflow while the driving thread is busy.
const SOCKET_BUFFER_BYTES: i32 = 4 << 20;

/// One received frame, borrowed from the device's buffers.
pub struct RxFrame<'a> {
    pub bytes: &'a [u8],
    pub meta: RxMeta,
}

/// Counters of what the device saw, for the exit log.
#[derive(Debug, Default, Clone, Copy)]
pub struct DeviceCounters {
    pub rx_frames: u64,
    pub rx_truncated: u64,
    pub tx_frames: u64,
    pub tx_dropped: u64,
    /// Frames the kernel dropped because the ring or the socket buffer was full
    /// (PACKET_STATISTICS tp_drops, accumulated).
    pub rx_kernel_drops: u64,
}

impl DeviceCounters {
    pub fn summary(&self) -> String {
        format!(
            "device.rx_frames={} device.rx_truncated={} device.rx_kernel_drops={} device.tx_frames={} device.tx_dropped={}",
            self.rx_frames, self.rx_truncated, self.rx_kernel_drops, self.tx_frames, self.tx_dropped
        )
    }
}

pub struct Device {
    fd: RawFd,
    ifindex: u32,
    /// The TPACKET_V2 ring, when receive goes through one (see `open`).
    ring: Option<RxRing>,
    /// recvmmsg buffers: every frame without a ring, frames too large for a slot with one.
    rx: RxBuffers,
    pub counters: DeviceCounters,
}

/// Buffers for one recvmmsg batch. The mmsghdrs point into `frames` and `control`, which are
/// boxed so the pointers stay valid when the Device moves.
struct RxBuffers {
    frames: Box<[u8]>,
    control: Box<[u8]>,
    iovecs: Box<[libc::iovec]>,
    headers: Box<[libc::mmsghdr]>,
}

// SAFETY: the raw pointers inside the mmsghdrs/iovecs only point into the same struct's boxed
// buffers; the struct is only used under the engine's lock.
unsafe impl Send for RxBuffers {}

impl RxBuffers {
    fn new() -> RxBuffers {
        let mut buffers = RxBuffers {
            frames: vec![0u8; BATCH * FRAME_BUFFER_LEN].into_boxed_slice(),
            control: vec![0u8; BATCH * CONTROL_LEN].into_boxed_slice(),
            // SAFETY: iovec and mmsghdr are plain C structs for which all-zero is valid.
            iovecs: (0..BATCH)
                .map(|_| unsafe { std::mem::zeroed::<libc::iovec>() })
                .collect(),
            headers: (0..BATCH)
                .map(|_| unsafe { std::mem::zeroed::<libc::mmsghdr>() })
                .collect(),
        };
        for i in 0..BATCH {
            buffers.iovecs[i] = libc::iovec {
                iov_base: buffers.frames[i * FRAME_BUFFER_LEN..].as_mut_ptr().cast(),
                iov_len: FRAME_BUFFER_LEN,
            };
        }
        buffers
    }

    /// Re-arm every header (recvmmsg overwrites msg_controllen and msg_flags).
    fn arm(&mut self) {
        for i in 0..BATCH {
            let header = &mut self.headers[i].msg_hdr;
            header.msg_name = std::ptr::null_mut();
            header.msg_namelen = 0;
            header.msg_iov = &mut self.iovecs[i];
            header.msg_iovlen = 1;
            header.msg_control = self.control[i * CONTROL_LEN..].as_mut_ptr().cast();
            header.msg_controllen = CONTROL_LEN;
            header.msg_flags = 0;
            self.headers[i].msg_len = 0;
        }
    }
}

/// struct tpacket_auxdata's first field: the packet status bits.
const AUXDATA_STATUS_LEN: usize = 4;

/// Walk one message's control messages: (checksum trusted, kernel receive timestamp).
fn parse_control(header: &libc::msghdr) -> (bool, Option<WallTime>) {
    let mut checksum_trusted = false;
    let mut timestamp = None;
    // SAFETY: msg_control/msg_controllen describe the control buffer the kernel just filled;
    // CMSG_FIRSTHDR/CMSG_NXTHDR stay within msg_controllen.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(header);
        while !cmsg.is_null() {
            let data = libc::CMSG_DATA(cmsg);
            let data_len = ((*cmsg).cmsg_len as usize).saturating_sub(libc::CMSG_LEN(0) as usize);
            match ((*cmsg).cmsg_level, (*cmsg).cmsg_type) {
                (libc::SOL_PACKET, libc::PACKET_AUXDATA) if data_len >= AUXDATA_STATUS_LEN => {
                    let status = std::ptr::read_unaligned(data.cast::<u32>());
                    // packet_rcv: CSUMNOTREADY when the sender left the checksum to offload
                    // (CHECKSUM_PARTIAL, e.g. a veth peer), CSUM_VALID when it was verified.
                    checksum_trusted =
                        status & (libc::TP_STATUS_CSUMNOTREADY | libc::TP_STATUS_CSUM_VALID) != 0;
                }
                (libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS)
                    if data_len >= std::mem::size_of::<libc::timespec>() =>
                {
                    let ts = std::ptr::read_unaligned(data.cast::<libc::timespec>());
                    timestamp = Some(WallTime {
                        sec: ts.tv_sec,
                        nsec: ts.tv_nsec,
                    });
                }
                _ => {}
            }
            cmsg = libc::CMSG_NXTHDR(header, cmsg);
        }
    }
    (checksum_trusted, timestamp)
}

impl Device {
    /// Open the packet socket on `ifindex`. `promiscuous`: the shim uses a MAC other than the
    /// interface's (IPSHIM_MAC), so frames for it must be accepted by the NIC.
    pub fn open(ifindex: u32, mtu: u32, promiscuous: bool) -> Result<Device, String> {
        let fd = open_packet_socket()?;
        // The ring is the fast path (docs/architecture.md, "Packet device"). If any step of
        // it fails, start over on a fresh socket: a half-configured one (a ring the kernel fills
        // but we could not map) would look readable forever with nothing to read.
        let (fd, ring) = match RxRing::attach(fd, mtu) {
            Ok(ring) => (fd, Some(ring)),
            Err(why) => {
                tracing::debug!("no TPACKET_V2 ring ({why}); receiving with recvmmsg");
                let _ = sys::close(fd);
                (open_packet_socket()?, None)
            }
        };
        let device = Device {
            fd,
            ifindex,
            ring,
            rx: RxBuffers::new(),
            counters: DeviceCounters::default(),
        };
        device.configure(promiscuous)?;
        Ok(device)
    }

    fn configure(&self, promiscuous: bool) -> Result<(), String> {
        let fd = self.fd;
        let on: i32 = 1;
        // Frames we send would otherwise come back to us as PACKET_OUTGOING copies.
        sys::setsockopt(fd, libc::SOL_PACKET, libc::PACKET_IGNORE_OUTGOING, &on)
            .map_err(|errno| format!("PACKET_IGNORE_OUTGOING: {errno}"))?;
        // The checksum status of each frame (see parse_control).
        sys::setsockopt(fd, libc::SOL_PACKET, libc::PACKET_AUXDATA, &on)
            .map_err(|errno| format!("PACKET_AUXDATA: {errno}"))?;
        // The kernel's receive time for SO_TIMESTAMP(NS)/SIOCGSTAMP, as a native socket sees it.
        if let Err(errno) = sys::setsockopt(fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, &on) {
            tracing::debug!(%errno, "SO_TIMESTAMPNS refused; receive times come from clock_gettime");
        }
        if sys::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            &SOCKET_BUFFER_BYTES,
        )
        .is_err()
        {
            let _ = sys::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &SOCKET_BUFFER_BYTES);
        }
        if sys::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_SNDBUFFORCE,
            &SOCKET_BUFFER_BYTES,
        )
        .is_err()
        {
            let _ = sys::setsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, &SOCKET_BUFFER_BYTES);
        }
        // SAFETY: sockaddr_ll is a plain C struct; all-zero is valid.
        let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        address.sll_family = libc::AF_PACKET as u16;
        address.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        address.sll_ifindex = self.ifindex as i32;
        sys::bind(fd, &address)
            .map_err(|errno| format!("bind to ifindex {}: {errno}", self.ifindex))?;
        if promiscuous {
            let request = libc::packet_mreq {
                mr_ifindex: self.ifindex as i32,
                mr_type: libc::PACKET_MR_PROMISC as u16,
                mr_alen: 0,
                mr_address: [0; 8],
            };
            sys::setsockopt(fd, libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &request).map_err(
                |errno| {
                    format!("PACKET_MR_PROMISC (IPSHIM_MAC differs from the interface's): {errno}")
                },
            )?;
        }
        // Multicast for the groups the stack joins: the kernel adds each group's MAC to the
        // device's filter (ip_mc_filter_add → dev_mc_add); the shim cannot name them ahead,
        // so it asks for all multicast frames (PACKET_MR_ALLMULTI, undone when the socket
        // closes; SIOCGIFFLAGS does not show it) and the stack drops the groups it has not
        // joined (ip_check_mc_rcu). veth delivers every frame anyway; a NIC's filter would not.
        let all_multicast = libc::packet_mreq {
            mr_ifindex: self.ifindex as i32,
            mr_type: libc::PACKET_MR_ALLMULTI as u16,
            mr_alen: 0,
            mr_address: [0; 8],
        };
        if let Err(errno) = sys::setsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_ADD_MEMBERSHIP,
            &all_multicast,
        ) {
            tracing::warn!("PACKET_MR_ALLMULTI: {errno}: multicast may not reach the stack");
        }
        Ok(())
    }

    /// Fold the kernel's drop count into the counters (PACKET_STATISTICS resets on read).
    pub fn collect_kernel_drops(&mut self) {
        let mut stats = libc::tpacket_stats {
            tp_packets: 0,
            tp_drops: 0,
        };
        if sys::getsockopt(
            self.fd,
            libc::SOL_PACKET,
            libc::PACKET_STATISTICS,
            &mut stats,
        )
        .is_ok()
        {
            self.counters.rx_kernel_drops += u64::from(stats.tp_drops);
        }
    }

    /// Frames taken off the socket so far (delivered or dropped as truncated): lets a caller
    /// tell a wake-up that brought frames from one that brought nothing.
    pub fn frames_taken(&self) -> u64 {
        self.counters.rx_frames + self.counters.rx_truncated
    }

    /// Read and clear a pending socket error (POLLERR). packet_notifier sets ENETDOWN when the
    /// interface goes down; the recvmmsg path would return it once, but the ring path never
    /// calls recvmmsg while the ring is empty, so without this POLLERR would stay raised.
    pub fn take_error(&self) -> Option<Errno> {
        match sys::getsockopt_int(self.fd, libc::SOL_SOCKET, libc::SO_ERROR) {
            Ok(0) | Err(_) => None,
            Ok(raw) => Some(Errno::from_raw(raw).unwrap_or(Errno::EIO)),
        }
    }

    /// How frames are received, for the start-up log.
    pub fn receive_path(&self) -> &'static str {
        if self.ring.is_some() {
            "tpacket_v2_ring"
        } else {
            "recvmmsg"
        }
    }

    pub fn fd(&self) -> RawFd {
        self.fd
    }

    /// Receive one batch without blocking and hand each frame to `sink`. Returns how many
    /// frames arrived (0: nothing waiting). Truncated frames are counted and dropped.
    pub fn receive_batch(&mut self, mut sink: impl FnMut(RxFrame<'_>)) -> usize {
        let Device {
            fd,
            ring,
            rx,
            counters,
            ..
        } = self;
        let Some(ring) = ring else {
            return receive_queued(*fd, rx, counters, BATCH, &mut sink);
        };
        let mut taken = 0;
        while taken < BATCH {
            let Some(frame) = ring.peek() else { break };
            taken += 1;
            if frame.copied {
                // The slot holds a truncated copy; the whole frame is on the receive queue.
                ring.release();
                receive_queued(*fd, rx, counters, 1, &mut sink);
                continue;
            }
            if frame.truncated {
                counters.rx_truncated += 1;
            } else {
                counters.rx_frames += 1;
                sink(RxFrame {
                    bytes: frame.bytes,
                    meta: RxMeta {
                        checksum_trusted: frame.checksum_trusted,
                        timestamp: frame.timestamp,
                        ..RxMeta::default()
                    },
                });
            }
            ring.release();
        }
        taken
    }

    /// Send frames in sendmmsg batches. A frame the kernel refuses (ENOBUFS from a full qdisc,
    /// ENETDOWN, EMSGSIZE above the device MTU) is counted and dropped, as a NIC drops it.
    pub fn send(&mut self, frames: &[Vec<u8>]) {
        for chunk in frames.chunks(BATCH) {
            // SAFETY: iovec/mmsghdr are plain C structs; all-zero is valid.
            let mut iovecs: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
            let mut headers: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
            for (i, frame) in chunk.iter().enumerate() {
                iovecs[i] = libc::iovec {
                    iov_base: frame.as_ptr() as *mut libc::c_void,
                    iov_len: frame.len(),
                };
                headers[i].msg_hdr.msg_iov = &mut iovecs[i];
                headers[i].msg_hdr.msg_iovlen = 1;
            }
            // `done` counts frames dealt with (sent or dropped); sendmmsg resumes after them.
            let mut done = 0;
            let mut stalls = 0;
            while done < chunk.len() {
                match sys::sendmmsg(self.fd, &mut headers[done..chunk.len()], 0) {
                    Ok(0) => {
                        self.counters.tx_dropped += (chunk.len() - done) as u64;
                        break;
                    }
                    Ok(n) => {
                        self.counters.tx_frames += n as u64;
                        done += n;
                    }
                    Err(Errno::EAGAIN) if stalls < 3 => {
                        // Socket send buffer full: give the device a moment to drain.
                        stalls += 1;
                        let mut pollfd = [libc::pollfd {
                            fd: self.fd,
                            events: libc::POLLOUT,
                            revents: 0,
                        }];
                        let _ = sys::ppoll(
                            &mut pollfd,
                            Some(std::time::Duration::from_millis(10)),
                            None,
                        );
                    }
                    Err(errno) => {
                        // sendmmsg reports the error of the first message it could not send.
                        tracing::debug!(%errno, len = chunk[done].len(), "packet socket dropped a frame");
                        self.counters.tx_dropped += 1;
                        done += 1;
                    }
                }
            }
        }
    }
}

/// A new AF_PACKET/SOCK_RAW socket, high in the descriptor space. Protocol 0 at creation: it
/// receives nothing until bind names the interface and ETH_P_ALL, so no frame of another
/// interface is ever queued (packet(7)).
fn open_packet_socket() -> Result<RawFd, String> {
    let fd = sys::socket(
        libc::AF_PACKET,
        libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
        0,
    )
    .map_err(|errno| match errno {
        Errno::EPERM => {
            "cannot open an AF_PACKET socket: CAP_NET_RAW is needed (EPERM)".to_string()
        }
        other => format!("cannot open an AF_PACKET socket: {other}"),
    })?;
    Ok(sys::move_fd_high(fd))
}

/// Receive up to `max` frames from the socket's receive queue with one recvmmsg.
fn receive_queued(
    fd: RawFd,
    rx: &mut RxBuffers,
    counters: &mut DeviceCounters,
    max: usize,
    sink: &mut impl FnMut(RxFrame<'_>),
) -> usize {
    rx.arm();
    let max = max.min(BATCH);
    let count = match sys::recvmmsg(fd, &mut rx.headers[..max], libc::MSG_DONTWAIT) {
        Ok(count) => count,
        Err(Errno::EAGAIN) => return 0,
        Err(errno) => {
            // ENETDOWN when the interface goes down, ENOBUFS, ...: nothing to read now.
            tracing::debug!(%errno, "packet socket recvmmsg failed");
            return 0;
        }
    };
    let mut fallback_time = None;
    for i in 0..count {
        let header = &rx.headers[i];
        let len = header.msg_len as usize;
        if header.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 || len > FRAME_BUFFER_LEN {
            counters.rx_truncated += 1;
            continue;
        }
        let (checksum_trusted, kernel_time) = parse_control(&header.msg_hdr);
        let timestamp = kernel_time.unwrap_or_else(|| {
            *fallback_time.get_or_insert_with(|| {
                let (sec, nsec) = sys::realtime();
                WallTime { sec, nsec }
            })
        });
        counters.rx_frames += 1;
        let start = i * FRAME_BUFFER_LEN;
        sink(RxFrame {
            bytes: &rx.frames[start..start + len],
            meta: RxMeta {
                checksum_trusted,
                timestamp,
                ..RxMeta::default()
            },
        });
    }
    count
}

impl Drop for Device {
    fn drop(&mut self) {
        let _ = sys::close(self.fd);
    }
}
