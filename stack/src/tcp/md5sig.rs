//! TCP MD5 signatures (RFC 2385) as Linux 6.18 keeps and checks them: a socket's keys
//! (TCP_MD5SIG / TCP_MD5SIG_EXT, tcp_v4_parse_md5_keys, tcp_md5_do_add / tcp_md5_do_del,
//! the longest-prefix lookup __tcp_md5_do_lookup), the digest (tcp_v4_md5_hash_skb: the
//! pseudo-header, the fixed TCP header with its checksum zeroed, the payload, the key), the
//! signing of the segments a keyed connection sends (tcp_options_write puts NOP NOP 19 18
//! first), and the input check every segment to a socket passes (tcp_inbound_hash).
//! Where the hooks sit: `tcb.rs` build_segment signs, `demux.rs` checks input and signs
//! resets (`md5sig_layer.rs`), `timewait.rs` signs TIME_WAIT ACKs with the key the
//! connection used.

use core::net::Ipv4Addr;

use super::md5::Md5;
use super::sol_tcp::names::TCP_MD5SIG_EXT;
use super::state::State;
use crate::errno::Errno;
use crate::wire::checksum;

/// TCP_MD5SIG_MAXKEYLEN.
pub const MAX_KEY_LEN: usize = 80;
/// TCPOLEN_MD5SIG_ALIGNED: NOP NOP kind length and the 16-byte digest.
pub const OPTION_LEN_ALIGNED: u32 = 20;
/// TCPOLEN_MD5SIG: the option itself.
const OPTION_LEN: usize = 18;
/// TCPOPT_MD5SIG and TCPOPT_AO.
const KIND_MD5: u8 = 19;
const KIND_AO: u8 = 29;
/// sizeof(struct tcp_ao_hdr): an AO option must be longer.
const AO_HEADER_LEN: usize = 4;
/// sizeof(struct tcp_md5sig).
const REQUEST_LEN: usize = 216;
/// sizeof(struct tcp_md5sig_key) on x86-64: what each key charges to sk_omem_alloc
/// (sock_kmalloc). Measured: with net.core.optmem_max 131072 the 964th key is ENOMEM.
const KEY_CHARGE: usize = 136;
/// TCP_MD5SIG_FLAG_PREFIX / TCP_MD5SIG_FLAG_IFINDEX (tcpm_flags).
const FLAG_PREFIX: u8 = 1;
const FLAG_IFINDEX: u8 = 2;
/// AF_INET (tcpm_addr.ss_family).
const AF_INET: u16 = 2;
/// IPPROTO_TCP in the pseudo-header.
const PROTOCOL_TCP: u8 = 6;

/// One key (struct tcp_md5sig_key). The stack has no VRF devices, so l3index is always 0;
/// the IFINDEX flag is still kept, as the exact-match rules compare it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Md5Key {
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    pub ifindex_flag: bool,
    pub secret: Vec<u8>,
}

impl Md5Key {
    /// inet_make_mask + the comparison in __tcp_md5_do_lookup.
    fn covers(&self, peer: Ipv4Addr) -> bool {
        let mask = match self.prefix_len {
            0 => 0,
            len => u32::MAX << (32 - u32::from(len.min(32))),
        };
        u32::from(self.address) & mask == u32::from(peer) & mask
    }
}

/// A socket's keys (tp->md5sig_info), newest first as hlist_add_head_rcu leaves them: the
/// lookup's ties go to the key found first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Md5Keys {
    keys: Vec<Md5Key>,
}

impl Md5Keys {
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// __tcp_md5_do_lookup: the key whose prefix covers `peer`, the longest prefix winning
    /// (better_md5_match; with l3index always 0 only the prefix decides).
    pub fn lookup(&self, peer: Ipv4Addr) -> Option<&Md5Key> {
        let mut best: Option<&Md5Key> = None;
        for key in self.keys.iter().filter(|key| key.covers(peer)) {
            if best.is_none_or(|old| old.prefix_len < key.prefix_len) {
                best = Some(key);
            }
        }
        best
    }

