//! Running a classic program over a packet, with the semantics of its eBPF translation
//! (bpf_convert_filter) as the kernel executes it: a packet load that fails makes the whole
//! program return 0 (convert_bpf_ld_abs' error path), so does a division or modulo by a
//! zero X; shifts by X use its low 5 bits; ancillary loads read the packet's metadata.
//!
//! Any program, even one `check_classic` refuses, runs to an end without panicking: jumps
//! only go forward, and whatever the validator would have refused (an unknown opcode, a
//! scratch cell out of range, a jump past the end) returns 0.

use std::borrow::Cow;

use super::op::{self, *};
use super::{ancillary, Instruction, MEMORY_WORDS, SKF_AD_OFF, SKF_LL_OFF, SKF_NET_OFF};

/// The packet as the filter sees it: `head` then `tail` run from the link-layer header (when
/// the packet has one) to the end of the data, in two pieces so that a caller need not copy
/// the headers and the payload together (UDP: the rebuilt link-layer and IP headers, then
/// the datagram as received). Offsets count from the start of `head`; skb->data is at
/// `data_offset` (the transport header for UDP: udp_queue_rcv_one_skb runs the filter before
/// pulling it).
#[derive(Debug, Clone, Copy)]
pub struct FilterPacket<'a> {
    pub head: &'a [u8],
    pub tail: &'a [u8],
    /// skb_mac_header: None when it was never set (SKF_LL_OFF loads then fail).
    pub link_offset: Option<usize>,
    /// skb_network_header.
    pub network_offset: usize,
    pub data_offset: usize,
}

impl<'a> FilterPacket<'a> {
    /// A packet in one piece.
    pub fn contiguous(
        bytes: &'a [u8],
        link_offset: Option<usize>,
        network_offset: usize,
        data_offset: usize,
    ) -> FilterPacket<'a> {
        FilterPacket {
            head: bytes,
            tail: &[],
            link_offset,
            network_offset,
            data_offset,
        }
    }

    fn total_len(&self) -> usize {
        self.head.len() + self.tail.len()
    }

    /// skb->len.
    fn len(&self) -> usize {
        self.total_len().saturating_sub(self.data_offset)
    }

    /// The bytes from skb->data on, copied only when skb->data lies in `head` and `tail`
    /// is not empty (never for UDP, whose data starts in `tail`).
    fn data(&self) -> Cow<'a, [u8]> {
        let head_len = self.head.len();
        if self.data_offset >= head_len {
            return Cow::Borrowed(self.tail.get(self.data_offset - head_len..).unwrap_or(&[]));
        }
        if self.tail.is_empty() {
            return Cow::Borrowed(&self.head[self.data_offset..]);
        }
        let mut bytes = self.head[self.data_offset..].to_vec();
        bytes.extend_from_slice(self.tail);
        Cow::Owned(bytes)
    }

    /// bpf_skb_load_helper_{8,16,32}: `size` bytes at `offset` from skb->data, or from a
    /// header for the SKF_NET_OFF / SKF_LL_OFF ranges (bpf_internal_load_pointer_neg_helper:
    /// only forward of that header, and within the data). Big-endian, as ntohs/ntohl.
    fn load(&self, offset: i32, size: usize) -> Option<u32> {
        let start = if offset >= 0 {
            self.data_offset.checked_add(offset as usize)?
        } else if offset >= SKF_NET_OFF {
            self.network_offset + (offset - SKF_NET_OFF) as usize
        } else if offset >= SKF_LL_OFF {
            self.link_offset? + (offset - SKF_LL_OFF) as usize
        } else {
            return None;
        };
        let end = start.checked_add(size)?;
        if end > self.total_len() {
            return None;
        }
        let head_len = self.head.len();
        // Below `end`, so every index is in one piece or the other.
        let byte = |at: usize| {
            if at < head_len {
                self.head[at]
            } else {
                self.tail[at - head_len]
            }
        };
        Some(
            (start..end)
                .map(byte)
                .fold(0u32, |value, byte| (value << 8) | u32::from(byte)),
        )
    }
}

