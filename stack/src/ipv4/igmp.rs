//! The host side of IGMP, as net/ipv4/igmp.c implements it: each interface's group list (the
//! union of the sockets' memberships and their source filters: ip_mc_inc_group,
//! ip_mc_dec_group, ip_mc_add_src, ip_mc_del_src), the IGMPv3 state-change reports with
//! their retransmissions (RFC 3376 5.1: igmp_ifc_event, igmpv3_send_cr, add_grec), answers to
//! queries (igmp_heard_query: general, group and group-and-source specific, with the v1/v2
//! compatibility modes of RFC 3376 7.2.1), and ip_check_mc_rcu, which decides whether a
//! multicast datagram is for this host.
//!
//! The lists keep the kernel's order (new groups and deleted records at the head, new
//! sources at the tail), because the order of the records in a report follows it. Timers are
//! deadlines in `now`'s time, in jiffies as the kernel counts them. Only the link interface
//! puts reports on the wire; groups joined on `lo` are kept for ip_check_mc_rcu only (the
//! kernel's reports on lo never leave the host).

use core::net::Ipv4Addr;
use core::time::Duration;

use super::jiffies::{msecs_to_jiffies, HZ};
use super::layer::Ipv4Layer;
use super::route::LOOPBACK_IFINDEX;
use super::InboundDatagram;
use crate::config::Sysctls;
use crate::random::Random;
use crate::sockopt::multicast::{HostChange, MCAST_EXCLUDE, MCAST_INCLUDE};
use crate::time::Instant;
use crate::wire::ethernet::{self, ethertype};
use crate::wire::igmp::{self, message, record, ReportBuilder};
use crate::wire::ipv4::{self, Options};

/// IPPROTO_IGMP.
pub(crate) const PROTOCOL: u8 = 2;
/// IGMP_ALL_HOSTS: joined by every interface (ip_mc_up), never reported.
pub(crate) const ALL_HOSTS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 1);
/// IGMP_ALL_ROUTER: where v2 leaves go.
const ALL_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 2);
/// IGMPV3_ALL_MCR: where v3 reports go.
const ALL_V3_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 22);
/// The router alert option every report carries (RFC 2113), as igmpv3_newpack writes it.
const ROUTER_ALERT: [u8; 4] = [0x94, 4, 0, 0];
/// The IP header of a report: 20 bytes and the router alert option.
const REPORT_IP_HEADER_LEN: usize = 24;
/// IPV4_MIN_MTU: add_grec sends nothing on a smaller device.
const MIN_MTU: u32 = 68;
/// IGMP_V1/V2_ROUTER_PRESENT_TIMEOUT: 400 s.
const OLDER_QUERIER_PRESENT: Duration = Duration::from_secs(400);
/// IGMP_QUERY_RESPONSE_INTERVAL (10 s) in jiffies.
const QUERY_RESPONSE_INTERVAL: u64 = 10 * HZ;
/// IGMP_INITIAL_REPORT_DELAY, jiffies.
const INITIAL_REPORT_DELAY: u64 = 1;
/// IGMP_TIMER_SCALE: max response times are in tenths of a second.
const TIMER_SCALE: u64 = 10;
/// Index of the per-mode counters (sf_count[], sfcount[]): MCAST_EXCLUDE 0, MCAST_INCLUDE 1.
const EXCLUDE: usize = MCAST_EXCLUDE as usize;
const INCLUDE: usize = MCAST_INCLUDE as usize;

/// The IGMP sysctls (net.ipv4.igmp_*, net.ipv4.conf.<if>.*).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    /// net.ipv4.igmp_qrv: the robustness variable (retransmissions of a change).
    pub robustness: u32,
    /// net.ipv4.igmp_link_local_mcast_reports: report 224.0.0.0/24 groups too.
    pub link_local_reports: bool,
    /// igmpv2_unsolicited_report_interval / igmpv3_unsolicited_report_interval (ms).
    pub v2_interval_ms: u32,
    pub v3_interval_ms: u32,
    /// force_igmp_version (all or the device, whichever forces the older version).
    pub force_version: u32,
}

impl Settings {
    pub fn from_sysctls(sysctls: &Sysctls) -> Settings {
        Settings {
            robustness: sysctls.igmp_qrv,
            link_local_reports: sysctls.igmp_link_local_mcast_reports,
            v2_interval_ms: sysctls.igmpv2_unsolicited_report_interval_ms,
            v3_interval_ms: sysctls.igmpv3_unsolicited_report_interval_ms,
            force_version: sysctls.force_igmp_version,
        }
    }
}

/// struct ip_sf_list: one source of a group's filter, with the counts of the sockets that
/// include and exclude it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Source {
    address: Ipv4Addr,
    count: [u32; 2],
    /// sf_gsresp: named by a pending group-and-source-specific query.
    query_response: bool,
    /// sf_oldin: was it forwarded before the change being made (sf_markstate)?
    old_in: bool,
    /// sf_crcount: change reports still to carry it.
    change_count: u32,
}

impl Source {
    fn new(address: Ipv4Addr) -> Source {
        Source {
            address,
            count: [0; 2],
            query_response: false,
            old_in: false,
            change_count: 0,
        }
    }
}

/// struct ip_mc_list: a group joined on an interface (also the deleted records of mc_tomb,
/// which use the address, mode, counts and lists only).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    address: Ipv4Addr,
    users: u32,
    /// sfmode and sfcount[]: the interface's filter mode and how many sockets use each mode.
    mode: u32,
    mode_count: [u32; 2],
    sources: Vec<Source>,
    /// Sources recently removed, still to be reported as blocked.
    tomb: Vec<Source>,
    /// crcount: filter-mode change reports still due.
    change_count: u32,
    /// gsquery: a group-and-source-specific query is pending.
    source_query: bool,
    /// The per-group report timer (v1/v2 reports, v3 group query answers).
    timer: Option<Instant>,
    unsolicit_count: u32,
    /// This host sent the last v1/v2 report for the group (a v2 leave is then due).
    reporter: bool,
}

