//! The SOL_TCP names beyond the basic ones (do_tcp_setsockopt / do_tcp_getsockopt, Linux
//! 6.18): TCP_LINGER2, TCP_DEFER_ACCEPT, TCP_WINDOW_CLAMP, TCP_NOTSENT_LOWAT, TCP_INQ,
//! TCP_SAVE_SYN / TCP_SAVED_SYN, Fast Open's switches, TCP_ULP, TCP_MD5SIG, TCP_TX_DELAY,
//! TCP_CC_INFO, TCP_IS_MPTCP, TCP_RTO_MAX_MS, TCP_RTO_MIN_US and TCP_DELACK_MAX_US (the
//! repair family and TCP_TIMESTAMP: `repair.rs`). Every answer below was measured natively (a sweep of names 1..50 with
//! lengths 4/0/8 and values 0/1/-1, plus the range edges); what the stack cannot serve is
//! refused with the errno the kernel gives when it refuses the same request.

use super::settings::{MoreSettings, TICKS_PER_SECOND};
use super::socket::{Role, TcpSocket};
use super::state::State;
use crate::errno::Errno;

/// SOL_TCP option names (linux/tcp.h) handled here.
pub mod names {
    pub const TCP_LINGER2: i32 = 8;
    pub const TCP_DEFER_ACCEPT: i32 = 9;
    pub const TCP_WINDOW_CLAMP: i32 = 10;
    pub const TCP_MD5SIG: i32 = 14;
    pub const TCP_THIN_LINEAR_TIMEOUTS: i32 = 16;
    pub const TCP_THIN_DUPACK: i32 = 17;
    pub const TCP_REPAIR: i32 = 19;
    pub const TCP_REPAIR_QUEUE: i32 = 20;
    pub const TCP_QUEUE_SEQ: i32 = 21;
    pub const TCP_REPAIR_OPTIONS: i32 = 22;
    pub const TCP_FASTOPEN: i32 = 23;
    pub const TCP_TIMESTAMP: i32 = 24;
    pub const TCP_NOTSENT_LOWAT: i32 = 25;
    pub const TCP_CC_INFO: i32 = 26;
    pub const TCP_SAVE_SYN: i32 = 27;
    pub const TCP_SAVED_SYN: i32 = 28;
    pub const TCP_REPAIR_WINDOW: i32 = 29;
    pub const TCP_FASTOPEN_CONNECT: i32 = 30;
    pub const TCP_ULP: i32 = 31;
    pub const TCP_MD5SIG_EXT: i32 = 32;
    pub const TCP_FASTOPEN_KEY: i32 = 33;
    pub const TCP_FASTOPEN_NO_COOKIE: i32 = 34;
    pub const TCP_ZEROCOPY_RECEIVE: i32 = 35;
    pub const TCP_INQ: i32 = 36;
    pub const TCP_TX_DELAY: i32 = 37;
    pub const TCP_IS_MPTCP: i32 = 43;
    pub const TCP_RTO_MAX_MS: i32 = 44;
    pub const TCP_RTO_MIN_US: i32 = 45;
    pub const TCP_DELACK_MAX_US: i32 = 46;
}
use names::*;

/// TCP_CM_INQ: the control message type of TCP_INQ (= TCP_INQ).
pub const TCP_CM_INQ: i32 = 36;
/// TCP_FIN_TIMEOUT_MAX: 120 s.
const FIN_TIMEOUT_MAX_SECONDS: i32 = 120;
/// TCP_TIMEOUT_INIT / HZ and TCP_RTO_MAX / HZ, the bases of TCP_DEFER_ACCEPT's conversion.
const DEFER_TIMEOUT_INIT: i32 = 1;
const DEFER_RTO_MAX: i32 = 120;
/// SOCK_MIN_RCVBUF / 2: the smallest TCP_WINDOW_CLAMP (measured: 1 reads back as 1152).
const MIN_WINDOW_CLAMP: u32 = crate::sockopt::values::MIN_RECEIVE_BUFFER as u32 / 2;
/// TCP_TIMEOUT_MIN (2 ticks): the smallest TCP_RTO_MIN_US / TCP_DELACK_MAX_US.
const TIMEOUT_MIN_TICKS: u64 = 2;
/// TCP_FASTOPEN_KEY_LENGTH and TCP_FASTOPEN_KEY_BUF_LENGTH.
const FASTOPEN_KEY_LEN: usize = 16;
/// TFO_CLIENT_ENABLE in net.ipv4.tcp_fastopen.
const FASTOPEN_CLIENT_ENABLE: u32 = 1;
/// offsetofend(struct tcp_zerocopy_receive, length).
const ZEROCOPY_MIN_LEN: usize = 12;

