//! The console's state in slices, each a small type with its own update functions:
//! [`nodes`] (services, trees, freshness), [`selection`] (selected service, focused pane),
//! [`log`] (the bounded action log and its filter), [`log_view`] (the log's search, mouse
//! capture and clipboard requests), [`dialogs`] (the keyboard's mode: command
//! line, filter line, help, confirmation gates) and [`runbook`] (the run shown in the runbook
//! pane) and [`runs`] (every service's run as the nodes' leases say).
//! [`crate::console::app::App`] composes them and applies every [`Action`] in one place.
//!
//! [`Action`]: crate::console::action::Action

pub mod dialogs;
pub mod log;
pub mod log_view;
pub mod nodes;
pub mod replica;
pub mod runbook;
pub mod runs;
pub mod selection;
pub mod transfers;
