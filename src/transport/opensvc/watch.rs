//! A watch stream for a node running an OpenSVC agent: its services are polled every
//! [`POLL_EVERY`] (one v2 status costs about a second of CPU and 59 MiB; v2 has no stream of
//! its own without its daemon), at once after an action through the same link, and a v3
//! node's statuses pushed by its daemon's event stream are sent as they come
//! (`v3_events.rs`; without a daemon the poll alone serves). The answers go out as drpilot's
//! watch records, with a heartbeat every two seconds that gives the poll's age and interval, so
//! the console judges freshness against the interval (stale past twice it) and says which agent
//! the node runs.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::wake::Wakeup;
use super::{adapter, v3_events};
use crate::protocol::watch::{ProbeCause, ServiceNodes, WatchRecord};
use crate::status::{ServiceStatus, SyncInfo};
use crate::transport::CallOutput;

/// How often an OpenSVC node's services are polled.
pub const POLL_EVERY: Duration = Duration::from_secs(10);
/// How often the node's services and their nodes are listed again (three agent calls and more
/// per service: not on every poll), and at once after a status call failed.
pub const DISCOVER_EVERY: Duration = Duration::from_secs(60);
/// How often the stream says it is alive.
const BEAT_EVERY: Duration = Duration::from_secs(2);

/// Runs the poll loop of `node`, sending each record's line to `send` until it returns false
/// (the reader went away). `only`: the services to watch (all when empty).
pub fn run(
    agent: &adapter::Agent,
    only: &[String],
    send: &mut dyn FnMut(String) -> bool,
) -> CallOutput {
    let node = agent.node;
    let mut hello: Option<Vec<ServiceNodes>> = None;
    let mut last_ok: Option<Instant> = None;
    let mut error: Option<String> = None;
    let mut next_poll = Instant::now();
    let mut discovered: Option<Instant> = None;
    // The replica ages of the last poll: an event's status carries none of its own.
    let mut syncs: HashMap<String, Vec<SyncInfo>> = HashMap::new();
    loop {
        if Instant::now() >= next_poll {
            next_poll = Instant::now() + POLL_EVERY;
            let mut records = Vec::new();
            let known = hello
                .clone()
                .filter(|_| discovered.is_some_and(|t| t.elapsed() < DISCOVER_EVERY));
            let round = match known {
                Some(services) => statuses(agent, &services).map(|st| (services, st)),
                None => discover(agent, only).and_then(|services| {
                    discovered = Some(Instant::now());
                    statuses(agent, &services).map(|st| (services, st))
                }),
            };
            match round {
                Ok((services, statuses)) => {
                    if hello.as_ref() != Some(&services) {
                        records.push(WatchRecord::Hello {
                            node: node.to_string(),
                            services: services.clone(),
                        });
                        hello = Some(services);
                    }
                    for st in &statuses {
                        syncs.insert(st.service.clone(), st.syncs.clone());
                    }
                    records.extend(statuses.into_iter().map(|st| WatchRecord::Status {
                        status: Box::new(st),
                        cause: Some(ProbeCause::Periodic),
                    }));
                    last_ok = Some(Instant::now());
                    error = None;
                }
                Err(why) => {
                    // A service gone, renamed or broken: list them again next time.
                    discovered = None;
                    error = Some(why);
                }
            }
            for r in records {
                if !emit(send, &r) {
                    return ended();
                }
            }
        }
        let beat = WatchRecord::Heartbeat {
            node: node.to_string(),
            ts: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            probed_ms_ago: last_ok.map(|t| t.elapsed().as_millis() as u64),
            probe_error: error.clone(),
            probe_every_ms: Some(POLL_EVERY.as_millis() as u64),
            agent: serde_json::to_value(agent.opts.flavor())
                .ok()
                .and_then(|v| v.as_str().map(str::to_string)),
        };
        if !emit(send, &beat) {
            return ended();
        }
        for w in agent.wake.wait(BEAT_EVERY) {
            match w {
                // An action through this node's link changed what the poll reads: read it now.
                Wakeup::Changed => next_poll = Instant::now(),
                // The agent pushed a status (v3's event stream): as fresh as a poll.
                Wakeup::Event(line) => {
                    let known: Vec<&str> =
                        hello.iter().flatten().map(|s| s.name.as_str()).collect();
                    let Some(mut st) = v3_events::status(&line, &known, node) else {
                        continue;
                    };
                    st.syncs = syncs.get(&st.service).cloned().unwrap_or_default();
                    last_ok = Some(Instant::now());
                    let r = WatchRecord::Status {
                        status: Box::new(st),
                        cause: Some(ProbeCause::Notified),
                    };
                    if !emit(send, &r) {
                        return ended();
                    }
                }
            }
        }
    }
}

