//! Why segments were dropped or answered with a reset, named for a person debugging a tool
//! (the TCP lines of /proc/net/snmp and netstat -s).

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpCounters {
    pub segments_received: u64,
    /// Shorter than a header, or a data offset outside the segment (TCP_MIB_INERRS).
    pub malformed: u64,
    /// TCP_MIB_CSUMERRORS.
    pub bad_checksum: u64,
    /// Sent to a broadcast or multicast address (tcp_v4_rcv drops PACKET_OTHERHOST and
    /// non-host packets).
    pub not_unicast: u64,
    /// Answered with a reset because no socket wanted them (TCP_MIB_OUTRSTS from
    /// tcp_v4_send_reset).
    pub resets_sent: u64,
    /// SYNs or final ACKs dropped because an accept queue was full (LISTENOVERFLOWS).
    pub listen_overflows: u64,
    /// Active and passive opens (TCP_MIB_ACTIVEOPENS / PASSIVEOPENS).
    pub active_opens: u64,
    pub passive_opens: u64,
    /// Segments the network layer refused to send.
    pub output_errors: u64,
    /// SYNs and final ACKs a listener dropped for any reason (LINUX_MIB_LISTENDROPS, which
    /// includes the overflows).
    pub listen_drops: u64,
    /// SYNs that found the SYN queue full (or tcp_syncookies 2) and were answered with a
    /// cookie, or dropped without cookies (TCPREQQFULLDOCOOKIES / TCPREQQFULLDROP).
    pub request_queue_full_cookies: u64,
    pub request_queue_full_drops: u64,
    /// SYN cookies sent, ACKs carrying a valid one, ACKs carrying a bad one
    /// (SYNCOOKIESSENT / SYNCOOKIESRECV / SYNCOOKIESFAILED).
    pub syncookies_sent: u64,
    pub syncookies_received: u64,
    pub syncookies_failed: u64,
    /// Requests reset by tcp_check_req (LINUX_MIB_EMBRYONICRSTS): tcp_abort_on_overflow.
    pub embryonic_resets: u64,
    /// tcp_inbound_hash's drops (`md5sig.rs`): a malformed or repeated authentication option
    /// (SKB_DROP_REASON_TCP_AUTH_HDR), an unsigned segment from a keyed peer
    /// (TCPMD5NOTFOUND), a signed one no key covers (TCPMD5UNEXPECTED), a wrong digest
    /// (TCPMD5FAILURE).
    pub auth_header_drops: u64,
    pub md5_not_found: u64,
    pub md5_unexpected: u64,
    pub md5_failure: u64,
}
