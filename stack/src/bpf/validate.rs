//! What the kernel accepts: bpf_check_classic and check_load_and_stores (every failure is
//! EINVAL), then bpf_convert_filter's translation into eBPF, whose length decides the memory
//! charged for the program and whose jump offsets must fit 16 bits.

use crate::errno::Errno;

use super::op::{self, *};
use super::{ancillary, Instruction, MEMORY_WORDS, SKF_AD_OFF};

/// chk_code_allowed: the opcodes a classic socket filter may use.
fn is_allowed(code: u16) -> bool {
    matches!(
        code,
        // 32-bit ALU, K and X forms, and NEG.
        0x04 | 0x0c | 0x14 | 0x1c | 0x24 | 0x2c | 0x34 | 0x3c | 0x94 | 0x9c
            | 0x54 | 0x5c | 0x44 | 0x4c | 0xa4 | 0xac | 0x64 | 0x6c | 0x74 | 0x7c | 0x84
            // Loads: ABS and IND of W/H/B, LEN, IMM, MEM; LDX LEN, MSH, IMM, MEM.
            | 0x20 | 0x28 | 0x30 | 0x80 | 0x40 | 0x48 | 0x50 | 0x00 | 0x60
            | 0x81 | 0xb1 | 0x01 | 0x61
            // ST, STX, TAX, TXA, RET K, RET A.
            | 0x02 | 0x03 | 0x07 | 0x87 | 0x06 | 0x16
            // JA and the conditional jumps, K and X forms.
            | 0x05 | 0x15 | 0x1d | 0x35 | 0x3d | 0x25 | 0x2d | 0x45 | 0x4d
    )
}

fn is_conditional_jump(code: u16) -> bool {
    op::class(code) == JMP && op::operation(code) != JA && is_allowed(code)
}

/// bpf_check_classic: each instruction in order (the first failure answers), then the last
/// must be a RET, then check_load_and_stores. Every refusal is EINVAL.
pub fn check_classic(program: &[Instruction]) -> Result<(), Errno> {
    let len = program.len();
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    for (pc, instruction) in program.iter().enumerate() {
        let code = instruction.code;
        let k = instruction.k;
        if !is_allowed(code) {
            return Err(Errno::EINVAL);
        }
        let valid = match code {
            c if c == ALU | DIV | K || c == ALU | MOD | K => k != 0,
            c if c == ALU | LSH | K || c == ALU | RSH | K => k < 32,
            c if c == LD | MEM || c == LDX | MEM || c == ST || c == STX => k < MEMORY_WORDS,
            // "Note, the large ftest->k might cause loops": k is unsigned, forward only.
            c if c == JMP | JA => (k as usize) < len - pc - 1,
            c if is_conditional_jump(c) => {
                pc + usize::from(instruction.jt) + 1 < len
                    && pc + usize::from(instruction.jf) + 1 < len
            }
            // An offset in the ancillary range must name a known extension.
            c if c == LD | W | ABS || c == LD | H | ABS || c == LD | B | ABS => {
                k < SKF_AD_OFF || ancillary::is_known(k)
            }
            _ => true,
        };
        if !valid {
            return Err(Errno::EINVAL);
        }
    }
    match program[len - 1].code {
        c if c == RET | K || c == RET | A => check_load_and_stores(program),
        _ => Err(Errno::EINVAL),
    }
}

/// check_load_and_stores: a scratch cell may be read only if every path to the read wrote
/// it. One bit per cell; a jump hands its state to its targets and makes the fall-through
/// state "anything" (the targets are where execution continues).
fn check_load_and_stores(program: &[Instruction]) -> Result<(), Errno> {
    let mut masks = vec![u16::MAX; program.len()];
    let mut valid: u16 = 0;
    for (pc, instruction) in program.iter().enumerate() {
        valid &= masks[pc];
        let code = instruction.code;
        // k < 16 for these: checked by check_classic, which runs first.
        let cell = 1u16 << (instruction.k & 15);
        if code == ST || code == STX {
            valid |= cell;
        } else if code == LD | MEM || code == LDX | MEM {
            if valid & cell == 0 {
                return Err(Errno::EINVAL);
            }
        } else if code == JMP | JA {
            if let Some(mask) = masks.get_mut(pc + 1 + instruction.k as usize) {
                *mask &= valid;
            }
            valid = u16::MAX;
        } else if is_conditional_jump(code) {
            for offset in [instruction.jt, instruction.jf] {
                if let Some(mask) = masks.get_mut(pc + 1 + usize::from(offset)) {
                    *mask &= valid;
                }
            }
            valid = u16::MAX;
        }
    }
    Ok(())
}

