//! Starting or resuming a run of a service: one run per service at a time (a lock next to the
//! journals), an unfinished run found and continued after re-verification, reports written at
//! the end of every run.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use color_eyre::eyre::{bail, eyre, Result, WrapErr};
use rustix::fs::{flock, FlockOperation};

use super::engine::{Engine, Operator, RunSpec};
use super::journal::{read_verified, runs_dir, Journal, Record};
use super::nodes::{service_nodes, MapOps};
use super::plan::Mode;
use super::report;
use crate::transport::Pool;

/// The outcome of `run`: whether it succeeded, its id and its report files.
pub struct Outcome {
    /// The run succeeded.
    pub ok: bool,
    /// Run id.
    pub run: String,
    /// The Markdown report.
    pub report: PathBuf,
    /// Recovery time, seconds (from the report), when the run measured one.
    pub rto_s: Option<f64>,
    /// Recovery point, seconds of writes lost (from the report), when the run measured one.
    pub rpo_s: Option<i64>,
}

/// The journal of the unfinished run of `svc`, if there is one.
pub fn unfinished(dir: &Path, svc: &str) -> Result<Option<(PathBuf, Vec<Record>)>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(None);
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().and_then(|x| x.to_str()) != Some("jsonl") {
            continue;
        }
        let recs = read_verified(&path)?;
        let mine = recs.first().is_some_and(|r| r.detail["service"] == svc);
        let open = recs.last().is_some_and(|r| !r.kind.ends_run());
        if mine && open {
            return Ok(Some((path, recs)));
        }
    }
    Ok(None)
}

/// An unfinished run as the console announces it at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfinished {
    /// The service.
    pub svc: String,
    /// `REHEARSAL`, `DISASTER`, `FAILBACK`.
    pub mode: String,
    /// The run id.
    pub run: String,
    /// The last step the journal names, and what happened to it (`step_done`, ...).
    pub last_step: Option<(String, String)>,
}

impl Unfinished {
    /// The console command that resumes it.
    pub fn resume_command(&self) -> &'static str {
        match self.mode.as_str() {
            "DISASTER" => ":disaster",
            "FAILBACK" => ":failback",
            _ => ":rehearse",
        }
    }
}

/// Every unfinished run in `dir` (unreadable journals are skipped: the run itself reports them).
pub fn unfinished_runs(dir: &Path) -> Vec<Unfinished> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().and_then(|x| x.to_str()) != Some("jsonl") {
            continue;
        }
        let Ok(recs) = read_verified(&path) else {
            continue;
        };
        let (Some(first), Some(last)) = (recs.first(), recs.last()) else {
            continue;
        };
        if last.kind.ends_run() {
            continue;
        }
        let mode: Option<Mode> = serde_json::from_value(first.detail["mode"].clone()).ok();
        let last_step = recs.iter().rev().find_map(|r| {
            let kind = serde_json::to_value(r.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            r.step.clone().map(|s| (s, kind))
        });
        out.push(Unfinished {
            svc: first.detail["service"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            mode: mode.map(|m| m.banner().to_string()).unwrap_or_default(),
            run: first.run.clone(),
            last_step,
        });
    }
    out.sort_by(|a, b| a.run.cmp(&b.run));
    out
}

fn new_run_id(svc: &str) -> String {
    let now = chrono::Utc::now();
    format!(
        "{svc}-{}-{:04x}",
        now.format("%Y%m%dT%H%M%SZ"),
        now.timestamp_subsec_micros() & 0xffff
    )
}

/// Runs (or resumes) the `mode` runbook of `svc` on the nodes of `pool`, through its sessions.
pub fn run(mode: Mode, svc: &str, pool: &Pool, op: &mut dyn Operator) -> Result<Outcome> {
    if !crate::config::is_valid_service_name(svc) {
        bail!("invalid service name '{svc}'");
    }
    let dir = runs_dir();
    std::fs::create_dir_all(&dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
    let lock_path = dir.join(format!("{svc}.lock"));
    let mut lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)?;
    if flock(&lock, FlockOperation::NonBlockingLockExclusive).is_err() {
        let holder = std::fs::read_to_string(&lock_path).unwrap_or_default();
        bail!(
            "a runbook of {svc} is already running ({}); two cannot run at once",
            holder.trim()
        );
    }
    lock.set_len(0)?;
    let _ = write!(lock, "pid {}", std::process::id());

    let nodes = service_nodes(pool, svc)?;
    let (Some(prod), Some(drp)) = (nodes.nodes.first(), nodes.drpnodes.first()) else {
        bail!("{svc} needs a node and a DRP node (nodes and drpnodes)");
    };
    let ops = MapOps::new(pool, svc);
    let spec = RunSpec {
        mode,
        svc: svc.to_string(),
        prod: prod.clone(),
        drp: drp.clone(),
    };
    let found = unfinished(&dir, svc)?;
    let (ok, path) = match found {
        Some((path, recs)) => {
            let was: Mode = serde_json::from_value(recs[0].detail["mode"].clone())
                .map_err(|e| eyre!("{}: {e}", path.display()))?;
            if was != mode {
                bail!("an unfinished {} run of {svc} exists ({}): finish it with `drpilot drp {}` first", was.banner(), path.display(), was.banner().to_lowercase());
            }
            op.say(&format!(
                "resuming unfinished run {} ({} records); re-reading both nodes",
                recs[0].run,
                recs.len()
            ));
            let (journal, recs) = Journal::reopen(&path)?;
            let (mut engine, done) = Engine::resume(spec, &ops, op, journal, &recs)?;
            (engine.run(&done)?, path)
        }
        None => {
            let run = new_run_id(svc);
            let journal = Journal::create(&dir, &run)?;
            let path = journal.path().to_path_buf();
            let mut engine = Engine::start(spec, &ops, op, journal)?;
            (engine.run(&Default::default())?, path)
        }
    };
    let rep = report::load(&path)?;
    let md = report_path(&path, &rep.run, "md");
    crate::paths::write_atomic(&md, report::markdown(&rep).as_bytes())?;
    crate::paths::write_atomic(
        &report_path(&path, &rep.run, "html"),
        report::html(&rep).as_bytes(),
    )?;
    crate::paths::write_atomic(
        &report_path(&path, &rep.run, "json"),
        report::json(&rep).as_bytes(),
    )?;
    Ok(Outcome {
        ok,
        rto_s: rep.rto_s,
        rpo_s: rep.rpo_s,
        run: rep.run,
        report: md,
    })
}

/// A report's file beside the run's journal: `RUN.EXT`. Built from the run id, never by
/// swapping extensions: a service name has dots (`busybox.opensvc.com`).
fn report_path(journal: &std::path::Path, run: &str, ext: &str) -> std::path::PathBuf {
    journal.with_file_name(format!("{run}.{ext}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_keep_a_dotted_service_name() {
        let j = std::path::Path::new("/runs/busybox.opensvc.com-20261124T205905Z-8ed3.jsonl");
        assert_eq!(
            report_path(j, "busybox.opensvc.com-20261124T205905Z-8ed3", "md"),
            std::path::Path::new("/runs/busybox.opensvc.com-20261124T205905Z-8ed3.md")
        );
    }
}
