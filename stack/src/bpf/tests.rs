//! The validator's answers and the translated lengths were measured natively (SO_ATTACH_FILTER
//! errno; SO_MEMINFO's optmem = 96 + 8 × eBPF length); the interpreter is checked per
//! instruction class and fuzzed for panics.

use super::op::*;
use super::*;
use crate::errno::Errno;

fn stmt(code: u16, k: u32) -> Instruction {
    Instruction::statement(code, k)
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Instruction {
    Instruction::new(code, jt, jf, k)
}

fn ret_a() -> Instruction {
    stmt(RET | A, 0)
}

fn ret_k(k: u32) -> Instruction {
    stmt(RET | K, k)
}

#[test]
fn validator_refuses_what_the_kernel_refuses() {
    let einval = Err(Errno::EINVAL);
    let cases: Vec<(Vec<Instruction>, Result<(), Errno>)> = vec![
        (vec![stmt(0xffff, 0), ret_k(0)], einval),
        (vec![stmt(LD | W | MSH, 0), ret_k(0)], einval),
        (vec![stmt(LD | IMM, 1)], einval),
        (vec![stmt(ALU | DIV | K, 0), ret_k(0)], einval),
        (vec![stmt(ALU | MOD | K, 0), ret_k(0)], einval),
        (vec![stmt(ALU | LSH | K, 32), ret_k(0)], einval),
        (vec![stmt(ALU | RSH | K, 31), ret_k(0)], Ok(())),
        (vec![stmt(ST, 16), ret_k(0)], einval),
        (vec![stmt(LD | MEM, 3), ret_a()], einval),
        (vec![stmt(LDX | MEM, 15), ret_k(0)], einval),
        (vec![stmt(ST, 3), stmt(LD | MEM, 3), ret_a()], Ok(())),
        // A cell written on one path only.
        (
            vec![
                jump(JMP | JEQ | K, 0, 0, 1),
                stmt(ST, 3),
                stmt(LD | MEM, 3),
                ret_a(),
            ],
            einval,
        ),
        (vec![stmt(JMP | JA, 1), ret_k(0)], einval),
        (vec![jump(JMP | JEQ | K, 0, 1, 0), ret_k(0)], einval),
        (vec![stmt(LD | W | ABS, SKF_AD_OFF + 64), ret_k(0)], einval),
        (vec![stmt(LD | W | ABS, SKF_AD_OFF + 2), ret_k(0)], einval),
        (vec![stmt(LD | B | ABS, SKF_AD_OFF), ret_k(0)], Ok(())),
        (vec![stmt(LD | W | IND, SKF_AD_OFF + 64), ret_k(0)], Ok(())),
        (
            vec![stmt(LD | W | ABS, SKF_NET_OFF as u32), ret_k(0)],
            Ok(()),
        ),
        (vec![stmt(RET | X, 0)], einval),
        (vec![stmt(JMP | JA | X, 0), ret_k(0)], einval),
        (vec![], einval),
    ];
    for (program, expected) in cases {
        assert_eq!(check_classic(&program), expected, "{program:?}");
    }
}

fn charge_of(program: Vec<Instruction>) -> usize {
    Program::new(program).unwrap().charge()
}

#[test]
fn translated_length_matches_the_measured_charge() {
    // (classic instructions before a final RET A, measured eBPF length of the whole).
    let measured: &[(&[Instruction], usize)] = &[
        (&[stmt(MISC | TAX, 0)], 5),
        (&[stmt(LD | W | ABS, SKF_AD_OFF)], 6),
        (&[stmt(LD | W | ABS, SKF_AD_OFF + 4)], 6),
        (&[stmt(LD | W | ABS, SKF_AD_OFF + 8)], 8),
        (&[stmt(LD | W | ABS, SKF_AD_OFF + 20)], 5),
        (&[stmt(LD | W | ABS, SKF_AD_OFF + 48)], 7),
        (&[stmt(LD | W | ABS, SKF_AD_OFF + 60)], 6),
        (&[stmt(LD | W | ABS, 0)], 21),
        (&[stmt(LD | H | ABS, 2)], 22),
        (&[stmt(LD | B | ABS, 2)], 21),
        (&[stmt(LD | W | ABS, 32767)], 22),
        (&[stmt(LD | W | ABS, 32768)], 24),
        (&[stmt(LD | W | ABS, 0x8000_0000)], 16),
        (&[stmt(LD | W | IND, 0)], 16),
        (&[stmt(LD | B | IND, 3)], 17),
        (&[stmt(LDX | B | MSH, 0)], 26),
        (&[stmt(LDX | B | MSH, SKF_NET_OFF as u32)], 22),
        (&[stmt(ALU | DIV | X, 0)], 9),
        (&[stmt(ALU | DIV | K, 3)], 5),
        (&[stmt(ST, 0), stmt(LD | MEM, 0)], 6),
        (&[jump(JMP | JEQ | K, 1, 0, 0)], 5),
        (&[jump(JMP | JEQ | K, 1, 0, 1), stmt(MISC | TAX, 0)], 6),
        (&[jump(JMP | JSET | K, 1, 0, 1), stmt(MISC | TAX, 0)], 7),
        (
            &[
                jump(JMP | JGT | K, 1, 1, 2),
                stmt(MISC | TAX, 0),
                stmt(MISC | TAX, 0),
            ],
            8,
        ),
        (&[jump(JMP | JEQ | K, 0x8000_0000, 0, 0)], 6),
        (&[jump(JMP | JEQ | X, 0x8000_0000, 0, 0)], 5),
    ];
    for (body, length) in measured {
        let mut program = body.to_vec();
        program.push(ret_a());
        assert_eq!(
            charge_of(program),
            PROGRAM_HEADER_LEN + 8 * length,
            "{body:?}"
        );
    }
    assert_eq!(charge_of(vec![ret_k(0)]), 136);
}

#[test]
fn far_translated_jumps_are_refused() {
    // 2400 absolute loads of 14 eBPF instructions each put the target past 32767.
    let mut program = vec![stmt(JMP | JA, 2400)];
    program.extend(std::iter::repeat_n(stmt(LD | W | ABS, 1), 2400));
    program.push(ret_k(0));
    assert_eq!(check_classic(&program), Ok(()));
    assert_eq!(converted_length(&program), Err(Errno::EINVAL));
    program[0].k = 2000;
    assert!(converted_length(&program).is_ok());
}

/// A UDP datagram from 198.18.0.1:1000 to port 2000 with payload "abcdef", behind an
/// Ethernet header.
fn sample() -> Vec<u8> {
    let mut bytes = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    bytes.extend_from_slice(&[
        0x45, 0, 0, 34, 0, 1, 0x40, 0, 64, 17, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2,
    ]);
    bytes.extend_from_slice(&[0x03, 0xe8, 0x07, 0xd0, 0, 14, 0, 0]);
    bytes.extend_from_slice(b"abcdef");
    bytes
}

fn packet(bytes: &[u8]) -> FilterPacket<'_> {
    FilterPacket::contiguous(bytes, Some(0), 14, 34)
}

