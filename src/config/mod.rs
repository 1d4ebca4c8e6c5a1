//! The seed's service configuration: a strict INI reader that names file, line, section and
//! key in every diagnostic, validation against the keyword catalogue the drivers hand in, and
//! per-node scoping.
//!
//! CONTRACT (used by agent, drivers, lab, cli — keep these signatures):
//! - `ServiceConfig::load(path, cat)` / `ServiceConfig::parse(name, path, text, cat)` -> `Result<Loaded, ConfigError>`,
//!   `cat` being the drivers' keyword catalogue (`drivers::catalogue()`)
//! - `cfg.get(section, key, node) -> Option<Resolved>`; `cfg.get_list(section, key, node) -> Vec<String>`
//! - `cfg.list_includes(&words, node)`, `cfg.role(node)`, `cfg.all_nodes()`, `cfg.resource_sections()`
//! - `Diagnostic` displays as `file:line: [section] key: message`.

pub mod btrfs_volume;
mod command_values;
mod diagnostic;
mod ini;
mod keywords;
pub mod parallel;
pub mod paths;
mod print;
mod required;
mod scope;
mod service;
mod suggest;
mod validate;

pub use diagnostic::{ConfigError, Diagnostic, Severity};
pub use ini::{RawConfig, RawEntry, RawSection};
pub use keywords::{Catalogue, KeywordSpec, KindKeywords};
pub use scope::{Resolved, Scope};
pub use service::{Loaded, Role, ServiceConfig};

/// Checks a service name against `[A-Za-z0-9._-]+` (not first `.` or `-`): names become file
/// and directory names. The rule lives with the other names a peer sends.
pub use crate::protocol::names::is_valid_service_name;

#[cfg(test)]
mod tests;
