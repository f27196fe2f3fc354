//! The engine end to end, without LD_PRELOAD: a scratch pair of network namespaces joined by a
//! veth, the engine owning 198.18.0.2/24 in one of them, the kernel at 198.18.0.1 in the other.
//!
//! Needs root and iproute2; skipped (with a note) otherwise. Run it alone:
//! `cargo test -p ipshim --test engine_netns -- --nocapture`.

use std::process::Command;
use std::time::{Duration, Instant};

const HOST: &str = "ipshim-enginetest-host";
const PEER: &str = "ipshim-enginetest-peer";

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|status| status.success())
        .unwrap_or(false)
}

fn run_in(namespace: &str, command: &[&str]) -> std::process::Output {
    Command::new("ip")
        .args(["netns", "exec", namespace])
        .args(command)
        .output()
        .expect("ip netns exec")
}

/// Creates the namespaces; deletes them when dropped (also on a failed assertion).
struct Topology;

impl Topology {
    fn create() -> Option<Topology> {
        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } != 0 || !ip(&["-V"]) {
            eprintln!("engine_netns: skipped (needs root and iproute2)");
            return None;
        }
        let _ = Topology::delete();
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
                "up",
            ],
            &["-n", HOST, "link", "set", "lo", "up"],
            &[
                "-n",
                PEER,
                "link",
                "set",
                "eth0",
                "address",
                "02:00:00:00:00:01",
                "up",
            ],
            &["-n", PEER, "link", "set", "lo", "up"],
            &["-n", PEER, "addr", "add", "198.18.0.1/24", "dev", "eth0"],
        ];
        for step in steps {
            assert!(ip(step), "ip {step:?} failed");
        }
        for namespace in [HOST, PEER] {
            run_in(
                namespace,
                &["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"],
            );
            run_in(
                namespace,
                &["sysctl", "-qw", "net.ipv6.conf.eth0.disable_ipv6=1"],
            );
        }
        Some(topology)
    }

    fn delete() -> bool {
        ip(&["netns", "del", HOST]) & ip(&["netns", "del", PEER])
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        Topology::delete();
    }
}

/// Move the calling thread (and the threads it starts later) into `namespace`.
fn enter(namespace: &str) {
    let file = std::fs::File::open(format!("/run/netns/{namespace}")).expect("open netns");
    use std::os::fd::AsRawFd;
    // SAFETY: a valid netns fd; only this thread changes namespace.
    let ret = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(ret, 0, "setns");
}

fn process_cpu_time() -> Duration {
    // SAFETY: rusage is plain data, valid for writes.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let time = |tv: libc::timeval| Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

#[test]
fn peer_ping_is_answered_and_idle_costs_nothing() {
    let Some(_topology) = Topology::create() else {
        return;
    };
    enter(HOST);
    let pcap = format!("/tmp/ipshim-enginetest-{}.pcap", std::process::id());
    // Set before the engine starts; no other thread reads the environment yet.
    std::env::set_var("IPSHIM_IFACE", "eth0");
    std::env::set_var("IPSHIM_ADDR", "198.18.0.2/24");
    std::env::set_var("IPSHIM_GATEWAY", "198.18.0.1");
    std::env::set_var("IPSHIM_PCAP", &pcap);
    std::env::set_var(
        "IPSHIM_LOG",
        std::env::var("IPSHIM_LOG").unwrap_or_else(|_| "info".into()),
    );

    let engine = ipshim::engine::get_or_init().expect("engine starts");
    assert!(
        engine.device_fd() > 100,
        "the packet socket is moved high: {}",
        engine.device_fd()
    );

    // Nothing to do: a wait with a timeout sleeps in the kernel.
    let generation = engine.with_stack(|stack, _| stack.generation());
    let cpu_before = process_cpu_time();
    let started = Instant::now();
    let outcome = engine.wait(&mut [], Some(Duration::from_millis(500)), None, generation);
    let elapsed = started.elapsed();
    let cpu = process_cpu_time() - cpu_before;
    eprintln!("idle wait: {outcome:?} after {elapsed:?}, cpu {cpu:?}");
    assert!(elapsed >= Duration::from_millis(500), "{elapsed:?}");
    assert!(cpu < Duration::from_millis(25), "idle wait burned {cpu:?}");

    // The peer pings us: ARP and ICMP echo are answered by the progress thread.
    let ping = run_in(
        PEER,
        &["ping", "-c", "3", "-i", "0.2", "-W", "2", "198.18.0.2"],
    );
    let ping_output = String::from_utf8_lossy(&ping.stdout);
    eprintln!("{ping_output}");
    eprintln!(
        "counters: {:?}",
        engine.counters_summary(Duration::from_secs(1))
    );

    let tshark = Command::new("tshark")
        .args(["-r", &pcap, "-T", "fields", "-e", "frame.protocols"])
        .output();
    let _ = std::fs::remove_file(&pcap);
    let tshark = tshark.expect("tshark runs");
    let protocols = String::from_utf8_lossy(&tshark.stdout);
    eprintln!("pcap: {protocols}");
    assert!(
        tshark.status.success(),
        "tshark cannot read the capture: {}",
        String::from_utf8_lossy(&tshark.stderr)
    );
    assert!(
        protocols.contains("eth:ethertype:arp"),
        "the capture holds the ARP exchange"
    );

    assert!(ping.status.success(), "ping from the peer was not answered");
    assert!(ping_output.contains("3 received"), "{ping_output}");
    assert!(
        protocols.matches("eth:ethertype:ip:icmp").count() >= 6,
        "requests and replies captured"
    );

    // A thread blocked in wait is woken by a datagram, and processes the frame itself.
    let udp = engine
        .with_stack(|stack, _| stack.socket(libc::SOCK_DGRAM, 0, engine.credentials()))
        .expect("UDP socket");
    let mut address = [0u8; 16];
    address[0..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
    address[2..4].copy_from_slice(&7777u16.to_be_bytes());
    address[4..8].copy_from_slice(&[198, 18, 0, 2]);
    engine
        .with_stack(|stack, _| stack.bind(udp, &address))
        .expect("bind 198.18.0.2:7777");
    let generation = engine.with_stack(|stack, _| stack.generation());
    let progress_frames_before = engine.engine_counters().progress_frames;
    let sender = std::thread::spawn(|| {
        std::thread::sleep(Duration::from_millis(300));
        let script = "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\
            .sendto(b'hello', ('198.18.0.2', 7777))";
        run_in(PEER, &["python3", "-c", script])
    });
    let outcome = engine.wait(&mut [], Some(Duration::from_secs(5)), None, generation);
    assert!(
        sender.join().unwrap().status.success(),
        "the peer could not send"
    );
    assert_eq!(outcome, Ok(ipshim::engine::WaitOutcome::Woken));
    let mut buffer = [0u8; 64];
    let args = stack::RecvArgs {
        capacity: buffer.len(),
        control_capacity: 0,
        flags: 0,
    };
    let received = engine
        .with_stack(|stack, now| stack.recv(now, udp, args, &mut buffer))
        .expect("a datagram is queued");
    assert_eq!(&buffer[..received.len], b"hello");
    assert_eq!(
        engine.engine_counters().progress_frames,
        progress_frames_before,
        "the waiting thread, not the progress thread, processed the datagram"
    );
}
