//! Explicit Congestion Notification for TCP (RFC 3168) as Linux 6.18 does it
//! (include/net/tcp_ecn.h, tcp_input.c, tcp_output.c): the negotiation (ECE|CWR on the SYN,
//! ECE on the SYN-ACK), ECT(0) on new data, ECE on every segment from a CE mark until the
//! peer's CWR, and the sender's reaction to ECE: the CWR state (TCP_CA_CWR) with its cwnd
//! reduction (RFC 6937's proportional rate reduction, tcp_cwnd_reduction) and CWR on the
//! next new data segment.
//!
//! net.ipv4.tcp_ecn (enum tcp_ecn_mode): 0 never; 1 ask and accept; 2 (the default) accept
//! when asked, never ask. Linux 6.18's enum also names the Accurate ECN modes 3..5, but its
//! sysctl refuses them (measured: writing 3, 4 or 5 fails with EINVAL; only a congestion
//! control flagged TCP_CONG_NEEDS_ACCECN would ask for AccECN, and neither cubic, reno nor
//! this host's bbr is), so
//! Accurate ECN (the ACE counter, the AccECN option) is not implemented: a SYN with AE is
//! treated as classic (`for_request`), and a SYN-ACK whose ACE bits would make the kernel
//! switch to AccECN turns ECN off (`on_synack`). The per-route `ecn` feature
//! (RTAX_FEATURE_ECN, `ip route ... features ecn`) and congestion controls that need ECN
//! (dctcp: ECT on every segment, ECT(1)) are not modelled.

use super::congestion::Phase;
use super::seq::Seq;
use super::tcb::Connection;
use crate::wire::tcp::flags;

/// INET_ECN_MASK and the codepoints of the IP header's ECN field.
pub const ECN_MASK: u8 = 0x03;
pub const NOT_ECT: u8 = 0x00;
pub const ECT_0: u8 = 0x02;
pub const CE: u8 = 0x03;

/// TCPI_OPT_ECN and TCPI_OPT_ECN_SEEN in tcpi_options.
pub const INFO_OPTION_ECN: u8 = 8;
pub const INFO_OPTION_ECN_SEEN: u8 = 16;

/// tcp_ecn_send_syn: the sysctl values whose SYN asks for ECN (TCP_ECN_IN_ECN_OUT_ECN, and
/// the AccECN modes TCP_ECN_IN_ACCECN_OUT_ACCECN / _OUT_ECN the sysctl does not accept).
pub fn asks_on_connect(sysctl: u8) -> bool {
    matches!(sysctl, 1 | 3 | 4)
}

/// One connection's ECN state (the RFC 3168 part of tp->ecn_flags) and the ECN bits of
/// inet->tos, which TCP rewrites for every segment it sends (INET_ECN_xmit / dontxmit):
/// getsockopt(IP_TOS) reads them back.
#[derive(Debug, Clone, Default)]
pub struct Ecn {
    /// TCP_ECN_MODE_RFC3168 (TCP_ECN_OK): negotiated, or asked for and not yet refused.
    pub enabled: bool,
    /// TCP_ECN_QUEUE_CWR: the next new data segment carries CWR.
    queue_cwr: bool,
    /// TCP_ECN_DEMAND_CWR: a CE mark arrived; every segment carries ECE until the peer's CWR.
    demand_cwr: bool,
    /// TCP_ECN_SEEN: data with ECT or CE arrived (TCPI_OPT_ECN_SEEN).
    pub seen: bool,
    /// The ECN field of inet->tos after the last segment sent.
    tos_bits: u8,
    /// TCP_SKB_CB(skb)->ip_dsfield of the segment being processed (the IPv4 layer's TOS).
    pub arrival_dsfield: u8,
    /// ICSK_ACK_NOW from tcp_ecn_accept_cwr: the data that carried CWR is acknowledged at
    /// once; cleared by any ACK sent.
    pub ack_now: bool,
    /// tp->delivered_ce: segments delivered by ACKs that carried ECE (tcpi_delivered_ce).
    pub delivered_ce: u32,
}

