//! SO_TIMESTAMPING transmit reports on raw and ping sockets: raw_sendmsg and ping's
//! ip_append_data (and raw_send_hdrinc's skb_setup_tx_timestamp) ask for them as UDP does,
//! and ip_recv_error hands them out the same way (measured: ctests raw_tx_timestamps). The
//! rules shared with UDP are in crate::tx_timestamp.

use core::net::Ipv4Addr;

use super::layer::RawLayer;
use super::socket::{QueuedError, RawSocket, Received};
use crate::cmsg::{kind, level, packet_info_data, ControlWriter};
use crate::errno::Errno;
use crate::socket::SocketId;
use crate::time::WallTime;
use crate::tx_timestamp::{
    flags, report_supports_ip_messages, HandedFrame, ETHERNET_HEADER_LEN, ORIGIN_TIMESTAMPING,
};

impl RawLayer {
    /// After a datagram left: its OPT_ID key (taken only now: a failed send gives it back),
    /// then a SCHED and a SND report for the frame the device took (none while it waits
    /// for ARP). `message_flags` / `message_id`: SO_TIMESTAMPING and SCM_TS_OPT_ID control
    /// messages.
    pub(super) fn report_transmit(
        &mut self,
        id: SocketId,
        message_flags: Option<u32>,
        message_id: Option<u32>,
        frame: Option<HandedFrame>,
        stamp: WallTime,
    ) {
        let Ok(socket) = self.get_mut(id) else {
            return;
        };
        let socket_flags = socket.options.timestamping_flags;
        let request = socket
            .options
            .timestamp_key
            .request(socket_flags, message_flags, message_id);
        let Some(frame) = frame.filter(|_| request.any()) else {
            return;
        };
        for report in request.device_reports() {
            let entry = transmit_report(socket_flags, report as u32, request.key, &frame, stamp);
            if let Some(entry) = entry {
                if socket.queue_error(entry) {
                    socket.wakeups.other = socket.wakeups.other.wrapping_add(1);
                }
            }
        }
    }
}

/// __skb_complete_tx_timestamp's entry; None if the frame holds no IPv4 header.
fn transmit_report(
    socket_flags: u32,
    info: u32,
    key: u32,
    frame: &HandedFrame,
    stamp: WallTime,
) -> Option<QueuedError> {
    let ip = frame.ip_fields()?;
    let tsonly = socket_flags & flags::OPT_TSONLY != 0;
    let ip_len = frame.bytes.len().saturating_sub(ETHERNET_HEADER_LEN);
    Some(QueuedError {
        errno: Errno::ENOMSG,
        origin: ORIGIN_TIMESTAMPING,
        icmp_type: 0,
        code: 0,
        info,
        ee_data: if socket_flags & flags::OPT_ID != 0 {
            key
        } else {
            0
        },
        destination: Ipv4Addr::UNSPECIFIED,
        port: 0,
        offender: None,
        payload: if tsonly {
            Vec::new()
        } else {
            frame.bytes.clone()
        },
        received: Some(Received {
            bytes: Vec::new(),
            source: ip.source,
            destination: ip.destination,
            ttl: ip.ttl,
            tos: ip.tos,
            ip_options: ip.options,
            // OPT_TSONLY's alloc_skb(0) has no device.
            ifindex: if tsonly { 0 } else { frame.ifindex },
            timestamp: stamp,
            truesize: 0,
        }),
        truesize: crate::ipv4::skb::truesize(if tsonly { 0 } else { ip_len }),
    })
}

/// ipv4_datagram_support_cmsg for a report: with OPT_CMSG and a device, ip_cmsg_recv's
/// messages from the looped header (IP_PKTINFO: the device, spec_dst the source) and the
/// offender (the source). Returns the offender.
pub(super) fn put_report_ip_messages(
    writer: &mut ControlWriter,
    socket: &RawSocket,
    report: &Received,
) -> Option<Ipv4Addr> {
    let options = &socket.options;
    if !report_supports_ip_messages(options.timestamping_flags, report.ifindex) {
        return None;
    }
    if options.packet_info {
        let data = packet_info_data(report.ifindex, report.source, report.destination);
        writer.put(level::SOL_IP, kind::IP_PKTINFO, &data);
    }
    if options.receive_ttl {
        writer.put(
            level::SOL_IP,
            kind::IP_TTL,
            &i32::from(report.ttl).to_ne_bytes(),
        );
    }
    if options.receive_tos {
        writer.put(level::SOL_IP, kind::IP_TOS, &[report.tos]);
    }
    if options.receive_options && !report.ip_options.is_empty() {
        writer.put(level::SOL_IP, kind::IP_RECVOPTS, &report.ip_options);
    }
    Some(report.source)
}
