//! Integer socket options as data (STYLE.md convention 2): one row per (level, name) with how
//! the value is decoded, which socket types accept it, the valid range and its errno, and how
//! it is read and written. The rows copy sk_setsockopt / sk_getsockopt (net/core/sock.c) and
//! do_ip_setsockopt / do_ip_getsockopt (net/ipv4/ip_sockglue.c). Options with a structure
//! (SO_LINGER, timeouts, IP_MTU, ...) have explicit handlers in `structured.rs`.

use crate::errno::Errno;
use crate::socket::sock_type;

use super::names::level;
use super::values::SocketOptions;
use super::OptionContext;

/// How setsockopt reads the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decode {
    /// sk_setsockopt: optlen < sizeof(int) is EINVAL, then an int is read.
    Int,
    /// do_ip_setsockopt: an int when optlen >= 4, else one unsigned byte when optlen >= 1,
    /// else 0 ("if optlen==0, it is equivalent to val == 0").
    IntOrByte,
    /// IntOrByte, but an empty value is EINVAL (the `if (optlen < 1)` checks).
    IntOrByteNonEmpty,
}

/// How getsockopt writes the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encode {
    /// sk_getsockopt: the first min(len, 4) bytes of the int.
    Int,
    /// do_ip_getsockopt: one byte when 0 < len < 4 and the value fits in 0..=255, else the
    /// first min(len, 4) bytes of the int.
    IntOrByte,
}

/// The accepted values, checked after decoding (before the setter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    Any,
    /// Inclusive bounds; outside them the option fails with `errno`.
    Between {
        min: i32,
        max: i32,
        errno: Errno,
    },
}

/// Socket types (bit per SOCK_* value) an option accepts, and the errno for the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketTypes {
    pub mask: u32,
    pub errno: Errno,
}

pub const ALL_TYPES: SocketTypes = SocketTypes {
    mask: u32::MAX,
    errno: Errno::ENOPROTOOPT,
};
/// IP_MULTICAST_TTL: "if (sk->sk_type == SOCK_STREAM) return -EINVAL".
const NOT_STREAM: SocketTypes = SocketTypes {
    mask: !(1 << sock_type::STREAM),
    errno: Errno::EINVAL,
};

impl SocketTypes {
    pub fn accepts(&self, socket_type: i32) -> bool {
        (0..32).contains(&socket_type) && self.mask & (1 << socket_type) != 0
    }
}

pub type Getter = fn(&SocketOptions, &OptionContext<'_>) -> i32;
pub type Setter = fn(&mut SocketOptions, &OptionContext<'_>, i32) -> Result<(), Errno>;

#[derive(Clone, Copy)]
pub struct IntOption {
    pub level: i32,
    pub name: i32,
    pub label: &'static str,
    pub types: SocketTypes,
    pub decode: Decode,
    pub encode: Encode,
    pub range: Range,
    /// None: getsockopt answers ENOPROTOOPT.
    pub get: Option<Getter>,
    /// None: setsockopt answers ENOPROTOOPT (after the decoding checks, as the kernel's
    /// `default:` does).
    pub set: Option<Setter>,
}

pub(super) const fn socket_option(
    name: i32,
    label: &'static str,
    get: Option<Getter>,
    set: Option<Setter>,
) -> IntOption {
    IntOption {
        level: level::SOL_SOCKET,
        name,
        label,
        types: ALL_TYPES,
        decode: Decode::Int,
        encode: Encode::Int,
        range: Range::Any,
        get,
        set,
    }
}

pub(super) const fn ip_option(
    name: i32,
    label: &'static str,
    decode: Decode,
    range: Range,
    get: Getter,
    set: Setter,
) -> IntOption {
    IntOption {
        level: level::SOL_IP,
        name,
        label,
        types: ALL_TYPES,
        decode,
        encode: Encode::IntOrByte,
        range,
        get: Some(get),
        set: Some(set),
    }
}

pub(super) const fn flag(value: bool) -> i32 {
    value as i32
}

mod ip_rows;
mod socket_rows;

/// The row for (level, name), if the option is an integer one.
pub fn find(level: i32, name: i32) -> Option<&'static IntOption> {
    let rows = match level {
        level::SOL_SOCKET => socket_rows::SOCKET_OPTIONS,
        level::SOL_IP => ip_rows::IP_OPTIONS,
        _ => return None,
    };
    rows.iter().find(|option| option.name == name)
}
