//! Classic socket filters through a whole `Stack`: the program attached with SO_ATTACH_FILTER
//! (as the shim hands it over, `setsockopt_with_program`) drops and trims the peer's
//! datagrams before they are queued; SO_MEMINFO counts the drops; a SO_REUSEPORT group's
//! program picks the member. Expected values were measured natively (ctests
//! `sockopt_socket_filter`, `peer_socket_filter`).

mod common;
use common::{host_stack, udp_frame, OURS, PEER};
use core::net::{Ipv4Addr, SocketAddrV4};

use stack::bpf::{op::*, Instruction, SKF_AD_OFF, SKF_LL_OFF, SKF_NET_OFF};
use stack::sockaddr::encode_in;
use stack::socket::msg_flags::MSG_DONTWAIT;
use stack::{Credentials, Errno, Instant, RecvArgs, RxMeta, SocketId, Stack};

const SOL_SOCKET: i32 = 1;
const SO_REUSEPORT: i32 = 15;
const SO_ATTACH_FILTER: i32 = 26;
const SO_ATTACH_REUSEPORT_CBPF: i32 = 51;
const SO_MEMINFO: i32 = 55;

fn bound_socket(stack: &mut Stack, port: u16) -> SocketId {
    let id = stack.socket(2, 17, Credentials::default()).unwrap();
    stack
        .bind(id, &encode_in(SocketAddrV4::new(OURS, port)))
        .unwrap();
    id
}

/// A struct sock_fprog whose filter pointer is a placeholder (the instructions travel
/// separately, as the shim copies them).
fn fprog(count: usize) -> Vec<u8> {
    let mut value = (count as u16).to_ne_bytes().to_vec();
    value.resize(8, 0);
    value.extend_from_slice(&0x1000u64.to_ne_bytes());
    value
}

fn attach(
    stack: &mut Stack,
    id: SocketId,
    name: i32,
    program: &[Instruction],
) -> Result<(), Errno> {
    let bytes: Vec<u8> = program.iter().flat_map(|i| i.encode()).collect();
    let value = fprog(program.len());
    assert_eq!(
        Stack::setsockopt_program_location(SOL_SOCKET, name, &value),
        Some((0x1000, bytes.len()))
    );
    stack.setsockopt_with_program(Instant::ZERO, id, SOL_SOCKET, name, &value, Some(&bytes))
}

fn from_peer(stack: &mut Stack, port: u16, ttl: u8, payload: &[u8]) {
    let frame = udp_frame(
        SocketAddrV4::new(PEER, 40000),
        SocketAddrV4::new(OURS, port),
        ttl,
        payload,
    );
    stack.handle_frame(Instant::ZERO, &frame, RxMeta::default());
}

fn received(stack: &mut Stack, id: SocketId) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for _ in 0..32 {
        let mut buf = vec![0u8; 4096];
        let args = RecvArgs {
            capacity: buf.len(),
            control_capacity: 0,
            flags: MSG_DONTWAIT,
        };
        match stack.recv(Instant::ZERO, id, args, &mut buf) {
            Ok(result) => {
                buf.truncate(result.len);
                out.push(buf);
            }
            Err(_) => break,
        }
    }
    out
}

fn stmt(code: u16, k: u32) -> Instruction {
    Instruction::statement(code, k)
}

#[test]
fn a_filter_drops_and_trims_the_peers_datagrams() {
    let mut stack = host_stack(1);
    let id = bound_socket(&mut stack, 5030);
    // TTL below 20: drop; payload starting 'D': drop; 'T' and a digit: keep that many bytes.
    let program = [
        stmt(LD | B | ABS, (SKF_NET_OFF + 8) as u32),
        Instruction::new(JMP | JGE | K, 1, 0, 20),
        stmt(RET | K, 0),
        stmt(LD | B | ABS, 8),
        Instruction::new(JMP | JEQ | K, 0, 1, u32::from(b'D')),
        stmt(RET | K, 0),
        Instruction::new(JMP | JEQ | K, 0, 4, u32::from(b'T')),
        stmt(LD | B | ABS, 9),
        stmt(ALU | SUB | K, u32::from(b'0')),
        stmt(ALU | ADD | K, 8),
        stmt(RET | A, 0),
        stmt(RET | K, 0x40000),
    ];
    assert_eq!(attach(&mut stack, id, SO_ATTACH_FILTER, &program), Ok(()));
    for (ttl, payload) in [
        (64, &b"hello"[..]),
        (64, b"Dropped"),
        (64, b"T3trimmed"),
        (64, b"T0"),
        (10, b"lowttl"),
        (64, b"T9"),
        (64, b""),
    ] {
        from_peer(&mut stack, 5030, ttl, payload);
    }
    let expected: Vec<Vec<u8>> = vec![b"hello".to_vec(), b"T3t".to_vec(), vec![], b"T9".to_vec()];
    assert_eq!(received(&mut stack, id), expected);
    // Two drops by the program, one by a load past the data (the empty datagram).
    let meminfo = stack.getsockopt(id, SOL_SOCKET, SO_MEMINFO, 36).unwrap();
    assert_eq!(u32::from_ne_bytes(meminfo[32..36].try_into().unwrap()), 3);
    // The filter's charge: 96 + 8 x (7 prologue + its translation) bytes.
    let optmem = u32::from_ne_bytes(meminfo[24..28].try_into().unwrap());
    assert!(optmem > 96, "{optmem}");
}