/// The metadata ancillary loads read (struct sk_buff and its device).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ancillary {
    /// ntohs(skb->protocol): ETH_P_IP.
    pub protocol: u16,
    /// skb->pkt_type: PACKET_HOST 0, BROADCAST 1, MULTICAST 2, LOOPBACK 5.
    pub packet_type: u8,
    /// skb->dev->ifindex and ->type (ARPHRD_ETHER 1, ARPHRD_LOOPBACK 772).
    pub ifindex: u32,
    pub hardware_type: u16,
    pub mark: u32,
    pub queue_mapping: u16,
    pub hash: u32,
    /// raw_smp_processor_id.
    pub cpu: u32,
    pub vlan_tci: u16,
    pub vlan_present: bool,
    pub vlan_proto: u16,
    /// skb_get_poff: where the transport payload starts, relative to skb->data.
    pub payload_offset: u32,
}

/// One run of `program` over `packet`: the value it returns (0 drops the packet).
/// `random` serves SKF_AD_RANDOM (bpf_user_rnd_u32).
pub fn run(
    program: &[Instruction],
    packet: &FilterPacket<'_>,
    ancillary: &Ancillary,
    random: &mut dyn FnMut() -> u32,
) -> u32 {
    let mut a: u32 = 0;
    let mut x: u32 = 0;
    let mut memory = [0u32; MEMORY_WORDS as usize];
    let mut pc = 0usize;
    while let Some(instruction) = program.get(pc) {
        let code = instruction.code;
        let k = instruction.k;
        pc += 1;
        match op::class(code) {
            LD => match op::mode(code) {
                IMM => a = k,
                LEN => a = packet.len() as u32,
                MEM => match memory.get(k as usize) {
                    Some(&value) => a = value,
                    None => return 0,
                },
                ABS if ancillary::is_known(k) => {
                    match load_ancillary(k - SKF_AD_OFF, a, x, packet, ancillary, random) {
                        Some(value) => a = value,
                        None => return a,
                    }
                }
                ABS | IND => {
                    let offset = if op::mode(code) == IND {
                        x.wrapping_add(k) as i32
                    } else {
                        k as i32
                    };
                    let size = match op::size(code) {
                        W => 4,
                        H => 2,
                        B => 1,
                        _ => return 0,
                    };
                    match packet.load(offset, size) {
                        Some(value) => a = value,
                        None => return 0,
                    }
                }
                _ => return 0,
            },
            LDX => match code {
                c if c == LDX | W | IMM => x = k,
                c if c == LDX | W | LEN => x = packet.len() as u32,
                c if c == LDX | W | MEM => match memory.get(k as usize) {
                    Some(&value) => x = value,
                    None => return 0,
                },
                // "ldxb 4 * ([k] & 0xf)": the IP header length idiom.
                c if c == LDX | B | MSH => match packet.load(k as i32, 1) {
                    Some(value) => x = (value & 0xf) << 2,
                    None => return 0,
                },
                _ => return 0,
            },
            ST | STX => {
                let value = if op::class(code) == ST { a } else { x };
                match memory.get_mut(k as usize) {
                    Some(cell) if code == ST || code == STX => *cell = value,
                    _ => return 0,
                }
            }
            ALU => {
                let operand = if op::source(code) == X { x } else { k };
                a = match op::operation(code) {
                    ADD => a.wrapping_add(operand),
                    SUB => a.wrapping_sub(operand),
                    MUL => a.wrapping_mul(operand),
                    DIV => match a.checked_div(operand) {
                        Some(value) => value,
                        None => return 0,
                    },
                    MOD => match a.checked_rem(operand) {
                        Some(value) => value,
                        None => return 0,
                    },
                    OR => a | operand,
                    AND => a & operand,
                    XOR => a ^ operand,
                    LSH => a.wrapping_shl(operand),
                    RSH => a.wrapping_shr(operand),
                    NEG => a.wrapping_neg(),
                    _ => return 0,
                };
            }
            JMP => {
                let operand = if op::source(code) == X { x } else { k };
                let skip = match op::operation(code) {
                    JA => k as usize,
                    JEQ => branch(instruction, a == operand),
                    JGT => branch(instruction, a > operand),
                    JGE => branch(instruction, a >= operand),
                    JSET => branch(instruction, a & operand != 0),
                    _ => return 0,
                };
                pc = match pc.checked_add(skip) {
                    Some(next) if next < program.len() => next,
                    _ => return 0,
                };
            }
            RET => {
                // BPF_RVAL: RET K or RET A (RET X is not an instruction).
                return match code & 0x18 {
                    K => k,
                    A => a,
                    _ => 0,
                };
            }
            _ => match code {
                c if c == MISC | TAX => x = a,
                c if c == MISC | TXA => a = x,
                _ => return 0,
            },
        }
    }
    0
}

