//! The watch stream's records (`drpilot agent watch`): one JSON object per line, tagged by
//! `type`, read by every console from every node it watches.

use serde::{Deserialize, Serialize};

use crate::protocol::log::LogRecord;
use crate::status::ServiceStatus;

/// A service as a console needs to know it to find its nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceNodes {
    /// Service name.
    pub name: String,
    /// Production nodes.
    pub nodes: Vec<String>,
    /// DRP nodes.
    pub drpnodes: Vec<String>,
}

/// Why a status was probed: what lets a reader (and the benchmarks) tell an action's change,
/// pushed at once, from one found by the periodic probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeCause {
    /// The periodic probe (every second) found a change.
    Periodic,
    /// An action on the node said it changed the service (its change notice).
    Notified,
}

/// One record of the watch stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum WatchRecord {
    /// The node's services, sent first and whenever the set changes.
    Hello {
        /// The node's name.
        node: String,
        /// Its services.
        services: Vec<ServiceNodes>,
    },
    /// A service's status, sent when it changed, and after every change notice of an action.
    Status {
        /// The status tree.
        status: Box<ServiceStatus>,
        /// Why it was probed (absent from agents that did not say).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cause: Option<ProbeCause>,
    },
    /// The node is alive; says how old its last successful probe is, so a console can tell a
    /// node that answers from a node whose status is current.
    Heartbeat {
        /// The node's name.
        node: String,
        /// When (RFC 3339 UTC).
        ts: String,
        /// Milliseconds since the last probe round that succeeded (absent: never, or an agent
        /// from before probe failures were reported).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        probed_ms_ago: Option<u64>,
        /// Why the last probe round failed, when it did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        probe_error: Option<String>,
        /// How often the node is probed, when slower than drpilot's agent (an OpenSVC node is
        /// polled): its status is stale only past twice this.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        probe_every_ms: Option<u64>,
        /// The agent the node runs, when not drpilot (`opensvc2`), shown by the console.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent: Option<String>,
    },
    /// A probe failed: the node's root or config directory is gone (no `service`), or one
    /// service could not be probed. Sent when the failure starts or its reason changes.
    #[serde(rename = "probe_failed")]
    ProbeFailed {
        /// The node's name.
        node: String,
        /// The service whose probe failed; absent when the whole node could not be probed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<String>,
        /// What went wrong, in the operator's words.
        reason: String,
    },
    /// A line of an action run on the node (by anyone: a console, the CLI, a runbook), as its
    /// action log recorded it with who ran it.
    Action {
        /// The node's name.
        node: String,
        /// The record.
        record: LogRecord,
    },
    /// A service's run as this node knows it from its lease: sent when the lease changes, with
    /// every heartbeat while one is held, and once with no lease when it is released, so every
    /// console (read-only and wall included) shows who runs what, at which step, since when.
    Run {
        /// The node's name.
        node: String,
        /// The service.
        service: String,
        /// The lease, absent once the run released it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lease: Option<crate::protocol::run::LeaseView>,
    },
    /// A service's test bubble on this node (a non-disruptive DRP test): sent when it appears,
    /// changes or goes (then without `bubble`), and with every heartbeat while it lasts.
    Bubble {
        /// The node's name.
        node: String,
        /// The service.
        service: String,
        /// The bubble, absent once it is gone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bubble: Option<Box<crate::protocol::bubble::BubbleState>>,
    },
    /// A service could not be loaded (bad config): shown, never hidden.
    Error {
        /// Service name.
        service: String,
        /// What is wrong.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::aggregate;

    #[test]
    fn every_record_round_trips() {
        let services = vec![ServiceNodes {
            name: "busybox".into(),
            nodes: vec!["deb1".into()],
            drpnodes: vec!["deb2".into()],
        }];
        let st = aggregate(
            "busybox",
            "deb1",
            "2026-12-01T00:00:00Z".into(),
            Vec::new(),
            Vec::new(),
        );
        for rec in [
            WatchRecord::Hello {
                node: "deb1".into(),
                services,
            },
            WatchRecord::Status {
                status: Box::new(st),
                cause: Some(ProbeCause::Notified),
            },
            WatchRecord::Heartbeat {
                node: "deb1".into(),
                ts: "2026-12-01T00:00:00Z".into(),
                probed_ms_ago: Some(12),
                probe_error: None,
                probe_every_ms: None,
                agent: None,
            },
            WatchRecord::ProbeFailed {
                node: "deb2".into(),
                service: None,
                reason: "the node's root /lab/deb2 is gone".into(),
            },
            WatchRecord::Error {
                service: "web".into(),
                message: "bad line".into(),
            },
        ] {
            let line = serde_json::to_string(&rec).unwrap();
            assert_eq!(
                serde_json::from_str::<WatchRecord>(&line).unwrap(),
                rec,
                "{line}"
            );
        }
    }

    #[test]
    fn a_heartbeat_without_probe_fields_still_parses() {
        let old = r#"{"type":"heartbeat","node":"deb1","ts":"t"}"#;
        assert!(matches!(
            serde_json::from_str::<WatchRecord>(old).unwrap(),
            WatchRecord::Heartbeat {
                probed_ms_ago: None,
                probe_error: None,
                ..
            }
        ));
        let failed = r#"{"type":"probe_failed","node":"deb2","reason":"gone"}"#;
        assert!(matches!(
            serde_json::from_str::<WatchRecord>(failed).unwrap(),
            WatchRecord::ProbeFailed { service: None, .. }
        ));
    }
}
