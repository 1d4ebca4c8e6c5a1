//! The runs of a runs directory for `drpilot report --list` and `report latest`: each run's id,
//! service, mode, outcome, start and operator, newest first. A journal that does not read (not
//! JSON, a broken chain, no run) is listed as unreadable with why, and never hides the others.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use color_eyre::eyre::{Result, WrapErr};
use serde::Serialize;

use super::load;

/// One journal of the runs directory.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Listed {
    /// A run whose journal reads and verifies.
    Run {
        /// The run id.
        run: String,
        /// The service.
        service: String,
        /// rehearsal, disaster, failback.
        mode: String,
        /// succeeded, aborted, in progress.
        outcome: String,
        /// When it started (UTC).
        started: String,
        /// Who started it, as the journal says.
        operator: String,
        /// The journal.
        journal: PathBuf,
    },
    /// A journal that cannot be read.
    Unreadable {
        /// The journal.
        journal: PathBuf,
        /// Why.
        reason: String,
    },
}

fn started_at(l: &Listed) -> Option<DateTime<Utc>> {
    match l {
        Listed::Run { started, .. } => DateTime::parse_from_rfc3339(started)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        Listed::Unreadable { .. } => None,
    }
}

/// Every journal of `dir`, newest run first, the unreadable ones last (by name). A missing
/// directory has no run.
pub fn list_runs(dir: &Path) -> Result<Vec<Listed>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).wrap_err_with(|| format!("reading {}", dir.display())),
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().and_then(|x| x.to_str()) != Some("jsonl") {
            continue;
        }
        out.push(match load(&path) {
            Ok(r) => Listed::Run {
                run: r.run,
                service: r.service,
                mode: r.mode,
                outcome: r.outcome,
                started: r.started,
                operator: r.operator,
                journal: path,
            },
            Err(e) => Listed::Unreadable {
                journal: path,
                reason: format!("{e:#}"),
            },
        });
    }
    out.sort_by(|a, b| {
        let name = |l: &Listed| match l {
            Listed::Run { run, .. } => run.clone(),
            Listed::Unreadable { journal, .. } => journal.display().to_string(),
        };
        match (started_at(a), started_at(b)) {
            (Some(x), Some(y)) => y.cmp(&x).then_with(|| name(b).cmp(&name(a))),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => name(a).cmp(&name(b)),
        }
    });
    Ok(out)
}

/// The newest readable run of `dir`: its id and journal.
pub fn latest_run(dir: &Path) -> Result<Option<(String, PathBuf)>> {
    Ok(list_runs(dir)?.into_iter().find_map(|l| match l {
        Listed::Run { run, journal, .. } => Some((run, journal)),
        Listed::Unreadable { .. } => None,
    }))
}
