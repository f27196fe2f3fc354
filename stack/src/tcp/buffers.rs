//! The byte queues of a connection: the send queue (everything from SND.UNA on, sent or not)
//! and the receive side (in-order bytes for the application plus the out-of-order segments,
//! which also produce the SACK blocks of RFC 2018).

use std::collections::{BTreeMap, VecDeque};

use super::seq::Seq;
use crate::wire::tcp::SackBlock;

/// Bytes not yet acknowledged, starting at `start` (the sequence number of the first one).
#[derive(Debug, Default)]
pub struct SendQueue {
    bytes: VecDeque<u8>,
    pub start: Seq,
}

impl SendQueue {
    pub fn new(start: Seq) -> SendQueue {
        SendQueue {
            bytes: VecDeque::new(),
            start,
        }
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The sequence number after the last queued byte (tp->write_seq).
    pub fn end(&self) -> Seq {
        self.start.add(self.bytes.len() as u32)
    }

    pub fn push(&mut self, data: &[u8]) {
        self.bytes.extend(data);
    }

    /// Drops bytes acknowledged up to `ack` (clamped to what is queued).
    pub fn acknowledge(&mut self, ack: Seq) {
        let count = (ack.since(self.start) as usize).min(self.bytes.len());
        self.bytes.drain(..count);
        self.start = self.start.add(count as u32);
    }

    /// Copies `len` bytes from sequence `from` (which must be inside the queue).
    pub fn read(&self, from: Seq, len: usize) -> Vec<u8> {
        let offset = from.since(self.start) as usize;
        let end = (offset + len).min(self.bytes.len());
        let offset = offset.min(end);
        let mut out = Vec::with_capacity(end - offset);
        copy_range(&self.bytes, offset, end, &mut out);
        out
    }
}

/// Appends `bytes[from..to]` to `out` slice by slice (a VecDeque holds at most two).
pub fn copy_range(bytes: &VecDeque<u8>, from: usize, to: usize, out: &mut Vec<u8>) {
    let (head, tail) = bytes.as_slices();
    if from < head.len() {
        out.extend_from_slice(&head[from..to.min(head.len())]);
    }
    if to > head.len() {
        out.extend_from_slice(&tail[from.saturating_sub(head.len())..to - head.len()]);
    }
}

/// One received segment that arrived ahead of RCV.NXT, keyed by its absolute stream offset
/// (bytes since the first data byte) so the map never wraps.
#[derive(Debug, Default)]
pub struct ReceiveQueue {
    /// In-order bytes the application has not read yet.
    pub ready: VecDeque<u8>,
    /// Absolute offset of RCV.NXT (bytes delivered in order so far).
    pub delivered: u64,
    out_of_order: BTreeMap<u64, Vec<u8>>,
    /// Absolute offset where the peer's FIN sits, when it came ahead of the data.
    pub pending_fin: Option<u64>,
    /// The out-of-order range most recently added (RFC 2018 4: the first SACK block reports it).
    latest: Option<(u64, u64)>,
}

/// What `ReceiveQueue::insert` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inserted {
    /// Bytes that became readable (RCV.NXT advanced by this much).
    pub advanced: usize,
    /// The segment was (at least partly) ahead of RCV.NXT.
    pub out_of_order: bool,
    /// The FIN is now in order (RCV.NXT may step over it).
    pub fin_reached: bool,
}

impl ReceiveQueue {
    pub fn out_of_order_bytes(&self) -> usize {
        self.out_of_order.values().map(Vec::len).sum()
    }

    pub fn has_out_of_order(&self) -> bool {
        !self.out_of_order.is_empty()
    }

    /// The out-of-order queue holds one segment and it carries the peer's FIN
    /// (tcp_fastopen_active_disable_ofo_check; adjacent pieces count as one, as the
    /// kernel's ofo queue coalesces them).
    pub fn only_fin_out_of_order(&self) -> bool {
        let Some(fin) = self.pending_fin.filter(|&fin| fin > self.delivered) else {
            return false;
        };
        match self.out_of_order.len() {
            0 => true,
            1 => self
                .out_of_order
                .iter()
                .next()
                .is_some_and(|(start, data)| start + data.len() as u64 == fin),
            _ => false,
        }
    }

    /// Adds `data` that starts `ahead` bytes after RCV.NXT (negative: it starts before, the
    /// old part is trimmed). `fin`: the segment carries FIN after its data.
    pub fn insert(&mut self, ahead: i64, data: &[u8], fin: bool) -> Inserted {
        let mut start = self.delivered as i64 + ahead;
        let mut data = data;
        let end = start + data.len() as i64;
        if fin {
            self.pending_fin = Some(end as u64);
        }
        if start < self.delivered as i64 {
            let skip = (self.delivered as i64 - start).min(data.len() as i64) as usize;
            data = &data[skip..];
            start = self.delivered as i64;
        }
        let start = start as u64;
        let mut result = Inserted {
            advanced: 0,
            out_of_order: start > self.delivered,
            fin_reached: false,
        };
        if !data.is_empty() {
            if start == self.delivered {
                self.ready.extend(data);
                self.delivered += data.len() as u64;
                result.advanced += data.len();
            } else {
                self.store_out_of_order(start, data);
            }
            result.advanced += self.pull_in_order();
        }
        result.fin_reached = self.pending_fin == Some(self.delivered);
        result
    }

