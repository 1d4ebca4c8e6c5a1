//! The node's side of a runbook run's state (`drpilot agent run VERB`): the service's lease and
//! this node's copy of the run's journal, under `/var/lib/drpilot/SVC/runs/`. The node answers
//! only for services it has a config of, and builds every path itself from checked names.

mod follow;
pub mod journal;
pub mod lease;
pub mod store;

use std::io::Read;

use chrono::{DateTime, Utc};
use color_eyre::eyre::{bail, Result, WrapErr};

pub use follow::LeaseFollow;

use crate::action_log::CHANGE_NOTICE;
use crate::agent::peer_answer::EXIT_NOT_CONFIGURED;
use crate::paths::NodeEnv;
use crate::protocol::names::{RunId, ServiceName};
use crate::protocol::run::{RunVerb, EXIT_REFUSED};

/// What a verb prints and how it exits: the CLI writes it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The exit code: 0, [`EXIT_REFUSED`] or [`EXIT_NOT_CONFIGURED`].
    pub code: u8,
    /// One JSON line (empty when refused before any answer).
    pub stdout: String,
    /// Warnings and refusals for the operator, one per line.
    pub stderr: Vec<String>,
}

impl Reply {
    fn json(value: &impl serde::Serialize, ok: bool, stderr: Vec<String>) -> Result<Self> {
        let code = if ok {
            0
        } else {
            u8::try_from(EXIT_REFUSED).unwrap_or(1)
        };
        Ok(Self {
            code,
            stdout: serde_json::to_string(value)?,
            stderr,
        })
    }
}

/// Runs a verb on this node, reading `append`'s records from `stdin`.
pub fn run(env: &NodeEnv, verb: &RunVerb, stdin: &mut dyn Read) -> Result<Reply> {
    run_at(env, verb, stdin, Utc::now())
}

/// [`run`] at a given time of this node's clock (the tests age leases with it).
pub fn run_at(
    env: &NodeEnv,
    verb: &RunVerb,
    stdin: &mut dyn Read,
    now: DateTime<Utc>,
) -> Result<Reply> {
    let (svc, run) = match verb {
        RunVerb::Lease { req } => (Some(&req.svc), Some(&req.run)),
        RunVerb::Release { svc, run, .. }
        | RunVerb::Append { svc, run, .. }
        | RunVerb::Read { svc, run } => (Some(svc), Some(run)),
        RunVerb::List { svc } => (Some(svc), None),
        RunVerb::Leases => (None, None),
    };
    if let Some(svc) = svc {
        if let Some(refusal) = not_configured(env, svc) {
            return Ok(refusal);
        }
        if let Some(run) = run {
            check_run_of(svc, run)?;
        }
    }
    match verb {
        RunVerb::Lease { req } => {
            let ended = |r: &str| journal::ended(env, &req.svc, r);
            let out = lease::take(env, req, now, &ended)?;
            if out.changed {
                notify(env, &req.svc);
            }
            Reply::json(&out.answer, out.answer.granted, Vec::new())
        }
        RunVerb::Release { svc, run, seat } => {
            let out = lease::release(env, svc, run, seat, now)?;
            if out.changed {
                notify(env, svc);
            }
            Reply::json(&out.answer, true, Vec::new())
        }
        RunVerb::Append { svc, run, seat } => {
            let mut input = String::new();
            stdin
                .read_to_string(&mut input)
                .wrap_err("reading the records on stdin")?;
            let answer = journal::append(env, svc, run, seat, &input)?;
            Reply::json(&answer, answer.ok, Vec::new())
        }
        RunVerb::Read { svc, run } => Reply::json(&journal::read(env, svc, run)?, true, Vec::new()),
        RunVerb::List { svc } => {
            let mut warnings = Vec::new();
            let runs = journal::list(env, svc, &mut warnings)?;
            Reply::json(&runs, true, warnings)
        }
        RunVerb::Leases => {
            let mut warnings = Vec::new();
            let leases = lease::all(env, now, &mut warnings)?;
            Reply::json(&leases, true, warnings)
        }
    }
}

/// The refusal for a service this node has no config of (a seat treats it as "not here").
fn not_configured(env: &NodeEnv, svc: &ServiceName) -> Option<Reply> {
    let cfg = env.config_path(svc);
    (!cfg.exists()).then(|| Reply {
        code: EXIT_NOT_CONFIGURED,
        stdout: String::new(),
        stderr: vec![format!(
            "error: service {svc} is not configured on {} (no {})",
            env.nodename,
            cfg.display()
        )],
    })
}

/// A run's state is kept by the service the run is of, never by another one's.
fn check_run_of(svc: &ServiceName, run: &RunId) -> Result<()> {
    if run.service() != Some(svc.as_ref()) {
        bail!(
            "--run {run} is not a run of service {svc} (a run id is {svc}-YYYYMMDDTHHMMSSZ-XXXX)"
        );
    }
    Ok(())
}

/// Rewrites the service's change notice so every watch of the node sends the lease at once
/// (best effort: a watch that misses it sends the lease with its next heartbeat).
fn notify(env: &NodeEnv, svc: &str) {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let path = env.state_dir(svc).join(CHANGE_NOTICE);
    let _ = std::fs::write(path, format!("{} {stamp}\n", std::process::id()));
}

#[cfg(test)]
mod tests;
