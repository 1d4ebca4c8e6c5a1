//! The node agent: loads a service, probes its resources into a status tree, and runs the seed's
//! verbs (start, stop, the syncs) in the seed's order under the per-service lock.

pub mod action;
mod action_tail;
pub mod bubble;
pub mod daemon;
pub mod metrics;
pub mod peer;
pub mod peer_answer;
pub mod plan;
mod plan_run;
pub mod probe;
pub mod run_state;
pub mod runner;
pub mod selector;
mod service;
pub mod watch;
mod watch_share;
mod watch_wake;

/// The per-service lock lives below the drivers (a receiving driver takes it too); the agent's
/// verbs reach it here as before.
pub use crate::lock;

pub use action::Action;
pub use runner::{run, Options};
pub use service::Service;
