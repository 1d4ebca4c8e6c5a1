//! `drpilot check-config FILE`: every error and warning of a config, with file and line.

use std::path::Path;

use crate::config::ServiceConfig;

/// Prints the diagnostics of `file`; returns false when it has errors.
pub fn run(file: &Path) -> bool {
    match ServiceConfig::load(file, crate::drivers::catalogue()) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                eprintln!("warning: {w}");
            }
            println!(
                "{}: ok",
                crate::text::clean_line(&file.display().to_string())
            );
            true
        }
        Err(e) => {
            eprintln!("{e}");
            false
        }
    }
}
