//! SO_TIMESTAMPING transmit reports and MSG_ZEROCOPY completions on a TCP socket.
//!
//! tcp_tx_timestamp marks the last byte a sendmsg wrote (the tail skb's tskey: seq + len - 1)
//! with the record flags in force. The first time a segment carrying that byte is handed to
//! the device, TX_SCHED and TX_SOFTWARE report it with a copy of the whole frame (Ethernet
//! header on, as for UDP); TX_ACK reports it when the cumulative ACK covers the byte
//! (tcp_ack_tstamp), with the retransmit queue skb's data: the segment's payload only
//! (measured). With OPT_ID ee_data is the byte's offset from sk_tskey (snd_una when OPT_ID
//! was turned on, or write_seq with OPT_ID_TCP: sock_set_timestamping, which refuses OPT_ID
//! on a closed or listening socket with EINVAL).
//!
//! MSG_ZEROCOPY: each send with data takes the next sk_zckey id; the skbs holding its bytes
//! are freed when they are acknowledged, so the id completes when the ACK covers the send's
//! last byte; consecutive completions merge on the error queue (zerocopy.rs).

use core::net::{Ipv4Addr, SocketAddrV4};

use super::error_queue::QueuedTcpError;
use super::layer::{SegmentOutput, TcpLayer};
use super::seq::Seq;
use super::socket::TcpSocket;
use crate::cmsg::{parse_tcp_send_control, SendContext};
use crate::config::Credentials;
use crate::errno::Errno;
use crate::ipv4::OutboundDatagram;
use crate::socket::SendArgs;
use crate::socket::SocketId;
use crate::sockopt::values::SocketOptions;
use crate::time::{Instant, WallTime};
use crate::tx_timestamp::{flags, HandedFrame, ReportKind};
use crate::zerocopy::{Completion, ZerocopyIds, CODE_COPIED};

/// SOF_TIMESTAMPING_OPT_ID_TCP.
const OPT_ID_TCP: u32 = 1 << 16;

/// One marked byte.
#[derive(Debug, Clone)]
struct Mark {
    /// The byte (tskey, as a sequence number).
    byte: Seq,
    /// The record bits (SCHED, SOFTWARE, ACK) still to report.
    record: u32,
    /// The payload of the segment that first carried the byte (the ACK report's data).
    payload: Option<Vec<u8>>,
}

/// A MSG_ZEROCOPY send whose bytes are not all acknowledged yet.
#[derive(Debug, Clone, Copy)]
struct PendingCompletion {
    id: u32,
    last_byte: Seq,
}

/// A socket's transmit reports and zerocopy sends in flight.
#[derive(Debug, Clone, Default)]
pub struct TcpTransmitStamps {
    /// sk_tskey: the sequence number OPT_ID counts from.
    base: u32,
    marks: Vec<Mark>,
    zerocopy_ids: ZerocopyIds,
    completions: Vec<PendingCompletion>,
    /// A CLOCK_REALTIME reading from the device hand-off (ACK reports are stamped later,
    /// where no clock is at hand).
    wall_reference: Option<(Instant, WallTime)>,
    /// The end of the last write recorded, and whether the write being recorded continues
    /// it: the shim hands one sendmsg to the stack in pieces (256 KiB at a time, and again
    /// after each wait for space), where tcp_sendmsg_locked marks only the call's last byte
    /// (tcp_tx_timestamp at "out:") and takes one zerocopy id per call (one ubuf_info).
    last_write_end: Option<Seq>,
    continuing: bool,
}

impl TcpTransmitStamps {
    fn wall_time(&self, now: Instant) -> WallTime {
        match self.wall_reference {
            Some((at, wall)) => wall.after(now.saturating_since(at)),
            None => WallTime::default(),
        }
    }

    fn is_idle(&self) -> bool {
        self.marks.is_empty() && self.completions.is_empty()
    }

    /// The next record_send continues the write recorded last (the same sendmsg).
    pub fn set_continuing(&mut self, continuing: bool) {
        self.continuing = continuing;
    }

