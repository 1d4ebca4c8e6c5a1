//! Everything an operator can ask of the console, as one type: keys (src/console/keys.rs), parsed
//! `:` commands (src/console/commands.rs), dialogs and the mouse all produce an [`Action`], and
//! [`crate::console::app::App::update`] is the one place that applies it to the state.

/// One request of the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Leave the console (asks first while an action or a runbook step runs).
    Quit,
    /// Leave the console although something runs: only the quit confirmation produces it.
    QuitConfirmed,
    /// Open the help overlay.
    Help,
    /// Scroll the help overlay by some lines (negative: up); the drawing clamps it.
    ScrollHelp(i32),
    /// Open the `:` command line.
    CommandLine,
    /// Open the `/` log filter line, starting from the current filter.
    FilterLine,
    /// Move the keyboard focus to the next pane.
    FocusNext,
    /// Move the keyboard focus to the previous pane.
    FocusPrev,
    /// Up in the focused pane: the previous service or tree row, the log or the runbook pane
    /// scrolled up a line.
    Up,
    /// Down in the focused pane: the next service or tree row, the log or the runbook pane
    /// scrolled down a line.
    Down,
    /// Scroll the log up (`up`) or down by some lines, whatever has the focus (the wheel).
    ScrollLog {
        /// Towards older lines.
        up: bool,
        /// How many lines.
        lines: usize,
    },
    /// A page up (`up`) or down in the focused pane: the runbook pane when it has the focus,
    /// the log otherwise (`pgup` `pgdn`).
    Page {
        /// Towards the start.
        up: bool,
    },
    /// The log from its oldest line (`Home`).
    LogTop,
    /// The log back at its newest line, following new ones (`End`, `G`).
    LogFollow,
    /// Open the `f` log search line.
    SearchLine,
    /// Search the log for a text (any case): the newest match is shown, matches highlighted.
    Search(String),
    /// The next match of the search, towards older lines (`n`) or newer ones (`N`).
    SearchNext {
        /// Towards older lines.
        older: bool,
    },
    /// Copy the log line the pane points at to the terminal's clipboard (`y`).
    Yank,
    /// Give the mouse back to the terminal (to select and copy text) or take it again (`m`).
    ToggleMouse,
    /// Enter: on a tree row, open the resource's detail; on the service list, focus the trees.
    Open,
    /// Focus the other node's tree (`←` `→`).
    OtherTree,
    /// Back to browsing: clear the log filter and the last message.
    Back,
    /// Show only the log lines of a resource or containing a text (empty shows all).
    Filter(String),
    /// Select the service of this name.
    Select(String),
    /// Switch to a built-in theme or a theme file.
    Theme(String),
    /// Save the visible log to a file (a dated name in the current directory by default).
    Save(Option<String>),
    /// Ask for a node verb on the selected service: opens its confirmation gate.
    Ask {
        /// `start`, `stop`, `syncupdate`, `syncfullsync` or `syncdrp`.
        verb: &'static str,
        /// The node named by the operator (default: chosen from the service's state).
        node: Option<String>,
    },
    /// Start (or resume) a runbook of the selected service: `rehearsal`, `disaster`, `failback`,
    /// or `takeover` (the run a dead seat left, once its typed gate passed).
    Runbook(&'static str),
    /// Take over the selected service's run whose seat stopped renewing: opens its typed gate.
    Takeover,
    /// A confirmation gate was passed: run the verb. Only a gate produces it.
    Run {
        /// The service acted on.
        svc: String,
        /// Node to act on.
        node: String,
        /// Verb confirmed.
        verb: String,
    },
    /// The operator's answer to the waiting runbook gate.
    AnswerGate(bool),
    /// The operator's way out of a run stopped after a destructive step. Only the way-out
    /// dialog produces it.
    WayOut(crate::runbook::plan::WayOut),
    /// A gate was cancelled; a runbook gate's run gets the refusal.
    Cancelled {
        /// What was cancelled (verb or runbook step), for the message.
        what: String,
        /// The gate belonged to a runbook, which waits for the answer.
        runbook: bool,
    },
    /// Tell the operator something (a command's usage, an unknown command).
    Notice {
        /// The message.
        text: String,
        /// Shown as an error.
        error: bool,
    },
}
