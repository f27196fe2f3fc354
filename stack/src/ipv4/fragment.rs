//! Reassembly of received fragments, as net/ipv4/ip_fragment.c (ip_frag_queue, ip_frag_reasm,
//! ip_expire, ip_frag_too_far, ip_frag_reinit) and net/ipv4/inet_fragment.c (inet_frag_find,
//! inet_frag_queue_insert) do it: queues keyed by (source, destination, id, protocol), a
//! lifetime of ipfrag_time from the first fragment, any overlap kills the whole queue (RFC 5722
//! handling, which Linux applies to IPv4 too), exact duplicates inside a run are dropped alone,
//! the memory held is bounded by ipfrag_high_thresh, a queue that sees more than ipfrag_max_dist
//! fragments of its source go by between two of its own starts over, and the ECN codepoints of
//! the fragments are combined as RFC 3168 section 5.3 asks (ip_frag_ecn_table).

use core::net::Ipv4Addr;
use core::time::Duration;
use std::collections::BTreeMap;

use super::counters::Ipv4Counters;
use super::options::CompiledOptions;
use super::skb;
use crate::config::Sysctls;
use crate::socket::RxMeta;
use crate::time::Instant;
use crate::wire::ipv4::{flags, Packet};

/// net.ipv4.ipfrag_time's default.
pub const FRAGMENT_TIMEOUT: Duration = Duration::from_secs(30);
/// net.ipv4.ipfrag_high_thresh's default.
pub const HIGH_THRESH: usize = 4 * 1024 * 1024;
/// net.ipv4.ipfrag_max_dist's default.
pub const MAX_DIST: u32 = 64;
/// inet_frag_alloc charges each queue f->qsize, sizeof(struct ipq), besides its fragments
/// (measured: /proc/net/sockstat's FRAG memory grows by 2504 for a first 1480-byte fragment
/// whose skb is 2304 bytes, by 2304 more for a second fragment of the same datagram).
const QUEUE_COST: usize = 200;

/// The limits of include/net/inet_frag.h's fqdir, from the sysctls.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// fqdir->timeout.
    pub timeout: Duration,
    /// fqdir->high_thresh: 0 refuses every fragment.
    pub high_thresh: usize,
    /// fqdir->max_dist: 0 turns the check off.
    pub max_dist: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            timeout: FRAGMENT_TIMEOUT,
            high_thresh: HIGH_THRESH,
            max_dist: MAX_DIST,
        }
    }
}

impl Limits {
    pub(super) fn from_sysctls(sysctls: &Sysctls) -> Limits {
        Limits {
            timeout: Duration::from_secs(u64::from(sysctls.ipfrag_time_secs)),
            high_thresh: usize::try_from(sysctls.ipfrag_high_thresh).unwrap_or(usize::MAX),
            max_dist: sysctls.ipfrag_max_dist,
        }
    }
}

/// IPFRAG_ECN_*: one bit per ECN codepoint seen among a datagram's fragments (ip4_frag_ecn).
fn ecn_bit(tos: u8) -> u8 {
    1 << (tos & 3)
}