fn metadata() -> Ancillary {
    Ancillary {
        protocol: 0x0800,
        ifindex: 2,
        hardware_type: 1,
        payload_offset: 8,
        ..Ancillary::default()
    }
}

fn run_on_sample(program: &[Instruction]) -> u32 {
    let bytes = sample();
    run(program, &packet(&bytes), &metadata(), &mut || 7)
}

#[test]
fn loads_read_the_packet_big_endian_and_fail_to_zero() {
    assert_eq!(run_on_sample(&[stmt(LD | H | ABS, 0), ret_a()]), 1000);
    assert_eq!(
        run_on_sample(&[stmt(LD | W | ABS, 0), ret_a()]),
        0x03e8_07d0
    );
    assert_eq!(
        run_on_sample(&[stmt(LD | B | ABS, 8), ret_a()]),
        u32::from(b'a')
    );
    assert_eq!(run_on_sample(&[stmt(LD | W | LEN, 0), ret_a()]), 14);
    assert_eq!(
        run_on_sample(&[stmt(LDX | W | LEN, 0), stmt(MISC | TXA, 0), ret_a()]),
        14
    );
    // The last byte is in, one past it is not: the program returns 0 (drop).
    assert_eq!(run_on_sample(&[stmt(LD | B | ABS, 13), ret_k(99)]), 99);
    assert_eq!(run_on_sample(&[stmt(LD | B | ABS, 14), ret_k(99)]), 0);
    assert_eq!(run_on_sample(&[stmt(LD | H | ABS, 13), ret_k(99)]), 0);
    assert_eq!(
        run_on_sample(&[stmt(LD | W | ABS, 0x7fff_ffff), ret_k(99)]),
        0
    );
    // Indirect: X + k, wrapping to a negative offset fails.
    let indirect = [stmt(LDX | IMM, 6), stmt(LD | H | IND, 2), ret_a()];
    assert_eq!(
        run_on_sample(&indirect),
        u32::from_be_bytes([0, 0, b'a', b'b'])
    );
    let wrapped = [stmt(LDX | IMM, u32::MAX), stmt(LD | B | IND, 0), ret_k(5)];
    assert_eq!(run_on_sample(&wrapped), 0);
    // Network and link-layer headers.
    assert_eq!(
        run_on_sample(&[stmt(LD | B | ABS, (SKF_NET_OFF + 9) as u32), ret_a()]),
        17
    );
    assert_eq!(
        run_on_sample(&[stmt(LD | H | ABS, (SKF_LL_OFF + 12) as u32), ret_a()]),
        0x800
    );
    assert_eq!(
        run_on_sample(&[stmt(LD | B | ABS, (SKF_LL_OFF + 14) as u32), ret_a()]),
        0x45
    );
    // Below a header's range: SKF_NET_OFF - 1 is SKF_LL_OFF + 0xfffff, past the end.
    assert_eq!(
        run_on_sample(&[stmt(LD | B | ABS, (SKF_NET_OFF - 1) as u32), ret_k(3)]),
        0
    );
    assert_eq!(
        run_on_sample(&[stmt(LD | B | ABS, (SKF_LL_OFF - 1) as u32), ret_k(3)]),
        0
    );
    // ldxb 4*([k]&0xf) over the IP header.
    let msh = [
        stmt(LDX | B | MSH, (SKF_NET_OFF) as u32),
        stmt(MISC | TXA, 0),
        ret_a(),
    ];
    assert_eq!(run_on_sample(&msh), 20);
    // Without a link-layer header, SKF_LL_OFF loads fail.
    let bytes = sample();
    let headless = FilterPacket {
        link_offset: None,
        ..packet(&bytes)
    };
    let program = [stmt(LD | B | ABS, SKF_LL_OFF as u32), ret_k(1)];
    assert_eq!(run(&program, &headless, &metadata(), &mut || 0), 0);
}

