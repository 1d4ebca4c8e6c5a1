//! The mark of a merge in progress on the target. A volume is written in place, chunk by chunk:
//! the mark is written before the first byte and removed only after the stream verified, the
//! device synced and the state file written. A mark left behind means the replica is
//! inconsistent (a cut transfer, a crash): the probe says so and the next `syncupdate` is
//! refused until a `syncfullsync` rewrites the whole volume.

use std::path::PathBuf;

use color_eyre::eyre::{Result, WrapErr};
use serde::{Deserialize, Serialize};

use crate::paths::{write_atomic, NodeEnv};

/// What the mark records about the merge that did not complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CutMarker {
    /// The sending node.
    pub from: String,
    /// The snapshot uuid that was being merged.
    pub id: String,
    /// `true` for a full copy.
    pub full: bool,
    /// When the merge started (RFC 3339).
    pub started: String,
}

impl CutMarker {
    /// The operator's sentence about it.
    pub fn describe(&self) -> String {
        format!(
            "a {} from {} (snap uuid {}) started {} did not complete",
            if self.full {
                "full copy"
            } else {
                "delta merge"
            },
            self.from,
            self.id,
            self.started
        )
    }
}

/// The mark's path: `<state_dir>/<rid>.dds-merging`.
pub fn marker_path(env: &NodeEnv, svc: &str, rid: &str) -> PathBuf {
    env.state_dir(svc).join(format!("{rid}.dds-merging"))
}

/// The mark, when there is one (an unreadable mark counts as one).
pub fn read_marker(env: &NodeEnv, svc: &str, rid: &str) -> Result<Option<CutMarker>> {
    let path = marker_path(env, svc, rid);
    match std::fs::read(&path) {
        Ok(b) => Ok(Some(serde_json::from_slice(&b).unwrap_or(CutMarker {
            from: "?".to_string(),
            id: "?".to_string(),
            full: false,
            started: "?".to_string(),
        }))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).wrap_err_with(|| format!("reading {}", path.display())),
    }
}

/// Writes the mark (atomically, synced) before the first byte of a merge.
pub fn write_marker(env: &NodeEnv, svc: &str, rid: &str, m: &CutMarker) -> Result<()> {
    let path = marker_path(env, svc, rid);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
    }
    let bytes = serde_json::to_vec(m)?;
    write_atomic(&path, &bytes).wrap_err_with(|| format!("writing {}", path.display()))
}

/// Removes the mark once the merge completed.
pub fn clear_marker(env: &NodeEnv, svc: &str, rid: &str) -> Result<()> {
    let path = marker_path(env, svc, rid);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).wrap_err_with(|| format!("removing {}", path.display())),
    }
}
