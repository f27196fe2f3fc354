//! IGMP scripts in virtual time: joins, leaves, filters, queries, as this kernel reports them.

use super::*;

const LINK: u32 = 2;
const GROUP: Ipv4Addr = Ipv4Addr::new(239, 1, 2, 3);
const SSM: Ipv4Addr = Ipv4Addr::new(232, 1, 1, 1);
const S1: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const S2: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 3);

fn state() -> IgmpState {
    IgmpState::new(&Sysctls::default(), LINK, 1500, 7)
}

fn at_ms(ms: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(ms)
}

/// Runs every timer due up to `until`, returning the reports as (destination, records):
/// each record (type, group, sources).
/// (record type, group, sources).
type Record = (u8, Ipv4Addr, Vec<Ipv4Addr>);
/// (destination, records).
type Sent = Vec<(Ipv4Addr, Vec<Record>)>;

fn run_until(state: &mut IgmpState, until: Instant) -> Sent {
    let mut sent = Vec::new();
    for _ in 0..100 {
        collect(state, &mut sent);
        match state.poll_at() {
            Some(at) if at <= until => state.handle_timeout(at),
            _ => break,
        }
    }
    collect(state, &mut sent);
    sent
}

fn collect(state: &mut IgmpState, sent: &mut Sent) {
    for (destination, bytes) in state.take_outbox() {
        sent.push((destination, decode(&bytes)));
    }
}

fn decode(bytes: &[u8]) -> Vec<Record> {
    assert_eq!(crate::wire::checksum::sum(bytes), 0xffff);
    if bytes[0] != message::V3_MEMBERSHIP_REPORT {
        let group = Ipv4Addr::new(bytes[4], bytes[5], bytes[6], bytes[7]);
        return vec![(bytes[0], group, Vec::new())];
    }
    let count = u16::from_be_bytes([bytes[6], bytes[7]]);
    let mut at = 8;
    let mut records = Vec::new();
    for _ in 0..count {
        let sources = usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
        let group = Ipv4Addr::new(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]);
        let list = (0..sources)
            .map(|i| {
                let s = at + 8 + 4 * i;
                Ipv4Addr::new(bytes[s], bytes[s + 1], bytes[s + 2], bytes[s + 3])
            })
            .collect();
        records.push((bytes[at], group, list));
        at += 8 + 4 * sources;
    }
    records
}

fn join(state: &mut IgmpState, now: Instant, group: Ipv4Addr, mode: u32) {
    state.apply(
        now,
        &HostChange::Join {
            ifindex: LINK,
            group,
            mode,
        },
    );
}

fn leave(state: &mut IgmpState, now: Instant, group: Ipv4Addr, mode: u32, sources: Vec<Ipv4Addr>) {
    state.apply(
        now,
        &HostChange::DeleteSources {
            ifindex: LINK,
            group,
            mode,
            sources,
            delta: false,
        },
    );
    state.apply(
        now,
        &HostChange::Leave {
            ifindex: LINK,
            group,
        },
    );
}

#[test]
fn join_is_reported_twice_then_leave_twice() {
    let mut state = state();
    join(&mut state, at_ms(0), GROUP, MCAST_EXCLUDE);
    // The first report goes 2 jiffies later; one retransmission within a second.
    assert!(state.poll_at().unwrap() <= at_ms(12));
    let sent = run_until(&mut state, at_ms(5_000));
    let to_exclude = (record::CHANGE_TO_EXCLUDE, GROUP, vec![]);
    assert_eq!(
        sent,
        vec![
            (ALL_V3_ROUTERS, vec![to_exclude.clone()]),
            (ALL_V3_ROUTERS, vec![to_exclude])
        ]
    );
    assert_eq!(state.poll_at(), None);
    leave(&mut state, at_ms(6_000), GROUP, MCAST_EXCLUDE, vec![]);
    let sent = run_until(&mut state, at_ms(10_000));
    let to_include = (record::CHANGE_TO_INCLUDE, GROUP, vec![]);
    assert_eq!(
        sent,
        vec![
            (ALL_V3_ROUTERS, vec![to_include.clone()]),
            (ALL_V3_ROUTERS, vec![to_include])
        ]
    );
    assert!(state.accepts(LINK, ALL_HOSTS, S1, 17));
    assert!(!state.accepts(LINK, GROUP, S1, 17));
}

#[test]
fn all_hosts_is_never_reported_and_quick_join_leave_coalesce() {
    let mut state = state();
    join(&mut state, at_ms(0), ALL_HOSTS, MCAST_EXCLUDE);
    assert_eq!(run_until(&mut state, at_ms(5_000)), vec![]);
    // Join and leave before the first report: only the leave is reported.
    join(&mut state, at_ms(6_000), GROUP, MCAST_EXCLUDE);
    leave(&mut state, at_ms(6_001), GROUP, MCAST_EXCLUDE, vec![]);
    let sent = run_until(&mut state, at_ms(10_000));
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].1, vec![(record::CHANGE_TO_INCLUDE, GROUP, vec![])]);
}