    /// tcp_md5_do_lookup_exact: the address compared whole (not masked), the prefix, and
    /// the IFINDEX flag.
    fn exact(&self, address: Ipv4Addr, prefix_len: u8, ifindex_flag: bool) -> Option<usize> {
        self.keys.iter().position(|key| {
            key.address == address
                && key.prefix_len == prefix_len
                && key.ifindex_flag == ifindex_flag
        })
    }

    /// __tcp_md5_do_add: an existing entry only gets the new secret; a new one is a
    /// sock_kmalloc, refused (ENOMEM) unless "sk_omem_alloc + size < optmem_max".
    fn add(&mut self, key: Md5Key, optmem_max: u32) -> Result<(), Errno> {
        match self.exact(key.address, key.prefix_len, key.ifindex_flag) {
            Some(at) => self.keys[at].secret = key.secret,
            None => {
                if (self.keys.len() + 1) * KEY_CHARGE >= optmem_max as usize {
                    return Err(Errno::ENOMEM);
                }
                self.keys.insert(0, key);
            }
        }
        Ok(())
    }

    /// tcp_md5_do_del: ENOENT when nothing matches exactly.
    fn delete(
        &mut self,
        address: Ipv4Addr,
        prefix_len: u8,
        ifindex_flag: bool,
    ) -> Result<(), Errno> {
        let at = self
            .exact(address, prefix_len, ifindex_flag)
            .ok_or(Errno::ENOENT)?;
        self.keys.remove(at);
        Ok(())
    }

    /// tcp_v4_syn_recv_sock: the child gets a copy of the one key that matched the peer,
    /// as a /32 for the peer's address (tcp_md5_key_copy), keeping its flags.
    pub fn for_child(&self, peer: Ipv4Addr) -> Md5Keys {
        let keys = self
            .lookup(peer)
            .map(|key| Md5Key {
                address: peer,
                prefix_len: 32,
                ifindex_flag: key.ifindex_flag,
                secret: key.secret.clone(),
            })
            .into_iter()
            .collect();
        Md5Keys { keys }
    }
}

/// tcp_v4_parse_md5_keys for TCP_MD5SIG and TCP_MD5SIG_EXT, its checks in its order.
/// `value` is the caller's whole buffer. TCP-AO keys do not exist (this kernel is built
/// without CONFIG_TCP_AO), so tcp_ao_required never refuses with EKEYREJECTED.
pub fn set_option(
    keys: &mut Md5Keys,
    name: i32,
    value: &[u8],
    optmem_max: u32,
) -> Result<(), Errno> {
    if value.len() < REQUEST_LEN {
        return Err(Errno::EINVAL);
    }
    // struct tcp_md5sig: tcpm_addr (sockaddr_storage, 128 bytes: family, port, address),
    // tcpm_flags u8, tcpm_prefixlen u8, tcpm_keylen u16, tcpm_ifindex i32, tcpm_key[80].
    let family = u16::from_ne_bytes([value[0], value[1]]);
    if family != AF_INET {
        return Err(Errno::EINVAL);
    }
    let address = Ipv4Addr::new(value[4], value[5], value[6], value[7]);
    let request_flags = value[128];
    let ifindex_flag = request_flags & FLAG_IFINDEX != 0;
    let mut prefix_len = 32;
    if name == TCP_MD5SIG_EXT && request_flags & FLAG_PREFIX != 0 {
        prefix_len = value[129];
        if prefix_len > 32 {
            return Err(Errno::EINVAL);
        }
    }
    let ifindex = i32::from_ne_bytes([value[132], value[133], value[134], value[135]]);
    if name == TCP_MD5SIG_EXT && ifindex != 0 && ifindex_flag {
        // The index must name an L3 master (VRF) device; the stack has none.
        return Err(Errno::EINVAL);
    }
    let key_len = usize::from(u16::from_ne_bytes([value[130], value[131]]));
    if key_len == 0 {
        return keys.delete(address, prefix_len, ifindex_flag);
    }
    if key_len > MAX_KEY_LEN {
        return Err(Errno::EINVAL);
    }
    keys.add(
        Md5Key {
            address,
            prefix_len,
            ifindex_flag,
            secret: value[136..136 + key_len].to_vec(),
        },
        optmem_max,
    )
}

