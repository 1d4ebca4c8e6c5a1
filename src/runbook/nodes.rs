//! What a runbook needs from the nodes: a service's status and the result of a verb, through the
//! same transports as the agent (local lab or SSH).

use std::time::Duration;

use color_eyre::eyre::{bail, eyre, Result, WrapErr};

use crate::agent::watch::ServiceNodes;
use crate::status::ServiceStatus;
use crate::transport::{connect, NodeMap};

/// How long a status query may take.
const STATUS_TIMEOUT: Duration = Duration::from_secs(20);
/// How long an action may take.
const ACTION_TIMEOUT: Duration = Duration::from_secs(3600);

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
    /// The service's status on `node`; an error when the node cannot be reached.
    fn status(&self, node: &str) -> Result<ServiceStatus>;
    /// Runs `drpilot svc SVC ARGS` on `node`.
    fn act(&self, node: &str, args: &[&str]) -> Result<ActionResult>;
}

/// The transports of a node map.
pub struct MapOps {
    /// The node map.
    pub map: NodeMap,
    /// The service.
    pub svc: String,
}

impl NodeOps for MapOps {
    fn status(&self, node: &str) -> Result<ServiceStatus> {
        let t = connect(&self.map, node)?;
        let args: Vec<String> = ["svc", &self.svc, "print", "status", "--format", "json"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let out = t.call(&args, None, Some(STATUS_TIMEOUT))?;
        if !out.success {
            bail!("{node}: {}", out.failure_reason());
        }
        serde_json::from_slice(&out.stdout)
            .wrap_err_with(|| format!("reading the status of {} on {node}", self.svc))
    }

    fn act(&self, node: &str, args: &[&str]) -> Result<ActionResult> {
        let t = connect(&self.map, node)?;
        let mut argv = vec!["svc".to_string(), self.svc.clone()];
        argv.extend(args.iter().map(|s| s.to_string()));
        let out = t.call(&argv, None, Some(ACTION_TIMEOUT))?;
        let mut output = out.stdout_text();
        output.push_str(&out.stderr);
        Ok(ActionResult {
            ok: out.success,
            output,
        })
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
        let args = vec!["agent".to_string(), "services".to_string()];
        match t.call(&args, None, Some(STATUS_TIMEOUT)) {
            Ok(out) if out.success => {
                let list: Vec<ServiceNodes> = serde_json::from_slice(&out.stdout)
                    .wrap_err_with(|| format!("services of {node}"))?;
                if let Some(s) = list.into_iter().find(|s| s.name == svc) {
                    return Ok(s);
                }
            }
            Ok(out) => why.push(format!("{node}: {}", out.failure_reason())),
            Err(e) => why.push(format!("{node}: {e:#}")),
        }
    }
    Err(eyre!(
        "no node of the map knows service {svc}: {}",
        why.join("; ")
    ))
}
