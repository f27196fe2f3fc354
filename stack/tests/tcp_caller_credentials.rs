//! setsockopt's privileges are the caller's at the call, not the socket creator's: the
//! kernel passes `ns_capable(sock_net(sk)->user_ns, CAP_NET_ADMIN)` from do_tcp_setsockopt to
//! tcp_set_congestion_control. The driver hands the caller's credentials in before each
//! setsockopt (`Stack::set_caller_credentials`; ctests tcp_congestion drops and raises
//! CAP_NET_ADMIN between the calls).

mod tcp_harness;

/// Named `tcp` so `cargo test -p ipshim-stack tcp` selects every script here.
mod tcp {
    use super::tcp_harness::*;
    use stack::config::{Credentials, Sysctls};
    use stack::Errno;

    const SOL_TCP: i32 = 6;
    const TCP_CONGESTION: i32 = 13;

    const ADMIN: Credentials = Credentials {
        cap_net_admin: true,
        cap_net_raw: false,
        cap_net_bind_service: false,
        in_ping_group: false,
    };
    const UNPRIVILEGED: Credentials = Credentials {
        cap_net_admin: false,
        cap_net_raw: false,
        cap_net_bind_service: false,
        in_ping_group: false,
    };

    /// A host whose default is bbr and whose unprivileged list is "reno bbr" (this machine's).
    fn script() -> Script {
        let mut sysctls = Sysctls::default();
        sysctls.tcp.congestion_control = "bbr".into();
        sysctls.tcp.allowed_congestion_control = "reno bbr".into();
        Script::with_sysctls(sysctls)
    }

    fn set(script: &mut Script, id: stack::SocketId, name: &[u8]) -> Result<(), Errno> {
        let now = script.now;
        script
            .tcp
            .setsockopt(now, &script.net, id, SOL_TCP, TCP_CONGESTION, name)
    }

    #[test]
    fn a_socket_created_privileged_is_refused_once_the_caller_is_not() {
        let mut script = script();
        let id = script.tcp.socket(ADMIN);
        script.tcp.set_caller_credentials(id, UNPRIVILEGED).unwrap();
        assert_eq!(set(&mut script, id, b"cubic"), Err(Errno::EPERM));
        assert_eq!(set(&mut script, id, b"reno"), Ok(()));
    }

    #[test]
    fn a_socket_created_unprivileged_may_switch_when_the_caller_is_privileged() {
        let mut script = script();
        let id = script.tcp.socket(UNPRIVILEGED);
        assert_eq!(set(&mut script, id, b"cubic"), Err(Errno::EPERM));
        script.tcp.set_caller_credentials(id, ADMIN).unwrap();
        assert_eq!(set(&mut script, id, b"cubic"), Ok(()));
        // Dropped again: the current algorithm is still "no change", another listed one is
        // fine, and cubic (no longer current) is refused.
        script.tcp.set_caller_credentials(id, UNPRIVILEGED).unwrap();
        assert_eq!(set(&mut script, id, b"cubic"), Ok(()));
        assert_eq!(set(&mut script, id, b"bbr"), Ok(()));
        assert_eq!(set(&mut script, id, b"cubic"), Err(Errno::EPERM));
    }

    #[test]
    fn a_stale_socket_is_ebadf() {
        let mut script = script();
        let id = script.socket();
        script.tcp.close(script.now, id);
        assert_eq!(
            script.tcp.set_caller_credentials(id, ADMIN),
            Err(Errno::EBADF)
        );
    }
}
