//! Everything that reaches the console's app task: terminal input, node streams, action logs.
//! IO happens in tasks that send these; the app task only updates the state, and a render task
//! draws it.

use crate::protocol::watch::ServiceNodes;
use crate::runbook::plan::{Step, StepState};
use crate::status::ServiceStatus;

/// What a node's watch task learnt.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeEvent {
    /// The node's services and their node lists.
    Hello {
        node: String,
        services: Vec<ServiceNodes>,
    },
    /// A service's new status on the node.
    Status {
        node: String,
        status: Box<ServiceStatus>,
    },
    /// The node is alive.
    Heartbeat { node: String },
    /// How the node's probes fare: the age of its last successful probe round (when told) and
    /// why the last one failed (none: it succeeded).
    Probe {
        node: String,
        /// The node's probe interval when slower than drpilot's (an OpenSVC node's polls).
        every: Option<std::time::Duration>,
        /// The agent the node runs, when not drpilot.
        agent: Option<String>,
        probed_ago: Option<std::time::Duration>,
        error: Option<String>,
    },
    /// A service the node cannot load (bad config).
    ServiceError {
        node: String,
        service: String,
        message: String,
    },
    /// A service's run as the node's lease says (`None`: the node's lease was released).
    Run {
        node: String,
        service: String,
        lease: Option<Box<crate::protocol::run::LeaseView>>,
    },
    /// A service's test bubble on the node, or its end (`None`).
    Bubble {
        node: String,
        service: String,
        bubble: Option<Box<crate::protocol::bubble::BubbleState>>,
    },
    /// The link or the stream failed; the task reconnects with backoff.
    Down { node: String, reason: String },
}

/// One line of an action's log, as the node's agent wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Local time `HH:MM:SS`.
    pub time: String,
    /// Node the action ran on.
    pub node: String,
    /// The service the action ran for.
    pub svc: String,
    /// Resource id (empty for the service itself).
    pub rid: String,
    /// `INFO`, `WARNING`, `ERROR`.
    pub level: String,
    /// The message.
    pub msg: String,
}

/// An event for the app task.
#[derive(Debug, Clone)]
pub enum Event {
    /// Keyboard, mouse, resize.
    Input(crossterm::event::Event),
    /// From a node's watch task.
    Node(NodeEvent),
    /// A log line of a running action.
    ActionLog(LogLine),
    /// A transfer's progress in a running action (drawn as a bar, never logged as a line).
    ActionProgress {
        /// The node sending.
        node: String,
        /// The sync resource.
        rid: String,
        /// Bytes, files, rate, ETA.
        progress: crate::protocol::log::SyncProgress,
    },
    /// An action ended.
    ActionDone {
        node: String,
        svc: String,
        verb: String,
        ok: bool,
        reason: String,
    },
    /// From a runbook run by this console.
    Runbook(RunbookEvent),
    /// File work asked by the operator is over.
    File(FileDone),
    /// SIGTERM or SIGHUP: leave cleanly.
    Terminate,
}

/// The outcome of file work done off the app task.
#[derive(Debug, Clone, PartialEq)]
pub enum FileDone {
    /// `:save` wrote the log, or could not (why).
    Saved {
        /// The file, as the operator typed it.
        file: String,
        /// Why it could not be written.
        error: Option<String>,
    },
    /// A theme file was read, or why it could not be used.
    Theme(Result<crate::console::theme::Theme, String>),
}

/// What a runbook in progress tells the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunbookEvent {
    /// A run begins: its banner word and steps.
    Started {
        svc: String,
        mode: String,
        steps: Vec<Step>,
    },
    /// A step changed state.
    Progress { step: Step, state: StepState },
    /// A message for the operator.
    Say(String),
    /// A sync resource's transfer progress.
    SyncProgress {
        rid: String,
        progress: crate::protocol::log::SyncProgress,
    },
    /// A gate: the run waits for the operator's answer.
    Gate {
        svc: String,
        node: String,
        step: String,
        prompt: String,
        typed: bool,
    },
    /// The run stopped after a destructive step: it waits for the operator's way out among
    /// `choices` (the first is the default, never leave).
    WayOut {
        svc: String,
        step: String,
        situation: String,
        choices: Vec<crate::runbook::plan::WayOut>,
    },
    /// The preflight refused the run: each reason with its fix.
    Preflight(Vec<crate::runbook::preflight::Problem>),
    /// The run ended.
    Done { ok: bool, summary: String },
}
