//! The node agent: loads a service, probes its resources into a status tree, and runs the seed's
//! verbs (start, stop, the syncs) in the seed's order under the per-service lock.

pub mod action;
pub mod lock;

pub mod peer;
pub mod peer_answer;
pub mod peer_btrfs;
pub mod peer_dds;
pub mod peer_receive;
pub mod probe;
pub mod runner;
pub mod selector;
mod service;
pub mod watch;

pub use action::Action;
pub use runner::{run, Options};
pub use service::Service;
