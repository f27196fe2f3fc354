//! Option boundaries, checked against this machine's kernel (values measured natively).

use core::cell::Cell;

use super::names::{ip, level, socket};
use super::*;

/// lo and one interface, 198.18.0.2 with index 2, routing everything through it.
fn route_through_link(_: core::net::Ipv4Addr) -> Option<u32> {
    Some(2)
}
const TEST_DEVICES: multicast::Devices<'static> = multicast::Devices {
    link_index: 2,
    link_address: core::net::Ipv4Addr::new(198, 18, 0, 2),
    route_interface: &route_through_link,
};

struct Fixture {
    options: SocketOptions,
    sysctls: Sysctls,
    creds: Credentials,
    error: Cell<Option<Errno>>,
}

impl Fixture {
    fn new() -> Fixture {
        let sysctls = Sysctls {
            rmem_max: 4_194_304,
            ..Sysctls::default()
        };
        Fixture {
            options: SocketOptions::new(&sysctls),
            sysctls,
            creds: Credentials::default(),
            error: Cell::new(None),
        }
    }

    fn set(&mut self, level: i32, name: i32, value: &[u8]) -> Result<(), Errno> {
        let context = OptionContext {
            socket_type: 2,
            protocol: 17,
            creds: &self.creds,
            sysctls: &self.sysctls,
            pending_error: &self.error,
            listening: false,
            path_mtu: None,
            value_len: value.len(),
            devices: &TEST_DEVICES,
            local_port: 0,
        };
        set(&mut self.options, &context, level, name, value)
    }

    fn get(&self, level: i32, name: i32, optlen: usize) -> Result<Vec<u8>, Errno> {
        let context = OptionContext {
            socket_type: 2,
            protocol: 17,
            creds: &self.creds,
            sysctls: &self.sysctls,
            pending_error: &self.error,
            listening: false,
            path_mtu: None,
            value_len: 0,
            devices: &TEST_DEVICES,
            local_port: 0,
        };
        get(&self.options, &context, level, name, optlen)
    }

    fn get_int(&self, level: i32, name: i32) -> i32 {
        let bytes = self.get(level, name, 4).unwrap();
        i32::from_ne_bytes(bytes.try_into().unwrap())
    }
}

fn int(v: i32) -> [u8; 4] {
    v.to_ne_bytes()
}

#[test]
fn buffers_double_clamp_and_floor() {
    let mut f = Fixture::new();
    assert_eq!(f.get_int(level::SOL_SOCKET, socket::SO_RCVBUF), 212_992);
    f.set(level::SOL_SOCKET, socket::SO_RCVBUF, &int(0))
        .unwrap();
    assert_eq!(f.get_int(level::SOL_SOCKET, socket::SO_RCVBUF), 2304);
    f.set(level::SOL_SOCKET, socket::SO_SNDBUF, &int(0))
        .unwrap();
    assert_eq!(f.get_int(level::SOL_SOCKET, socket::SO_SNDBUF), 4608);
    // -1 compares as a huge unsigned value: clamped to rmem_max, doubled.
    f.set(level::SOL_SOCKET, socket::SO_RCVBUF, &int(-1))
        .unwrap();
    assert_eq!(f.get_int(level::SOL_SOCKET, socket::SO_RCVBUF), 8_388_608);
    assert_eq!(
        f.set(level::SOL_SOCKET, socket::SO_RCVBUFFORCE, &int(1)),
        Err(Errno::EPERM)
    );
    f.creds.cap_net_admin = true;
    f.set(level::SOL_SOCKET, socket::SO_RCVBUFFORCE, &int(i32::MAX))
        .unwrap();
    assert_eq!(
        f.get_int(level::SOL_SOCKET, socket::SO_RCVBUF),
        (i32::MAX / 2) * 2
    );
}

#[test]
fn socket_level_length_rules() {
    let mut f = Fixture::new();
    assert_eq!(
        f.set(level::SOL_SOCKET, 999, &int(1)),
        Err(Errno::ENOPROTOOPT)
    );
    assert_eq!(f.set(level::SOL_SOCKET, 999, &[1, 0]), Err(Errno::EINVAL));
    assert_eq!(
        f.set(level::SOL_SOCKET, socket::SO_SNDLOWAT, &int(1)),
        Err(Errno::ENOPROTOOPT)
    );
    assert_eq!(
        f.set(level::SOL_SOCKET, socket::SO_TYPE, &int(1)),
        Err(Errno::ENOPROTOOPT)
    );
    assert_eq!(f.get(level::SOL_SOCKET, 999, 4), Err(Errno::ENOPROTOOPT));
    // Short reads copy a prefix of the int: 8388608 read with 2 bytes is 0x0000.
    f.set(level::SOL_SOCKET, socket::SO_RCVBUF, &int(-1))
        .unwrap();
    assert_eq!(
        f.get(level::SOL_SOCKET, socket::SO_RCVBUF, 2).unwrap(),
        vec![0, 0]
    );
    assert_eq!(
        f.get(level::SOL_SOCKET, socket::SO_TYPE, 0).unwrap(),
        Vec::<u8>::new()
    );
    assert_eq!(
        f.get(level::SOL_SOCKET, socket::SO_TYPE, 100).unwrap(),
        int(2).to_vec()
    );
    assert_eq!(f.get_int(level::SOL_SOCKET, socket::SO_SNDLOWAT), 1);
}

