//! The runbook state machine, shared by the console and `drpilot drp`: each step journaled
//! before and after it runs, gates asked through [`Operator`], abort and rollback at the gates,
//! and a resume that re-verifies the nodes and never re-runs a completed destructive step.

mod around;
mod drift;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use color_eyre::eyre::{bail, Result};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::journal::{EntryKind, Journal, Record};
use super::nodes::NodeOps;
use super::plan::{steps, Gate, Mode, Step, StepState, WayOut};
use super::preflight::Problem;
use crate::agent::peer_answer::PeerAnswer;
use crate::protocol::log::{LogRecord, SyncProgress};
use crate::protocol::verb::{Action, SvcFlags};
use crate::status::{ServiceStatus, Status};

/// How long a verification step waits for the expected state.
const VERIFY_WITHIN: Duration = Duration::from_secs(60);

/// How long a sync step waits for the service lock (`--waitlock`): a sync left running by a seat
/// that died (an ssh node's command outlives its seat) is waited for, then this one goes on.
/// Half of a node command's deadline; the other half is for the sync itself.
const SYNC_WAITLOCK: Duration = Duration::from_secs(super::nodes::ACTION_TIMEOUT.as_secs() / 2);

/// The human side of a run: gates and messages.
pub trait Operator {
    /// Asks to go on with `step`; `typed` gates need the service name. False aborts.
    fn confirm(&mut self, step: Step, node: &str, prompt: &str, typed: Option<&str>) -> bool;
    /// The run stopped after it changed something (`situation` says what state the nodes are
    /// in): asks the way out among `choices` (the first is the default).
    fn way_out(&mut self, step: Step, situation: &str, choices: &[WayOut]) -> WayOut;
    /// Tells the operator something.
    fn say(&mut self, msg: &str);
    /// Who is operating (journaled with every gate).
    fn name(&self) -> String;
    /// A sync resource's transfer progress during a sync step.
    fn sync_progress(&mut self, _rid: &str, _p: &SyncProgress) {}
    /// A step changed state: `running`, `done`, `failed`, `skipped` (the console's checklist).
    fn progress(&mut self, _step: Step, _state: StepState) {}
    /// The preflight refused the run: each reason with its fix (the console offers to run it).
    fn preflight_failed(&mut self, _problems: &[Problem]) {}
}

/// Where a run's state lives beyond the seat: the nodes (the lease shows the step, the journal
/// is copied there). A sink error stops the run: the seat lost it, or cannot prove it holds it.
pub trait RunSink {
    /// A record was journaled on the seat.
    fn recorded(&mut self, record: &Record) -> Result<()>;
    /// The run reached step `index` of `total` (from 1).
    fn at_step(&mut self, step: Step, index: u32, total: u32) -> Result<()>;
    /// The run is about to change `node`: it must hold the lease there and the node its journal.
    fn may_act_on(&mut self, node: &str) -> Result<()>;
}

/// A run kept on the seat alone (unit tests of the engine).
pub struct SeatOnly;

impl RunSink for SeatOnly {
    fn recorded(&mut self, _: &Record) -> Result<()> {
        Ok(())
    }
    fn at_step(&mut self, _: Step, _: u32, _: u32) -> Result<()> {
        Ok(())
    }
    fn may_act_on(&mut self, _: &str) -> Result<()> {
        Ok(())
    }
}

/// How many times one step may be retried from a way-out choice before retry is no longer
/// offered (a step that keeps failing never loops a scheduler's run).
const MAX_RETRIES: u32 = 3;

/// How much of a step's output the journal keeps (its tail), beside the digest of all of it.
const OUTPUT_KEPT: usize = 64 * 1024;

/// What a run is about.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// Which runbook: it decides the steps and the rules of the preflight.
    pub mode: Mode,
    /// The service the run moves; every node call and the run lock are about it.
    pub svc: String,
    /// Production node.
    pub prod: String,
    /// DRP node.
    pub drp: String,
    /// A test's bubble stays up at the end (`drp test --keep`).
    pub keep: bool,
    /// Every node of the service: those a start guarded from this seat asks first.
    pub nodes: Vec<String>,
}

fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A run in progress.
pub struct Engine<'a> {
    spec: RunSpec,
    ops: &'a dyn NodeOps,
    op: &'a mut dyn Operator,
    journal: Journal,
    sink: &'a mut dyn RunSink,
    /// The steps that changed a node so far (done, or failed after they began): what a
    /// rollback undoes and why a stop offers one.
    changed: Vec<Step>,
    /// User access was cut by hand (a node with no command for it): a stopped run says so, and
    /// that it is restored by hand too.
    cut_by_hand: bool,
}

