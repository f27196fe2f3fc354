//! IP_RECVERR on a TCP socket: tcp_v4_err hands an ICMP error about a connection still in
//! SYN_SENT (or a simultaneous open's SYN_RECV) to ip_icmp_error, which queues it on
//! sk_error_queue; recvmsg(MSG_ERRQUEUE) takes it through ip_recv_error. The data is the
//! quoted TCP header onwards ("(u8 *)th"), the name the quoted destination, and the control
//! message a struct sock_extended_err with the ICMP sender as SO_EE_OFFENDER.

use core::net::{Ipv4Addr, SocketAddrV4};

use super::layer::{user_socket_in, TcpLayer};
use crate::cmsg::ControlWriter;
use crate::errno::Errno;
use crate::socket::msg_flags::{MSG_CTRUNC, MSG_ERRQUEUE, MSG_TRUNC};
use crate::socket::{RecvArgs, RecvResult, SocketId};
use crate::transport::IcmpError;

/// SO_EE_ORIGIN_ICMP.
const ORIGIN_ICMP: u8 = 2;
/// SOL_IP / IP_RECVERR.
const SOL_IP: i32 = 0;
const IP_RECVERR: i32 = 11;

/// One sk_error_queue entry.
#[derive(Debug, Clone)]
pub struct QueuedTcpError {
    errno: Errno,
    icmp_type: u8,
    code: u8,
    info: u32,
    offender: Ipv4Addr,
    destination: SocketAddrV4,
    data: Vec<u8>,
}

impl QueuedTcpError {
    /// ip_icmp_error(sk, skb, err, th->dest, info, (u8 *)th).
    pub fn from_icmp(error: &IcmpError<'_>) -> Option<QueuedTcpError> {
        let quoted = error.quoted_payload;
        let port = u16::from_be_bytes([*quoted.get(2)?, *quoted.get(3)?]);
        Some(QueuedTcpError {
            errno: error.errno,
            icmp_type: error.icmp_type,
            code: error.icmp_code,
            info: error.info,
            offender: error.offender,
            destination: SocketAddrV4::new(error.quoted_dst, port),
            data: quoted.to_vec(),
        })
    }

    /// struct sock_extended_err then the offender's struct sockaddr_in.
    fn header(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out[0..4].copy_from_slice(&(self.errno as u32).to_ne_bytes());
        out[4] = ORIGIN_ICMP;
        out[5] = self.icmp_type;
        out[6] = self.code;
        out[8..12].copy_from_slice(&self.info.to_ne_bytes());
        out[16..18].copy_from_slice(&crate::sockaddr::AF_INET.to_ne_bytes());
        out[20..24].copy_from_slice(&self.offender.octets());
        out
    }
}

impl TcpLayer {
    /// ip_recv_error: EAGAIN when the queue is empty (it never waits). Taking the last
    /// ICMP entry clears sk_err (sock_dequeue_err_skb); a following one would set it to its
    /// errno. The IP control messages of ip_cmsg_recv (IP_PKTINFO, IP_TTL, ...) and
    /// timestamps are not added.
    pub fn receive_error(
        &mut self,
        id: SocketId,
        args: RecvArgs,
        buf: &mut [u8],
    ) -> Result<RecvResult, Errno> {
        let socket = user_socket_in(&mut self.sockets, id)?;
        let entry = socket.error_queue.pop_front().ok_or(Errno::EAGAIN)?;
        let next_errno = socket.error_queue.front().map(|next| next.errno);
        match socket.connection_mut() {
            Some(connection) => connection.error = next_errno,
            None => socket.error = next_errno,
        }
        let mut flags = MSG_ERRQUEUE;
        let copied = entry.data.len().min(args.capacity).min(buf.len());
        if entry.data.len() > args.capacity {
            flags |= MSG_TRUNC;
        }
        buf[..copied].copy_from_slice(&entry.data[..copied]);
        let mut writer = ControlWriter::new(args.control_capacity);
        writer.put(SOL_IP, IP_RECVERR, &entry.header());
        let (control, truncated) = writer.finish();
        if truncated {
            flags |= MSG_CTRUNC;
        }
        Ok(RecvResult {
            len: copied,
            from: Some(entry.destination),
            control,
            flags,
        })
    }
}
