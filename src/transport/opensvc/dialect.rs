//! The two OpenSVC agents' own command lines and outputs: v2 (Python) and v3 (Go) say the same
//! things differently. Each function builds one command (its argv after `bin`) or reads one
//! answer; `adapter.rs` decides what to ask. Every v3 command gets `--color no` (its logs are
//! coloured even without a terminal otherwise) and no `--node` (which would hand the action to
//! the daemons); every v2 action gets `--local` (with a daemon it would be orchestrated).

use serde::Deserialize;

use super::{v2_log, v2_status, v3_log, v3_status};
use crate::protocol::log::LogRecord;
use crate::protocol::verb::{Action, Group};
use crate::status::ServiceStatus;
use crate::transport::{CallOutput, Flavor};

/// Which agent's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// OpenSVC v2, `om` in Python.
    V2,
    /// OpenSVC v3, `om` in Go.
    V3,
}

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// `om svc ls -o json`: `items[].meta.object`.
#[derive(Deserialize)]
struct V3List {
    #[serde(default)]
    items: Vec<V3Item>,
}

#[derive(Deserialize)]
struct V3Item {
    meta: V3Meta,
}

#[derive(Deserialize)]
struct V3Meta {
    object: String,
}

/// `om SVC config get --kw KW --eval -o json`: `items[0].evaluated`, absent or null when empty.
#[derive(Deserialize)]
struct V3Keywords {
    #[serde(default)]
    items: Vec<V3Keyword>,
}

#[derive(Deserialize)]
struct V3Keyword {
    #[serde(default)]
    evaluated: Option<serde_json::Value>,
}

impl Dialect {
    /// The dialect of a node's agent (`None`: drpilot's own).
    pub fn of(flavor: Flavor) -> Option<Self> {
        match flavor {
            Flavor::Drpilot => None,
            Flavor::Opensvc2 => Some(Dialect::V2),
            Flavor::Opensvc3 => Some(Dialect::V3),
        }
    }

    /// Lists the node's services.
    pub fn list_services(self) -> Vec<String> {
        match self {
            Dialect::V2 => argv(&["svc", "ls"]),
            Dialect::V3 => argv(&["svc", "ls", "-o", "json", "--color", "no"]),
        }
    }

    /// The service names in [`Self::list_services`]' answer. v3 services of another namespace
    /// (`ns/svc/name`) are left out: drpilot's service names have no namespace.
    pub fn read_services(self, out: &str) -> Result<Vec<String>, String> {
        match self {
            Dialect::V2 => Ok(out.split_whitespace().map(str::to_string).collect()),
            Dialect::V3 => {
                let list: V3List =
                    serde_json::from_str(out).map_err(|e| format!("not a v3 object list: {e}"))?;
                Ok(list
                    .items
                    .into_iter()
                    .map(|i| i.meta.object)
                    .filter(|o| !o.contains('/'))
                    .collect())
            }
        }
    }

    /// Evaluates keyword `kw` (`nodes`, `drpnodes`) of `svc`.
    pub fn keyword(self, svc: &str, kw: &str) -> Vec<String> {
        match self {
            Dialect::V2 => argv(&[svc, "get", "--kw", kw, "--eval"]),
            Dialect::V3 => argv(&[
                svc, "config", "get", "--kw", kw, "--eval", "-o", "json", "--color", "no",
            ]),
        }
    }

    /// The node names in [`Self::keyword`]'s answer.
    pub fn read_nodes(self, out: &str) -> Result<Vec<String>, String> {
        match self {
            Dialect::V2 => Ok(out
                .split([' ', ',', '\n'])
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect()),
            Dialect::V3 => {
                let kws: V3Keywords =
                    serde_json::from_str(out).map_err(|e| format!("not a v3 keyword list: {e}"))?;
                let value = kws.items.into_iter().next().and_then(|k| k.evaluated);
                Ok(match value {
                    Some(serde_json::Value::Array(a)) => a
                        .into_iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect(),
                    Some(serde_json::Value::String(s)) => {
                        s.split_whitespace().map(str::to_string).collect()
                    }
                    _ => Vec::new(),
                })
            }
        }
    }

    /// The service's status, refreshed (v2 without `-r` serves one up to ten minutes old).
    pub fn status(self, svc: &str) -> Vec<String> {
        match self {
            Dialect::V2 => argv(&[svc, "print", "status", "-r", "--format", "json"]),
            Dialect::V3 => argv(&[
                svc, "instance", "status", "-r", "-o", "json", "--color", "no",
            ]),
        }
    }

    /// [`Self::status`]'s answer as drpilot's status of `svc` on `node`.
    pub fn read_status(self, out: &str, svc: &str, node: &str) -> Result<ServiceStatus, String> {
        match self {
            Dialect::V2 => v2_status::map(out, svc, node),
            Dialect::V3 => v3_status::map(out, svc, node),
        }
    }