/// Where a segment's authentication option sits (tcp_do_parse_auth_options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signature {
    None,
    /// The offset of the MD5 digest in the segment.
    Md5(usize),
    /// A TCP-AO option: without CONFIG_TCP_AO, tcp_inbound_ao_hash accepts it unchecked.
    Ao,
}

/// A malformed or repeated authentication option (tcp_do_parse_auth_options' -EINVAL and
/// -EEXIST).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadAuthOption;

/// tcp_do_parse_auth_options: Err for an option whose length runs past the header or is
/// below 2 (while at least TCPOLEN_MD5SIG bytes remain), an MD5 option of another length,
/// an AO option of 4 bytes or less, or a second authentication option.
pub fn find_signature(segment: &[u8]) -> Result<Signature, BadAuthOption> {
    let header_len = segment
        .get(12)
        .map_or(0, |byte| usize::from(byte >> 4) * 4)
        .min(segment.len());
    let mut at = 20;
    let mut found = Signature::None;
    while header_len.saturating_sub(at) >= OPTION_LEN {
        let length = header_len - at;
        match segment[at] {
            0 => return Ok(found),
            1 => {
                at += 1;
                continue;
            }
            kind => {
                let size = usize::from(segment[at + 1]);
                if size < 2 || size > length {
                    return Err(BadAuthOption);
                }
                if kind == KIND_MD5 || kind == KIND_AO {
                    let bad_size = if kind == KIND_MD5 {
                        size != OPTION_LEN
                    } else {
                        size <= AO_HEADER_LEN
                    };
                    if bad_size || found != Signature::None {
                        return Err(BadAuthOption);
                    }
                    found = if kind == KIND_MD5 {
                        Signature::Md5(at + 2)
                    } else {
                        Signature::Ao
                    };
                }
                at += size;
            }
        }
    }
    Ok(found)
}

/// tcp_v4_md5_hash_skb: MD5 over the pseudo-header (addresses, zero, protocol, the
/// segment's length), the 20-byte header with its checksum zeroed (options excluded), the
/// payload after the whole header, then the key.
pub fn digest(secret: &[u8], src: Ipv4Addr, dst: Ipv4Addr, segment: &[u8]) -> [u8; 16] {
    let header_len = segment
        .get(12)
        .map_or(20, |byte| usize::from(byte >> 4) * 4)
        .clamp(20, segment.len().max(20));
    let mut md5 = Md5::new();
    md5.update(&src.octets());
    md5.update(&dst.octets());
    md5.update(&[0, PROTOCOL_TCP]);
    md5.update(&(segment.len() as u16).to_be_bytes());
    let mut header = [0u8; 20];
    let fixed = segment.len().min(20);
    header[..fixed].copy_from_slice(&segment[..fixed]);
    header[16] = 0;
    header[17] = 0;
    md5.update(&header);
    md5.update(segment.get(header_len..).unwrap_or(&[]));
    md5.update(secret);
    md5.finish()
}

/// Fills in the digest of a segment emitted with `Options::md5` set (the option is the
/// first, at byte 20, as tcp_options_write places it) and redoes the checksum.
pub fn sign(segment: &mut [u8], src: Ipv4Addr, dst: Ipv4Addr, secret: &[u8]) {
    let Ok(Signature::Md5(at)) = find_signature(segment) else {
        return;
    };
    let signature = digest(secret, src, dst, segment);
    segment[at..at + 16].copy_from_slice(&signature);
    segment[16] = 0;
    segment[17] = 0;
    let acc = checksum::pseudo_header(src, dst, PROTOCOL_TCP, segment.len() as u32);
    let sum = !checksum::fold(checksum::accumulate(acc, segment));
    segment[16..18].copy_from_slice(&sum.to_be_bytes());
}

/// `segment` signed with `secret` when there is one (see `sign`).
pub fn signed(
    mut segment: Vec<u8>,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    secret: Option<&[u8]>,
) -> Vec<u8> {
    if let Some(secret) = secret {
        sign(&mut segment, src, dst, secret);
    }
    segment
}

