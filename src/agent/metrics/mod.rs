//! The node's metrics for Prometheus: `collect` gathers what the node knows (each service's
//! status from the agent's probe, its syncs' last transfers, its action counters, the daemon's
//! state), `openmetrics` renders it as text, and `serve` answers `GET /metrics` for the daemon.

pub mod collect;
pub mod openmetrics;
pub mod serve;

pub use collect::{collect, NodeFacts};
pub use openmetrics::{render, Format};
pub use serve::{serve, Server};
