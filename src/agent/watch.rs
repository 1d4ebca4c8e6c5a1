//! `drpilot agent watch`: the long-lived JSON-lines stream a console reads from each node. It
//! opens with the node's services and their node lists (so the console finds every node to
//! watch), then sends a service's status whenever it changes, and a heartbeat every interval so
//! the console can tell a quiet node from a dead one; and each service's runbook run as its
//! lease on this node says (`run` records, see [`super::run_state::LeaseFollow`]).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::Utc;
use color_eyre::eyre::Result;

use super::action_tail::ActionTail;
use super::run_state::LeaseFollow;
use super::watch_share::{Round, Shared};
use super::watch_wake::Waker;
use super::{probe, selector, Service};
use crate::action_log::CHANGE_NOTICE;
use crate::paths::NodeEnv;
pub use crate::protocol::watch::{ProbeCause, ServiceNodes, WatchRecord};
use crate::status::ServiceStatus;

/// How often services are probed.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);
/// How often the services' change notices are read between probes: an action's change reaches
/// the stream within this (plus one probe).
pub const NOTICE_POLL: Duration = Duration::from_millis(50);
/// How often a heartbeat is sent; a console calls a node unreachable after three missed ones.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);

fn emit(out: &mut impl Write, rec: &WatchRecord) -> std::io::Result<()> {
    let line = serde_json::to_string(rec).map_err(std::io::Error::other)?;
    writeln!(out, "{line}")?;
    out.flush()
}

/// The status without its timestamp, to tell a real change from a new probe of the same state.
fn fingerprint(st: &ServiceStatus) -> String {
    let mut st = st.clone();
    st.updated.clear();
    serde_json::to_string(&st).unwrap_or_default()
}

/// The services of this node with their node lists (bad configs are left out).
pub fn services(env: &NodeEnv) -> Result<Vec<ServiceNodes>> {
    Ok(selector::configured(env)?
        .into_iter()
        .filter_map(|name| {
            Service::load(env, &name).ok().map(|svc| ServiceNodes {
                name,
                nodes: svc.cfg.nodes.clone(),
                drpnodes: svc.cfg.drpnodes.clone(),
            })
        })
        .collect())
}

/// Why this node cannot be probed at all right now (its root or config directory is gone), if
/// it cannot. `had_services`: the node had services at the last round, so a missing config
/// directory is a loss, not a node without services.
fn node_failure(env: &NodeEnv, had_services: bool) -> Option<String> {
    if !env.root.as_os_str().is_empty() && !env.root.is_dir() {
        return Some(format!("the node's root {} is gone", env.root.display()));
    }
    let etc = env.etc_dir();
    if had_services && !etc.is_dir() {
        return Some(format!("the config directory {} is gone", etc.display()));
    }
    None
}

/// Streams records to `out` until it is closed (the console went away) or `limit` passes. The
/// node's first watcher probes and publishes; the others follow it (see [`watch_share`]).
///
/// [`watch_share`]: super::watch_share
pub fn watch(
    env: &NodeEnv,
    only: &[String],
    out: &mut impl Write,
    limit: Option<Duration>,
) -> Result<()> {
    watch_with(env, only, out, limit, Shared::new(env))
}