#[test]
fn unknown_levels() {
    let mut f = Fixture::new();
    assert_eq!(f.set(6, 1, &int(1)), Err(Errno::ENOPROTOOPT));
    assert_eq!(f.get(6, 1, 4), Err(Errno::EOPNOTSUPP));
    assert_eq!(f.set(level::SOL_IP, 999, &int(1)), Err(Errno::ENOPROTOOPT));
    assert_eq!(f.get(level::SOL_IP, 999, 4), Err(Errno::ENOPROTOOPT));
}

#[test]
fn ip_int_or_byte() {
    let mut f = Fixture::new();
    // IP_TTL reads the sysctl while unset; a 1-byte read answers one byte.
    assert_eq!(f.get(level::SOL_IP, ip::IP_TTL, 1).unwrap(), vec![64]);
    assert_eq!(f.set(level::SOL_IP, ip::IP_TTL, &[]), Err(Errno::EINVAL));
    assert_eq!(
        f.set(level::SOL_IP, ip::IP_TTL, &int(0)),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        f.set(level::SOL_IP, ip::IP_TTL, &int(256)),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        f.set(level::SOL_IP, ip::IP_TTL, &int(-2)),
        Err(Errno::EINVAL)
    );
    f.set(level::SOL_IP, ip::IP_TTL, &[200]).unwrap();
    assert_eq!(f.get_int(level::SOL_IP, ip::IP_TTL), 200);
    f.set(level::SOL_IP, ip::IP_TTL, &int(-1)).unwrap();
    assert_eq!(f.get_int(level::SOL_IP, ip::IP_TTL), 64);
    // IP_TOS keeps a byte and sets the priority (0x1ff reads 0xff, priority 4).
    f.set(level::SOL_IP, ip::IP_TOS, &int(0x1ff)).unwrap();
    assert_eq!(f.get_int(level::SOL_IP, ip::IP_TOS), 0xff);
    assert_eq!(f.get_int(level::SOL_SOCKET, socket::SO_PRIORITY), 4);
    // An empty IP_PKTINFO value means 0.
    f.set(level::SOL_IP, ip::IP_PKTINFO, &int(1)).unwrap();
    f.set(level::SOL_IP, ip::IP_PKTINFO, &[]).unwrap();
    assert_eq!(f.get_int(level::SOL_IP, ip::IP_PKTINFO), 0);
    assert_eq!(
        f.set(level::SOL_IP, ip::IP_MTU_DISCOVER, &int(6)),
        Err(Errno::EINVAL)
    );
    f.set(level::SOL_IP, ip::IP_MULTICAST_TTL, &int(-1))
        .unwrap();
    assert_eq!(f.get_int(level::SOL_IP, ip::IP_MULTICAST_TTL), 1);
    // A value above 255 is not shortened to one byte.
    f.set(level::SOL_IP, ip::IP_TOS, &int(0)).unwrap();
    assert_eq!(f.get(level::SOL_IP, ip::IP_MTU, 4), Err(Errno::ENOTCONN));
    assert_eq!(
        f.set(level::SOL_IP, ip::IP_TRANSPARENT, &int(1)),
        Err(Errno::EPERM)
    );
}

