//! SO_TIMESTAMPING's transmit reports (Documentation/networking/timestamping.rst): which
//! reports a send asks for (sock_tx_timestamp / _sock_tx_timestamp, with an SO_TIMESTAMPING
//! control message replacing the record bits: __sock_cmsg_send), the id they carry (OPT_ID:
//! sk_tskey, or SCM_TS_OPT_ID), and the report itself as __skb_tstamp_tx builds it when the
//! device takes the frame: SCM_TSTAMP_SCHED from __dev_queue_xmit (before the qdisc, so
//! noqueue veth gives it too), then SCM_TSTAMP_SND from the driver (veth_xmit's
//! skb_tx_timestamp). The report's data is a clone of the skb as the driver saw it, from the
//! Ethernet header on (measured: 14 + 20 + 8 + payload bytes for UDP), or nothing with
//! OPT_TSONLY; ee_errno ENOMSG, origin SO_EE_ORIGIN_TIMESTAMPING, ee_info the report type,
//! ee_data the id with OPT_ID.

use core::net::Ipv4Addr;

/// SOF_TIMESTAMPING_* (linux/net_tstamp.h).
pub mod flags {
    pub const TX_HARDWARE: u32 = 1 << 0;
    pub const TX_SOFTWARE: u32 = 1 << 1;
    pub const SOFTWARE: u32 = 1 << 4;
    pub const OPT_ID: u32 = 1 << 7;
    pub const TX_SCHED: u32 = 1 << 8;
    pub const TX_ACK: u32 = 1 << 9;
    pub const OPT_CMSG: u32 = 1 << 10;
    pub const OPT_TSONLY: u32 = 1 << 11;
    pub const TX_COMPLETION: u32 = 1 << 18;
    /// SOF_TIMESTAMPING_TX_RECORD_MASK: the bits an SO_TIMESTAMPING control message sets.
    pub const TX_RECORD_MASK: u32 = TX_HARDWARE | TX_SOFTWARE | TX_SCHED | TX_ACK | TX_COMPLETION;
}

/// SCM_TSTAMP_* (linux/errqueue.h): ee_info of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ReportKind {
    Send = 0,
    Scheduled = 1,
    Acknowledged = 2,
}

/// SO_EE_ORIGIN_TIMESTAMPING.
pub const ORIGIN_TIMESTAMPING: u8 = 4;
/// sizeof(struct ethhdr): the looped frame starts at the link-layer header.
pub const ETHERNET_HEADER_LEN: usize = 14;

/// What one send asked for: the skb's tx_flags and tskey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TransmitRequest {
    /// The record bits in force for this send (sockc.tsflags & TX_RECORD_MASK).
    pub record: u32,
    /// skb_shinfo(skb)->tskey (0 without OPT_ID).
    pub key: u32,
}

impl TransmitRequest {
    /// Whether any software report is due (SKBTX_SCHED_TSTAMP or SKBTX_SW_TSTAMP).
    pub fn any(&self) -> bool {
        self.record & (flags::TX_SCHED | flags::TX_SOFTWARE) != 0
    }

    /// The reports the device gives for the frame, in the kernel's order: SCHED in
    /// __dev_queue_xmit, then SND in the driver.
    pub fn device_reports(&self) -> impl Iterator<Item = ReportKind> + '_ {
        [
            (flags::TX_SCHED, ReportKind::Scheduled),
            (flags::TX_SOFTWARE, ReportKind::Send),
        ]
        .into_iter()
        .filter(|(bit, _)| self.record & bit != 0)
        .map(|(_, kind)| kind)
    }
}

/// sockc.tsflags' record bits: the socket's, unless an SO_TIMESTAMPING control message
/// replaced them (__sock_cmsg_send: "sockc->tsflags &= ~SOF_TIMESTAMPING_TX_RECORD_MASK;
/// sockc->tsflags |= tsflags").
pub fn record_flags(socket_flags: u32, message_flags: Option<u32>) -> u32 {
    message_flags.unwrap_or(socket_flags) & flags::TX_RECORD_MASK
}