    /// The agent's command for `action` (already translated by the adapter: cut access is a
    /// stop, the application check a task's run) on resources `rids`; `None` when the agent
    /// has no such verb.
    pub fn action(
        self,
        svc: &str,
        action: &Action,
        rids: &[String],
        force: bool,
    ) -> Option<Vec<String>> {
        let mut rids = rids.to_vec();
        let mut words: Vec<String> = match self {
            Dialect::V2 => {
                let group = |g: &Group| match g {
                    Group::Disk => "disk".to_string(),
                    other => other.suffix().to_string(),
                };
                let verb = match action {
                    Action::Start(None) => "start".into(),
                    Action::Stop(None) => "stop".into(),
                    Action::Start(Some(g)) => format!("start{}", group(g)),
                    Action::Stop(Some(g)) => format!("stop{}", group(g)),
                    Action::StartStandby => "startstandby".into(),
                    Action::SyncFull => "syncfullsync".into(),
                    Action::SyncUpdate => "syncupdate".into(),
                    Action::SyncDrp => "syncdrp".into(),
                    Action::SyncNodes => "syncnodes".into(),
                    Action::AppCheck => "run".into(),
                    _ => return None,
                };
                vec![svc.to_string(), verb, "--local".to_string()]
            }
            Dialect::V3 => {
                // v3 selects a group of resources by its name in --rid.
                let group = |g: &Group, rids: &mut Vec<String>| {
                    let name = match g {
                        Group::Disk => "disk".to_string(),
                        other => other.suffix().to_string(),
                    };
                    rids.push(name);
                };
                let verb: &[&str] = match action {
                    Action::Start(g) => {
                        if let Some(g) = g {
                            group(g, &mut rids);
                        }
                        &["start"]
                    }
                    Action::Stop(g) => {
                        if let Some(g) = g {
                            group(g, &mut rids);
                        }
                        &["stop"]
                    }
                    Action::StartStandby => &["startstandby"],
                    Action::SyncFull => &["sync", "full"],
                    Action::SyncUpdate => &["sync", "update"],
                    Action::SyncDrp => &["sync", "update", "--target", "drpnodes"],
                    Action::SyncNodes => &["sync", "update", "--target", "nodes"],
                    Action::AppCheck => &["run"],
                    _ => return None,
                };
                let mut w = vec![svc.to_string(), "instance".to_string()];
                w.extend(verb.iter().map(|s| s.to_string()));
                w.extend(["--color".to_string(), "no".to_string()]);
                w
            }
        };
        match self {
            Dialect::V2 => {
                for rid in &rids {
                    words.extend(["--rid".to_string(), rid.clone()]);
                }
            }
            Dialect::V3 if !rids.is_empty() => {
                words.extend(["--rid".to_string(), rids.join(",")]);
            }
            Dialect::V3 => {}
        }
        if force {
            words.push("--force".to_string());
        }
        Some(words)
    }

    /// An action's log (v2 prints it on stdout, v3 on stderr) as drpilot's records.
    pub fn read_log(self, out: &CallOutput, svc: &str, ts: &str) -> Vec<LogRecord> {
        match self {
            Dialect::V2 => v2_log::parse(&out.stdout_text(), svc, ts),
            Dialect::V3 => v3_log::parse(&out.stderr, svc, ts),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        argv(v)
    }

    #[test]
    fn each_agent_is_asked_in_its_own_words() {
        let d2 = Dialect::V2;
        assert_eq!(
            d2.action("demo", &Action::Start(Some(Group::Disk)), &[], true),
            Some(s(&["demo", "startdisk", "--local", "--force"]))
        );
        assert_eq!(
            d2.action(
                "demo",
                &Action::Stop(Some(Group::App)),
                &s(&["app#1"]),
                false
            ),
            Some(s(&["demo", "stopapp", "--local", "--rid", "app#1"]))
        );
        assert_eq!(d2.action("demo", &Action::StopStandby, &[], false), None);
        let d3 = Dialect::V3;
        assert_eq!(
            d3.action("svc1", &Action::Stop(Some(Group::App)), &[], false),
            Some(s(&[
                "svc1", "instance", "stop", "--color", "no", "--rid", "app"
            ]))
        );
        assert_eq!(
            d3.action("svc1", &Action::SyncDrp, &[], true),
            Some(s(&[
                "svc1", "instance", "sync", "update", "--target", "drpnodes", "--color", "no",
                "--force"
            ]))
        );
        assert_eq!(
            d3.action("svc1", &Action::AppCheck, &s(&["task#check"]), false),
            Some(s(&[
                "svc1",
                "instance",
                "run",
                "--color",
                "no",
                "--rid",
                "task#check"
            ]))
        );
        assert_eq!(d3.status("svc1")[1..3], s(&["instance", "status"]));
    }

    #[test]
    fn v3_lists_and_keywords_are_read_from_their_json() {
        let list = r#"{"items":[{"data":{},"kind":"ObjectItem","meta":{"object":"svc1"}},
                      {"data":{},"kind":"ObjectItem","meta":{"object":"ns1/svc/other"}}],"kind":"ObjectList"}"#;
        assert_eq!(Dialect::V3.read_services(list).unwrap(), s(&["svc1"]));
        let kw = r#"{"items":[{"evaluated":["n1","n2"],"keyword":"nodes","node":"","object":"svc1","value":"n1 n2"}],"kind":"KeywordList"}"#;
        assert_eq!(Dialect::V3.read_nodes(kw).unwrap(), s(&["n1", "n2"]));
        let empty = r#"{"items":[{"evaluated":null,"keyword":"drpnodes","value":""}],"kind":"KeywordList"}"#;
        assert!(Dialect::V3.read_nodes(empty).unwrap().is_empty());
        let absent = r#"{"items":[{"keyword":"drpnodes","value":""}],"kind":"KeywordList"}"#;
        assert!(Dialect::V3.read_nodes(absent).unwrap().is_empty());
        assert!(Dialect::V3.read_services("[not json").is_err());
    }
}
