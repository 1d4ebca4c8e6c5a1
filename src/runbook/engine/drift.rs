//! The preflight's user and group drift check: production's users and groups against the DRP
//! node's, judged there (`print drift`) from its copy of production's system files (sync#i1).

use serde_json::json;

use super::Engine;
use crate::protocol::drift::DriftReport;
use crate::protocol::verb::{Action, SvcFlags};
use crate::runbook::preflight::Problem;
use crate::transport::agent_limits::Lack;

impl Engine<'_> {
    /// The drift check of the preflight: production's users and groups against the DRP node's
    /// (`print drift` there, from its copy of production's system files). A drift blocks the
    /// run with its fix; a check that could not be made is said, and blocks nothing.
    pub(super) fn check_drift(&mut self, problems: &mut Vec<Problem>) -> serde_json::Value {
        let (prod, drp) = (self.spec.prod.clone(), self.spec.drp.clone());
        if self.lacks(&drp, Lack::DriftCheck) {
            return json!("skipped: the DRP node's agent keeps no copy of production's ids");
        }
        let flags = SvcFlags {
            json: true,
            ..SvcFlags::default()
        };
        let r = match self.ops.act(&drp, &Action::PrintDrift, &flags) {
            Ok(r) => r,
            Err(e) => {
                problems.push(Problem::new(format!(
                    "the user and group drift check on {drp} could not run: {e:#}"
                )));
                return json!("failed");
            }
        };
        let report = super::json_lines::<DriftReport>(&r.output)
            .filter_map(Result::ok)
            .find(|d| d.prod == prod);
        let Some(report) = report else {
            problems.push(Problem::new(format!(
                "{drp} answered the user and group drift check with something else: {}",
                r.output.trim()
            )));
            return json!("failed");
        };
        if let Some(why) = &report.not_checked {
            self.op.say(&format!(
                "preflight: user and group drift not checked: {why}"
            ));
            return json!(format!("not checked: {why}"));
        }
        for c in report.drifts() {
            let files = c
                .files_sentence()
                .map(|f| format!("; {f}"))
                .unwrap_or_default();
            problems.push(Problem::new(format!(
                "{} on {prod}, {}{files}; fix {}",
                c.what(),
                c.here_on(&drp),
                c.fix.clone().unwrap_or_default()
            )));
        }
        json!({
            "copied_at": report.copied_at,
            "drifts": report.drifts().count(),
            "checked": report.checks.len(),
        })
    }
}
