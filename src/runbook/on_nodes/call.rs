//! One run verb on one node (`drpilot agent run VERB`), its answer read fail-closed: only an
//! answer that parses counts; an error exit, garbage or silence says nothing about the run.

use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::agent::peer_answer::EXIT_NOT_CONFIGURED;
use crate::protocol::run::{RunVerb, EXIT_REFUSED};
use crate::transport::{client, Pool, Transport};

/// How long a run verb may take on a node (a lease or an append is a file write).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// What a node answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply<T> {
    /// Done; the node's answer.
    Done(T),
    /// Refused; the node's answer says why.
    Refused(T),
    /// The node has no config of the service: it is not one of its nodes.
    NotConfigured,
    /// No usable answer: unreachable, silent, an error exit or garbage (the reason).
    Failed(String),
}

/// Runs `verb` on `node` with `input` on its stdin and reads its JSON answer.
pub fn call<T: DeserializeOwned>(
    pool: &Pool,
    node: &str,
    verb: &RunVerb,
    input: Option<&[u8]>,
) -> Reply<T> {
    let args = client::agent_run(verb);
    let out = pool.with(node, |t| match input {
        Some(bytes) => {
            let mut r: &[u8] = bytes;
            t.call(&args, Some(&mut r), Some(CALL_TIMEOUT))
        }
        None => t.call(&args, None, Some(CALL_TIMEOUT)),
    });
    let out = match out {
        Ok(out) => out,
        Err(e) => return Reply::Failed(format!("{e:#}")),
    };
    let parsed = || serde_json::from_slice::<T>(out.stdout.trim_ascii());
    match out.code {
        Some(0) => match parsed() {
            Ok(t) => Reply::Done(t),
            Err(e) => Reply::Failed(format!("answered garbage ({e})")),
        },
        Some(c) if c == EXIT_REFUSED => match parsed() {
            Ok(t) => Reply::Refused(t),
            Err(e) => Reply::Failed(format!("refused with garbage ({e})")),
        },
        Some(c) if c == i32::from(EXIT_NOT_CONFIGURED) => Reply::NotConfigured,
        _ => Reply::Failed(out.failure_reason()),
    }
}
