//! Classic BPF (cBPF) socket filters, as SO_ATTACH_FILTER installs them (net/core/filter.c).
//!
//! Sans-IO and self-contained: `validate.rs` is the kernel's acceptance of a program
//! (bpf_check_classic, check_load_and_stores, then the length and jump range of its eBPF
//! translation, bpf_convert_filter, which decides the memory it charges); `interpret.rs` runs
//! one over a packet as the translated program behaves (loads past the data return 0 from
//! the whole program, division by a zero X returns 0, ancillary loads read the packet's
//! metadata). Nothing here can panic, whatever the program or the packet.

mod interpret;
mod validate;

pub use interpret::{run, Ancillary, FilterPacket};
pub use validate::{check_classic, converted_length};

use crate::errno::Errno;

/// BPF_MAXINSNS: the longest classic program.
pub const MAX_INSTRUCTIONS: usize = 4096;
/// BPF_MEMWORDS: the scratch memory cells M[0..16].
pub const MEMORY_WORDS: u32 = 16;
/// sizeof(struct sock_filter).
pub const INSTRUCTION_LEN: usize = 8;
/// offsetof(struct bpf_prog, insns) on this kernel: bpf_prog_size(len) is this plus 8 bytes
/// per eBPF instruction (measured through SO_MEMINFO's optmem after an attach: a one-
/// instruction `ret #0`, translated into 5 instructions, charges 136 bytes).
pub const PROGRAM_HEADER_LEN: usize = 96;

/// Opcode fields (uapi linux/bpf_common.h and linux/filter.h).
pub mod op {
    pub const LD: u16 = 0x00;
    pub const LDX: u16 = 0x01;
    pub const ST: u16 = 0x02;
    pub const STX: u16 = 0x03;
    pub const ALU: u16 = 0x04;
    pub const JMP: u16 = 0x05;
    pub const RET: u16 = 0x06;
    pub const MISC: u16 = 0x07;

    pub const W: u16 = 0x00;
    pub const H: u16 = 0x08;
    pub const B: u16 = 0x10;

    pub const IMM: u16 = 0x00;
    pub const ABS: u16 = 0x20;
    pub const IND: u16 = 0x40;
    pub const MEM: u16 = 0x60;
    pub const LEN: u16 = 0x80;
    pub const MSH: u16 = 0xa0;

    pub const ADD: u16 = 0x00;
    pub const SUB: u16 = 0x10;
    pub const MUL: u16 = 0x20;
    pub const DIV: u16 = 0x30;
    pub const OR: u16 = 0x40;
    pub const AND: u16 = 0x50;
    pub const LSH: u16 = 0x60;
    pub const RSH: u16 = 0x70;
    pub const NEG: u16 = 0x80;
    pub const MOD: u16 = 0x90;
    pub const XOR: u16 = 0xa0;

    pub const JA: u16 = 0x00;
    pub const JEQ: u16 = 0x10;
    pub const JGT: u16 = 0x20;
    pub const JGE: u16 = 0x30;
    pub const JSET: u16 = 0x40;

    pub const K: u16 = 0x00;
    pub const X: u16 = 0x08;
    pub const A: u16 = 0x10;

    pub const TAX: u16 = 0x00;
    pub const TXA: u16 = 0x80;

    pub fn class(code: u16) -> u16 {
        code & 0x07
    }
    pub fn size(code: u16) -> u16 {
        code & 0x18
    }
    pub fn mode(code: u16) -> u16 {
        code & 0xe0
    }
    pub fn operation(code: u16) -> u16 {
        code & 0xf0
    }
    pub fn source(code: u16) -> u16 {
        code & 0x08
    }
}

/// Negative load offsets (linux/filter.h): SKF_AD_OFF starts the ancillary loads, SKF_NET_OFF
/// addresses from the network header, SKF_LL_OFF from the link-layer header.
pub const SKF_AD_OFF: u32 = (-0x1000i32) as u32;
pub const SKF_NET_OFF: i32 = -0x10_0000;
pub const SKF_LL_OFF: i32 = -0x20_0000;

