//! Named counters of the network layer: every frame the layer drops bumps exactly one of them
//! (gVisor's way), so "where did my packet go" has an answer in the exit log.

use crate::counters::CounterSet;

macro_rules! ipv4_counters {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct Ipv4Counters {
            $($(#[$doc])* pub $name: u64,)*
        }

        impl CounterSet for Ipv4Counters {
            fn entries(&self) -> Vec<(&'static str, u64)> {
                vec![$((stringify!($name), self.$name)),*]
            }
        }
    };
}

ipv4_counters! {
    // ----- link -----
    /// Frames shorter than an Ethernet header.
    link_truncated,
    /// Unicast frames for another MAC (PACKET_OTHERHOST: ip_rcv and arp_rcv drop them).
    link_other_host,
    /// Neither IPv4 nor ARP.
    link_unknown_ethertype,
    /// Frames left unsent because the transmit queue was full (the driver is not draining it).
    link_transmit_queue_full,
    // ----- ARP -----
    /// Too short, or not Ethernet/IPv4, or an operation other than request/reply.
    arp_malformed,
    /// Sender or target addresses arp_process refuses (multicast, loopback).
    arp_bogus_address,
    /// Requests for our address answered.
    arp_requests_answered,
    /// Requests sent while resolving or re-probing a neighbour.
    arp_requests_sent,
    /// Packets dropped from a neighbour's queue because arp_unres_qlen_bytes was exceeded.
    arp_queue_overflow,
    /// Packets dropped because their next hop never answered (resolution failed).
    arp_resolution_failed,
    // ----- IPv4 input -----
    /// Shorter than the header or than the total length says (IPSTATS_MIB_INTRUNCATEDPKTS).
    ip_truncated,
    /// Version, header length or total length invalid (IPSTATS_MIB_INHDRERRORS).
    ip_header_errors,
    /// Header checksum wrong (IPSTATS_MIB_CSUMERRORS).
    ip_bad_checksum,
    /// Option list malformed (ip_options_compile failed).
    ip_bad_options,
    /// Source-routed datagrams (accept_source_route is 0).
    ip_source_routed,
    /// Source address that may not appear on the wire (multicast, broadcast, ours, 127/8).
    ip_martian_source,
    /// Destination address that may not appear on the wire (0/8, 127/8 from outside).
    ip_martian_destination,
    /// Unicast to an address that is not ours; we do not forward (IPSTATS_MIB_INADDRERRORS).
    ip_not_for_us,
    /// Multicast datagrams: no group memberships are served yet.
    ip_multicast_dropped,
    /// Datagrams handed to a transport.
    ip_delivered,
    /// No socket on the port (ICMP port unreachable answered if allowed).
    ip_port_unreachable,
    /// No transport for the protocol (ICMP protocol unreachable answered if allowed).
    ip_protocol_unreachable,
    // ----- IPv4 output -----
    /// Datagrams sent (before fragmentation).
    ip_sent,
    /// Fragments created by output fragmentation.
    ip_fragments_created,
    // ----- reassembly -----
    /// Datagrams reassembled from fragments (IPSTATS_MIB_REASMOKS).
    reasm_ok,
    /// Queues dropped because a fragment overlapped another (RFC 5722; IPSTATS_MIB_REASM_OVERLAPS).
    reasm_overlap,
    /// Fragments dropped as exact duplicates of data already queued.
    reasm_duplicate,
    /// Queues dropped as inconsistent (conflicting ends, empty fragment, over 65535 bytes).
    reasm_invalid,
    /// Queues that timed out (ipfrag_time; IPSTATS_MIB_REASMTIMEOUT).
    reasm_timeout,
    /// Fragments dropped because reassembly memory exceeded ipfrag_high_thresh.
    reasm_memory_exceeded,
    /// Queues restarted because more than ipfrag_max_dist fragments of their source arrived
    /// between two of theirs (ip_frag_too_far; IPSTATS_MIB_REASMFAILS).
    reasm_too_far,
    // ----- ICMP -----
    /// Shorter than the 8-byte ICMP header.
    icmp_truncated,
    /// ICMP checksum wrong.
    icmp_bad_checksum,
    /// An error whose quoted header is too short or invalid (ICMP_MIB_INERRORS).
    icmp_error_malformed,
    /// Errors for which no handling applies (unknown codes, ip_no_pmtu_disc refusing them).
    icmp_error_ignored,
    /// Errors handed to the transports.
    icmp_errors_delivered,
    /// Echo requests not answered: icmp_echo_ignore_all or icmp_echo_ignore_broadcasts.
    icmp_echo_ignored,
    /// Broadcast/multicast ICMP other than echo/timestamp (icmp_rcv drops them).
    icmp_broadcast_dropped,
    /// Types the stack does not act on (redirect, source quench, echo replies without a ping socket...).
    icmp_unhandled,
    /// Echo and timestamp replies sent.
    icmp_replies_sent,
    /// An echo or timestamp request whose IP options cannot be echoed (a record-route or
    /// timestamp option with no room left once our own entry is added): __ip_options_echo
    /// fails and icmp_reply sends nothing, without a MIB counter; ours counts it.
    icmp_reply_options_unechoable,
    /// ICMP errors sent.
    icmp_errors_sent,
    /// ICMP errors not sent because of icmp_msgs_per_sec/icmp_msgs_burst (ICMP_MIB_RATELIMITGLOBAL).
    icmp_rate_limited_global,
    /// ICMP errors not sent because of icmp_ratelimit per peer (ICMP_MIB_RATELIMITHOST).
    icmp_rate_limited_host,
    /// ICMP errors not sent because the route back to the offender failed.
    icmp_error_unroutable,
    // ----- loopback -----
    /// Datagrams delivered through the loopback queue.
    loopback_datagrams,
}