    /// tcp_sendmsg_locked after a write of `taken` bytes ending before `write_end`:
    /// tcp_tx_timestamp's mark, and the MSG_ZEROCOPY id ("flags & MSG_ZEROCOPY && size"
    /// with SOCK_ZEROCOPY).
    pub fn record_send(
        &mut self,
        socket_flags: u32,
        zerocopy: bool,
        send_flags: i32,
        taken: usize,
        write_end: Seq,
    ) {
        if taken == 0 {
            return;
        }
        let last_byte = write_end.sub(1);
        let previous_last_byte = self.last_write_end.replace(write_end).map(|end| end.sub(1));
        let continued = if self.continuing {
            previous_last_byte
        } else {
            None
        };
        let record = socket_flags & (flags::TX_SCHED | flags::TX_SOFTWARE | flags::TX_ACK);
        if record != 0 {
            // A piece that continues the call moves the call's mark to its new last byte
            // (reports an earlier piece's mark already gave stay given).
            match self.marks.last_mut() {
                Some(mark) if continued == Some(mark.byte) => mark.byte = last_byte,
                _ => self.marks.push(Mark {
                    byte: last_byte,
                    record,
                    payload: None,
                }),
            }
        }
        if ZerocopyIds::applies(send_flags, zerocopy) {
            if let Some(pending) = self
                .completions
                .last_mut()
                .filter(|pending| continued == Some(pending.last_byte))
            {
                // The call's id covers this piece too: completed when all of it is acked.
                pending.last_byte = last_byte;
                return;
            }
            self.zerocopy_ids.take();
            if let Some(completion) = self.zerocopy_ids.release() {
                self.completions.push(PendingCompletion {
                    id: completion.first,
                    last_byte,
                });
            }
        }
    }
}

/// The record flags of an SO_TIMESTAMPING control message of a TCP sendmsg
/// (sock_cmsg_send, see `parse_tcp_send_control`), replacing the socket's record bits for
/// this write; None without one.
pub fn send_control(
    creds: &Credentials,
    options: &SocketOptions,
    args: &SendArgs<'_>,
) -> Result<Option<u32>, Errno> {
    if args.control.is_empty() {
        return Ok(None);
    }
    let no_foreign_check = |_| false;
    let context = SendContext {
        creds,
        txtime_enabled: options.txtime_enabled,
        timestamping_flags: options.timestamping_flags,
        is_foreign_unicast: &no_foreign_check,
    };
    let control = parse_tcp_send_control(args.control, &context)?;
    Ok(control.timestamping)
}

/// sock_set_timestamping's TCP part, run after the option table accepted the flags:
/// turning OPT_ID on needs a socket that is neither closed nor listening (EINVAL, and the
/// flags stay as they were) and sets sk_tskey to snd_una, or write_seq with OPT_ID_TCP.
pub fn timestamping_changed(socket: &mut TcpSocket, before: u32) -> Result<(), Errno> {
    let now = socket.options.timestamping_flags;
    if now & flags::OPT_ID == 0 || before & flags::OPT_ID != 0 {
        return Ok(());
    }
    let base = socket.connection().and_then(|connection| {
        use super::state::State;
        (!matches!(connection.state, State::Closed | State::Listen)).then(|| {
            if now & OPT_ID_TCP != 0 {
                connection.send_queue.end().0
            } else {
                connection.snd_una.0
            }
        })
    });
    match base {
        Some(base) => {
            socket.transmit_stamps.base = base;
            Ok(())
        }
        None => {
            socket.options.timestamping_flags = before;
            Err(Errno::EINVAL)
        }
    }
}

/// The parts of an outgoing TCP segment that find its connection and its bytes.
struct SegmentView<'a> {
    local: SocketAddrV4,
    remote: SocketAddrV4,
    seq: Seq,
    payload: &'a [u8],
}

fn view<'a>(datagram: &OutboundDatagram<'a>) -> Option<SegmentView<'a>> {
    let bytes = datagram.payload;
    let header_len = usize::from(*bytes.get(12)? >> 4) * 4;
    let payload = bytes.get(header_len..)?;
    let port = |at: usize| u16::from_be_bytes([bytes[at], bytes[at + 1]]);
    if header_len < 20 || payload.is_empty() {
        return None;
    }
    Some(SegmentView {
        local: SocketAddrV4::new(datagram.src, port(0)),
        remote: SocketAddrV4::new(datagram.dst, port(2)),
        seq: Seq(u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]])),
        payload,
    })
}