impl Group {
    fn new(address: Ipv4Addr, mode: u32) -> Group {
        let mut mode_count = [0; 2];
        mode_count[mode as usize] = 1;
        Group {
            address,
            users: 1,
            mode,
            mode_count,
            sources: Vec::new(),
            tomb: Vec::new(),
            change_count: 0,
            source_query: false,
            timer: None,
            unsolicit_count: 0,
            reporter: false,
        }
    }

    /// The deleted record igmpv3_add_delrec makes of a dropped group.
    fn deleted_record(&mut self, robustness: u32) -> Group {
        let mut record = Group::new(self.address, self.mode);
        record.mode_count = [0; 2];
        record.users = 0;
        record.change_count = robustness;
        if self.mode == MCAST_INCLUDE {
            record.tomb = core::mem::take(&mut self.tomb);
            record.sources = core::mem::take(&mut self.sources);
            for source in &mut record.sources {
                source.change_count = robustness;
            }
        }
        record
    }

    /// sf_markstate: remember which sources are forwarded before a change.
    fn mark_state(&mut self) {
        let excluders = self.mode_count[EXCLUDE];
        for source in &mut self.sources {
            source.old_in = if excluders != 0 {
                excluders == source.count[EXCLUDE] && source.count[INCLUDE] == 0
            } else {
                source.count[INCLUDE] != 0
            };
        }
    }

    /// sf_setstate: sources whose forwarding changed get change records (new ones, or
    /// "delete" records in the tomb for those no longer forwarded). Returns how many changed.
    fn set_state(&mut self, robustness: u32) -> u32 {
        let excluders = self.mode_count[EXCLUDE];
        let mut changed = 0;
        for index in 0..self.sources.len() {
            let source = &self.sources[index];
            let now_in = if excluders != 0 {
                excluders == source.count[EXCLUDE] && source.count[INCLUDE] == 0
            } else {
                source.count[INCLUDE] != 0
            };
            let address = source.address;
            if now_in {
                if !source.old_in {
                    if let Some(at) = self.tomb.iter().position(|d| d.address == address) {
                        self.tomb.remove(at);
                    }
                    self.sources[index].change_count = robustness;
                    changed += 1;
                }
            } else if source.old_in {
                self.sources[index].change_count = 0;
                let at = match self.tomb.iter().position(|d| d.address == address) {
                    Some(at) => at,
                    None => {
                        self.tomb.insert(0, self.sources[index].clone());
                        0
                    }
                };
                self.tomb[at].change_count = robustness;
                changed += 1;
            }
        }
        changed
    }

    /// is_in: does `source` belong in a record of `record_type`?
    fn includes(
        &self,
        source: &Source,
        record_type: u8,
        group_deleted: bool,
        deleted: bool,
    ) -> bool {
        match record_type {
            record::MODE_IS_INCLUDE | record::MODE_IS_EXCLUDE => {
                if group_deleted || deleted {
                    return false;
                }
                if self.source_query && !source.query_response {
                    return false;
                }
                if self.mode == MCAST_INCLUDE {
                    return true;
                }
                // "don't include if this source is excluded in all filters".
                if source.count[INCLUDE] != 0 {
                    return record_type == record::MODE_IS_INCLUDE;
                }
                self.mode_count[EXCLUDE] == source.count[EXCLUDE]
            }
            record::CHANGE_TO_INCLUDE => !(group_deleted || deleted) && source.count[INCLUDE] != 0,
            record::CHANGE_TO_EXCLUDE => {
                if group_deleted || deleted {
                    return false;
                }
                if self.mode_count[EXCLUDE] == 0 || source.count[INCLUDE] != 0 {
                    return false;
                }
                self.mode_count[EXCLUDE] == source.count[EXCLUDE]
            }
            record::ALLOW_NEW_SOURCES => {
                if group_deleted || source.change_count == 0 {
                    return false;
                }
                (self.mode == MCAST_INCLUDE) ^ deleted
            }
            record::BLOCK_OLD_SOURCES => {
                if self.mode == MCAST_INCLUDE {
                    group_deleted || (source.change_count != 0 && deleted)
                } else {
                    source.change_count != 0 && !group_deleted && !deleted
                }
            }
            _ => false,
        }
    }
}

/// ipv4_is_local_multicast: 224.0.0.0/24.
fn is_link_local(group: Ipv4Addr) -> bool {
    u32::from(group) & 0xffff_ff00 == 0xe000_0000
}

/// igmpv3_clear_zeros: drop the records whose retransmissions are done.
fn clear_zeros(list: &mut Vec<Source>) {
    list.retain(|source| source.change_count != 0);
}

/// The report being assembled (the kernel's skb), and the messages finished so far.
struct Reports<'a> {
    current: Option<ReportBuilder>,
    finished: &'a mut Vec<Vec<u8>>,
    mtu: u32,
}

impl Reports<'_> {
    fn new_packet(&self) -> ReportBuilder {
        ReportBuilder::new(REPORT_IP_HEADER_LEN, self.mtu as usize)
    }

    /// AVAILABLE(skb): the room left, 0 without a packet.
    fn room(&self) -> usize {
        self.current.as_ref().map_or(0, ReportBuilder::room)
    }

    /// igmpv3_sendpack of the current packet.
    fn send(&mut self) {
        if let Some(packet) = self.current.take() {
            self.finished.push(packet.finish());
        }
    }

    /// add_grhead: a record header, in a new packet if there is none.
    fn add_record(&mut self, record_type: u8, group: Ipv4Addr) -> &mut ReportBuilder {
        let packet = match self.current.take() {
            Some(packet) => packet,
            None => self.new_packet(),
        };
        let packet = self.current.insert(packet);
        packet.add_record(record_type, group);
        packet
    }
}