/// A datagram socket's sk_tskey: OPT_ID's counter (__ip_append_data takes
/// atomic_inc_return(&sk->sk_tskey) - 1 for a datagram that asks for a report while the
/// socket has OPT_ID, unless SCM_TS_OPT_ID names the id; sock_set_timestamping resets it to
/// 0 when OPT_ID is turned on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimestampKey {
    next: u32,
}

impl TimestampKey {
    /// sock_set_timestamping: "if (val & SOF_TIMESTAMPING_OPT_ID && !(sk->sk_tsflags &
    /// SOF_TIMESTAMPING_OPT_ID)) atomic_set(&sk->sk_tskey, 0)" for a datagram socket.
    pub fn flags_changed(&mut self, old: u32, new: u32) {
        if new & flags::OPT_ID != 0 && old & flags::OPT_ID == 0 {
            self.next = 0;
        }
    }

    /// The request of one datagram sent with `socket_flags` (sk_tsflags), an optional
    /// SO_TIMESTAMPING control message and an optional SCM_TS_OPT_ID.
    pub fn request(
        &mut self,
        socket_flags: u32,
        message_flags: Option<u32>,
        message_id: Option<u32>,
    ) -> TransmitRequest {
        let record = record_flags(socket_flags, message_flags);
        let mut request = TransmitRequest { record, key: 0 };
        // SKBTX_ANY_TSTAMP includes the hardware bit: a TX_HARDWARE request takes an id too,
        // though no hardware report ever comes on this interface.
        let any = record & (flags::TX_HARDWARE | flags::TX_SOFTWARE | flags::TX_SCHED) != 0;
        if any && socket_flags & flags::OPT_ID != 0 {
            request.key = match message_id {
                Some(id) => id,
                None => {
                    let key = self.next;
                    self.next = self.next.wrapping_add(1);
                    key
                }
            };
        }
        request
    }

    /// A send that failed after taking its id gives it back (hold_tskey's atomic_dec).
    pub fn give_back(&mut self, request: &TransmitRequest, socket_flags: u32, named: bool) {
        let took = request.record & (flags::TX_HARDWARE | flags::TX_SOFTWARE | flags::TX_SCHED)
            != 0
            && socket_flags & flags::OPT_ID != 0
            && !named;
        if took {
            self.next = self.next.wrapping_sub(1);
        }
    }
}

/// The frame the device was handed, as a report loops it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandedFrame {
    /// From the Ethernet header on.
    pub bytes: Vec<u8>,
    /// skb->dev's ifindex (header.h4.iif of the report).
    pub ifindex: u32,
}

impl HandedFrame {
    /// A loopback transmission: eth_header on lo writes zero addresses and ETH_P_IP.
    pub fn loopback(datagram: &[u8]) -> HandedFrame {
        let mut bytes = Vec::with_capacity(ETHERNET_HEADER_LEN + datagram.len());
        bytes.extend_from_slice(&[0u8; 12]);
        bytes.extend_from_slice(&0x0800u16.to_be_bytes());
        bytes.extend_from_slice(datagram);
        HandedFrame { bytes, ifindex: 1 }
    }

    /// The IP header's fields ip_cmsg_recv reads from the clone (ip_hdr(skb)): source,
    /// destination, TTL, TOS, and the IP header's length; None if the frame holds no IPv4
    /// header.
    pub fn ip_fields(&self) -> Option<IpFields> {
        let ip = self.bytes.get(ETHERNET_HEADER_LEN..)?;
        if ip.len() < 20 || ip[0] >> 4 != 4 {
            return None;
        }
        let header_len = usize::from(ip[0] & 0x0f) * 4;
        Some(IpFields {
            source: Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]),
            destination: Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]),
            ttl: ip[8],
            tos: ip[1],
            options: ip
                .get(20..header_len)
                .map(<[u8]>::to_vec)
                .unwrap_or_default(),
            transport_destination_port: ip
                .get(header_len + 2..header_len + 4)
                .map(|port| u16::from_be_bytes([port[0], port[1]])),
        })
    }
}

