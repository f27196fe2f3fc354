//! The packet device: one AF_PACKET/SOCK_RAW socket bound to the interface, moving whole
//! Ethernet frames. Receive goes through a TPACKET_V2 ring (`rx_ring`), with recvmmsg for
//! frames too large for a ring slot and as the fallback when no ring can be set up; send is
//! batched with sendmmsg, through a second, send-only packet socket with PACKET_VNET_HDR so
//! that runs of TCP segments leave as one GSO frame (`gso`). docs/architecture.md ("Packet
//! device") has the measurements.

use std::os::fd::RawFd;

use stack::{Errno, RxMeta, WallTime};

use crate::gso::{self, GsoFrame, VnetHeader, VNET_HDR_LEN};
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
    /// GSO frames the kernel took, and the segments (counted in tx_frames too) they carried.
    pub tx_gso_frames: u64,
    pub tx_gso_segments: u64,
    /// GSO frames the kernel refused, whose segments were then sent one by one.
    pub tx_gso_fallbacks: u64,
    /// Frames the kernel dropped because the ring or the socket buffer was full
    /// (PACKET_STATISTICS tp_drops, accumulated).
    pub rx_kernel_drops: u64,
}

impl DeviceCounters {
    pub fn summary(&self) -> String {
        format!(
            "device.rx_frames={} device.rx_truncated={} device.rx_kernel_drops={} device.tx_frames={} device.tx_dropped={} device.tx_gso_frames={} device.tx_gso_segments={} device.tx_gso_fallbacks={}",
            self.rx_frames,
            self.rx_truncated,
            self.rx_kernel_drops,
            self.tx_frames,
            self.tx_dropped,
            self.tx_gso_frames,
            self.tx_gso_segments,
            self.tx_gso_fallbacks
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
    /// The send-only socket with PACKET_VNET_HDR (see `open_vnet_sender`); None: frames go
    /// out on `fd`, one by one, without a virtio_net_hdr.
    vnet_fd: Option<RawFd>,
    /// Whether runs of TCP segments are coalesced into GSO frames. Cleared when the kernel
    /// refuses one with EINVAL (it does not take our virtio_net_hdr): then never again.
    gso: bool,
    pub counters: DeviceCounters,
}

/// What one sendmmsg message carries: one frame as it is, or a run of TCP segments as one
/// GSO frame.
enum TxUnit {
    Frame(usize),
    Gso {
        first: usize,
        count: usize,
        frame: GsoFrame,
    },
}

impl TxUnit {
    fn frames(&self) -> std::ops::Range<usize> {
        match self {
            TxUnit::Frame(index) => *index..*index + 1,
            TxUnit::Gso { first, count, .. } => *first..*first + *count,
        }
    }
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
        let vnet_fd = match open_vnet_sender(ifindex) {
            Ok(vnet_fd) => Some(vnet_fd),
            Err(why) => {
                tracing::debug!("no PACKET_VNET_HDR socket ({why}); TCP segments leave one by one");
                None
            }
        };
        let device = Device {
            fd,
            ifindex,
            ring,
            rx: RxBuffers::new(),
            gso: vnet_fd.is_some(),
            vnet_fd,
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

    /// How TCP segments leave, for the start-up log.
    pub fn send_path(&self) -> &'static str {
        match (self.vnet_fd, self.gso) {
            (Some(_), true) => "sendmmsg_gso",
            _ => "sendmmsg",
        }
    }

    /// Send frames in sendmmsg batches; consecutive TCP segments that the kernel's
    /// segmentation would give back unchanged go as one GSO frame (`gso`). A frame the kernel
    /// refuses (ENOBUFS from a full qdisc, ENETDOWN, EMSGSIZE above the device MTU) is counted
    /// and dropped, as a NIC drops it; a refused GSO frame is sent again segment by segment.
    pub fn send(&mut self, frames: &[Vec<u8>]) {
        match self.vnet_fd {
            Some(vnet_fd) => self.send_units(vnet_fd, true, self.gso, frames),
            None => self.send_units(self.fd, false, false, frames),
        }
    }

    /// `vnet`: `fd` has PACKET_VNET_HDR, so every message starts with a virtio_net_hdr.
    /// `coalesce`: build GSO frames (only with `vnet`).
    fn send_units(&mut self, fd: RawFd, vnet: bool, coalesce: bool, frames: &[Vec<u8>]) {
        let mut units = Vec::with_capacity(frames.len().min(BATCH));
        let mut next = 0;
        while next < frames.len() {
            let count = if coalesce {
                gso::run_length(&frames[next..])
            } else {
                1
            };
            let unit = match (count > 1).then(|| gso::build(&frames[next..next + count])) {
                Some(Some(frame)) => TxUnit::Gso {
                    first: next,
                    count,
                    frame,
                },
                _ => TxUnit::Frame(next),
            };
            next = unit.frames().end;
            units.push(unit);
        }
        for chunk in units.chunks(BATCH) {
            self.send_chunk(fd, vnet, frames, chunk);
        }
    }

    /// One sendmmsg batch of at most BATCH units.
    fn send_chunk(&mut self, fd: RawFd, vnet: bool, frames: &[Vec<u8>], chunk: &[TxUnit]) {
        let plain = VnetHeader::PLAIN.to_bytes();
        let vnet_headers: Vec<[u8; VNET_HDR_LEN]> = chunk
            .iter()
            .map(|unit| match unit {
                TxUnit::Frame(_) => plain,
                TxUnit::Gso { frame, .. } => frame.vnet.to_bytes(),
            })
            .collect();
        let iovec = |bytes: &[u8]| libc::iovec {
            iov_base: bytes.as_ptr() as *mut libc::c_void,
            iov_len: bytes.len(),
        };
        // All iovecs first, then the headers that point into them (the Vec no longer grows).
        let mut iovecs = Vec::with_capacity(chunk.len() * 2 + frames.len());
        let mut spans = Vec::with_capacity(chunk.len());
        for (unit, vnet_header) in chunk.iter().zip(&vnet_headers) {
            let start = iovecs.len();
            if vnet {
                iovecs.push(iovec(vnet_header));
            }
            match unit {
                TxUnit::Frame(index) => iovecs.push(iovec(&frames[*index])),
                TxUnit::Gso {
                    first,
                    count,
                    frame,
                } => {
                    // The fixed-up headers, then each segment's payload, gathered by the
                    // kernel without a copy here.
                    iovecs.push(iovec(&frame.headers));
                    for segment in &frames[*first..*first + *count] {
                        iovecs.push(iovec(&segment[frame.payload_offset..]));
                    }
                }
            }
            spans.push((start, iovecs.len() - start));
        }
        let mut headers: Vec<libc::mmsghdr> = spans
            .iter()
            .map(|&(start, len)| {
                // SAFETY: mmsghdr is a plain C struct; all-zero is valid.
                let mut header: libc::mmsghdr = unsafe { std::mem::zeroed() };
                header.msg_hdr.msg_iov = iovecs[start..].as_mut_ptr();
                header.msg_hdr.msg_iovlen = len;
                header
            })
            .collect();
        // `done` counts units dealt with (sent or dropped); sendmmsg resumes after them.
        let mut done = 0;
        let mut stalls = 0;
        while done < chunk.len() {
            match sys::sendmmsg(fd, &mut headers[done..], 0) {
                Ok(0) => {
                    for unit in &chunk[done..] {
                        self.counters.tx_dropped += unit.frames().len() as u64;
                    }
                    break;
                }
                Ok(n) => {
                    for unit in &chunk[done..done + n] {
                        let segments = unit.frames().len() as u64;
                        self.counters.tx_frames += segments;
                        if let TxUnit::Gso { .. } = unit {
                            self.counters.tx_gso_frames += 1;
                            self.counters.tx_gso_segments += segments;
                        }
                    }
                    done += n;
                }
                Err(Errno::EAGAIN) if stalls < 3 => {
                    // Socket send buffer full: give the device a moment to drain.
                    stalls += 1;
                    let mut pollfd = [libc::pollfd {
                        fd,
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
                    let unit = &chunk[done];
                    done += 1;
                    if let TxUnit::Gso { first, count, .. } = unit {
                        // Never lose segments to the offload: send them one by one.
                        self.counters.tx_gso_fallbacks += 1;
                        if errno == Errno::EINVAL && self.gso {
                            tracing::warn!("the packet socket refused a GSO frame (EINVAL); TCP segments leave one by one from now on");
                            self.gso = false;
                        } else {
                            tracing::debug!(%errno, segments = count, "GSO frame refused; sending its segments one by one");
                        }
                        self.send_units(fd, vnet, false, &frames[*first..*first + *count]);
                        continue;
                    }
                    tracing::debug!(%errno, len = frames[unit.frames().start].len(), "packet socket dropped a frame");
                    self.counters.tx_dropped += 1;
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

/// The send-only packet socket: PACKET_VNET_HDR (packet(7)) so that a frame may be a GSO
/// frame, bound to the interface with protocol 0 so that it receives nothing (packet_do_bind
/// registers no hook for protocol 0) and the receive socket, its ring and its PACKET_AUXDATA
/// stay as they are. packet_snd takes the protocol from the Ethernet header
/// (packet_parse_headers). Frames sent here reach no packet socket of ours: the receive
/// socket has PACKET_IGNORE_OUTGOING.
fn open_vnet_sender(ifindex: u32) -> Result<RawFd, String> {
    let fd = open_packet_socket()?;
    let configured = (|| {
        let on: i32 = 1;
        sys::setsockopt(fd, libc::SOL_PACKET, libc::PACKET_VNET_HDR, &on)
            .map_err(|errno| format!("PACKET_VNET_HDR: {errno}"))?;
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
        address.sll_protocol = 0;
        address.sll_ifindex = ifindex as i32;
        sys::bind(fd, &address).map_err(|errno| format!("bind to ifindex {ifindex}: {errno}"))
    })();
    match configured {
        Ok(()) => Ok(fd),
        Err(why) => {
            let _ = sys::close(fd);
            Err(why)
        }
    }
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
        if let Some(vnet_fd) = self.vnet_fd {
            let _ = sys::close(vnet_fd);
        }
    }
}
