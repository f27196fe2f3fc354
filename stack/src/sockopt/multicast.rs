//! The multicast groups a socket joined and their source filters (inet->mc_list, struct
//! ip_mc_socklist and its ip_sf_socklist), with the rules of net/ipv4/igmp.c:
//! __ip_mc_join_group, ip_mc_leave_group, ip_mc_source, ip_mc_msfilter, ip_mc_msfget and
//! ip_mc_gsfget. Each function keeps the kernel's order of checks, so the errno precedence is
//! the kernel's too.
//!
//! The socket's state is kept here. Each change also records, in order, the calls the kernel
//! makes on the interface's group state (ip_mc_inc_group, ip_mc_dec_group, ip_mc_add_src,
//! ip_mc_del_src) as `HostChange`s; the stack hands them to the network layer's IGMP state
//! (`ipv4/igmp.rs`), which reports them on the wire.

use core::net::Ipv4Addr;

use crate::errno::Errno;

/// LOOPBACK_IFINDEX: `lo` is always interface 1.
pub const LOOPBACK_INDEX: u32 = 1;

/// Filter modes (uapi linux/in.h MCAST_EXCLUDE / MCAST_INCLUDE).
pub const MCAST_EXCLUDE: u32 = 0;
pub const MCAST_INCLUDE: u32 = 1;

/// What the membership rules need to know about the host's interfaces.
pub struct Devices<'a> {
    /// The interface the stack owns (besides `lo`).
    pub link_index: u32,
    pub link_address: Ipv4Addr,
    /// ip_route_output(group): the interface a route to `address` leaves by, if any.
    pub route_interface: &'a dyn Fn(Ipv4Addr) -> Option<u32>,
}

impl<'a> Devices<'a> {
    /// The stack's interface (`link_index`, holding `link_address`) besides `lo`, and the
    /// transport's route lookup.
    pub fn new(
        link_index: u32,
        link_address: Ipv4Addr,
        route_interface: &'a dyn Fn(Ipv4Addr) -> Option<u32>,
    ) -> Devices<'a> {
        Devices {
            link_index,
            link_address,
            route_interface,
        }
    }
}

impl Devices<'_> {
    /// dev_get_by_index: does interface `ifindex` exist? (Both of ours have IPv4, so this is
    /// also inetdev_by_index.)
    pub fn exists(&self, ifindex: u32) -> bool {
        ifindex == LOOPBACK_INDEX || ifindex == self.link_index
    }

    /// __ip_dev_find: the interface holding `address` as a local address (the local table
    /// makes all of 127/8 loopback's).
    pub fn interface_of_address(&self, address: Ipv4Addr) -> Option<u32> {
        if address == self.link_address {
            Some(self.link_index)
        } else if address.is_loopback() {
            Some(LOOPBACK_INDEX)
        } else {
            None
        }
    }

    /// ip_mc_find_dev: by index if one is given; else by the interface address; else by the
    /// route to the group. Returns the interface found, and the index the request resolves to
    /// (the kernel writes it back into the request: imr_ifindex).
    fn find(&self, request: &GroupRequest) -> (Option<u32>, u32) {
        if request.ifindex != 0 {
            let found = self.exists(request.ifindex).then_some(request.ifindex);
            return (found, request.ifindex);
        }
        let found = if request.address.is_unspecified() {
            (self.route_interface)(request.group)
        } else {
            self.interface_of_address(request.address)
        };
        (found, found.unwrap_or(0))
    }
}

/// struct ip_mreqn as the kernel handles it (ip_mreq has ifindex 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupRequest {
    pub group: Ipv4Addr,
    /// imr_address: the interface named by one of its addresses (0.0.0.0: none).
    pub address: Ipv4Addr,
    pub ifindex: u32,
}

/// One joined group (struct ip_mc_socklist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub group: Ipv4Addr,
    /// The imr_address the join named (kept as given, 0.0.0.0 included).
    pub address: Ipv4Addr,
    /// The interface the join resolved to.
    pub ifindex: u32,
    /// sfmode.
    pub filter_mode: u32,
    /// sflist: None until a source is first added (the kernel distinguishes "no list" from
    /// an emptied one when the mode changes).
    pub sources: Option<Vec<Ipv4Addr>>,
}

