//! Options whose value is a structure, or whose rules do not fit the integer table:
//! SO_LINGER (struct linger), SO_RCVTIMEO / SO_SNDTIMEO in both layouts (struct timeval and
//! struct __kernel_sock_timeval, both 16 bytes on x86_64), and IP_MTU (read-only, from the
//! connected route).

use crate::errno::Errno;

use super::names::{ip, level, socket};
use super::values::{SocketOptions, FOREVER, TICKS_PER_SECOND};
use super::OptionContext;

const MICROS_PER_SECOND: i64 = 1_000_000;
/// sizeof(struct linger) and of both timeval layouts.
const LINGER_LEN: usize = 8;
const TIMEVAL_LEN: usize = 16;

/// Some(result) if (level, name) is a structured option.
pub fn set(
    options: &mut SocketOptions,
    context: &OptionContext<'_>,
    level: i32,
    name: i32,
    value: &[u8],
) -> Option<Result<(), Errno>> {
    if level == level::SOL_IP {
        if name == super::ip_header_options::IP_OPTIONS {
            return Some(super::ip_header_options::set(options, context, value));
        }
        if let Some(result) = super::ip_structured::set(options, context, name, value) {
            return Some(result);
        }
    }
    if level == level::SOL_SOCKET {
        if let Some(result) = super::socket_structured::set(options, context, name, value) {
            return Some(result);
        }
    }
    match (level, name) {
        (level::SOL_SOCKET, socket::SO_LINGER) => Some(set_linger(options, value)),
        (level::SOL_SOCKET, socket::SO_RCVTIMEO_OLD | socket::SO_RCVTIMEO_NEW) => {
            Some(parse_timeout(value).map(|ticks| options.receive_timeout_ticks = ticks))
        }
        (level::SOL_SOCKET, socket::SO_SNDTIMEO_OLD | socket::SO_SNDTIMEO_NEW) => {
            Some(parse_timeout(value).map(|ticks| options.send_timeout_ticks = ticks))
        }
        (level::SOL_SOCKET, name) if is_for_other_families(name) => Some(Err(Errno::EOPNOTSUPP)),
        // IP_MTU is read-only: do_ip_setsockopt has no case for it.
        (level::SOL_IP, ip::IP_MTU) => Some(Err(Errno::ENOPROTOOPT)),
        _ => None,
    }
}

/// Ok(Some(bytes)) if (level, name) is a structured option.
pub fn get(
    options: &SocketOptions,
    context: &OptionContext<'_>,
    level: i32,
    name: i32,
    optlen: usize,
) -> Result<Option<Vec<u8>>, Errno> {
    if level == level::SOL_SOCKET {
        if let Some(bytes) = super::socket_structured::get(options, context, name, optlen)? {
            return Ok(Some(bytes));
        }
    }
    if level == level::SOL_IP && name == super::ip_header_options::IP_OPTIONS {
        return Ok(Some(super::ip_header_options::get(options, optlen)));
    }
    let full = match (level, name) {
        (level::SOL_SOCKET, name) if is_for_other_families(name) => return Err(Errno::EOPNOTSUPP),
        (level::SOL_SOCKET, socket::SO_LINGER) => {
            let mut out = Vec::with_capacity(LINGER_LEN);
            out.extend_from_slice(&i32::from(options.linger).to_ne_bytes());
            // l_linger = sk_lingertime / HZ, truncated to an int.
            out.extend_from_slice(
                &((options.linger_ticks / TICKS_PER_SECOND) as i32).to_ne_bytes(),
            );
            out
        }
        (level::SOL_SOCKET, socket::SO_RCVTIMEO_OLD | socket::SO_RCVTIMEO_NEW) => {
            encode_timeout(options.receive_timeout_ticks)
        }
        (level::SOL_SOCKET, socket::SO_SNDTIMEO_OLD | socket::SO_SNDTIMEO_NEW) => {
            encode_timeout(options.send_timeout_ticks)
        }
        (level::SOL_IP, ip::IP_MTU) => {
            // "if (!val) return -ENOTCONN": no cached route, no MTU.
            let mtu = context.path_mtu.ok_or(Errno::ENOTCONN)?;
            return Ok(Some(super::encode_int(
                super::table::Encode::IntOrByte,
                mtu as i32,
                optlen,
            )));
        }
        _ => return Ok(None),
    };
    // sk_getsockopt: "if (len > lv) len = lv".
    Ok(Some(full[..optlen.min(full.len())].to_vec()))
}