    /// Keeps only the parts of `data` not already held (earlier copies win; the bytes of a
    /// correct stream are the same either way).
    fn store_out_of_order(&mut self, start: u64, data: &[u8]) {
        let end = start + data.len() as u64;
        self.latest = Some((start, end));
        let mut cursor = start;
        let overlapping: Vec<(u64, u64)> = self
            .out_of_order
            .range(..end)
            .map(|(&s, bytes)| (s, s + bytes.len() as u64))
            .filter(|&(_, e)| e > start)
            .collect();
        let mut pieces = Vec::new();
        for (held_start, held_end) in overlapping {
            if held_start > cursor {
                pieces.push((cursor, held_start.min(end)));
            }
            cursor = cursor.max(held_end);
        }
        if cursor < end {
            pieces.push((cursor, end));
        }
        for (piece_start, piece_end) in pieces {
            let from = (piece_start - start) as usize;
            let to = (piece_end - start) as usize;
            self.out_of_order
                .insert(piece_start, data[from..to].to_vec());
        }
    }

    /// Moves segments that now continue the in-order stream into `ready`.
    fn pull_in_order(&mut self) -> usize {
        let mut moved = 0;
        while let Some((&start, _)) = self.out_of_order.first_key_value() {
            if start > self.delivered {
                break;
            }
            let bytes = self.out_of_order.remove(&start).unwrap_or_default();
            let skip = ((self.delivered - start) as usize).min(bytes.len());
            self.ready.extend(&bytes[skip..]);
            self.delivered += (bytes.len() - skip) as u64;
            moved += bytes.len() - skip;
        }
        moved
    }

    /// The out-of-order data as contiguous ranges (absolute offsets), lowest first.
    pub fn ranges(&self) -> Vec<(u64, u64)> {
        let mut ranges: Vec<(u64, u64)> = Vec::new();
        for (&start, bytes) in &self.out_of_order {
            let end = start + bytes.len() as u64;
            match ranges.last_mut() {
                Some(last) if last.1 >= start => last.1 = last.1.max(end),
                _ => ranges.push((start, end)),
            }
        }
        ranges
    }

    /// RFC 2018 section 4: the block holding the most recent segment first, then the others
    /// (highest first), at most `limit`. `rcv_nxt` anchors absolute offsets to sequence numbers.
    pub fn sack_blocks(&self, rcv_nxt: Seq, limit: usize) -> Vec<SackBlock> {
        let ranges = self.ranges();
        let to_block = |(start, end): (u64, u64)| SackBlock {
            left: rcv_nxt.add((start - self.delivered) as u32).0,
            right: rcv_nxt.add((end - self.delivered) as u32).0,
        };
        let latest = self.latest.and_then(|(start, _)| {
            ranges
                .iter()
                .copied()
                .find(|&(s, e)| s <= start && start < e)
        });
        let mut blocks = Vec::new();
        if let Some(range) = latest {
            blocks.push(to_block(range));
        }
        for &range in ranges.iter().rev() {
            if Some(range) != latest && blocks.len() < limit {
                blocks.push(to_block(range));
            }
        }
        blocks.truncate(limit);
        blocks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_queue_acknowledges_and_reads() {
        let mut queue = SendQueue::new(Seq(u32::MAX - 2));
        queue.push(b"abcdefgh");
        assert_eq!(queue.end(), Seq(5));
        assert_eq!(queue.read(Seq(u32::MAX), 3), b"cde");
        queue.acknowledge(Seq(1));
        assert_eq!(queue.len(), 4);
        assert_eq!(queue.read(Seq(1), 10), b"efgh");
    }

    #[test]
    fn copy_range_spans_the_two_slices() {
        let mut bytes: VecDeque<u8> = VecDeque::with_capacity(8);
        bytes.extend(0..6u8);
        bytes.drain(..4);
        bytes.extend(6..12u8);
        // Now the deque wraps: its content is 4..12.
        let mut out = Vec::new();
        copy_range(&bytes, 1, 7, &mut out);
        assert_eq!(out, vec![5, 6, 7, 8, 9, 10]);
        out.clear();
        copy_range(&bytes, 0, 8, &mut out);
        assert_eq!(out, (4..12u8).collect::<Vec<_>>());
    }

    #[test]
    fn out_of_order_fills_and_sacks() {
        let mut queue = ReceiveQueue::default();
        let inserted = queue.insert(10, b"klmno", false);
        assert!(inserted.out_of_order);
        assert_eq!(inserted.advanced, 0);
        queue.insert(20, b"uv", true);
        let blocks = queue.sack_blocks(Seq(1000), 3);
        assert_eq!(
            blocks,
            vec![
                SackBlock {
                    left: 1020,
                    right: 1022
                },
                SackBlock {
                    left: 1010,
                    right: 1015
                }
            ]
        );
        // Overlapping retransmission of the hole plus part of the held range.
        let inserted = queue.insert(0, b"abcdefghijklm", false);
        assert_eq!(inserted.advanced, 15);
        assert!(!inserted.fin_reached);
        // `ahead` counts from RCV.NXT, which is now 15.
        let inserted = queue.insert(0, b"pqrst", false);
        assert_eq!(inserted.advanced, 7);
        assert!(inserted.fin_reached);
        let text: Vec<u8> = queue.ready.iter().copied().collect();
        assert_eq!(text, b"abcdefghijklmnopqrstuv");
        assert!(!queue.has_out_of_order());
    }

    #[test]
    fn old_data_is_trimmed() {
        let mut queue = ReceiveQueue::default();
        queue.insert(0, b"abc", false);
        let inserted = queue.insert(-2, b"bcde", false);
        assert_eq!(inserted.advanced, 2);
        assert_eq!(queue.delivered, 5);
    }
}
