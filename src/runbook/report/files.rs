//! Every file of a run's report, written beside its journal at the end of a run (or again by
//! `drpilot report RUN --write`): the step outputs, RUN.md, RUN.html, RUN.json, and the
//! signatures of the Markdown and the JSON.

use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, WrapErr};

use super::{build, html, json, markdown, outputs, Report};
use crate::runbook::journal::read_verified;
use crate::runbook::signing::{self, SignOutcome, SigningKey};

/// What [`write_reports`] wrote.
#[derive(Debug)]
pub struct ReportFiles {
    /// The report (its measures: the seat prints the RTO and RPO).
    pub report: Report,
    /// RUN.md.
    pub markdown: PathBuf,
    /// RUN.html.
    pub html: PathBuf,
    /// RUN.json.
    pub json: PathBuf,
    /// The step outputs, `RUN.outputs/NN-STEP.txt`.
    pub outputs: Vec<PathBuf>,
    /// The Markdown's and the JSON's signing, in that order: signed, unsigned (no key) or
    /// failed (with why). A report is never lost over its signature.
    pub signatures: Vec<(PathBuf, SignOutcome)>,
}

/// A report's file beside the run's journal: `RUN.EXT`. Built from the run id, never by
/// swapping extensions: a service name has dots (`busybox.opensvc.com`).
pub fn report_path(journal: &Path, run: &str, ext: &str) -> PathBuf {
    journal.with_file_name(format!("{run}.{ext}"))
}

/// Writes the report of the run whose journal is `journal` beside it: the step outputs
/// (`RUN.outputs/NN-STEP.txt`), RUN.md (linking them), RUN.html and RUN.json (listing them),
/// then signs RUN.md and RUN.json with the operator's ssh key when one is found
/// (`DRPILOT_SIGNING_KEY`, the ssh-agent's first key, `~/.ssh/id_*`). The session calls it at
/// the end of every run; the journal's chain is verified first.
pub fn write_reports(journal: &Path) -> Result<ReportFiles> {
    write_reports_with(journal, &SigningKey::find())
}

/// [`write_reports`] with the signing key given (tests, or a key chosen by the caller).
pub fn write_reports_with(journal: &Path, key: &SigningKey) -> Result<ReportFiles> {
    let recs = read_verified(journal)?;
    let report = build(&recs)?;
    let dir = journal.parent().unwrap_or(Path::new("."));
    let outputs = outputs::write_outputs(dir, &recs, &report)?;
    let md = report_path(journal, &report.run, "md");
    let page = report_path(journal, &report.run, "html");
    let js = report_path(journal, &report.run, "json");
    for (path, text) in [
        (&md, markdown(&report)),
        (&page, html(&report)),
        (&js, json(&report)),
    ] {
        crate::paths::write_atomic(path, text.as_bytes())
            .wrap_err_with(|| format!("writing {}", path.display()))?;
    }
    let signatures = [&md, &js]
        .into_iter()
        .map(|f| {
            let outcome = signing::sign_with(f, key)
                .unwrap_or_else(|e| SignOutcome::Failed(format!("{e:#}")));
            (f.clone(), outcome)
        })
        .collect();
    Ok(ReportFiles {
        report,
        markdown: md,
        html: page,
        json: js,
        outputs,
        signatures,
    })
}