impl<'a> Engine<'a> {
    /// Starts a new run, journaling its plan.
    pub fn start(
        spec: RunSpec,
        ops: &'a dyn NodeOps,
        op: &'a mut dyn Operator,
        journal: Journal,
        sink: &'a mut dyn RunSink,
        seat: serde_json::Value,
    ) -> Result<Self> {
        let plan: Vec<&str> = steps(spec.mode).iter().map(|(s, _)| s.name()).collect();
        let detail = json!({"mode": spec.mode, "service": spec.svc, "production": spec.prod, "drp": spec.drp, "operator": op.name(), "seat": seat, "plan": plan});
        let mut engine = Self {
            spec,
            ops,
            op,
            journal,
            sink,
            changed: Vec::new(),
            cut_by_hand: false,
        };
        engine.record(EntryKind::RunStarted, None, detail)?;
        Ok(engine)
    }

    /// Journals a record on the seat, then on the nodes.
    fn record(
        &mut self,
        kind: EntryKind,
        step: Option<&str>,
        detail: serde_json::Value,
    ) -> Result<Record> {
        let r = self.journal.seal(kind, step, detail);
        self.sink.recorded(&r)?;
        self.journal.write(&r)?;
        Ok(r)
    }

    /// Goes on with a run found unfinished; `records` is its journal so far.
    /// `resumed` is the journal detail of the resume: which seat, whether it took the run over.
    pub fn resume(
        spec: RunSpec,
        ops: &'a dyn NodeOps,
        op: &'a mut dyn Operator,
        journal: Journal,
        sink: &'a mut dyn RunSink,
        records: &[Record],
        mut resumed: serde_json::Value,
    ) -> Result<(Self, HashSet<Step>)> {
        let done: HashSet<Step> = records
            .iter()
            .filter(|r| r.kind == EntryKind::StepDone || r.kind == EntryKind::StepSkipped)
            .filter_map(|r| r.step.as_deref().and_then(Step::from_name))
            .collect();
        // A step that began changed its node, done or not.
        let mut changed: Vec<Step> = Vec::new();
        let cut_by_hand = spec.mode != Mode::Disaster
            && records.iter().any(|r| {
                r.kind == EntryKind::StepSkipped
                    && r.step.as_deref() == Some(Step::CutAccess.name())
            });
        for r in records.iter().filter(|r| r.kind == EntryKind::StepStarted) {
            if let Some(step) = r.step.as_deref().and_then(Step::from_name) {
                if step.changes_a_node() && !changed.contains(&step) {
                    changed.push(step);
                }
            }
        }
        resumed["operator"] = json!(op.name());
        resumed["done"] = json!(done.iter().map(|s| s.name()).collect::<Vec<_>>());
        let mut engine = Self {
            spec,
            ops,
            op,
            journal,
            sink,
            changed,
            cut_by_hand,
        };
        engine.record(EntryKind::Resumed, None, resumed)?;
        Ok((engine, done))
    }