/// [`watch`] with a given part in the node's probe loop (the daemon's, which always probes).
pub(super) fn watch_with(
    env: &NodeEnv,
    only: &[String],
    out: &mut impl Write,
    limit: Option<Duration>,
    mut shared: Shared,
) -> Result<()> {
    let started = Instant::now();
    let mut stream = Stream::default();
    let mut last_beat: Option<Instant> = None;
    let mut last_ok_ms: Option<u64> = None;
    let mut notices = Notices::default();
    let mut tail = ActionTail::default();
    let mut notified = BTreeSet::new();
    let mut waker = Waker::new();
    let mut leases = LeaseFollow::default();
    let mut bubbles = super::bubble::BubbleFollow::default();
    let mut watched: Vec<String> = Vec::new();
    loop {
        let round_start = Instant::now();
        let lead = shared.lead();
        let round = if lead {
            let r = probe_all(env, &stream, std::mem::take(&mut notified), &mut last_ok_ms);
            shared.publish(&r);
            Some(r)
        } else {
            shared.read_new()
        };
        if let Some(r) = &round {
            let names: Vec<String> = r
                .results
                .iter()
                .map(|(n, _)| n.clone())
                .filter(|n| only.is_empty() || only.contains(n))
                .collect();
            if r.failing.is_none() {
                let mut dirs: Vec<_> = r.results.iter().map(|(n, _)| env.state_dir(n)).collect();
                if !lead {
                    dirs.push(shared.dir().to_path_buf());
                }
                waker.follow(&dirs);
                tail.watch(env, &names);
                watched.clone_from(&names);
                notices.watch(
                    env,
                    &r.results.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
                );
            }
            stream.apply(env, r, only, out)?;
        }
        let beat = last_beat.is_none_or(|t| t.elapsed() >= HEARTBEAT_EVERY);
        if beat {
            stream.heartbeat(env, out)?;
            last_beat = Some(Instant::now());
        }
        // Each service's run from its lease: when it changes (a lease change rewrites the
        // change notice, which wakes this loop), and with every beat while it lasts.
        for rec in leases.records(env, &watched, beat) {
            emit(out, &rec)?;
        }
        // Each service's test bubble, the same way (it has its own status, probed with it).
        if round.is_some() || beat {
            for rec in bubbles.records(env, &watched, beat) {
                emit(out, &rec)?;
            }
        }
        if limit.is_some_and(|l| started.elapsed() >= l) {
            return Ok(());
        }
        // Until the next periodic probe: every action line at once; the prober probes as soon
        // as an action says it changed a service, a follower reads each round once published.
        // A follower wakes on each published round; on its own only to beat and to see whether
        // the prober left.
        let next = round_start + if lead { PROBE_EVERY } else { HEARTBEAT_EVERY };
        loop {
            for record in tail.new_records(env) {
                emit(
                    out,
                    &WatchRecord::Action {
                        node: env.nodename.clone(),
                        record,
                    },
                )?;
            }
            let left = next.saturating_duration_since(Instant::now());
            if lead {
                notified = notices.changed(env);
                if !notified.is_empty() {
                    break;
                }
            } else if shared.has_new() {
                break;
            }
            if left.is_zero() {
                break;
            }
            waker.wait(left);
        }
    }
}

/// What this watcher has sent: the hello, each service's last status or error, the failure.
#[derive(Default)]
struct Stream {
    last: BTreeMap<String, String>,
    hello: Option<Vec<ServiceNodes>>,
    failing: Option<String>,
    last_ok_ms: Option<u64>,
}

impl Stream {
    /// Sends what a round changed for the services in `only` (all when empty): the failure
    /// when it starts, the hello when the set of services changed, each changed status or
    /// config error, and the status of each notified service even when unchanged (the screens
    /// learn at once what the action left).
    fn apply(
        &mut self,
        env: &NodeEnv,
        round: &Round,
        only: &[String],
        out: &mut impl Write,
    ) -> Result<()> {
        self.last_ok_ms = round.last_ok_ms;
        if let Some(reason) = &round.failing {
            if self.failing.as_ref() != Some(reason) {
                emit(
                    out,
                    &WatchRecord::ProbeFailed {
                        node: env.nodename.clone(),
                        service: None,
                        reason: reason.clone(),
                    },
                )?;
                self.failing = Some(reason.clone());
            }
            return Ok(());
        }
        self.failing = None;
        let wanted = |n: &String| only.is_empty() || only.contains(n);
        let services: Vec<ServiceNodes> = round
            .services
            .iter()
            .filter(|s| wanted(&s.name))
            .cloned()
            .collect();
        if self.hello.as_ref() != Some(&services) {
            emit(
                out,
                &WatchRecord::Hello {
                    node: env.nodename.clone(),
                    services: services.clone(),
                },
            )?;
            self.hello = Some(services);
        }
        for (name, res) in round.results.iter().filter(|(n, _)| wanted(n)) {
            let rec = match res {
                Ok(st) => {
                    let fp = fingerprint(st);
                    let told = round.notified.contains(name);
                    if !told && self.last.get(name) == Some(&fp) {
                        continue;
                    }
                    self.last.insert(name.clone(), fp);
                    WatchRecord::Status {
                        status: Box::new(st.clone()),
                        cause: Some(if told {
                            ProbeCause::Notified
                        } else {
                            ProbeCause::Periodic
                        }),
                    }
                }
                Err(message) => {
                    let fp = format!("error: {message}");
                    if self.last.get(name) == Some(&fp) {
                        continue;
                    }
                    self.last.insert(name.clone(), fp);
                    WatchRecord::Error {
                        service: name.clone(),
                        message: message.clone(),
                    }
                }
            };
            emit(out, &rec)?;
        }
        Ok(())
    }

