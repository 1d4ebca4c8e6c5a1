//! Nodes that run an OpenSVC agent instead of drpilot: what their commands print, read into
//! drpilot's own values (the status model, log records), so the console and the runbooks work
//! with them as they are, installing nothing there.
//!
//! `adapter.rs` answers drpilot's command lines with the agent's commands (a node of flavor
//! `opensvc2` in nodes.toml); `v2_status.rs` reads `om SVC print status -r --format json` of the v2 (Python) agent;
//! `v2_log.rs` reads its action logs (`@ n:NODE o:SVC r:RID sc:n` headers, lines starting with
//! two spaces for info, `W` for warnings, `E` for errors).

pub mod adapter;
pub mod v2_log;
pub mod v2_status;
pub mod watch;
