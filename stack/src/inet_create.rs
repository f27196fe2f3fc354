//! socket(AF_INET, type, protocol): the checks of inet_create (net/ipv4/af_inet.c), in its
//! order, so every refusal carries the kernel's errno: the protocol range (EINVAL), the
//! protocol switch lookup (ESOCKTNOSUPPORT / EPROTONOSUPPORT), the CAP_NET_RAW check of raw
//! sockets (EPERM), then the protocol's own init (ping_init_sock: EACCES). Only then does the
//! stack decide whether it serves the socket.

use crate::config::Credentials;
use crate::errno::Errno;
use crate::socket::sock_type;
use crate::stack::ip_proto;

/// IPPROTO_MAX: IPPROTO_MPTCP (262) + 1. inet_create refuses protocols outside 0..IPPROTO_MAX
/// with EINVAL before looking at the type.
const IPPROTO_MAX: i32 = 263;
/// IPPROTO_MPTCP: registered for SOCK_STREAM by mptcp_proto_init (CONFIG_MPTCP, enabled on
/// this machine's kernel: socket(AF_INET, SOCK_STREAM, 262) succeeds natively).
const IPPROTO_MPTCP: i32 = 262;
/// SOCK_PACKET: __sock_create turns AF_INET + SOCK_PACKET into an AF_PACKET socket.
const SOCK_PACKET: i32 = 10;

/// The protocols an inet socket can be created for (the `.prot` of an inetsw entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InetProtocol {
    Tcp,
    Mptcp,
    Udp,
    UdpLite,
    /// ICMP "ping" sockets (net/ipv4/ping.c).
    Ping,
    Raw,
}

/// One entry of the kernel's protocol switch (struct inet_protosw). A `protocol` of 0
/// (IPPROTO_IP) is the wildcard entry of SOCK_RAW.
struct ProtocolSwitch {
    socket_type: i32,
    protocol: i32,
    prot: InetProtocol,
}

/// inetsw_array plus what registers itself at boot on this kernel (UDP-Lite, MPTCP), each
/// type's entries in list order: a protocol of 0 picks the first entry of its type.
/// SCTP is a module this machine does not have (socket(AF_INET, SOCK_SEQPACKET, 132) answers
/// ESOCKTNOSUPPORT natively), so it is absent, as in the kernel.
const INET_SWITCH: &[ProtocolSwitch] = &[
    ProtocolSwitch {
        socket_type: sock_type::STREAM,
        protocol: ip_proto::TCP as i32,
        prot: InetProtocol::Tcp,
    },
    ProtocolSwitch {
        socket_type: sock_type::STREAM,
        protocol: IPPROTO_MPTCP,
        prot: InetProtocol::Mptcp,
    },
    ProtocolSwitch {
        socket_type: sock_type::DGRAM,
        protocol: ip_proto::UDP as i32,
        prot: InetProtocol::Udp,
    },
    ProtocolSwitch {
        socket_type: sock_type::DGRAM,
        protocol: ip_proto::ICMP as i32,
        prot: InetProtocol::Ping,
    },
    ProtocolSwitch {
        socket_type: sock_type::DGRAM,
        protocol: ip_proto::UDPLITE as i32,
        prot: InetProtocol::UdpLite,
    },
    ProtocolSwitch {
        socket_type: sock_type::RAW,
        protocol: 0,
        prot: InetProtocol::Raw,
    },
];

/// inet_create up to the protocol's init: the protocol the socket would be created for, or
/// the kernel's errno. `ty` has SOCK_NONBLOCK / SOCK_CLOEXEC removed and is below SOCK_MAX
/// (__sys_socket_create's checks, done by the shim).
pub(crate) fn inet_create(
    ty: i32,
    protocol: i32,
    creds: &Credentials,
) -> Result<InetProtocol, Errno> {
    // __sock_create, before any family code: AF_INET + SOCK_PACKET becomes AF_PACKET, whose
    // packet_create checks CAP_NET_RAW first and never looks at the protocol's range.
    if ty == SOCK_PACKET {
        return Err(if creds.cap_net_raw {
            // The kernel would create a packet socket, which is not an inet socket at all:
            // the stack has nothing to serve it with.
            Errno::ESOCKTNOSUPPORT
        } else {
            Errno::EPERM
        });
    }
    if !(0..IPPROTO_MAX).contains(&protocol) {
        return Err(Errno::EINVAL);
    }
    let prot = lookup(ty, protocol)?;
    // "if (sock->type == SOCK_RAW && !kern && !ns_capable(..., CAP_NET_RAW))": after the
    // lookup, so SOCK_RAW with protocol 0 is EPROTONOSUPPORT even without the capability.
    if prot == InetProtocol::Raw && !creds.cap_net_raw {
        return Err(Errno::EPERM);
    }
    // sk->sk_prot->init: ping_init_sock refuses a caller outside net.ipv4.ping_group_range,
    // root included.
    if prot == InetProtocol::Ping && !creds.in_ping_group {
        return Err(Errno::EACCES);
    }
    Ok(prot)
}

