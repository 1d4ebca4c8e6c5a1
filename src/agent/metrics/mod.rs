//! The node's metrics for Prometheus: `collect` gathers what the node knows (each service's
//! status from the agent's probe, its syncs' last transfers, its action counters, the daemon's
//! state), `openmetrics` renders it as text, and `serve` answers `GET /metrics` for the daemon.

pub mod collect;
pub mod openmetrics;
pub mod serve;

pub use collect::{collect, NodeFacts};
pub use openmetrics::{render, Format};
pub use serve::{serve, Server};

/// The node's metrics as the daemon's endpoint serves them, whatever happens: when the node's
/// services cannot even be listed, the text says so (`drpilot_metrics_read_errors` 1) rather
/// than failing the scrape.
pub fn node_text(env: &crate::paths::NodeEnv, format: Format) -> String {
    let facts = collect(env, &[]).unwrap_or_else(|e| NodeFacts {
        node: env.nodename.clone(),
        now: chrono::Utc::now(),
        services: Vec::new(),
        daemon: None,
        errors: vec![format!("{e:#}")],
    });
    render(&facts, format)
}
