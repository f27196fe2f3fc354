//! The state of one raw or ping socket: the inet_sock fields raw.c and ping.c use, the
//! shared socket options, and the two queues.

use core::cell::Cell;
use core::net::{Ipv4Addr, SocketAddrV4};
use std::collections::VecDeque;

use crate::config::Credentials;
use crate::errno::Errno;
use crate::socket::WakeupCounts;
use crate::sockopt::SocketOptions;
use crate::time::WallTime;

/// Which protocol switch entry created the socket (inetsw_array).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// SOCK_RAW: inet_num is the protocol, fixed at creation.
    Raw,
    /// SOCK_DGRAM + IPPROTO_ICMP: inet_num is the echo identifier, 0 until bound.
    Ping,
}

/// One packet on the receive queue.
#[derive(Debug, Clone)]
pub(super) struct Received {
    /// What recvmsg copies: the IP header and payload (raw), the ICMP header and payload
    /// (ping).
    pub bytes: Vec<u8>,
    /// ip_hdr(skb)->saddr / daddr.
    pub source: Ipv4Addr,
    pub destination: Ipv4Addr,
    pub ttl: u8,
    pub tos: u8,
    /// The IP options of the header (IP_RECVOPTS).
    pub ip_options: Vec<u8>,
    /// The interface it arrived on (IP_PKTINFO's ipi_ifindex).
    pub ifindex: u32,
    pub timestamp: WallTime,
    /// skb->truesize, charged to sk_rmem_alloc while queued.
    pub truesize: usize,
}

/// One entry of the IP_RECVERR queue (ip_icmp_error / ip_local_error).
#[derive(Debug, Clone)]
pub(super) struct QueuedError {
    pub errno: Errno,
    /// SO_EE_ORIGIN_LOCAL (1) or SO_EE_ORIGIN_ICMP (2).
    pub origin: u8,
    pub icmp_type: u8,
    pub code: u8,
    pub info: u32,
    /// ee_data: a transmit report's OPT_ID key (`tx_reports.rs`), else 0.
    pub ee_data: u32,
    /// msg_name: the quoted destination, and serr->port: 0 for ICMP errors (raw and ping
    /// report "no remote port"), inet_dport for local ones.
    pub destination: Ipv4Addr,
    pub port: u16,
    /// SO_EE_OFFENDER: the ICMP sender; None for local errors (AF_UNSPEC).
    pub offender: Option<Ipv4Addr>,
    /// The data recvmsg(MSG_ERRQUEUE) returns.
    pub payload: Vec<u8>,
    /// The ICMP message's header fields for the cmsgs ip_cmsg_recv adds (ICMP origin only).
    pub received: Option<Received>,
    pub truesize: usize,
}

pub(super) struct RawSocket {
    pub kind: Kind,
    /// The IP protocol: sk_protocol (raw: also inet_num; ping: IPPROTO_ICMP).
    pub protocol: u8,
    /// Ping only: the echo identifier (inet_num), 0 while unbound.
    pub ident: u16,
    /// Ping: SOCK_BINDPORT_LOCK (bind named the identifier) and SOCK_BINDADDR_LOCK (bind
    /// named an address): what __udp_disconnect keeps.
    pub ident_locked: bool,
    pub address_locked: bool,
    /// In the lookup tables (raw_hash_sk / ping hash): __udp_disconnect unhashes a raw
    /// socket for good (raw_prot has no rehash) and a ping socket until it binds again.
    pub hashed: bool,
    /// When the socket was last hashed (a layer-wide count): ping_lookup meets the newest
    /// first, as sk_add_node_rcu puts it at the head of its chain.
    pub hash_sequence: u64,
    pub creds: Credentials,
    pub options: SocketOptions,
    /// inet_rcv_saddr and inet_saddr.
    pub receive_address: Ipv4Addr,
    pub source_address: Ipv4Addr,
    /// inet_daddr and inet_dport while connected (sk_state == TCP_ESTABLISHED).
    pub peer: Option<SocketAddrV4>,
    /// ICMP_FILTER: bit n set drops ICMP type n (n < 32).
    pub icmp_filter: u32,
    /// inet_id: a connected socket's IP id counter.
    pub inet_id: u16,
    pub receive_queue: VecDeque<Received>,
    pub receive_memory: usize,
    pub error_queue: VecDeque<QueuedError>,
    /// sk_err.
    pub error: Cell<Option<Errno>>,
    pub read_shut: bool,
    pub write_shut: bool,
    pub wakeups: WakeupCounts,
}

impl RawSocket {
    /// sock_error: the pending error, cleared.
    pub fn take_error(&self) -> Option<Errno> {
        self.error.take()
    }

    /// inet_sport as getsockname reports it: htons(inet_num) for raw (the protocol) and
    /// ping (the identifier).
    pub fn local_port(&self) -> u16 {
        match self.kind {
            Kind::Raw if self.hashed => u16::from(self.protocol),
            Kind::Raw => 0,
            Kind::Ping => self.ident,
        }
    }

    /// __sock_queue_rcv_skb's memory check: "sk_rmem_alloc >= sk_rcvbuf" drops.
    pub fn queue(&mut self, received: Received) -> bool {
        if self.receive_memory >= self.options.receive_buffer.max(0) as usize {
            return false;
        }
        self.receive_memory += received.truesize;
        self.receive_queue.push_back(received);
        self.wakeups.readable = self.wakeups.readable.wrapping_add(1);
        true
    }

    /// sock_queue_err_skb: charged to the receive buffer like any skb.
    pub fn queue_error(&mut self, error: QueuedError) -> bool {
        if self.receive_memory + error.truesize > self.options.receive_buffer.max(0) as usize {
            return false;
        }
        self.receive_memory += error.truesize;
        self.error_queue.push_back(error);
        true
    }

    /// sk_error_report.
    pub fn report_error(&mut self, errno: Errno) {
        self.error.set(Some(errno));
        self.wakeups.other = self.wakeups.other.wrapping_add(1);
    }
}
