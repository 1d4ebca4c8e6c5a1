//! The runbook run from this console as its pane shows it: the checklist of steps and their
//! states, the transfer bars of the sync step, the gate waiting for the operator, the outcome.

use crate::console::event::RunbookEvent;
use crate::protocol::log::SyncProgress;
use crate::runbook::plan::{Step, StepState};
use crate::runbook::preflight::Problem;

/// A runbook as the console shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunbookView {
    /// The service the run acts on.
    pub svc: String,
    /// `REHEARSAL`, `DISASTER`, `FAILBACK`: the banner word and the frame's colour.
    pub mode: String,
    /// Steps and their state (`pending`, `running`, `done`, `failed`, `skipped`).
    pub steps: Vec<(Step, StepState)>,
    /// The gate waiting for the operator, if any.
    pub gate: Option<String>,
    /// When over: whether it succeeded, and the summary.
    pub finished: Option<(bool, String)>,
    /// Transfer progress per sync resource, during the sync step.
    pub syncs: Vec<(String, SyncProgress)>,
    /// Why the preflight refused the run, each reason with its fix.
    pub problems: Vec<Problem>,
    /// Rows the pane is scrolled back from its end (0: the end, with the outcome, shows); the
    /// app clamps it to what the pane holds.
    pub back: usize,
}

impl RunbookView {
    /// Whether a run is shown and not over: a second one is refused.
    pub fn running(view: &Option<Self>) -> bool {
        view.as_ref().is_some_and(|r| r.finished.is_none())
    }

    /// Applies what the run reports to the view (`Say` goes to the log, not here).
    pub fn apply(view: &mut Option<Self>, ev: &RunbookEvent) {
        if let RunbookEvent::Started { svc, mode, steps } = ev {
            *view = Some(Self {
                svc: svc.clone(),
                mode: mode.clone(),
                steps: steps.iter().map(|s| (*s, StepState::Pending)).collect(),
                ..Self::default()
            });
            return;
        }
        let Some(rb) = view.as_mut() else { return };
        match ev {
            RunbookEvent::Progress { step, state } => {
                if let Some(s) = rb.steps.iter_mut().find(|(n, _)| n == step) {
                    s.1 = *state;
                }
            }
            RunbookEvent::SyncProgress { rid, progress } => {
                match rb.syncs.iter_mut().find(|(r, _)| r == rid) {
                    Some(s) => s.1 = *progress,
                    None => rb.syncs.push((rid.clone(), *progress)),
                }
            }
            RunbookEvent::Gate { step, .. } | RunbookEvent::WayOut { step, .. } => {
                rb.gate = Some(step.clone())
            }
            RunbookEvent::Preflight(problems) => rb.problems = problems.clone(),
            RunbookEvent::Done { ok, summary } => {
                rb.gate = None;
                rb.finished = Some((*ok, summary.clone()));
            }
            RunbookEvent::Started { .. } | RunbookEvent::Say(_) => {}
        }
    }
}