/// One call a socket-level membership function makes on the interface's group list
/// (net/ipv4/igmp.c), with the resolved interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostChange {
    /// ____ip_mc_inc_group(in_dev, group, mode).
    Join {
        ifindex: u32,
        group: Ipv4Addr,
        mode: u32,
    },
    /// ip_mc_dec_group(in_dev, group).
    Leave { ifindex: u32, group: Ipv4Addr },
    /// ip_mc_add_src(in_dev, group, mode, sources, delta).
    AddSources {
        ifindex: u32,
        group: Ipv4Addr,
        mode: u32,
        sources: Vec<Ipv4Addr>,
        delta: bool,
    },
    /// ip_mc_del_src(in_dev, group, mode, sources, delta).
    DeleteSources {
        ifindex: u32,
        group: Ipv4Addr,
        mode: u32,
        sources: Vec<Ipv4Addr>,
        delta: bool,
    },
}

/// inet->mc_list: newest join first, as the kernel links new entries at the head.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memberships {
    list: Vec<Membership>,
    /// The interface-level calls made since `take_host_changes` last ran.
    host_changes: Vec<HostChange>,
}

/// The limits of net.ipv4.igmp_max_memberships and net.ipv4.igmp_max_msf.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_memberships: u32,
    pub max_sources: u32,
}