/// tcp_syn_options: whether our own SYN (a connect, not a SYN-ACK) is signed, which also
/// leaves timestamps out of it ("if (tcp_key_is_md5(key)) timestamps = false").
pub fn signs_syn(keys: &Md5Keys, state: State, remote: Ipv4Addr) -> bool {
    state == State::SynSent && keys.lookup(remote).is_some()
}

/// Why tcp_inbound_hash dropped a segment (the drop reasons, and their MIB counters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundDrop {
    /// SKB_DROP_REASON_TCP_AUTH_HDR: a malformed or repeated authentication option.
    BadHeader,
    /// LINUX_MIB_TCPMD5NOTFOUND: a key covers the sender, the segment is unsigned.
    NotFound,
    /// LINUX_MIB_TCPMD5UNEXPECTED: signed, but no key covers the sender.
    Unexpected,
    /// LINUX_MIB_TCPMD5FAILURE: the digest does not match.
    Failure,
}

/// tcp_inbound_hash for a socket holding `keys`; `segment` is the TCP segment as received.
pub fn check_inbound(
    keys: &Md5Keys,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    segment: &[u8],
) -> Result<(), InboundDrop> {
    let signature = find_signature(segment).map_err(|BadAuthOption| InboundDrop::BadHeader)?;
    let key = keys.lookup(src);
    match (signature, key) {
        (Signature::None, None) | (Signature::Ao, _) => Ok(()),
        (Signature::None, Some(_)) => Err(InboundDrop::NotFound),
        (Signature::Md5(_), None) => Err(InboundDrop::Unexpected),
        (Signature::Md5(at), Some(key)) => {
            if digest(&key.secret, src, dst, segment) == segment[at..at + 16] {
                Ok(())
            } else {
                Err(InboundDrop::Failure)
            }
        }
    }
}

/// tcp_syn_options / tcp_synack_options: a Fast Open option goes in only "if (remaining >=
/// need)", and beside a signature a cookie no longer fits (a cookie request still does).
pub fn fit_syn_options(options: &mut crate::wire::tcp::Options) {
    if options.encoded_len() > 40 {
        options.fast_open = None;
    }
}

