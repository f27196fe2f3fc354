//! sendmsg's control messages: udp_cmsg_send, ip_cmsg_send and __sock_cmsg_send with the
//! kernel's errno for every malformed or refused message.

use core::net::Ipv4Addr;

use crate::config::Credentials;
use crate::errno::Errno;
use crate::ipv4::socket_options::{Compiling, SocketIpOptions};

use super::{kind, level, ControlMessage, ControlMessages};

/// IP options longer than this are cut to it ("err < 40 ? err : 40" in ip_cmsg_send).
const MAX_OPTIONS_LEN: usize = 40;
/// SOF_TIMESTAMPING_OPT_ID: SCM_TS_OPT_ID needs it in sk_tsflags.
const TIMESTAMPING_OPT_ID: u32 = 1 << 7;

/// What the parsers need to know about the sending socket and the host.
pub struct SendContext<'a> {
    pub creds: &'a Credentials,
    /// SOCK_TXTIME (SO_TXTIME set): SCM_TXTIME is refused without it.
    pub txtime_enabled: bool,
    /// sk_tsflags (SO_TIMESTAMPING).
    pub timestamping_flags: u32,
    /// inet_addr_type(addr) == RTN_UNICAST, for IP_RETOPTS' prespecified timestamps.
    pub is_foreign_unicast: &'a dyn Fn(Ipv4Addr) -> bool,
}

/// What sendmsg's control messages ask for (struct ipcm_cookie / sockcm_cookie).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SendControl {
    /// IP_PKTINFO ipi_ifindex (when non-zero): the output interface.
    pub oif: Option<u32>,
    /// IP_PKTINFO ipi_spec_dst: replaces the socket's source address, even when 0.
    pub source: Option<Ipv4Addr>,
    pub ttl: Option<u8>,
    pub tos: Option<u8>,
    /// SO_PRIORITY, or the priority IP_TOS implies (rt_tos2priority).
    pub priority: Option<u32>,
    pub mark: Option<u32>,
    /// SO_TIMESTAMPING transmit flags (the error queue that would report them is issue #4).
    pub timestamping: Option<u32>,
    /// UDP_SEGMENT (GSO) size.
    pub segment_size: Option<u16>,
    /// IP_RETOPTS: IP options for this datagram instead of the socket's (ipc.opt), compiled
    /// as ip_options_get compiles them.
    pub ip_options: Option<SocketIpOptions>,
    /// SCM_TXTIME: the launch time for the ETF/fq qdiscs (skb->tstamp). The interfaces here
    /// have neither, so the kernel sends at once; so does the stack.
    pub transmit_time: Option<u64>,
    /// SCM_TS_OPT_ID: the id of the transmit timestamps of this datagram.
    pub timestamp_id: Option<u32>,
}

/// SOF_TIMESTAMPING_TX_RECORD_MASK: TX_HARDWARE | TX_SOFTWARE | TX_SCHED | TX_ACK | TX_COMPLETION.
const TIMESTAMPING_TX_RECORD_MASK: u32 = (1 << 0) | (1 << 1) | (1 << 8) | (1 << 9) | (1 << 18);

/// TC_PRIO_INTERACTIVE: the highest priority an unprivileged socket may choose.
const TC_PRIO_INTERACTIVE: u32 = 6;

/// rt_tos2priority: ip_tos2prio indexed by the TOS bits (RFC 1349) of a TOS byte.
pub fn tos_to_priority(tos: u8) -> u32 {
    const IP_TOS_TO_PRIORITY: [u32; 16] = [0, 0, 0, 0, 2, 2, 2, 2, 6, 6, 6, 6, 4, 4, 4, 4];
    IP_TOS_TO_PRIORITY[usize::from((tos & 0x1e) >> 1)]
}

/// sk_set_prio_allowed: 0..=6 for everyone, anything with CAP_NET_RAW or CAP_NET_ADMIN.
pub fn priority_allowed(priority: i64, creds: &Credentials) -> bool {
    (0..=i64::from(TC_PRIO_INTERACTIVE)).contains(&priority)
        || creds.cap_net_raw
        || creds.cap_net_admin
}

