//! The packet device's GSO path end to end: a scratch pair of network namespaces joined by a
//! veth, the device on one end sending a batch (a run of TCP segments between other frames), a
//! plain packet socket on the other end capturing what arrives. veth has TSO, so the run
//! arrives as one GSO frame; cut as tcp_gso_segment cuts it, it must give back the segments
//! byte for byte (the TCP checksum aside: the kernel leaves the pseudo-header sum for the
//! device, CHECKSUM_PARTIAL), and the other frames must arrive unchanged and in order.
//!
//! Needs root and iproute2; skipped (with a note) otherwise. Run it alone:
//! `cargo test -p ipshim --test device_gso_netns -- --nocapture`.

use std::os::fd::AsRawFd;
use std::process::Command;

use ipshim::device::Device;

const HOST: &str = "ipshim-gsotest-host";
const PEER: &str = "ipshim-gsotest-peer";
const HOST_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
const PEER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|status| status.success())
        .unwrap_or(false)
}

/// Creates the namespaces; deletes them when dropped (also on a failed assertion).
struct Topology;

impl Topology {
    fn create() -> Option<Topology> {
        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } != 0 || !ip(&["-V"]) {
            eprintln!("device_gso_netns: skipped (needs root and iproute2)");
            return None;
        }
        Topology::delete();
        let topology = Topology;
        let steps: &[&[&str]] = &[
            &["netns", "add", HOST],
            &["netns", "add", PEER],
            &[
                "-n", HOST, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns",
                PEER,
            ],
            &[
                "-n",
                HOST,
                "link",
                "set",
                "eth0",
                "address",
                "02:00:00:00:00:02",
            ],
            &[
                "-n",
                PEER,
                "link",
                "set",
                "eth0",
                "address",
                "02:00:00:00:00:01",
            ],
        ];
        for step in steps {
            assert!(ip(step), "ip {step:?} failed");
        }
        // No IPv6 (router solicitations, MLD reports would join the capture), then up.
        for namespace in [HOST, PEER] {
            for key in ["all", "default", "eth0"] {
                let _ = Command::new("ip")
                    .args(["netns", "exec", namespace, "sysctl", "-qw"])
                    .arg(format!("net.ipv6.conf.{key}.disable_ipv6=1"))
                    .status();
            }
            assert!(ip(&["-n", namespace, "link", "set", "eth0", "up"]));
        }
        Some(topology)
    }

    fn delete() {
        ip(&["netns", "del", HOST]);
        ip(&["netns", "del", PEER]);
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        Topology::delete();
    }
}

/// Move the calling thread into `namespace`.
fn enter(namespace: &str) {
    let file = std::fs::File::open(format!("/run/netns/{namespace}")).expect("open netns");
    // SAFETY: a valid netns fd; only this thread changes namespace.
    let ret = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(ret, 0, "setns");
}

fn eth0_index() -> u32 {
    // SAFETY: a NUL-terminated name.
    let index = unsafe { libc::if_nametoindex(c"eth0".as_ptr()) };
    assert_ne!(index, 0, "eth0 exists");
    index
}

/// A packet socket receiving every frame that comes in on eth0 (not the ones sent).
fn capture_socket() -> i32 {
    let protocol = (libc::ETH_P_ALL as u16).to_be();
    // SAFETY: plain socket calls on a fresh descriptor with a zeroed sockaddr_ll.
    unsafe {
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(protocol));
        assert!(fd >= 0, "packet socket");
        let on: i32 = 1;
        libc::setsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_IGNORE_OUTGOING,
            (&on as *const i32).cast(),
            4,
        );
        let mut address: libc::sockaddr_ll = std::mem::zeroed();
        address.sll_family = libc::AF_PACKET as u16;
        address.sll_protocol = protocol;
        address.sll_ifindex = eth0_index() as i32;
        let ret = libc::bind(
            fd,
            (&address as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        );
        assert_eq!(ret, 0, "bind");
        fd
    }
}

/// The next IPv4 frame on `fd`, waiting at most 5 s (a bound, not a measurement).
fn next_ipv4_frame(fd: i32) -> Option<Vec<u8>> {
    let mut buffer = vec![0u8; 70_000];
    for _ in 0..100 {
        let mut pollfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut pollfd, 1, 5000) } <= 0 {
            return None;
        }
        // SAFETY: the buffer is valid for its length.
        let len = unsafe {
            libc::recv(
                fd,
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                libc::MSG_TRUNC,
            )
        };
        assert!(len > 0 && (len as usize) <= buffer.len(), "recv: {len}");
        let frame = &buffer[..len as usize];
        if frame.len() >= 34 && frame[12..14] == [0x08, 0x00] {
            return Some(frame.to_vec());
        }
    }
    None
}

