//! The v3 agent's daemon event stream, followed for a node's watch: `om daemon events --filter
//! InstanceStatusUpdated[,path=SVC] -o json` writes one JSON event per line, each carrying a
//! whole instance status. Only this node's own instances count (a peer's, which the daemon
//! relays labelled `from=peer`, is that peer's to tell), of the services the watch knows.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::status::ServiceStatus;

/// The command that follows the statuses of `services` (all services when empty).
pub fn command(services: &[String]) -> Vec<String> {
    let mut argv = vec!["daemon".to_string(), "events".to_string()];
    if services.is_empty() {
        argv.extend(["--filter".to_string(), "InstanceStatusUpdated".to_string()]);
    }
    for svc in services {
        argv.extend([
            "--filter".to_string(),
            format!("InstanceStatusUpdated,path={svc}"),
        ]);
    }
    argv.extend(["-o", "json", "--color", "no"].map(String::from));
    argv
}

#[derive(Deserialize)]
struct Event {
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    path: String,
    instance_status: serde_json::Value,
}

/// The status an event line gives of one of `services` on `node` (this node's own instance);
/// `None` for any other line.
pub fn status(line: &str, services: &[&str], node: &str) -> Option<ServiceStatus> {
    let ev: Event = serde_json::from_str(line.trim()).ok()?;
    let ours = ev.kind == "InstanceStatusUpdated"
        && ev.data.labels.get("from").map(String::as_str) != Some("peer")
        && services.contains(&ev.data.path.as_str());
    if !ours {
        return None;
    }
    super::v3_status::map_instance(ev.data.instance_status, None, &ev.data.path, node).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Status;

    const EVENT: &str = r#"{"kind":"InstanceStatusUpdated","id":3,"at":"2026-06-30T10:00:00.7+02:00","data":{"labels":{"namespace":"root","node":"n1","path":"demo"},"path":"demo","node":"n1","instance_status":{"avail":"up","overall":"up","frozen_at":"0001-01-01T00:00:00Z","resources":{"fs#1":{"label":"flag","status":"up","type":"fs.flag"}},"updated_at":"2026-06-30T10:00:00.6+02:00"}}}"#;

    #[test]
    fn only_this_nodes_instances_of_known_services_count() {
        let st = status(EVENT, &["demo"], "deb1").expect("a status");
        assert_eq!((st.service.as_str(), st.node.as_str()), ("demo", "deb1"));
        assert_eq!(st.avail, Status::Up);
        assert!(status(EVENT, &["other"], "deb1").is_none());
        let peer = EVENT.replace(
            r#""node":"n1","path""#,
            r#""from":"peer","node":"n1","path""#,
        );
        assert!(status(&peer, &["demo"], "deb1").is_none());
        assert!(status("not json", &["demo"], "deb1").is_none());
        assert_eq!(
            command(&["demo".to_string()])[2..4],
            ["--filter", "InstanceStatusUpdated,path=demo"]
        );
    }
}