/// bpf_convert_filter (the x86-64 build: unaligned loads allowed): how many eBPF
/// instructions the program becomes. EINVAL when a translated jump offset does not fit the
/// 16-bit field (BPF_EMIT_JMP). Counts measured against SO_MEMINFO's optmem for every
/// instruction form.
pub fn converted_length(program: &[Instruction]) -> Result<usize, Errno> {
    // The prologue: A and X cleared, CTX saved; 4 more caching skb->data and the headlen
    // when any packet load is present.
    let loads_packet = program.iter().any(|instruction| {
        let code = instruction.code;
        code == LDX | B | MSH
            || (op::class(code) == LD
                && matches!(op::mode(code), ABS | IND)
                && !(op::mode(code) == ABS && ancillary::is_known(instruction.k)))
    });
    let prologue = if loads_packet { 7 } else { 3 };
    let mut starts = Vec::with_capacity(program.len() + 1);
    let mut position = prologue;
    for instruction in program {
        starts.push(position);
        position += instruction_cost(instruction);
    }
    starts.push(position);
    // Each jump's offset, from the eBPF instruction that jumps (its last for JA after a
    // conditional jump) to the first of the target's.
    for (pc, instruction) in program.iter().enumerate() {
        let code = instruction.code;
        let targets: [Option<(usize, usize)>; 2] = if code == JMP | JA {
            [Some((pc + 1 + instruction.k as usize, 0)), None]
        } else if is_conditional_jump(code) {
            let extra = usize::from(op::source(code) == K && (instruction.k as i32) < 0);
            let (jt, jf) = (usize::from(instruction.jt), usize::from(instruction.jf));
            let two = jf != 0 && !(jt == 0 && op::operation(code) != JSET);
            if jf == 0 {
                [Some((pc + 1 + jt, extra)), None]
            } else if !two {
                [Some((pc + 1 + jf, extra)), None]
            } else {
                [Some((pc + 1 + jt, extra)), Some((pc + 1 + jf, extra + 1))]
            }
        } else {
            [None, None]
        };
        for (target, emitted_before) in targets.into_iter().flatten() {
            let Some(&target_start) = starts.get(target) else {
                return Err(Errno::EINVAL);
            };
            let offset = target_start as i64 - starts[pc] as i64 - 1 - emitted_before as i64;
            if offset < i64::from(i16::MIN) || offset > i64::from(i16::MAX) {
                return Err(Errno::EINVAL);
            }
        }
    }
    Ok(position)
}

/// eBPF instructions one classic instruction becomes (bpf_convert_filter,
/// convert_bpf_extensions, convert_bpf_ld_abs, convert_skb_access).
fn instruction_cost(instruction: &Instruction) -> usize {
    let code = instruction.code;
    let k = instruction.k;
    match op::class(code) {
        LD if op::mode(code) == ABS && ancillary::is_known(k) => {
            match k - SKF_AD_OFF {
                ancillary::PROTOCOL | ancillary::PKTTYPE | ancillary::VLAN_TPID => 2,
                ancillary::VLAN_TAG_PRESENT => 3,
                ancillary::IFINDEX
                | ancillary::HATYPE
                | ancillary::NLATTR
                | ancillary::NLATTR_NEST
                | ancillary::CPU
                | ancillary::PAY_OFFSET
                | ancillary::RANDOM => 4,
                // MARK, QUEUE, RXHASH, ALU_XOR_X, VLAN_TAG: one load or one ALU op.
                _ => 1,
            }
        }
        LD if matches!(op::mode(code), ABS | IND) => packet_load_cost(code, k),
        LDX if code == LDX | B | MSH => 1 + packet_load_cost(LD | B | ABS, k) + 5,
        ALU if code == ALU | DIV | X || code == ALU | MOD | X => 5,
        // BPF_RVAL: RET K moves the constant into R0 first.
        RET if code & 0x18 == K => 2,
        JMP if op::operation(code) == JA => 1,
        JMP => {
            let extra = usize::from(op::source(code) == K && (k as i32) < 0);
            // One jump when the false edge falls through, or when the true edge does and
            // the comparison can be inverted (JEQ, JGT, JGE); else a jump and a JA.
            let single =
                instruction.jf == 0 || (instruction.jt == 0 && op::operation(code) != JSET);
            let jump = if single { 1 } else { 2 };
            extra + jump
        }
        _ => 1,
    }
}

/// convert_bpf_ld_abs: a non-negative absolute offset gets an inline fast path (bounds
/// check, subtraction unless the offset is 0, the load, or 3 instructions when the offset
/// exceeds the 16-bit field, a byte swap for H and W, a jump over the slow path), then the
/// helper call (8, or 9 for an indirect load with a non-zero k).
fn packet_load_cost(code: u16, k: u32) -> usize {
    let indirect = op::mode(code) == IND;
    let offset = k as i32;
    let fast_path = if !indirect && offset >= 0 {
        let swap = usize::from(op::size(code) != B);
        let wide_offset = if offset > i32::from(i16::MAX) { 3 } else { 1 };
        3 + usize::from(offset != 0) + wide_offset + swap
    } else {
        0
    };
    let helper = if indirect { 8 + usize::from(k != 0) } else { 8 };
    fast_path + helper
}
