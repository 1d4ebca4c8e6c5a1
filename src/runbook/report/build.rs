//! A journal's records into a [`Report`]: steps with their times, the measures (RTO, downtime,
//! RPO), who answered each gate, every refusal, resume and way out, both nodes' final states,
//! and the outputs to write beside the report. Nothing but the journal is read.

use std::path::Path;

use chrono::{DateTime, Utc};
use color_eyre::eyre::{eyre, Result};

use super::model::{
    FinalState, GateRow, NodeFinal, OutputRef, Refusal, Report, ResumeRow, Seat, StepRow, WayOutRow,
};
use crate::runbook::journal::{read_verified, EntryKind, Record};
use crate::runbook::plan::{Mode, Step};
use crate::status::{render_text, ServiceStatus};

fn ts(r: &Record) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(&r.ts)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn find(recs: &[Record], kind: EntryKind, step: Step) -> Option<&Record> {
    recs.iter()
        .rev()
        .find(|r| r.kind == kind && r.step.as_deref() == Some(step.name()))
}

fn secs(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<f64> {
    Some((b? - a?).num_milliseconds() as f64 / 1000.0)
}

fn text(v: &serde_json::Value, key: &str) -> Option<String> {
    v[key].as_str().map(str::to_string)
}

fn operator_of(r: &Record) -> String {
    text(&r.detail, "operator").unwrap_or_else(|| "not recorded".to_string())
}

fn seat_of(v: &serde_json::Value) -> Option<Seat> {
    v.get("seat")
        .filter(|s| s.is_object())
        .and_then(|s| serde_json::from_value(s.clone()).ok())
}

/// The file a step's output goes to, relative to the report: `RUN.outputs/NN-STEP.txt`, NN the
/// journal seq. The step name is kept to letters, digits, `_` and `-` so it stays one file name.
pub fn output_file(run: &str, seq: u64, step: &str) -> String {
    let step: String = step
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{run}.outputs/{seq:02}-{step}.txt")
}

/// The step whose start, and the step whose verified end, bound this runbook's RTO, with the
/// label naming them.
fn rto_bounds(mode: Mode) -> (EntryKind, Step, Step, &'static str) {
    match mode {
        Mode::Rehearsal => (
            EntryKind::StepStarted,
            Step::StopProd,
            Step::VerifyDrpUp,
            "stop production → DRP verified up",
        ),
        Mode::Disaster => (
            EntryKind::StepDone,
            Step::DeclareDisaster,
            Step::VerifyDrpUp,
            "disaster declared → DRP verified up",
        ),
        Mode::Failback => (
            EntryKind::StepStarted,
            Step::StopDrp,
            Step::VerifyProdUp,
            "stop on the DRP node → production verified up",
        ),
        Mode::Test => (
            EntryKind::StepStarted,
            Step::CloneReplica,
            Step::VerifyBubbleUp,
            "clone of the replica → application check passed in the bubble",
        ),
    }
}

fn steps(recs: &[Record], plan: &[String], run: &str) -> Vec<StepRow> {
    let mut rows = Vec::new();
    for name in plan {
        let Some(step) = Step::from_name(name) else {
            continue;
        };
        let started = find(recs, EntryKind::StepStarted, step);
        let ended = find(recs, EntryKind::StepDone, step)
            .or_else(|| find(recs, EntryKind::StepFailed, step))
            .or_else(|| find(recs, EntryKind::StepSkipped, step));
        let outcome = match ended.map(|r| r.kind) {
            Some(EntryKind::StepDone) => "done",
            Some(EntryKind::StepFailed) => "failed",
            Some(EntryKind::StepSkipped) => "skipped",
            _ => "not run",
        };
        let start = started.or(ended).and_then(ts);
        let end = ended.and_then(ts);
        rows.push(StepRow {
            step: name.clone(),
            outcome: outcome.to_string(),
            start: start.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            end: end.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            duration_s: secs(start, end),
            output_digest: ended.and_then(|r| text(&r.detail, "output_digest")),
            reason: ended.and_then(|r| text(&r.detail, "reason")),
            output_file: ended
                .filter(|r| has_output(r))
                .map(|r| output_file(run, r.seq, name)),
        });
    }
    rows
}

/// Whether a record carries a step's output to write beside the report.
pub fn has_output(r: &Record) -> bool {
    matches!(r.kind, EntryKind::StepDone | EntryKind::StepFailed)
        && r.detail["output"].as_str().is_some()
}

fn gates(recs: &[Record]) -> Vec<GateRow> {
    recs.iter()
        .filter(|r| matches!(r.kind, EntryKind::GateConfirmed | EntryKind::GateRefused))
        .filter(|r| r.detail.get("choice").is_none())
        .map(|r| GateRow {
            step: r.step.clone().unwrap_or_default(),
            confirmed: r.kind == EntryKind::GateConfirmed,
            operator: operator_of(r),
            at: r.ts.clone(),
            prompt: text(&r.detail, "prompt"),
        })
        .collect()
}

fn refusals(recs: &[Record]) -> Vec<Refusal> {
    let mut out = Vec::new();
    for r in recs {
        if r.detail.get("choice").is_some() {
            continue;
        }
        let step_name = r.step.clone();
        let (what, reason) = match r.kind {
            EntryKind::GateRefused => (
                "gate refused",
                text(&r.detail, "reason").unwrap_or_else(|| {
                    let asked = text(&r.detail, "prompt")
                        .map(|p| format!(": {p}"))
                        .unwrap_or_default();
                    format!("refused by {}{asked}", operator_of(r))
                }),
            ),
            EntryKind::StepFailed => (
                "step failed",
                text(&r.detail, "reason").unwrap_or_else(|| "not recorded".into()),
            ),
            EntryKind::Rollback if r.detail["ok"] == false => (
                "rollback failed",
                text(&r.detail, "reason").unwrap_or_else(|| "not recorded".into()),
            ),
            EntryKind::RunAborted => (
                "run aborted",
                text(&r.detail, "reason").unwrap_or_else(|| "not recorded".into()),
            ),
            _ => continue,
        };
        out.push(Refusal {
            at: r.ts.clone(),
            step: step_name,
            what: what.to_string(),
            reason,
        });
    }
    out
}

fn resumes(recs: &[Record]) -> Vec<ResumeRow> {
    recs.iter()
        .filter(|r| r.kind == EntryKind::Resumed)
        .map(|r| ResumeRow {
            at: r.ts.clone(),
            operator: operator_of(r),
            seat: seat_of(&r.detail),
            takeover: r.detail["takeover"].as_bool(),
        })
        .collect()
}

fn way_outs(recs: &[Record]) -> Vec<WayOutRow> {
    recs.iter()
        .filter_map(|r| {
            let choice = r.detail.get("choice")?;
            let choice = choice
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| choice.to_string());
            Some(WayOutRow {
                at: r.ts.clone(),
                step: r.step.clone(),
                choice,
                operator: operator_of(r),
            })
        })
        .collect()
}