/// ip_frag_ecn_table: what the reassembled header's ECN field gets ORed with, or None for the
/// combinations RFC 3168 5.3 forbids (Not-ECT mixed with ECT or CE: the datagram is dropped).
fn combined_ecn(seen: u8) -> Option<u8> {
    const NOT_ECT: u8 = 1;
    const CE: u8 = 8;
    if seen & NOT_ECT != 0 && seen != NOT_ECT {
        return None;
    }
    // CE together with ECT(0) and/or ECT(1) is CE; everything else adds nothing.
    if seen & CE != 0 && seen != CE {
        return Some(3);
    }
    Some(0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct FragmentKey {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ident: u16,
    protocol: u8,
}

/// Where a fragment came from, kept for the reassembled datagram and for ip_expire's ICMP.
#[derive(Debug, Clone, Copy)]
pub(super) struct Arrival {
    pub ifindex: u32,
    pub link_broadcast: bool,
    pub meta: RxMeta,
    /// The fragment's compiled IP options (IPCB(skb)->opt).
    pub options: CompiledOptions,
}

/// inet_frag_queue's "runs": fragments appended contiguously at the tail grow one run; a
/// fragment placed anywhere else starts its own. Duplicate-or-overlap is decided per run.
#[derive(Debug, Clone, Copy)]
struct Run {
    start: usize,
    end: usize,
}

#[derive(Debug)]
struct FragmentQueue {
    runs: Vec<Run>,
    /// Index in `runs` of the run holding fragments_tail, and that fragment's end.
    tail: Option<(usize, usize)>,
    pieces: Vec<(usize, Vec<u8>)>,
    /// q.len: the datagram length known so far (the end of the last fragment once seen).
    len: usize,
    /// q.meat: payload bytes held.
    meat: usize,
    last_in: bool,
    /// The first fragment (offset 0) as received, header included, trimmed to its payload.
    head: Option<Vec<u8>>,
    head_arrival: Option<Arrival>,
    max_size: usize,
    max_df_size: usize,
    memory: usize,
    expires: Instant,
    /// qp->ecn: the IPFRAG_ECN_* bits of the fragments queued.
    ecn: u8,
    /// qp->q.stamp: the receive time of the latest fragment, which the whole datagram keeps
    /// (inet_frag_reasm_finish).
    latest_stamp: crate::time::WallTime,
    /// Every fragment arrived with a checksum the device vouched for (the kernel keeps
    /// ip_summed only when all fragments agree).
    checksum_trusted: bool,
    /// qp->rid: the source's fragment counter when this queue last took a fragment
    /// (ip_frag_too_far).
    rid: u32,
}

impl FragmentQueue {
    fn new(expires: Instant) -> FragmentQueue {
        FragmentQueue {
            runs: Vec::new(),
            tail: None,
            pieces: Vec::new(),
            len: 0,
            meat: 0,
            last_in: false,
            head: None,
            head_arrival: None,
            max_size: 0,
            max_df_size: 0,
            memory: 0,
            expires,
            ecn: 0,
            latest_stamp: crate::time::WallTime::default(),
            checksum_trusted: true,
            rid: 0,
        }
    }
}

/// A datagram rebuilt from its fragments: the first fragment's header with the total length
/// and fragment word rewritten, and the joined payload.
#[derive(Debug)]
pub(super) struct Reassembled {
    pub datagram: Vec<u8>,
    pub arrival: Arrival,
    /// The sum of the fragments' truesize.
    pub truesize: usize,
    /// The largest fragment, IP header included (qp->q.max_size → IPCB(skb)->frag_max_size).
    pub max_size: usize,
}

/// A queue that timed out: its first fragment, if it had arrived, is what ip_expire quotes in
/// ICMP time exceeded (fragment reassembly time exceeded).
#[derive(Debug)]
pub(super) struct Expired {
    pub head: Option<(Vec<u8>, Arrival)>,
}

enum Insert {
    Ok,
    Duplicate,
    Overlap,
}

#[derive(Default)]
pub(super) struct Reassembly {
    queues: BTreeMap<FragmentKey, FragmentQueue>,
    memory: usize,
    limits: Limits,
    /// inet_peer's rid per source address: fragments received from it. Kept while a queue
    /// from that source exists: a new queue starts at rid 0 and its first fragment is never
    /// "too far", so only differences between a queue's fragments matter.
    source_counters: BTreeMap<Ipv4Addr, u32>,
}

impl Reassembly {
    pub(super) fn new(limits: Limits) -> Reassembly {
        Reassembly {
            limits,
            ..Reassembly::default()
        }
    }

    /// Memory held by the queues (frag_mem_limit), for tests and counters.
    #[cfg(test)]
    pub(super) fn memory(&self) -> usize {
        self.memory
    }

    pub(super) fn poll_at(&self) -> Option<Instant> {
        self.queues.values().map(|q| q.expires).min()
    }

    /// ip_expire for every queue past its deadline.
    pub(super) fn handle_timeout(
        &mut self,
        now: Instant,
        counters: &mut Ipv4Counters,
    ) -> Vec<Expired> {
        let due: Vec<FragmentKey> = self
            .queues
            .iter()
            .filter(|(_, q)| q.expires <= now)
            .map(|(k, _)| *k)
            .collect();
        let mut expired = Vec::new();
        for key in due {
            if let Some(queue) = self.remove(&key) {
                counters.reasm_timeout += 1;
                expired.push(Expired {
                    head: queue.head.zip(queue.head_arrival),
                });
            }
        }
        expired
    }

    fn remove(&mut self, key: &FragmentKey) -> Option<FragmentQueue> {
        let queue = self.queues.remove(key)?;
        self.memory -= queue.memory + QUEUE_COST;
        if !self.queues.keys().any(|other| other.src == key.src) {
            self.source_counters.remove(&key.src);
        }
        Some(queue)
    }

    /// ip_frag_queue for one fragment (`datagram` already validated and trimmed to its total
    /// length). Returns the whole datagram when this fragment completed it.
    pub(super) fn add(
        &mut self,
        now: Instant,
        datagram: &[u8],
        arrival: Arrival,
        counters: &mut Ipv4Counters,
    ) -> Option<Reassembled> {
        let packet = Packet::new_checked(datagram).ok()?;
        // inet_frag_find: "if (!high_thresh || frag_mem_limit(fqdir) > high_thresh) return
        // NULL" (ip_defrag then drops the fragment).
        if self.limits.high_thresh == 0 || self.memory > self.limits.high_thresh {
            counters.reasm_memory_exceeded += 1;
            return None;
        }
        let key = FragmentKey {
            src: packet.source(),
            dst: packet.destination(),
            ident: packet.ident(),
            protocol: packet.protocol(),
        };
        let header_len = packet.header_len();
        let offset = packet.fragment_offset();
        let mut end = offset + packet.payload().len();
        let timeout = self.limits.timeout;
        if !self.queues.contains_key(&key) {
            self.memory += QUEUE_COST;
        }
        let queue = self
            .queues
            .entry(key)
            .or_insert_with(|| FragmentQueue::new(now + timeout));

        // ip_frag_too_far: the source's counter moves on with every fragment it sends; too
        // many of them since this queue's previous fragment and the queue starts over
        // (ip_frag_reinit: its fragments are freed and its timer restarted).
        if self.limits.max_dist != 0 {
            let counter = self.source_counters.entry(key.src).or_insert(0);
            *counter = counter.wrapping_add(1);
            let start = queue.rid;
            queue.rid = *counter;
            if queue.tail.is_some() && counter.wrapping_sub(start) > self.limits.max_dist {
                counters.reasm_too_far += 1;
                self.memory -= queue.memory;
                let rid = queue.rid;
                *queue = FragmentQueue::new(now + timeout);
                queue.rid = rid;
            }
        }

        let mut corrupt = false;
        if !packet.more_fragments() {
            // The final fragment: data beyond it, or a different end, means corruption.
            if end < queue.len || (queue.last_in && end != queue.len) {
                corrupt = true;
            } else {
                queue.last_in = true;
                queue.len = end;
            }
        } else {
            // Non-final fragments carry multiples of 8 bytes; the excess is trimmed.
            end &= !7;
            if end > queue.len {
                if queue.last_in {
                    corrupt = true;
                } else {
                    queue.len = end;
                }
            }
        }
        if corrupt || end == offset {
            counters.reasm_invalid += 1;
            self.remove(&key);
            return None;
        }
        let queue = self.queues.get_mut(&key)?;
        match queue.insert(offset, end) {
            Insert::Ok => {}
            Insert::Duplicate => {
                counters.reasm_duplicate += 1;
                return None;
            }
            Insert::Overlap => {
                counters.reasm_overlap += 1;
                self.remove(&key);
                return None;
            }
        }
        let payload = &packet.payload()[..end - offset];
        let fragment_size = payload.len() + header_len;
        queue.ecn |= ecn_bit(packet.tos());
        queue.latest_stamp = arrival.meta.timestamp;
        queue.checksum_trusted &= arrival.meta.checksum_trusted;
        // inet_frag_queue charges each fragment's skb->truesize to the queue and to
        // ipfrag_high_thresh; the reassembled skb's truesize is their sum.
        let cost = skb::truesize(fragment_size);
        queue.memory += cost;
        self.memory += cost;
        queue.meat += payload.len();
        queue.pieces.push((offset, payload.to_vec()));
        queue.max_size = queue.max_size.max(fragment_size);
        if packet.dont_fragment() {
            queue.max_df_size = queue.max_df_size.max(fragment_size);
        }
        if offset == 0 {
            queue.head = Some(datagram[..header_len + payload.len()].to_vec());
            queue.head_arrival = Some(arrival);
        }
        if !(queue.head.is_some() && queue.last_in && queue.meat == queue.len) {
            return None;
        }
        let queue = self.remove(&key)?;
        queue.reassemble(counters)
    }
}

impl FragmentQueue {
    /// inet_frag_queue_insert.
    fn insert(&mut self, offset: usize, end: usize) -> Insert {
        match self.tail {
            None => {
                self.runs.push(Run { start: offset, end });
                self.tail = Some((self.runs.len() - 1, end));
            }
            Some((tail_run, tail_end)) if tail_end < end => {
                // The common case: the fragment goes after the last one.
                if offset < tail_end {
                    return Insert::Overlap;
                }
                if offset == tail_end {
                    self.runs[tail_run].end = end;
                    self.tail = Some((tail_run, end));
                } else {
                    self.runs.push(Run { start: offset, end });
                    self.tail = Some((self.runs.len() - 1, end));
                }
            }
            Some(_) => {
                for run in &self.runs {
                    if end <= run.start || offset >= run.end {
                        continue;
                    }
                    if offset >= run.start && end <= run.end {
                        return Insert::Duplicate;
                    }
                    return Insert::Overlap;
                }
                self.runs.push(Run { start: offset, end });
            }
        }
        Insert::Ok
    }

    /// ip_frag_reasm.
    fn reassemble(mut self, counters: &mut Ipv4Counters) -> Option<Reassembled> {
        let Some(ecn) = combined_ecn(self.ecn) else {
            counters.reasm_invalid += 1;
            return None;
        };
        let head = self.head.take()?;
        let mut arrival = self.head_arrival?;
        arrival.meta.timestamp = self.latest_stamp;
        arrival.meta.checksum_trusted = self.checksum_trusted;
        let header_len = Packet::new_checked(&head[..]).ok()?.header_len();
        let total = header_len + self.len;
        if total > 65535 {
            counters.reasm_invalid += 1;
            return None;
        }
        self.pieces.sort_by_key(|(offset, _)| *offset);
        let mut datagram = Vec::with_capacity(total);
        datagram.extend_from_slice(&head[..header_len]);
        for (_, piece) in &self.pieces {
            datagram.extend_from_slice(piece);
        }
        if datagram.len() != total {
            counters.reasm_invalid += 1;
            return None;
        }
        // "iph->tos |= ecn" (the TOS octet is byte 1 of the header).
        datagram[1] |= ecn;
        let mut packet = Packet::new_unchecked(&mut datagram[..]);
        packet.set_total_len(total as u16);
        // DF survives only if the largest fragment carried it (IPSKB_FRAG_PMTU).
        let word = if self.max_df_size == self.max_size {
            flags::DONT_FRAGMENT
        } else {
            0
        };
        packet.set_flags_and_offset(word);
        packet.fill_checksum();
        counters.reasm_ok += 1;
        Some(Reassembled {
            datagram,
            arrival,
            truesize: self.memory,
            max_size: self.max_size,
        })
    }
}