/// secs_to_retrans (net/ipv4/tcp.c): seconds to SYN-ACK retransmissions.
fn secs_to_retrans(seconds: i32) -> u8 {
    if seconds <= 0 {
        return 0;
    }
    let (mut timeout, mut period, mut retries) = (DEFER_TIMEOUT_INIT, DEFER_TIMEOUT_INIT, 1u8);
    while seconds > period && retries < 255 {
        retries += 1;
        timeout = (timeout << 1).min(DEFER_RTO_MAX);
        period += timeout;
    }
    retries
}

/// retrans_to_secs: the inverse, as getsockopt shows it.
fn retrans_to_secs(retries: u8) -> i32 {
    if retries == 0 {
        return 0;
    }
    let (mut timeout, mut period) = (DEFER_TIMEOUT_INIT, DEFER_TIMEOUT_INIT);
    for _ in 1..retries {
        timeout = (timeout << 1).min(DEFER_RTO_MAX);
        period += timeout;
    }
    period
}

/// usecs_to_jiffies: rounds up; huge values saturate.
fn micros_to_ticks(micros: i32) -> u64 {
    let micros = u64::from(micros as u32);
    (micros * u64::from(TICKS_PER_SECOND)).div_ceil(1_000_000)
}

fn ticks_to_micros(ticks: u32) -> i32 {
    (u64::from(ticks) * 1_000_000 / u64::from(TICKS_PER_SECOND)) as i32
}

/// What an option name does on this stack.
pub enum Answer {
    /// Not one of the names handled here.
    Unknown,
    Done(Result<(), Errno>),
}