#[test]
fn ancillary_loads_describe_a_datagram_from_the_wire() {
    let mut stack = host_stack(2);
    // (load, value the kernel reads for a unicast datagram from the peer; measured).
    let cases: [(Instruction, u32); 8] = [
        (stmt(LD | H | ABS, SKF_AD_OFF), 0x800),
        (stmt(LD | B | ABS, SKF_AD_OFF + 4), 0),
        (stmt(LD | W | ABS, SKF_AD_OFF + 8), 2),
        (stmt(LD | W | ABS, SKF_AD_OFF + 28), 1),
        (stmt(LD | W | ABS, SKF_AD_OFF + 52), 8),
        (stmt(LD | B | ABS, SKF_LL_OFF as u32), 2),
        (stmt(LD | H | ABS, (SKF_LL_OFF + 12) as u32), 0x800),
        // The source MAC's last byte: the peer's 02:00:00:00:00:01.
        (stmt(LD | B | ABS, (SKF_LL_OFF + 11) as u32), 1),
    ];
    for (index, (load, value)) in cases.into_iter().enumerate() {
        let port = 5100 + index as u16;
        let id = bound_socket(&mut stack, port);
        let program = [
            load,
            stmt(ALU | AND | K, 0xfff),
            stmt(ALU | ADD | K, 8),
            stmt(RET | A, 0),
        ];
        attach(&mut stack, id, SO_ATTACH_FILTER, &program).unwrap();
        from_peer(&mut stack, port, 64, &[b'x'; 3000]);
        let got = received(&mut stack, id);
        assert_eq!(got.len(), 1, "{load:?}");
        assert_eq!(got[0].len() as u32, value, "{load:?}");
    }
}

#[test]
fn a_reuseport_program_picks_the_member() {
    let mut stack = host_stack(3);
    let members: Vec<SocketId> = (0..3)
        .map(|_| {
            let id = stack.socket(2, 17, Credentials::default()).unwrap();
            stack
                .setsockopt(
                    Instant::ZERO,
                    id,
                    SOL_SOCKET,
                    SO_REUSEPORT,
                    &1i32.to_ne_bytes(),
                )
                .unwrap();
            stack
                .bind(
                    id,
                    &encode_in(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 4400)),
                )
                .unwrap();
            id
        })
        .collect();
    let pick = [
        stmt(LD | B | ABS, 0),
        stmt(ALU | SUB | K, u32::from(b'0')),
        stmt(RET | A, 0),
    ];
    assert_eq!(
        attach(&mut stack, members[1], SO_ATTACH_REUSEPORT_CBPF, &pick),
        Ok(())
    );
    for payload in [&b"0a"[..], b"1b", b"2c", b"1d"] {
        from_peer(&mut stack, 4400, 64, payload);
    }
    assert_eq!(received(&mut stack, members[0]), vec![b"0a".to_vec()]);
    assert_eq!(
        received(&mut stack, members[1]),
        vec![b"1b".to_vec(), b"1d".to_vec()]
    );
    assert_eq!(received(&mut stack, members[2]), vec![b"2c".to_vec()]);
}

#[test]
fn an_unreadable_program_is_efault_and_a_bad_one_einval() {
    let mut stack = host_stack(4);
    let id = bound_socket(&mut stack, 5200);
    let value = fprog(1);
    assert_eq!(
        stack.setsockopt_with_program(
            Instant::ZERO,
            id,
            SOL_SOCKET,
            SO_ATTACH_FILTER,
            &value,
            None
        ),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        attach(&mut stack, id, SO_ATTACH_FILTER, &[stmt(LD | IMM, 1)]),
        Err(Errno::EINVAL)
    );
    assert_eq!(stack.get_socket_filter(id, 0), Ok((Vec::new(), 0)));
    attach(&mut stack, id, SO_ATTACH_FILTER, &[stmt(RET | K, 9)]).unwrap();
    assert_eq!(stack.get_socket_filter(id, 0), Ok((Vec::new(), 1)));
    assert_eq!(
        stack.get_socket_filter(id, 1),
        Ok((stmt(RET | K, 9).encode().to_vec(), 1))
    );
}