fn branch(instruction: &Instruction, taken: bool) -> usize {
    usize::from(if taken {
        instruction.jt
    } else {
        instruction.jf
    })
}

/// convert_bpf_extensions. None ends the program returning A as it stands (the translated
/// IFINDEX/HATYPE load exits when skb->dev is NULL, which a received packet never has, so
/// this is only reachable through an unknown extension).
fn load_ancillary(
    extension: u32,
    a: u32,
    x: u32,
    packet: &FilterPacket<'_>,
    metadata: &Ancillary,
    random: &mut dyn FnMut() -> u32,
) -> Option<u32> {
    Some(match extension {
        ancillary::PROTOCOL => u32::from(metadata.protocol),
        ancillary::PKTTYPE => u32::from(metadata.packet_type & 7),
        ancillary::IFINDEX => metadata.ifindex,
        ancillary::NLATTR => netlink_attribute(&packet.data(), a, x, false),
        ancillary::NLATTR_NEST => netlink_attribute(&packet.data(), a, x, true),
        ancillary::MARK => metadata.mark,
        ancillary::QUEUE => u32::from(metadata.queue_mapping),
        ancillary::HATYPE => u32::from(metadata.hardware_type),
        ancillary::RXHASH => metadata.hash,
        ancillary::CPU => metadata.cpu,
        ancillary::ALU_XOR_X => a ^ x,
        ancillary::VLAN_TAG => u32::from(metadata.vlan_tci),
        ancillary::VLAN_TAG_PRESENT => u32::from(metadata.vlan_present),
        ancillary::PAY_OFFSET => metadata.payload_offset,
        ancillary::RANDOM => random(),
        ancillary::VLAN_TPID => u32::from(metadata.vlan_proto),
        _ => return None,
    })
}

/// struct nlattr: nla_len and nla_type, native u16s, then the payload, each attribute
/// padded to 4 (NLA_ALIGN).
const NLA_HEADER_LEN: usize = 4;
/// NLA_TYPE_MASK: the type without NLA_F_NESTED and NLA_F_NET_BYTEORDER.
const NLA_TYPE_MASK: u16 = 0x3fff;

/// bpf_skb_get_nlattr / bpf_skb_get_nlattr_nest: the offset (from skb->data) of the first
/// netlink attribute of type `x` in the attribute stream at offset `a` (or inside the nested
/// attribute at `a`), 0 when there is none.
fn netlink_attribute(data: &[u8], a: u32, x: u32, nested: bool) -> u32 {
    let len = data.len();
    if len < NLA_HEADER_LEN || a as usize > len - NLA_HEADER_LEN {
        return 0;
    }
    let start = a as usize;
    let (stream_start, stream_len) = if nested {
        let Some(outer_len) = attribute_fits(&data[start..]) else {
            return 0;
        };
        (start + NLA_HEADER_LEN, outer_len - NLA_HEADER_LEN)
    } else {
        (start, len - start)
    };
    let mut position = stream_start;
    let mut remaining = stream_len as isize;
    while remaining > 0 {
        let window = &data[position..(position + remaining as usize).min(len)];
        let Some(attribute_len) = attribute_fits(window) else {
            return 0;
        };
        let kind = u16::from_ne_bytes([data[position + 2], data[position + 3]]) & NLA_TYPE_MASK;
        if u32::from(kind) == x {
            return position as u32;
        }
        let aligned = (attribute_len + 3) & !3;
        remaining -= aligned as isize;
        position += aligned;
        if position > len {
            return 0;
        }
    }
    0
}

/// nla_ok over `window`: a header fits and nla_len covers at least the header and at most
/// the window. Returns nla_len.
fn attribute_fits(window: &[u8]) -> Option<usize> {
    if window.len() < NLA_HEADER_LEN {
        return None;
    }
    let attribute_len = usize::from(u16::from_ne_bytes([window[0], window[1]]));
    (NLA_HEADER_LEN..=window.len())
        .contains(&attribute_len)
        .then_some(attribute_len)
}
