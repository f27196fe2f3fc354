//! Option levels and names (uapi asm-generic/socket.h, linux/in.h, linux/udp.h).

pub mod level {
    pub const SOL_IP: i32 = 0;
    pub const SOL_SOCKET: i32 = 1;
    pub const SOL_UDP: i32 = 17;
    /// udp_setsockopt / udp_getsockopt serve SOL_UDPLITE like SOL_UDP, on UDP sockets too.
    pub const SOL_UDPLITE: i32 = 136;
}

/// SOL_SOCKET option names.
pub mod socket {
    pub const SO_DEBUG: i32 = 1;
    pub const SO_REUSEADDR: i32 = 2;
    pub const SO_TYPE: i32 = 3;
    pub const SO_ERROR: i32 = 4;
    pub const SO_DONTROUTE: i32 = 5;
    pub const SO_BROADCAST: i32 = 6;
    pub const SO_SNDBUF: i32 = 7;
    pub const SO_RCVBUF: i32 = 8;
    pub const SO_KEEPALIVE: i32 = 9;
    pub const SO_OOBINLINE: i32 = 10;
    pub const SO_NO_CHECK: i32 = 11;
    pub const SO_PRIORITY: i32 = 12;
    pub const SO_LINGER: i32 = 13;
    pub const SO_BSDCOMPAT: i32 = 14;
    pub const SO_REUSEPORT: i32 = 15;
    pub const SO_PASSCRED: i32 = 16;
    pub const SO_RCVLOWAT: i32 = 18;
    pub const SO_SNDLOWAT: i32 = 19;
    pub const SO_RCVTIMEO_OLD: i32 = 20;
    pub const SO_SNDTIMEO_OLD: i32 = 21;
    pub const SO_BINDTODEVICE: i32 = 25;
    pub const SO_TIMESTAMP_OLD: i32 = 29;
    pub const SO_ACCEPTCONN: i32 = 30;
    pub const SO_SNDBUFFORCE: i32 = 32;
    pub const SO_RCVBUFFORCE: i32 = 33;
    pub const SO_PASSSEC: i32 = 34;
    pub const SO_TIMESTAMPNS_OLD: i32 = 35;
    pub const SO_WIFI_STATUS: i32 = 41;
    pub const SO_NOFCS: i32 = 43;
    pub const SO_SELECT_ERR_QUEUE: i32 = 45;
    pub const SO_MARK: i32 = 36;
    pub const SO_PROTOCOL: i32 = 38;
    pub const SO_DOMAIN: i32 = 39;
    pub const SO_TIMESTAMP_NEW: i32 = 63;
    pub const SO_TIMESTAMPNS_NEW: i32 = 64;
    pub const SO_RCVTIMEO_NEW: i32 = 66;
    pub const SO_SNDTIMEO_NEW: i32 = 67;
    pub const SO_TXREHASH: i32 = 74;
    pub const SO_PASSPIDFD: i32 = 76;
    pub const SO_PASSRIGHTS: i32 = 83;
}

