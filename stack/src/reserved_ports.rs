//! net.ipv4.ip_local_reserved_ports: ports the automatic choice never takes
//! (inet_is_local_reserved_port). TCP's bind(0)/listen() search (inet_csk_find_open_port),
//! TCP's connect() search (__inet_hash_connect) and UDP's (udp_lib_get_port with port 0) skip
//! them; an explicit bind() to one is allowed, since the kernel tests the bitmap only in those
//! three searches. Ping sockets (ping_get_port) and raw sockets do not look at it.
//!
//! Linux 6.18 has no ip_local_unbindable_ports (an Android-only patch that was never merged).

/// The reserved ports as sorted, disjoint, non-adjacent inclusive ranges (the shape the kernel
/// prints its bitmap in, proc_do_large_bitmap), searched by bisection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReservedPorts {
    ranges: Vec<(u16, u16)>,
}

impl ReservedPorts {
    /// The set holding `ranges` (inclusive, in any order, overlapping or not).
    pub fn from_ranges(ranges: &[(u16, u16)]) -> ReservedPorts {
        let mut sorted: Vec<(u16, u16)> = ranges
            .iter()
            .map(|&(low, high)| (low.min(high), low.max(high)))
            .collect();
        sorted.sort_unstable();
        let mut merged: Vec<(u16, u16)> = Vec::with_capacity(sorted.len());
        for (low, high) in sorted {
            match merged.last_mut() {
                Some(last) if u32::from(low) <= u32::from(last.1) + 1 => {
                    last.1 = last.1.max(high);
                }
                _ => merged.push((low, high)),
            }
        }
        ReservedPorts { ranges: merged }
    }

    /// Parses /proc/sys/net/ipv4/ip_local_reserved_ports as the kernel prints it:
    /// comma-separated ports and `low-high` ranges, then a newline; an empty line for none.
    /// None when the text is not in that form (the caller keeps the default, no reservation).
    pub fn parse(text: &str) -> Option<ReservedPorts> {
        let text = text.trim();
        if text.is_empty() {
            return Some(ReservedPorts::default());
        }
        let mut ranges = Vec::new();
        for item in text.split(',') {
            let range = match item.split_once('-') {
                Some((low, high)) => (low.parse().ok()?, high.parse().ok()?),
                None => {
                    let port = item.parse().ok()?;
                    (port, port)
                }
            };
            ranges.push(range);
        }
        Some(ReservedPorts::from_ranges(&ranges))
    }

    /// inet_is_local_reserved_port: the port's bit is set.
    pub fn contains(&self, port: u16) -> bool {
        let after = self.ranges.partition_point(|&(low, _)| low <= port);
        after > 0 && self.ranges[after - 1].1 >= port
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_the_kernel_prints() {
        assert_eq!(ReservedPorts::parse("\n"), Some(ReservedPorts::default()));
        assert_eq!(ReservedPorts::parse(""), Some(ReservedPorts::default()));
        let reserved = ReservedPorts::parse("8080,40001-40003,65535\n").unwrap();
        assert!(reserved.contains(8080));
        assert!(!reserved.contains(8079) && !reserved.contains(8081));
        assert!((40001..=40003).all(|port| reserved.contains(port)));
        assert!(!reserved.contains(40000) && !reserved.contains(40004));
        assert!(reserved.contains(65535));
        assert!(!reserved.contains(0));
        assert_eq!(ReservedPorts::parse("1-x"), None);
        assert_eq!(ReservedPorts::parse("70000"), None);
        assert_eq!(ReservedPorts::parse("1,,2"), None);
    }

    /// The kernel keeps a bitmap: "5,3-4,6" reads back as "3-6".
    #[test]
    fn overlapping_and_adjacent_ranges_merge() {
        let reserved = ReservedPorts::parse("5,3-4,6").unwrap();
        assert_eq!(reserved, ReservedPorts::from_ranges(&[(3, 6)]));
        assert!(!reserved.is_empty());
        assert!(!reserved.contains(2) && !reserved.contains(7));
    }
}
