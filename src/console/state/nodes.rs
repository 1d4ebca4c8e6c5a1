//! What the console knows of the nodes: the services with each node's status tree and config
//! errors, and each node's health (last heard, link error) from which freshness is judged.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::agent::watch::HEARTBEAT_EVERY;
use crate::console::event::NodeEvent;
use crate::status::ServiceStatus;

/// A node is unreachable after this long without a heartbeat.
pub fn unreachable_after() -> Duration {
    HEARTBEAT_EVERY * 3
}

/// A node's status is stale when no probe round succeeded for this long.
pub fn stale_after() -> Duration {
    unreachable_after()
}

/// A node's health as the console knows it.
#[derive(Debug, Clone, Default)]
pub struct NodeHealth {
    /// Last record of any kind from the node.
    pub last_heard: Option<Instant>,
    /// Why the link is down, if it is.
    pub error: Option<String>,
    /// When the node's last probe round succeeded: the age shown as "updated Ns ago".
    pub last_probed: Option<Instant>,
    /// How often the node is probed when slower than drpilot's agent (an OpenSVC node).
    pub probe_every: Option<Duration>,
    /// The agent the node runs, when not drpilot (`opensvc2`).
    pub agent: Option<String>,
    /// Why the node's last probe round failed, if it did.
    pub probe_error: Option<String>,
    /// The node reports its probes (an older agent does not: its heartbeats vouch for them).
    reports_probes: bool,
}

/// Whether a node's trees can be trusted, and if not, why: what the screens show of a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshness {
    /// Current: the age of the last successful probe.
    Fresh(Duration),
    /// The node answers but its status could not be refreshed within the staleness limit.
    Stale {
        /// Age of the last successful probe (none: never).
        age: Option<Duration>,
        /// Why the probes fail.
        reason: String,
    },
    /// The node (or the link to it) is silent or down.
    Unreachable {
        /// Since the node was last heard from (none: never).
        age: Option<Duration>,
        /// Why the link is down, when known.
        reason: Option<String>,
    },
}

/// A service and its status on each node.
#[derive(Debug, Clone, Default)]
pub struct SvcEntry {
    /// The service's name, the key of the list.
    pub name: String,
    /// Production nodes.
    pub nodes: Vec<String>,
    /// DRP nodes.
    pub drpnodes: Vec<String>,
    /// Last status per node.
    pub status: BTreeMap<String, ServiceStatus>,
    /// Config errors per node.
    pub errors: BTreeMap<String, String>,
    /// A test bubble per node (a non-disruptive DRP test), and when it was last heard of.
    pub bubbles: BTreeMap<String, (crate::protocol::bubble::BubbleState, Instant)>,
}

impl SvcEntry {
    /// The production node shown on the left.
    pub fn prod(&self) -> Option<&str> {
        self.nodes.first().map(String::as_str)
    }

    /// The DRP node shown on the right.
    pub fn drp(&self) -> Option<&str> {
        self.drpnodes.first().map(String::as_str)
    }

    /// The node where the service runs, if one does.
    pub fn running_on(&self) -> Option<&str> {
        self.status
            .iter()
            .find(|(_, s)| s.avail.is_active())
            .map(|(n, _)| n.as_str())
    }
}

/// The services and the nodes being watched.
#[derive(Debug, Clone, Default)]
pub struct Nodes {
    /// Services, sorted by name.
    pub services: Vec<SvcEntry>,
    /// Nodes being watched, with their health.
    pub health: BTreeMap<String, NodeHealth>,
    /// Services asked for on the command line (empty: all).
    only: Vec<String>,
}

impl Nodes {
    /// No node yet; only the services in `only` are kept (all when empty).
    pub fn new(only: Vec<String>) -> Self {
        Self {
            only,
            ..Self::default()
        }
    }

    /// Marks a node as watched; false when it already was.
    pub fn watch(&mut self, node: &str) -> bool {
        if self.health.contains_key(node) {
            return false;
        }
        self.health.insert(node.to_string(), NodeHealth::default());
        true
    }

    /// Whether a node's status can be trusted now; `Err` says since when it cannot (the last
    /// successful probe when the node answers, the last word from it when it does not).
    pub fn freshness(&self, node: &str, now: Instant) -> Result<Duration, Option<Duration>> {
        match self.verdict(node, now) {
            Freshness::Fresh(a) => Ok(a),
            Freshness::Stale { age, .. } | Freshness::Unreachable { age, .. } => Err(age),
        }
    }

    /// How far a node's status can be trusted now, with the reason when it cannot.
    pub fn verdict(&self, node: &str, now: Instant) -> Freshness {
        let Some(h) = self.health.get(node) else {
            return Freshness::Unreachable {
                age: None,
                reason: None,
            };
        };
        let since = |t: Option<Instant>| t.map(|t| now.saturating_duration_since(t));
        let heard = since(h.last_heard);
        if h.error.is_some() || heard.is_none_or(|a| a > unreachable_after()) {
            return Freshness::Unreachable {
                age: heard,
                reason: h.error.clone(),
            };
        }
        // A polled node (an OpenSVC agent) is as fresh as its poll interval allows.
        let limit = stale_after().max(h.probe_every.map_or(Duration::ZERO, |e| e * 2));
        match since(h.last_probed) {
            Some(a) if a <= limit => Freshness::Fresh(a),
            age => Freshness::Stale {
                age,
                reason: h
                    .probe_error
                    .clone()
                    .unwrap_or_else(|| "its services could not be probed".to_string()),
            },
        }
    }