#[test]
fn timeouts_round_to_ticks() {
    let mut f = Fixture::new();
    let timeval = |s: i64, us: i64| {
        let mut v = s.to_ne_bytes().to_vec();
        v.extend_from_slice(&us.to_ne_bytes());
        v
    };
    f.set(level::SOL_SOCKET, socket::SO_RCVTIMEO_OLD, &timeval(0, 1))
        .unwrap();
    assert_eq!(
        f.get(level::SOL_SOCKET, socket::SO_RCVTIMEO_OLD, 16)
            .unwrap(),
        timeval(0, 4000)
    );
    f.set(
        level::SOL_SOCKET,
        socket::SO_RCVTIMEO_NEW,
        &timeval(0, 1500),
    )
    .unwrap();
    assert_eq!(
        f.get(level::SOL_SOCKET, socket::SO_RCVTIMEO_OLD, 16)
            .unwrap(),
        timeval(0, 4000)
    );
    f.set(level::SOL_SOCKET, socket::SO_RCVTIMEO_OLD, &timeval(-5, 0))
        .unwrap();
    assert_eq!(
        f.get(level::SOL_SOCKET, socket::SO_RCVTIMEO_OLD, 16)
            .unwrap(),
        timeval(0, 0)
    );
    assert_eq!(
        f.options.receive_timeout(),
        Some(core::time::Duration::ZERO)
    );
    assert_eq!(
        f.set(
            level::SOL_SOCKET,
            socket::SO_RCVTIMEO_OLD,
            &timeval(1, 1_000_000)
        ),
        Err(Errno::EDOM)
    );
    assert_eq!(
        f.set(
            level::SOL_SOCKET,
            socket::SO_RCVTIMEO_OLD,
            &timeval(1, 0)[..8]
        ),
        Err(Errno::EINVAL)
    );
    f.set(level::SOL_SOCKET, socket::SO_SNDTIMEO_OLD, &timeval(0, 0))
        .unwrap();
    assert_eq!(f.options.send_timeout(), None);
}

#[test]
fn linger() {
    let mut f = Fixture::new();
    let linger = |on: i32, secs: i32| {
        let mut v = on.to_ne_bytes().to_vec();
        v.extend_from_slice(&secs.to_ne_bytes());
        v
    };
    assert_eq!(
        f.set(level::SOL_SOCKET, socket::SO_LINGER, &linger(1, 5)[..4]),
        Err(Errno::EINVAL)
    );
    f.set(level::SOL_SOCKET, socket::SO_LINGER, &linger(1, 5))
        .unwrap();
    assert_eq!(
        f.get(level::SOL_SOCKET, socket::SO_LINGER, 8).unwrap(),
        linger(1, 5)
    );
    // Measured: l_linger -1 reads back as -1752346657 (MAX_SCHEDULE_TIMEOUT / HZ as an int).
    f.set(level::SOL_SOCKET, socket::SO_LINGER, &linger(1, -1))
        .unwrap();
    assert_eq!(
        f.get(level::SOL_SOCKET, socket::SO_LINGER, 8).unwrap(),
        linger(1, -1_752_346_657)
    );
}

#[test]
fn so_error_reads_once() {
    let f = Fixture::new();
    f.error.set(Some(Errno::ECONNREFUSED));
    assert_eq!(f.get_int(level::SOL_SOCKET, socket::SO_ERROR), 111);
    assert_eq!(f.get_int(level::SOL_SOCKET, socket::SO_ERROR), 0);
}

#[test]
fn timestamps_flags() {
    let mut f = Fixture::new();
    f.set(level::SOL_SOCKET, socket::SO_TIMESTAMPNS_OLD, &int(1))
        .unwrap();
    assert_eq!(f.get_int(level::SOL_SOCKET, socket::SO_TIMESTAMP_OLD), 0);
    assert_eq!(f.get_int(level::SOL_SOCKET, socket::SO_TIMESTAMPNS_OLD), 1);
    f.set(level::SOL_SOCKET, socket::SO_TIMESTAMP_OLD, &int(0))
        .unwrap();
    assert!(!f.options.timestamp && !f.options.timestamp_ns);
}

/// The multicast routing names MRT_BASE..=MRT_MAX go to ip_mroute_{set,get}sockopt, which
/// refuse every socket but a raw IGMP one with EOPNOTSUPP, before the value or its length is
/// looked at; the next name is an ordinary unknown one. Measured natively (names 0..=300 on a
/// UDP socket), ctests bad_args.
#[test]
fn multicast_routing_names_are_eopnotsupp() {
    let mut f = Fixture::new();
    for name in 200..=212 {
        assert_eq!(f.set(level::SOL_IP, name, &int(1)), Err(Errno::EOPNOTSUPP));
        assert_eq!(f.set(level::SOL_IP, name, &[]), Err(Errno::EOPNOTSUPP));
        assert_eq!(f.get(level::SOL_IP, name, 4), Err(Errno::EOPNOTSUPP));
        // Before optlen is read: a negative length does not matter.
        assert_eq!(
            f.get(level::SOL_IP, name, u32::MAX as usize),
            Err(Errno::EOPNOTSUPP)
        );
    }
    for name in [199, 213, 255] {
        assert_eq!(f.set(level::SOL_IP, name, &int(1)), Err(Errno::ENOPROTOOPT));
        assert_eq!(f.get(level::SOL_IP, name, 4), Err(Errno::ENOPROTOOPT));
    }
    // Only at SOL_IP: SOL_SOCKET's 200 is just unknown.
    assert_eq!(f.get(level::SOL_SOCKET, 200, 4), Err(Errno::ENOPROTOOPT));
}

