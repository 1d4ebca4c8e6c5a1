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

/// A node's health as the console knows it.
#[derive(Debug, Clone, Default)]
pub struct NodeHealth {
    /// Last record of any kind from the node.
    pub last_heard: Option<Instant>,
    /// Why the link is down, if it is.
    pub error: Option<String>,
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

    /// Whether a node's status can be trusted now; `Err` says since when it cannot.
    pub fn freshness(&self, node: &str, now: Instant) -> Result<Duration, Option<Duration>> {
        let h = self.health.get(node);
        let age = h
            .and_then(|h| h.last_heard)
            .map(|t| now.saturating_duration_since(t));
        match (h.and_then(|h| h.error.as_ref()), age) {
            (None, Some(a)) if a <= unreachable_after() => Ok(a),
            (_, a) => Err(a),
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
            | NodeEvent::ServiceError { node, .. }
            | NodeEvent::Down { node, .. } => node.clone(),
        };
        let health = self.health.entry(node.clone()).or_default();
        if let NodeEvent::Down { reason, .. } = &ev {
            health.error = Some(reason.clone());
            return discovered;
        }
        health.error = None;
        health.last_heard = Some(now);
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
            _ => {}
        }
        discovered
    }
}