fn final_state(last: &Record, production: &str, drp: &str) -> (FinalState, Vec<String>) {
    let ended = last.kind.ends_run();
    let finals = last.detail.get("final").filter(|_| ended);
    let mut nodes = Vec::new();
    let mut trees = Vec::new();
    for (role, name) in [("production", production), ("drp", drp)] {
        let value = finals.and_then(|f| f.get(role));
        let status = value.and_then(|v| serde_json::from_value::<ServiceStatus>(v.clone()).ok());
        let (recorded, node, overall, tree) = match (value, status) {
            (_, Some(st)) => {
                let tree = format!(
                    "{} ({role})\n{}",
                    st.node,
                    render_text(&st, &|_, w| w.to_string())
                );
                trees.push(tree.clone());
                (
                    "recorded",
                    st.node.clone(),
                    Some(st.overall.to_string()),
                    Some(tree),
                )
            }
            (Some(_), None) => ("unreadable", name.to_string(), None, None),
            (None, None) => ("not recorded", name.to_string(), None, None),
        };
        nodes.push(NodeFinal {
            role: role.to_string(),
            node,
            recorded: recorded.to_string(),
            overall,
            tree,
        });
    }
    let left = text(&last.detail, "left").filter(|_| ended);
    (FinalState { nodes, left }, trees)
}