/// udp_cmsg_send followed by ip_cmsg_send, as udp_sendmsg runs them: a first pass takes the
/// SOL_UDP messages (only UDP_SEGMENT exists) and checks every header; if any message has
/// another level, a second pass applies SOL_SOCKET (__sock_cmsg_send) and SOL_IP messages.
/// Messages of other levels are ignored; unknown SOL_IP / SOL_SOCKET types are EINVAL.
pub fn parse_udp_send_control(
    control: &[u8],
    context: &SendContext<'_>,
) -> Result<SendControl, Errno> {
    let mut result = SendControl::default();
    let mut needs_ip_pass = false;
    for message in ControlMessages::new(control) {
        let message = message?;
        if message.level != level::SOL_UDP {
            needs_ip_pass = true;
            continue;
        }
        match (message.kind, message.data) {
            (kind::UDP_SEGMENT, &[low, high]) => {
                result.segment_size = Some(u16::from_ne_bytes([low, high]));
            }
            _ => return Err(Errno::EINVAL),
        }
    }
    if needs_ip_pass {
        parse_ip_send_control(control, context, &mut result)?;
    }
    Ok(result)
}

/// ip_cmsg_send: SOL_SOCKET and SOL_IP messages; other levels skipped.
pub fn parse_ip_send_control(
    control: &[u8],
    context: &SendContext<'_>,
    result: &mut SendControl,
) -> Result<(), Errno> {
    for message in ControlMessages::new(control) {
        let message = message?;
        match message.level {
            level::SOL_SOCKET => parse_socket_message(&message, context, result)?,
            level::SOL_IP => parse_ip_message(&message, context, result)?,
            _ => {}
        }
    }
    Ok(())
}

/// tcp_sendmsg_locked's sock_cmsg_send: SOL_SOCKET messages only (other levels are not
/// looked at), SCM_TS_OPT_ID refused ("if (sk_is_tcp(sk)) return -EINVAL"), and any failure
/// answered with EINVAL ("err = -EINVAL; goto out_err").
pub fn parse_tcp_send_control(
    control: &[u8],
    context: &SendContext<'_>,
) -> Result<SendControl, Errno> {
    let mut result = SendControl::default();
    for message in ControlMessages::new(control) {
        let message = message.map_err(|_| Errno::EINVAL)?;
        if message.level != level::SOL_SOCKET {
            continue;
        }
        if message.kind == kind::SCM_TS_OPT_ID {
            return Err(Errno::EINVAL);
        }
        parse_socket_message(&message, context, &mut result).map_err(|_| Errno::EINVAL)?;
    }
    Ok(result)
}

/// One SOL_IP message (ip_cmsg_send's switch).
fn parse_ip_message(
    message: &ControlMessage<'_>,
    context: &SendContext<'_>,
    result: &mut SendControl,
) -> Result<(), Errno> {
    match message.kind {
        kind::IP_RETOPTS => {
            // ip_options_get on at most 40 bytes (longer lists are cut, then compiled like
            // IP_OPTIONS; CAP_NET_RAW decides about unknown and security options). An empty
            // list is valid: this datagram then carries none, whatever the socket has.
            let data = &message.data[..message.data.len().min(MAX_OPTIONS_LEN)];
            let compiling = Compiling {
                cap_net_raw: context.creds.cap_net_raw,
                is_foreign_unicast: context.is_foreign_unicast,
            };
            result.ip_options = Some(SocketIpOptions::compile(data, &compiling)?);
            Ok(())
        }
        kind::IP_PKTINFO => {
            // struct in_pktinfo { int ipi_ifindex; in_addr ipi_spec_dst; in_addr ipi_addr; },
            // exactly (cmsg_len == CMSG_LEN(sizeof(struct in_pktinfo))).
            let &[i0, i1, i2, i3, s0, s1, s2, s3, _, _, _, _] = message.data else {
                return Err(Errno::EINVAL);
            };
            let ifindex = i32::from_ne_bytes([i0, i1, i2, i3]);
            if ifindex != 0 {
                result.oif = Some(ifindex as u32);
            }
            result.source = Some(Ipv4Addr::new(s0, s1, s2, s3));
            Ok(())
        }
        kind::IP_TTL => {
            let ttl = message.int()?;
            if !(1..=255).contains(&ttl) {
                return Err(Errno::EINVAL);
            }
            result.ttl = Some(ttl as u8);
            Ok(())
        }
        kind::IP_TOS => {
            // An int or a single byte, like the option.
            let tos = match message.data {
                &[byte] => i32::from(byte),
                _ => message.int()?,
            };
            if !(0..=255).contains(&tos) {
                return Err(Errno::EINVAL);
            }
            result.tos = Some(tos as u8);
            result.priority = Some(tos_to_priority(tos as u8));
            Ok(())
        }
        kind::IP_PROTOCOL => {
            // Only raw sockets use the protocol; the checks still apply.
            if !(1..=255).contains(&message.int()?) {
                return Err(Errno::EINVAL);
            }
            Ok(())
        }
        _ => Err(Errno::EINVAL),
    }
}

