//! MSG_ZEROCOPY completions (Documentation/networking/msg_zerocopy.rst, net/core/skbuff.c):
//! with SO_ZEROCOPY set, each send with MSG_ZEROCOPY takes the next id of the socket's
//! sk_zckey (msg_zerocopy_alloc; a corked datagram's later sends extend the same range:
//! msg_zerocopy_realloc), and when the data is released a notification with origin
//! SO_EE_ORIGIN_ZEROCOPY, ee_info the first id and ee_data the last, goes on the error queue,
//! merged into the queue's last entry when that is a notification whose range ends just
//! before (__msg_zerocopy_callback, skb_zerocopy_notify_extend). The stack always copies
//! (the frame is written to a packet socket), and so does the kernel towards a veth peer
//! (skb_orphan_frags_rx copies the pages: measured, every notification says
//! SO_EE_CODE_ZEROCOPY_COPIED).

/// SO_EE_ORIGIN_ZEROCOPY.
pub const ORIGIN_ZEROCOPY: u8 = 5;
/// SO_EE_CODE_ZEROCOPY_COPIED.
pub const CODE_COPIED: u8 = 1;
/// MSG_ZEROCOPY.
pub const MSG_ZEROCOPY: i32 = 0x400_0000;

/// A range of completed ids: ee_info = first, ee_data = last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    pub first: u32,
    pub last: u32,
    /// ee_code: SO_EE_CODE_ZEROCOPY_COPIED when the data was copied.
    pub code: u8,
}

impl Completion {
    /// skb_zerocopy_notify_extend: `next` (its first id and length) joins this one when it
    /// starts right after it and the merged length stays below 2^32; the merged entry keeps
    /// its own ee_code.
    pub fn extend(&mut self, next: &Completion) -> bool {
        let length = u64::from(self.last.wrapping_sub(self.first)) + 1;
        let added = u64::from(next.last.wrapping_sub(next.first)) + 1;
        if length + added >= 1 << 32 || next.first != self.last.wrapping_add(1) {
            return false;
        }
        self.last = self.last.wrapping_add(added as u32);
        true
    }
}

/// The ids of a socket's MSG_ZEROCOPY sends (sk_zckey) and a pending range not yet released
/// (a corked datagram's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ZerocopyIds {
    next: u32,
    /// (first id, count) of the sends whose data still waits in the cork.
    pending: Option<(u32, u32)>,
}

impl ZerocopyIds {
    /// Whether a send uses zerocopy: "flags & MSG_ZEROCOPY && length &&
    /// sock_flag(sk, SOCK_ZEROCOPY)" (__ip_append_data: `length` includes the UDP header, so a
    /// zero-byte datagram takes an id too; measured).
    pub fn applies(flags: i32, socket_zerocopy: bool) -> bool {
        flags & MSG_ZEROCOPY != 0 && socket_zerocopy
    }

    /// msg_zerocopy_alloc / msg_zerocopy_realloc: the send takes the next id; while a cork
    /// holds earlier ids the range grows.
    pub fn take(&mut self) {
        let id = self.next;
        self.next = self.next.wrapping_add(1);
        self.pending = Some(match self.pending {
            Some((first, count)) => (first, count + 1),
            None => (id, 1),
        });
    }

    /// The pending range is released (the datagram was handed on, or dropped): its
    /// notification, if any.
    pub fn release(&mut self) -> Option<Completion> {
        let (first, count) = self.pending.take()?;
        Some(Completion {
            first,
            last: first.wrapping_add(count - 1),
            code: CODE_COPIED,
        })
    }

    /// net_zcopy_put_abort after a failed send: the id this send took is given back
    /// (msg_zerocopy_put_abort: "atomic_dec(&sk->sk_zckey); uarg->len--"); a range left empty
    /// gives no notification.
    pub fn abort_last(&mut self) {
        if let Some((first, count)) = self.pending {
            self.next = self.next.wrapping_sub(1);
            self.pending = (count > 1).then_some((first, count - 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(first: u32, last: u32) -> Completion {
        Completion {
            first,
            last,
            code: CODE_COPIED,
        }
    }

    #[test]
    fn consecutive_ranges_merge() {
        let mut tail = range(1, 1);
        assert!(tail.extend(&range(2, 2)));
        assert!(tail.extend(&range(3, 5)));
        assert_eq!(tail, range(1, 5));
        assert!(!tail.extend(&range(7, 7)));
        assert!(!tail.extend(&range(5, 5)));
        let mut huge = range(0, u32::MAX - 1);
        assert!(!huge.extend(&range(u32::MAX, u32::MAX)));
    }

    #[test]
    fn ids_count_and_corks_share_a_range() {
        let mut ids = ZerocopyIds::default();
        ids.take();
        assert_eq!(ids.release(), Some(range(0, 0)));
        assert_eq!(ids.release(), None);
        ids.take();
        ids.take();
        ids.take();
        assert_eq!(ids.release(), Some(range(1, 3)));
        ids.take();
        ids.abort_last();
        assert_eq!(ids.release(), None);
        ids.take();
        assert_eq!(ids.release(), Some(range(4, 4)));
        assert!(ZerocopyIds::applies(MSG_ZEROCOPY, true));
        assert!(!ZerocopyIds::applies(MSG_ZEROCOPY, false));
        assert!(!ZerocopyIds::applies(0, true));
    }
}
