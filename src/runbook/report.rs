//! The run report, built from the journal alone: per-step UTC times and durations, output
//! digests, measured RTO, user-visible downtime and RPO, final trees, the journal's last hash.
//! Markdown, HTML (with a timeline of the steps) or JSON.

use std::path::Path;

use chrono::{DateTime, Utc};
use color_eyre::eyre::{eyre, Result};
use serde::Serialize;

use super::journal::{read_verified, EntryKind, Record};
use super::plan::{Mode, Step};
use crate::status::{render_text, ServiceStatus};

/// One step's line in the report.
#[derive(Debug, Clone, Serialize)]
pub struct StepRow {
    /// Step name.
    pub step: String,
    /// `done`, `skipped`, `failed`, `not run`.
    pub outcome: String,
    /// UTC start.
    pub start: Option<String>,
    /// UTC end.
    pub end: Option<String>,
    /// How long the step took, in seconds: the RTO and downtime are sums of these.
    pub duration_s: Option<f64>,
    /// Digest of the command output, when a command ran.
    pub output_digest: Option<String>,
    /// Why it failed or was skipped.
    pub reason: Option<String>,
}

/// A run's report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The run id, the journal's file name: what `drpilot report` is asked for.
    pub run: String,
    /// The service the run moved.
    pub service: String,
    /// Which runbook ran (rehearsal, disaster, failback).
    pub mode: String,
    /// Production node.
    pub production: String,
    /// DRP node.
    pub drp: String,
    /// Who ran it.
    pub operator: String,
    /// `succeeded`, `aborted`, `in progress`.
    pub outcome: String,
    /// The steps.
    pub steps: Vec<StepRow>,
    /// Recovery time: stop production (or the declaration) to the service verified up.
    pub rto_s: Option<f64>,
    /// What users saw: access cut to the service verified up.
    pub downtime_s: Option<f64>,
    /// Data lost: 0 when the last sync ran after the cut, else the replica's age.
    pub rpo_s: Option<i64>,
    /// Final status trees, as `print status` shows them.
    pub final_trees: Vec<String>,
    /// Hash of the journal's last record.
    pub journal_hash: String,
}

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

/// Builds the report of a journal.
pub fn build(recs: &[Record]) -> Result<Report> {
    let first = recs.first().ok_or_else(|| eyre!("empty journal"))?;
    let d = &first.detail;
    let s = |k: &str| d[k].as_str().unwrap_or_default().to_string();
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
    let mut steps = Vec::new();
    for name in &plan {
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
        steps.push(StepRow {
            step: name.clone(),
            outcome: outcome.to_string(),
            start: start.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            end: end.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            duration_s: secs(start, end),
            output_digest: ended
                .and_then(|r| r.detail["output_digest"].as_str().map(str::to_string)),
            reason: ended.and_then(|r| r.detail["reason"].as_str().map(str::to_string)),
        });
    }
    let at = |kind: EntryKind, step: Step| find(recs, kind, step).and_then(ts);
    let (up_step, rto_from, cut_sync) = match mode {
        Mode::Rehearsal => (
            Step::VerifyDrpUp,
            at(EntryKind::StepStarted, Step::StopProd),
            Some(Step::SyncUpdate),
        ),
        Mode::Disaster => (
            Step::VerifyDrpUp,
            at(EntryKind::StepDone, Step::DeclareDisaster),
            None,
        ),
        Mode::Failback => (
            Step::VerifyProdUp,
            at(EntryKind::StepStarted, Step::StopDrp),
            Some(Step::ReverseSync),
        ),
    };
    let up = at(EntryKind::StepDone, up_step);
    let cut = at(EntryKind::StepStarted, Step::CutAccess)
        .or_else(|| at(EntryKind::StepDone, Step::DeclareDisaster));
    let rpo_s = match cut_sync {
        Some(sync) => match (
            at(EntryKind::StepDone, Step::CutAccess),
            at(EntryKind::StepDone, sync),
        ) {
            (Some(c), Some(s)) if s >= c => Some(0),
            _ => None,
        },
        None => find(recs, EntryKind::StepDone, Step::DeclareDisaster)
            .and_then(|r| r.detail["rpo_s"].as_i64()),
    };
    let last = recs.last().ok_or_else(|| eyre!("empty journal"))?;
    let outcome = match last.kind {
        EntryKind::RunFinished => "succeeded",
        EntryKind::RunAborted => "aborted",
        _ => "in progress",
    };
    let mut final_trees = Vec::new();
    if last.kind == EntryKind::RunFinished {
        for k in ["production", "drp"] {
            if let Ok(st) = serde_json::from_value::<ServiceStatus>(last.detail["final"][k].clone())
            {
                final_trees.push(format!(
                    "{} ({k})\n{}",
                    st.node,
                    render_text(&st, &|_, w| w.to_string())
                ));
            }
        }
    }
    Ok(Report {
        run: first.run.clone(),
        service: s("service"),
        mode: mode.banner().to_lowercase(),
        production: s("production"),
        drp: s("drp"),
        operator: s("operator"),
        outcome: outcome.to_string(),
        steps,
        rto_s: secs(rto_from, up),
        downtime_s: secs(cut, up),
        rpo_s,
        final_trees,
        journal_hash: last.hash.clone(),
    })
}

/// Loads and builds the report of a journal file.
pub fn load(path: &Path) -> Result<Report> {
    build(&read_verified(path)?)
}