/// One interface's IGMP state (the multicast fields of struct in_device).
#[derive(Debug, Clone)]
struct Interface {
    ifindex: u32,
    /// Whether its reports reach the wire (the link; not lo).
    on_wire: bool,
    mtu: u32,
    /// mc_list, newest first.
    groups: Vec<Group>,
    /// mc_tomb: dropped groups still to be reported, newest first.
    deleted: Vec<Group>,
    /// mr_qrv: the querier's robustness variable, else the sysctl's.
    robustness: u32,
    /// mr_ifc_count and mr_ifc_timer: state-change report retransmissions.
    change_reports_left: u32,
    change_timer: Option<Instant>,
    /// mr_gq_timer: the answer to a general query.
    general_query_timer: Option<Instant>,
    /// mr_maxdelay, jiffies.
    max_delay: u64,
    /// mr_v1_seen / mr_v2_seen.
    v1_seen_until: Option<Instant>,
    v2_seen_until: Option<Instant>,
}

/// What the IGMP code needs besides an interface: the clock, randomness, the sysctls and
/// where finished messages go (destination, IGMP message).
struct Context<'a> {
    now: Instant,
    random: &'a mut Random,
    settings: Settings,
    outbox: &'a mut Vec<(Ipv4Addr, Vec<u8>)>,
}

impl Context<'_> {
    fn after_jiffies(&self, jiffies: u64) -> Instant {
        self.now + Duration::from_nanos(jiffies * (1_000_000_000 / HZ))
    }

    /// get_random_u32_below(bound) + 2 jiffies from now (igmp_start_timer and friends).
    fn random_deadline(&mut self, bound: u64) -> Instant {
        let delay = self.random.below(bound.max(1));
        self.after_jiffies(delay + 2)
    }
}

impl Interface {
    fn new(ifindex: u32, on_wire: bool, mtu: u32, settings: Settings) -> Interface {
        let mut interface = Interface {
            ifindex,
            on_wire,
            mtu,
            groups: Vec::new(),
            deleted: Vec::new(),
            robustness: settings.robustness,
            change_reports_left: 0,
            change_timer: None,
            general_query_timer: None,
            max_delay: 0,
            v1_seen_until: None,
            v2_seen_until: None,
        };
        // ip_mc_up: every interface joins all-hosts (never reported).
        interface.groups.push(Group::new(ALL_HOSTS, MCAST_EXCLUDE));
        interface
    }

    /// `in_dev->mr_qrv ?: sysctl_igmp_qrv`.
    fn robustness(&self, settings: Settings) -> u32 {
        if self.robustness != 0 {
            self.robustness
        } else {
            settings.robustness
        }
    }

    fn v1_seen(&self, context: &Context<'_>) -> bool {
        context.settings.force_version == 1
            || self.v1_seen_until.is_some_and(|until| context.now < until)
    }

    fn v2_seen(&self, context: &Context<'_>) -> bool {
        context.settings.force_version == 2
            || self.v2_seen_until.is_some_and(|until| context.now < until)
    }

    /// Groups this host reports (not all-hosts; link-local ones only if the sysctl says so).
    fn reported(group: Ipv4Addr, settings: Settings) -> bool {
        group != ALL_HOSTS && (settings.link_local_reports || !is_link_local(group))
    }

    fn position(&self, group: Ipv4Addr) -> Option<usize> {
        self.groups.iter().position(|g| g.address == group)
    }

    /// unsolicited_report_interval, in jiffies (at least 1).
    fn unsolicited_interval(&self, context: &Context<'_>) -> u64 {
        let ms = if self.v1_seen(context) || self.v2_seen(context) {
            context.settings.v2_interval_ms
        } else {
            context.settings.v3_interval_ms
        };
        msecs_to_jiffies(u64::from(ms)).max(1)
    }

    /// igmp_ifc_start_timer(in_dev, delay).
    fn start_change_timer(&mut self, context: &mut Context<'_>, delay: u64) {
        self.change_timer = Some(context.random_deadline(delay));
    }

    /// igmp_ifc_event: a state change; v3 only.
    fn change_event(&mut self, context: &mut Context<'_>) {
        if self.v1_seen(context) || self.v2_seen(context) {
            return;
        }
        self.change_reports_left = self.robustness(context.settings);
        self.start_change_timer(context, 1);
    }

    /// ____ip_mc_inc_group.
    fn inc_group(&mut self, context: &mut Context<'_>, group: Ipv4Addr, mode: u32) {
        if let Some(index) = self.position(group) {
            self.groups[index].users += 1;
            let _ = self.add_sources(context, group, mode, &[], false);
            return;
        }
        self.groups.insert(0, Group::new(group, mode));
        self.restore_deleted(context, 0);
        self.group_added(context, 0);
    }

    /// igmpv3_del_delrec: a group joined again takes back its deleted record.
    fn restore_deleted(&mut self, context: &Context<'_>, index: usize) {
        let address = self.groups[index].address;
        let Some(at) = self.deleted.iter().position(|d| d.address == address) else {
            return;
        };
        let mut record = self.deleted.remove(at);
        let robustness = self.robustness(context.settings);
        let group = &mut self.groups[index];
        if group.mode == MCAST_INCLUDE {
            core::mem::swap(&mut group.tomb, &mut record.tomb);
            core::mem::swap(&mut group.sources, &mut record.sources);
            for source in &mut group.sources {
                source.change_count = robustness;
            }
        } else {
            group.change_count = robustness;
        }
    }