/// One SOL_SOCKET message (__sock_cmsg_send).
fn parse_socket_message(
    message: &ControlMessage<'_>,
    context: &SendContext<'_>,
    result: &mut SendControl,
) -> Result<(), Errno> {
    let creds = context.creds;
    match message.kind {
        kind::SO_MARK => {
            if !creds.cap_net_raw && !creds.cap_net_admin {
                return Err(Errno::EPERM);
            }
            result.mark = Some(message.int()? as u32);
        }
        kind::SO_TIMESTAMPING_OLD | kind::SO_TIMESTAMPING_NEW => {
            let flags = message.int()? as u32;
            if flags & !TIMESTAMPING_TX_RECORD_MASK != 0 {
                return Err(Errno::EINVAL);
            }
            result.timestamping = Some(flags);
        }
        kind::SCM_TXTIME => {
            if !context.txtime_enabled {
                return Err(Errno::EINVAL);
            }
            let time: [u8; 8] = message.data.try_into().map_err(|_| Errno::EINVAL)?;
            result.transmit_time = Some(u64::from_ne_bytes(time));
        }
        // "if (sk_is_tcp(sk)) return -EINVAL": UDP gets past it.
        kind::SCM_TS_OPT_ID => {
            if context.timestamping_flags & TIMESTAMPING_OPT_ID == 0 {
                return Err(Errno::EINVAL);
            }
            result.timestamp_id = Some(message.int()? as u32);
        }
        kind::SO_PRIORITY => {
            let priority = message.int()? as u32;
            if !priority_allowed(i64::from(priority), creds) {
                return Err(Errno::EPERM);
            }
            result.priority = Some(priority);
        }
        // SCM_RIGHTS and SCM_CREDENTIALS belong to AF_UNIX; inet sockets skip them.
        kind::SCM_RIGHTS | kind::SCM_CREDENTIALS => {}
        _ => return Err(Errno::EINVAL),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmsg::encode_message as message;

    fn parse(control: &[u8], creds: &Credentials) -> Result<SendControl, Errno> {
        parse_with(control, creds, false, 0)
    }

    fn parse_with(
        control: &[u8],
        creds: &Credentials,
        txtime_enabled: bool,
        timestamping_flags: u32,
    ) -> Result<SendControl, Errno> {
        let context = SendContext {
            creds,
            txtime_enabled,
            timestamping_flags,
            is_foreign_unicast: &|address: Ipv4Addr| address != Ipv4Addr::new(198, 18, 0, 2),
        };
        parse_udp_send_control(control, &context)
    }

    #[test]
    fn ip_send_rules() {
        let creds = Credentials::default();
        let ttl = |v: i32| message(0, kind::IP_TTL, &v.to_ne_bytes());
        assert_eq!(parse(&ttl(0), &creds), Err(Errno::EINVAL));
        assert_eq!(parse(&ttl(256), &creds), Err(Errno::EINVAL));
        assert_eq!(parse(&ttl(255), &creds).unwrap().ttl, Some(255));
        assert_eq!(
            parse(&message(0, kind::IP_TTL, &[5]), &creds),
            Err(Errno::EINVAL)
        );
        let tos = parse(&message(0, kind::IP_TOS, &[0x10]), &creds).unwrap();
        assert_eq!((tos.tos, tos.priority), (Some(0x10), Some(6)));
        assert_eq!(
            parse(&message(0, kind::IP_TOS, &256i32.to_ne_bytes()), &creds),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            parse(&message(0, kind::IP_TOS, &[1, 2]), &creds),
            Err(Errno::EINVAL)
        );
        let mut pktinfo = 3i32.to_ne_bytes().to_vec();
        pktinfo.extend_from_slice(&[198, 18, 0, 2, 9, 9, 9, 9]);
        let parsed = parse(&message(0, kind::IP_PKTINFO, &pktinfo), &creds).unwrap();
        assert_eq!(parsed.oif, Some(3));
        assert_eq!(parsed.source, Some(Ipv4Addr::new(198, 18, 0, 2)));
        assert_eq!(parse(&message(0, 99, &[]), &creds), Err(Errno::EINVAL));
        // Other levels are skipped.
        assert_eq!(
            parse(&message(41, 99, &[]), &creds),
            Ok(SendControl::default())
        );
    }

    #[test]
    fn socket_and_udp_send_rules() {
        let creds = Credentials::default();
        let admin = Credentials {
            cap_net_admin: true,
            ..Credentials::default()
        };
        let mark = message(1, kind::SO_MARK, &1u32.to_ne_bytes());
        assert_eq!(parse(&mark, &creds), Err(Errno::EPERM));
        assert_eq!(parse(&mark, &admin).unwrap().mark, Some(1));
        let priority = |p: u32| message(1, kind::SO_PRIORITY, &p.to_ne_bytes());
        assert_eq!(parse(&priority(7), &creds), Err(Errno::EPERM));
        assert_eq!(parse(&priority(6), &creds).unwrap().priority, Some(6));
        assert_eq!(
            parse(&message(1, kind::SCM_RIGHTS, &[0; 4]), &creds),
            Ok(SendControl::default())
        );
        assert_eq!(parse(&message(1, 999, &[]), &creds), Err(Errno::EINVAL));
        let gso = message(17, kind::UDP_SEGMENT, &1000u16.to_ne_bytes());
        assert_eq!(parse(&gso, &creds).unwrap().segment_size, Some(1000));
        assert_eq!(
            parse(&message(17, kind::UDP_SEGMENT, &[0; 4]), &creds),
            Err(Errno::EINVAL)
        );
        assert_eq!(parse(&message(17, 1, &[0; 4]), &creds), Err(Errno::EINVAL));
    }

    /// Whatever a caller puts in msg_control (cmsg_len skewed, cut anywhere, any level and
    /// type), parsing answers without panicking.
    #[test]
    fn arbitrary_control_buffers_never_panic() {
        let root = Credentials {
            cap_net_raw: true,
            cap_net_admin: true,
            ..Credentials::default()
        };
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u32
        };
        for _ in 0..20_000 {
            let mut control = Vec::new();
            for _ in 0..next() % 4 {
                let level = [0, 1, 17, 41][next() as usize % 4];
                let kind = (next() % 130) as i32;
                let data = vec![next() as u8; next() as usize % 48];
                let mut one = message(level, kind, &data);
                if next() % 3 == 0 {
                    let skewed = (one.len() as u64) ^ u64::from(next() % 64);
                    one[0..8].copy_from_slice(&skewed.to_ne_bytes());
                }
                control.extend(one);
            }
            control.truncate(next() as usize % (control.len() + 1));
            let _ = parse_with(&control, &root, next() % 2 == 0, next());
        }
    }

    #[test]
    fn tos_priority_table() {
        assert_eq!(tos_to_priority(0), 0);
        assert_eq!(tos_to_priority(0x08), 2);
        assert_eq!(tos_to_priority(0x10), 6);
        assert_eq!(tos_to_priority(0x18), 4);
        assert_eq!(tos_to_priority(0xff), 4);
    }

    #[test]
    fn txtime_and_timestamp_id_need_their_options() {
        let creds = Credentials::default();
        let txtime = message(1, kind::SCM_TXTIME, &7u64.to_ne_bytes());
        assert_eq!(parse(&txtime, &creds), Err(Errno::EINVAL));
        let parsed = parse_with(&txtime, &creds, true, 0).unwrap();
        assert_eq!(parsed.transmit_time, Some(7));
        let short = message(1, kind::SCM_TXTIME, &7u32.to_ne_bytes());
        assert_eq!(parse_with(&short, &creds, true, 0), Err(Errno::EINVAL));
        let id = message(1, kind::SCM_TS_OPT_ID, &9u32.to_ne_bytes());
        assert_eq!(parse(&id, &creds), Err(Errno::EINVAL));
        let parsed = parse_with(&id, &creds, false, TIMESTAMPING_OPT_ID).unwrap();
        assert_eq!(parsed.timestamp_id, Some(9));
    }

    #[test]
    fn return_options_compile_like_ip_options() {
        let root = Credentials {
            cap_net_raw: true,
            ..Credentials::default()
        };
        // Measured: an empty list and NOPs are accepted; a record route with a pointer below
        // 4 or a length past the list is EINVAL; a list past 40 bytes is cut to 40.
        let empty = parse(&message(0, kind::IP_RETOPTS, &[]), &root).unwrap();
        assert_eq!(empty.ip_options.map(|o| o.len()), Some(0));
        let nops = parse(&message(0, kind::IP_RETOPTS, &[1, 1, 1]), &root).unwrap();
        assert_eq!(nops.ip_options.map(|o| o.len()), Some(4));
        let bad_pointer = message(0, kind::IP_RETOPTS, &[7, 7, 3, 0, 0, 0, 0, 0]);
        assert_eq!(parse(&bad_pointer, &root), Err(Errno::EINVAL));
        let too_long = message(0, kind::IP_RETOPTS, &[7, 9, 4, 0, 0, 0, 0, 0]);
        assert_eq!(parse(&too_long, &root), Err(Errno::EINVAL));
        let nops44 = parse(&message(0, kind::IP_RETOPTS, &[1; 44]), &root).unwrap();
        assert_eq!(nops44.ip_options.map(|o| o.len()), Some(40));
    }
}
