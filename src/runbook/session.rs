//! Starting or resuming a run of a service: one run per service at a time (a lock next to the
//! journals), an unfinished run found and continued after re-verification, reports written at
//! the end of every run.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use color_eyre::eyre::{bail, eyre, Result, WrapErr};
use rustix::fs::{flock, FlockOperation};

use super::engine::{Engine, Operator, RunSpec};
use super::journal::{read_verified, runs_dir, Journal, Record};
use super::nodes::{service_nodes, MapOps};
use super::on_nodes::lease::{self, Claim, Keeper, LeaseSpec};
use super::on_nodes::mirror::{self, Mirror};
use super::on_nodes::reconcile::{altered, reconcile, Copy};
use super::on_nodes::RunOnNodes;
use super::plan::Mode;
use super::report;
use super::seat::{holder_is_gone, seat_detail, this_seat};
use crate::protocol::names::{RunId, ServiceName};
use crate::protocol::run::{Holder, LeaseView};
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
    /// How the run ended, as its report says: `succeeded`, `aborted`, `in progress`.
    pub outcome: String,
    /// For a run that stopped before its end: in what state it left each node, and the way
    /// back (the banner and the report say it).
    pub left: Option<String>,
}

/// The journals in `dir` of runs of `svc`, known by their file names (`SVC-TIME-XXXX.jsonl`):
/// a file of another service, or not named as a run, is never opened.
fn journals_of(dir: &Path, svc: &str) -> Vec<(RunId, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(RunId, PathBuf)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().and_then(|x| x.to_str()) == Some("jsonl"))
        .filter_map(|p| {
            let id: RunId = p.file_stem()?.to_str()?.parse().ok()?;
            (id.service() == Some(svc)).then_some((id, p))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The journal of the unfinished run of `svc` on this seat, if there is one. A journal of
/// another service never blocks this one; a journal of this one that does not verify does.
pub fn unfinished(dir: &Path, svc: &str) -> Result<Option<(PathBuf, Vec<Record>)>> {
    for (_, path) in journals_of(dir, svc) {
        let recs = read_verified(&path)?;
        if recs.last().is_some_and(|r| !r.kind.ends_run()) {
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

/// An unfinished run found on this seat or the nodes, its copies compared.
struct Found {
    run: RunId,
    records: Vec<Record>,
}

impl Found {
    /// Its runbook, as its first record says.
    fn mode(&self) -> Result<Mode> {
        let first = self.records.first().map(|r| r.detail["mode"].clone());
        serde_json::from_value(first.unwrap_or_default())
            .map_err(|e| eyre!("run {}: {e}", self.run))
    }
}

/// The runs each node that answered listed: what the merge of earlier runs works from.
type Listed = Vec<(String, Vec<crate::protocol::run::RunSummary>)>;

/// The unfinished run of `svc`, from this seat's journals and the nodes' (the longest
/// consistent copy); an altered copy refuses, and a seat copy behind the nodes is brought
/// up to date.
fn find_unfinished(
    pool: &Pool,
    nodes: &[String],
    dir: &Path,
    svc: &ServiceName,
) -> Result<(Option<Found>, Listed)> {
    let mut ids: BTreeSet<String> = BTreeSet::new();
    if let Some((path, _)) = unfinished(dir, svc)? {
        if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
            ids.insert(stem.to_string());
        }
    }
    let mut journals = Vec::new();
    let mut listed = Listed::new();
    for node in nodes {
        if let Some(list) = mirror::list(pool, node, svc) {
            ids.extend(list.iter().filter(|s| !s.ended).map(|s| s.run.clone()));
            listed.push((node.clone(), list));
        }
    }
    let mut open = Vec::new();
    for id in ids {
        let run: RunId = id.parse().map_err(|e| eyre!("{e}"))?;
        let local_path = dir.join(format!("{run}.jsonl"));
        let local = if local_path.exists() {
            Some(read_verified(&local_path)?)
        } else {
            None
        };
        journals.clear();
        for node in nodes {
            if let Some(j) = mirror::read(pool, node, svc, &run) {
                journals.push((node.clone(), j));
            }
        }
        let mut copies: Vec<Copy<'_>> = journals.iter().map(|(n, j)| Copy::node(n, j)).collect();
        if let Some(l) = &local {
            copies.push(Copy {
                place: "this seat".into(),
                records: l,
                heads: &[],
            });
        }
        let (truth, found) = reconcile(&copies);
        if altered(&found) {
            let what: Vec<String> = found.iter().map(ToString::to_string).collect();
            bail!(
                "the journal of run {run} of {svc} was altered ({}); nothing is resumed from it:                  `drpilot report --verify {run}` shows the details",
                what.join("; ")
            );
        }
        if truth.is_empty() {
            continue;
        }
        if local.as_ref().map(Vec::len) != Some(truth.len()) {
            Journal::adopt(dir, run.as_ref(), &truth)?;
        }
        if truth.last().is_some_and(|r| !r.kind.ends_run()) {
            open.push(Found {
                run,
                records: truth,
            });
        }
    }
    match open.len() {
        0 | 1 => Ok((open.pop(), listed)),
        _ => bail!(
            "{svc} has {} unfinished runs ({}): finish or abort them one at a time",
            open.len(),
            open.iter()
                .map(|f| f.run.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// How this seat may claim the lease of unfinished run `run`, from the leases the nodes report:
/// nobody's (fresh), a holder that stopped renewing or whose process is gone (takeover), or a
/// live holder (refused).
fn claim_for(
    run: &RunId,
    views: &[(String, LeaseView)],
    takeover: bool,
    me: &Holder,
) -> Result<Claim> {
    let Some((node, v)) = views.iter().find(|(_, v)| v.lease.run == run.as_ref()) else {
        return Ok(if takeover {
            Claim::Takeover
        } else {
            Claim::Fresh
        });
    };
    let holder = &v.lease.holder;
    if holder.seat == me.seat {
        return Ok(Claim::Fresh);
    }
    let gone = holder_is_gone(holder);
    let described = lease::describe(node, v);
    if !v.expired && !gone {
        if takeover {
            bail!("{described}; a run whose seat still renews its lease is never taken over");
        }
        bail!("{described}; two runs of a service never run at once: wait for it to end");
    }
    if takeover {
        return Ok(if v.expired {
            Claim::Takeover
        } else {
            Claim::HolderGone
        });
    }
    // The same person on the same machine, whose process died: the same command goes on.
    if gone && holder.user == me.user {
        return Ok(if v.expired {
            Claim::Takeover
        } else {
            Claim::HolderGone
        });
    }
    bail!("{described}");
}

/// Runs (or resumes) the `mode` runbook of `svc` on the nodes of `pool`, through its sessions.
pub fn run(mode: Mode, svc: &str, pool: &Pool, op: &mut dyn Operator) -> Result<Outcome> {
    run_seat(Want::Run(mode), svc, pool, op, false)
}

/// Runs (or resumes) the non-disruptive test of `svc`; `keep` leaves its bubble up at the end.
pub fn run_test(svc: &str, pool: &Pool, op: &mut dyn Operator, keep: bool) -> Result<Outcome> {
    run_seat(Want::Run(Mode::Test), svc, pool, op, keep)
}

/// What a seat comes for: a runbook (new, or resuming the unfinished run of that mode), or the
/// takeover of one run, in whatever mode it is.
enum Want {
    Run(Mode),
    Takeover(RunId),
}

/// Takes over unfinished run `run` (whose seat stopped renewing its lease, or died) and resumes
/// it; the caller has passed the typed gate.
pub fn takeover(run: &str, pool: &Pool, op: &mut dyn Operator) -> Result<Outcome> {
    let id: RunId = run.parse().map_err(|e| eyre!("{e}"))?;
    let svc = id
        .service()
        .ok_or_else(|| eyre!("run id {run} names no service"))?
        .to_string();
    run_seat(Want::Takeover(id), &svc, pool, op, false)
}

/// Who holds the run of `svc` now, as the nodes tell it (the CLI's gate and refusals).
pub fn holder_of(pool: &Pool, svc: &str) -> Vec<(String, LeaseView)> {
    match service_nodes(pool, svc) {
        Ok(n) => {
            let all: Vec<String> = n.nodes.iter().chain(&n.drpnodes).cloned().collect();
            lease::in_force(pool, &all, svc)
        }
        Err(_) => Vec::new(),
    }
}

fn run_seat(
    want: Want,
    svc: &str,
    pool: &Pool,
    op: &mut dyn Operator,
    keep: bool,
) -> Result<Outcome> {
    let svc_name: ServiceName = svc.parse().map_err(|e| eyre!("{e}"))?;
    let dir = runs_dir();
    std::fs::create_dir_all(&dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
    let lock_path = dir.join(format!("{svc}.lock"));
    let mut lock = crate::lock::open_lock_file(&lock_path)?;
    if flock(&lock, FlockOperation::NonBlockingLockExclusive).is_err() {
        let holder = std::fs::read_to_string(&lock_path).unwrap_or_default();
        bail!(
            "a runbook of {svc} is already running on this seat ({}); two cannot run at once",
            holder.trim()
        );
    }
    lock.set_len(0)?;
    let _ = write!(lock, "pid {}", std::process::id());

    let nodes = service_nodes(pool, svc)?;
    let (Some(prod), Some(drp)) = (nodes.nodes.first(), nodes.drpnodes.first()) else {
        bail!("{svc} needs a node and a DRP node (nodes and drpnodes)");
    };
    let all: Vec<String> = nodes.nodes.iter().chain(&nodes.drpnodes).cloned().collect();
    let me = this_seat();
    let ops = MapOps::new(pool, svc);
    let ttl = pool.map().lease_ttl();
    let (found, listed) = find_unfinished(pool, &all, &dir, &svc_name)?;
    let was = found.as_ref().map(Found::mode).transpose()?;
    let mode = match (&want, &found, was) {
        (Want::Run(mode), Some(f), Some(was)) if was != *mode => bail!(
            "an unfinished {} run of {svc} exists ({}): finish it with `drpilot drp {}` first",
            was.banner(),
            f.run,
            was.banner().to_lowercase()
        ),
        (Want::Run(mode), _, _) => *mode,
        (Want::Takeover(id), Some(f), Some(was)) if f.run == *id => was,
        (Want::Takeover(id), _, _) => {
            bail!("run {id} is not an unfinished run of {svc}: nothing to take over")
        }
    };
    let takeover = matches!(want, Want::Takeover(_));
    let spec = RunSpec {
        mode,
        svc: svc.to_string(),
        prod: prod.clone(),
        drp: drp.clone(),
        keep,
        nodes: all.clone(),
    };
    let (ok, path) = match found {
        Some(f) => {
            let views = lease::in_force(pool, &all, svc);
            let claim = claim_for(&f.run, &views, takeover, &me)?;
            let from = views
                .iter()
                .find(|(_, v)| v.lease.run == f.run.as_ref())
                .map(|(_, v)| seat_detail(&v.lease.holder));
            let lease_spec = LeaseSpec {
                svc: svc_name.clone(),
                run: f.run.clone(),
                mode,
                holder: me.clone(),
                started: f.records[0].ts.clone(),
                ttl,
            };
            let keeper = Keeper::take(pool, lease_spec, &all, claim)?;
            merge(pool, &listed, &svc_name, &me, op)?;
            op.say(&format!(
                "resuming unfinished run {} ({} records){}; re-reading both nodes",
                f.run,
                f.records.len(),
                if claim == Claim::Fresh {
                    ""
                } else {
                    ", taken over"
                }
            ));
            let path = dir.join(format!("{}.jsonl", f.run));
            let (journal, recs) = Journal::reopen(&path)?;
            let mirror = Mirror::new(
                pool,
                svc_name.clone(),
                f.run.clone(),
                me.seat.parse().map_err(|e| eyre!("{e}"))?,
                &all,
                recs.clone(),
            );
            let mut sink = RunOnNodes::new(&keeper, mirror);
            let detail = serde_json::json!({
                "seat": seat_detail(&me),
                "takeover": claim != Claim::Fresh,
                "from": from,
            });
            let ok = run_kept(&keeper, || {
                let (mut engine, done) =
                    Engine::resume(spec, &ops, op, journal, &mut sink, &recs, detail)?;
                engine.run(&done)
            });
            (ok?, path)
        }
        None => {
            let run = new_run_id(svc);
            let run_id: RunId = run.parse().map_err(|e| eyre!("{e}"))?;
            let lease_spec = LeaseSpec {
                svc: svc_name.clone(),
                run: run_id.clone(),
                mode,
                holder: me.clone(),
                started: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                ttl,
            };
            let keeper = Keeper::take(pool, lease_spec, &all, Claim::Fresh)?;
            merge(pool, &listed, &svc_name, &me, op)?;
            let journal = Journal::create(&dir, &run)?;
            let path = journal.path().to_path_buf();
            let mirror = Mirror::new(
                pool,
                svc_name.clone(),
                run_id,
                me.seat.parse().map_err(|e| eyre!("{e}"))?,
                &all,
                Vec::new(),
            );
            let mut sink = RunOnNodes::new(&keeper, mirror);
            let ok = run_kept(&keeper, || {
                let mut engine =
                    Engine::start(spec, &ops, op, journal, &mut sink, seat_detail(&me))?;
                engine.run(&Default::default())
            });
            (ok?, path)
        }
    };
    let files = report::write_reports(&path)?;
    let left = read_verified(&path)?
        .last()
        .and_then(|r| r.detail["left"].as_str().map(str::to_string));
    for (file, signed) in &files.signatures {
        op.say(&format!("{}: {signed}", file.display()));
    }
    Ok(Outcome {
        ok,
        rto_s: files.report.rto_s,
        rpo_s: files.report.rpo_s,
        run: files.report.run,
        outcome: files.report.outcome.clone(),
        report: files.markdown,
        left,
    })
}

/// Copies the journals of earlier runs to the nodes that missed them (a disaster's journal,
/// held by the DRP node alone, goes back to production at the next run: the failback).
fn merge(
    pool: &Pool,
    listed: &Listed,
    svc: &ServiceName,
    me: &Holder,
    op: &mut dyn Operator,
) -> Result<()> {
    let seat = me.seat.parse().map_err(|e| eyre!("{e}"))?;
    for line in mirror::merge_runs(pool, listed, svc, &seat) {
        op.say(&line);
    }
    Ok(())
}

/// Runs `body` while a thread renews the lease, then gives the lease back: the run's end, a
/// failure or a lost lease all end it (a crash lets it expire).
fn run_kept(keeper: &Keeper<'_>, body: impl FnOnce() -> Result<bool>) -> Result<bool> {
    let result = std::thread::scope(|s| {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        s.spawn(move || keeper.keep_renewing(stopped));
        let r = body();
        drop(stop);
        r
    });
    keeper.give_back();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(holder: Holder, expired: bool) -> (String, LeaseView) {
        let lease = crate::protocol::run::Lease {
            svc: "busybox".into(),
            run: "busybox-20261201T100000Z-0001".into(),
            mode: Mode::Rehearsal,
            holder,
            step: Some("stop_production".into()),
            index: 4,
            total: 7,
            started: "2026-12-01T10:00:00Z".into(),
            renewed: "2026-12-01T10:01:00Z".into(),
            ttl_s: 30,
        };
        (
            "deb1".into(),
            LeaseView {
                lease,
                renewed_ms_ago: if expired { 45_000 } else { 2_000 },
                expired,
            },
        )
    }

    #[test]
    fn a_live_holder_is_never_taken_over_and_a_dead_one_only_by_its_user_or_a_typed_takeover() {
        let run: RunId = "busybox-20261201T100000Z-0001".parse().unwrap();
        let me = this_seat();
        let other_seat_alive = Holder {
            seat: "other".into(),
            ..me.clone()
        };
        let live = [view(other_seat_alive.clone(), false)];
        let refused = claim_for(&run, &live, true, &me).unwrap_err().to_string();
        assert!(refused.contains("never taken over"), "{refused}");
        assert!(refused.contains("step 4/7 stop_production"), "{refused}");

        let elsewhere = Holder {
            host: "laptop-that-died".into(),
            seat: "other".into(),
            ..me.clone()
        };
        let expired = [view(elsewhere, true)];
        let refused = claim_for(&run, &expired, false, &me)
            .unwrap_err()
            .to_string();
        assert!(refused.contains("drpilot drp takeover"), "{refused}");
        assert_eq!(
            claim_for(&run, &expired, true, &me).unwrap(),
            Claim::Takeover
        );

        let dead_here = Holder {
            pid: i32::MAX as u32 - 7,
            seat: "other".into(),
            ..me.clone()
        };
        let gone = [view(dead_here.clone(), false)];
        assert_eq!(
            claim_for(&run, &gone, false, &me).unwrap(),
            Claim::HolderGone
        );
        let someone_else = Holder {
            user: "bob".into(),
            ..dead_here
        };
        let gone = [view(someone_else, false)];
        assert!(claim_for(&run, &gone, false, &me).is_err());
        assert_eq!(
            claim_for(&run, &gone, true, &me).unwrap(),
            Claim::HolderGone
        );
        assert_eq!(claim_for(&run, &[], false, &me).unwrap(), Claim::Fresh);
    }

    #[test]
    fn a_journal_of_another_service_or_not_named_as_a_run_is_never_opened() {
        let d = tempfile::tempdir().unwrap();
        for name in [
            "junk.jsonl",
            "other-20261201T000000Z-0000.jsonl",
            "busybox.opensvc.com-20261201T000000Z-0000.jsonl",
        ] {
            std::fs::write(d.path().join(name), "garbage\nmore\n").unwrap();
        }
        assert_eq!(unfinished(d.path(), "busybox").unwrap(), None);
        assert!(
            unfinished(d.path(), "other").is_err(),
            "its own garbage blocks it"
        );
    }
}