impl Ecn {
    /// tcp_ecn_create_request + tcp_ecn_openreq_child: a listener's child uses ECN when the
    /// SYN carried ECE and CWR, the sysctl is not 0, and the SYN itself was not ECT (RFC
    /// 3168 6.1.1: a SYN must not be ECT, so an ECT SYN is taken for a broken path) unless
    /// a reserved header bit is set ("(!ect || th->res1) && ecn_ok").
    pub fn for_request(sysctl: u8, segment_flags: u8, reserved_bits: u8, dsfield: u8) -> Ecn {
        let asked = segment_flags & (flags::ECE | flags::CWR) == flags::ECE | flags::CWR;
        let ect = dsfield & ECN_MASK != NOT_ECT;
        Ecn {
            enabled: asked && sysctl != 0 && (!ect || reserved_bits != 0),
            ..Ecn::default()
        }
    }

    /// cookie_ecn_ok: a SYN cookie's timestamp remembers whether the SYN-ACK accepted ECN;
    /// the child uses it while net.ipv4.tcp_ecn is not 0.
    pub fn from_cookie(accepted: bool, sysctl: u8) -> Ecn {
        Ecn {
            enabled: accepted && sysctl != 0,
            ..Ecn::default()
        }
    }

    /// The ECN bits of inet->tos now (getsockopt IP_TOS, and the next segment's TOS).
    pub fn tos_bits(&self) -> u8 {
        self.tos_bits
    }

    /// tcp_ecn_send_syn / tcp_ecn_clear_syn / tcp_ecn_send_synack / tcp_ecn_make_synack:
    /// the flags of a SYN (`synack` false) or SYN-ACK. A first SYN asks when the sysctl
    /// says so; with tcp_ecn_fallback a retransmitted SYN no longer asks (RFC 3168
    /// 6.1.1.1), and the SYN-ACK that answers it then turns ECN off. A SYN-ACK carries ECE
    /// when ECN was accepted.
    pub fn syn_flags(&mut self, synack: bool, first: bool, sysctl: u8, fallback: bool) -> u8 {
        if synack {
            return if self.enabled { flags::ECE } else { 0 };
        }
        if first {
            self.enabled = asks_on_connect(sysctl);
        }
        if self.enabled && (first || !fallback) {
            flags::ECE | flags::CWR
        } else {
            0
        }
    }

    /// tcp_ecn_rcv_synack (RFC 3168 feedback): the SYN-ACK's ACE bits keep ECN only when
    /// they say ECE without CWR. (ECE|CWR or AE alone would make the kernel try AccECN,
    /// which is not implemented: ECN is turned off instead.)
    pub fn on_synack(&mut self, segment_flags: u8) {
        if segment_flags & (flags::ECE | flags::CWR) != flags::ECE {
            self.enabled = false;
        }
    }

    /// tcp_ecn_rcv_syn (simultaneous open): the peer's SYN must ask too.
    pub fn on_syn(&mut self, segment_flags: u8) {
        if segment_flags & (flags::ECE | flags::CWR) != flags::ECE | flags::CWR {
            self.enabled = false;
        }
    }

    /// tcp_ecn_send for a segment that is not a SYN: new data (not a retransmission, not a
    /// bare header) is sent ECT(0) with a queued CWR; pure ACKs, FINs, resets, probes and
    /// retransmissions are Not-ECT. ECE goes on everything while a CWR is demanded.
    /// Returns the flags to add.
    pub fn transmit_flags(&mut self, new_data: bool) -> u8 {
        if !self.enabled {
            return 0;
        }
        let mut added = 0;
        if new_data {
            self.tos_bits = ECT_0;
            if core::mem::take(&mut self.queue_cwr) {
                added |= flags::CWR;
            }
        } else {
            self.tos_bits = NOT_ECT;
        }
        if self.demand_cwr {
            added |= flags::ECE;
        }
        added
    }

    /// tcp_ecn_queue_cwr: every cwnd reduction (CWR, recovery, loss) is announced.
    pub fn queue_cwr(&mut self) {
        if self.enabled {
            self.queue_cwr = true;
        }
    }

    /// tcp_ecn_withdraw_cwr (an undone reduction).
    pub fn withdraw_cwr(&mut self) {
        self.queue_cwr = false;
    }

