//! What the seat does for a node whose agent does less than drpilot's (an OpenSVC node, as its
//! node map says, `transport::agent_limits`): the preflight lists each gap, a cut of user access
//! with no command is done by hand and journaled as skipped, an application check with no task
//! is skipped and said, and a start there is guarded from this seat (docs/safety.md) before the
//! agent is told `--force`.

use color_eyre::eyre::{eyre, Result};
use serde_json::json;

use super::Engine;
use crate::agent::peer_answer::seat_guard;
use crate::protocol::verb::{Action, SvcFlags};
use crate::runbook::plan::{steps, Mode, Step};
use crate::transport::agent_limits::Lack;

impl Engine<'_> {
    /// Whether `node`'s agent lacks `what`.
    pub(super) fn lacks(&self, node: &str, what: Lack) -> bool {
        self.ops.options(node).lacks().contains(&what)
    }

    /// `what` said of `node` in the operator's words.
    fn gap(&self, node: &str, what: Lack) -> String {
        let agent = self.ops.options(node).flavor().agent_name();
        what.sentence(node, agent)
    }

    /// Every gap this run goes around, one sentence each (the nodes of one agent together),
    /// for the preflight and the report.
    pub(super) fn gaps(&self) -> Vec<String> {
        let (prod, drp) = (self.spec.prod.clone(), self.spec.drp.clone());
        let plan = steps(self.spec.mode);
        let runs = |s: Step| plan.iter().any(|(p, skipped)| *p == s && !skipped);
        let failback = self.spec.mode == Mode::Failback;
        let (checked, synced) = if failback {
            (prod.clone(), drp.clone())
        } else {
            (drp.clone(), prod.clone())
        };
        let mut wanted: Vec<(Lack, String)> = Vec::new();
        for what in [Lack::RunState, Lack::StartGuard] {
            wanted.push((what, prod.clone()));
            wanted.push((what, drp.clone()));
        }
        if !failback {
            wanted.push((Lack::DriftCheck, drp.clone()));
        }
        let by_step = [
            (
                Step::CutAccess,
                self.node_of(Step::CutAccess),
                Lack::CutAccess,
            ),
            (Step::SyncUpdate, synced.clone(), Lack::SyncProgress),
            (Step::ReverseSync, synced, Lack::SyncProgress),
            (Step::VerifyDrpUp, checked.clone(), Lack::AppCheck),
            (Step::VerifyProdUp, checked, Lack::AppCheck),
        ];
        for (step, node, what) in by_step {
            if runs(step) {
                wanted.push((what, node));
            }
        }
        // The nodes lacking the same thing with the same agent share one sentence.
        let mut groups: Vec<(Lack, &'static str, Vec<String>)> = Vec::new();
        for (what, node) in wanted {
            if !self.lacks(&node, what) {
                continue;
            }
            let agent = self.ops.options(&node).flavor().agent_name();
            match groups
                .iter_mut()
                .find(|(w, a, _)| *w == what && *a == agent)
            {
                Some((_, _, nodes)) if nodes.contains(&node) => {}
                Some((_, _, nodes)) => nodes.push(node),
                None => groups.push((what, agent, vec![node])),
            }
        }
        groups
            .into_iter()
            .map(|(what, agent, nodes)| what.sentence(&nodes.join(", "), agent))
            .collect()
    }

    /// Why `step` is not run by a node's agent but done by hand (then journaled as skipped).
    pub(super) fn done_by_hand(&self, step: Step) -> Option<String> {
        let node = self.node_of(step);
        (step == Step::CutAccess && self.lacks(&node, Lack::CutAccess))
            .then(|| self.gap(&node, Lack::CutAccess))
    }

    /// The application check on `node`, or its skip said and journaled where the node's agent
    /// has none.
    pub(super) fn app_check(&mut self, node: &str) -> Result<serde_json::Value> {
        if self.lacks(node, Lack::AppCheck) {
            let why = self.gap(node, Lack::AppCheck);
            self.op.say(&format!("application check skipped: {why}"));
            return Ok(json!(format!("skipped: {why}")));
        }
        let check = self.act(node, Action::AppCheck, SvcFlags::default())?;
        Ok(check["output_digest"].clone())
    }

    /// Starts `action` (a start, or the restore of user access) on `node`. Where its agent has
    /// no split-brain guard, this seat asks every other node of the service first, with the
    /// agent's own verdicts and words, and only a clear answer from each lets `--force` reach
    /// it; the lines are said and journaled.
    pub(super) fn start_on(
        &mut self,
        node: &str,
        action: Action,
        mut flags: SvcFlags,
    ) -> Result<serde_json::Value> {
        if !self.lacks(node, Lack::StartGuard) {
            return self.act(node, action, flags);
        }
        let svc = self.spec.svc.clone();
        let others: Vec<String> = self
            .spec
            .nodes
            .iter()
            .filter(|n| n.as_str() != node)
            .cloned()
            .collect();
        let ops = self.ops;
        let lines =
            seat_guard(&svc, &others, &flags.declared_lost, &|n| ops.answer(n)).map_err(|b| {
                eyre!("split-brain guard (asked from this seat) refuses to start on {node}: {b}")
            })?;
        for l in &lines {
            self.op
                .say(&format!("  split-brain guard (asked from this seat): {l}"));
        }
        flags.force = true;
        let mut detail = self.act(node, action, flags)?;
        detail["guard"] = json!({"asked_from": "seat", "answers": lines});
        Ok(detail)
    }
}
