//! One whole stack (IPv4 + TCP) at one end of a simulated Ethernet link: the tests that join
//! two of them (tcp_simulation, tcp_congestion_ops) move the frames one endpoint sends into
//! the other and run both endpoints' timers in virtual time.

use core::net::Ipv4Addr;

use stack::ipv4::Ipv4Layer;
use stack::tcp::TcpLayer;
use stack::{Instant, InterfaceConfig, RxMeta, StackConfig, Sysctls};

use super::TcpOnly;

/// eth0 with ADDR/24 and MAC 02:00:00:00:00:MAC_LAST, no gateway: both ends share the subnet.
pub fn link_config(addr: Ipv4Addr, mac_last: u8, sysctls: Sysctls, seed: u64) -> StackConfig {
    StackConfig {
        interface: InterfaceConfig {
            name: "eth0".into(),
            ifindex: 2,
            mac: [2, 0, 0, 0, 0, mac_last],
            mtu: 1500,
            addr,
            prefix_len: 24,
            gateway: None,
        },
        sysctls,
        random_seed: seed,
    }
}

pub struct LinkEndpoint {
    pub ip: Ipv4Layer,
    pub tcp: TcpLayer,
}

impl LinkEndpoint {
    pub fn new(config: &StackConfig) -> LinkEndpoint {
        LinkEndpoint {
            ip: Ipv4Layer::new(config),
            tcp: TcpLayer::new(config),
        }
    }

    /// Every frame the endpoint has to send now, TCP's queue first.
    pub fn flush(&mut self, now: Instant) -> Vec<Vec<u8>> {
        self.tcp.transmit_queued(now, &mut self.ip);
        let mut frames = Vec::new();
        while let Some(frame) = self.ip.poll_transmit(now) {
            frames.push(frame);
        }
        frames
    }

    pub fn receive(&mut self, now: Instant, frame: &[u8]) {
        let mut upper = TcpOnly { tcp: &mut self.tcp };
        self.ip
            .handle_frame(now, frame, RxMeta::default(), &mut upper);
    }

    pub fn poll_at(&self) -> Option<Instant> {
        [self.ip.poll_at(), self.tcp.poll_at()]
            .into_iter()
            .flatten()
            .min()
    }

    pub fn run_timers(&mut self, now: Instant) {
        let mut upper = TcpOnly { tcp: &mut self.tcp };
        self.ip.handle_timeout(now, &mut upper);
        self.tcp.handle_timeout(now);
    }
}

/// Frames on the wire: (delivery time, index of the receiving endpoint, frame).
#[derive(Default)]
pub struct InFlight(Vec<(Instant, usize, Vec<u8>)>);

impl InFlight {
    pub fn push(&mut self, at: Instant, to: usize, frame: Vec<u8>) {
        self.0.push((at, to, frame));
    }

    pub fn next_delivery(&self) -> Option<Instant> {
        self.0.iter().map(|(at, _, _)| *at).min()
    }

    /// When a simulation has something to do next: the earliest of the next frame's arrival
    /// and the endpoints' timers (None: nothing will ever happen again).
    pub fn next_event(&self, endpoints: &[LinkEndpoint]) -> Option<Instant> {
        endpoints
            .iter()
            .filter_map(LinkEndpoint::poll_at)
            .chain(self.next_delivery())
            .min()
    }

    /// Frames due at `now`, in delivery-time order.
    pub fn due(&mut self, now: Instant) -> Vec<(usize, Vec<u8>)> {
        let mut due = Vec::new();
        let mut index = 0;
        while index < self.0.len() {
            if self.0[index].0 <= now {
                due.push(self.0.swap_remove(index));
            } else {
                index += 1;
            }
        }
        due.sort_by_key(|(at, _, _)| *at);
        due.into_iter().map(|(_, to, frame)| (to, frame)).collect()
    }
}
