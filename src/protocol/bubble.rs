//! What a node holds of a non-disruptive DRP test's bubble: `drpilot svc SVC bubblestatus`
//! prints it as JSON, the runbook's preflight and report read it, `bubbleclone` keeps its part on
//! the node.

use serde::{Deserialize, Serialize};

use crate::status::ServiceStatus;

/// One replica cloned for the test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloneInfo {
    /// The data sync whose replica was cloned.
    pub rid: String,
    /// When that replica last completed a sync (RFC 3339); `None` when it never did.
    pub replica_synced_at: Option<String>,
}

/// A node's test bubble.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BubbleState {
    /// Something of a bubble is on the node (its directory): a test runs, was kept, or was left.
    pub exists: bool,
    /// The process holding its namespaces runs.
    pub running: bool,
    /// When the clone was taken (RFC 3339).
    pub cloned_at: Option<String>,
    /// The replicas cloned.
    pub clones: Vec<CloneInfo>,
    /// Seconds between the oldest replica's last sync and the clone: the test's RPO.
    pub rpo_s: Option<i64>,
    /// Bytes a clone of every replica takes (a copy where the filesystem cannot share blocks).
    pub needed_bytes: u64,
    /// Free bytes where the clone goes.
    pub free_bytes: u64,
    /// The service's status inside the bubble, while it runs.
    pub inside: Option<ServiceStatus>,
}