/// tcp_established_options: the SACK blocks that fit beside MD5 (and timestamps) in the
/// 40 option bytes: "(remaining - TCPOLEN_SACK_BASE_ALIGNED) / TCPOLEN_SACK_PERBLOCK".
pub fn sack_block_limit(timestamps: bool, signed: bool) -> usize {
    let mut remaining = 40usize;
    if signed {
        remaining -= OPTION_LEN_ALIGNED as usize;
    }
    if timestamps {
        remaining -= 12;
    }
    if remaining < 4 + 8 {
        return 0;
    }
    ((remaining - 4) / 8).min(crate::wire::tcp::MAX_SACK_BLOCKS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTMEM_MAX: u32 = 131_072;

    fn request(address: [u8; 4], flags: u8, prefix: u8, secret: &[u8]) -> Vec<u8> {
        let mut value = vec![0u8; REQUEST_LEN];
        value[0..2].copy_from_slice(&AF_INET.to_ne_bytes());
        value[4..8].copy_from_slice(&address);
        value[128] = flags;
        value[129] = prefix;
        value[130..132].copy_from_slice(&(secret.len() as u16).to_ne_bytes());
        value[136..136 + secret.len()].copy_from_slice(secret);
        value
    }

    #[test]
    fn errno_rules_follow_tcp_v4_parse_md5_keys() {
        let mut keys = Md5Keys::default();
        let add = request([198, 18, 0, 1], 0, 0, b"secret");
        assert_eq!(
            set_option(&mut keys, 14, &add[..215], OPTMEM_MAX),
            Err(Errno::EINVAL)
        );
        let mut bad_family = add.clone();
        bad_family[0] = 10;
        assert_eq!(
            set_option(&mut keys, 14, &bad_family, OPTMEM_MAX),
            Err(Errno::EINVAL)
        );
        let mut long = add.clone();
        long[130..132].copy_from_slice(&81u16.to_ne_bytes());
        assert_eq!(
            set_option(&mut keys, 14, &long, OPTMEM_MAX),
            Err(Errno::EINVAL)
        );
        let prefix_33 = request([198, 18, 0, 0], FLAG_PREFIX, 33, b"k");
        assert_eq!(
            set_option(&mut keys, TCP_MD5SIG_EXT, &prefix_33, OPTMEM_MAX),
            Err(Errno::EINVAL)
        );
        // TCP_MD5SIG ignores the prefix flag: a /32 key.
        assert_eq!(set_option(&mut keys, 14, &prefix_33, OPTMEM_MAX), Ok(()));
        let delete = request([198, 18, 0, 1], 0, 0, b"");
        assert_eq!(
            set_option(&mut keys, 14, &delete, OPTMEM_MAX),
            Err(Errno::ENOENT)
        );
        assert_eq!(set_option(&mut keys, 14, &add, OPTMEM_MAX), Ok(()));
        assert_eq!(set_option(&mut keys, 14, &delete, OPTMEM_MAX), Ok(()));
        assert_eq!(
            set_option(&mut keys, 14, &delete, OPTMEM_MAX),
            Err(Errno::ENOENT)
        );
        let mut ifindex = request([198, 18, 0, 1], FLAG_IFINDEX, 0, b"k");
        ifindex[132..136].copy_from_slice(&2i32.to_ne_bytes());
        assert_eq!(
            set_option(&mut keys, TCP_MD5SIG_EXT, &ifindex, OPTMEM_MAX),
            Err(Errno::EINVAL)
        );
    }

    /// Measured natively: 963 keys fit in optmem_max 131072; the 964th is ENOMEM, an update
    /// of an existing one still works, and a deletion makes room again.
    #[test]
    fn keys_are_charged_to_optmem_max() {
        let mut keys = Md5Keys::default();
        for i in 0..963u32 {
            let address = [10, (i / 256) as u8, (i % 256) as u8, 1];
            let add = request(address, 0, 0, b"k");
            assert_eq!(
                set_option(&mut keys, 14, &add, OPTMEM_MAX),
                Ok(()),
                "key {i}"
            );
        }
        let one_more = request([10, 99, 99, 1], 0, 0, b"k");
        assert_eq!(
            set_option(&mut keys, 14, &one_more, OPTMEM_MAX),
            Err(Errno::ENOMEM)
        );
        let update = request([10, 0, 0, 1], 0, 0, b"new");
        assert_eq!(set_option(&mut keys, 14, &update, OPTMEM_MAX), Ok(()));
        let delete = request([10, 0, 0, 1], 0, 0, b"");
        assert_eq!(set_option(&mut keys, 14, &delete, OPTMEM_MAX), Ok(()));
        assert_eq!(set_option(&mut keys, 14, &one_more, OPTMEM_MAX), Ok(()));
    }

    #[test]
    fn longest_prefix_wins_and_exact_match_deletes() {
        let mut keys = Md5Keys::default();
        let wide = request([198, 18, 0, 0], FLAG_PREFIX, 16, b"wide");
        let narrow = request([198, 18, 0, 7], FLAG_PREFIX, 32, b"narrow");
        set_option(&mut keys, TCP_MD5SIG_EXT, &wide, OPTMEM_MAX).unwrap();
        set_option(&mut keys, TCP_MD5SIG_EXT, &narrow, OPTMEM_MAX).unwrap();
        let peer = Ipv4Addr::new(198, 18, 0, 7);
        assert_eq!(keys.lookup(peer).unwrap().secret, b"narrow");
        assert_eq!(
            keys.lookup(Ipv4Addr::new(198, 18, 3, 3)).unwrap().secret,
            b"wide"
        );
        assert!(keys.lookup(Ipv4Addr::new(10, 0, 0, 1)).is_none());
        // The child copy is the matching key as a /32.
        let child = keys.for_child(Ipv4Addr::new(198, 18, 3, 3));
        assert_eq!(child.keys.len(), 1);
        assert_eq!(child.keys[0].prefix_len, 32);
        // A delete names the address exactly: 198.18.0.5/16 is not 198.18.0.0/16.
        let other = request([198, 18, 0, 5], FLAG_PREFIX, 16, b"");
        assert_eq!(
            set_option(&mut keys, TCP_MD5SIG_EXT, &other, OPTMEM_MAX),
            Err(Errno::ENOENT)
        );
    }

    /// A signed segment verifies with the key; a changed byte fails, an unkeyed socket
    /// calls it unexpected, an unsigned one to a keyed socket is "not found". (The kernel
    /// checks the same digests in ctests/cases/tcp_md5sig.c.)
    #[test]
    fn sign_then_verify_and_tamper() {
        let src = Ipv4Addr::new(198, 18, 0, 1);
        let dst = Ipv4Addr::new(198, 18, 0, 2);
        let repr = crate::wire::tcp::Repr {
            source_port: 40000,
            destination_port: 7,
            seq: 1,
            ack: 0,
            flags: crate::wire::tcp::flags::SYN,
            window: 64240,
            urgent_pointer: 0,
            options: crate::wire::tcp::Options {
                md5: Some([0; 16]),
                mss: Some(1460),
                ..Default::default()
            },
            payload: b"data",
        };
        let mut segment = repr.emit(src, dst);
        sign(&mut segment, src, dst, b"ipshim-md5-key");
        let parsed = crate::wire::tcp::Repr::parse(&segment, src, dst, false).unwrap();
        assert!(parsed.options.md5.is_some());
        let mut keys = Md5Keys::default();
        let add = request([198, 18, 0, 1], 0, 0, b"ipshim-md5-key");
        set_option(&mut keys, 14, &add, OPTMEM_MAX).unwrap();
        assert_eq!(check_inbound(&keys, src, dst, &segment), Ok(()));
        let mut tampered = segment.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(
            check_inbound(&keys, src, dst, &tampered),
            Err(InboundDrop::Failure)
        );
        assert_eq!(
            check_inbound(&Md5Keys::default(), src, dst, &segment),
            Err(InboundDrop::Unexpected)
        );
        let plain = crate::wire::tcp::Repr {
            options: Default::default(),
            ..repr
        }
        .emit(src, dst);
        assert_eq!(
            check_inbound(&keys, src, dst, &plain),
            Err(InboundDrop::NotFound)
        );
    }

    #[test]
    fn auth_option_parsing_rejects_what_linux_rejects() {
        let mut segment = vec![0u8; 60];
        segment[12] = 15 << 4;
        // All NOPs: no signature.
        segment[20..60].fill(1);
        assert_eq!(find_signature(&segment), Ok(Signature::None));
        // An option of length 1 while 18+ bytes remain.
        segment[20] = 30;
        segment[21] = 1;
        assert_eq!(find_signature(&segment), Err(BadAuthOption));
        // Two MD5 options.
        segment[20..60].fill(1);
        segment[20] = KIND_MD5;
        segment[21] = 18;
        segment[38] = KIND_MD5;
        segment[39] = 18;
        assert_eq!(find_signature(&segment), Err(BadAuthOption));
        // An MD5 option of the wrong size.
        segment[38..60].fill(1);
        segment[21] = 17;
        assert_eq!(find_signature(&segment), Err(BadAuthOption));
    }

    #[test]
    fn a_fast_open_cookie_does_not_fit_beside_a_signature_but_a_request_does() {
        use crate::wire::tcp::{FastOpenCookie, Options};
        let mut options = Options {
            md5: Some([0; 16]),
            mss: Some(1460),
            sack_permitted: true,
            window_scale: Some(7),
            fast_open: Some(FastOpenCookie::REQUEST),
            ..Options::default()
        };
        fit_syn_options(&mut options);
        assert_eq!(options.fast_open, Some(FastOpenCookie::REQUEST));
        assert_eq!(options.encoded_len(), 36);
        options.fast_open = Some(FastOpenCookie::new(&[1; 8], false));
        fit_syn_options(&mut options);
        assert_eq!(options.fast_open, None);
    }

    #[test]
    fn sack_room_beside_md5() {
        assert_eq!(sack_block_limit(false, false), 4);
        assert_eq!(sack_block_limit(true, false), 3);
        assert_eq!(sack_block_limit(false, true), 2);
        assert_eq!(sack_block_limit(true, true), 0);
    }
}
