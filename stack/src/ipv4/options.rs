//! IP options as a host handles them (net/ipv4/ip_options.c). One compiler serves both of the
//! kernel's callers of __ip_options_compile (`compile`, with `OptionsSource`): on receive it
//! validates the list and writes our address and the time into record-route and timestamp
//! options; for a socket's list (IP_OPTIONS, IP_RETOPTS: `socket_options.rs`) it only reserves
//! those slots and takes a source route's first hop out. An answer (ICMP reply or error)
//! carries __ip_options_echo's copy of received options; ip_options_build fills the free slots
//! of answers and of a socket's datagrams (`fill_reserved_slots`), and ip_options_undo hands
//! them back (`undo_reserved_slots`).

use core::net::Ipv4Addr;

use crate::wire::ipv4::{self, Options};

pub mod kind {
    pub const END: u8 = 0;
    pub const NOP: u8 = 1;
    pub const RECORD_ROUTE: u8 = 7;
    pub const TIMESTAMP: u8 = 68;
    pub const LOOSE_SOURCE_ROUTE: u8 = 131;
    pub const CIPSO: u8 = 134;
    pub const STRICT_SOURCE_ROUTE: u8 = 137;
    pub const ROUTER_ALERT: u8 = 148;
}

/// Timestamp option flags (low nibble of its fourth octet).
mod timestamp_flag {
    pub const ONLY: u8 = 0;
    pub const AND_ADDRESS: u8 = 1;
    pub const PRESPECIFIED: u8 = 3;
}

/// What compiling found: option offsets from the start of the IP header (struct ip_options).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompiledOptions {
    pub source_route: Option<usize>,
    /// opt->is_strictroute: the source route is strict (SSRR), not loose.
    pub strict_route: bool,
    pub record_route: Option<usize>,
    /// A slot was filled in the record-route option (so an echo reserves the next one).
    pub record_route_needs_address: bool,
    pub timestamp: Option<usize>,
    pub timestamp_needs_address: bool,
    pub timestamp_needs_time: bool,
    pub router_alert: Option<usize>,
}

/// Context for compiling a received header.
pub struct Receiving<'a> {
    /// fib_compute_spec_dst: the address the datagram reached us at (ours, for a broadcast).
    pub specific_destination: Ipv4Addr,
    /// inet_current_timestamp: milliseconds since midnight UT when it arrived.
    pub timestamp_ms: u32,
    /// inet_addr_type == RTN_UNICAST: not one of ours, not broadcast or multicast.
    pub is_foreign_unicast: &'a dyn Fn(Ipv4Addr) -> bool,
}

pub(super) fn write_addr(bytes: &mut [u8], at: usize, addr: Ipv4Addr) {
    if let Some(slot) = bytes.get_mut(at..at + 4) {
        slot.copy_from_slice(&addr.octets());
    }
}

