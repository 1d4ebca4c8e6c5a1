//! What a runbook needs from the nodes: a service's status and the result of a verb, through the
//! same transports as the agent (local lab or SSH).

use std::time::Duration;

use color_eyre::eyre::{eyre, Result};

use crate::agent::peer_answer::PeerAnswer;
use crate::agent::watch::ServiceNodes;
use crate::status::ServiceStatus;
use crate::transport::{CallOutput, Pool, Transport};

/// How long an action may take.
pub(crate) const ACTION_TIMEOUT: Duration = Duration::from_secs(3600);

/// A verb's result: success and what it printed (stdout, then stderr).
#[derive(Debug, Clone)]
pub struct ActionResult {
    /// Exit status 0.
    pub ok: bool,
    /// The output, for the journal digest and the operator.
    pub output: String,
}

/// Reaches the nodes of one service.
pub trait NodeOps {
    /// What `node` answered when asked for the service's status (docs/safety.md decides on it).
    fn answer(&self, node: &str) -> PeerAnswer;
    /// The service's status on `node`; an error, saying what the node answered, otherwise.
    fn status(&self, node: &str) -> Result<ServiceStatus> {
        self.answer(node).into_status(node)
    }
    /// Runs `drpilot svc SVC ARGS` on `node`.
    fn act(&self, node: &str, args: &[&str]) -> Result<ActionResult>;
    /// Same, handing each stdout line to `on_line` as it comes (live progress).
    fn act_lines(
        &self,
        node: &str,
        args: &[&str],
        on_line: &mut dyn FnMut(&str),
    ) -> Result<ActionResult> {
        let r = self.act(node, args)?;
        for l in r.output.lines() {
            on_line(l);
        }
        Ok(r)
    }
}

/// A sync's progress, parsed from the agent's `progress` log lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncProgress {
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Bytes to send in all.
    pub bytes_total: u64,
    /// Files sent.
    pub files_sent: u64,
    /// Files in all.
    pub files_total: u64,
    /// Bytes per second.
    pub rate: u64,
    /// Seconds left.
    pub eta: u64,
}

impl SyncProgress {
    /// Parses `progress bytes=S/T files=F/N rate=R eta=E`.
    pub fn parse(msg: &str) -> Option<Self> {
        let rest = msg.strip_prefix("progress ")?;
        let mut p = SyncProgress::default();
        for kv in rest.split_whitespace() {
            let (k, v) = kv.split_once('=')?;
            // A total of `?` is unknown (a btrfs incremental stream): kept as 0.
            let pair = |v: &str| -> Option<(u64, u64)> {
                let (a, b) = v.split_once('/')?;
                let total = if b == "?" { 0 } else { b.parse().ok()? };
                Some((a.parse().ok()?, total))
            };
            match k {
                "bytes" => (p.bytes_sent, p.bytes_total) = pair(v)?,
                "files" => (p.files_sent, p.files_total) = pair(v)?,
                "rate" => p.rate = v.parse().ok()?,
                "eta" => p.eta = v.parse().ok()?,
                _ => {}
            }
        }
        Some(p)
    }

    /// A text progress bar: `███████░░░  70%  1.2 MB/s  ETA 3s  2/3 files`.
    pub fn bar(&self, width: usize) -> String {
        if self.bytes_total == 0 && self.files_total == 0 && self.bytes_sent > 0 {
            // Nothing to measure against: how much went, and how fast.
            return format!(
                "{:.1} MB sent  {:.1} MB/s",
                self.bytes_sent as f64 / (1u64 << 20) as f64,
                self.rate as f64 / (1u64 << 20) as f64
            );
        }
        let pct = self.percent() as usize;
        let full = pct * width / 100;
        let rate = if self.rate >= 1 << 20 {
            format!("{:.1} MB/s", self.rate as f64 / (1u64 << 20) as f64)
        } else {
            format!("{:.1} KB/s", self.rate as f64 / 1024.0)
        };
        format!(
            "{}{} {pct:>3}%  {rate}  ETA {}s  {}/{} files",
            "█".repeat(full),
            "░".repeat(width - full),
            self.eta,
            self.files_sent,
            self.files_total
        )
    }

    /// Done, in percent (files when no byte moves).
    pub fn percent(&self) -> u64 {
        (self.bytes_sent * 100)
            .checked_div(self.bytes_total)
            .or_else(|| (self.files_sent * 100).checked_div(self.files_total))
            .unwrap_or(100)
            .min(100)
    }
}