    /// tcp_ecn_rcv_ecn_echo: ECE on an ACK that is not a SYN.
    pub fn echoed(&self, segment_flags: u8) -> bool {
        self.enabled && segment_flags & flags::ECE != 0 && segment_flags & flags::SYN == 0
    }

    /// tcp_ecn_accept_cwr (called from tcp_ack since Linux 5.10, so a CWR on a pure ACK
    /// counts too): the peer reduced its window; stop echoing. Data that carried it is
    /// acknowledged at once, since the sender's window may be down to one segment.
    pub fn accept_cwr(&mut self, segment_flags: u8, carries_data: bool) {
        if self.enabled && segment_flags & flags::CWR != 0 {
            self.demand_cwr = false;
            if carries_data {
                self.ack_now = true;
            }
        }
    }

    /// __tcp_ecn_check_ce on arriving data. Returns the quick-ACK count to enter
    /// (tcp_enter_quickack_mode(sk, 2)), if any: a CE mark starts demanding CWR and wants
    /// its ECE out at once; a Not-ECT segment after ECT ones is probably a retransmission.
    pub fn check_ce(&mut self) -> Option<u8> {
        if !self.enabled {
            return None;
        }
        match self.arrival_dsfield & ECN_MASK {
            NOT_ECT => self.seen.then_some(2),
            CE => {
                self.seen = true;
                if self.demand_cwr {
                    None
                } else {
                    self.demand_cwr = true;
                    Some(2)
                }
            }
            _ => {
                self.seen = true;
                None
            }
        }
    }

    /// tcpi_options' ECN bits.
    pub fn info_options(&self) -> u8 {
        (if self.enabled { INFO_OPTION_ECN } else { 0 })
            | (if self.seen { INFO_OPTION_ECN_SEEN } else { 0 })
    }
}

/// inet->tos holds the ECN bits TCP set on its last segment: getsockopt(IP_TOS) shows them
/// (0x02 right after new data went out ECT(0)) and setsockopt(IP_TOS) keeps them
/// ("val |= inet->tos & INET_ECN_MASK" for SOCK_STREAM). Brings the shared option value up to
/// date before either reads it.
pub fn sync_tos_option(socket: &mut super::socket::TcpSocket) {
    if let Some(bits) = socket.connection().map(|c| c.ecn.tos_bits()) {
        socket.options.tos = (socket.options.tos & !ECN_MASK) | bits;
    }
}

impl Connection {
    /// Arriving data's ECN field (tcp_data_ecn_check from tcp_event_data_recv and
    /// tcp_data_queue_ofo); quick-ACK mode is `delayed_ack.rs`'s tcp_enter_quickack_mode.
    pub fn ecn_check_arrival(&mut self) {
        if let Some(quick) = self.ecn.check_ce() {
            self.enter_quickack_mode(quick);
        }
    }

    /// The ECN part of tcp_ack for an acceptable ACK: tcp_ecn_accept_cwr, then an echo
    /// (tcp_ecn_rcv_ecn_echo, FLAG_ECE) makes tcp_fastretrans_alert's tcp_try_to_open enter
    /// CWR when something was in flight. tcp_fastretrans_alert checks the state's end first
    /// ("if (tp->snd_una != tp->high_seq)" once high_seq is reached), so an ECE on the ACK
    /// that ends CWR starts the next one. Returns whether the ACK echoed ECE.
    pub fn ecn_on_ack(&mut self, segment_flags: u8, carries_data: bool, ack: Seq) -> bool {
        self.ecn.accept_cwr(segment_flags, carries_data);
        if let Phase::Cwr { until } = self.congestion.phase {
            if ack.gt(until) {
                self.end_cwr();
            }
        }
        let echoed = self.ecn.echoed(segment_flags);
        if echoed && self.in_flight() > 0 {
            self.enter_cwr();
        }
        echoed
    }

    /// tcp_enter_cwr: from Open or Disorder, reduce the window (tcp_init_cwnd_reduction:
    /// ssthresh from the algorithm, PRR restarted, CWR queued for the next new data) until
    /// everything sent so far is acknowledged; nothing is undone later.
    pub fn enter_cwr(&mut self) {
        self.recovery.prior_ssthresh = 0;
        if matches!(self.congestion.phase, Phase::Open | Phase::Disorder) {
            self.recovery.undo_marker = None;
            self.init_cwnd_reduction();
            let until = self.recovery.high_seq;
            self.set_phase(Phase::Cwr { until });
        }
    }

