//! The status report data: what the agent computes, `print status` renders and the JSON carries.

use serde::{Deserialize, Serialize};

use super::{Flags, Status};

/// Version of the JSON document drpilot's agent writes; see docs/status-json.md for the policy.
pub const SCHEMA_VERSION: u32 = 1;

/// Version of a document mapped from another agent's status (OpenSVC), which may carry the
/// fields only that agent reports ([`Reported`], [`ResourceStatus::provisioned`]). drpilot's
/// own agent keeps writing [`SCHEMA_VERSION`], so a peer not yet upgraded still reads it.
pub const SCHEMA_REPORTED: u32 = 2;

/// What another agent (OpenSVC) says of a service that drpilot's agent does not compute:
/// kept as it said it, shown, never used for a decision. Empty for drpilot's own statuses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reported {
    /// The service is frozen on the node (its orchestration stands still).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frozen: Option<bool>,
    /// Whether its resources are provisioned: `true`, `false`, `mixed`, `n/a`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned: Option<String>,
    /// The merged status of its optional resources, as the agent computed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<Status>,
    /// The agent's monitor state for the service on the node (`idle`, `starting`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<String>,
}

/// One resource's line in the report, with the reasons behind a non-up status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceStatus {
    /// Resource id from the config section name, e.g. `fs#1`, `sync#i0`.
    pub rid: String,
    /// Driver type, e.g. `fs.ext4`, `sync.dir`, `container.docker`, `ip`.
    #[serde(rename = "type")]
    pub type_name: String,
    /// What the resource is, as shown after the status word (`vglocaldeb1`, `dev@mnt`, ...).
    pub label: String,
    /// The resource's own status.
    pub status: Status,
    /// The `MDOE` flags.
    pub flags: Flags,
    /// True when the resource is `always_on` this node (it reports `stdby up`/`stdby down`).
    pub standby: bool,
    /// Reasons for the status, printed as `# ...` lines; every non-up status should have one.
    pub comments: Vec<String>,
    /// Whether another agent (OpenSVC) reports the resource provisioned (`true`, `false`,
    /// `n/a`); drpilot's agent does not say (schema 2, [`SCHEMA_REPORTED`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned: Option<String>,
}

/// Replication freshness of one sync resource, for the console's RPO view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncInfo {
    /// The sync resource id, e.g. `sync#1`.
    pub rid: String,
    /// End of the last successful sync, RFC 3339 UTC; `None` when it never ran.
    pub last_sync: Option<String>,
    /// Allowed age of the last sync before the resource turns `warn`, in seconds.
    pub max_delay_s: u64,
}

/// A service's full status on one node: group statuses plus ordered resource rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceStatus {
    /// JSON schema version, [`SCHEMA_VERSION`].
    pub schema: u32,
    /// Service name, the first line of `print status`.
    pub service: String,
    /// Node that computed this status.
    pub node: String,
    /// When it was computed, RFC 3339 UTC.
    pub updated: String,
    /// Availability merged with heartbeat and sync health.
    pub overall: Status,
    /// Merge of every resource that is neither sync nor hb.
    pub avail: Status,
    /// Merge of the sync resources (`n/a` when there are none).
    pub sync: Status,
    /// Merge of the heartbeat resources (`n/a` when there are none).
    pub hb: Status,
    /// Resource rows in display order (see [`super::aggregate`]).
    pub resources: Vec<ResourceStatus>,
    /// Replication freshness per sync resource.
    pub syncs: Vec<SyncInfo>,
    /// What another agent reports that drpilot does not compute (schema 2 only).
    #[serde(flatten)]
    pub reported: Reported,
}