/// SOL_SOCKET options that sk_setsockopt / sk_getsockopt refuse with EOPNOTSUPP on an inet
/// socket (after the length checks), get and set alike: the credential and security passing
/// of AF_UNIX / AF_NETLINK / AF_BLUETOOTH (SO_PASSCRED, SO_PASSSEC: sk_may_scm_recv), the
/// AF_UNIX-only SO_PASSPIDFD and SO_PASSRIGHTS (sk_is_unix), and the TCP-only SO_TXREHASH
/// (sk_is_tcp). Measured natively on a UDP socket.
fn is_for_other_families(name: i32) -> bool {
    matches!(
        name,
        socket::SO_PASSCRED
            | socket::SO_PASSSEC
            | socket::SO_PASSPIDFD
            | socket::SO_PASSRIGHTS
            | socket::SO_TXREHASH
    )
}

/// SO_LINGER in sk_setsockopt: the value must hold a whole struct linger.
fn set_linger(options: &mut SocketOptions, value: &[u8]) -> Result<(), Errno> {
    if value.len() < LINGER_LEN {
        return Err(Errno::EINVAL);
    }
    let on = i32::from_ne_bytes([value[0], value[1], value[2], value[3]]);
    let seconds = i32::from_ne_bytes([value[4], value[5], value[6], value[7]]);
    if on == 0 {
        options.linger = false;
        return Ok(());
    }
    // `unsigned long t_sec = ling.l_linger`: a negative linger becomes huge, hence "forever".
    let seconds = seconds as i64 as u64;
    options.linger_ticks = if seconds >= (FOREVER / TICKS_PER_SECOND) as u64 {
        FOREVER
    } else {
        seconds as i64 * TICKS_PER_SECOND
    };
    options.linger = true;
    Ok(())
}

/// sock_set_timeout: 16 bytes {tv_sec, tv_usec}; usec outside 0..1e6 is EDOM; a negative
/// second count means "do not wait" (0 ticks); {0, 0} means forever; otherwise whole ticks,
/// rounded up.
fn parse_timeout(value: &[u8]) -> Result<i64, Errno> {
    if value.len() < TIMEVAL_LEN {
        return Err(Errno::EINVAL);
    }
    let mut word = [0u8; 8];
    word.copy_from_slice(&value[0..8]);
    let seconds = i64::from_ne_bytes(word);
    word.copy_from_slice(&value[8..16]);
    let micros = i64::from_ne_bytes(word);
    if !(0..MICROS_PER_SECOND).contains(&micros) {
        return Err(Errno::EDOM);
    }
    if seconds < 0 {
        return Ok(0);
    }
    if (seconds == 0 && micros == 0) || seconds >= FOREVER / TICKS_PER_SECOND - 1 {
        return Ok(FOREVER);
    }
    let micros_per_tick = MICROS_PER_SECOND / TICKS_PER_SECOND;
    Ok(seconds * TICKS_PER_SECOND + (micros + micros_per_tick - 1) / micros_per_tick)
}

/// sock_get_timeout: forever reads as {0, 0}.
fn encode_timeout(ticks: i64) -> Vec<u8> {
    let (seconds, micros) = if ticks == FOREVER {
        (0, 0)
    } else {
        (
            ticks / TICKS_PER_SECOND,
            (ticks % TICKS_PER_SECOND) * MICROS_PER_SECOND / TICKS_PER_SECOND,
        )
    };
    let mut out = Vec::with_capacity(TIMEVAL_LEN);
    out.extend_from_slice(&seconds.to_ne_bytes());
    out.extend_from_slice(&micros.to_ne_bytes());
    out
}
