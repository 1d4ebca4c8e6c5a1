//! drpilot: a disaster-recovery toolkit for a service replicated between a production node and
//! a DRP node. The node agent lives in [`agent`] (with its resource [`drivers`]), reads the
//! seed's INI service configs through [`config`], reports through [`status`] and reaches peer
//! nodes through [`transport`]. [`lab`] builds the embedded two-node lab; [`console`] is the
//! operations console that watches both nodes.

pub mod action_log;
pub mod agent;
pub mod cli;
pub mod color;
pub mod config;
pub mod console;
pub mod drivers;
pub mod lab;
pub mod lock;
pub mod paths;
pub mod procfs;
pub mod protocol;
pub mod runbook;
pub mod status;
pub mod text;
pub mod transport;

#[cfg(test)]
mod layering;