    /// tcp_end_cwnd_reduction from CWR ("Reset cwnd to ssthresh in CWR"), then TCP_CA_Open.
    fn end_cwr(&mut self) {
        // tcp_end_cwnd_reduction returns at once for an algorithm with cong_control (BBR).
        if self.congestion.ssthresh < super::congestion::INFINITE_SSTHRESH
            && !self.congestion.control.has_cong_control()
        {
            self.congestion.cwnd = self.congestion.ssthresh;
        }
        self.set_phase(Phase::Open);
    }

    /// An ACK that moved SND.UNA while in CWR: over once it passes the high mark, otherwise
    /// tcp_cong_control's tcp_cwnd_reduction (PRR, `prr.rs`) shrinks the window.
    pub fn ecn_cwr_ack(&mut self, until: Seq, acked: u32) {
        if self.snd_una.gt(until) {
            self.end_cwr();
            return;
        }
        let mss = self.mss_unit();
        let ssthresh = self.congestion.ssthresh / mss;
        let delivered = acked.div_ceil(mss);
        let in_flight = self.segments_in_flight();
        if let Some(cwnd) = self
            .recovery
            .prr
            .reduce(ssthresh, in_flight, delivered, 0, acked > 0)
        {
            self.set_cwnd_segments(cwnd);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_rules() {
        let ask = flags::SYN | flags::ECE | flags::CWR;
        assert!(Ecn::for_request(2, ask, 0, NOT_ECT).enabled);
        assert!(Ecn::for_request(1, ask, 0, NOT_ECT).enabled);
        assert!(!Ecn::for_request(0, ask, 0, NOT_ECT).enabled);
        // An ECT SYN is refused unless a reserved bit is set.
        assert!(!Ecn::for_request(2, ask, 0, ECT_0).enabled);
        assert!(Ecn::for_request(2, ask, 1, ECT_0).enabled);
        // ECE alone does not ask.
        assert!(!Ecn::for_request(2, flags::SYN | flags::ECE, 0, NOT_ECT).enabled);
    }

    #[test]
    fn cookie_remembers_acceptance() {
        assert!(Ecn::from_cookie(true, 2).enabled);
        assert!(!Ecn::from_cookie(true, 0).enabled);
        assert!(!Ecn::from_cookie(false, 1).enabled);
    }

    #[test]
    fn syn_asks_and_falls_back() {
        let mut ecn = Ecn::default();
        assert_eq!(ecn.syn_flags(false, true, 2, true), 0);
        assert!(!ecn.enabled);
        assert_eq!(ecn.syn_flags(false, true, 1, true), flags::ECE | flags::CWR);
        assert_eq!(ecn.syn_flags(false, false, 1, true), 0);
        assert_eq!(
            ecn.syn_flags(false, false, 1, false),
            flags::ECE | flags::CWR
        );
        assert!(ecn.enabled);
        ecn.on_synack(flags::SYN | flags::ACK);
        assert!(!ecn.enabled);
    }

    #[test]
    fn ce_demands_cwr_until_it_comes() {
        let mut ecn = Ecn {
            enabled: true,
            ..Ecn::default()
        };
        ecn.arrival_dsfield = CE;
        assert_eq!(ecn.check_ce(), Some(2));
        assert_eq!(ecn.check_ce(), None);
        assert_eq!(ecn.transmit_flags(false), flags::ECE);
        assert_eq!(ecn.tos_bits(), NOT_ECT);
        assert_eq!(ecn.transmit_flags(true), flags::ECE);
        assert_eq!(ecn.tos_bits(), ECT_0);
        ecn.accept_cwr(flags::ACK | flags::CWR, true);
        assert!(ecn.ack_now);
        assert_eq!(ecn.transmit_flags(false), 0);
        assert_eq!(ecn.info_options(), INFO_OPTION_ECN | INFO_OPTION_ECN_SEEN);
    }
}