    /// The run's journal, for the caller that reports on it once the run ends.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Runs every step not in `done`; returns whether the run succeeded (the journal says why not).
    pub fn run(&mut self, done: &HashSet<Step>) -> Result<bool> {
        if !done.is_empty() {
            if let Err(why) = self.reverify(done) {
                self.op
                    .say(&format!("the nodes do not match the journal: {why}"));
                return self.abort(None, &format!("re-verification failed: {why}"));
            }
        }
        let plan = steps(self.spec.mode);
        let total = plan.len() as u32;
        for (i, (step, skipped)) in plan.into_iter().enumerate() {
            if done.contains(&step) {
                self.op.progress(step, StepState::Done);
                continue;
            }
            self.sink.at_step(step, i as u32 + 1, total)?;
            if step == Step::EndBubble && self.spec.keep {
                let said = format!(
                    "(--keep): the bubble stays up on {}; `drpilot drp test {} --end` removes it",
                    self.spec.drp, self.spec.svc
                );
                self.skip(step, "--keep: the bubble stays up for inspection", &said)?;
                continue;
            }
            if skipped {
                self.skip(step, "production is lost", "(disaster)")?;
                continue;
            }
            let mut retries = 0;
            loop {
                let stopped = if !self.gate(step)? {
                    Stopped::Refused
                } else if let Some(why) = self.done_by_hand(step) {
                    self.skip(step, &why, &format!("(done by hand: {why})"))?;
                    self.cut_by_hand = true;
                    break;
                } else {
                    match self.attempt(step)? {
                        None => break,
                        Some(why) => Stopped::Failed(why),
                    }
                };
                let why = match &stopped {
                    Stopped::Refused => format!("{} refused at the gate", step.name()),
                    Stopped::Failed(why) => why.clone(),
                };
                if self.changed.is_empty() {
                    if stopped == Stopped::Refused {
                        self.op.say(&format!("run aborted at {}", step.name()));
                    }
                    return self.abort(Some(step), &why);
                }
                match self.way_out(step, &why, retries)? {
                    WayOut::Retry => retries += 1,
                    WayOut::Rollback => {
                        let ok = self.rollback()?;
                        let how = if ok { "rolled back" } else { "rollback FAILED" };
                        self.op
                            .say(&format!("run aborted at {}: {how}", step.name()));
                        return self.abort(Some(step), &format!("{why}; {how}"));
                    }
                    WayOut::Leave => {
                        self.op.say(&format!(
                            "run aborted at {}: the nodes are left as they are",
                            step.name()
                        ));
                        return self.abort(Some(step), &format!("{why}; left as it is"));
                    }
                }
            }
            crate::runbook::crash_point(step);
        }
        let finals = self.finals();
        self.record(EntryKind::RunFinished, None, json!({"final": finals}))?;
        Ok(true)
    }

    /// Journals `step` as skipped for `reason`, and says so (`said` follows "skipped").
    fn skip(&mut self, step: Step, reason: &str, said: &str) -> Result<()> {
        self.record(
            EntryKind::StepSkipped,
            Some(step.name()),
            json!({ "reason": reason }),
        )?;
        self.op.progress(step, StepState::Skipped);
        self.op.say(&format!("{}: skipped {said}", step.name()));
        Ok(())
    }

    /// Runs one step, journaled before and after; `Some(why)` when it failed.
    fn attempt(&mut self, step: Step) -> Result<Option<String>> {
        if step.changes_a_node() {
            let node = self.node_of(step);
            self.sink.may_act_on(&node)?;
        }
        self.record(EntryKind::StepStarted, Some(step.name()), json!({}))?;
        if step.changes_a_node() && !self.changed.contains(&step) {
            self.changed.push(step);
        }
        self.op.progress(step, StepState::Running);
        match self.exec(step) {
            Ok(detail) => {
                self.record(EntryKind::StepDone, Some(step.name()), detail)?;
                self.op.progress(step, StepState::Done);
                self.op.say(&format!("{}: done", step.name()));
                Ok(None)
            }
            Err(e) => {
                let why = format!("{e:#}");
                let mut detail = json!({"reason": why});
                if let Some(out) = e.downcast_ref::<StepOutput>() {
                    detail["output"] = json!(out.output);
                    detail["output_digest"] = json!(out.digest);
                }
                self.record(EntryKind::StepFailed, Some(step.name()), detail)?;
                self.op.progress(step, StepState::Failed);
                self.op.say(&format!("{} failed: {why}", step.name()));
                Ok(Some(format!("{} failed: {why}", step.name())))
            }
        }
    }

    /// Both nodes' statuses, for the journal's last record (`null` where a node did not say).
    fn finals(&self) -> serde_json::Value {
        json!({
            "production": self.ops.status(&self.spec.prod).ok(),
            "drp": self.ops.status(&self.spec.drp).ok(),
        })
    }

    /// Ends the run as aborted: why, both nodes' statuses and, in words, the state it leaves
    /// them in and the way back.
    fn abort(&mut self, step: Option<Step>, why: &str) -> Result<bool> {
        let finals = self.finals();
        let left = self.left_sentence(&finals);
        self.op.say(&format!("left: {left}"));
        self.record(
            EntryKind::RunAborted,
            step.map(Step::name),
            json!({"reason": why, "final": finals, "left": left}),
        )?;
        Ok(false)
    }

