//! What a runbook needs from the nodes: a service's status and the result of a verb, through the
//! same transports as the agent (local lab or SSH).

use std::time::Duration;

use color_eyre::eyre::{eyre, Result};

use crate::agent::peer_answer::PeerAnswer;
use crate::protocol::verb::{Action, SvcFlags};
use crate::protocol::watch::ServiceNodes;
use crate::status::ServiceStatus;
use crate::transport::client;
use crate::transport::{CallOutput, NodeOptions, Pool, Transport};

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
    /// `node`'s options in the node map: which agent it runs and what that agent leaves to
    /// the seat (`transport::agent_limits`). A drpilot node's by default.
    fn options(&self, _node: &str) -> NodeOptions {
        NodeOptions::default()
    }
    /// Runs `drpilot svc SVC ARGS` on `node`.
    fn act(&self, node: &str, action: &Action, flags: &SvcFlags) -> Result<ActionResult>;
    /// Same, handing each stdout line to `on_line` as it comes (live progress).
    fn act_lines(
        &self,
        node: &str,
        action: &Action,
        flags: &SvcFlags,
        on_line: &mut dyn FnMut(&str),
    ) -> Result<ActionResult> {
        let r = self.act(node, action, flags)?;
        for l in r.output.lines() {
            on_line(l);
        }
        Ok(r)
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
}

impl NodeOps for MapOps<'_> {
    fn answer(&self, node: &str) -> PeerAnswer {
        PeerAnswer::ask(self.pool, node, &self.svc)
    }

    fn options(&self, node: &str) -> NodeOptions {
        self.pool.map().options_of(node)
    }

    fn act(&self, node: &str, action: &Action, flags: &SvcFlags) -> Result<ActionResult> {
        let args = client::svc(&self.svc, action, flags);
        let out = self
            .pool
            .with(node, |t| t.call(&args, None, Some(ACTION_TIMEOUT)))?;
        Ok(result(out))
    }

    fn act_lines(
        &self,
        node: &str,
        action: &Action,
        flags: &SvcFlags,
        on_line: &mut dyn FnMut(&str),
    ) -> Result<ActionResult> {
        let args = client::svc(&self.svc, action, flags);
        let out = self
            .pool
            .with(node, |t| t.call_lines(&args, on_line, Some(ACTION_TIMEOUT)))?;
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
        let args = client::agent_services();
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