/// SOL_IP option names.
pub mod ip {
    pub const IP_TOS: i32 = 1;
    pub const IP_TTL: i32 = 2;
    pub const IP_PKTINFO: i32 = 8;
    pub const IP_MTU_DISCOVER: i32 = 10;
    pub const IP_RECVERR: i32 = 11;
    pub const IP_RECVTTL: i32 = 12;
    pub const IP_RECVTOS: i32 = 13;
    pub const IP_MTU: i32 = 14;
    pub const IP_FREEBIND: i32 = 15;
    pub const IP_TRANSPARENT: i32 = 19;
    pub const IP_RECVERR_RFC4884: i32 = 26;
    pub const IP_MULTICAST_TTL: i32 = 33;
    pub const IP_MULTICAST_LOOP: i32 = 34;
    pub const IP_HDRINCL: i32 = 3;
    pub const IP_RECVOPTS: i32 = 6;
    pub const IP_RETOPTS: i32 = 7;
    pub const IP_ROUTER_ALERT: i32 = 5;
    pub const IP_PKTOPTIONS: i32 = 9;
    pub const IP_PASSSEC: i32 = 18;
    pub const IP_RECVORIGDSTADDR: i32 = 20;
    pub const IP_MINTTL: i32 = 21;
    pub const IP_NODEFRAG: i32 = 22;
    pub const IP_CHECKSUM: i32 = 23;
    pub const IP_BIND_ADDRESS_NO_PORT: i32 = 24;
    pub const IP_RECVFRAGSIZE: i32 = 25;
    pub const IP_MULTICAST_IF: i32 = 32;
    pub const IP_ADD_MEMBERSHIP: i32 = 35;
    pub const IP_DROP_MEMBERSHIP: i32 = 36;
    pub const IP_UNBLOCK_SOURCE: i32 = 37;
    pub const IP_BLOCK_SOURCE: i32 = 38;
    pub const IP_ADD_SOURCE_MEMBERSHIP: i32 = 39;
    pub const IP_DROP_SOURCE_MEMBERSHIP: i32 = 40;
    pub const IP_MSFILTER: i32 = 41;
    pub const MCAST_JOIN_GROUP: i32 = 42;
    pub const MCAST_BLOCK_SOURCE: i32 = 43;
    pub const MCAST_UNBLOCK_SOURCE: i32 = 44;
    pub const MCAST_LEAVE_GROUP: i32 = 45;
    pub const MCAST_JOIN_SOURCE_GROUP: i32 = 46;
    pub const MCAST_LEAVE_SOURCE_GROUP: i32 = 47;
    pub const MCAST_MSFILTER: i32 = 48;
    pub const IP_MULTICAST_ALL: i32 = 49;
    pub const IP_UNICAST_IF: i32 = 50;
    pub const IP_LOCAL_PORT_RANGE: i32 = 51;
    pub const IP_PROTOCOL: i32 = 52;
}

/// More SOL_SOCKET names (uapi asm-generic/socket.h), with the socket(7) options beyond the
/// basics; kept apart so the original list stays as it was.
pub mod socket_more {
    pub const SO_PEERCRED: i32 = 17;
    pub const SO_ATTACH_FILTER: i32 = 26;
    /// SO_GET_FILTER is SO_ATTACH_FILTER read with getsockopt.
    pub const SO_GET_FILTER: i32 = SO_ATTACH_FILTER;
    pub const SO_DETACH_FILTER: i32 = 27;
    pub const SO_PEERNAME: i32 = 28;
    pub const SO_TIMESTAMPING_OLD: i32 = 37;
    pub const SO_RXQ_OVFL: i32 = 40;
    pub const SO_PEEK_OFF: i32 = 42;
    pub const SO_LOCK_FILTER: i32 = 44;
    pub const SO_BUSY_POLL: i32 = 46;
    pub const SO_MAX_PACING_RATE: i32 = 47;
    pub const SO_BPF_EXTENSIONS: i32 = 48;
    pub const SO_INCOMING_CPU: i32 = 49;
    pub const SO_ATTACH_BPF: i32 = 50;
    pub const SO_ATTACH_REUSEPORT_CBPF: i32 = 51;
    pub const SO_ATTACH_REUSEPORT_EBPF: i32 = 52;
    pub const SO_CNX_ADVICE: i32 = 53;
    pub const SO_MEMINFO: i32 = 55;
    pub const SO_INCOMING_NAPI_ID: i32 = 56;
    pub const SO_COOKIE: i32 = 57;
    pub const SO_PEERGROUPS: i32 = 59;
    pub const SO_ZEROCOPY: i32 = 60;
    pub const SO_TXTIME: i32 = 61;
    pub const SO_BINDTOIFINDEX: i32 = 62;
    pub const SO_TIMESTAMPING_NEW: i32 = 65;
    pub const SO_DETACH_REUSEPORT_BPF: i32 = 68;
    pub const SO_PREFER_BUSY_POLL: i32 = 69;
    pub const SO_BUSY_POLL_BUDGET: i32 = 70;
    pub const SO_NETNS_COOKIE: i32 = 71;
    pub const SO_BUF_LOCK: i32 = 72;
    pub const SO_RESERVE_MEM: i32 = 73;
    pub const SO_RCVMARK: i32 = 75;
    pub const SO_PEERPIDFD: i32 = 77;
    pub const SO_DEVMEM_LINEAR: i32 = 78;
    pub const SO_DEVMEM_DMABUF: i32 = 79;
    pub const SO_DEVMEM_DONTNEED: i32 = 80;
    pub const SO_RCVPRIORITY: i32 = 82;
}