fn ones_sum(bytes: &[u8]) -> u32 {
    let mut sum = 0u32;
    for word in bytes.chunks(2) {
        sum += u32::from(word[0]) << 8 | u32::from(*word.get(1).unwrap_or(&0));
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// An IPv4 frame with a correct header checksum, host to peer.
fn ipv4_frame(id: u16, protocol: u8, transport: &[u8]) -> Vec<u8> {
    let mut frame = PEER_MAC.to_vec();
    frame.extend_from_slice(&HOST_MAC);
    frame.extend_from_slice(&[0x08, 0x00, 0x45, 0x00]);
    frame.extend_from_slice(&((20 + transport.len()) as u16).to_be_bytes());
    frame.extend_from_slice(&id.to_be_bytes());
    frame.extend_from_slice(&[0x40, 0, 64, protocol, 0, 0, 198, 18, 0, 2, 198, 18, 0, 1]);
    let check = !fold(ones_sum(&frame[14..34]));
    frame[24..26].copy_from_slice(&check.to_be_bytes());
    frame.extend_from_slice(transport);
    frame
}

/// A TCP segment as the stack writes it: timestamps option, full checksum.
fn tcp_frame(id: u16, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut tcp = vec![0x9c, 0x40, 0x14, 0x51];
    tcp.extend_from_slice(&seq.to_be_bytes());
    tcp.extend_from_slice(&77u32.to_be_bytes());
    tcp.extend_from_slice(&[0x80, flags, 0x01, 0xf6, 0, 0, 0, 0]);
    tcp.extend_from_slice(&[1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 5]);
    tcp.extend_from_slice(payload);
    let pseudo = ones_sum(&[198, 18, 0, 2, 198, 18, 0, 1]) + 6 + tcp.len() as u32;
    let check = !fold(pseudo + ones_sum(&tcp));
    tcp[16..18].copy_from_slice(&check.to_be_bytes());
    ipv4_frame(id, 6, &tcp)
}

/// tcp_gso_segment + inet_gso_segment on a received frame (a plain frame comes back alone).
fn segment(frame: &[u8], mss: usize) -> Vec<Vec<u8>> {
    if frame[23] != 6 {
        return vec![frame.to_vec()];
    }
    let headers = 34 + usize::from(frame[34 + 12] >> 4) * 4;
    let payload = &frame[headers..];
    if payload.len() <= mss {
        return vec![frame.to_vec()];
    }
    let id = u16::from_be_bytes([frame[18], frame[19]]);
    let seq = u32::from_be_bytes([frame[38], frame[39], frame[40], frame[41]]);
    let count = payload.len().div_ceil(mss);
    (0..count)
        .map(|k| {
            let mut segment = frame[..headers].to_vec();
            segment.extend_from_slice(&payload[k * mss..((k + 1) * mss).min(payload.len())]);
            let tot_len = (segment.len() - 14) as u16;
            segment[16..18].copy_from_slice(&tot_len.to_be_bytes());
            segment[18..20].copy_from_slice(&id.wrapping_add(k as u16).to_be_bytes());
            segment[24..26].fill(0);
            let check = !fold(ones_sum(&segment[14..34]));
            segment[24..26].copy_from_slice(&check.to_be_bytes());
            segment[38..42].copy_from_slice(&seq.wrapping_add((k * mss) as u32).to_be_bytes());
            if k + 1 < count {
                segment[47] &= !0x09;
            }
            if k > 0 {
                segment[47] &= !0x80;
            }
            segment
        })
        .collect()
}

/// The frame with its TCP checksum field cleared (a TCP frame), or as it is.
fn without_tcp_checksum(frame: &[u8]) -> Vec<u8> {
    let mut frame = frame.to_vec();
    if frame[23] == 6 {
        frame[50..52].fill(0);
    }
    frame
}

#[test]
fn a_run_of_segments_leaves_as_one_gso_frame_and_cuts_back_into_them() {
    let Some(_topology) = Topology::create() else {
        return;
    };
    enter(PEER);
    let capture = capture_socket();
    enter(HOST);
    let mut device = Device::open(eth0_index(), 1500, false).expect("device opens");
    assert_eq!(device.send_path(), "sendmmsg_gso");

    let mss = 1000;
    let udp = ipv4_frame(100, 17, &[0x30, 0x39, 0x30, 0x39, 0, 12, 0, 0, 1, 2, 3, 4]);
    let mut frames = vec![udp];
    // Ten segments, PSH on the last, ids and sequence numbers consecutive.
    for k in 0..10u16 {
        let flags = if k == 9 { 0x18 } else { 0x10 };
        let payload: Vec<u8> = (0..mss).map(|i| (i as u16 * 3 + k) as u8).collect();
        frames.push(tcp_frame(
            200 + k,
            5000 + u32::from(k) * mss as u32,
            flags,
            &payload,
        ));
    }
    // A pure ACK and a short segment that does not continue the run (another sequence).
    frames.push(tcp_frame(210, 15000, 0x10, &[]));
    frames.push(tcp_frame(211, 90000, 0x18, b"tail"));
    device.send(&frames);

    assert_eq!(device.counters.tx_frames, frames.len() as u64);
    assert_eq!(device.counters.tx_dropped, 0);
    assert_eq!(device.counters.tx_gso_frames, 1);
    assert_eq!(device.counters.tx_gso_segments, 10);
    assert_eq!(device.counters.tx_gso_fallbacks, 0);

    let mut received = Vec::new();
    let mut arrived = 0;
    while received.len() < frames.len() {
        let frame = next_ipv4_frame(capture).expect("the frames arrive");
        arrived += 1;
        received.extend(segment(&frame, mss));
    }
    assert_eq!(arrived, 4, "the run arrives as one frame");
    let expected: Vec<Vec<u8>> = frames.iter().map(|f| without_tcp_checksum(f)).collect();
    let got: Vec<Vec<u8>> = received.iter().map(|f| without_tcp_checksum(f)).collect();
    assert_eq!(got, expected);
    // SAFETY: our own descriptor.
    unsafe { libc::close(capture) };
}
