//! One run verb on one node (`drpilot agent run VERB`), its answer read fail-closed: only an
//! answer that parses counts; an error exit, garbage or silence says nothing about the run.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use crate::agent::peer_answer::EXIT_NOT_CONFIGURED;
use crate::protocol::run::{RunVerb, EXIT_REFUSED};
use crate::transport::agent_limits::Lack;
use crate::transport::{client, Pool, Transport};

/// How long a node that did not answer is not asked again (each record of a run would
/// otherwise wait a whole deadline for a node that hangs).
const QUIET: Duration = Duration::from_secs(30);

/// The nodes that did not answer a run verb lately, and when.
static SILENT: Mutex<Option<HashMap<String, Instant>>> = Mutex::new(None);

fn silent_since(node: &str) -> Option<Instant> {
    let map = SILENT.lock().unwrap_or_else(|e| e.into_inner());
    map.as_ref()?
        .get(node)
        .copied()
        .filter(|t| t.elapsed() < QUIET)
}

fn mark(node: &str, silent: bool) {
    let mut map = SILENT.lock().unwrap_or_else(|e| e.into_inner());
    let map = map.get_or_insert_with(HashMap::new);
    if silent {
        map.insert(node.to_string(), Instant::now());
    } else {
        map.remove(node);
    }
}

/// Whether the node map says `node`'s agent holds no run lease or journal.
fn keeps_no_run_state(pool: &Pool, node: &str) -> bool {
    pool.map()
        .options_of(node)
        .lacks()
        .contains(&Lack::RunState)
}

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
    /// Not asked: the node map says its agent keeps no run state (an OpenSVC node); the run's
    /// lease and journal stay on the seat for it.
    Stateless,
}

/// Runs `verb` on `node` with `input` on its stdin and reads its JSON answer, within the node
/// map's status deadline. A node that could not be reached or stayed silent is not asked again
/// for a while: it answers [`Reply::Failed`] at once.
pub fn call<T: DeserializeOwned>(
    pool: &Pool,
    node: &str,
    verb: &RunVerb,
    input: Option<&[u8]>,
) -> Reply<T> {
    if keeps_no_run_state(pool, node) {
        return Reply::Stateless;
    }
    if let Some(t) = silent_since(node) {
        return Reply::Failed(format!(
            "did not answer {}s ago (asked again after {}s)",
            t.elapsed().as_secs(),
            QUIET.as_secs()
        ));
    }
    let args = client::agent_run(verb);
    let timeout = pool.map().status_timeout();
    let out = pool.with(node, |t| match input {
        Some(bytes) => {
            let mut r: &[u8] = bytes;
            t.call(&args, Some(&mut r), Some(timeout))
        }
        None => t.call(&args, None, Some(timeout)),
    });
    let out = match out {
        Ok(out) => out,
        Err(e) => {
            mark(node, true);
            return Reply::Failed(format!("{e:#}"));
        }
    };
    mark(node, out.timed_out);
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