fn read_addr(bytes: &[u8], at: usize) -> Option<Ipv4Addr> {
    let b = bytes.get(at..at + 4)?;
    Some(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
}

/// Who hands the list to __ip_options_compile: its `skb` argument.
pub enum OptionsSource {
    /// A received datagram (skb != NULL): our address and the time are written into the free
    /// record-route and timestamp slots, a full timestamp option counts its overflow, and
    /// every option type is accepted.
    Received {
        /// fib_compute_spec_dst: the address the datagram reached us at.
        specific_destination: Ipv4Addr,
        /// inet_current_timestamp: milliseconds since midnight UT.
        timestamp_ms: u32,
    },
    /// A socket's list (skb == NULL: IP_OPTIONS, the IP_RETOPTS control message): slots are
    /// only reserved, a source route's first hop is taken out, and unknown, security,
    /// stream-id and CIPSO options and unknown timestamp flags need CAP_NET_RAW.
    Socket {
        /// ns_capable(CAP_NET_RAW).
        cap_net_raw: bool,
    },
}

/// What __ip_options_compile fills in struct ip_options: option offsets, and opt->faddr (a
/// socket's source-route first hop).
pub struct CompileResult {
    pub compiled: CompiledOptions,
    pub first_hop: Option<Ipv4Addr>,
}

/// __ip_options_compile over an option list (the bytes after the 20-byte header), modified in
/// place as the kernel modifies it. Offsets in the result count from the IP header, as in
/// struct ip_options. Err: the offset (from the IP header) of the octet a parameter problem
/// points at (`pp_ptr - iph`); socket calls turn it into EINVAL.
pub fn compile(
    options: &mut [u8],
    source: &OptionsSource,
    is_foreign_unicast: &dyn Fn(Ipv4Addr) -> bool,
) -> Result<CompileResult, usize> {
    let mut compiled = CompiledOptions::default();
    let mut first_hop = None;
    let received = match *source {
        OptionsSource::Received {
            specific_destination,
            timestamp_ms,
        } => Some((specific_destination, timestamp_ms)),
        OptionsSource::Socket { .. } => None,
    };
    // "!skb && !ns_capable(net->user_ns, CAP_NET_RAW)"
    let unprivileged_socket = matches!(source, OptionsSource::Socket { cap_net_raw: false });
    let in_header = |at: usize| at + ipv4::HEADER_LEN;
    let error = |at: usize| Err(at + ipv4::HEADER_LEN);
    let end = options.len();
    let mut at = 0;
    while at < end {
        match options[at] {
            kind::END => {
                // Everything after END becomes END.
                options[at + 1..end].fill(kind::END);
                break;
            }
            kind::NOP => {
                at += 1;
                continue;
            }
            _ => {}
        }
        let left = end - at;
        if left < 2 {
            return error(at);
        }
        let len = usize::from(options[at + 1]);
        if len < 2 || len > left {
            return error(at);
        }
        match options[at] {
            kind::STRICT_SOURCE_ROUTE | kind::LOOSE_SOURCE_ROUTE => {
                if len < 3 {
                    return error(at + 1);
                }
                if options[at + 2] < 4 {
                    return error(at + 2);
                }
                // RFC 1812 5.2.4.1: one source route only.
                if compiled.source_route.is_some() {
                    return error(at);
                }
                if received.is_none() {
                    // A socket's route must start at its first slot and hold whole addresses;
                    // the first hop leaves the option and becomes the header destination.
                    if options[at + 2] != 4 || len < 7 || (len - 3) & 3 != 0 {
                        return error(at + 1);
                    }
                    first_hop = read_addr(options, at + 3);
                    options.copy_within(at + 7..at + len, at + 3);
                }
                compiled.strict_route = options[at] == kind::STRICT_SOURCE_ROUTE;
                compiled.source_route = Some(in_header(at));
            }
            kind::RECORD_ROUTE => {
                if compiled.record_route.is_some() {
                    return error(at);
                }
                if len < 3 {
                    return error(at + 1);
                }
                let pointer = usize::from(options[at + 2]);
                if pointer < 4 {
                    return error(at + 2);
                }
                if pointer <= len {
                    if pointer + 3 > len {
                        return error(at + 2);
                    }
                    if let Some((specific_destination, _)) = received {
                        write_addr(options, at + pointer - 1, specific_destination);
                    }
                    options[at + 2] += 4;
                    compiled.record_route_needs_address = true;
                }
                compiled.record_route = Some(in_header(at));
            }
            kind::TIMESTAMP => {
                if compiled.timestamp.is_some() {
                    return error(at);
                }
                if len < 4 {
                    return error(at + 1);
                }
                let pointer = usize::from(options[at + 2]);
                if pointer < 5 {
                    return error(at + 2);
                }
                let flag = options[at + 3] & 0x0f;
                if pointer <= len {
                    if pointer + 3 > len {
                        return error(at + 2);
                    }
                    let mut time_at = None;
                    match flag {
                        timestamp_flag::ONLY => {
                            time_at = Some(at + pointer - 1);
                            compiled.timestamp_needs_time = true;
                            options[at + 2] += 4;
                        }
                        timestamp_flag::AND_ADDRESS => {
                            if pointer + 7 > len {
                                return error(at + 2);
                            }
                            if let Some((specific_destination, _)) = received {
                                write_addr(options, at + pointer - 1, specific_destination);
                            }
                            time_at = Some(at + pointer + 3);
                            compiled.timestamp_needs_address = true;
                            compiled.timestamp_needs_time = true;
                            options[at + 2] += 8;
                        }
                        timestamp_flag::PRESPECIFIED => {
                            if pointer + 7 > len {
                                return error(at + 2);
                            }
                            let listed = read_addr(options, at + pointer - 1)
                                .unwrap_or(Ipv4Addr::UNSPECIFIED);
                            // Only the host whose address is listed next stamps it.
                            if !is_foreign_unicast(listed) {
                                time_at = Some(at + pointer + 3);
                                compiled.timestamp_needs_time = true;
                                options[at + 2] += 8;
                            }
                        }
                        _ => {
                            if unprivileged_socket {
                                return error(at + 3);
                            }
                        }
                    }
                    if let (Some(time_at), Some((_, timestamp_ms))) = (time_at, received) {
                        if let Some(slot) = options.get_mut(time_at..time_at + 4) {
                            slot.copy_from_slice(&timestamp_ms.to_be_bytes());
                        }
                    }
                } else if flag != timestamp_flag::PRESPECIFIED {
                    // Full: the overflow counter in the high nibble, an error once it is 15;
                    // a received option counts one more.
                    let overflow = options[at + 3] >> 4;
                    if overflow == 15 {
                        return error(at + 3);
                    }
                    if received.is_some() {
                        options[at + 3] = flag | ((overflow + 1) << 4);
                    }
                }
                compiled.timestamp = Some(in_header(at));
            }
            kind::ROUTER_ALERT => {
                if len < 4 {
                    return error(at + 1);
                }
                if options[at + 2] == 0 && options[at + 3] == 0 {
                    compiled.router_alert = Some(in_header(at));
                }
            }
            kind::CIPSO => {
                if unprivileged_socket {
                    return error(at);
                }
                // cipso_v4_validate with no CIPSO DOI configured (netlabel's default): a short
                // option fails at its length, any other at its DOI.
                return error(at + if len < 8 { 1 } else { 2 });
            }
            // IPOPT_SEC, IPOPT_SID and unknown types.
            _ => {
                if unprivileged_socket {
                    return error(at);
                }
            }
        }
        at += len;
    }
    Ok(CompileResult {
        compiled,
        first_hop,
    })
}

/// __ip_options_compile on the receive path, over a whole IP header (modified in place as the
/// kernel modifies the skb). Err: the offset of the octet a parameter problem points at.
pub fn compile_received(header: &mut [u8], context: &Receiving<'_>) -> Result<CompiledOptions, u8> {
    let Some(options) = header.get_mut(ipv4::HEADER_LEN..) else {
        return Ok(CompiledOptions::default());
    };
    let source = OptionsSource::Received {
        specific_destination: context.specific_destination,
        timestamp_ms: context.timestamp_ms,
    };
    // The offset is below MAX_HEADER_LEN (60), so it fits the ICMP pointer octet.
    compile(options, &source, context.is_foreign_unicast)
        .map(|result| result.compiled)
        .map_err(|offset| offset as u8)
}

/// __ip_options_echo: the options an answer to this (compiled, received) header carries, and
/// where their free slots are. Source routes never get here (accept_source_route is 0, so
/// such datagrams are dropped on input). None: the answer is not sent.
pub fn echo(
    header: &[u8],
    received: &CompiledOptions,
    is_foreign_unicast: &dyn Fn(Ipv4Addr) -> bool,
) -> Option<(Options, CompiledOptions)> {
    let mut out: Vec<u8> = Vec::new();
    let mut echoed = CompiledOptions::default();
    if let Some(rr) = received.record_route {
        let len = usize::from(*header.get(rr + 1)?);
        let pointer = usize::from(*header.get(rr + 2)?);
        let start = out.len();
        echoed.record_route = Some(ipv4::HEADER_LEN + start);
        out.extend_from_slice(header.get(rr..rr + len)?);
        if received.record_route_needs_address && pointer <= len {
            if pointer + 3 > len {
                return None;
            }
            out[start + 2] = (pointer + 4) as u8;
            echoed.record_route_needs_address = true;
        }
    }
    if let Some(ts) = received.timestamp {
        let len = usize::from(*header.get(ts + 1)?);
        let mut pointer = usize::from(*header.get(ts + 2)?);
        let start = out.len();
        echoed.timestamp = Some(ipv4::HEADER_LEN + start);
        out.extend_from_slice(header.get(ts..ts + len)?);
        if pointer <= len {
            if received.timestamp_needs_address {
                if pointer + 3 > len {
                    return None;
                }
                echoed.timestamp_needs_address = true;
                pointer += 4;
            }
            if received.timestamp_needs_time {
                if pointer + 3 > len {
                    return None;
                }
                if out[start + 3] & 0x0f != timestamp_flag::PRESPECIFIED {
                    echoed.timestamp_needs_time = true;
                    pointer += 4;
                } else if pointer + 7 <= len {
                    let listed = read_addr(&out, start + pointer - 1)?;
                    if !is_foreign_unicast(listed) {
                        echoed.timestamp_needs_time = true;
                        pointer += 8;
                    }
                }
            }
            out[start + 2] = pointer as u8;
        }
    }
    while !out.len().is_multiple_of(4) {
        out.push(kind::END);
    }
    Some((Options::new(&out)?, echoed))
}

/// ip_options_undo's record-route and timestamp steps: hand back the slots compiling (or
/// __ip_options_echo) reserved for our address and the time: "optptr[2] -= 4;
/// memset(&optptr[optptr[2] - 1], 0, 4)" for each, and a prespecified timestamp's pointer
/// moved back past its address too. `bytes` is the option list; offsets in `compiled` count
/// from the IP header, 20 bytes before it. (The source-route step needs opt->faddr: see
/// `SocketIpOptions::undo`.)
pub fn undo_reserved_slots(bytes: &mut [u8], compiled: &CompiledOptions) {
    let take_back = |bytes: &mut [u8], at: usize| -> Option<()> {
        let pointer = bytes.get(at + 2)?.wrapping_sub(4);
        bytes[at + 2] = pointer;
        let slot = at + usize::from(pointer).checked_sub(1)?;
        bytes.get_mut(slot..slot + 4)?.fill(0);
        Some(())
    };
    let option_at = |offset: usize| offset.checked_sub(ipv4::HEADER_LEN);
    if compiled.record_route_needs_address {
        if let Some(at) = compiled.record_route.and_then(option_at) {
            take_back(bytes, at);
        }
    }
    if let Some(at) = compiled.timestamp.and_then(option_at) {
        if compiled.timestamp_needs_time {
            take_back(bytes, at);
            if bytes.get(at + 3).map(|flags| flags & 0x0f) == Some(timestamp_flag::PRESPECIFIED) {
                bytes[at + 2] = bytes[at + 2].wrapping_sub(4);
            }
        }
        if compiled.timestamp_needs_address {
            take_back(bytes, at);
        }
    }
}

/// ip_options_build for an answer we originate: our source address into the reserved
/// record-route and timestamp slots, and the time.
pub fn build(options: &mut Options, compiled: &CompiledOptions, src: Ipv4Addr, timestamp_ms: u32) {
    let mut bytes = options.as_slice().to_vec();
    fill_reserved_slots(&mut bytes, compiled, src, timestamp_ms);
    if let Some(rebuilt) = Options::new(&bytes) {
        *options = rebuilt;
    }
}

/// ip_options_build's slot filling, shared by answers and by a socket's datagrams: `src`
/// (ip_rt_get_source: the header's source) into the reserved record-route and timestamp
/// address slots, and the time into the timestamp slot. Compiling advanced each pointer past
/// its reserved slots, so they sit at optptr[optptr[2] - 5] (and - 9 for the address of an
/// address-and-time entry). `bytes` is the option list; offsets in `compiled` count from the
/// IP header, 20 bytes before it.
pub(super) fn fill_reserved_slots(
    bytes: &mut [u8],
    compiled: &CompiledOptions,
    src: Ipv4Addr,
    timestamp_ms: u32,
) {
    let slot_before_pointer = |bytes: &[u8], option: usize, back: usize| -> Option<usize> {
        let at = option.checked_sub(ipv4::HEADER_LEN)?;
        let pointer = usize::from(*bytes.get(at + 2)?);
        (at + pointer).checked_sub(back)
    };
    if compiled.record_route_needs_address {
        if let Some(at) = compiled
            .record_route
            .and_then(|rr| slot_before_pointer(bytes, rr, 5))
        {
            write_addr(bytes, at, src);
        }
    }
    if let Some(ts) = compiled.timestamp {
        if compiled.timestamp_needs_address {
            if let Some(at) = slot_before_pointer(bytes, ts, 9) {
                write_addr(bytes, at, src);
            }
        }
        if compiled.timestamp_needs_time {
            if let Some(slot) =
                slot_before_pointer(bytes, ts, 5).and_then(|at| bytes.get_mut(at..at + 4))
            {
                slot.copy_from_slice(&timestamp_ms.to_be_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
    const PEER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);

    fn receiving() -> Receiving<'static> {
        Receiving {
            specific_destination: US,
            timestamp_ms: 0x0102_0304,
            is_foreign_unicast: &|a| a != US,
        }
    }

    fn header_with(options: &[u8]) -> Vec<u8> {
        let mut header = vec![0u8; 20];
        header.extend_from_slice(options);
        header
    }

    #[test]
    fn ping_record_route_round_trip() {
        // ping -R: RR of 39 bytes, the sender's address already in the first slot.
        let mut options = vec![kind::RECORD_ROUTE, 39, 8, 198, 18, 0, 1];
        options.resize(39, 0);
        options.push(kind::END);
        let mut header = header_with(&options);
        let compiled = compile_received(&mut header, &receiving()).unwrap();
        assert_eq!(compiled.record_route, Some(20));
        assert!(compiled.record_route_needs_address);
        // We recorded ourselves in slot 2 and advanced the pointer.
        assert_eq!(
            &header[20..35],
            &[7, 39, 12, 198, 18, 0, 1, 198, 18, 0, 2, 0, 0, 0, 0]
        );
        let (mut echoed, echo_info) = echo(&header, &compiled, &|a| a != US).unwrap();
        build(&mut echoed, &echo_info, US, 0);
        // The answer records us once more on the way out, pointer at the fourth slot.
        assert_eq!(
            &echoed.as_slice()[..19],
            &[7, 39, 16, 198, 18, 0, 1, 198, 18, 0, 2, 198, 18, 0, 2, 0, 0, 0, 0]
        );
        assert_eq!(echoed.len(), 40);
        let _ = PEER;
    }

    #[test]
    fn timestamp_only_is_stamped_and_echoed() {
        let mut header = header_with(&[kind::TIMESTAMP, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let compiled = compile_received(&mut header, &receiving()).unwrap();
        assert_eq!(&header[20..32], &[68, 12, 9, 0, 1, 2, 3, 4, 0, 0, 0, 0]);
        let (mut echoed, info) = echo(&header, &compiled, &|a| a != US).unwrap();
        build(&mut echoed, &info, US, 0x0a0b_0c0d);
        assert_eq!(
            echoed.as_slice(),
            &[68, 12, 13, 0, 1, 2, 3, 4, 10, 11, 12, 13]
        );
    }

    #[test]
    fn full_timestamp_counts_overflow() {
        let mut header = header_with(&[kind::TIMESTAMP, 8, 9, 0, 0, 0, 0, 0]);
        compile_received(&mut header, &receiving()).unwrap();
        assert_eq!(header[23], 0x10);
        header[23] = 0xf0;
        assert_eq!(compile_received(&mut header, &receiving()), Err(23));
    }

    #[test]
    fn errors_point_at_the_octet() {
        assert_eq!(
            compile_received(
                &mut header_with(&[kind::RECORD_ROUTE, 7, 3, 0, 0, 0, 0, 0]),
                &receiving()
            ),
            Err(22)
        );
        assert_eq!(
            compile_received(
                &mut header_with(&[kind::RECORD_ROUTE, 9, 4, 0]),
                &receiving()
            ),
            Err(20)
        );
        assert_eq!(
            compile_received(
                &mut header_with(&[kind::NOP, kind::ROUTER_ALERT, 2, 0]),
                &receiving()
            ),
            Err(22)
        );
        let two_rr = [kind::RECORD_ROUTE, 3, 4, kind::RECORD_ROUTE, 3, 4, 0, 0];
        assert_eq!(
            compile_received(&mut header_with(&two_rr), &receiving()),
            Err(23)
        );
        assert_eq!(
            compile_received(&mut header_with(&[kind::CIPSO, 4, 0, 0]), &receiving()),
            Err(21)
        );
        // After END everything is END.
        let mut header = header_with(&[kind::END, 5, 5, 5]);
        compile_received(&mut header, &receiving()).unwrap();
        assert_eq!(&header[20..], &[0, 0, 0, 0]);
    }

    #[test]
    fn source_routes_are_found() {
        let mut header = header_with(&[kind::LOOSE_SOURCE_ROUTE, 7, 4, 1, 2, 3, 4, 0]);
        assert_eq!(
            compile_received(&mut header, &receiving())
                .unwrap()
                .source_route,
            Some(20)
        );
    }
}