/// The ancillary loads this kernel knows (SKF_AD_*; bpf_anc_helper), as offsets from
/// SKF_AD_OFF. SKF_AD_MAX is 64.
pub mod ancillary {
    pub const PROTOCOL: u32 = 0;
    pub const PKTTYPE: u32 = 4;
    pub const IFINDEX: u32 = 8;
    pub const NLATTR: u32 = 12;
    pub const NLATTR_NEST: u32 = 16;
    pub const MARK: u32 = 20;
    pub const QUEUE: u32 = 24;
    pub const HATYPE: u32 = 28;
    pub const RXHASH: u32 = 32;
    pub const CPU: u32 = 36;
    pub const ALU_XOR_X: u32 = 40;
    pub const VLAN_TAG: u32 = 44;
    pub const VLAN_TAG_PRESENT: u32 = 48;
    pub const PAY_OFFSET: u32 = 52;
    pub const RANDOM: u32 = 56;
    pub const VLAN_TPID: u32 = 60;

    /// Whether `k` (an absolute load's offset) names a known ancillary load.
    pub fn is_known(k: u32) -> bool {
        k >= super::SKF_AD_OFF
            && (k - super::SKF_AD_OFF).is_multiple_of(4)
            && k - super::SKF_AD_OFF <= 60
    }
}

/// One struct sock_filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Instruction {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

impl Instruction {
    pub const fn new(code: u16, jt: u8, jf: u8, k: u32) -> Instruction {
        Instruction { code, jt, jf, k }
    }

    /// BPF_STMT.
    pub const fn statement(code: u16, k: u32) -> Instruction {
        Instruction::new(code, 0, 0, k)
    }

    /// The struct sock_filter array in user memory (native byte order); a trailing partial
    /// instruction is ignored.
    pub fn decode_all(bytes: &[u8]) -> Vec<Instruction> {
        bytes
            .chunks_exact(INSTRUCTION_LEN)
            .map(|raw| Instruction {
                code: u16::from_ne_bytes([raw[0], raw[1]]),
                jt: raw[2],
                jf: raw[3],
                k: u32::from_ne_bytes([raw[4], raw[5], raw[6], raw[7]]),
            })
            .collect()
    }

    pub fn encode(&self) -> [u8; INSTRUCTION_LEN] {
        let mut out = [0u8; INSTRUCTION_LEN];
        out[0..2].copy_from_slice(&self.code.to_ne_bytes());
        out[2] = self.jt;
        out[3] = self.jf;
        out[4..8].copy_from_slice(&self.k.to_ne_bytes());
        out
    }
}

/// A program the kernel accepted: the original instructions (SO_GET_FILTER copies them back)
/// and the length of its eBPF translation (what the socket is charged for it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    instructions: Vec<Instruction>,
    converted_length: usize,
}

impl Program {
    /// bpf_prepare_filter's checks: bpf_check_classic (EINVAL), then the translation
    /// (bpf_convert_filter: EINVAL for a jump whose translated offset exceeds 16 bits).
    /// The caller checked the length (bpf_check_basics_ok).
    pub fn new(instructions: Vec<Instruction>) -> Result<Program, Errno> {
        check_classic(&instructions)?;
        let converted_length = converted_length(&instructions)?;
        Ok(Program {
            instructions,
            converted_length,
        })
    }

    pub fn instructions(&self) -> &[Instruction] {
        &self.instructions
    }

    /// bpf_prog_size(prog->len): the bytes __sk_filter_charge adds to sk_omem_alloc.
    pub fn charge(&self) -> usize {
        PROGRAM_HEADER_LEN + 8 * self.converted_length
    }

    /// sk_get_filter's copy: the original instructions as user memory holds them.
    pub fn encode(&self) -> Vec<u8> {
        self.instructions
            .iter()
            .flat_map(|instruction| instruction.encode())
            .collect()
    }
}

/// sk_filter_trim_cap's verdict for a program's return value: None drops the packet (0),
/// else the length to keep, never below `cap` (the transport header), never above `len`.
pub fn trim_cap(verdict: u32, cap: usize, len: usize) -> Option<usize> {
    if verdict == 0 {
        return None;
    }
    Some((verdict as usize).max(cap).min(len))
}

#[cfg(test)]
mod tests;
