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
    pub const IP_MULTICAST_TTL: i32 = 33;
    pub const IP_MULTICAST_LOOP: i32 = 34;
}
