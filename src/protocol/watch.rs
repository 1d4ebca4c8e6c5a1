//! The watch stream's records (`drpilot agent watch`): one JSON object per line, tagged by
//! `type`, read by every console from every node it watches.

use serde::{Deserialize, Serialize};

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
    /// A service's status, sent when it changed.
    Status {
        /// The status tree.
        status: Box<ServiceStatus>,
    },
    /// The node is alive.
    Heartbeat {
        /// The node's name.
        node: String,
        /// When (RFC 3339 UTC).
        ts: String,
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
            },
            WatchRecord::Heartbeat {
                node: "deb1".into(),
                ts: "2026-12-01T00:00:00Z".into(),
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
}