/// do_tcp_setsockopt for the int-valued names handled here (`value` is the whole buffer,
/// at least 4 bytes). `more` is the socket's (or the connection's) copy.
pub fn set(
    socket_state: State,
    more: &mut MoreSettings,
    tcp_fastopen_sysctl: u32,
    somaxconn: u32,
    name: i32,
    value: &[u8],
) -> Answer {
    let int = i32::from_ne_bytes([value[0], value[1], value[2], value[3]]);
    let closed_or_listening = matches!(socket_state, State::Closed | State::Listen);
    let result = match name {
        TCP_LINGER2 => {
            more.linger2_ticks = if int < 0 {
                -1
            } else {
                int.min(FIN_TIMEOUT_MAX_SECONDS) * TICKS_PER_SECOND as i32
            };
            Ok(())
        }
        TCP_DEFER_ACCEPT => {
            more.defer_accept_retries = secs_to_retrans(int);
            Ok(())
        }
        TCP_WINDOW_CLAMP => {
            // tcp_set_window_clamp: 0 only on a closed socket.
            if int == 0 {
                if socket_state != State::Closed {
                    return Answer::Done(Err(Errno::EINVAL));
                }
                more.window_clamp = 0;
            } else {
                more.window_clamp = (int.max(MIN_WINDOW_CLAMP as i32)) as u32;
            }
            Ok(())
        }
        TCP_THIN_LINEAR_TIMEOUTS | TCP_THIN_DUPACK if !(0..=1).contains(&int) => Err(Errno::EINVAL),
        TCP_THIN_LINEAR_TIMEOUTS => {
            more.thin_linear_timeouts = int == 1;
            Ok(())
        }
        // Obsolete: accepted and ignored (getsockopt always shows 0).
        TCP_THIN_DUPACK => Ok(()),
        // The repair family (TCP_REPAIR ... TCP_REPAIR_WINDOW, TCP_TIMESTAMP): `repair.rs`.
        TCP_FASTOPEN => {
            if int >= 0 && closed_or_listening {
                // fastopen_queue_tune: "min_t(unsigned int, backlog, somaxconn)"; the
                // caller applies somaxconn.
                more.fastopen_queue = (int as u32).min(somaxconn);
                Ok(())
            } else {
                Err(Errno::EINVAL)
            }
        }
        TCP_FASTOPEN_CONNECT => {
            if !(0..=1).contains(&int) {
                Err(Errno::EINVAL)
            } else if tcp_fastopen_sysctl & FASTOPEN_CLIENT_ENABLE == 0 {
                Err(Errno::EOPNOTSUPP)
            } else if socket_state != State::Closed {
                Err(Errno::EINVAL)
            } else {
                more.fastopen_connect = int == 1;
                Ok(())
            }
        }
        TCP_FASTOPEN_NO_COOKIE => {
            if !(0..=1).contains(&int) || !closed_or_listening {
                Err(Errno::EINVAL)
            } else {
                more.fastopen_no_cookie = int == 1;
                Ok(())
            }
        }
        TCP_NOTSENT_LOWAT => {
            more.notsent_lowat = int as u32;
            Ok(())
        }
        TCP_SAVE_SYN => {
            if (0..=2).contains(&int) {
                more.save_syn = int as u8;
                Ok(())
            } else {
                Err(Errno::EINVAL)
            }
        }
        TCP_INQ => {
            if (0..=1).contains(&int) {
                more.receive_queue_hint = int == 1;
                Ok(())
            } else {
                Err(Errno::EINVAL)
            }
        }
        TCP_TX_DELAY => {
            if int < 0 {
                Err(Errno::EINVAL)
            } else {
                more.tx_delay_us = int as u32;
                Ok(())
            }
        }
        TCP_RTO_MAX_MS => {
            // "if (val < MSEC_PER_SEC || val > TCP_RTO_MAX_SEC * MSEC_PER_SEC)"; kept in
            // ticks, msecs_to_jiffies rounding up (1001 ms reads back as 1004).
            if !(1000..=120_000).contains(&int) {
                Err(Errno::EINVAL)
            } else {
                let ticks = (int as u64 * u64::from(TICKS_PER_SECOND)).div_ceil(1000);
                more.rto_max_ticks = ticks as u32;
                Ok(())
            }
        }
        TCP_RTO_MIN_US | TCP_DELACK_MAX_US => {
            // usecs_to_jiffies, then "> TCP_RTO_MIN (or TCP_DELACK_MAX) || < TCP_TIMEOUT_MIN".
            let ticks = micros_to_ticks(int);
            if int < 0 || !(TIMEOUT_MIN_TICKS..=u64::from(TICKS_PER_SECOND / 5)).contains(&ticks) {
                Err(Errno::EINVAL)
            } else {
                if name == TCP_RTO_MIN_US {
                    more.rto_min_ticks = ticks as u32;
                } else {
                    more.delack_max_ticks = ticks as u32;
                }
                Ok(())
            }
        }
        // Read-only names: the switch's default.
        TCP_CC_INFO | TCP_SAVED_SYN | TCP_FASTOPEN_KEY | TCP_ZEROCOPY_RECEIVE | TCP_IS_MPTCP => {
            Err(Errno::ENOPROTOOPT)
        }
        _ => return Answer::Unknown,
    };
    Answer::Done(result)
}