/// Builds the report of a journal.
pub fn build(recs: &[Record]) -> Result<Report> {
    let first = recs.first().ok_or_else(|| eyre!("empty journal"))?;
    let last = recs.last().ok_or_else(|| eyre!("empty journal"))?;
    let d = &first.detail;
    let s = |k: &str| text(d, k).unwrap_or_default();
    let mode: Mode =
        serde_json::from_value(d["mode"].clone()).map_err(|e| eyre!("bad run mode: {e}"))?;
    let plan: Vec<String> = d["plan"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let at = |kind: EntryKind, step: Step| find(recs, kind, step).and_then(ts);
    let (from_kind, from_step, up_step, rto_label) = rto_bounds(mode);
    let cut_sync = match mode {
        Mode::Rehearsal => Some(Step::SyncUpdate),
        Mode::Disaster | Mode::Test => None,
        Mode::Failback => Some(Step::ReverseSync),
    };
    let up = at(EntryKind::StepDone, up_step);
    // A cut done by hand (no command on the node) is journaled as skipped once it is done.
    let cut_by_hand = (mode != Mode::Disaster)
        .then(|| at(EntryKind::StepSkipped, Step::CutAccess))
        .flatten();
    let cut = at(EntryKind::StepStarted, Step::CutAccess)
        .or(cut_by_hand)
        .or_else(|| at(EntryKind::StepDone, Step::DeclareDisaster));
    let rpo_s = match cut_sync {
        Some(sync) => match (
            at(EntryKind::StepDone, Step::CutAccess).or(cut_by_hand),
            at(EntryKind::StepDone, sync),
        ) {
            (Some(c), Some(s)) if s >= c => Some(0),
            _ => None,
        },
        // A disaster's replica age when it was declared; a test's clone age.
        None => find(recs, EntryKind::StepDone, Step::DeclareDisaster)
            .or_else(|| find(recs, EntryKind::StepDone, Step::CloneReplica))
            .and_then(|r| r.detail["rpo_s"].as_i64()),
    };
    // A test touches production not at all: its status before (preflight) and after (the
    // run's last record) say so, its availability and every resource's status.
    let production_untouched = (mode == Mode::Test)
        .then(|| {
            let before = &find(recs, EntryKind::StepDone, Step::Preflight)?.detail;
            let after = &last.detail["final"]["production"];
            let statuses = |st: &serde_json::Value| -> Vec<(String, String)> {
                st["resources"]
                    .as_array()
                    .map(|rs| {
                        rs.iter()
                            .map(|r| (r["rid"].to_string(), r["status"].to_string()))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let before_st = &before["production_status"];
            Some(
                !before["production"].is_null()
                    && before["production"] == after["avail"]
                    && (before_st.is_null() || statuses(before_st) == statuses(after)),
            )
        })
        .flatten();
    let outcome = match last.kind {
        EntryKind::RunFinished => "succeeded",
        EntryKind::RunAborted => "aborted",
        _ => "in progress",
    };
    let (production, drp) = (s("production"), s("drp"));
    let (final_state, final_trees) = final_state(last, &production, &drp);
    let outputs = recs
        .iter()
        .filter(|r| has_output(r))
        .map(|r| {
            let step = r.step.clone().unwrap_or_else(|| "step".to_string());
            OutputRef {
                seq: r.seq,
                file: output_file(&first.run, r.seq, &step),
                step,
            }
        })
        .collect();
    Ok(Report {
        run: first.run.clone(),
        service: s("service"),
        mode: mode.banner().to_lowercase(),
        operator: s("operator"),
        seat: seat_of(d),
        started: first.ts.clone(),
        outcome: outcome.to_string(),
        steps: steps(recs, &plan, &first.run),
        rto_s: secs(at(from_kind, from_step), up),
        rto_label: rto_label.to_string(),
        downtime_s: secs(cut, up),
        rpo_s,
        production_untouched,
        agent_gaps: find(recs, EntryKind::StepDone, Step::Preflight)
            .and_then(|r| r.detail["agent_gaps"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|g| g.as_str().map(str::to_string))
            .collect(),
        gates: gates(recs),
        refusals: refusals(recs),
        resumes: resumes(recs),
        way_outs: way_outs(recs),
        final_state,
        final_trees,
        outputs,
        journal_hash: last.hash.clone(),
        production,
        drp,
    })
}

/// Loads and builds the report of a journal file (its hash chain verified first).
pub fn load(path: &Path) -> Result<Report> {
    build(&read_verified(path)?)
}