#[test]
fn arithmetic_jumps_and_scratch_memory() {
    let alu =
        |code: u16, a: u32, k: u32| run_on_sample(&[stmt(LD | IMM, a), stmt(code, k), ret_a()]);
    assert_eq!(alu(ALU | ADD | K, u32::MAX, 2), 1);
    assert_eq!(alu(ALU | SUB | K, 1, 2), u32::MAX);
    assert_eq!(alu(ALU | MUL | K, 0x8000_0000, 2), 0);
    assert_eq!(alu(ALU | DIV | K, 7, 2), 3);
    assert_eq!(alu(ALU | MOD | K, 7, 4), 3);
    assert_eq!(alu(ALU | AND | K, 6, 3), 2);
    assert_eq!(alu(ALU | OR | K, 6, 3), 7);
    assert_eq!(alu(ALU | XOR | K, 6, 3), 5);
    assert_eq!(alu(ALU | LSH | K, 1, 31), 0x8000_0000);
    assert_eq!(alu(ALU | RSH | K, 0x8000_0000, 31), 1);
    assert_eq!(alu(ALU | NEG, 1, 0), u32::MAX);
    let with_x = |code: u16, a: u32, x: u32| {
        run_on_sample(&[
            stmt(LDX | IMM, x),
            stmt(LD | IMM, a),
            stmt(code, 0),
            ret_a(),
        ])
    };
    // Division by a zero X returns 0 from the program; shifts use X's low 5 bits.
    assert_eq!(with_x(ALU | DIV | X, 7, 0), 0);
    assert_eq!(with_x(ALU | MOD | X, 7, 0), 0);
    assert_eq!(with_x(ALU | DIV | X, 9, 3), 3);
    assert_eq!(with_x(ALU | LSH | X, 1, 33), 2);
    assert_eq!(with_x(ALU | SUB | X, 5, 7), u32::MAX - 1);
    // SKF_AD_ALU_XOR_X.
    let xor = [
        stmt(LDX | IMM, 5),
        stmt(LD | IMM, 3),
        stmt(LD | W | ABS, SKF_AD_OFF + 40),
        ret_a(),
    ];
    assert_eq!(run_on_sample(&xor), 6);
    // Jumps: true and false edges, K and X, unsigned comparisons.
    let choose = |code: u16, a: u32, k: u32| {
        run_on_sample(&[stmt(LD | IMM, a), jump(code, k, 1, 0), ret_k(10), ret_k(20)])
    };
    assert_eq!(choose(JMP | JEQ | K, 4, 4), 20);
    assert_eq!(choose(JMP | JEQ | K, 4, 5), 10);
    assert_eq!(choose(JMP | JGT | K, u32::MAX, 1), 20);
    assert_eq!(choose(JMP | JGE | K, 4, 4), 20);
    assert_eq!(choose(JMP | JSET | K, 4, 3), 10);
    let jx = [
        stmt(LDX | IMM, 9),
        stmt(LD | IMM, 9),
        jump(JMP | JEQ | X, 0, 0, 1),
        ret_k(1),
        ret_k(2),
    ];
    assert_eq!(run_on_sample(&jx), 1);
    let ja = [stmt(JMP | JA, 1), ret_k(1), ret_k(2)];
    assert_eq!(run_on_sample(&ja), 2);
    // Scratch memory, A and X transfers.
    let memory = [
        stmt(LD | IMM, 11),
        stmt(ST, 15),
        stmt(LDX | IMM, 12),
        stmt(STX, 0),
        stmt(LD | MEM, 0),
        stmt(LDX | MEM, 15),
        stmt(ALU | ADD | X, 0),
        stmt(MISC | TAX, 0),
        stmt(MISC | TXA, 0),
        ret_a(),
    ];
    assert_eq!(run_on_sample(&memory), 23);
}

