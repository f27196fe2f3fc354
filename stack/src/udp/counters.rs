//! UDP's drop and event counters (the names follow the reasons, like the kernel's UDP MIB).

use crate::counters::CounterSet;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UdpCounters {
    /// Datagrams queued to a socket (UDP_MIB_INDATAGRAMS counts them when read).
    pub delivered: u64,
    /// Datagrams handed to IPv4 (UDP_MIB_OUTDATAGRAMS).
    pub sent: u64,
    /// Shorter than the header or than the length field says (short_packet).
    pub malformed: u64,
    /// UDP-Lite with a zero checksum or an impossible coverage.
    pub bad_coverage: u64,
    /// Checksum did not verify (UDP_MIB_CSUMERRORS).
    pub bad_checksum: u64,
    /// No socket for a unicast datagram: ICMP port unreachable (UDP_MIB_NOPORTS).
    pub no_socket: u64,
    /// No socket for a broadcast/multicast datagram: dropped silently (UDP_MIB_IGNOREDMULTI).
    pub ignored_broadcast: u64,
    /// The socket's receive buffer was full (UDP_MIB_RCVBUFERRORS).
    pub receive_buffer_full: u64,
    /// ICMP errors matched to a socket / matched to none.
    pub icmp_errors: u64,
    pub icmp_errors_no_socket: u64,
    /// IPv4 refused a datagram with ENOBUFS and IP_RECVERR was off (UDP_MIB_SNDBUFERRORS).
    pub send_buffer_errors: u64,
    /// An error for the IP_RECVERR queue found the receive buffer full (sock_queue_err_skb:
    /// -ENOMEM), so only sk_err reports it.
    pub error_queue_full: u64,
    /// Taken by a UDP_ENCAP_ESPINUDP socket's xfrm4_udp_encap_rcv: NAT keepalives, and ESP
    /// packets that IPsec drops for want of a security association (XfrmInNoStates).
    pub encapsulation_consumed: u64,
    /// Dropped by the socket's filter (SO_ATTACH_FILTER returned 0: sk_filter_trim_cap).
    pub filter_dropped: u64,
}

impl CounterSet for UdpCounters {
    fn entries(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("delivered", self.delivered),
            ("sent", self.sent),
            ("malformed", self.malformed),
            ("bad_coverage", self.bad_coverage),
            ("bad_checksum", self.bad_checksum),
            ("no_socket", self.no_socket),
            ("ignored_broadcast", self.ignored_broadcast),
            ("receive_buffer_full", self.receive_buffer_full),
            ("icmp_errors", self.icmp_errors),
            ("icmp_errors_no_socket", self.icmp_errors_no_socket),
            ("send_buffer_errors", self.send_buffer_errors),
            ("error_queue_full", self.error_queue_full),
            ("encapsulation_consumed", self.encapsulation_consumed),
            ("filter_dropped", self.filter_dropped),
        ]
    }
}
