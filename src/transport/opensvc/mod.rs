//! Nodes that run an OpenSVC agent instead of drpilot: what their commands print, read into
//! drpilot's own values (the status model, log records), so the console and the runbooks work
//! with them as they are, installing nothing there.
//!
//! `adapter.rs` answers drpilot's command lines with the agent's commands (a node of flavor
//! `opensvc2` or `opensvc3` in nodes.toml), which `dialect.rs` writes in each agent's words;
//! `v2_status.rs` and `v3_status.rs` read the agents' status documents (`words.rs` holds what
//! both share), `v2_log.rs` and `v3_log.rs` their action logs; `watch.rs` polls a node for the
//! console, woken early by `wake.rs` (an action, or a v3 event from `v3_events.rs`).

pub mod adapter;
pub mod dialect;
pub mod replica;
pub mod v2_log;
pub mod v2_status;
pub mod v3_events;
pub mod v3_log;
pub mod v3_status;
pub mod wake;
pub mod watch;
mod words;