impl TcpLayer {
    /// The device hand-off of one segment (transmit_queued): the segment goes out, and a
    /// marked byte it carries for the first time gets its SCHED and SND reports.
    pub(super) fn send_segment_stamped(
        &mut self,
        now: Instant,
        network: &mut dyn SegmentOutput,
        datagram: &OutboundDatagram<'_>,
    ) -> Result<(), Errno> {
        let Some(segment) = view(datagram) else {
            return network.send(now, datagram);
        };
        let Some(&id) = self.connections.get(&(segment.local, segment.remote)) else {
            return network.send(now, datagram);
        };
        let Ok(socket) = self.sockets.get_mut(id) else {
            return network.send(now, datagram);
        };
        let stamps = &mut socket.transmit_stamps;
        if stamps.marks.is_empty() {
            return network.send(now, datagram);
        }
        let end = segment.seq.add(segment.payload.len() as u32);
        let mut device_reports = Vec::new();
        for mark in stamps.marks.iter_mut() {
            let carried = mark.byte.ge(segment.seq) && mark.byte.lt(end);
            if !carried || mark.payload.is_some() {
                continue;
            }
            mark.payload = Some(segment.payload.to_vec());
            device_reports.push((mark.byte, mark.record));
            mark.record &= flags::TX_ACK;
        }
        stamps.marks.retain(|mark| mark.record != 0);
        let output_mark = network.output_mark();
        let result = network.send(now, datagram);
        stamps.wall_reference = Some((now, network.wall_time(now)));
        if result.is_err() || device_reports.is_empty() {
            return result;
        }
        let Some(frame) = network.frame_handed_since(output_mark) else {
            return result;
        };
        let stamp = network.wall_time(now);
        for (byte, record) in device_reports {
            for (bit, kind) in [
                (flags::TX_SCHED, ReportKind::Scheduled),
                (flags::TX_SOFTWARE, ReportKind::Send),
            ] {
                if record & bit != 0 {
                    queue_report(socket, kind, byte, Some(&frame), stamp);
                }
            }
        }
        result
    }

    /// After a segment's input: bytes now acknowledged (snd_una beyond them) report TX_ACK
    /// (tcp_ack_tstamp) and complete their MSG_ZEROCOPY sends.
    /// See `Stack::send_continuing`.
    pub fn set_send_continuing(&mut self, id: SocketId, continuing: bool) {
        if let Ok(socket) = self.user_socket_mut(id) {
            socket.transmit_stamps.set_continuing(continuing);
        }
    }

    pub(super) fn acknowledge_transmit_stamps(&mut self, now: Instant, id: SocketId) {
        let Ok(socket) = self.sockets.get_mut(id) else {
            return;
        };
        if socket.transmit_stamps.is_idle() {
            return;
        }
        let Some(snd_una) = socket.connection().map(|connection| connection.snd_una) else {
            return;
        };
        let stamp = socket.transmit_stamps.wall_time(now);
        let stamps = &mut socket.transmit_stamps;
        let (acked, kept): (Vec<_>, Vec<_>) = stamps
            .marks
            .drain(..)
            .partition(|mark| mark.payload.is_some() && mark.byte.lt(snd_una));
        stamps.marks = kept;
        let (completed, waiting): (Vec<_>, Vec<_>) = stamps
            .completions
            .drain(..)
            .partition(|pending| pending.last_byte.lt(snd_una));
        stamps.completions = waiting;
        for mark in acked {
            let payload = HandedFrame {
                bytes: mark.payload.unwrap_or_default(),
                // The retransmit queue's skb has no device.
                ifindex: 0,
            };
            queue_report(
                socket,
                ReportKind::Acknowledged,
                mark.byte,
                Some(&payload),
                stamp,
            );
        }
        for pending in completed {
            queue_completion(socket, pending.id, stamp);
        }
    }
}

/// __skb_tstamp_tx + __skb_complete_tx_timestamp for a TCP socket: ee_data is the byte's
/// offset from sk_tskey with OPT_ID; OPT_TSONLY loops no data; sock_queue_err_skb refuses
/// it when the receive buffer is full (not modelled: TCP entries are not charged here).
fn queue_report(
    socket: &mut TcpSocket,
    kind: ReportKind,
    byte: Seq,
    data: Option<&HandedFrame>,
    stamp: WallTime,
) {
    let socket_flags = socket.options.timestamping_flags;
    let key = if socket_flags & flags::OPT_ID != 0 {
        byte.0.wrapping_sub(socket.transmit_stamps.base)
    } else {
        0
    };
    let data = data.filter(|_| socket_flags & flags::OPT_TSONLY == 0);
    let report = QueuedTcpError::transmit_report(kind, key, data, stamp);
    if !receive_buffer_admits(socket, &report) {
        return;
    }
    socket.error_queue.push_back(report);
    error_report(socket);
}

