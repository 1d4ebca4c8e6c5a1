//! Hand-written journals for the report's tests: records chained as the journal chains them.

use std::path::{Path, PathBuf};

use crate::protocol::journal::{EntryKind, Record, GENESIS};

/// One record to write: kind, step, time, detail.
pub type Line<'a> = (EntryKind, Option<&'a str>, &'a str, serde_json::Value);

/// The records of run `run`, hash-chained.
pub fn chain(run: &str, lines: &[Line]) -> Vec<Record> {
    let mut prev = GENESIS.to_string();
    lines
        .iter()
        .enumerate()
        .map(|(i, (kind, step, ts, detail))| {
            let mut r = Record {
                seq: i as u64,
                ts: ts.to_string(),
                run: run.into(),
                kind: *kind,
                step: step.map(str::to_string),
                detail: detail.clone(),
                prev: prev.clone(),
                hash: String::new(),
            };
            r.hash = r.digest(&prev);
            prev = r.hash.clone();
            r
        })
        .collect()
}

/// Writes `recs` as the journal `DIR/RUN.jsonl`.
pub fn write(dir: &Path, recs: &[Record]) -> PathBuf {
    let path = dir.join(format!("{}.jsonl", recs[0].run));
    let text: String = recs
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    std::fs::write(&path, text).unwrap();
    path
}

/// A `run_started` detail.
pub fn started(mode: &str, plan: &[&str]) -> serde_json::Value {
    serde_json::json!({"mode": mode, "service": "busybox", "production": "deb1", "drp": "deb2",
        "operator": "alice", "plan": plan})
}
