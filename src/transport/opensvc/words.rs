//! What the OpenSVC agents (v2 and v3) share with drpilot's status model: the seven status
//! words, a resource's log entry as a comment without its level, and the tree's row order.

use serde::Deserialize;

use crate::status::{Flags, Reported, ResourceStatus, ServiceStatus, Status, SCHEMA_REPORTED};

/// A status word of the agent's (the same seven as drpilot's), or what it was when it is none.
pub fn word(w: &str) -> Result<Status, String> {
    Status::from_word(w).ok_or_else(|| format!("unknown status word '{w}'"))
}

/// A resource's log entry without its level prefix (`info: not evaluated (instance not up)`).
pub fn comment(entry: &str) -> String {
    for prefix in ["info: ", "warn: ", "warning: ", "error: "] {
        if let Some(rest) = entry.strip_prefix(prefix) {
            return rest.to_string();
        }
    }
    entry.to_string()
}

/// Orders rids as drpilot's tree does: by group in the tutorial's order, then by id.
pub fn order_key(rid: &str) -> (usize, String, u64, String) {
    let (kind, id) = rid.split_once('#').unwrap_or((rid, ""));
    let group = match crate::status::group_of(rid) {
        "ip" => 0,
        "disk" => 1,
        "fs" => 2,
        "share" => 3,
        "container" => 4,
        "app" => 5,
        "sync" => 6,
        _ => 7,
    };
    match id.parse::<u64>() {
        Ok(n) => (group, kind.to_string(), n, String::new()),
        Err(_) => (group, kind.to_string(), u64::MAX, id.to_string()),
    }
}

/// A resource's booleans as both agents write them (left out, or false, when not set).
#[derive(Debug, Default, Deserialize)]
pub struct Marks {
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    disable: bool,
    #[serde(default)]
    monitor: bool,
    #[serde(default)]
    encap: bool,
    /// A standby resource (it also says so with a `stdby` status).
    #[serde(default)]
    pub standby: bool,
}

impl Marks {
    /// drpilot's `MDOE` flags.
    pub fn flags(&self) -> Flags {
        Flags {
            monitored: self.monitor,
            disabled: self.disable,
            optional: self.optional,
            encap: self.encap,
        }
    }
}

/// One resource as an agent reports it, in drpilot's terms, its status still the agent's word.
pub struct Row {
    /// The resource id.
    pub rid: String,
    /// The agent's status word.
    pub status: String,
    /// The driver type.
    pub type_name: String,
    /// The label.
    pub label: String,
    /// The `MDOE` flags.
    pub flags: Flags,
    /// Whether the agent says it is a standby resource.
    pub standby: bool,
    /// Its log entries, without their levels.
    pub comments: Vec<String>,
    /// Its provisioned state, as the agent says it.
    pub provisioned: Option<String>,
}

/// What both agents' documents give, read into drpilot's status of `service` on `node`: the
/// rows in drpilot's tree order (an unknown status word is named), avail and overall as the
/// agent computed them, the sync group merged from the sync resources (the agents leave
/// optional resources out of their own group verdicts), no heartbeat, no replica age yet
/// (`replica.rs` adds it), and what only the agent reports (schema 2).
pub fn service_status(
    service: &str,
    node: &str,
    updated: String,
    (avail, overall): (&str, &str),
    mut rows: Vec<Row>,
    reported: Reported,
) -> Result<ServiceStatus, String> {
    rows.sort_by_key(|r| order_key(&r.rid));
    let mut resources = Vec::new();
    let mut sync = Status::NotApplicable;
    for r in rows {
        let status = word(&r.status).map_err(|e| format!("{}: {e}", r.rid))?;
        if crate::status::group_of(&r.rid) == "sync" {
            sync = sync.merge(status);
        }
        resources.push(ResourceStatus {
            standby: r.standby || matches!(status, Status::StdbyUp | Status::StdbyDown),
            rid: r.rid,
            type_name: r.type_name,
            label: r.label,
            status,
            flags: r.flags,
            comments: r.comments,
            provisioned: r.provisioned,
        });
    }
    Ok(ServiceStatus {
        schema: SCHEMA_REPORTED,
        service: service.to_string(),
        node: node.to_string(),
        updated,
        overall: word(overall).map_err(|e| format!("overall: {e}"))?,
        avail: word(avail).map_err(|e| format!("avail: {e}"))?,
        sync,
        hb: Status::NotApplicable,
        resources,
        syncs: Vec::new(),
        reported,
    })
}