/// The nodes of a runbook, reached through the seat's session pool: one session per node for
/// the whole run (the engine polls a node's status every half second while it waits), a node
/// whose call failed reached afresh next time.
pub struct MapOps<'a> {
    pool: &'a Pool,
    /// The service.
    pub svc: String,
}

impl<'a> MapOps<'a> {
    /// The operations on `svc` through the sessions of `pool`.
    pub fn new(pool: &'a Pool, svc: &str) -> Self {
        Self {
            pool,
            svc: svc.to_string(),
        }
    }

    fn argv(&self, args: &[&str]) -> Vec<String> {
        let mut argv = vec!["svc".to_string(), self.svc.clone()];
        argv.extend(args.iter().map(|s| s.to_string()));
        argv
    }
}

impl NodeOps for MapOps<'_> {
    fn answer(&self, node: &str) -> PeerAnswer {
        let timeout = self.pool.map().status_timeout();
        let asked = self.pool.with(node, |t| {
            let answer = PeerAnswer::ask_through(t, &self.svc, timeout);
            // A session that failed is dropped, so that a node that comes back is reached anew.
            match answer {
                PeerAnswer::Unreachable(why) => Err(eyre!("{why}")),
                other => Ok(other),
            }
        });
        match asked {
            Ok(answer) => answer,
            Err(e) => PeerAnswer::Unreachable(format!("{e:#}")),
        }
    }

    fn act(&self, node: &str, args: &[&str]) -> Result<ActionResult> {
        let out = self.pool.with(node, |t| {
            t.call(&self.argv(args), None, Some(ACTION_TIMEOUT))
        })?;
        Ok(result(out))
    }

    fn act_lines(
        &self,
        node: &str,
        args: &[&str],
        on_line: &mut dyn FnMut(&str),
    ) -> Result<ActionResult> {
        let out = self.pool.with(node, |t| {
            t.call_lines(&self.argv(args), on_line, Some(ACTION_TIMEOUT))
        })?;
        Ok(result(out))
    }
}

fn result(out: CallOutput) -> ActionResult {
    let mut output = out.stdout_text();
    output.push_str(&out.stderr);
    ActionResult {
        ok: out.success,
        output,
    }
}

/// Finds a service's production and DRP nodes by asking the nodes of the map (through the
/// pool, so the run goes on with the sessions opened here).
pub fn service_nodes(pool: &Pool, svc: &str) -> Result<ServiceNodes> {
    let map = pool.map();
    let mut why = Vec::new();
    for node in map.nodes() {
        let args = vec!["agent".to_string(), "services".to_string()];
        match pool.with(&node, |t| t.call(&args, None, Some(map.status_timeout()))) {
            Ok(out) if out.success => {
                // A node that answers garbage tells nothing; another node may still know.
                let list: Vec<ServiceNodes> = match serde_json::from_slice(&out.stdout) {
                    Ok(list) => list,
                    Err(e) => {
                        why.push(format!("{node}: answered garbage ({e})"));
                        continue;
                    }
                };
                let names: Vec<String> = list.iter().map(|s| s.name.clone()).collect();
                if let Some(s) = list.into_iter().find(|s| s.name == svc) {
                    return Ok(s);
                }
                why.push(if names.is_empty() {
                    format!("{node} has no service")
                } else {
                    format!("{node} has only {}", names.join(", "))
                });
            }
            Ok(out) => why.push(format!("{node}: {}", out.failure_reason())),
            Err(e) => why.push(format!("{node}: {e:#}")),
        }
    }
    if why.is_empty() {
        why.push("the map lists no node (add them under [nodes])".to_string());
    }
    Err(eyre!(
        "no node of the map knows service {svc}: {}",
        why.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_parse() {
        let p = SyncProgress::parse("progress bytes=512/2048 files=1/3 rate=1000 eta=2").unwrap();
        assert_eq!(
            (
                p.bytes_sent,
                p.bytes_total,
                p.files_sent,
                p.files_total,
                p.rate,
                p.eta
            ),
            (512, 2048, 1, 3, 1000, 2)
        );
        assert_eq!(p.percent(), 25);
        assert!(p.bar(8).starts_with("██░░░░░░  25%"), "{}", p.bar(8));
        assert!(SyncProgress::parse("sent 3 files").is_none());
        // A btrfs incremental stream has no known total: the bar says what went.
        let p = SyncProgress::parse("progress bytes=3145728/? rate=1048576").unwrap();
        assert_eq!((p.bytes_sent, p.bytes_total), (3 << 20, 0));
        assert_eq!(p.bar(8), "3.0 MB sent  1.0 MB/s");
    }
}
