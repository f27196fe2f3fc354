//! Negotiation of the SYN options (RFC 9293 3.7.1 MSS, RFC 7323 window scale and timestamps,
//! RFC 2018 SACK-permitted), with the numbers Linux chooses.

use crate::wire::tcp::{Options, MAX_WINDOW_SCALE};

/// IPv4 + TCP headers without options.
pub const HEADERS_LEN: u32 = 40;
/// TCPOLEN_TSTAMP_ALIGNED: timestamps cost 12 bytes in every segment.
pub const TIMESTAMP_OPTION_LEN: u32 = 12;
/// RFC 9293 3.7.1: without an MSS option the peer is assumed to take 536 bytes
/// (TCP_MSS_DEFAULT).
pub const DEFAULT_PEER_MSS: u16 = 536;
/// TCP_MIN_MSS: TCP_MAXSEG and a peer's MSS are never taken below this.
pub const MIN_MSS: u32 = 88;

/// The MSS we announce for a path MTU (MTU minus 40), clamped by TCP_MAXSEG when set.
pub fn advertised_mss(mtu: u32, user_mss: Option<u32>) -> u16 {
    let mss = mtu.saturating_sub(HEADERS_LEN);
    let mss = user_mss.map_or(mss, |user| mss.min(user));
    mss.clamp(MIN_MSS, 65495) as u16
}

/// tcp_select_initial_window's scale: halve the space until it fits 16 bits.
pub fn window_scale_for(space: u32) -> u8 {
    let mut space = space;
    let mut scale = 0;
    while space > 65535 && scale < MAX_WINDOW_SCALE {
        space >>= 1;
        scale += 1;
    }
    scale
}

/// tcp_select_initial_window: the window in a SYN or SYN-ACK is the space rounded down to a
/// multiple of the MSS, and never above 65535 (a SYN's window is not scaled, RFC 7323 2.2).
pub fn initial_window(space: u32, mss: u32) -> u32 {
    let window = space.min(65535);
    if mss == 0 {
        return window;
    }
    (window / mss) * mss
}

/// What both sides agreed to, from our offer and the peer's SYN or SYN-ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    pub peer_mss: u16,
    /// (our shift, the peer's shift), when both offered window scaling.
    pub window_scale: Option<(u8, u8)>,
    pub timestamps: bool,
    pub sack: bool,
}

/// RFC 7323 1.3 and 2.2: an option counts only when both SYNs carried it.
pub fn negotiate(offered: &Options, received: &Options) -> Negotiated {
    Negotiated {
        peer_mss: received.mss.unwrap_or(DEFAULT_PEER_MSS),
        window_scale: match (offered.window_scale, received.window_scale) {
            (Some(ours), Some(theirs)) => Some((ours, theirs)),
            _ => None,
        },
        timestamps: offered.timestamps.is_some() && received.timestamps.is_some(),
        sack: offered.sack_permitted && received.sack_permitted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_numbers() {
        assert_eq!(advertised_mss(1500, None), 1460);
        assert_eq!(advertised_mss(1500, Some(1000)), 1000);
        // tcp_rmem[2] 6 MiB (Linux's default) gives 7; this host's 32 MiB gives 10.
        assert_eq!(window_scale_for(6 * 1024 * 1024), 7);
        assert_eq!(window_scale_for(32 * 1024 * 1024), 10);
        // A Linux SYN announces 64240 = 44 * 1460; its SYN-ACK with timestamps
        // 65160 = 45 * 1448.
        assert_eq!(initial_window(131_072, 1460), 64240);
        assert_eq!(initial_window(131_072, 1448), 65160);
    }

    #[test]
    fn negotiation_needs_both_sides() {
        let offered = Options {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            timestamps: Some((1, 0)),
            ..Options::default()
        };
        let bare = Options::default();
        let result = negotiate(&offered, &bare);
        assert_eq!(result.peer_mss, 536);
        assert_eq!(result.window_scale, None);
        assert!(!result.timestamps && !result.sack);
        let full = negotiate(&offered, &offered);
        assert_eq!(full.window_scale, Some((7, 7)));
        assert!(full.timestamps && full.sack);
    }
}