/// sock_queue_err_skb: "if (atomic_read(&sk->sk_rmem_alloc) + skb->truesize >=
/// sk->sk_rcvbuf) return -ENOMEM", and __skb_complete_tx_timestamp frees the report. The
/// charge counted is the error queue's truesize plus the bytes waiting to be read (the
/// stack keeps no skb truesize for received TCP data), so a program that never reads its
/// error queue stops collecting reports where the kernel does, roughly.
fn receive_buffer_admits(socket: &TcpSocket, report: &QueuedTcpError) -> bool {
    let Some(connection) = socket.connection() else {
        return true;
    };
    let queued: usize = socket
        .error_queue
        .iter()
        .map(QueuedTcpError::truesize)
        .sum();
    let charge = queued + connection.receive.ready.len() + report.truesize();
    charge < connection.settings.receive_buffer as usize
}

/// __msg_zerocopy_callback: merged into the queue's last completion when consecutive.
fn queue_completion(socket: &mut TcpSocket, id: u32, stamp: WallTime) {
    let completion = Completion {
        first: id,
        last: id,
        code: CODE_COPIED,
    };
    if let Some(tail) = socket.error_queue.back_mut() {
        if tail.extend_completion(&completion) {
            error_report(socket);
            return;
        }
    }
    socket
        .error_queue
        .push_back(QueuedTcpError::zerocopy(completion, stamp));
    error_report(socket);
}

/// The IP header fields a report's IP control messages read.
pub(super) fn frame_ip(frame: &HandedFrame) -> Option<(Ipv4Addr, Ipv4Addr, u8, u8)> {
    frame
        .ip_fields()
        .map(|ip| (ip.source, ip.destination, ip.ttl, ip.tos))
}

/// sk_error_report (sock_def_error_report): EPOLLERR to every waiter and SIGIO's POLL_ERR;
/// sk_err is not touched.
fn error_report(socket: &mut TcpSocket) {
    match socket.connection_mut() {
        Some(connection) => {
            connection.wakeups.other += 1;
            connection.async_notices.error += 1;
        }
        None => socket.wakeups.other += 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zerocopy::MSG_ZEROCOPY;

    const RECORD: u32 = flags::TX_SCHED | flags::TX_SOFTWARE | flags::TX_ACK;

    fn bytes_and_ids(stamps: &TcpTransmitStamps) -> (Vec<u32>, Vec<(u32, u32)>) {
        (
            stamps.marks.iter().map(|mark| mark.byte.0).collect(),
            stamps
                .completions
                .iter()
                .map(|pending| (pending.id, pending.last_byte.0))
                .collect(),
        )
    }

    #[test]
    fn pieces_of_one_call_share_its_mark_and_zerocopy_id() {
        let mut stamps = TcpTransmitStamps::default();
        // One sendmsg of 600 bytes handed over as 256 + 256 + 88.
        stamps.record_send(RECORD, true, MSG_ZEROCOPY, 256, Seq(1256));
        stamps.set_continuing(true);
        stamps.record_send(RECORD, true, MSG_ZEROCOPY, 256, Seq(1512));
        stamps.record_send(RECORD, true, MSG_ZEROCOPY, 88, Seq(1600));
        stamps.set_continuing(false);
        assert_eq!(bytes_and_ids(&stamps), (vec![1599], vec![(0, 1599)]));
        // The next call is a call of its own: a mark and an id of its own.
        stamps.record_send(RECORD, true, MSG_ZEROCOPY, 10, Seq(1610));
        assert_eq!(
            bytes_and_ids(&stamps),
            (vec![1599, 1609], vec![(0, 1599), (1, 1609)])
        );
    }

    #[test]
    fn a_continuing_piece_after_the_mark_was_consumed_starts_a_new_one() {
        let mut stamps = TcpTransmitStamps::default();
        stamps.record_send(RECORD, false, 0, 100, Seq(100));
        // The first piece's mark was reported and dropped before the next piece came.
        stamps.marks.clear();
        stamps.set_continuing(true);
        stamps.record_send(RECORD, false, 0, 100, Seq(200));
        assert_eq!(bytes_and_ids(&stamps).0, vec![199]);
    }
}
