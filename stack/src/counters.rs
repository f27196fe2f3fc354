//! Drop and event counters by reason (gVisor's way): a person debugging a tool asks "where did
//! my packet go", and the answer is a named counter. Each layer owns its own struct; this one
//! gathers them for the exit log.

pub use crate::ipv4::Ipv4Counters;
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
}

impl Counters {
    /// Every non-zero counter as "layer.name=value", space separated (the exit log line).
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        for (layer, entries) in [("ip", self.ip.entries()), ("udp", self.udp.entries())] {
            for (name, value) in entries {
                if value != 0 {
                    parts.push(format!("{layer}.{name}={value}"));
                }
            }
        }
        parts.join(" ")
    }
}