    /// In what state the run leaves each node, and the commands that restore production.
    fn left_sentence(&self, finals: &serde_json::Value) -> String {
        let (svc, prod, drp) = (&self.spec.svc, &self.spec.prod, &self.spec.drp);
        let avail = |key: &str| {
            finals[key]["avail"]
                .as_str()
                .unwrap_or("unknown (the node did not answer)")
                .to_string()
        };
        let mut text = format!(
            "{svc} is {} on {prod} (production) and {} on {drp} (DRP)",
            avail("production"),
            avail("drp")
        );
        if self.changed.contains(&Step::CutAccess) {
            let node = self.node_of(Step::CutAccess);
            text.push_str(&format!(
                "; user access is cut on {node} (`drpilot svc {svc} restoreaccess` there restores it)"
            ));
        }
        if self.cut_by_hand {
            let node = self.node_of(Step::CutAccess);
            text.push_str(&format!(
                "; user access to {node} was cut by hand: restore it by hand"
            ));
        }
        let up = |key: &str| matches!(finals[key]["avail"].as_str(), Some("up" | "warn"));
        if !up("production") && !up("drp") {
            text.push_str(&format!(
                "; {svc} runs nowhere: `drpilot svc {svc} start` on {prod} restores production"
            ));
        }
        text
    }

    /// Asks the way out of a run stopped after it changed something.
    fn way_out(&mut self, step: Step, why: &str, retries: u32) -> Result<WayOut> {
        let mut choices = Vec::new();
        if retries < MAX_RETRIES {
            choices.push(WayOut::Retry);
        }
        if self.spec.mode != Mode::Disaster {
            choices.push(WayOut::Rollback);
        }
        choices.push(WayOut::Leave);
        let finals = self.finals();
        let situation = format!(
            "{why}\ndone so far: {}\nnow: {}",
            self.changed
                .iter()
                .map(|s| s.name())
                .collect::<Vec<_>>()
                .join(", "),
            self.left_sentence(&finals)
        );
        let choice = self.op.way_out(step, &situation, &choices);
        // An answer that was not offered is the default: never "leave" by accident.
        let choice = if choices.contains(&choice) {
            choice
        } else {
            choices[0]
        };
        self.record(
            EntryKind::WayOut,
            Some(step.name()),
            json!({"operator": self.op.name(), "choice": choice.word(), "situation": situation}),
        )?;
        Ok(choice)
    }

    /// The node a step acts on (what its gate names): the active node for cutting access,
    /// production or the DRP node for the others.
    fn node_of(&self, step: Step) -> String {
        let prod_side = match step {
            Step::CutAccess => self.spec.mode != Mode::Failback,
            Step::StopProd | Step::StartProd | Step::SyncUpdate => true,
            _ => false,
        };
        if prod_side {
            self.spec.prod.clone()
        } else {
            self.spec.drp.clone()
        }
    }

    fn gate(&mut self, step: Step) -> Result<bool> {
        let (svc, prod, drp) = (&self.spec.svc, &self.spec.prod, &self.spec.drp);
        let prompt = match step {
            Step::CutAccess => match self.done_by_hand(step) {
                Some(_) => format!("cut user access to {svc} by hand now ({} runs no cut_access command); done?", self.node_of(step)),
                None => format!("cut user access to {svc} now (the drp_cut_access hook runs on the active node); done?"),
            },
            Step::DeclareDisaster => format!("declare a DISASTER: {prod} is lost and {svc} will start on {drp}'s last replica"),
            Step::StopProd => format!("stop {svc} on {prod}"),
            Step::StartDrp => format!("start {svc} on {drp}"),
            Step::StopDrp => format!("stop {svc} on {drp}"),
            Step::StartProd => format!("start {svc} on {prod}"),
            Step::CloneReplica => format!(
                "clone the replica of {svc} on {drp} and start {svc} from the clone in an isolated bubble there ({prod} keeps running)"
            ),
            _ => return Ok(true),
        };
        let typed = (step.gate() == Gate::Typed).then_some(svc.as_str());
        let node = self.node_of(step);
        let yes = self.op.confirm(step, &node, &prompt, typed);
        let kind = if yes {
            EntryKind::GateConfirmed
        } else {
            EntryKind::GateRefused
        };
        self.record(
            kind,
            Some(step.name()),
            json!({"operator": self.op.name(), "prompt": prompt}),
        )?;
        Ok(yes)
    }

    fn act(&mut self, node: &str, action: Action, flags: SvcFlags) -> Result<serde_json::Value> {
        let r = self.ops.act(node, &action, &flags)?;
        for line in r.output.lines().take(200) {
            self.op.say(&format!("  {node}: {line}"));
        }
        verdict(node, &action, &flags, &r)
    }

