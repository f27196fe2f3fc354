//! IP options a socket sends (net/ipv4/ip_options.c, the paths without an skb): IP_OPTIONS and
//! the IP_RETOPTS control message hand a list to ip_options_get, which pads it to a multiple of
//! 4 and compiles it (__ip_options_compile with skb == NULL: record-route and timestamp slots
//! are reserved, a source route's first hop is taken out of the option and becomes the
//! datagram's header destination); getsockopt(IP_OPTIONS) answers ip_options_undo's copy; each
//! datagram sent gets ip_options_build's header (the final destination in the source route's
//! last slot, our address and the time in the reserved slots). The compiler, the slot filling
//! and the undo of the reserved slots are the ones the receive path uses (`options.rs`), as the
//! kernel has one __ip_options_compile for both.

use core::net::Ipv4Addr;

use super::options::{self, CompiledOptions, OptionsSource};
use crate::errno::Errno;
use crate::wire::ipv4::{Options, HEADER_LEN};

/// The largest option list (MAX_IPOPTLEN).
pub use crate::wire::ipv4::MAX_OPTIONS_LEN;

/// struct ip_options as a socket holds it (inet->inet_opt, or ipc.opt from IP_RETOPTS): the
/// compiled bytes, where each option sits, and a source route's first hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketIpOptions {
    bytes: [u8; MAX_OPTIONS_LEN],
    len: u8,
    /// Option offsets from the start of the IP header, and the reserved slots.
    pub compiled: CompiledOptions,
    /// opt->faddr: the first hop of a loose or strict source route. Datagrams are routed to it
    /// and carry it as their header destination.
    pub first_hop: Option<Ipv4Addr>,
}

/// What the compiler needs to know about the caller and the host.
pub struct Compiling<'a> {
    /// ns_capable(CAP_NET_RAW): unknown, security, stream-id and CIPSO options, and unknown
    /// timestamp flags, are refused without it.
    pub cap_net_raw: bool,
    /// inet_addr_type(addr) == RTN_UNICAST: a prespecified timestamp naming such an address
    /// reserves no slot for us.
    pub is_foreign_unicast: &'a dyn Fn(Ipv4Addr) -> bool,
}

impl Default for SocketIpOptions {
    fn default() -> SocketIpOptions {
        SocketIpOptions {
            bytes: [0; MAX_OPTIONS_LEN],
            len: 0,
            compiled: CompiledOptions::default(),
            first_hop: None,
        }
    }
}

