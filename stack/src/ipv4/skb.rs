//! What a datagram costs in kernel memory (skb->truesize), which Linux charges to socket
//! receive buffers (SO_RCVBUF, __udp_enqueue_schedule_skb) and to reassembly queues
//! (ipfrag_high_thresh). Datagrams reach us as bytes, so we rebuild the number the sending
//! Linux kernel gave the skb it allocated: over veth (and lo) the receiver keeps that skb.

/// SKB_DATA_ALIGN: x86_64's cache line.
const CACHE_LINE: usize = 64;
/// SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) on x86_64.
const SHARED_INFO: usize = 320;
/// SKB_DATA_ALIGN(sizeof(struct sk_buff)) on x86_64.
const SK_BUFF: usize = 256;
/// SKB_SMALL_HEAD_CACHE_SIZE: heads up to this size come from skb_small_head_cache.
const SMALL_HEAD: usize = 640;
/// __ip_append_data allocates `fraglen + hh_len + 15`, hh_len being LL_RESERVED_SPACE of an
/// Ethernet device (or lo): 16.
const RESERVED: usize = 16 + 15;
/// KMALLOC_MAX_CACHE_SIZE with SLUB and 4 KiB pages; larger heads come from the page
/// allocator in power-of-two page blocks.
const KMALLOC_MAX_CACHE: usize = 8192;

/// The truesize of one IPv4 datagram of `ip_total_len` bytes as Linux's ip_append_data path
/// allocates it (__alloc_skb: SKB_HEAD_ALIGN, the small-head cache or kmalloc_size_roundup,
/// plus struct sk_buff). Measured here: a UDP datagram of up to 261 payload bytes costs 896,
/// one of 1000 bytes 2304 (212992 / 92 datagrams fill the default SO_RCVBUF).
pub fn truesize(ip_total_len: usize) -> usize {
    let head = (ip_total_len + RESERVED).div_ceil(CACHE_LINE) * CACHE_LINE + SHARED_INFO;
    let allocated = if head <= SMALL_HEAD {
        SMALL_HEAD
    } else if head <= KMALLOC_MAX_CACHE {
        // Above the small caches, kmalloc's general caches are powers of two.
        head.next_power_of_two()
    } else {
        head.div_ceil(4096).next_power_of_two() * 4096
    };
    allocated + SK_BUFF
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IP + UDP header bytes around a payload.
    fn udp(payload: usize) -> usize {
        20 + 8 + payload
    }

    #[test]
    fn matches_the_kernels_receive_buffer_charges() {
        assert_eq!(truesize(udp(0)), 896);
        assert_eq!(truesize(udp(261)), 896);
        assert_eq!(truesize(udp(262)), 1280);
        assert_eq!(truesize(udp(1000)), 2304);
        // A full-size fragment of a 1500-byte MTU.
        assert_eq!(truesize(1500), 2304);
        // Loopback carries a 65507-byte datagram in one skb: 128 KiB of pages.
        assert_eq!(truesize(udp(65507)), 131072 + 256);
    }
}