    fn wait_for(&mut self, node: &str, want_running: bool) -> Result<serde_json::Value> {
        let deadline = Instant::now() + VERIFY_WITHIN;
        loop {
            let st = self.ops.status(node)?;
            let ok = if want_running {
                st.avail == Status::Up || st.avail == Status::StdbyUpWithUp
            } else {
                !st.avail.is_active()
            };
            if ok {
                return Ok(json!({"node": node, "avail": st.avail, "overall": st.overall}));
            }
            if Instant::now() > deadline {
                bail!(
                    "{} is {} on {node} after {}s",
                    self.spec.svc,
                    st.avail,
                    VERIFY_WITHIN.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// A sync verb whose JSON log is followed live for the progress of each sync resource.
    fn sync(&mut self, node: &str, flags: SvcFlags) -> Result<serde_json::Value> {
        let flags = SvcFlags {
            force: true,
            json: true,
            waitlock: Some(SYNC_WAITLOCK.as_secs()),
            ..flags
        };
        let op = &mut *self.op;
        let mut on_line = |line: &str| {
            let Some(rec) = LogRecord::parse(line) else {
                return;
            };
            match rec.progress {
                Some(p) => op.sync_progress(&rec.rid, &p),
                None => op.say(&format!("  {node}: {} {}", rec.rid, rec.msg)),
            }
        };
        let r = self
            .ops
            .act_lines(node, &Action::SyncUpdate, &flags, &mut on_line)?;
        verdict(node, &Action::SyncUpdate, &flags, &r)
    }

    /// Up in the tree, then the optional application check (`drp_app_check`) passes there.
    fn verify_up(&mut self, node: &str) -> Result<serde_json::Value> {
        let mut detail = self.wait_for(node, true)?;
        detail["app_check"] = self.app_check(node)?;
        Ok(detail)
    }

    fn exec(&mut self, step: Step) -> Result<serde_json::Value> {
        let (prod, drp) = (self.spec.prod.clone(), self.spec.drp.clone());
        match step {
            Step::Preflight => self.preflight(),
            Step::DeclareDisaster => {
                let st = self.ops.status(&drp)?;
                let (rpo, last) = rpo_of(&st, Utc::now());
                match rpo {
                    Some(s) => self.op.say(&format!(
                        "RPO: the last replica on {drp} is {s}s old ({})",
                        last.clone().unwrap_or_default()
                    )),
                    None if st.syncs.is_empty()
                        && st
                            .resources
                            .iter()
                            .any(|r| crate::status::group_of(&r.rid) == "sync") =>
                    {
                        self.op.say(&format!(
                            "RPO unknown: {drp} reports no replica age (an OpenSVC node whose \
                         last_sync files could not be read: check var in the node map)"
                        ))
                    }
                    None => self.op.say(&format!("RPO unknown: {drp} holds no replica")),
                }
                Ok(json!({"rpo_s": rpo, "last_sync": last}))
            }
            Step::CutAccess => {
                let node = self.node_of(step);
                self.act(&node, Action::CutAccess, SvcFlags::default())
            }
            Step::SyncUpdate => self.sync(&prod, SvcFlags::default()),
            // The failback's reverse sync names its target: production.
            Step::ReverseSync => self.sync(
                &drp,
                SvcFlags {
                    target: Some(prod.clone()),
                    ..SvcFlags::default()
                },
            ),
            Step::StopProd => self.act(&prod, Action::Stop(None), SvcFlags::default()),
            Step::VerifyProdDown => self.wait_for(&prod, false),
            Step::StopDrp => self.act(&drp, Action::Stop(None), SvcFlags::default()),
            Step::VerifyDrpDown => self.wait_for(&drp, false),
            // After the typed disaster declaration, production's being unreachable no longer
            // blocks the DRP start; any other answer of production still does (docs/safety.md).
            Step::StartDrp if self.spec.mode == Mode::Disaster => {
                let flags = SvcFlags {
                    declared_lost: vec![prod.clone()],
                    ..SvcFlags::default()
                };
                self.start_on(&drp, Action::Start(None), flags)
            }
            Step::StartDrp => self.start_on(&drp, Action::Start(None), SvcFlags::default()),
            Step::VerifyDrpUp => self.verify_up(&drp),
            Step::StartProd => self.start_on(&prod, Action::Start(None), SvcFlags::default()),
            Step::VerifyProdUp => self.verify_up(&prod),
            Step::CloneReplica => {
                let mut detail = self.act(&drp, Action::BubbleClone, SvcFlags::default())?;
                let st = self.bubble(&drp)?;
                if let Some(rpo) = st.rpo_s {
                    self.op.say(&format!(
                        "RPO: the clone on {drp} is {rpo}s behind production"
                    ));
                }
                detail["rpo_s"] = json!(st.rpo_s);
                detail["cloned_at"] = json!(st.cloned_at);
                Ok(detail)
            }
            Step::StartBubble => self.act(&drp, Action::BubbleStart, SvcFlags::default()),
            Step::VerifyBubbleUp => self.act(&drp, Action::BubbleCheck, SvcFlags::default()),
            Step::EndBubble => self.act(&drp, Action::BubbleDown, SvcFlags::default()),
        }
    }

    /// What `node` holds of a test bubble.
    fn bubble(&self, node: &str) -> Result<crate::protocol::bubble::BubbleState> {
        let r = self
            .ops
            .act(node, &Action::BubbleStatus, &SvcFlags::default())?;
        if !r.ok {
            bail!("bubblestatus on {node} failed: {}", r.output.trim());
        }
        let state = json_lines(&r.output)
            .next()
            .unwrap_or_else(|| serde_json::from_str(""));
        state.map_err(|e| {
            color_eyre::eyre::eyre!("{node} answered bubblestatus with something else: {e}")
        })
    }

    fn preflight(&mut self) -> Result<serde_json::Value> {
        let (prod, drp) = (self.spec.prod.clone(), self.spec.drp.clone());
        let svc = self.spec.svc.clone();
        let p = self.ops.answer(&prod);
        let d = self.ops.answer(&drp);
        let mut problems = Vec::new();
        match self.spec.mode {
            Mode::Rehearsal => {
                match &p {
                    PeerAnswer::Status(p) => {
                        if !p.avail.is_active() {
                            problems.push(Problem::fixed_by(
                                format!("{svc} is {} on {prod}, not running", p.avail),
                                "start",
                                &prod,
                            ));
                        }
                        for r in &p.resources {
                            let is_sync = r.rid.starts_with("sync#");
                            if is_sync
                                && r.status != Status::Up
                                && r.status != Status::NotApplicable
                            {
                                let (what, verb) = if r.rid == "sync#i0" {
                                    (format!("configuration not pushed to {drp}"), "syncnodes")
                                } else {
                                    ("sync not fresh".to_string(), "syncupdate")
                                };
                                problems.push(Problem::fixed_by(
                                    format!(
                                        "{what}: {} is {} ({})",
                                        r.rid,
                                        r.status,
                                        r.comments.join("; ")
                                    ),
                                    verb,
                                    &prod,
                                ));
                            }
                        }
                    }
                    p if p.is_unreachable() => problems.push(Problem::new(format!(
                        "production {prod} {p}: if it is lost, run the disaster runbook"
                    ))),
                    p => problems.push(Problem::new(format!("production {prod} {p}"))),
                }
                self.check_drp_standby(&d, &mut problems);
            }
            Mode::Disaster => {
                // Production is lost only when it cannot be reached at all: a node that answers
                // anything, even an error or garbage, may still run the service.
                if !p.is_unreachable() {
                    problems.push(Problem::new(format!(
                        "production {prod} {p}: a node that answers is not lost, so no disaster \
                         is declared against it; stop {svc} there and run a rehearsal, or cut \
                         {prod} off (power, network) before declaring the disaster"
                    )));
                }
                self.check_drp_standby(&d, &mut problems);
            }
            Mode::Test => {
                // Production is only read: its status now is what "untouched" compares with.
                match &p {
                    PeerAnswer::Status(_) => {}
                    p => problems.push(Problem::new(format!("production {prod} {p}"))),
                }
                self.check_drp_standby(&d, &mut problems);
                if matches!(d, PeerAnswer::Status(_)) {
                    match self.bubble(&drp) {
                        Ok(b) if b.exists => problems.push(Problem::fixed_by(
                            format!(
                                "a test bubble is still on {drp} (a kept or broken earlier test)"
                            ),
                            "bubbledown",
                            &drp,
                        )),
                        Ok(b) if b.needed_bytes > b.free_bytes => {
                            problems.push(Problem::new(format!(
                                "{drp} has no room for a clone: it needs {} bytes, {} are free",
                                b.needed_bytes, b.free_bytes
                            )))
                        }
                        Ok(_) => {}
                        Err(e) => problems.push(Problem::new(format!("{e:#}"))),
                    }
                }
            }
            Mode::Failback => {
                match &d {
                    PeerAnswer::Status(d) if !d.avail.is_active() => problems.push(Problem::new(
                        format!("{svc} is {} on {drp}: nothing to fail back", d.avail),
                    )),
                    PeerAnswer::Status(_) => {}
                    d => problems.push(Problem::new(format!("DRP node {drp} {d}"))),
                }
                match p.runs() {
                    Some(false) => {}
                    Some(true) => {
                        problems.push(Problem::new(format!("{svc} is already running on {prod}")))
                    }
                    None => problems.push(Problem::new(format!("production {prod} {p}"))),
                }
            }
        }
        // The ids the service's files and processes need on the DRP node (not on a failback:
        // production's own ids are the reference).
        let drift = (self.spec.mode != Mode::Failback && matches!(d, PeerAnswer::Status(_)))
            .then(|| self.check_drift(&mut problems));
        if !problems.is_empty() {
            self.op.preflight_failed(&problems);
            let text: Vec<String> = problems.iter().map(Problem::to_string).collect();
            bail!("preflight: {}", text.join("; "));
        }
        let avail = |a: &PeerAnswer| match a {
            PeerAnswer::Status(st) => json!(st.avail),
            other => json!(other.to_string()),
        };
        let mut detail = json!({"production": avail(&p), "drp": avail(&d)});
        if let Some(drift) = drift {
            detail["drift"] = drift;
        }
        let gaps = self.gaps();
        for g in &gaps {
            self.op.say(&format!("preflight: {g}"));
        }
        if !gaps.is_empty() {
            detail["agent_gaps"] = json!(gaps);
        }
        if self.spec.mode == Mode::Test {
            // What "production untouched" is checked against at the end: every resource.
            if let PeerAnswer::Status(st) = &p {
                detail["production_status"] = json!(st);
            }
        }
        Ok(detail)
    }

    fn check_drp_standby(&self, d: &PeerAnswer, problems: &mut Vec<Problem>) {
        let drp = &self.spec.drp;
        match d {
            PeerAnswer::Status(d) => {
                if d.avail.is_active() {
                    problems.push(Problem::new(format!(
                        "{} is already {} on {drp}",
                        self.spec.svc, d.avail
                    )));
                }
                for r in d
                    .resources
                    .iter()
                    .filter(|r| r.standby && r.status != Status::StdbyUp)
                {
                    problems.push(Problem::fixed_by(
                        format!("standby resource {} is {} on {drp}", r.rid, r.status),
                        "startstandby",
                        drp,
                    ));
                }
            }
            other => problems.push(Problem::new(format!("DRP node {drp} {other}"))),
        }
    }

    /// Checks the nodes still agree with what the journal says was done.
    fn reverify(&mut self, done: &HashSet<Step>) -> Result<(), String> {
        let st = |n: &str| {
            self.ops
                .status(n)
                .map(|s| s.avail)
                .map_err(|e| format!("{e:#}"))
        };
        let prod_stopped = done.contains(&Step::VerifyProdDown) || done.contains(&Step::StopProd);
        if prod_stopped || done.contains(&Step::DeclareDisaster) {
            let answer = self.ops.answer(&self.spec.prod);
            let lost_ok = self.spec.mode == Mode::Disaster && answer.is_unreachable();
            match answer.runs() {
                Some(false) => {}
                None if lost_ok => {}
                Some(true) => {
                    return Err(format!(
                        "{} runs again on {} ({answer})",
                        self.spec.svc, self.spec.prod
                    ))
                }
                None => {
                    return Err(format!(
                        "cannot tell whether {} runs on {}: it {answer}",
                        self.spec.svc, self.spec.prod
                    ))
                }
            }
        }
        if done.contains(&Step::StartBubble) && !done.contains(&Step::EndBubble) {
            let b = self.bubble(&self.spec.drp).map_err(|e| format!("{e:#}"))?;
            if !b.running {
                return Err(format!(
                    "the test bubble on {} is not running although it was started",
                    self.spec.drp
                ));
            }
        }
        if done.contains(&Step::StartDrp) {
            let a = st(&self.spec.drp)?;
            if !a.is_active() {
                return Err(format!(
                    "{} is {a} on {} although it was started",
                    self.spec.svc, self.spec.drp
                ));
            }
        }
        self.op.say("the nodes match the journal: going on");
        Ok(())
    }

    /// Undoes what the run changed, newest first: stops what it started on the node it moves
    /// to, restarts the node it stopped, restores user access; returns whether all of it went
    /// well (the journal's `rollback` record says what ran).
    fn rollback(&mut self) -> Result<bool> {
        let (from, to) = match self.spec.mode {
            Mode::Failback => (self.spec.drp.clone(), self.spec.prod.clone()),
            _ => (self.spec.prod.clone(), self.spec.drp.clone()),
        };
        let started = |s: &Step| matches!(s, Step::StartDrp | Step::StartProd);
        let stopped = |s: &Step| matches!(s, Step::StopProd | Step::StopDrp);
        let mut plan: Vec<(String, Action)> = Vec::new();
        // A test's way back: the bubble and its clone removed.
        if self
            .changed
            .iter()
            .any(|s| matches!(s, Step::CloneReplica | Step::StartBubble))
        {
            plan.push((self.spec.drp.clone(), Action::BubbleDown));
        }
        if self.changed.iter().any(started) {
            plan.push((to.clone(), Action::Stop(None)));
        }
        if self.changed.iter().any(stopped) {
            plan.push((from.clone(), Action::Start(None)));
        }
        if self.changed.contains(&Step::CutAccess) {
            plan.push((self.node_of(Step::CutAccess), Action::RestoreAccess));
        }
        let mut ran = Vec::new();
        let mut failure = None;
        for (node, action) in plan {
            self.op
                .say(&format!("rollback: {} on {node}", action.verb()));
            let starts = matches!(action, Action::Start(_) | Action::RestoreAccess);
            let r = self.sink.may_act_on(&node).and_then(|_| {
                if starts {
                    self.start_on(&node, action.clone(), SvcFlags::default())
                } else {
                    self.act(&node, action.clone(), SvcFlags::default())
                }
            });
            ran.push(format!("{} on {node}", action.verb()));
            if let Err(e) = r {
                failure = Some(format!("{} on {node}: {e:#}", action.verb()));
                break;
            }
        }
        let ok = failure.is_none();
        self.record(
            EntryKind::Rollback,
            None,
            json!({"ok": ok, "ran": ran, "reason": failure, "operator": self.op.name()}),
        )?;
        Ok(ok)
    }
}

/// Why a step did not go on.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stopped {
    /// The operator refused its gate.
    Refused,
    /// It failed, with this reason.
    Failed(String),
}

/// A failed verb: what failed where, and its output, carried in the error so the journal
/// keeps it.
#[derive(Debug)]
struct StepOutput {
    what: String,
    output: String,
    digest: String,
}

impl std::fmt::Display for StepOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.what)
    }
}