    /// The heartbeat: the node is alive, its last successful probe is this old.
    fn heartbeat(&self, env: &NodeEnv, out: &mut impl Write) -> std::io::Result<()> {
        let ts = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        emit(
            out,
            &WatchRecord::Heartbeat {
                node: env.nodename.clone(),
                ts,
                probed_ms_ago: self.last_ok_ms.map(|t| now_ms().saturating_sub(t)),
                probe_error: self.failing.clone(),
                probe_every_ms: None,
                agent: None,
            },
        )
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The last content seen of each service's change notice (see [`CHANGE_NOTICE`]).
#[derive(Default)]
struct Notices {
    seen: BTreeMap<String, Vec<u8>>,
}

impl Notices {
    fn read(env: &NodeEnv, svc: &str) -> Vec<u8> {
        std::fs::read(env.state_dir(svc).join(CHANGE_NOTICE)).unwrap_or_default()
    }

    /// Follows these services from now on (a notice written before is not news).
    fn watch(&mut self, env: &NodeEnv, names: &[String]) {
        self.seen.retain(|n, _| names.contains(n));
        for n in names {
            if !self.seen.contains_key(n) {
                self.seen.insert(n.clone(), Self::read(env, n));
            }
        }
    }

    /// The services whose notice an action rewrote since the last look.
    fn changed(&mut self, env: &NodeEnv) -> BTreeSet<String> {
        let mut changed = BTreeSet::new();
        for (name, seen) in &mut self.seen {
            let now = Self::read(env, name);
            if *seen != now {
                *seen = now;
                changed.insert(name.clone());
            }
        }
        changed
    }
}

/// Probes every service of the node (the prober's round, for every watcher of the node).
fn probe_all(
    env: &NodeEnv,
    sent: &Stream,
    notified: BTreeSet<String>,
    last_ok_ms: &mut Option<u64>,
) -> Round {
    let had_services = sent.hello.as_ref().is_some_and(|h| !h.is_empty());
    let listed = match node_failure(env, had_services) {
        Some(why) => Err(why),
        None => selector::configured(env).map_err(|e| format!("{e:#}")),
    };
    let names = match listed {
        Ok(n) => n,
        Err(reason) => {
            return Round {
                failing: Some(reason),
                last_ok_ms: *last_ok_ms,
                ..Round::default()
            }
        }
    };
    let mut round = Round {
        notified,
        ..Round::default()
    };
    for name in names {
        match Service::load(env, &name) {
            Ok(svc) => {
                round.services.push(ServiceNodes {
                    name: name.clone(),
                    nodes: svc.cfg.nodes.clone(),
                    drpnodes: svc.cfg.drpnodes.clone(),
                });
                round.results.push((name, Ok(probe::probe(env, &svc))));
            }
            Err(e) => round.results.push((name, Err(format!("{e:#}")))),
        }
    }
    *last_ok_ms = Some(now_ms());
    round.last_ok_ms = *last_ok_ms;
    round
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_with_a_type_tag() {
        let r = WatchRecord::Heartbeat {
            node: "deb1".into(),
            ts: "t".into(),
            probed_ms_ago: None,
            probe_error: None,
            probe_every_ms: None,
            agent: None,
        };
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.contains("\"type\":\"heartbeat\""), "{text}");
        assert_eq!(serde_json::from_str::<WatchRecord>(&text).unwrap(), r);
    }

    #[test]
    fn watch_sends_hello_status_and_heartbeat_then_only_changes() {
        let d = tempfile::tempdir().unwrap();
        let lab = crate::lab::Lab::new(&d.path().join("lab")).unwrap();
        lab.init().unwrap();
        let env = lab.node_env("deb1");
        let mut out = Vec::new();
        watch(&env, &[], &mut out, Some(Duration::from_millis(1500))).unwrap();
        let recs: Vec<WatchRecord> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(
            matches!(&recs[0], WatchRecord::Hello { services, .. } if services[0].drpnodes == ["deb2"])
        );
        let statuses = recs
            .iter()
            .filter(|r| matches!(r, WatchRecord::Status { .. }))
            .count();
        assert_eq!(statuses, 1, "an unchanged service is sent once: {recs:?}");
        assert!(recs
            .iter()
            .any(|r| matches!(r, WatchRecord::Heartbeat { .. })));
    }

    #[test]
    fn a_node_whose_root_is_gone_reports_a_probe_failure() {
        let d = tempfile::tempdir().unwrap();
        let env = NodeEnv::new(d.path().join("gone"), "deb2");
        let mut out = Vec::new();
        watch(&env, &[], &mut out, Some(Duration::ZERO)).unwrap();
        let recs: Vec<WatchRecord> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(
            matches!(&recs[0], WatchRecord::ProbeFailed { service: None, reason, .. } if reason.contains("is gone")),
            "{recs:?}"
        );
        assert!(
            matches!(
                &recs[1],
                WatchRecord::Heartbeat {
                    probed_ms_ago: None,
                    probe_error: Some(_),
                    ..
                }
            ),
            "{recs:?}"
        );
    }
}
