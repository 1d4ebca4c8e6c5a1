//! The values of a run's report: what the Markdown, HTML and JSON renderings show, and what the
//! JSON gives scripts and auditors. Built by `build.rs` from the journal alone.

use serde::{Deserialize, Serialize};

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
    /// The step's output file beside the report (`RUN.outputs/NN-STEP.txt`), when the journal
    /// holds its output.
    pub output_file: Option<String>,
}

/// A gate's answer: who confirmed or refused which step, and when.
#[derive(Debug, Clone, Serialize)]
pub struct GateRow {
    /// The gated step (or `rollback`).
    pub step: String,
    /// Confirmed (true) or refused (false).
    pub confirmed: bool,
    /// Who answered, as the journal names them.
    pub operator: String,
    /// When (the record's UTC time).
    pub at: String,
    /// What the gate asked.
    pub prompt: Option<String>,
}

/// Something that stopped or refused the run: a refused gate, a failed step (preflight
/// included), a failed rollback, the abort itself.
#[derive(Debug, Clone, Serialize)]
pub struct Refusal {
    /// When (the record's UTC time).
    pub at: String,
    /// The step concerned, when the journal names one.
    pub step: Option<String>,
    /// `gate refused`, `step failed`, `rollback failed`, `run aborted`.
    pub what: String,
    /// Why, in the journal's words.
    pub reason: String,
}

/// A seat: the person, machine and process that ran (or resumed) the run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seat {
    /// The person.
    #[serde(default)]
    pub user: String,
    /// The machine.
    #[serde(default)]
    pub host: String,
    /// The process.
    #[serde(default)]
    pub pid: u64,
}

impl std::fmt::Display for Seat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{} (pid {})", self.user, self.host, self.pid)
    }
}

/// A resume after a crash or a takeover: who, from which seat, when.
#[derive(Debug, Clone, Serialize)]
pub struct ResumeRow {
    /// When (the record's UTC time).
    pub at: String,
    /// Who resumed, as the journal names them.
    pub operator: String,
    /// The seat that resumed, when the journal records it.
    pub seat: Option<Seat>,
    /// Whether the seat took the run over from another one, when recorded.
    pub takeover: Option<bool>,
}

/// A way out chosen after a run stopped past a change (retry, rollback, leave).
#[derive(Debug, Clone, Serialize)]
pub struct WayOutRow {
    /// When (the record's UTC time).
    pub at: String,
    /// The step the run stopped at, when named.
    pub step: Option<String>,
    /// What was chosen.
    pub choice: String,
    /// Who chose it.
    pub operator: String,
}

/// One node's state at the end of the run.
#[derive(Debug, Clone, Serialize)]
pub struct NodeFinal {
    /// `production` or `drp`.
    pub role: String,
    /// The node's name.
    pub node: String,
    /// `recorded` (a status), `unreadable` (the run could not read the node at its end), or
    /// `not recorded` (the journal says nothing: a run in progress, or an older journal).
    pub recorded: String,
    /// The service's overall state on the node, when recorded.
    pub overall: Option<String>,
    /// The status tree, as `print status` shows it, when recorded.
    pub tree: Option<String>,
}

/// The nodes' final states and, for an aborted run, the sentence saying how it left them.
#[derive(Debug, Clone, Serialize)]
pub struct FinalState {
    /// Production then the DRP node.
    pub nodes: Vec<NodeFinal>,
    /// In what state an aborted run left each node (`None`: not recorded).
    pub left: Option<String>,
}

/// A step's output written beside the report.
#[derive(Debug, Clone, Serialize)]
pub struct OutputRef {
    /// The journal record that holds the output.
    pub seq: u64,
    /// The step.
    pub step: String,
    /// The file, relative to the report's directory: `RUN.outputs/NN-STEP.txt`.
    pub file: String,
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
    /// Who ran it (the journal's words, as is).
    pub operator: String,
    /// The seat that started it, when the journal records it.
    pub seat: Option<Seat>,
    /// When it started (the first record's UTC time).
    pub started: String,
    /// `succeeded`, `aborted`, `in progress`.
    pub outcome: String,
    /// The steps.
    pub steps: Vec<StepRow>,
    /// Recovery time: from the first step of the switch to the service verified up.
    pub rto_s: Option<f64>,
    /// What the RTO measures, in this runbook's steps.
    pub rto_label: String,
    /// What users saw: access cut to the service verified up.
    pub downtime_s: Option<f64>,
    /// Data lost: 0 when the last sync ran after the cut, else the replica's age (a test's:
    /// the clone's age).
    pub rpo_s: Option<i64>,
    /// A test only: production's status the same before and after the run.
    #[serde(default)]
    pub production_untouched: Option<bool>,
    /// What the nodes' agents do not do and this run did from the seat or by hand (OpenSVC
    /// nodes), as the preflight listed it.
    pub agent_gaps: Vec<String>,
    /// Every gate's answer, in order.
    pub gates: Vec<GateRow>,
    /// Every refusal, failure and abort, in order.
    pub refusals: Vec<Refusal>,
    /// Every resume, in order.
    pub resumes: Vec<ResumeRow>,
    /// Every way out chosen, in order.
    pub way_outs: Vec<WayOutRow>,
    /// Both nodes' final states.
    pub final_state: FinalState,
    /// Final status trees, as `print status` shows them.
    pub final_trees: Vec<String>,
    /// The step outputs beside the report.
    pub outputs: Vec<OutputRef>,
    /// Hash of the journal's last record.
    pub journal_hash: String,
}