impl std::error::Error for StepOutput {}

/// The tail of a step's output that the journal keeps (all of it when short).
fn kept_output(output: &str) -> &str {
    if output.len() <= OUTPUT_KEPT {
        return output;
    }
    let mut cut = output.len() - OUTPUT_KEPT;
    while !output.is_char_boundary(cut) {
        cut += 1;
    }
    &output[cut..]
}

/// A verb's result as a step's journal detail, or its failure with the node's last line.
fn verdict(
    node: &str,
    action: &Action,
    flags: &SvcFlags,
    r: &super::nodes::ActionResult,
) -> Result<serde_json::Value> {
    let mut words = action.to_args();
    words.extend(flags.to_args());
    let command = words.join(" ");
    if !r.ok {
        let last = r
            .output
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("failed");
        return Err(color_eyre::eyre::Report::new(StepOutput {
            what: format!("{command} on {node}: {last}"),
            output: kept_output(&r.output).to_string(),
            digest: digest(&r.output),
        }));
    }
    Ok(
        json!({"node": node, "command": command, "output_digest": digest(&r.output), "output": kept_output(&r.output)}),
    )
}

/// The JSON lines of a verb's output (`bubblestatus`, `print drift --format json`), each read
/// as a `T`; the other lines (a log line, a warning) are passed over.
fn json_lines<'a, T: serde::de::DeserializeOwned + 'a>(
    output: &'a str,
) -> impl Iterator<Item = serde_json::Result<T>> + 'a {
    output
        .lines()
        .filter(|l| l.trim_start().starts_with('{'))
        .map(serde_json::from_str)
}

/// The RPO a start on the DRP node would give: the age of its oldest last sync.
pub fn rpo_of(st: &ServiceStatus, now: DateTime<Utc>) -> (Option<i64>, Option<String>) {
    let oldest = st
        .syncs
        .iter()
        .filter_map(|s| s.last_sync.as_deref())
        .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
        .min();
    match oldest {
        Some(t) => (
            Some((now - t.with_timezone(&Utc)).num_seconds().max(0)),
            Some(t.to_rfc3339()),
        ),
        None => (None, None),
    }
}