    /// igmp_group_added.
    fn group_added(&mut self, context: &mut Context<'_>, index: usize) {
        let settings = context.settings;
        if !Self::reported(self.groups[index].address, settings) {
            return;
        }
        self.groups[index].unsolicit_count = settings.robustness;
        if self.v1_seen(context) || self.v2_seen(context) {
            self.groups[index].timer = Some(context.random_deadline(INITIAL_REPORT_DELAY));
            return;
        }
        // RFC 3376 5.1: a new INCLUDE (SSM) group is IN() → IN(A), no mode change record.
        if self.groups[index].mode == MCAST_EXCLUDE {
            self.groups[index].change_count = self.robustness(settings);
        }
        self.change_event(context);
    }

    /// ip_mc_dec_group.
    fn dec_group(&mut self, context: &mut Context<'_>, group: Ipv4Addr) {
        let Some(index) = self.position(group) else {
            return;
        };
        self.groups[index].users -= 1;
        if self.groups[index].users != 0 {
            return;
        }
        let mut dropped = self.groups.remove(index);
        self.group_dropped(context, &mut dropped);
    }

    /// igmp_group_dropped (the group is already off the list).
    fn group_dropped(&mut self, context: &mut Context<'_>, group: &mut Group) {
        if !Self::reported(group.address, context.settings) {
            return;
        }
        let reporter = group.reporter;
        group.timer = None;
        if self.v1_seen(context) {
            return;
        }
        if self.v2_seen(context) {
            if reporter {
                self.send_v2(context, message::V2_LEAVE_GROUP, group.address);
            }
            return;
        }
        let record = group.deleted_record(self.robustness(context.settings));
        self.deleted.insert(0, record);
        self.change_event(context);
    }

    /// ip_mc_add_src. Err(()) for a group not joined (the kernel's ESRCH, ignored by callers).
    fn add_sources(
        &mut self,
        context: &mut Context<'_>,
        group: Ipv4Addr,
        mode: u32,
        sources: &[Ipv4Addr],
        delta: bool,
    ) -> Result<(), ()> {
        let index = self.position(group).ok_or(())?;
        let robustness = self.robustness(context.settings);
        let qrv = self.robustness;
        let entry = &mut self.groups[index];
        entry.mark_state();
        let was_exclude = entry.mode == MCAST_EXCLUDE;
        if !delta {
            entry.mode_count[mode as usize] += 1;
        }
        for &address in sources {
            // ip_mc_add1_src: new sources go at the tail.
            let at = match entry.sources.iter().position(|s| s.address == address) {
                Some(at) => at,
                None => {
                    entry.sources.push(Source::new(address));
                    entry.sources.len() - 1
                }
            };
            entry.sources[at].count[mode as usize] += 1;
        }
        if was_exclude != (entry.mode_count[EXCLUDE] != 0) {
            // Filter mode change; with no filters at all the old mode stays for reports.
            if entry.mode_count[EXCLUDE] != 0 {
                entry.mode = MCAST_EXCLUDE;
            } else if entry.mode_count[INCLUDE] != 0 {
                entry.mode = MCAST_INCLUDE;
            }
            entry.change_count = robustness;
            for source in &mut entry.sources {
                source.change_count = 0;
            }
            self.change_reports_left = robustness;
            self.change_event(context);
        } else if entry.set_state(qrv) != 0 {
            self.change_event(context);
        }
        Ok(())
    }

    /// ip_mc_del_src.
    fn delete_sources(
        &mut self,
        context: &mut Context<'_>,
        group: Ipv4Addr,
        mode: u32,
        sources: &[Ipv4Addr],
        delta: bool,
    ) -> Result<(), ()> {
        let index = self.position(group).ok_or(())?;
        let robustness = self.robustness(context.settings);
        let qrv = self.robustness;
        let older_querier = self.v1_seen(context) || self.v2_seen(context);
        let entry = &mut self.groups[index];
        entry.mark_state();
        if !delta {
            if entry.mode_count[mode as usize] == 0 {
                return Err(());
            }
            entry.mode_count[mode as usize] -= 1;
        }
        let mut tombed = false;
        for &address in sources {
            // ip_mc_del1_src.
            let Some(at) = entry.sources.iter().position(|s| s.address == address) else {
                continue;
            };
            if entry.sources[at].count[mode as usize] == 0 {
                continue;
            }
            entry.sources[at].count[mode as usize] -= 1;
            if entry.sources[at].count == [0, 0] {
                let mut source = entry.sources.remove(at);
                if source.old_in && !older_querier {
                    source.change_count = robustness;
                    entry.tomb.insert(0, source);
                    tombed = true;
                }
            }
        }
        if entry.mode == MCAST_EXCLUDE
            && entry.mode_count[EXCLUDE] == 0
            && entry.mode_count[INCLUDE] != 0
        {
            entry.mode = MCAST_INCLUDE;
            entry.change_count = robustness;
            for source in &mut entry.sources {
                source.change_count = 0;
            }
            self.change_reports_left = robustness;
            self.change_event(context);
        } else if entry.set_state(qrv) != 0 || tombed {
            self.change_event(context);
        }
        Ok(())
    }

    /// ip_check_mc_rcu.
    fn accepts(&self, group: Ipv4Addr, source: Ipv4Addr, protocol: u8) -> bool {
        let Some(index) = self.position(group) else {
            return false;
        };
        if protocol == PROTOCOL || source.is_unspecified() {
            return true;
        }
        let entry = &self.groups[index];
        match entry.sources.iter().find(|s| s.address == source) {
            Some(s) => s.count[INCLUDE] != 0 || s.count[EXCLUDE] != entry.mode_count[EXCLUDE],
            None => entry.mode_count[EXCLUDE] != 0,
        }
    }

    // ----- reports -----------------------------------------------------------------------

    /// A finished message to `destination`, if this interface's reports reach the wire.
    fn emit(&self, context: &mut Context<'_>, destination: Ipv4Addr, bytes: Vec<u8>) {
        if self.on_wire {
            context.outbox.push((destination, bytes));
        }
    }

