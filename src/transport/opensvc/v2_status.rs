//! The v2 agent's `print status -r --format json`, mapped onto drpilot's status model. The
//! agent's own verdicts are kept (avail and overall as it computed them, never recomputed with
//! drpilot's rules); what its JSON lacks comes from the command that was run (the service and
//! the node) or is drpilot's (the sync group, from the sync resources: v2 leaves optional
//! resources out of its group verdicts).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::words::{comment, service_status, Marks, Row};
use crate::status::{Reported, ServiceStatus, Status};

/// One resource as v2 prints it.
#[derive(Debug, Deserialize)]
struct V2Resource {
    #[serde(default)]
    label: String,
    #[serde(default)]
    status: String,
    #[serde(rename = "type", default)]
    type_name: String,
    #[serde(default)]
    log: Vec<String>,
    /// The resource's booleans, the same in both agents.
    #[serde(flatten)]
    marks: Marks,
    #[serde(default)]
    provisioned: Option<serde_json::Value>,
}

/// The part of v2's status document drpilot reads.
#[derive(Debug, Deserialize)]
struct V2Status {
    avail: String,
    overall: String,
    #[serde(default)]
    updated: Option<f64>,
    /// 0, or when it was frozen (seconds since the epoch).
    #[serde(default)]
    frozen: Option<f64>,
    #[serde(default)]
    provisioned: Option<serde_json::Value>,
    /// The merged status of the optional resources.
    #[serde(default)]
    optional: Option<String>,
    #[serde(default)]
    resources: BTreeMap<String, V2Resource>,
}

/// v2's `provisioned`: a boolean or a word (`mixed`, `n/a`), for a resource inside
/// `{"mtime": …, "state": …}`.
fn provisioned(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(o) => o.get("state").and_then(provisioned),
        _ => None,
    }
}

/// Maps v2's JSON for `service` on `node`; an error names what could not be read.
pub fn map(text: &str, service: &str, node: &str) -> Result<ServiceStatus, String> {
    let v2: V2Status =
        serde_json::from_str(text).map_err(|e| format!("not a v2 status document: {e}"))?;
    let rows = v2
        .resources
        .iter()
        .map(|(rid, r)| Row {
            rid: rid.clone(),
            status: r.status.clone(),
            type_name: r.type_name.clone(),
            label: r.label.clone(),
            flags: r.marks.flags(),
            standby: r.marks.standby,
            comments: r.log.iter().map(|l| comment(l)).collect(),
            provisioned: r.provisioned.as_ref().and_then(provisioned),
        })
        .collect();
    let updated = v2
        .updated
        .and_then(|t| chrono::DateTime::from_timestamp(t as i64, 0))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    let reported = Reported {
        frozen: v2.frozen.map(|t| t != 0.0),
        provisioned: v2.provisioned.as_ref().and_then(provisioned),
        optional: v2.optional.as_deref().and_then(Status::from_word),
        monitor: None,
    };
    service_status(
        service,
        node,
        updated,
        (&v2.avail, &v2.overall),
        rows,
        reported,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_prefixes_go_and_unknown_words_are_named() {
        assert_eq!(
            comment("info: not evaluated (instance not up)"),
            "not evaluated (instance not up)"
        );
        assert_eq!(comment("warn: deb2 need update"), "deb2 need update");
        let bad = r#"{"avail":"sideways","overall":"up","resources":{}}"#;
        assert!(map(bad, "demo", "deb1").unwrap_err().contains("'sideways'"));
    }
}
