//! Each service's runbook run as the nodes' leases say, so every console (read-only and wall
//! included, this console's own run too) shows who runs what, at which step, since when. A node
//! reports how long ago the holder renewed in its own clock; the console adds how long ago it
//! heard that, in its own monotonic clock, and never compares the two machines' clocks. Across
//! a service's nodes the freshest renewal wins; a node that stopped streaming leaves its view
//! aging, so a silent run can never look current.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::protocol::run::{Lease, LeaseView};

/// What one node last said of a service's run, and when the console heard it.
#[derive(Debug, Clone, PartialEq)]
struct NodeView {
    /// The lease (`None`: the node released it).
    lease: Option<LeaseView>,
    /// When the console received it.
    received: Instant,
}

impl NodeView {
    /// How long ago the holder renewed (or the node released) as of `now`.
    fn age(&self, now: Instant) -> Duration {
        let heard = now.saturating_duration_since(self.received);
        match &self.lease {
            Some(l) => heard + Duration::from_millis(l.renewed_ms_ago),
            None => heard,
        }
    }
}

/// How far a run shown can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Its holder renews the lease and a node said so recently.
    Running,
    /// No node has told the console about it for longer than a node's silence limit: it may
    /// have moved on or ended (the age keeps growing).
    Unheard,
    /// Its holder stopped renewing for longer than the lease's time to live: the run can be
    /// taken over.
    Expired,
}

/// A service's run as shown now: the freshest node's lease with its ages.
#[derive(Debug, Clone, PartialEq)]
pub struct RunShown<'a> {
    /// The service.
    pub service: &'a str,
    /// The lease.
    pub lease: &'a Lease,
    /// The node whose view this is.
    pub node: &'a str,
    /// Since the holder last renewed it.
    pub renewed: Duration,
    /// Since the console last heard of it from that node.
    pub heard: Duration,
    /// Running, unheard or expired.
    pub state: RunState,
}

/// The runs of every service, per node.
#[derive(Debug, Clone, Default)]
pub struct Runs {
    views: BTreeMap<String, BTreeMap<String, NodeView>>,
}

impl Runs {
    /// Records what `node` says of `service`'s run at `now`.
    pub fn on_view(&mut self, node: &str, service: &str, lease: Option<LeaseView>, now: Instant) {
        self.views.entry(service.to_string()).or_default().insert(
            node.to_string(),
            NodeView {
                lease,
                received: now,
            },
        );
    }

    /// The lease of `service`'s run some node last spoke of (the takeover gate names it; its
    /// holder's freshness is judged by the nodes when the takeover asks them).
    pub fn lease_of(&self, service: &str) -> Option<&Lease> {
        self.views
            .get(service)?
            .values()
            .filter_map(|v| v.lease.as_ref())
            .max_by_key(|l| l.lease.renewed.clone())
            .map(|l| &l.lease)
    }

    /// `service`'s run as shown at `now`: the view of its node that heard from the holder
    /// last; none when that node released the lease, or no node ever had one.
    pub fn shown(&self, service: &str, now: Instant) -> Option<RunShown<'_>> {
        let (service, nodes) = self.views.get_key_value(service)?;
        let (node, view) = nodes.iter().min_by_key(|(_, v)| v.age(now))?;
        let lv = view.lease.as_ref()?;
        let renewed = view.age(now);
        let heard = now.saturating_duration_since(view.received);
        let state = if lv.expired || renewed > Duration::from_secs(lv.lease.ttl_s) {
            RunState::Expired
        } else if heard > super::nodes::unreachable_after() {
            RunState::Unheard
        } else {
            RunState::Running
        };
        Some(RunShown {
            service,
            lease: &lv.lease,
            node,
            renewed,
            heard,
            state,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::protocol::journal::Mode;
    use crate::protocol::run::Holder;

    /// A lease of busybox's rehearsal by alice, at step `index` of 7, renewed `ago_ms` ago.
    pub(crate) fn view(index: u32, step: &str, ago_ms: u64, expired: bool) -> LeaseView {
        LeaseView {
            lease: Lease {
                svc: "busybox".into(),
                run: "busybox-20261201T101010Z-00af".into(),
                mode: Mode::Rehearsal,
                holder: Holder {
                    user: "alice".into(),
                    host: "laptop".into(),
                    pid: 4242,
                    seat: "laptop:4242:1a2b".into(),
                },
                step: Some(step.into()),
                index,
                total: 7,
                started: "2026-11-24T16:57:47Z".into(),
                renewed: "2026-11-24T16:59:57Z".into(),
                ttl_s: 30,
            },
            renewed_ms_ago: ago_ms,
            expired,
        }
    }

    #[test]
    fn the_freshest_renewal_across_the_nodes_wins() {
        let t0 = Instant::now();
        let mut r = Runs::default();
        r.on_view(
            "deb1",
            "busybox",
            Some(view(3, "syncupdate", 4000, false)),
            t0,
        );
        r.on_view(
            "deb2",
            "busybox",
            Some(view(4, "stop_production", 500, false)),
            t0,
        );
        let s = r.shown("busybox", t0).unwrap();
        assert_eq!((s.node, s.lease.index), ("deb2", 4));
        assert_eq!(s.renewed, Duration::from_millis(500));
        assert_eq!(s.state, RunState::Running);
        assert!(r.shown("other", t0).is_none());
    }

    #[test]
    fn a_view_ages_by_the_time_since_it_was_received_and_turns_unheard_never_stale_green() {
        let t0 = Instant::now();
        let mut r = Runs::default();
        r.on_view(
            "deb1",
            "busybox",
            Some(view(4, "stop_production", 3000, false)),
            t0,
        );
        let later = t0 + Duration::from_secs(10);
        let s = r.shown("busybox", later).unwrap();
        assert_eq!(s.renewed, Duration::from_secs(13));
        assert_eq!(s.heard, Duration::from_secs(10));
        assert_eq!(s.state, RunState::Unheard, "the nodes went silent");
        // Past the lease's time to live without a word, it reads as expired.
        let s = r.shown("busybox", t0 + Duration::from_secs(28)).unwrap();
        assert_eq!(s.state, RunState::Expired);
    }

    #[test]
    fn a_lease_the_node_says_expired_shows_expired() {
        let t0 = Instant::now();
        let mut r = Runs::default();
        r.on_view(
            "deb1",
            "busybox",
            Some(view(4, "stop_production", 45_000, true)),
            t0,
        );
        let s = r.shown("busybox", t0).unwrap();
        assert_eq!(s.state, RunState::Expired);
        assert_eq!(s.renewed, Duration::from_secs(45));
    }

    #[test]
    fn a_released_lease_clears_the_run_even_when_a_silent_node_still_holds_an_older_view() {
        let t0 = Instant::now();
        let mut r = Runs::default();
        r.on_view("deb1", "busybox", Some(view(7, "verify", 1000, false)), t0);
        r.on_view("deb2", "busybox", Some(view(7, "verify", 1000, false)), t0);
        let t1 = t0 + Duration::from_secs(2);
        r.on_view("deb1", "busybox", None, t1);
        assert!(r.shown("busybox", t1).is_none(), "released on deb1");
        assert!(r.shown("busybox", t1 + Duration::from_secs(60)).is_none());
        // A new run renewed after the release shows again.
        let t2 = t1 + Duration::from_secs(5);
        r.on_view(
            "deb2",
            "busybox",
            Some(view(1, "preflight", 100, false)),
            t2,
        );
        assert_eq!(r.shown("busybox", t2).unwrap().lease.index, 1);
    }
}
