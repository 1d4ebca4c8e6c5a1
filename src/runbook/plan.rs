//! The runbooks as data: which steps, in which order, behind which gate, for a rehearsal, a real
//! disaster and a failback.

pub use crate::protocol::journal::Mode;

/// A step of a runbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// Both nodes read and checked.
    Preflight,
    /// The operator declares the disaster (typed).
    DeclareDisaster,
    /// User access is cut (human step, optional `drp_cut_access` hook).
    CutAccess,
    /// Last incremental sync to the DRP node.
    SyncUpdate,
    /// Failback: sync from the DRP node back to production.
    ReverseSync,
    /// Stop on production (typed).
    StopProd,
    /// Production is verified down.
    VerifyProdDown,
    /// Stop on the DRP node (typed).
    StopDrp,
    /// The DRP node is verified down.
    VerifyDrpDown,
    /// Start on the DRP node (typed).
    StartDrp,
    /// The DRP node is verified up.
    VerifyDrpUp,
    /// Start on production (typed).
    StartProd,
    /// Production is verified up.
    VerifyProdUp,
    /// Test: the replica cloned on the DRP node (confirmed).
    CloneReplica,
    /// Test: the service started from the clone in the bubble.
    StartBubble,
    /// Test: up in the bubble, and the application check passes there.
    VerifyBubbleUp,
    /// Test: the bubble torn down (skipped with `--keep`).
    EndBubble,
}

/// Where a step of a run stands, as the checklists (console pane, CLI) show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    /// Not reached yet.
    Pending,
    /// Running now.
    Running,
    /// Ended well (or found done by a resumed run).
    Done,
    /// Failed: the run stops, with a rollback where one applies.
    Failed,
    /// Skipped: nothing to do in this runbook (production lost).
    Skipped,
}

impl StepState {
    /// The word the checklists show.
    pub fn word(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Running => "running",
            StepState::Done => "done",
            StepState::Failed => "failed",
            StepState::Skipped => "skipped",
        }
    }
}

/// A way out of a run stopped after it changed something (a refused gate or a failed step
/// after `cut_access` or a stop): what the operator chooses, console and CLI alike. The default
/// is never to leave the service down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WayOut {
    /// Ask the gate again, or run the failed step again.
    Retry,
    /// Undo what the run did: stop what it started, restart production, restore user access.
    Rollback,
    /// Stop here and leave the nodes as they are (the report and the banner say how).
    Leave,
}

impl WayOut {
    /// The key that chooses it at a prompt (console and CLI alike).
    pub fn key(self) -> char {
        match self {
            WayOut::Retry => 'r',
            WayOut::Rollback => 'b',
            WayOut::Leave => 'l',
        }
    }

    /// The word the prompts and the journal use.
    pub fn word(self) -> &'static str {
        match self {
            WayOut::Retry => "retry",
            WayOut::Rollback => "rollback",
            WayOut::Leave => "leave",
        }
    }
}

/// How a step is gated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Runs without asking.
    None,
    /// A yes/no confirmation (default no).
    Confirm,
    /// The service name must be typed.
    Typed,
}

impl Step {
    /// The journal name of the step.
    pub fn name(self) -> &'static str {
        match self {
            Step::Preflight => "preflight",
            Step::DeclareDisaster => "declare_disaster",
            Step::CutAccess => "cut_access",
            Step::SyncUpdate => "syncupdate",
            Step::ReverseSync => "reverse_sync",
            Step::StopProd => "stop_production",
            Step::VerifyProdDown => "verify_production_down",
            Step::StopDrp => "stop_drp",
            Step::VerifyDrpDown => "verify_drp_down",
            Step::StartDrp => "start_drp",
            Step::VerifyDrpUp => "verify_drp_up",
            Step::StartProd => "start_production",
            Step::VerifyProdUp => "verify_production_up",
            Step::CloneReplica => "clone_replica",
            Step::StartBubble => "start_bubble",
            Step::VerifyBubbleUp => "verify_bubble_up",
            Step::EndBubble => "end_bubble",
        }
    }

    /// The step of a journal name.
    pub fn from_name(name: &str) -> Option<Step> {
        ALL.iter().copied().find(|s| s.name() == name)
    }

    /// Its gate.
    pub fn gate(self) -> Gate {
        match self {
            Step::CutAccess | Step::CloneReplica => Gate::Confirm,
            Step::DeclareDisaster
            | Step::StopProd
            | Step::StartDrp
            | Step::StopDrp
            | Step::StartProd => Gate::Typed,
            _ => Gate::None,
        }
    }

    /// Whether the step changes a node: it needs the run's lease there, and after it a stopped
    /// run offers a way back.
    pub fn changes_a_node(self) -> bool {
        self.destructive()
            || matches!(
                self,
                Step::CutAccess | Step::CloneReplica | Step::StartBubble | Step::EndBubble
            )
    }

    /// Whether the step changes a node (never re-run blindly after a crash).
    pub fn destructive(self) -> bool {
        matches!(
            self,
            Step::StopProd | Step::StartDrp | Step::StopDrp | Step::StartProd
        )
    }
}

const ALL: [Step; 17] = [
    Step::Preflight,
    Step::DeclareDisaster,
    Step::CutAccess,
    Step::SyncUpdate,
    Step::ReverseSync,
    Step::StopProd,
    Step::VerifyProdDown,
    Step::StopDrp,
    Step::VerifyDrpDown,
    Step::StartDrp,
    Step::VerifyDrpUp,
    Step::StartProd,
    Step::VerifyProdUp,
    Step::CloneReplica,
    Step::StartBubble,
    Step::VerifyBubbleUp,
    Step::EndBubble,
];

/// The steps of a runbook, and those a disaster skips (recorded as skipped).
pub fn steps(mode: Mode) -> Vec<(Step, bool)> {
    use Step::*;
    match mode {
        Mode::Rehearsal => [
            Preflight,
            CutAccess,
            SyncUpdate,
            StopProd,
            VerifyProdDown,
            StartDrp,
            VerifyDrpUp,
        ]
        .into_iter()
        .map(|s| (s, false))
        .collect(),
        Mode::Disaster => vec![
            (Preflight, false),
            (DeclareDisaster, false),
            (CutAccess, true),
            (SyncUpdate, true),
            (StopProd, true),
            (VerifyProdDown, true),
            (StartDrp, false),
            (VerifyDrpUp, false),
        ],
        Mode::Failback => [
            Preflight,
            CutAccess,
            ReverseSync,
            StopDrp,
            VerifyDrpDown,
            StartProd,
            VerifyProdUp,
        ]
        .into_iter()
        .map(|s| (s, false))
        .collect(),
        Mode::Test => [
            Preflight,
            CloneReplica,
            StartBubble,
            VerifyBubbleUp,
            EndBubble,
        ]
        .into_iter()
        .map(|s| (s, false))
        .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destructive_steps_are_all_typed_and_names_round_trip() {
        for s in ALL {
            assert_eq!(Step::from_name(s.name()), Some(s));
            if s.destructive() {
                assert_eq!(s.gate(), Gate::Typed, "{}", s.name());
            }
        }
        let disaster = steps(Mode::Disaster);
        assert!(disaster
            .iter()
            .any(|(s, skip)| *s == Step::SyncUpdate && *skip));
        assert!(disaster
            .iter()
            .any(|(s, skip)| *s == Step::StartDrp && !*skip));
    }
}
