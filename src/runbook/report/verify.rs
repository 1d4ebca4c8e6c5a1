//! What `drpilot report --verify RUN` checks, one line each: the journal's hash chain, that the
//! JSON report names the journal's last hash, the signatures of RUN.md and RUN.json, and (the
//! lead's hook) the chain heads the nodes stored.

use std::path::Path;

use serde::Serialize;

use super::report_path;
use crate::runbook::journal::{read_verified, Record};
use crate::runbook::signing;
use crate::transport::NodeMap;

/// How a check went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// It holds.
    Ok,
    /// It does not: `report --verify` exits non-zero.
    Failed,
    /// Nothing to check (no signature, no report file): said, not a failure.
    Unsigned,
    /// Not checked from here (no node map): said, not a failure.
    Skipped,
}

/// One check of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked.
    pub what: String,
    /// How it went.
    pub verdict: Verdict,
    /// Why (what was found).
    pub detail: String,
}

impl Check {
    fn new(what: impl Into<String>, verdict: Verdict, detail: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            verdict,
            detail: detail.into(),
        }
    }

    /// The check as one line: `ok`, `FAILED` or `unsigned`, what, why.
    pub fn line(&self) -> String {
        let word = match self.verdict {
            Verdict::Ok => "ok",
            Verdict::Failed => "FAILED",
            Verdict::Unsigned => "unsigned",
            Verdict::Skipped => "skipped",
        };
        format!("{word:<8} {}: {}", self.what, self.detail)
    }
}

/// The run's journal compared with the copies and chain heads its nodes stored (`nodes` is the
/// operator's node map, when `--nodes` or the default map exists; `local` the journal's records
/// when its chain verified): a journal rewritten or cut on this seat fails here even when its
/// own chain verifies.
pub fn node_checks(run: &str, local: Option<&[Record]>, nodes: Option<&NodeMap>) -> Vec<Check> {
    const WHAT: &str = "the nodes' copies";
    let (Some(local), Some(map)) = (local, nodes) else {
        let why = if nodes.is_none() {
            "not compared: no node map (--nodes FILE)"
        } else {
            "not compared: this seat's journal does not verify"
        };
        return vec![Check::new(WHAT, Verdict::Skipped, why)];
    };
    let Ok(id) = run.parse::<crate::protocol::names::RunId>() else {
        return vec![Check::new(
            WHAT,
            Verdict::Failed,
            format!("invalid run id {run}"),
        )];
    };
    let pool = crate::transport::Pool::new(map.clone());
    match crate::runbook::on_nodes::compare_with_nodes(&pool, &id, local) {
        Ok(lines) => lines
            .into_iter()
            .map(|(ok, text)| {
                let verdict = if ok { Verdict::Ok } else { Verdict::Failed };
                Check::new(WHAT, verdict, text)
            })
            .collect(),
        Err(e) => vec![Check::new(
            WHAT,
            Verdict::Failed,
            format!("the nodes could not be asked: {e:#}"),
        )],
    }
}

/// Every check of the run whose journal is `journal`, signatures against `allowed`.
pub fn verify_run(
    journal: &Path,
    run: &str,
    allowed: &Path,
    nodes: Option<&NodeMap>,
) -> Vec<Check> {
    let mut checks = Vec::new();
    let name = |ext: &str| format!("{run}.{ext}");
    let records = match read_verified(journal) {
        Ok(recs) if recs.is_empty() => {
            checks.push(Check::new(
                "journal hash chain",
                Verdict::Failed,
                format!("{} holds no record", journal.display()),
            ));
            None
        }
        Ok(recs) => {
            let head = recs.last().map(|r| r.hash.clone()).unwrap_or_default();
            checks.push(Check::new(
                "journal hash chain",
                Verdict::Ok,
                format!("{} records, last hash {head}", recs.len()),
            ));
            Some(recs)
        }
        Err(e) => {
            checks.push(Check::new(
                "journal hash chain",
                Verdict::Failed,
                format!("{e:#}"),
            ));
            None
        }
    };
    let json = report_path(journal, run, "json");
    if let (Some(recs), true) = (&records, json.is_file()) {
        let head = recs.last().map(|r| r.hash.as_str()).unwrap_or_default();
        let named = std::fs::read_to_string(&json)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["journal_hash"].as_str().map(str::to_string));
        checks.push(match named {
            Some(h) if h == head => Check::new(
                format!("{} names the journal", name("json")),
                Verdict::Ok,
                "its journal hash is the journal's last hash",
            ),
            Some(h) => Check::new(
                format!("{} names the journal", name("json")),
                Verdict::Failed,
                format!("the report names journal hash {h}, the journal ends at {head}"),
            ),
            None => Check::new(
                format!("{} names the journal", name("json")),
                Verdict::Failed,
                "the report is not JSON with a journal_hash",
            ),
        });
    }
    for ext in ["md", "json"] {
        let file = report_path(journal, run, ext);
        let what = format!("{} signature", name(ext));
        checks.push(if !file.is_file() {
            Check::new(
                what,
                Verdict::Unsigned,
                format!("no report file (`drpilot report {run} --write` writes it)"),
            )
        } else if !signing::sig_path(&file).is_file() {
            Check::new(what, Verdict::Unsigned, format!("no {}.sig", name(ext)))
        } else {
            match signing::verify(&file, allowed) {
                Ok(v) => Check::new(
                    what,
                    Verdict::Ok,
                    format!("good signature by {} ({})", v.principal, v.detail),
                ),
                Err(e) => Check::new(what, Verdict::Failed, format!("{e:#}")),
            }
        });
    }
    checks.extend(node_checks(run, records.as_deref(), nodes));
    checks
}
