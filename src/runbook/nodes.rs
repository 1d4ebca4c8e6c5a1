//! What a runbook needs from the nodes: a service's status and the result of a verb, through the
//! same transports as the agent (local lab or SSH).

use std::time::Duration;

use color_eyre::eyre::{eyre, Result};

use crate::agent::peer_answer::PeerAnswer;
use crate::protocol::verb::{Action, SvcFlags};
use crate::protocol::watch::ServiceNodes;
use crate::status::ServiceStatus;
use crate::transport::client;
use crate::transport::{connect, NodeMap};

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

/// The transports of a node map, one session per node for the whole run (the engine polls a
/// node's status every half second while it waits: one SSH handshake per poll otherwise). A
/// call that fails drops its node's session, so a node that comes back is reached afresh.
pub struct MapOps {
    /// The node map.
    pub map: NodeMap,
    /// The service.
    pub svc: String,
    open:
        std::cell::RefCell<std::collections::HashMap<String, Box<dyn crate::transport::Transport>>>,
}

impl MapOps {
    /// The operations on `svc` through the nodes of `map`.
    pub fn new(map: NodeMap, svc: &str) -> Self {
        Self {
            map,
            svc: svc.to_string(),
            open: Default::default(),
        }
    }

    /// Runs `f` with `node`'s transport, connecting on first use; an error forgets it.
    fn with<T>(
        &self,
        node: &str,
        f: impl FnOnce(&dyn crate::transport::Transport) -> Result<T>,
    ) -> Result<T> {
        let mut open = self.open.borrow_mut();
        if !open.contains_key(node) {
            open.insert(node.to_string(), connect(&self.map, node)?);
        }
        let t = open
            .get(node)
            .ok_or_else(|| color_eyre::eyre::eyre!("no transport to {node}"))?;
        let r = f(t.as_ref());
        if r.is_err() {
            open.remove(node);
        }
        r
    }
}

impl NodeOps for MapOps {
    fn answer(&self, node: &str) -> PeerAnswer {
        let timeout = self.map.status_timeout();
        let asked = self.with(node, |t| {
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

    fn act(&self, node: &str, action: &Action, flags: &SvcFlags) -> Result<ActionResult> {
        let args = client::svc(&self.svc, action, flags);
        let out = self.with(node, |t| t.call(&args, None, Some(ACTION_TIMEOUT)))?;
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
        let out = self.with(node, |t| t.call_lines(&args, on_line, Some(ACTION_TIMEOUT)))?;
        Ok(result(out))
    }
}

fn result(out: crate::transport::CallOutput) -> ActionResult {
    let mut output = out.stdout_text();
    output.push_str(&out.stderr);
    ActionResult {
        ok: out.success,
        output,
    }
}

/// Finds a service's production and DRP nodes by asking the nodes of the map.
pub fn service_nodes(map: &NodeMap, svc: &str) -> Result<ServiceNodes> {
    let mut why = Vec::new();
    for node in map.nodes() {
        let t = match connect(map, &node) {
            Ok(t) => t,
            Err(e) => {
                why.push(format!("{node}: {e:#}"));
                continue;
            }
        };
        let args = client::agent_services();
        match t.call(&args, None, Some(map.status_timeout())) {
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
