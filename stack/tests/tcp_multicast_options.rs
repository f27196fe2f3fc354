//! The multicast options on a TCP socket, in virtual time: the interface is named by its
//! index (2) or its address (198.18.0.2) as on a UDP socket, and the memberships a TCP
//! socket may hold change the interface's groups. Expected values measured on Linux 6.18
//! (ctests/cases/sockopt_ip_multicast.c, its TCP section).

mod tcp_harness;

mod tcp {
    use core::net::Ipv4Addr;

    use super::tcp_harness::*;
    use stack::sockopt::multicast::HostChange;
    use stack::{Errno, SocketId};

    const SOL_IP: i32 = 0;
    const IP_MULTICAST_IF: i32 = 32;
    const IP_ADD_MEMBERSHIP: i32 = 35;
    const IP_MSFILTER: i32 = 41;
    const IP_ADD_SOURCE_MEMBERSHIP: i32 = 39;
    const IP_UNICAST_IF: i32 = 50;
    const MCAST_JOIN_GROUP: i32 = 42;

    const GROUP: Ipv4Addr = Ipv4Addr::new(239, 1, 1, 5);

    fn octets(addresses: &[Ipv4Addr]) -> Vec<u8> {
        addresses.iter().flat_map(|a| a.octets()).collect()
    }

    fn set(script: &mut Script, id: SocketId, name: i32, value: &[u8]) -> Result<(), Errno> {
        let now = script.now;
        script
            .tcp
            .setsockopt(now, &script.net, id, SOL_IP, name, value)
    }

    /// ip_mreq_source: group, interface address, source.
    fn join_source(script: &mut Script, id: SocketId, interface: Ipv4Addr) -> Result<(), Errno> {
        let request = octets(&[GROUP, interface, PEER]);
        set(script, id, IP_ADD_SOURCE_MEMBERSHIP, &request)
    }

    #[test]
    fn the_interface_is_found_by_its_address() {
        let mut script = Script::new();
        let id = script.socket();
        assert_eq!(join_source(&mut script, id, OURS), Ok(()));
        assert_eq!(
            join_source(&mut script, id, OURS),
            Err(Errno::EADDRNOTAVAIL)
        );
        assert_eq!(
            join_source(&mut script, id, Ipv4Addr::new(198, 18, 0, 9)),
            Err(Errno::ENODEV)
        );
        // IP_MSFILTER's get names the membership by the same address: INCLUDE, one source.
        // imsf_multiaddr, imsf_interface, imsf_fmode, imsf_numsrc: room for one source.
        let mut header = octets(&[GROUP, OURS]);
        header.extend_from_slice(&[0; 4]);
        header.extend_from_slice(&1u32.to_ne_bytes());
        let filter = script
            .tcp
            .getsockopt_with_value(&script.net, id, SOL_IP, IP_MSFILTER, 20, Some(&header))
            .unwrap();
        assert_eq!(filter[8..12], 1u32.to_ne_bytes());
        assert_eq!(filter[12..16], 1u32.to_ne_bytes());
        assert_eq!(filter[16..20], PEER.octets());
        // Without the caller's buffer the group is unknown: EFAULT, as before.
        assert_eq!(
            script
                .tcp
                .getsockopt(&script.net, id, SOL_IP, IP_MSFILTER, 20),
            Err(Errno::EFAULT)
        );
    }

    #[test]
    fn what_a_tcp_socket_refuses() {
        let mut script = Script::new();
        let id = script.socket();
        // do_ip_setsockopt: "if (sk->sk_type == SOCK_STREAM)" for IP_MULTICAST_IF, and
        // "if (inet_test_bit(IS_ICSK, sk))" for IP_ADD_MEMBERSHIP.
        assert_eq!(
            set(&mut script, id, IP_MULTICAST_IF, &OURS.octets()),
            Err(Errno::EINVAL)
        );
        let request = octets(&[GROUP, OURS]);
        assert_eq!(
            set(&mut script, id, IP_ADD_MEMBERSHIP, &request),
            Err(Errno::EPROTO)
        );
        // The index forms take interface 2, the stack's.
        assert_eq!(
            script.setsockopt_int(id, SOL_IP, IP_UNICAST_IF, 2i32.to_be()),
            Ok(())
        );
        let mut group_req = vec![0u8; 136];
        group_req[..4].copy_from_slice(&2u32.to_ne_bytes());
        group_req[8..10].copy_from_slice(&2u16.to_ne_bytes());
        group_req[12..16].copy_from_slice(&GROUP.octets());
        assert_eq!(set(&mut script, id, MCAST_JOIN_GROUP, &group_req), Ok(()));
        assert_eq!(
            set(&mut script, id, MCAST_JOIN_GROUP, &group_req),
            Err(Errno::EADDRINUSE)
        );
    }

    #[test]
    fn memberships_change_the_interface_and_are_left_on_close() {
        let mut script = Script::new();
        let id = script.socket();
        join_source(&mut script, id, OURS).unwrap();
        let joined = script.tcp.take_multicast_changes(id);
        assert!(
            joined
                .iter()
                .any(|change| matches!(change, HostChange::Join { ifindex: 2, group, .. } if *group == GROUP)),
            "{joined:?}"
        );
        assert!(script.tcp.take_multicast_changes(id).is_empty());
        let left = script.tcp.drop_memberships(id);
        assert!(
            left.iter()
                .any(|change| matches!(change, HostChange::Leave { ifindex: 2, group } if *group == GROUP)),
            "{left:?}"
        );
        assert!(script.tcp.drop_all_memberships().is_empty());
    }
}