fn opt<T: std::fmt::Display>(v: &Option<T>, unit: &str) -> String {
    v.as_ref()
        .map(|x| format!("{x}{unit}"))
        .unwrap_or_else(|| "—".to_string())
}

/// The report as Markdown, the file an operator attaches to the DRP test's minutes.
pub fn markdown(r: &Report) -> String {
    let mut out = format!(
        "# DRP {} of {}\n\n- run: `{}`\n- outcome: **{}**\n- production: {}\n- DRP: {}\n- operator: {}\n\n\
         | measure | value |\n|---|---|\n| RTO (stop production → DRP verified up) | {} |\n| user-visible downtime | {} |\n| RPO | {} |\n\n\
         ## Steps (UTC)\n\n| step | outcome | start | end | duration | output digest |\n|---|---|---|---|---|---|\n",
        r.mode, r.service, r.run, r.outcome, r.production, r.drp, r.operator,
        opt(&r.rto_s, " s"), opt(&r.downtime_s, " s"), opt(&r.rpo_s, " s"),
    );
    for s in &r.steps {
        out.push_str(&format!(
            "| {} | {}{} | {} | {} | {} | {} |\n",
            s.step,
            s.outcome,
            s.reason
                .as_ref()
                .map(|x| format!(" ({x})"))
                .unwrap_or_default(),
            opt(&s.start, ""),
            opt(&s.end, ""),
            opt(&s.duration_s.map(|d| format!("{d:.3}")), " s"),
            opt(&s.output_digest, ""),
        ));
    }
    out.push_str("\n## Final status\n\n");
    for t in &r.final_trees {
        out.push_str(&format!("```\n{t}```\n\n"));
    }
    out.push_str(&format!("Journal last hash: `{}`\n", r.journal_hash));
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// HTML, with an SVG timeline of the steps.
pub fn html(r: &Report) -> String {
    let t0 = r
        .steps
        .iter()
        .filter_map(|s| s.start.as_deref())
        .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
        .min();
    let t1 = r
        .steps
        .iter()
        .filter_map(|s| s.end.as_deref())
        .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
        .max();
    let span = match (t0, t1) {
        (Some(a), Some(b)) => ((b - a).num_milliseconds() as f64).max(1.0),
        _ => 1.0,
    };
    let mut bars = String::new();
    for (i, s) in r.steps.iter().enumerate() {
        let y = 10 + i * 24;
        let (x, w) = match (
            t0,
            s.start
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok()),
            s.duration_s,
        ) {
            (Some(a), Some(st), Some(d)) => (
                200.0 + 600.0 * ((st - a).num_milliseconds() as f64) / span,
                (600.0 * d * 1000.0 / span).max(2.0),
            ),
            _ => (200.0, 0.0),
        };
        let colour = match s.outcome.as_str() {
            "done" => "#0072b2",
            "failed" => "#d55e00",
            "skipped" => "#999999",
            _ => "#dddddd",
        };
        bars.push_str(&format!(
            "<text x=\"0\" y=\"{}\">{} ({})</text><rect x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"16\" fill=\"{colour}\"><title>{}: {}</title></rect>\n",
            y + 13, esc(&s.step), esc(&s.outcome), esc(&s.step), opt(&s.duration_s.map(|d| format!("{d:.3}")), " s"),
        ));
    }
    let rows: String = r
        .steps
        .iter()
        .map(|s| format!("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>\n", esc(&s.step), esc(&s.outcome), esc(&opt(&s.start, "")), esc(&opt(&s.end, "")), esc(&opt(&s.duration_s.map(|d| format!("{d:.3}")), " s")), esc(&opt(&s.output_digest, ""))))
        .collect();
    let trees: String = r
        .final_trees
        .iter()
        .map(|t| format!("<pre>{}</pre>\n", esc(t)))
        .collect();
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>DRP {mode} of {svc}</title>\
         <style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:.2em .6em;border-bottom:1px solid #ccc}}</style></head><body>\n\
         <h1>DRP {mode} of {svc}</h1><p>run <code>{run}</code> — <b>{outcome}</b> — production {prod}, DRP {drp}, operator {op}</p>\n\
         <table><tr><th>RTO</th><td>{rto}</td></tr><tr><th>user-visible downtime</th><td>{down}</td></tr><tr><th>RPO</th><td>{rpo}</td></tr></table>\n\
         <h2>Timeline</h2><svg class=\"timeline\" width=\"820\" height=\"{h}\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"12\">\n{bars}</svg>\n\
         <h2>Steps (UTC)</h2><table><tr><th>step</th><th>outcome</th><th>start</th><th>end</th><th>duration</th><th>output digest</th></tr>\n{rows}</table>\n\
         <h2>Final status</h2>{trees}<p>Journal last hash: <code>{hash}</code></p></body></html>\n",
        mode = esc(&r.mode), svc = esc(&r.service), run = esc(&r.run), outcome = esc(&r.outcome), prod = esc(&r.production), drp = esc(&r.drp), op = esc(&r.operator),
        rto = opt(&r.rto_s, " s"), down = opt(&r.downtime_s, " s"), rpo = opt(&r.rpo_s, " s"), h = 20 + 24 * r.steps.len(), hash = esc(&r.journal_hash),
    )
}

/// JSON.
pub fn json(r: &Report) -> String {
    crate::text::json_safe(serde_json::to_string_pretty(r).unwrap_or_default())
}