/// The `lookup_protocol:` loop of inet_create over one type's entries: an exact non-wildcard
/// match, or protocol 0 taking the entry's protocol, or the entry being the wildcard. No
/// entry for the type is ESOCKTNOSUPPORT; entries that all mismatch, EPROTONOSUPPORT.
fn lookup(ty: i32, protocol: i32) -> Result<InetProtocol, Errno> {
    let mut error = Errno::ESOCKTNOSUPPORT;
    for entry in INET_SWITCH.iter().filter(|entry| entry.socket_type == ty) {
        let matches = if protocol == entry.protocol {
            // Both 0: the wildcard does not match IPPROTO_IP itself (SOCK_RAW, 0).
            protocol != 0
        } else {
            protocol == 0 || entry.protocol == 0
        };
        if matches {
            return Ok(entry.prot);
        }
        error = Errno::EPROTONOSUPPORT;
    }
    Err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: Credentials = Credentials {
        cap_net_raw: true,
        cap_net_bind_service: true,
        cap_net_admin: true,
        in_ping_group: false,
    };
    const NOBODY: Credentials = Credentials {
        cap_net_raw: false,
        cap_net_bind_service: false,
        cap_net_admin: false,
        in_ping_group: false,
    };

    /// Measured natively on this machine's kernel (socket() over types × protocols, as root
    /// and with CAP_NET_RAW dropped); ctests socket_create and socket_create_other show the
    /// same lines.
    #[test]
    fn protocol_range_is_checked_before_the_type() {
        for ty in [
            0,
            sock_type::STREAM,
            sock_type::DGRAM,
            sock_type::RAW,
            4,
            5,
            6,
        ] {
            assert_eq!(inet_create(ty, -1, &ROOT), Err(Errno::EINVAL), "type {ty}");
            assert_eq!(inet_create(ty, 263, &ROOT), Err(Errno::EINVAL), "type {ty}");
        }
        assert_eq!(inet_create(0, 262, &ROOT), Err(Errno::ESOCKTNOSUPPORT));
    }

    #[test]
    fn datagram_protocols() {
        assert_eq!(
            inet_create(sock_type::DGRAM, 0, &NOBODY),
            Ok(InetProtocol::Udp)
        );
        assert_eq!(
            inet_create(sock_type::DGRAM, 17, &NOBODY),
            Ok(InetProtocol::Udp)
        );
        assert_eq!(
            inet_create(sock_type::DGRAM, 136, &NOBODY),
            Ok(InetProtocol::UdpLite)
        );
        for protocol in [2, 6, 132, 255, 256, 262] {
            assert_eq!(
                inet_create(sock_type::DGRAM, protocol, &ROOT),
                Err(Errno::EPROTONOSUPPORT),
                "protocol {protocol}"
            );
        }
    }

    #[test]
    fn ping_needs_the_ping_group_even_for_root() {
        assert_eq!(inet_create(sock_type::DGRAM, 1, &ROOT), Err(Errno::EACCES));
        let member = Credentials {
            in_ping_group: true,
            ..NOBODY
        };
        assert_eq!(
            inet_create(sock_type::DGRAM, 1, &member),
            Ok(InetProtocol::Ping)
        );
    }

    #[test]
    fn stream_protocols() {
        assert_eq!(
            inet_create(sock_type::STREAM, 0, &NOBODY),
            Ok(InetProtocol::Tcp)
        );
        assert_eq!(
            inet_create(sock_type::STREAM, 6, &NOBODY),
            Ok(InetProtocol::Tcp)
        );
        assert_eq!(
            inet_create(sock_type::STREAM, 262, &NOBODY),
            Ok(InetProtocol::Mptcp)
        );
        for protocol in [1, 17, 132, 136] {
            assert_eq!(
                inet_create(sock_type::STREAM, protocol, &ROOT),
                Err(Errno::EPROTONOSUPPORT)
            );
        }
    }

    #[test]
    fn raw_wildcard_then_capability() {
        assert_eq!(
            inet_create(sock_type::RAW, 0, &ROOT),
            Err(Errno::EPROTONOSUPPORT)
        );
        assert_eq!(
            inet_create(sock_type::RAW, 0, &NOBODY),
            Err(Errno::EPROTONOSUPPORT)
        );
        for protocol in [1, 17, 200, 255, 262] {
            assert_eq!(
                inet_create(sock_type::RAW, protocol, &ROOT),
                Ok(InetProtocol::Raw)
            );
            assert_eq!(
                inet_create(sock_type::RAW, protocol, &NOBODY),
                Err(Errno::EPERM)
            );
        }
    }

    #[test]
    fn types_without_entries() {
        for ty in [0, 4, 5, 6] {
            assert_eq!(inet_create(ty, 0, &ROOT), Err(Errno::ESOCKTNOSUPPORT));
            assert_eq!(inet_create(ty, 17, &ROOT), Err(Errno::ESOCKTNOSUPPORT));
        }
    }

    #[test]
    fn packet_sockets_check_only_the_capability() {
        assert_eq!(inet_create(SOCK_PACKET, -1, &NOBODY), Err(Errno::EPERM));
        assert_eq!(inet_create(SOCK_PACKET, 768, &NOBODY), Err(Errno::EPERM));
        assert_eq!(
            inet_create(SOCK_PACKET, 768, &ROOT),
            Err(Errno::ESOCKTNOSUPPORT)
        );
    }
}
