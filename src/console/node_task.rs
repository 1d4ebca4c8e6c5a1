//! One task per node: takes the node's link from the console's session pool, runs `drpilot agent
//! watch` there, turns its records into events, and when the link or the stream fails (or the
//! heartbeats stop) says so, forgets that session and reconnects with backoff. Never knows the UI
//! exists.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::Sender;

use chrono::{DateTime, Local};

use super::event::{Event, LogLine, NodeEvent};
use crate::agent::watch::HEARTBEAT_EVERY;
use crate::protocol::log::LogRecord;
use crate::protocol::watch::WatchRecord;
use crate::transport::{Link, Pool};

/// A line of an action run on `node` by someone else, with who ran it after the message.
fn streamed_line(node: &str, r: LogRecord) -> LogLine {
    let msg = match &r.by {
        Some(by) => format!("{}  — {by}", r.msg),
        None => r.msg,
    };
    LogLine {
        time: DateTime::parse_from_rfc3339(&r.ts)
            .map(|t| t.with_timezone(&Local).format("%H:%M:%S").to_string())
            .unwrap_or(r.ts),
        node: node.to_string(),
        svc: r.svc,
        rid: r.rid,
        level: r.level.word().to_string(),
        msg,
    }
}

/// No line for this long means the node (or the link) is gone.
fn silence_limit() -> Duration {
    HEARTBEAT_EVERY * 3 + Duration::from_secs(1)
}

/// Watches `node` until the receiver is dropped.
pub async fn watch_node(node: String, pool: Arc<Pool>, services: Vec<String>, tx: Sender<Event>) {
    const FIRST_RETRY: Duration = Duration::from_millis(500);
    let mut backoff = FIRST_RETRY;
    loop {
        let mut greeted = false;
        let reason = watch_once(&node, &pool, &services, &tx, &mut greeted).await;
        // A link that worked starts the backoff over: a drop after hours is retried at once.
        if greeted {
            backoff = FIRST_RETRY;
        }
        let down = Event::Node(NodeEvent::Down {
            node: node.clone(),
            reason,
        });
        if tx.send(down).await.is_err() {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(15));
    }
}

/// One connection's life; returns why it ended.
async fn watch_once(
    node: &str,
    pool: &Pool,
    services: &[String],
    tx: &Sender<Event>,
    greeted: &mut bool,
) -> String {
    let link = match pool.link(node).await {
        Ok(l) => l,
        Err(e) => return format!("{e:#}"),
    };
    let why = watch_through(&link, node, services, tx, greeted).await;
    // A watch runs as long as its node and its link are well: whatever ended it, the next one
    // (and the next action) starts on a fresh session.
    pool.forget(node, &link);
    why
}

/// Reads the watch stream through `link` until it ends; returns why it did.
async fn watch_through(
    link: &Link,
    node: &str,
    services: &[String],
    tx: &Sender<Event>,
    greeted: &mut bool,
) -> String {
    let args = crate::transport::client::agent_watch(services);
    let mut stream = match link.spawn_lines(&args).await {
        Ok(s) => s,
        Err(e) => return format!("{e:#}"),
    };
    loop {
        let line = match tokio::time::timeout(silence_limit(), stream.next_line()).await {
            Err(_) => return format!("no heartbeat for {}s", silence_limit().as_secs()),
            Ok(Err(e)) => return format!("{e:#}"),
            Ok(Ok(None)) => {
                return match stream.finish().await {
                    Ok(out) if !out.success => out.failure_reason(),
                    _ => "the watch stream ended".to_string(),
                }
            }
            Ok(Ok(Some(l))) => l,
        };
        let mut events = Vec::with_capacity(2);
        let ev = match serde_json::from_str::<WatchRecord>(&line) {
            Ok(WatchRecord::Hello { node: _, services }) => {
                *greeted = true;
                NodeEvent::Hello {
                    node: node.to_string(),
                    services,
                }
            }
            Ok(WatchRecord::Status { status, .. }) => NodeEvent::Status {
                node: node.to_string(),
                status,
            },
            Ok(WatchRecord::Heartbeat {
                probed_ms_ago,
                probe_error,
                probe_every_ms,
                agent,
                ..
            }) => {
                // An agent that says nothing of its probes (an older one) is taken at its
                // heartbeat's word, as before.
                if probed_ms_ago.is_some() || probe_error.is_some() {
                    events.push(NodeEvent::Probe {
                        node: node.to_string(),
                        every: probe_every_ms.map(Duration::from_millis),
                        agent,
                        probed_ago: probed_ms_ago.map(Duration::from_millis),
                        error: probe_error,
                    });
                }
                NodeEvent::Heartbeat {
                    node: node.to_string(),
                }
            }
            Ok(WatchRecord::ProbeFailed {
                service, reason, ..
            }) => NodeEvent::Probe {
                node: node.to_string(),
                every: None,
                agent: None,
                probed_ago: None,
                error: Some(match service {
                    Some(s) => format!("{s}: {reason}"),
                    None => reason,
                }),
            },
            Ok(WatchRecord::Error { service, message }) => NodeEvent::ServiceError {
                node: node.to_string(),
                service,
                message,
            },
            Ok(WatchRecord::Run { service, lease, .. }) => NodeEvent::Run {
                node: node.to_string(),
                service,
                lease: lease.map(Box::new),
            },
            Ok(WatchRecord::Bubble {
                service, bubble, ..
            }) => NodeEvent::Bubble {
                node: node.to_string(),
                service,
                bubble,
            },
            Ok(WatchRecord::Action { record, .. }) => {
                // This console's own lines already came from its action's output.
                let own = crate::transport::client::session();
                if own.is_some() && record.by.as_ref().and_then(|b| b.session.as_deref()) == own {
                    continue;
                }
                // A transfer's progress is a bar of the console that runs it, never a log line.
                if record.progress.is_some() {
                    continue;
                }
                if tx
                    .send(Event::ActionLog(streamed_line(node, record)))
                    .await
                    .is_err()
                {
                    return "console closed".to_string();
                }
                continue;
            }
            Err(e) => {
                return format!(
                    "{node} sent an unreadable record ({e}): is its drpilot the same version?"
                )
            }
        };
        events.insert(0, ev);
        for ev in events {
            if tx.send(Event::Node(ev)).await.is_err() {
                return "console closed".to_string();
            }
        }
    }
}