#[test]
fn source_specific_join_allows_then_blocks() {
    let mut state = state();
    join(&mut state, at_ms(0), SSM, MCAST_INCLUDE);
    state.apply(
        at_ms(0),
        &HostChange::AddSources {
            ifindex: LINK,
            group: SSM,
            mode: MCAST_INCLUDE,
            sources: vec![S1],
            delta: true,
        },
    );
    let sent = run_until(&mut state, at_ms(5_000));
    let allow = (record::ALLOW_NEW_SOURCES, SSM, vec![S1]);
    assert_eq!(
        sent,
        vec![
            (ALL_V3_ROUTERS, vec![allow.clone()]),
            (ALL_V3_ROUTERS, vec![allow])
        ]
    );
    assert!(state.accepts(LINK, SSM, S1, 17));
    assert!(!state.accepts(LINK, SSM, S2, 17));
    leave(&mut state, at_ms(6_000), SSM, MCAST_INCLUDE, vec![S1]);
    let sent = run_until(&mut state, at_ms(10_000));
    let block = (record::BLOCK_OLD_SOURCES, SSM, vec![S1]);
    assert_eq!(
        sent,
        vec![
            (ALL_V3_ROUTERS, vec![block.clone()]),
            (ALL_V3_ROUTERS, vec![block])
        ]
    );
}

#[test]
fn exclude_filter_blocks_a_source() {
    let mut state = state();
    join(&mut state, at_ms(0), GROUP, MCAST_EXCLUDE);
    run_until(&mut state, at_ms(5_000));
    state.apply(
        at_ms(6_000),
        &HostChange::AddSources {
            ifindex: LINK,
            group: GROUP,
            mode: MCAST_EXCLUDE,
            sources: vec![S2],
            delta: true,
        },
    );
    let sent = run_until(&mut state, at_ms(10_000));
    let block = (record::BLOCK_OLD_SOURCES, GROUP, vec![S2]);
    assert_eq!(
        sent,
        vec![
            (ALL_V3_ROUTERS, vec![block.clone()]),
            (ALL_V3_ROUTERS, vec![block])
        ]
    );
    assert!(!state.accepts(LINK, GROUP, S2, 17));
    assert!(state.accepts(LINK, GROUP, S1, 17));
    // IGMP itself is always accepted for a joined group.
    assert!(state.accepts(LINK, GROUP, S2, PROTOCOL));
}

#[test]
fn general_query_is_answered_with_current_state() {
    let mut state = state();
    join(&mut state, at_ms(0), GROUP, MCAST_EXCLUDE);
    run_until(&mut state, at_ms(5_000));
    // A v3 general query, max response 1 s.
    let mut query = [0x11, 10, 0, 0, 0, 0, 0, 0, 0x02, 125, 0, 0];
    let sum = crate::wire::checksum::checksum(&query);
    query[2..4].copy_from_slice(&sum.to_be_bytes());
    state.receive(at_ms(6_000), LINK, &query, true, false);
    let deadline = state.poll_at().unwrap();
    assert!(deadline <= at_ms(7_010));
    let sent = run_until(&mut state, at_ms(10_000));
    assert_eq!(
        sent,
        vec![(
            ALL_V3_ROUTERS,
            vec![(record::MODE_IS_EXCLUDE, GROUP, vec![])]
        )]
    );
}

#[test]
fn v2_query_switches_to_v2_reports_and_leaves() {
    let mut state = state();
    join(&mut state, at_ms(0), GROUP, MCAST_EXCLUDE);
    run_until(&mut state, at_ms(5_000));
    let query = igmp::v2_message(message::MEMBERSHIP_QUERY, Ipv4Addr::UNSPECIFIED);
    let mut query = query;
    query[1] = 100;
    query[2..4].copy_from_slice(&[0, 0]);
    let sum = crate::wire::checksum::checksum(&query);
    query[2..4].copy_from_slice(&sum.to_be_bytes());
    state.receive(at_ms(6_000), LINK, &query, true, false);
    let sent = run_until(&mut state, at_ms(20_000));
    assert_eq!(
        sent,
        vec![(GROUP, vec![(message::V2_MEMBERSHIP_REPORT, GROUP, vec![])])]
    );
    leave(&mut state, at_ms(21_000), GROUP, MCAST_EXCLUDE, vec![]);
    let sent = run_until(&mut state, at_ms(30_000));
    assert_eq!(
        sent,
        vec![(ALL_ROUTERS, vec![(message::V2_LEAVE_GROUP, GROUP, vec![])])]
    );
}

#[test]
fn many_groups_split_over_packets() {
    let mut state = state();
    for n in 0..400u32 {
        join(
            &mut state,
            at_ms(0),
            Ipv4Addr::from(0xef02_0000 + n),
            MCAST_EXCLUDE,
        );
    }
    let sent = run_until(&mut state, at_ms(0) + Duration::from_millis(50));
    // (1500 - 24 - 8) / 8 = 183 records per report.
    let sizes: Vec<usize> = sent.iter().map(|(_, records)| records.len()).collect();
    assert_eq!(sizes, vec![183, 183, 34]);
}