    /// igmp_send_report for the v1/v2 messages.
    fn send_v2(&self, context: &mut Context<'_>, message_type: u8, group: Ipv4Addr) {
        if is_link_local(group) && !context.settings.link_local_reports {
            return;
        }
        let destination = if message_type == message::V2_LEAVE_GROUP {
            ALL_ROUTERS
        } else {
            group
        };
        self.emit(
            context,
            destination,
            igmp::v2_message(message_type, group).to_vec(),
        );
    }

    /// add_grec: the record of `record_type` for `group` (a deleted record when
    /// `group_deleted`; from its tomb when `deleted`), split over packets as the MTU demands.
    fn add_record(
        reports: &mut Reports<'_>,
        group: &mut Group,
        record_type: u8,
        group_deleted: bool,
        deleted: bool,
        settings: Settings,
    ) {
        if !Self::reported(group.address, settings) || reports.mtu < MIN_MTU {
            return;
        }
        let is_query = matches!(
            record_type,
            record::MODE_IS_INCLUDE | record::MODE_IS_EXCLUDE
        );
        let truncate = matches!(
            record_type,
            record::MODE_IS_EXCLUDE | record::CHANGE_TO_EXCLUDE
        );
        let is_source_change = matches!(
            record_type,
            record::ALLOW_NEW_SOURCES | record::BLOCK_OLD_SOURCES
        );
        let mut total = 0;
        let mut count = 0u16;
        let mut record_open = false;
        let list_len = if deleted {
            group.tomb.len()
        } else {
            group.sources.len()
        };
        if list_len != 0 {
            // "EX and TO_EX get a fresh packet, if needed" (igmp_scount counts the sources).
            if truncate {
                let needed = igmp::GROUP_RECORD_HEADER_LEN
                    + 4 * group
                        .sources
                        .iter()
                        .filter(|s| group.includes(s, record_type, group_deleted, deleted))
                        .count();
                let has_records = reports
                    .current
                    .as_ref()
                    .is_some_and(|p| p.record_count() != 0);
                if has_records && reports.room() < needed {
                    reports.send();
                    reports.current = Some(reports.new_packet());
                }
            }
            let mut first = true;
            let mut index = 0;
            loop {
                let list = if deleted { &group.tomb } else { &group.sources };
                let Some(source) = list.get(index) else {
                    break;
                };
                if !group.includes(source, record_type, group_deleted, deleted) {
                    index += 1;
                    continue;
                }
                let change_count = source.change_count;
                let address = source.address;
                // RFC 3376 5.1: no source-list change records while the mode changes.
                let mode_changing = (group_deleted && group.mode == MCAST_EXCLUDE)
                    || (!group_deleted && group.change_count != 0);
                let skip = mode_changing && is_source_change && change_count != 0;
                if !skip {
                    if is_query {
                        let list = if deleted {
                            &mut group.tomb
                        } else {
                            &mut group.sources
                        };
                        list[index].query_response = false;
                    }
                    let header = if first {
                        igmp::GROUP_RECORD_HEADER_LEN
                    } else {
                        0
                    };
                    if reports.room() < 4 + header {
                        if truncate && !first {
                            break;
                        }
                        if record_open {
                            if let Some(packet) = reports.current.as_mut() {
                                packet.set_source_count(count);
                            }
                        }
                        reports.send();
                        reports.current = Some(reports.new_packet());
                        first = true;
                        count = 0;
                    }
                    if first {
                        first = false;
                        record_open = true;
                        reports.add_record(record_type, group.address);
                    }
                    // After the first source the record's packet is the current one.
                    let Some(packet) = reports.current.as_mut() else {
                        break;
                    };
                    packet.add_source(address);
                    count += 1;
                    total += 1;
                }
                if is_source_change && change_count != 0 {
                    let list = if deleted {
                        &mut group.tomb
                    } else {
                        &mut group.sources
                    };
                    list[index].change_count -= 1;
                    if (deleted || group_deleted) && list[index].change_count == 0 {
                        list.remove(index);
                        continue;
                    }
                }
                index += 1;
            }
        }
        if total == 0 {
            if is_source_change {
                return;
            }
            if group.change_count != 0 || is_query {
                if reports.current.is_some() && reports.room() < igmp::GROUP_RECORD_HEADER_LEN {
                    reports.send();
                }
                reports.add_record(record_type, group.address);
                record_open = true;
            }
        }
        if record_open {
            if let Some(packet) = reports.current.as_mut() {
                packet.set_source_count(count);
            }
        }
        if is_query {
            group.source_query = false;
        }
    }

    /// igmpv3_send_cr: the state-change report (deleted groups first, then every group's
    /// source changes and pending mode change).
    fn send_change_report(&mut self, context: &mut Context<'_>) {
        let settings = context.settings;
        let mut finished = Vec::new();
        let mut reports = Reports {
            current: None,
            finished: &mut finished,
            mtu: self.mtu,
        };
        let mut index = 0;
        while index < self.deleted.len() {
            let record = &mut self.deleted[index];
            if record.mode == MCAST_INCLUDE {
                let block = record::BLOCK_OLD_SOURCES;
                Self::add_record(&mut reports, record, block, true, false, settings);
                Self::add_record(&mut reports, record, block, true, true, settings);
            }
            if record.change_count != 0 {
                if record.mode == MCAST_EXCLUDE {
                    let to_include = record::CHANGE_TO_INCLUDE;
                    Self::add_record(&mut reports, record, to_include, true, false, settings);
                }
                record.change_count -= 1;
                if record.change_count == 0 {
                    clear_zeros(&mut record.tomb);
                    clear_zeros(&mut record.sources);
                }
            }
            if record.change_count == 0 && record.tomb.is_empty() && record.sources.is_empty() {
                self.deleted.remove(index);
            } else {
                index += 1;
            }
        }
        for group in &mut self.groups {
            let (kind, deleted_kind) = if group.mode_count[EXCLUDE] != 0 {
                (record::BLOCK_OLD_SOURCES, record::ALLOW_NEW_SOURCES)
            } else {
                (record::ALLOW_NEW_SOURCES, record::BLOCK_OLD_SOURCES)
            };
            Self::add_record(&mut reports, group, kind, false, false, settings);
            Self::add_record(&mut reports, group, deleted_kind, false, true, settings);
            if group.change_count != 0 {
                let kind = if group.mode == MCAST_EXCLUDE {
                    record::CHANGE_TO_EXCLUDE
                } else {
                    record::CHANGE_TO_INCLUDE
                };
                Self::add_record(&mut reports, group, kind, false, false, settings);
                group.change_count -= 1;
            }
        }
        reports.send();
        for bytes in finished {
            self.emit(context, ALL_V3_ROUTERS, bytes);
        }
    }