fn emit(send: &mut dyn FnMut(String) -> bool, r: &WatchRecord) -> bool {
    serde_json::to_string(r).map(send).unwrap_or(true)
}

/// The end of the stream: its reader went away.
fn ended() -> CallOutput {
    CallOutput {
        success: true,
        code: Some(0),
        ..CallOutput::default()
    }
}

/// The node's services (those of `only`, all when empty) with their nodes.
fn discover(agent: &adapter::Agent, only: &[String]) -> Result<Vec<ServiceNodes>, String> {
    let out = adapter::call(agent, &["agent".to_string(), "services".to_string()])
        .map_err(|e| format!("{e:#}"))?;
    if !out.success {
        return Err(format!("listing services: {}", out.failure_reason()));
    }
    Ok(serde_json::from_slice::<Vec<ServiceNodes>>(&out.stdout)
        .map_err(|e| format!("listing services: {e}"))?
        .into_iter()
        .filter(|s| only.is_empty() || only.contains(&s.name))
        .collect())
}

/// Each service's status (its answer's own words on failure).
fn statuses(
    agent: &adapter::Agent,
    services: &[ServiceNodes],
) -> Result<Vec<ServiceStatus>, String> {
    let mut statuses = Vec::new();
    for s in services {
        let args: Vec<String> = ["svc", &s.name, "print", "status", "--format", "json"]
            .iter()
            .map(|a| a.to_string())
            .collect();
        let out = adapter::call(agent, &args).map_err(|e| format!("{e:#}"))?;
        if !out.success {
            return Err(format!("{}: {}", s.name, out.failure_reason()));
        }
        statuses.push(
            crate::status::parse_json(&out.stdout_text())
                .map_err(|e| format!("{}: {e}", s.name))?,
        );
    }
    Ok(statuses)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{Flavor, NodeOptions};

    #[test]
    fn an_action_through_the_link_makes_the_poll_read_the_node_at_once() {
        // A fake v2 agent: one service, its status; every listing of the services counted.
        let listings = std::sync::atomic::AtomicUsize::new(0);
        let om = |argv: &[String]| -> color_eyre::eyre::Result<CallOutput> {
            let text = match argv.get(1).map(String::as_str) {
                Some("ls") => {
                    listings.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    "demo".to_string()
                }
                Some("get") => "deb1".to_string(),
                _ => r#"{"avail":"up","overall":"up","resources":{}}"#.to_string(),
            };
            Ok(CallOutput {
                success: true,
                code: Some(0),
                stdout: text.into_bytes(),
                ..CallOutput::default()
            })
        };
        let opts = NodeOptions {
            flavor: Some(Flavor::Opensvc2),
            ..NodeOptions::default()
        };
        let wake = super::super::wake::Wake::default();
        let agent = adapter::Agent {
            node: "deb1",
            opts: &opts,
            run: &om,
            program: &om,
            wake: &wake,
        };
        let started = Instant::now();
        let mut statuses = 0;
        let mut send = |line: String| {
            if line.contains("\"status\"") {
                statuses += 1;
                if statuses == 1 {
                    // The first poll is read: an action now changes the node.
                    wake.poke();
                }
            }
            statuses < 2
        };
        run(&agent, &[], &mut send);
        assert_eq!(statuses, 2);
        assert!(
            started.elapsed() < POLL_EVERY,
            "the second poll came at the poke, not {}s later",
            POLL_EVERY.as_secs()
        );
        // The second poll read the status only: the services were listed once.
        assert_eq!(listings.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
