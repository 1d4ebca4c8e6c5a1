//! The v3 agent's `om SVC instance status -r -o json`, mapped onto drpilot's status model like
//! v2's (`v2_status`): a list of instance states, one per node, of which the node's own is
//! read; avail and overall as the agent computed them; each resource's log entries as comments
//! without their level; frozen, provisioned and the monitor's state kept as reported (schema 2).
//! What both agents share is `words.rs`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::words::{service_status, Marks, Row};
use crate::status::{Reported, ServiceStatus, Status};

/// A resource's log entry.
#[derive(Debug, Deserialize)]
struct V3Log {
    #[serde(default)]
    message: String,
}

/// A resource's provisioned state.
#[derive(Debug, Deserialize)]
struct V3Provisioned {
    #[serde(default)]
    state: Option<String>,
}

/// One resource as v3 prints it (its booleans are left out when false).
#[derive(Debug, Deserialize)]
struct V3Resource {
    #[serde(default)]
    label: String,
    #[serde(default)]
    status: String,
    #[serde(rename = "type", default)]
    type_name: String,
    #[serde(default)]
    log: Vec<V3Log>,
    #[serde(default)]
    provisioned: Option<V3Provisioned>,
    /// The resource's booleans, the same in both agents.
    #[serde(flatten)]
    marks: Marks,
}

/// An instance's status.
#[derive(Debug, Deserialize)]
struct V3Status {
    avail: String,
    overall: String,
    #[serde(default)]
    frozen_at: Option<String>,
    #[serde(default)]
    provisioned: Option<String>,
    #[serde(default)]
    optional: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    resources: BTreeMap<String, V3Resource>,
}

#[derive(Debug, Deserialize)]
struct V3Node {
    #[serde(default)]
    name: String,
}

#[derive(Debug, Default, Deserialize)]
struct V3Monitor {
    #[serde(default)]
    state: Option<String>,
}

/// One element of the list: an instance of a service on a node.
#[derive(Debug, Deserialize)]
struct V3Instance {
    node: V3Node,
    status: V3Status,
    #[serde(default)]
    monitor: Option<V3Monitor>,
}

/// The zero time Go writes for "never" (`frozen_at` of an instance that is not frozen).
fn is_zero_time(t: &str) -> bool {
    t.starts_with("0001-01-01")
}

/// Maps v3's JSON for `service` on `node`; an error names what could not be read. The node's
/// own instance is read (the only one when the agent printed one; the agent may name the node
/// differently than the node map).
pub fn map(text: &str, service: &str, node: &str) -> Result<ServiceStatus, String> {
    let list: Vec<V3Instance> =
        serde_json::from_str(text).map_err(|e| format!("not a v3 instance status list: {e}"))?;
    let names: Vec<&str> = list.iter().map(|i| i.node.name.as_str()).collect();
    let inst = match list.iter().position(|i| i.node.name == node) {
        Some(at) => &list[at],
        None if list.len() == 1 => &list[0],
        None => {
            return Err(format!(
                "no instance of {service} on {node} in the agent's answer (it lists {})",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ))
        }
    };
    let monitor = inst.monitor.as_ref().and_then(|m| m.state.clone());
    map_status(&inst.status, monitor, service, node)
}

/// An instance status as v3 writes it in `instance status` and in its daemon's events, with
/// its monitor's state (which an event does not carry).
pub fn map_instance(
    status: serde_json::Value,
    monitor: Option<String>,
    service: &str,
    node: &str,
) -> Result<ServiceStatus, String> {
    let st: V3Status =
        serde_json::from_value(status).map_err(|e| format!("not a v3 instance status: {e}"))?;
    map_status(&st, monitor, service, node)
}

fn map_status(
    st: &V3Status,
    monitor: Option<String>,
    service: &str,
    node: &str,
) -> Result<ServiceStatus, String> {
    let rows = st
        .resources
        .iter()
        .map(|(rid, r)| Row {
            rid: rid.clone(),
            status: r.status.clone(),
            type_name: r.type_name.clone(),
            label: r.label.clone(),
            flags: r.marks.flags(),
            standby: r.marks.standby,
            comments: r.log.iter().map(|l| l.message.trim().to_string()).collect(),
            provisioned: r.provisioned.as_ref().and_then(|p| p.state.clone()),
        })
        .collect();
    let updated = st
        .updated_at
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        })
        .unwrap_or_default();
    let reported = Reported {
        frozen: st.frozen_at.as_deref().map(|t| !is_zero_time(t)),
        provisioned: st.provisioned.clone(),
        optional: st.optional.as_deref().and_then(Status::from_word),
        monitor,
    };
    service_status(
        service,
        node,
        updated,
        (&st.avail, &st.overall),
        rows,
        reported,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::SCHEMA_REPORTED;

    #[test]
    fn the_nodes_own_instance_is_read_and_another_nodes_list_is_refused() {
        let doc = r#"[{"node":{"name":"n2"},"status":{"avail":"down","overall":"down","resources":{}}},
                      {"node":{"name":"n1"},"status":{"avail":"up","overall":"warn",
                       "frozen_at":"2026-06-30T10:00:00Z","provisioned":"true",
                       "resources":{"fs#1":{"status":"up","type":"fs.flag",
                        "log":[{"level":"warn","message":"careful  "}],
                        "provisioned":{"state":"true"},"monitor":true}}},
                       "monitor":{"state":"idle"}}]"#;
        let st = map(doc, "svc1", "n1").unwrap();
        assert_eq!((st.avail, st.overall), (Status::Up, Status::Warn));
        assert_eq!(st.resources[0].comments, vec!["careful".to_string()]);
        assert!(st.resources[0].flags.monitored);
        assert_eq!(st.resources[0].provisioned.as_deref(), Some("true"));
        assert_eq!(st.reported.frozen, Some(true));
        assert_eq!(st.reported.monitor.as_deref(), Some("idle"));
        assert_eq!(st.schema, SCHEMA_REPORTED);
        let err = map(doc, "svc1", "n3").unwrap_err();
        assert!(err.contains("it lists n2, n1"), "{err}");
    }
}
