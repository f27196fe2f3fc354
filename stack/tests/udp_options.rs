//! Differential test of the socket-option table: every (level, name) of issue #2, read with
//! several buffer lengths and written with boundary values and lengths, compared line by line
//! with what Linux 6.18 answered on this machine (fixtures/udp_options_probe.c, run as root;
//! output in fixtures/udp_options_linux_6.18.txt).

use core::net::Ipv4Addr;

use stack::{Credentials, Errno, Instant, InterfaceConfig, Stack, StackConfig, Sysctls};

const OPTIONS: &[(i32, i32)] = &[
    (1, 2),
    (1, 3),
    (1, 4),
    (1, 5),
    (1, 6),
    (1, 7),
    (1, 8),
    (1, 9),
    (1, 12),
    (1, 13),
    (1, 15),
    (1, 18),
    (1, 19),
    (1, 20),
    (1, 21),
    (1, 29),
    (1, 30),
    (1, 32),
    (1, 33),
    (1, 35),
    (1, 38),
    (1, 39),
    (1, 63),
    (1, 64),
    (1, 66),
    (1, 67),
    (0, 1),
    (0, 2),
    (0, 8),
    (0, 10),
    (0, 11),
    (0, 12),
    (0, 13),
    (0, 14),
    (0, 15),
    (0, 19),
    (0, 33),
    (0, 34),
];
const LENGTHS: [usize; 6] = [0, 1, 2, 4, 8, 16];
const VALUES: [i32; 9] = [-2, -1, 0, 1, 2, 5, 255, 256, 0x1ff];

fn stack() -> Stack {
    Stack::new(StackConfig {
        interface: InterfaceConfig {
            name: "eth0".into(),
            ifindex: 2,
            mac: [2, 0, 0, 0, 0, 2],
            mtu: 1500,
            addr: Ipv4Addr::new(198, 18, 0, 2),
            prefix_len: 24,
            gateway: None,
        },
        // This machine's values when the fixture was taken.
        sysctls: Sysctls {
            rmem_max: 4_194_304,
            wmem_max: 4_194_304,
            ..Sysctls::default()
        },
        random_seed: 1,
    })
}

/// Lines of udp_level_options_probe.c's output, reproduced through the stack.
fn udp_level_lines() -> Vec<String> {
    const NAMES: [i32; 9] = [1, 10, 11, 100, 101, 102, 103, 104, 99];
    const VALUES: [i32; 8] = [-1, 0, 1, 5, 8, 100, 65535, 65536];
    let mut lines = Vec::new();
    for protocol in [17, 136] {
        for name in NAMES {
            for len in [0, 1, 2, 4, 8] {
                let mut stack = stack();
                let id = stack.socket(2, protocol, Credentials::default()).unwrap();
                let result = stack.getsockopt(id, 17, name, len);
                lines.push(format!(
                    "get {protocol} {name} {len} -> {}",
                    outcome(&result)
                ));
            }
        }
    }
    for protocol in [17, 136] {
        for name in NAMES {
            // UDP_CORK is not probed: see the skip note in the probe.
            if name == 1 {
                continue;
            }
            for value in VALUES {
                for len in [2, 4] {
                    let mut stack = stack();
                    let id = stack.socket(2, protocol, Credentials::default()).unwrap();
                    let line = match stack.setsockopt(
                        Instant::ZERO,
                        id,
                        17,
                        name,
                        &value.to_ne_bytes()[..len],
                    ) {
                        Ok(()) => {
                            let bytes = stack.getsockopt(id, 17, name, 4).unwrap();
                            let mut line = "ok get".to_string();
                            for byte in bytes {
                                line.push_str(&format!(" {byte:02x}"));
                            }
                            line
                        }
                        Err(errno) => errno.name().to_string(),
                    };
                    lines.push(format!("set {protocol} {name} {value} {len} -> {line}"));
                }
            }
        }
    }
    lines
}

fn compare(lines: &[String], expected: &str) {
    let mut differences = Vec::new();
    for (ours, kernel) in lines.iter().zip(expected.lines()) {
        if ours != kernel {
            differences.push(format!("kernel: {kernel}\n stack: {ours}"));
        }
    }
    assert_eq!(lines.len(), expected.lines().count());
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );
}

#[test]
fn udp_level_options_match_the_kernel() {
    compare(
        &udp_level_lines(),
        include_str!("fixtures/udp_level_options_linux_6.18.txt"),
    );
}

fn outcome(result: &Result<Vec<u8>, Errno>) -> String {
    match result {
        Ok(bytes) => {
            let mut line = format!("ok len={}", bytes.len());
            for byte in bytes {
                line.push_str(&format!(" {byte:02x}"));
            }
            line
        }
        Err(errno) => errno.name().to_string(),
    }
}

#[test]
fn options_match_the_kernel() {
    // The probe ran as root: CAP_NET_ADMIN and CAP_NET_RAW held.
    let creds = Credentials {
        cap_net_admin: true,
        cap_net_raw: true,
        cap_net_bind_service: true,
        ..Credentials::default()
    };
    let mut lines = Vec::new();
    for &(level, name) in OPTIONS {
        for len in LENGTHS {
            let mut stack = stack();
            let id = stack.socket(2, 0, creds).unwrap();
            let result = stack.getsockopt(id, level, name, len);
            lines.push(format!("get {level} {name} {len} -> {}", outcome(&result)));
        }
    }
    for &(level, name) in OPTIONS {
        for value in VALUES {
            for len in &LENGTHS[..4] {
                let mut stack = stack();
                let id = stack.socket(2, 0, creds).unwrap();
                let mut buffer = [0u8; 32];
                buffer[..4].copy_from_slice(&value.to_ne_bytes());
                if (level, name) == (1, 13) {
                    buffer[..4].copy_from_slice(&1i32.to_ne_bytes());
                    buffer[4..8].copy_from_slice(&value.to_ne_bytes());
                }
                let mut line =
                    match stack.setsockopt(Instant::ZERO, id, level, name, &buffer[..*len]) {
                        Ok(()) => "ok".to_string(),
                        Err(errno) => errno.name().to_string(),
                    };
                if line == "ok" {
                    match stack.getsockopt(id, level, name, 16) {
                        Ok(bytes) => line.push_str(&outcome(&Ok(bytes)).replacen("ok", " get", 1)),
                        Err(errno) => line.push_str(&format!(" get {}", errno.name())),
                    }
                }
                lines.push(format!("set {level} {name} {value} {len} -> {line}"));
            }
        }
    }
    compare(&lines, include_str!("fixtures/udp_options_linux_6.18.txt"));
}