    /// igmpv3_send_report: current-state records for one group, or for all (general query).
    fn send_current_state(&mut self, context: &mut Context<'_>, only: Option<Ipv4Addr>) {
        let settings = context.settings;
        let mut finished = Vec::new();
        let mut reports = Reports {
            current: None,
            finished: &mut finished,
            mtu: self.mtu,
        };
        for group in &mut self.groups {
            if only.is_some_and(|address| address != group.address) {
                continue;
            }
            if only.is_none() && !Self::reported(group.address, settings) {
                continue;
            }
            let kind = if group.mode_count[EXCLUDE] != 0 {
                record::MODE_IS_EXCLUDE
            } else {
                record::MODE_IS_INCLUDE
            };
            Self::add_record(&mut reports, group, kind, false, false, settings);
        }
        reports.send();
        for bytes in finished {
            self.emit(context, ALL_V3_ROUTERS, bytes);
        }
    }

    // ----- timers ------------------------------------------------------------------------

    fn poll_at(&self) -> Option<Instant> {
        self.groups
            .iter()
            .filter_map(|g| g.timer)
            .chain(self.change_timer)
            .chain(self.general_query_timer)
            .min()
    }

    fn handle_timeout(&mut self, context: &mut Context<'_>) {
        let now = context.now;
        if self.change_timer.is_some_and(|at| at <= now) {
            // igmp_ifc_timer_expire.
            self.change_timer = None;
            self.send_change_report(context);
            if self.change_reports_left != 0 {
                self.change_reports_left -= 1;
                let interval = self.unsolicited_interval(context);
                self.start_change_timer(context, interval);
            }
        }
        if self.general_query_timer.is_some_and(|at| at <= now) {
            // igmp_gq_timer_expire.
            self.general_query_timer = None;
            self.send_current_state(context, None);
        }
        for index in 0..self.groups.len() {
            if self.groups[index].timer.is_none_or(|at| at > now) {
                continue;
            }
            // igmp_timer_expire.
            self.groups[index].timer = None;
            let group = &mut self.groups[index];
            if group.unsolicit_count != 0 {
                group.unsolicit_count -= 1;
                if group.unsolicit_count != 0 {
                    let interval = self.unsolicited_interval(context);
                    self.groups[index].timer = Some(context.random_deadline(interval));
                }
            }
            self.groups[index].reporter = true;
            let address = self.groups[index].address;
            if self.v1_seen(context) {
                self.send_v2(context, message::V1_MEMBERSHIP_REPORT, address);
            } else if self.v2_seen(context) {
                self.send_v2(context, message::V2_MEMBERSHIP_REPORT, address);
            } else {
                self.send_current_state(context, Some(address));
            }
        }
    }

    // ----- input -------------------------------------------------------------------------

    /// igmp_heard_query.
    fn heard_query(&mut self, context: &mut Context<'_>, query: &igmp::Message) {
        let mut group = query.group;
        let mut mark = false;
        let max_delay;
        let empty = Vec::new();
        let mut sources = &empty;
        if query.length == igmp::HEADER_LEN {
            if query.code == 0 {
                // "Alas, old v1 router presents here."
                max_delay = QUERY_RESPONSE_INTERVAL;
                self.v1_seen_until = Some(context.now + OLDER_QUERIER_PRESENT);
                group = Ipv4Addr::UNSPECIFIED;
            } else {
                max_delay = u64::from(query.code) * (HZ / TIMER_SCALE);
                self.v2_seen_until = Some(context.now + OLDER_QUERIER_PRESENT);
            }
            // Cancel the change reports and forget the deleted records.
            self.change_reports_left = 0;
            self.change_timer = None;
            self.deleted.clear();
            for entry in &mut self.groups {
                entry.tomb.clear();
            }
        } else if query.length < igmp::V3_QUERY_LEN {
            return;
        } else if self.v1_seen(context) {
            max_delay = QUERY_RESPONSE_INTERVAL;
            group = Ipv4Addr::UNSPECIFIED;
        } else if self.v2_seen(context) {
            max_delay =
                (u64::from(igmp::v3_max_response_tenths(query.code)) * (HZ / TIMER_SCALE)).max(1);
        } else {
            let Some(v3) = query.query.as_ref() else {
                return;
            };
            if v3.sources.len() < v3.announced_sources {
                return;
            }
            max_delay =
                (u64::from(igmp::v3_max_response_tenths(query.code)) * (HZ / TIMER_SCALE)).max(1);
            self.max_delay = max_delay;
            if v3.robustness != 0 {
                self.robustness = u32::from(v3.robustness);
            }
            if group.is_unspecified() {
                if !v3.sources.is_empty() {
                    return;
                }
                // igmp_gq_start_timer.
                let at = context.random_deadline(self.max_delay);
                if self
                    .general_query_timer
                    .is_some_and(|current| at >= current)
                {
                    return;
                }
                self.general_query_timer = Some(at);
                return;
            }
            mark = !v3.sources.is_empty();
            sources = &v3.sources;
        }
        let settings = context.settings;
        for index in 0..self.groups.len() {
            let entry = &mut self.groups[index];
            if !group.is_unspecified() && group != entry.address {
                continue;
            }
            if !Self::reported(entry.address, settings) {
                continue;
            }
            entry.source_query = if entry.timer.is_some() {
                entry.source_query && mark
            } else {
                mark
            };
            let changed = !entry.source_query || mark_sources(entry, sources);
            if changed {
                // igmp_mod_timer.
                entry.unsolicit_count = 0;
                let keep = entry.timer.is_some_and(|at| {
                    at.saturating_since(context.now) < jiffies_duration(max_delay)
                });
                if !keep {
                    let at = context.random_deadline(max_delay);
                    self.groups[index].timer = Some(at);
                }
            }
        }
    }

