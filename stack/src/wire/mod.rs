//! Wire formats, one file per format (smoltcp's split): a `Packet<T: AsRef<[u8]>>` view with
//! `new_checked`, and a `Repr` with `parse`, `buffer_len` and `emit`. No state machines here.
pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod icmp;
pub mod igmp;
pub mod ipv4;
pub mod tcp;
pub mod udp;

/// Why a buffer could not be read as a given format. Callers turn each variant into a named
/// drop counter, so the variants follow the reasons a debugging user cares about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// Shorter than the format's fixed header, or than a length field inside it claims.
    Truncated,
    /// A field holds a value the format forbids (bad version, header length, option layout).
    Malformed,
    /// The checksum does not verify.
    Checksum,
    /// Well-formed, but a variant this stack does not speak (e.g. ARP for another protocol).
    Unsupported,
}

impl core::fmt::Display for WireError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            WireError::Truncated => "truncated",
            WireError::Malformed => "malformed",
            WireError::Checksum => "bad checksum",
            WireError::Unsupported => "unsupported",
        })
    }
}
