//! Connection states (RFC 9293 section 3.3.2) with the numbers Linux reports in TCP_INFO's
//! tcpi_state and /proc/net/tcp (include/net/tcp_states.h).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Established,
    SynSent,
    SynReceived,
    FinWait1,
    FinWait2,
    TimeWait,
    Closed,
    CloseWait,
    LastAck,
    Listen,
    Closing,
}

impl State {
    /// TCP_ESTABLISHED = 1 ... TCP_CLOSING = 11.
    pub fn linux_number(self) -> u8 {
        match self {
            State::Established => 1,
            State::SynSent => 2,
            State::SynReceived => 3,
            State::FinWait1 => 4,
            State::FinWait2 => 5,
            State::TimeWait => 6,
            State::Closed => 7,
            State::CloseWait => 8,
            State::LastAck => 9,
            State::Listen => 10,
            State::Closing => 11,
        }
    }

    /// States in which the peer's data is still accepted (RFC 9293 3.10.7.4, seventh step).
    pub fn receives_data(self) -> bool {
        matches!(
            self,
            State::Established | State::FinWait1 | State::FinWait2 | State::SynReceived
        )
    }

    /// Our FIN has been queued (send side closed).
    pub fn fin_queued(self) -> bool {
        matches!(
            self,
            State::FinWait1 | State::FinWait2 | State::Closing | State::LastAck | State::TimeWait
        )
    }

    /// tcp_need_reset: states in which an abort sends a RST.
    pub fn abort_sends_reset(self) -> bool {
        matches!(
            self,
            State::Established
                | State::CloseWait
                | State::FinWait1
                | State::FinWait2
                | State::SynReceived
        )
    }
}
