//! Reassembly of received fragments, as net/ipv4/ip_fragment.c (ip_frag_queue, ip_frag_reasm,
//! ip_expire) and net/ipv4/inet_fragment.c (inet_frag_queue_insert) do it: queues keyed by
//! (source, destination, id, protocol), a 30 s lifetime from the first fragment, any overlap
//! kills the whole queue (RFC 5722 handling), exact duplicates inside a run are dropped alone,
//! and the memory held is bounded by ipfrag_high_thresh.

use core::net::Ipv4Addr;
use core::time::Duration;
use std::collections::BTreeMap;

use super::counters::Ipv4Counters;
use super::options::CompiledOptions;
use super::skb;
use crate::socket::RxMeta;
use crate::time::Instant;
use crate::wire::ipv4::{flags, Packet};

/// net.ipv4.ipfrag_time.
pub const FRAGMENT_TIMEOUT: Duration = Duration::from_secs(30);
/// net.ipv4.ipfrag_high_thresh: above this, new fragments are dropped (inet_frag_find).
pub const HIGH_THRESH: usize = 4 * 1024 * 1024;

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
}

/// A datagram rebuilt from its fragments: the first fragment's header with the total length
/// and fragment word rewritten, and the joined payload.
#[derive(Debug)]
pub(super) struct Reassembled {
    pub datagram: Vec<u8>,
    pub arrival: Arrival,
    /// The sum of the fragments' truesize.
    pub truesize: usize,
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
}

impl Reassembly {
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
        self.memory -= queue.memory;
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
        if self.memory > HIGH_THRESH {
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
        let queue = self.queues.entry(key).or_insert_with(|| FragmentQueue {
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
            expires: now + FRAGMENT_TIMEOUT,
        });

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
        let head = self.head.take()?;
        let arrival = self.head_arrival?;
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
        })
    }
}