#[test]
fn ancillary_loads_read_the_metadata() {
    let load =
        |extension: u32| run_on_sample(&[stmt(LD | B | ABS, SKF_AD_OFF + extension), ret_a()]);
    assert_eq!(load(ancillary::PROTOCOL), 0x0800);
    assert_eq!(load(ancillary::IFINDEX), 2);
    assert_eq!(load(ancillary::HATYPE), 1);
    assert_eq!(load(ancillary::PAY_OFFSET), 8);
    assert_eq!(load(ancillary::RANDOM), 7);
    assert_eq!(load(ancillary::PKTTYPE), 0);
    assert_eq!(load(ancillary::VLAN_TAG_PRESENT), 0);
}

#[test]
fn netlink_attributes_are_found_by_type() {
    // Two attributes after 4 bytes of padding: type 1 (len 5, padded to 8), type 2 (len 8),
    // the second holding a nested type-3 attribute.
    let mut data = vec![0u8; 4];
    data.extend_from_slice(&[5, 0, 1, 0, 0xaa, 0, 0, 0]);
    data.extend_from_slice(&[8, 0, 2, 0x80, 4, 0, 3, 0]);
    let packet = FilterPacket::contiguous(&data, None, 0, 0);
    let find = |extension: u32, a: u32, x: u32| {
        let program = [
            stmt(LDX | IMM, x),
            stmt(LD | IMM, a),
            stmt(LD | W | ABS, SKF_AD_OFF + extension),
            ret_a(),
        ];
        run(&program, &packet, &Ancillary::default(), &mut || 0)
    };
    assert_eq!(find(ancillary::NLATTR, 4, 1), 4);
    assert_eq!(find(ancillary::NLATTR, 4, 2), 12);
    assert_eq!(find(ancillary::NLATTR, 4, 3), 0);
    assert_eq!(find(ancillary::NLATTR_NEST, 12, 3), 16);
    assert_eq!(find(ancillary::NLATTR_NEST, 4, 3), 0);
    assert_eq!(find(ancillary::NLATTR, 17, 1), 0);
    assert_eq!(find(ancillary::NLATTR, u32::MAX, 1), 0);
}