impl SocketIpOptions {
    /// opt->optlen: 0 when the socket has no options.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The compiled list, as ip_options_build copies it into each header (before the slots
    /// are filled).
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len()]
    }

    /// ip_options_get (with ip_options_get_finish): pad `data` (at most 40 bytes; callers
    /// check or truncate) with IPOPT_END to a multiple of 4 and compile it. An empty list is
    /// valid: no options. Every compilation failure is EINVAL.
    pub fn compile(data: &[u8], context: &Compiling<'_>) -> Result<SocketIpOptions, Errno> {
        if data.len() > MAX_OPTIONS_LEN {
            return Err(Errno::EINVAL);
        }
        let mut options = SocketIpOptions::default();
        options.bytes[..data.len()].copy_from_slice(data);
        // The rest of the buffer is zero (kzalloc), i.e. IPOPT_END.
        let len = data.len().next_multiple_of(4);
        options.len = len as u8;
        if len != 0 {
            let source = OptionsSource::Socket {
                cap_net_raw: context.cap_net_raw,
            };
            let result = options::compile(
                &mut options.bytes[..len],
                &source,
                context.is_foreign_unicast,
            )
            .map_err(|_| Errno::EINVAL)?;
            options.compiled = result.compiled;
            options.first_hop = result.first_hop;
        }
        Ok(options)
    }

    /// ip_options_undo on a copy: what getsockopt(IP_OPTIONS) answers. The source route gets
    /// its first hop back; reserved record-route and timestamp slots are handed back (pointer
    /// moved back, slot zeroed, whatever the caller had written there).
    pub fn undo(&self) -> Vec<u8> {
        let mut bytes = self.as_slice().to_vec();
        // "memmove(optptr+7, optptr+3, optptr[1]-7); memcpy(optptr+3, &opt->faddr, 4)".
        if let (Some(srr), Some(first_hop)) = (self.compiled.source_route, self.first_hop) {
            let at = srr - HEADER_LEN;
            let len = usize::from(bytes[at + 1]);
            bytes.copy_within(at + 3..at + len - 4, at + 7);
            bytes[at + 3..at + 7].copy_from_slice(&first_hop.octets());
        }
        options::undo_reserved_slots(&mut bytes, &self.compiled);
        bytes
    }

    /// ip_options_build for a datagram we originate: the list with the final destination in
    /// the source route's last slot, `src` (ip_rt_get_source: the header's source) in the
    /// reserved record-route and timestamp address slots, and the time in the timestamp slot.
    /// Every fragment after the first keeps only the copied options (`fragment` in output.rs).
    pub fn build(&self, final_destination: Ipv4Addr, src: Ipv4Addr, timestamp_ms: u32) -> Options {
        let mut bytes = self.as_slice().to_vec();
        // iph + opt->srr + iph[opt->srr + 1] - 4: the last four octets of the source route.
        let last_route_slot = self.compiled.source_route.and_then(|srr| {
            let at = srr.checked_sub(HEADER_LEN)?;
            (at + usize::from(*bytes.get(at + 1)?)).checked_sub(4)
        });
        if let Some(at) = last_route_slot {
            options::write_addr(&mut bytes, at, final_destination);
        }
        options::fill_reserved_slots(&mut bytes, &self.compiled, src, timestamp_ms);
        Options::new(&bytes).unwrap_or(Options::EMPTY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipv4::options::kind;

    /// IPOPT_SEC: accepted from a socket only with CAP_NET_RAW, like IPOPT_SID and unknown types.
    const SECURITY: u8 = 130;

    const US: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);

    fn compile(data: &[u8], cap_net_raw: bool) -> Result<SocketIpOptions, Errno> {
        SocketIpOptions::compile(
            data,
            &Compiling {
                cap_net_raw,
                is_foreign_unicast: &|addr| addr != US && !addr.is_unspecified(),
            },
        )
    }

    #[test]
    fn record_route_reserves_a_slot_and_undo_gives_it_back() {
        let mut rr = vec![kind::RECORD_ROUTE, 11, 4, 9, 9, 9, 9];
        rr.resize(11, 0);
        let options = compile(&rr, false).unwrap();
        assert_eq!(options.len(), 12);
        assert_eq!(options.as_slice()[2], 8);
        assert!(options.compiled.record_route_needs_address);
        // The caller's junk in the reserved slot reads back as zeros.
        assert_eq!(options.undo(), vec![7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let built = options.build(Ipv4Addr::new(198, 18, 0, 1), US, 0);
        assert_eq!(&built.as_slice()[..7], &[7, 11, 8, 198, 18, 0, 2]);
    }

    #[test]
    fn source_route_first_hop_leaves_the_option() {
        let lsrr = [
            kind::LOOSE_SOURCE_ROUTE,
            11,
            4,
            198,
            18,
            0,
            1,
            198,
            19,
            0,
            2,
            kind::END,
        ];
        let options = compile(&lsrr, false).unwrap();
        assert_eq!(options.first_hop, Some(Ipv4Addr::new(198, 18, 0, 1)));
        assert_eq!(
            options.as_slice(),
            &[131, 11, 4, 198, 19, 0, 2, 198, 19, 0, 2, 0]
        );
        assert_eq!(options.undo(), lsrr.to_vec());
        let built = options.build(Ipv4Addr::new(198, 19, 0, 9), US, 0);
        assert_eq!(
            built.as_slice(),
            &[131, 11, 4, 198, 19, 0, 2, 198, 19, 0, 9, 0]
        );
        // The pointer must be 4, the length 3 + 4n with at least one hop.
        assert_eq!(
            compile(&[131, 7, 8, 1, 2, 3, 4, 0], false),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            compile(&[131, 6, 4, 1, 2, 3, 0, 0], false),
            Err(Errno::EINVAL)
        );
        assert_eq!(compile(&[137, 3, 4, 0], false), Err(Errno::EINVAL));
    }

    #[test]
    fn timestamps_reserve_and_undo() {
        let ts = [kind::TIMESTAMP, 12, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        let options = compile(&ts, false).unwrap();
        assert_eq!(options.as_slice()[2], 13);
        assert_eq!(options.undo(), ts.to_vec());
        let built = options.build(US, US, 0x0102_0304);
        assert_eq!(
            built.as_slice(),
            &[68, 12, 13, 1, 198, 18, 0, 2, 1, 2, 3, 4]
        );
        // Prespecified: only an address that is not someone else's reserves our stamp.
        let prespec = [68, 12, 5, 3, 198, 18, 0, 2, 0, 0, 0, 0];
        let options = compile(&prespec, false).unwrap();
        assert_eq!(options.as_slice()[2], 13);
        assert_eq!(options.undo(), prespec.to_vec());
        let foreign = [68, 12, 5, 3, 198, 18, 0, 1, 0, 0, 0, 0];
        assert_eq!(compile(&foreign, false).unwrap().as_slice()[2], 5);
        // Unknown flag: CAP_NET_RAW only.
        assert_eq!(
            compile(&[68, 8, 5, 2, 0, 0, 0, 0], false),
            Err(Errno::EINVAL)
        );
        assert!(compile(&[68, 8, 5, 2, 0, 0, 0, 0], true).is_ok());
        // Full with the overflow at 15.
        assert_eq!(
            compile(&[68, 8, 9, 0xf0, 0, 0, 0, 0], false),
            Err(Errno::EINVAL)
        );
        // ... except a full prespecified list, whose overflow is not checked (measured).
        assert!(compile(&[68, 8, 9, 0xf3, 0, 0, 0, 0], false).is_ok());
        // An unknown flag still marks the option present, so a second one is refused.
        let unknown_then_ts = [68, 8, 5, 2, 0, 0, 0, 0, 68, 8, 5, 0, 0, 0, 0, 0];
        assert_eq!(compile(&unknown_then_ts, true), Err(Errno::EINVAL));
    }

    #[test]
    fn lengths_padding_and_refusals() {
        assert!(compile(&[], false).unwrap().is_empty());
        let nop = compile(&[kind::NOP], false).unwrap();
        assert_eq!(nop.as_slice(), &[1, 0, 0, 0]);
        // END turns the rest into END.
        assert_eq!(
            compile(&[0, 7, 7, 7], false).unwrap().as_slice(),
            &[0, 0, 0, 0]
        );
        assert_eq!(compile(&[0u8; 41], false), Err(Errno::EINVAL));
        assert_eq!(compile(&[kind::RECORD_ROUTE], false), Err(Errno::EINVAL));
        assert_eq!(
            compile(&[148, 4, 0, 0], false)
                .unwrap()
                .compiled
                .router_alert,
            Some(20)
        );
        assert_eq!(compile(&[148, 2, 0, 0], false), Err(Errno::EINVAL));
        assert_eq!(compile(&[SECURITY, 4, 0, 0], false), Err(Errno::EINVAL));
        assert!(compile(&[SECURITY, 4, 0, 0], true).is_ok());
        assert_eq!(
            compile(&[kind::CIPSO, 8, 0, 0, 0, 1, 0, 0], true),
            Err(Errno::EINVAL)
        );
    }
}