    /// igmp_heard_report: another member answered; ours is no longer needed.
    fn heard_report(&mut self, context: &Context<'_>, group: Ipv4Addr) {
        if !Self::reported(group, context.settings) {
            return;
        }
        if let Some(index) = self.position(group) {
            let entry = &mut self.groups[index];
            entry.timer = None;
            entry.reporter = false;
            entry.unsolicit_count = 0;
        }
    }
}

fn jiffies_duration(jiffies: u64) -> Duration {
    Duration::from_nanos(jiffies * (1_000_000_000 / HZ))
}

/// igmp_marksources / igmp_xmarksources: mark the sources a group-and-source query names.
/// False when none of them concerns us (no answer is due).
fn mark_sources(group: &mut Group, sources: &[Ipv4Addr]) -> bool {
    let mut count = 0;
    if group.mode == MCAST_EXCLUDE {
        for source in &group.sources {
            if count == sources.len() {
                break;
            }
            for address in sources {
                // Skip inactive filters.
                if source.count[INCLUDE] != 0 || group.mode_count[EXCLUDE] != source.count[EXCLUDE]
                {
                    break;
                }
                if *address == source.address {
                    count += 1;
                    break;
                }
            }
        }
        group.source_query = false;
        // "all sources excluded": no answer.
        return count != sources.len();
    }
    for source in &mut group.sources {
        if count == sources.len() {
            break;
        }
        if sources.contains(&source.address) {
            source.query_response = true;
            count += 1;
        }
    }
    if count == 0 {
        group.source_query = false;
        return false;
    }
    group.source_query = true;
    true
}

/// Counters of the IGMP code, for the exit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgmpCounters {
    /// Reports and leaves sent.
    pub reports_sent: u64,
    pub queries_received: u64,
    /// v1/v2 reports of other members heard on the link (they stop our own pending report).
    pub reports_heard: u64,
    /// Messages igmp_rcv takes and drops without acting: our own reports looped back, unicast
    /// reports, types it does not know (DVMRP, PIM, mtrace, v3 reports), and messages on an
    /// interface without IGMP state.
    pub ignored: u64,
    /// Truncated or with a bad checksum (igmp_rcv drops them).
    pub malformed: u64,
}

impl crate::counters::CounterSet for IgmpCounters {
    fn entries(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("reports_sent", self.reports_sent),
            ("queries_received", self.queries_received),
            ("reports_heard", self.reports_heard),
            ("ignored", self.ignored),
            ("malformed", self.malformed),
        ]
    }
}

/// The IGMP state of the host's interfaces.
#[derive(Debug)]
pub(crate) struct IgmpState {
    interfaces: Vec<Interface>,
    settings: Settings,
    random: Random,
    outbox: Vec<(Ipv4Addr, Vec<u8>)>,
    pub counters: IgmpCounters,
}

impl IgmpState {
    pub fn new(sysctls: &Sysctls, link_ifindex: u32, link_mtu: u32, seed: u64) -> IgmpState {
        let settings = Settings::from_sysctls(sysctls);
        IgmpState {
            interfaces: vec![
                Interface::new(
                    LOOPBACK_IFINDEX,
                    false,
                    super::route::LOOPBACK_MTU,
                    settings,
                ),
                Interface::new(link_ifindex, true, link_mtu, settings),
            ],
            settings,
            random: Random::new(seed ^ 0x6967_6d70),
            outbox: Vec::new(),
            counters: IgmpCounters::default(),
        }
    }

    fn interface_mut(&mut self, ifindex: u32) -> Option<(&mut Interface, Context<'_>)> {
        let interface = self.interfaces.iter_mut().find(|i| i.ifindex == ifindex)?;
        Some((
            interface,
            Context {
                now: Instant::ZERO,
                random: &mut self.random,
                settings: self.settings,
                outbox: &mut self.outbox,
            },
        ))
    }

    /// Applies one call of a socket's membership code to the interface it names.
    pub fn apply(&mut self, now: Instant, change: &HostChange) {
        let ifindex = match change {
            HostChange::Join { ifindex, .. }
            | HostChange::Leave { ifindex, .. }
            | HostChange::AddSources { ifindex, .. }
            | HostChange::DeleteSources { ifindex, .. } => *ifindex,
        };
        let Some((interface, mut context)) = self.interface_mut(ifindex) else {
            self.counters.ignored += 1;
            return;
        };
        context.now = now;
        match change {
            HostChange::Join { group, mode, .. } => {
                interface.inc_group(&mut context, *group, *mode)
            }
            HostChange::Leave { group, .. } => interface.dec_group(&mut context, *group),
            HostChange::AddSources {
                group,
                mode,
                sources,
                delta,
                ..
            } => {
                let _ = interface.add_sources(&mut context, *group, *mode, sources, *delta);
            }
            HostChange::DeleteSources {
                group,
                mode,
                sources,
                delta,
                ..
            } => {
                let _ = interface.delete_sources(&mut context, *group, *mode, sources, *delta);
            }
        }
    }