/// What ip_cmsg_recv reads from a looped frame's IP header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpFields {
    pub source: Ipv4Addr,
    pub destination: Ipv4Addr,
    pub ttl: u8,
    pub tos: u8,
    pub options: Vec<u8>,
    pub transport_destination_port: Option<u16>,
}

/// ipv4_datagram_support_cmsg for a timestamp report: IP control messages (and the offender)
/// only with OPT_CMSG, and only when the report has an interface (OPT_TSONLY reports have no
/// skb->dev).
pub fn report_supports_ip_messages(socket_flags: u32, ifindex: u32) -> bool {
    socket_flags & flags::OPT_CMSG != 0 && ifindex != 0
}

/// The software-stamp rule of __sock_recv_timestamp for an error-queue skb: SOFTWARE alone
/// suffices there (skb_is_err_queue stands in for RX_SOFTWARE), so OPT_RX_FILTER does not
/// hide it. Returns the flags to hand to the receive-side stamp builder.
pub fn error_queue_stamp_flags(socket_flags: u32) -> u32 {
    const RX_SOFTWARE: u32 = 1 << 3;
    if socket_flags & flags::SOFTWARE != 0 {
        socket_flags | RX_SOFTWARE
    } else {
        socket_flags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_control_message_replaces_only_the_record_bits() {
        let socket = flags::TX_SOFTWARE | flags::SOFTWARE | flags::OPT_ID;
        assert_eq!(record_flags(socket, None), flags::TX_SOFTWARE);
        assert_eq!(record_flags(socket, Some(flags::TX_SCHED)), flags::TX_SCHED);
        assert_eq!(record_flags(socket, Some(0)), 0);
    }

    #[test]
    fn ids_count_only_requests_with_opt_id() {
        let mut key = TimestampKey::default();
        let plain = flags::TX_SOFTWARE | flags::SOFTWARE;
        assert_eq!(key.request(plain, None, None).key, 0);
        let with_id = plain | flags::OPT_ID | flags::TX_SCHED;
        key.flags_changed(plain, with_id);
        assert_eq!(key.request(with_id, None, None).key, 0);
        assert_eq!(key.request(with_id, None, None).key, 1);
        // SCM_TS_OPT_ID names the id and leaves the counter alone.
        assert_eq!(key.request(with_id, None, Some(1000)).key, 1000);
        assert_eq!(key.request(with_id, None, None).key, 2);
        // No report asked for: no id taken.
        assert_eq!(
            key.request(with_id, Some(0), None),
            TransmitRequest::default()
        );
        let request = key.request(with_id, None, None);
        assert_eq!(request.key, 3);
        key.give_back(&request, with_id, false);
        assert_eq!(key.request(with_id, None, None).key, 3);
        // Turning OPT_ID on again while on does not reset; off then on does.
        key.flags_changed(with_id, with_id);
        assert_eq!(key.request(with_id, None, None).key, 4);
        key.flags_changed(plain, with_id);
        assert_eq!(key.request(with_id, None, None).key, 0);
    }

    #[test]
    fn reports_come_scheduled_first() {
        let request = TransmitRequest {
            record: flags::TX_SOFTWARE | flags::TX_SCHED,
            key: 0,
        };
        let kinds: Vec<_> = request.device_reports().collect();
        assert_eq!(kinds, [ReportKind::Scheduled, ReportKind::Send]);
    }

    #[test]
    fn loopback_frames_get_a_zero_ethernet_header() {
        let mut datagram = vec![0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 17, 0, 0];
        datagram.extend_from_slice(&[127, 0, 0, 1, 127, 0, 0, 1, 0, 9, 0, 7, 0, 8, 0, 0]);
        let frame = HandedFrame::loopback(&datagram);
        assert_eq!(
            &frame.bytes[..14],
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0]
        );
        let fields = frame.ip_fields().unwrap();
        assert_eq!(fields.ttl, 64);
        assert_eq!(fields.destination, Ipv4Addr::LOCALHOST);
        assert_eq!(fields.transport_destination_port, Some(7));
        assert!(HandedFrame {
            bytes: vec![0; 20],
            ifindex: 2
        }
        .ip_fields()
        .is_none());
    }
}
