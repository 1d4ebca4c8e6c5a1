//! Every value that crosses a process, defined once: the names a peer passes on a `drpilot
//! peer ...` command line (checked when parsed), the action log's records with their typed
//! progress, the watch stream's records, the runbook journal's entries and the agent's verbs.
//! docs/protocol.md documents each stream; its JSON examples are parsed by a test.

pub mod bubble;
pub mod drift;
pub mod journal;
pub mod log;
pub mod names;
pub mod node_state;
pub mod peer;
pub mod run;
pub mod verb;
pub mod watch;
