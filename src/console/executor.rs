//! Runs actions on nodes for an interactive console: `drpilot svc SVC VERB --format json` through
//! the node's link, each JSON log line forwarded as an event, the end reported. Read-only and
//! wall consoles are built without one, so no key can reach a node.

use std::sync::Arc;

use chrono::{DateTime, Local};
use serde::Deserialize;
use tokio::sync::mpsc::Sender;

use super::event::{Event, LogLine};
use super::link::NodeLink;
use crate::transport::{NodeMap, SshOptions};

/// The action runner of an interactive console.
pub struct Executor {
    map: Arc<NodeMap>,
    ssh: SshOptions,
    tx: Sender<Event>,
}

#[derive(Deserialize)]
struct JsonLog {
    ts: String,
    level: String,
    svc: String,
    rid: String,
    msg: String,
}

fn log_line(node: &str, svc: &str, line: &str) -> LogLine {
    match serde_json::from_str::<JsonLog>(line) {
        Ok(j) => LogLine {
            time: DateTime::parse_from_rfc3339(&j.ts)
                .map(|t| t.with_timezone(&Local).format("%H:%M:%S").to_string())
                .unwrap_or(j.ts),
            node: node.to_string(),
            svc: j.svc,
            rid: j.rid,
            level: j.level,
            msg: j.msg,
        },
        Err(_) => LogLine {
            time: Local::now().format("%H:%M:%S").to_string(),
            node: node.to_string(),
            svc: svc.to_string(),
            rid: String::new(),
            level: "INFO".to_string(),
            msg: line.to_string(),
        },
    }
}

impl Executor {
    /// An executor reaching nodes as `map` says.
    pub fn new(map: Arc<NodeMap>, ssh: SshOptions, tx: Sender<Event>) -> Self {
        Self { map, ssh, tx }
    }

    /// Starts `verb` of `svc` on `node` in the background.
    pub fn run(&self, svc: String, node: String, verb: String) {
        let (map, ssh, tx) = (self.map.clone(), self.ssh.clone(), self.tx.clone());
        tokio::spawn(async move {
            let mut args = vec![
                "svc".to_string(),
                svc.clone(),
                verb.clone(),
                "--format".into(),
                "json".into(),
            ];
            if verb.starts_with("sync") {
                args.push("--force".into());
            }
            let result = async {
                let link = NodeLink::open(&map, &node, &ssh).await?;
                let mut stream = link.spawn_lines(&args).await?;
                while let Some(line) = stream.next_line().await? {
                    let _ = tx
                        .send(Event::ActionLog(log_line(&node, &svc, &line)))
                        .await;
                }
                stream.finish().await
            }
            .await;
            let (ok, reason) = match result {
                Ok(r) => r,
                Err(e) => (false, format!("{e:#}")),
            };
            if !ok {
                let line = LogLine {
                    time: Local::now().format("%H:%M:%S").to_string(),
                    node: node.clone(),
                    svc: svc.clone(),
                    rid: String::new(),
                    level: "ERROR".to_string(),
                    msg: format!("{verb} failed: {reason}"),
                };
                let _ = tx.send(Event::ActionLog(line)).await;
            }
            let _ = tx
                .send(Event::ActionDone {
                    node,
                    svc,
                    verb,
                    ok,
                    reason,
                })
                .await;
        });
    }
}
