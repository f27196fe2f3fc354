//! Drop and event counters by reason (gVisor's way): a person debugging a tool asks "where did
//! my packet go", and the answer is a named counter. Each layer owns its own struct; this one
//! gathers them for the exit log.

pub use crate::ipv4::igmp::IgmpCounters;
pub use crate::ipv4::Ipv4Counters;
pub use crate::tcp::TcpCounters;
pub use crate::udp::UdpCounters;

/// A layer's counters, listed by name.
pub trait CounterSet {
    /// (name, value) pairs, every counter including zeros, in a stable order.
    fn entries(&self) -> Vec<(&'static str, u64)>;
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub ip: Ipv4Counters,
    pub udp: UdpCounters,
    pub igmp: IgmpCounters,
    pub tcp: TcpCounters,
}

impl Counters {
    /// Every non-zero counter as "layer.name=value", space separated (the exit log line).
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        let layers = [
            ("ip", self.ip.entries()),
            ("udp", self.udp.entries()),
            ("igmp", self.igmp.entries()),
            ("tcp", self.tcp.entries()),
        ];
        for (layer, entries) in layers {
            for (name, value) in entries {
                if value != 0 {
                    parts.push(format!("{layer}.{name}={value}"));
                }
            }
        }
        parts.join(" ")
    }
}

impl CounterSet for TcpCounters {
    fn entries(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("segments_received", self.segments_received),
            ("malformed", self.malformed),
            ("bad_checksum", self.bad_checksum),
            ("not_unicast", self.not_unicast),
            ("resets_sent", self.resets_sent),
            ("listen_overflows", self.listen_overflows),
            ("active_opens", self.active_opens),
            ("passive_opens", self.passive_opens),
            ("output_errors", self.output_errors),
            ("listen_drops", self.listen_drops),
            (
                "request_queue_full_cookies",
                self.request_queue_full_cookies,
            ),
            ("request_queue_full_drops", self.request_queue_full_drops),
            ("syncookies_sent", self.syncookies_sent),
            ("syncookies_received", self.syncookies_received),
            ("syncookies_failed", self.syncookies_failed),
            ("embryonic_resets", self.embryonic_resets),
        ]
    }
}