    fn wanted(&self, svc: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s == svc)
    }

    fn entry(&mut self, name: &str) -> &mut SvcEntry {
        let pos = match self
            .services
            .binary_search_by(|s| s.name.as_str().cmp(name))
        {
            Ok(i) => i,
            Err(i) => {
                self.services.insert(
                    i,
                    SvcEntry {
                        name: name.to_string(),
                        ..Default::default()
                    },
                );
                i
            }
        };
        &mut self.services[pos]
    }

    /// Applies what a node's watch task learnt; returns the nodes named by a service that are
    /// not watched yet (now marked as watched: the caller starts their tasks).
    pub fn on_event(&mut self, ev: NodeEvent, now: Instant) -> Vec<String> {
        let mut discovered = Vec::new();
        let node = match &ev {
            NodeEvent::Hello { node, .. }
            | NodeEvent::Status { node, .. }
            | NodeEvent::Heartbeat { node }
            | NodeEvent::Probe { node, .. }
            | NodeEvent::ServiceError { node, .. }
            | NodeEvent::Run { node, .. }
            | NodeEvent::Bubble { node, .. }
            | NodeEvent::Down { node, .. } => node.clone(),
        };
        let health = self.health.entry(node.clone()).or_default();
        if let NodeEvent::Down { reason, .. } = &ev {
            health.error = Some(reason.clone());
            return discovered;
        }
        health.error = None;
        health.last_heard = Some(now);
        match &ev {
            NodeEvent::Heartbeat { .. } if !health.reports_probes => {
                health.last_probed = Some(now);
            }
            NodeEvent::Probe {
                probed_ago,
                error,
                every,
                agent,
                ..
            } => {
                health.reports_probes = true;
                health.probe_every = *every;
                health.agent = agent.clone();
                if let Some(t) = probed_ago.and_then(|a| now.checked_sub(a)) {
                    health.last_probed = Some(health.last_probed.map_or(t, |p| p.max(t)));
                }
                health.probe_error = error.clone();
            }
            // A status was just probed: the node is current unless its probes are failing.
            NodeEvent::Status { .. } if health.probe_error.is_none() => {
                health.last_probed = Some(now);
            }
            _ => {}
        }
        match ev {
            NodeEvent::Hello { services, .. } => {
                let wanted: Vec<_> = services
                    .into_iter()
                    .filter(|s| self.wanted(&s.name))
                    .collect();
                for s in wanted {
                    for n in s.nodes.iter().chain(&s.drpnodes) {
                        if self.watch(n) {
                            discovered.push(n.clone());
                        }
                    }
                    let e = self.entry(&s.name);
                    e.nodes = s.nodes;
                    e.drpnodes = s.drpnodes;
                }
            }
            NodeEvent::Status { status, .. } if self.wanted(&status.service) => {
                let e = self.entry(&status.service);
                e.errors.remove(&node);
                e.status.insert(node, *status);
            }
            NodeEvent::ServiceError {
                service, message, ..
            } if self.wanted(&service) => {
                self.entry(&service).errors.insert(node, message);
            }
            NodeEvent::Bubble {
                service, bubble, ..
            } if self.wanted(&service) => {
                let e = self.entry(&service);
                match bubble {
                    Some(b) => {
                        e.bubbles.insert(node, (*b, now));
                    }
                    None => {
                        e.bubbles.remove(&node);
                    }
                }
            }
            _ => {}
        }
        discovered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(node: &str, ago: Option<u64>, error: Option<&str>) -> NodeEvent {
        NodeEvent::Probe {
            node: node.into(),
            every: None,
            agent: None,
            probed_ago: ago.map(Duration::from_secs),
            error: error.map(str::to_string),
        }
    }

    #[test]
    fn a_node_whose_probes_fail_turns_stale_with_the_reason_while_it_answers() {
        let t0 = Instant::now();
        let mut n = Nodes::new(Vec::new());
        n.on_event(probe("deb2", Some(0), None), t0);
        assert_eq!(n.verdict("deb2", t0), Freshness::Fresh(Duration::ZERO));
        n.on_event(probe("deb2", None, Some("the node's root /x is gone")), t0);
        let later = t0 + stale_after() + Duration::from_secs(1);
        n.on_event(
            NodeEvent::Heartbeat {
                node: "deb2".into(),
            },
            later,
        );
        n.on_event(
            probe("deb2", None, Some("the node's root /x is gone")),
            later,
        );
        match n.verdict("deb2", later) {
            Freshness::Stale { age, reason } => {
                assert_eq!(age, Some(stale_after() + Duration::from_secs(1)));
                assert!(reason.contains("is gone"), "{reason}");
            }
            other => panic!("not stale: {other:?}"),
        }
    }

    #[test]
    fn updated_is_the_age_of_the_last_successful_probe_not_of_the_heartbeat() {
        let t0 = Instant::now();
        let mut n = Nodes::new(Vec::new());
        let t = t0 + Duration::from_secs(10);
        n.on_event(probe("deb1", Some(3), None), t);
        assert_eq!(
            n.verdict("deb1", t),
            Freshness::Fresh(Duration::from_secs(3))
        );
    }

    #[test]
    fn an_agent_that_does_not_report_probes_is_fresh_on_its_heartbeat() {
        let t0 = Instant::now();
        let mut n = Nodes::new(Vec::new());
        n.on_event(
            NodeEvent::Heartbeat {
                node: "deb1".into(),
            },
            t0,
        );
        assert!(n.freshness("deb1", t0).is_ok());
    }
}