/// SOL_SOCKET flags a UDP socket keeps (values measured natively: any non-zero reads 1).
#[test]
fn oobinline_and_no_check_are_flags() {
    let mut f = Fixture::new();
    for name in [socket::SO_OOBINLINE, socket::SO_NO_CHECK] {
        assert_eq!(f.get_int(level::SOL_SOCKET, name), 0);
        f.set(level::SOL_SOCKET, name, &int(7)).unwrap();
        assert_eq!(f.get_int(level::SOL_SOCKET, name), 1);
        f.set(level::SOL_SOCKET, name, &int(0)).unwrap();
        assert_eq!(f.get_int(level::SOL_SOCKET, name), 0);
        assert_eq!(f.set(level::SOL_SOCKET, name, &[1, 0]), Err(Errno::EINVAL));
    }
}

/// SO_MARK: CAP_NET_RAW or CAP_NET_ADMIN, even to set the current value (measured with each
/// capability dropped in turn); reads back as an int.
#[test]
fn so_mark_needs_net_raw_or_net_admin() {
    let mut f = Fixture::new();
    assert_eq!(f.get_int(level::SOL_SOCKET, socket::SO_MARK), 0);
    assert_eq!(
        f.set(level::SOL_SOCKET, socket::SO_MARK, &int(0)),
        Err(Errno::EPERM)
    );
    f.creds.cap_net_raw = true;
    f.set(level::SOL_SOCKET, socket::SO_MARK, &int(5)).unwrap();
    assert_eq!(f.get_int(level::SOL_SOCKET, socket::SO_MARK), 5);
    f.creds = Credentials {
        cap_net_admin: true,
        ..Credentials::default()
    };
    f.set(level::SOL_SOCKET, socket::SO_MARK, &int(-1)).unwrap();
    assert_eq!(f.get_int(level::SOL_SOCKET, socket::SO_MARK), -1);
}

/// Options of other families (SO_PASSCRED, SO_PASSSEC, SO_PASSPIDFD, SO_PASSRIGHTS) and the
/// TCP-only SO_TXREHASH: EOPNOTSUPP for get and set, after the length checks (measured:
/// optlen 2 is EINVAL, a negative getsockopt length EINVAL).
#[test]
fn options_of_other_families_are_eopnotsupp() {
    let mut f = Fixture::new();
    f.creds.cap_net_admin = true;
    for name in [16, 34, 74, 76, 83] {
        assert_eq!(
            f.set(level::SOL_SOCKET, name, &int(1)),
            Err(Errno::EOPNOTSUPP)
        );
        assert_eq!(f.set(level::SOL_SOCKET, name, &[1, 0]), Err(Errno::EINVAL));
        assert_eq!(f.get(level::SOL_SOCKET, name, 4), Err(Errno::EOPNOTSUPP));
        assert_eq!(f.get(level::SOL_SOCKET, name, 0), Err(Errno::EOPNOTSUPP));
        assert_eq!(
            f.get(level::SOL_SOCKET, name, u32::MAX as usize),
            Err(Errno::EINVAL)
        );
    }
}

/// More SOL_SOCKET flags, measured natively: any non-zero reads 1; SO_DEBUG on needs
/// CAP_NET_ADMIN (EACCES), off does not; SO_BSDCOMPAT accepts anything and reads 0.
#[test]
fn debug_bsdcompat_and_stored_flags() {
    let mut f = Fixture::new();
    assert_eq!(
        f.set(level::SOL_SOCKET, socket::SO_DEBUG, &int(5)),
        Err(Errno::EACCES)
    );
    f.set(level::SOL_SOCKET, socket::SO_DEBUG, &int(0)).unwrap();
    f.creds.cap_net_admin = true;
    f.set(level::SOL_SOCKET, socket::SO_DEBUG, &int(5)).unwrap();
    assert_eq!(f.get_int(level::SOL_SOCKET, socket::SO_DEBUG), 1);
    f.set(level::SOL_SOCKET, socket::SO_BSDCOMPAT, &int(5))
        .unwrap();
    assert_eq!(f.get_int(level::SOL_SOCKET, socket::SO_BSDCOMPAT), 0);
    for name in [
        socket::SO_WIFI_STATUS,
        socket::SO_NOFCS,
        socket::SO_SELECT_ERR_QUEUE,
    ] {
        assert_eq!(f.get_int(level::SOL_SOCKET, name), 0);
        f.set(level::SOL_SOCKET, name, &int(5)).unwrap();
        assert_eq!(f.get_int(level::SOL_SOCKET, name), 1);
    }
}
