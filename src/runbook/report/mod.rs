//! The run report, built from the journal alone: per-step UTC times and durations, output
//! digests and the outputs themselves beside the report, measured RTO, user-visible downtime and
//! RPO, who answered each gate and when, every refusal, resume and way out, both nodes' final
//! states, the journal's last hash. Markdown, HTML (with a timeline of the steps) or JSON,
//! signed with the operator's ssh key when one is at hand (`runbook::signing`).
//!
//! One job per file: `model.rs` (the values), `build.rs` (journal → report), `markdown.rs`,
//! `html.rs`, `outputs.rs` (the step outputs), `files.rs` (every file of a run's report),
//! `list.rs` (the runs of the runs directory), `verify.rs` (what `report --verify` checks).

mod build;
mod files;
mod html;
mod list;
mod markdown;
mod model;
mod outputs;
mod verify;

#[cfg(test)]
mod testing;

#[cfg(test)]
mod tests;

pub use build::{build, load, output_file};
pub use files::{report_path, write_reports, write_reports_with, ReportFiles};
pub use html::html;
pub use list::{latest_run, list_runs, Listed};
pub use markdown::markdown;
pub use model::{
    FinalState, GateRow, NodeFinal, OutputRef, Refusal, Report, ResumeRow, Seat, StepRow, WayOutRow,
};
pub use outputs::write_outputs;
pub use verify::{node_checks, verify_run, Check, Verdict};

/// The report as JSON, for scripts and dashboards (terminal-safe: no raw control character).
pub fn json(r: &Report) -> String {
    crate::text::json_safe(serde_json::to_string_pretty(r).unwrap_or_default())
}