    /// ip_check_mc_rcu on interface `ifindex`.
    pub fn accepts(&self, ifindex: u32, group: Ipv4Addr, source: Ipv4Addr, protocol: u8) -> bool {
        self.interfaces
            .iter()
            .find(|i| i.ifindex == ifindex)
            .is_some_and(|i| i.accepts(group, source, protocol))
    }

    pub fn poll_at(&self) -> Option<Instant> {
        self.interfaces.iter().filter_map(Interface::poll_at).min()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        for index in 0..self.interfaces.len() {
            let mut context = Context {
                now,
                random: &mut self.random,
                settings: self.settings,
                outbox: &mut self.outbox,
            };
            self.interfaces[index].handle_timeout(&mut context);
        }
    }

    /// Sends the change report a pending retransmission timer would send, now: used when the
    /// host goes away (the process exits) before its timers can run.
    pub fn flush_changes(&mut self, now: Instant) {
        for index in 0..self.interfaces.len() {
            if self.interfaces[index].change_timer.is_none() {
                continue;
            }
            let mut context = Context {
                now,
                random: &mut self.random,
                settings: self.settings,
                outbox: &mut self.outbox,
            };
            self.interfaces[index].change_timer = None;
            self.interfaces[index].send_change_report(&mut context);
        }
    }

    /// igmp_rcv for a message that arrived on `ifindex`. `link_multicast`: the frame was
    /// link-layer multicast or broadcast (pkt_type); `looped`: our own output.
    pub fn receive(
        &mut self,
        now: Instant,
        ifindex: u32,
        bytes: &[u8],
        link_multicast: bool,
        looped: bool,
    ) {
        let Ok(message) = igmp::Message::parse(bytes) else {
            self.counters.malformed += 1;
            return;
        };
        let Some((interface, mut context)) = self.interface_mut(ifindex) else {
            self.counters.ignored += 1;
            return;
        };
        context.now = now;
        match message.message_type {
            message::MEMBERSHIP_QUERY => {
                interface.heard_query(&mut context, &message);
                self.counters.queries_received += 1;
            }
            // "Is it our report looped back?"; "don't rely on MC router hearing unicast
            // reports".
            message::V1_MEMBERSHIP_REPORT | message::V2_MEMBERSHIP_REPORT
                if !looped && link_multicast =>
            {
                interface.heard_report(&context, message.group);
                self.counters.reports_heard += 1;
            }
            _ => self.counters.ignored += 1,
        }
    }

    fn take_outbox(&mut self) -> Vec<(Ipv4Addr, Vec<u8>)> {
        core::mem::take(&mut self.outbox)
    }
}

impl Ipv4Layer {
    /// The interface-level calls a socket's membership change made (`HostChange`), in order.
    pub fn apply_multicast_changes(&mut self, now: Instant, changes: &[HostChange]) {
        self.tick(now);
        for change in changes {
            self.igmp.apply(now, change);
        }
        self.transmit_igmp();
    }

    /// The process is going away: what the pending change timers would report goes out now.
    pub fn flush_igmp(&mut self, now: Instant) {
        self.tick(now);
        self.igmp.flush_changes(now);
        self.transmit_igmp();
    }

    /// ip_check_mc_rcu: is this host a member of `group` on `ifindex`, for a datagram of
    /// `protocol` from `source` (its interface-level source filter)?
    pub fn accepts_multicast(
        &self,
        ifindex: u32,
        group: Ipv4Addr,
        source: Ipv4Addr,
        protocol: u8,
    ) -> bool {
        self.igmp.accepts(ifindex, group, source, protocol)
    }

    pub(super) fn igmp_poll_at(&self) -> Option<Instant> {
        self.igmp.poll_at()
    }

    pub(super) fn igmp_timeouts(&mut self, now: Instant) {
        self.igmp.handle_timeout(now);
        self.transmit_igmp();
    }

    /// IGMP handed up by ip_local_deliver (igmp_rcv).
    pub(super) fn receive_igmp(
        &mut self,
        now: Instant,
        inbound: &InboundDatagram<'_>,
        device: u32,
        looped: bool,
    ) {
        self.igmp
            .receive(now, device, inbound.payload, inbound.link_broadcast, looped);
        self.transmit_igmp();
    }

    /// igmpv3_newpack / igmp_send_report's IP header: TOS 0xc0, DF, TTL 1, id 0 (a DF
    /// datagram without a socket: ip_select_ident), the router alert option; sent to the
    /// group's MAC (ip_mc_output, arp_mc_map) and never looped back (the host is not a member
    /// of 224.0.0.22 or 224.0.0.2; a v1/v2 report to a joined group is, but igmp_rcv ignores
    /// our own reports).
    fn transmit_igmp(&mut self) {
        for (destination, message) in self.igmp.take_outbox() {
            let header = ipv4::Repr {
                src: self.iface.addr,
                dst: destination,
                protocol: PROTOCOL,
                tos: 0xc0,
                ident: 0,
                reserved_flag: false,
                dont_fragment: true,
                more_fragments: false,
                fragment_offset: 0,
                ttl: 1,
                options: Options::new(&ROUTER_ALERT).unwrap_or_default(),
                payload_len: message.len(),
            };
            let datagram = header.datagram(&message);
            self.igmp.counters.reports_sent += 1;
            self.push_frame(
                ethernet::ipv4_multicast_mac(destination),
                ethertype::IPV4,
                &datagram,
            );
        }
    }

    pub fn igmp_counters(&self) -> IgmpCounters {
        self.igmp.counters.clone()
    }
}

#[cfg(test)]
#[path = "igmp_tests.rs"]
mod tests;