#[test]
fn trimming_never_goes_below_the_cap() {
    assert_eq!(trim_cap(0, 8, 100), None);
    assert_eq!(trim_cap(1, 8, 100), Some(8));
    assert_eq!(trim_cap(50, 8, 100), Some(50));
    assert_eq!(trim_cap(u32::MAX, 8, 100), Some(100));
}

#[test]
fn instructions_round_trip_through_user_memory() {
    let program = vec![jump(JMP | JEQ | K, 0x1234_5678, 3, 4), ret_k(0xffff)];
    let bytes: Vec<u8> = program.iter().flat_map(|i| i.encode()).collect();
    assert_eq!(bytes.len(), 16);
    assert_eq!(Instruction::decode_all(&bytes), program);
    assert_eq!(
        Program::new(vec![ret_k(1)]).unwrap().encode(),
        ret_k(1).encode()
    );
}

/// Seeded random programs (valid or not) over random packets: validation and execution
/// always finish without panicking, and a validated program's translation is measured.
#[test]
fn fuzzed_programs_never_panic() {
    let mut state: u64 = 0x0005_eed0_fb0f;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    // Opcodes the validator allows, plus junk, so both paths are exercised.
    const CODES: &[u16] = &[
        0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c, 0x94, 0x9c, 0x54, 0x5c, 0x44, 0x4c, 0xa4,
        0xac, 0x64, 0x6c, 0x74, 0x7c, 0x84, 0x20, 0x28, 0x30, 0x80, 0x40, 0x48, 0x50, 0x00, 0x60,
        0x81, 0xb1, 0x01, 0x61, 0x02, 0x03, 0x07, 0x87, 0x06, 0x16, 0x05, 0x15, 0x1d, 0x35, 0x3d,
        0x25, 0x2d, 0x45, 0x4d, 0x0e, 0x18, 0xffff,
    ];
    let mut accepted = 0;
    for _ in 0..20_000 {
        let len = 1 + (next() % 24) as usize;
        let program: Vec<Instruction> = (0..len)
            .map(|_| {
                let bits = next();
                let code = CODES[(bits % CODES.len() as u64) as usize];
                let k = match (bits >> 8) % 6 {
                    0 => (bits >> 16) as u32 % 64,
                    1 => SKF_AD_OFF + (bits >> 16) as u32 % 80,
                    2 => (SKF_NET_OFF as u32).wrapping_add((bits >> 16) as u32 % 64),
                    3 => (SKF_LL_OFF as u32).wrapping_add((bits >> 16) as u32 % 64),
                    4 => (bits >> 32) as u32,
                    _ => (bits >> 16) as u32 % 4,
                };
                Instruction::new(code, (bits >> 40) as u8 % 4, (bits >> 48) as u8 % 4, k)
            })
            .collect();
        let packet_len = (next() % 80) as usize;
        let bytes: Vec<u8> = (0..packet_len).map(|_| next() as u8).collect();
        let network = (next() % 20) as usize;
        let link = if next() % 2 == 0 { Some(0) } else { None };
        let data_offset = network + (next() % 40) as usize;
        let packet = FilterPacket::contiguous(&bytes, link, network, data_offset);
        if Program::new(program.clone()).is_ok() {
            accepted += 1;
        }
        let whole = run(&program, &packet, &metadata(), &mut || 1);
        // The same packet in two pieces, cut anywhere, gives the same answer.
        let cut = next() as usize % (bytes.len() + 1);
        let pieces = FilterPacket {
            head: &bytes[..cut],
            tail: &bytes[cut..],
            ..packet
        };
        assert_eq!(run(&program, &pieces, &metadata(), &mut || 1), whole);
    }
    assert!(accepted > 100, "only {accepted} programs were valid");
}