impl Memberships {
    pub fn iter(&self) -> impl Iterator<Item = &Membership> {
        self.list.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The interface-level calls recorded since the last take, oldest first.
    pub fn take_host_changes(&mut self) -> Vec<HostChange> {
        core::mem::take(&mut self.host_changes)
    }

    /// ip_mc_drop_socket: the socket closes; every membership, newest first, leaves its
    /// sources (ip_mc_leave_src) and its group (ip_mc_dec_group).
    pub fn drop_all(&mut self) {
        for membership in core::mem::take(&mut self.list) {
            self.record_leave(&membership);
        }
    }

    /// `drop_all`, then the interface-level calls it made (with any not taken yet): what a
    /// transport hands to the network layer as the socket closes.
    pub fn leave_all(&mut self) -> Vec<HostChange> {
        self.drop_all();
        self.take_host_changes()
    }

    /// ip_mc_leave_src then ip_mc_dec_group for a membership being removed.
    fn record_leave(&mut self, membership: &Membership) {
        self.host_changes.push(HostChange::DeleteSources {
            ifindex: membership.ifindex,
            group: membership.group,
            mode: membership.filter_mode,
            sources: membership.sources.clone().unwrap_or_default(),
            delta: false,
        });
        self.host_changes.push(HostChange::Leave {
            ifindex: membership.ifindex,
            group: membership.group,
        });
    }

    fn position(&self, group: Ipv4Addr, ifindex: u32) -> Option<usize> {
        self.list
            .iter()
            .position(|m| m.group == group && m.ifindex == ifindex)
    }

    /// __ip_mc_join_group: EINVAL for a group that is not multicast, ENODEV when no interface
    /// is found, EADDRINUSE for a group already joined on that interface, ENOBUFS at
    /// igmp_max_memberships. Returns the interface joined.
    pub fn join(
        &mut self,
        request: &GroupRequest,
        filter_mode: u32,
        devices: &Devices<'_>,
        limits: Limits,
    ) -> Result<u32, Errno> {
        if !request.group.is_multicast() {
            return Err(Errno::EINVAL);
        }
        let (found, ifindex) = devices.find(request);
        if found.is_none() {
            return Err(Errno::ENODEV);
        }
        if self.position(request.group, ifindex).is_some() {
            return Err(Errno::EADDRINUSE);
        }
        if self.list.len() >= limits.max_memberships as usize {
            return Err(Errno::ENOBUFS);
        }
        self.list.insert(
            0,
            Membership {
                group: request.group,
                address: request.address,
                ifindex,
                filter_mode,
                sources: None,
            },
        );
        self.host_changes.push(HostChange::Join {
            ifindex,
            group: request.group,
            mode: filter_mode,
        });
        Ok(ifindex)
    }

    /// ip_mc_leave_group. No multicast check: a group never joined is EADDRNOTAVAIL, and
    /// ENODEV only when nothing at all names an interface.
    pub fn leave(&mut self, request: &GroupRequest, devices: &Devices<'_>) -> Result<(), Errno> {
        let (found, ifindex) = devices.find(request);
        if ifindex == 0 && request.address.is_unspecified() && found.is_none() {
            return Err(Errno::ENODEV);
        }
        let position = self.list.iter().position(|m| {
            if m.group != request.group {
                return false;
            }
            if ifindex != 0 {
                m.ifindex == ifindex
            } else {
                request.address.is_unspecified() || request.address == m.address
            }
        });
        match position {
            Some(index) => {
                let membership = self.list.remove(index);
                // "if (in_dev) ip_mc_dec_group(...)": with no interface found for the request
                // (an ip_mreqn naming an address that is not ours), the interface keeps the
                // group, as in the kernel.
                if found.is_some() {
                    self.record_leave(&membership);
                }
                Ok(())
            }
            None => Err(Errno::EADDRNOTAVAIL),
        }
    }

    /// ip_mc_source: add (`add`) or remove `source` in the filter of a joined group, in mode
    /// `filter_mode`. EINVAL: not multicast, not joined, or a non-empty filter of the other
    /// mode; ENODEV: no interface; EADDRNOTAVAIL: removing a source that is not there, or
    /// adding one that is; ENOBUFS: igmp_max_msf sources already.
    pub fn change_source(
        &mut self,
        add: bool,
        filter_mode: u32,
        request: &GroupRequest,
        source: Ipv4Addr,
        devices: &Devices<'_>,
        limits: Limits,
    ) -> Result<(), Errno> {
        if !request.group.is_multicast() {
            return Err(Errno::EINVAL);
        }
        let (found, ifindex) = devices.find(request);
        if found.is_none() {
            return Err(Errno::ENODEV);
        }
        let index = self.position(request.group, ifindex).ok_or(Errno::EINVAL)?;
        let membership = &mut self.list[index];
        if membership.sources.is_some() {
            if membership.filter_mode != filter_mode {
                return Err(Errno::EINVAL);
            }
        } else if membership.filter_mode != filter_mode {
            // "allow mode switches for empty-set filters": happens even if what follows fails.
            let old_mode = membership.filter_mode;
            membership.filter_mode = filter_mode;
            let (group, ifindex) = (membership.group, membership.ifindex);
            self.host_changes.push(HostChange::AddSources {
                ifindex,
                group,
                mode: filter_mode,
                sources: Vec::new(),
                delta: false,
            });
            self.host_changes.push(HostChange::DeleteSources {
                ifindex,
                group,
                mode: old_mode,
                sources: Vec::new(),
                delta: false,
            });
        }
        let membership = &mut self.list[index];
        if !add {
            let sources = membership.sources.as_mut().ok_or(Errno::EADDRNOTAVAIL)?;
            let at = sources
                .iter()
                .position(|&s| s == source)
                .ok_or(Errno::EADDRNOTAVAIL)?;
            // "special case - (INCLUDE, empty) == LEAVE_GROUP".
            if sources.len() == 1 && filter_mode == MCAST_INCLUDE {
                let leave = GroupRequest {
                    group: request.group,
                    address: request.address,
                    ifindex,
                };
                return self.leave(&leave, devices);
            }
            sources.remove(at);
            self.host_changes.push(HostChange::DeleteSources {
                ifindex,
                group: request.group,
                mode: filter_mode,
                sources: vec![source],
                delta: true,
            });
            return Ok(());
        }
        if membership
            .sources
            .as_ref()
            .is_some_and(|sources| sources.len() >= limits.max_sources as usize)
        {
            return Err(Errno::ENOBUFS);
        }
        let sources = membership.sources.get_or_insert_with(Vec::new);
        if sources.contains(&source) {
            return Err(Errno::EADDRNOTAVAIL);
        }
        sources.push(source);
        self.host_changes.push(HostChange::AddSources {
            ifindex,
            group: request.group,
            mode: filter_mode,
            sources: vec![source],
            delta: true,
        });
        Ok(())
    }

    /// ip_mc_msfilter: replace a joined group's filter. (INCLUDE, no sources) leaves the
    /// group. The sources are kept as given, duplicates and order included.
    pub fn set_filter(
        &mut self,
        request: &GroupRequest,
        filter_mode: u32,
        sources: &[Ipv4Addr],
        devices: &Devices<'_>,
    ) -> Result<(), Errno> {
        if !request.group.is_multicast() {
            return Err(Errno::EINVAL);
        }
        if filter_mode != MCAST_INCLUDE && filter_mode != MCAST_EXCLUDE {
            return Err(Errno::EINVAL);
        }
        let (found, ifindex) = devices.find(request);
        if found.is_none() {
            return Err(Errno::ENODEV);
        }
        let resolved = GroupRequest {
            ifindex,
            ..*request
        };
        if filter_mode == MCAST_INCLUDE && sources.is_empty() {
            return self.leave(&resolved, devices);
        }
        let index = self.position(request.group, ifindex).ok_or(Errno::EINVAL)?;
        let membership = &mut self.list[index];
        let old_mode = membership.filter_mode;
        let old_sources = membership.sources.take().unwrap_or_default();
        membership.sources = (!sources.is_empty()).then(|| sources.to_vec());
        membership.filter_mode = filter_mode;
        // ip_mc_msfilter: the new filter is added to the interface's before the old one is
        // deleted from it.
        self.host_changes.push(HostChange::AddSources {
            ifindex,
            group: request.group,
            mode: filter_mode,
            sources: sources.to_vec(),
            delta: false,
        });
        self.host_changes.push(HostChange::DeleteSources {
            ifindex,
            group: request.group,
            mode: old_mode,
            sources: old_sources,
            delta: false,
        });
        Ok(())
    }

    /// ip_mc_msfget (IP_MSFILTER's get): the filter of the group joined on the interface
    /// `request` names by address (or by route).
    pub fn filter_by_address(
        &self,
        request: &GroupRequest,
        devices: &Devices<'_>,
    ) -> Result<(u32, &[Ipv4Addr]), Errno> {
        if !request.group.is_multicast() {
            return Err(Errno::EINVAL);
        }
        let lookup = GroupRequest {
            ifindex: 0,
            ..*request
        };
        let (found, ifindex) = devices.find(&lookup);
        if found.is_none() {
            return Err(Errno::ENODEV);
        }
        self.filter_of(request.group, ifindex)
            .ok_or(Errno::EADDRNOTAVAIL)
    }

    /// ip_mc_gsfget (MCAST_MSFILTER's get): the filter of the group joined on exactly
    /// `ifindex`; no interface lookup.
    pub fn filter_by_index(
        &self,
        group: Ipv4Addr,
        ifindex: u32,
    ) -> Result<(u32, &[Ipv4Addr]), Errno> {
        if !group.is_multicast() {
            return Err(Errno::EINVAL);
        }
        self.filter_of(group, ifindex).ok_or(Errno::EADDRNOTAVAIL)
    }

    fn filter_of(&self, group: Ipv4Addr, ifindex: u32) -> Option<(u32, &[Ipv4Addr])> {
        let membership = &self.list[self.position(group, ifindex)?];
        let sources = membership.sources.as_deref().unwrap_or(&[]);
        Some((membership.filter_mode, sources))
    }

    /// ip_mc_sf_allow (UDP's multicast delivery, `udp/deliver.rs`): does this socket want a
    /// datagram from `source` to `group` arriving on `ifindex`? (`all`: IP_MULTICAST_ALL,
    /// the answer for a group the socket did not join.)
    pub fn accepts(&self, group: Ipv4Addr, source: Ipv4Addr, ifindex: u32, all: bool) -> bool {
        let Some(membership) = self
            .list
            .iter()
            .find(|m| m.group == group && m.ifindex == ifindex)
        else {
            return all;
        };
        let listed = membership
            .sources
            .as_ref()
            .is_some_and(|sources| sources.contains(&source));
        if membership.filter_mode == MCAST_INCLUDE {
            listed
        } else {
            !listed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: u32 = 2;
    const LINK_ADDRESS: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
    const GROUP: Ipv4Addr = Ipv4Addr::new(239, 1, 2, 3);
    const LIMITS: Limits = Limits {
        max_memberships: 20,
        max_sources: 10,
    };

    fn with_devices<T>(routed: bool, body: impl FnOnce(&Devices<'_>) -> T) -> T {
        let route = move |_: Ipv4Addr| routed.then_some(LINK);
        let devices = Devices {
            link_index: LINK,
            link_address: LINK_ADDRESS,
            route_interface: &route,
        };
        body(&devices)
    }

    fn by_route(group: Ipv4Addr) -> GroupRequest {
        GroupRequest {
            group,
            address: Ipv4Addr::UNSPECIFIED,
            ifindex: 0,
        }
    }

    #[test]
    fn join_rules_and_their_errno() {
        with_devices(true, |devices| {
            let mut set = Memberships::default();
            let unicast = by_route(Ipv4Addr::new(198, 18, 0, 1));
            assert_eq!(
                set.join(&unicast, MCAST_EXCLUDE, devices, LIMITS),
                Err(Errno::EINVAL)
            );
            assert_eq!(
                set.join(&by_route(GROUP), MCAST_EXCLUDE, devices, LIMITS),
                Ok(LINK)
            );
            assert_eq!(
                set.join(&by_route(GROUP), MCAST_EXCLUDE, devices, LIMITS),
                Err(Errno::EADDRINUSE)
            );
            // The same group by the interface's index or address is the same membership.
            let by_index = GroupRequest {
                ifindex: LINK,
                ..by_route(GROUP)
            };
            assert_eq!(
                set.join(&by_index, MCAST_EXCLUDE, devices, LIMITS),
                Err(Errno::EADDRINUSE)
            );
            // On loopback it is another one.
            let on_loopback = GroupRequest {
                address: Ipv4Addr::LOCALHOST,
                ..by_route(GROUP)
            };
            assert_eq!(
                set.join(&on_loopback, MCAST_EXCLUDE, devices, LIMITS),
                Ok(1)
            );
            let unknown = GroupRequest {
                ifindex: 77,
                ..by_route(GROUP)
            };
            assert_eq!(
                set.join(&unknown, MCAST_EXCLUDE, devices, LIMITS),
                Err(Errno::ENODEV)
            );
            let not_ours = GroupRequest {
                address: Ipv4Addr::new(198, 18, 0, 9),
                ..by_route(GROUP)
            };
            assert_eq!(
                set.join(&not_ours, MCAST_EXCLUDE, devices, LIMITS),
                Err(Errno::ENODEV)
            );
        });
        with_devices(false, |devices| {
            let mut set = Memberships::default();
            assert_eq!(
                set.join(&by_route(GROUP), MCAST_EXCLUDE, devices, LIMITS),
                Err(Errno::ENODEV)
            );
            assert_eq!(set.leave(&by_route(GROUP), devices), Err(Errno::ENODEV));
        });
    }

    #[test]
    fn membership_limit_is_enobufs() {
        with_devices(true, |devices| {
            let mut set = Memberships::default();
            for n in 0..20u8 {
                let group = Ipv4Addr::new(239, 0, 0, n);
                assert!(set
                    .join(&by_route(group), MCAST_EXCLUDE, devices, LIMITS)
                    .is_ok());
            }
            let one_more = by_route(Ipv4Addr::new(239, 0, 1, 0));
            assert_eq!(
                set.join(&one_more, MCAST_EXCLUDE, devices, LIMITS),
                Err(Errno::ENOBUFS)
            );
            // A duplicate is still EADDRINUSE at the limit.
            assert_eq!(
                set.join(
                    &by_route(Ipv4Addr::new(239, 0, 0, 3)),
                    MCAST_EXCLUDE,
                    devices,
                    LIMITS
                ),
                Err(Errno::EADDRINUSE)
            );
        });
    }

    #[test]
    fn sources_and_filters() {
        with_devices(true, |devices| {
            let mut set = Memberships::default();
            let source = Ipv4Addr::new(198, 18, 0, 1);
            let request = by_route(GROUP);
            // No prior join.
            assert_eq!(
                set.change_source(true, MCAST_EXCLUDE, &request, source, devices, LIMITS),
                Err(Errno::EINVAL)
            );
            set.join(&request, MCAST_EXCLUDE, devices, LIMITS).unwrap();
            set.change_source(true, MCAST_EXCLUDE, &request, source, devices, LIMITS)
                .unwrap();
            assert_eq!(
                set.change_source(true, MCAST_EXCLUDE, &request, source, devices, LIMITS),
                Err(Errno::EADDRNOTAVAIL)
            );
            // A non-empty EXCLUDE filter refuses INCLUDE changes.
            assert_eq!(
                set.change_source(true, MCAST_INCLUDE, &request, source, devices, LIMITS),
                Err(Errno::EINVAL)
            );
            assert!(!set.accepts(GROUP, source, LINK, true));
            assert!(set.accepts(GROUP, Ipv4Addr::new(1, 2, 3, 4), LINK, true));
            set.change_source(false, MCAST_EXCLUDE, &request, source, devices, LIMITS)
                .unwrap();
            assert_eq!(
                set.filter_by_index(GROUP, LINK),
                Ok((MCAST_EXCLUDE, &[][..]))
            );
            // Filters: INCLUDE with sources, then INCLUDE empty leaves.
            set.set_filter(&request, MCAST_INCLUDE, &[source, source], devices)
                .unwrap();
            assert_eq!(
                set.filter_by_address(&request, devices),
                Ok((MCAST_INCLUDE, &[source, source][..]))
            );
            set.set_filter(&request, MCAST_INCLUDE, &[], devices)
                .unwrap();
            assert!(set.is_empty());
            assert_eq!(
                set.set_filter(&request, MCAST_INCLUDE, &[], devices),
                Err(Errno::EADDRNOTAVAIL)
            );
        });
    }

    #[test]
    fn removing_the_last_included_source_leaves() {
        with_devices(true, |devices| {
            let mut set = Memberships::default();
            let source = Ipv4Addr::new(198, 18, 0, 1);
            let request = by_route(GROUP);
            set.join(&request, MCAST_INCLUDE, devices, LIMITS).unwrap();
            set.change_source(true, MCAST_INCLUDE, &request, source, devices, LIMITS)
                .unwrap();
            set.change_source(false, MCAST_INCLUDE, &request, source, devices, LIMITS)
                .unwrap();
            assert!(set.is_empty());
        });
    }
}