/// do_tcp_getsockopt for the names handled here; None: not one of them. `optlen` is what
/// the caller offered (already checked non-negative).
pub fn get(
    socket: &TcpSocket,
    fin_timeout_secs: u32,
    name: i32,
    optlen: usize,
) -> Option<Result<Vec<u8>, Errno>> {
    let more = socket
        .connection()
        .map_or(&socket.settings.more, |connection| {
            &connection.settings.more
        });
    let int = |value: i32| Some(Ok(value.to_ne_bytes()[..optlen.min(4)].to_vec()));
    match name {
        TCP_LINGER2 => int(match more.linger2_ticks {
            ticks if ticks < 0 => -1,
            0 => fin_timeout_secs as i32,
            ticks => ticks / TICKS_PER_SECOND as i32,
        }),
        TCP_DEFER_ACCEPT => int(retrans_to_secs(more.defer_accept_retries)),
        // A connection without a clamp reports the bound its window works under (the
        // kernel sets window_clamp to tcp_full_space when the connection starts; its
        // value, 64088 for a 128 KiB buffer here, comes from a scaling ratio this stack
        // does not model, so the stack's own full space is shown).
        TCP_WINDOW_CLAMP => int(match socket.connection() {
            Some(c) if more.window_clamp == 0 => c.receive_space(),
            _ => more.window_clamp,
        } as i32),
        TCP_THIN_LINEAR_TIMEOUTS => int(i32::from(more.thin_linear_timeouts)),
        TCP_THIN_DUPACK | TCP_IS_MPTCP => int(0),
        TCP_FASTOPEN => int(more.fastopen_queue as i32),
        TCP_FASTOPEN_CONNECT => int(i32::from(more.fastopen_connect)),
        TCP_FASTOPEN_NO_COOKIE => int(i32::from(more.fastopen_no_cookie)),
        TCP_NOTSENT_LOWAT => int(more.notsent_lowat as i32),
        TCP_SAVE_SYN => int(i32::from(more.save_syn)),
        TCP_INQ => int(i32::from(more.receive_queue_hint)),
        TCP_TX_DELAY => int(more.tx_delay_us as i32),
        TCP_RTO_MAX_MS => {
            int((u64::from(more.rto_max_ticks) * 1000 / u64::from(TICKS_PER_SECOND)) as i32)
        }
        TCP_RTO_MIN_US => int(ticks_to_micros(more.rto_min_ticks)),
        TCP_DELACK_MAX_US => int(ticks_to_micros(more.delack_max_ticks)),
        // A TCP_ULP-less socket answers length 0 (TCP_CC_INFO is answered in sockopt.rs).
        TCP_ULP => Some(Ok(Vec::new())),
        TCP_SAVED_SYN => Some(saved_syn(socket, optlen)),
        TCP_FASTOPEN_KEY => {
            let key = more.fastopen_key.as_deref().unwrap_or(&[]);
            Some(Ok(key[..optlen.min(key.len())].to_vec()))
        }
        // Zero-copy receive maps the socket's pages into the caller; the shim cannot, so a
        // request is refused as one whose address is not a TCP mapping (EINVAL).
        TCP_ZEROCOPY_RECEIVE => Some(Err(Errno::EINVAL)),
        // Not served by the kernel's getsockopt.
        // (The repair family's names are answered in `repair.rs` first.)
        TCP_MD5SIG | TCP_MD5SIG_EXT | TCP_REPAIR_OPTIONS => Some(Err(Errno::ENOPROTOOPT)),
        _ => {
            let _ = ZEROCOPY_MIN_LEN;
            None
        }
    }
}

/// TCP_SAVED_SYN: the saved headers once (then freed); a short buffer is EINVAL (the kernel
/// also writes the needed length back, which the shim cannot see here); none: length 0.
fn saved_syn(socket: &TcpSocket, optlen: usize) -> Result<Vec<u8>, Errno> {
    let saved = match &socket.role {
        Role::Connection(connection) => connection.saved_syn.as_deref(),
        _ => None,
    };
    match saved {
        None => Ok(Vec::new()),
        Some(bytes) if optlen < bytes.len() => Err(Errno::EINVAL),
        Some(bytes) => Ok(bytes.to_vec()),
    }
}

/// tcp_set_ulp: no upper-layer protocol is available (measured: "tls" is ENOENT here, the
/// module is not loaded, and unknown names are ENOENT).
pub fn set_ulp(value: &[u8]) -> Result<(), Errno> {
    if value.is_empty() {
        return Err(Errno::EINVAL);
    }
    Err(Errno::ENOENT)
}

/// TCP_FASTOPEN_KEY: 16 bytes, or 32 with a backup key; kept on the socket.
pub fn set_fastopen_key(more: &mut MoreSettings, value: &[u8]) -> Result<(), Errno> {
    if value.len() != FASTOPEN_KEY_LEN && value.len() != 2 * FASTOPEN_KEY_LEN {
        return Err(Errno::EINVAL);
    }
    more.fastopen_key = Some(value.to_vec());
    Ok(())
}
