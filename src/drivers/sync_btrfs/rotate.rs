//! Rotation of the snapshots after a successful transfer, on both nodes: the one just sent (or
//! received) stays, and so does the newest snapshot shared with every other peer (recorded per
//! peer in `<state_dir>/btrfs/<rid>/common-<node>`, so a second target never loses its parent);
//! older `SUBVOL@*` snapshots go.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use color_eyre::eyre::Result;

use super::location::Location;
use super::plan;
use super::volume::Top;
use crate::paths::write_atomic;

fn record_path(svc_state: &Path, rid: &str, node: &str) -> PathBuf {
    svc_state
        .join("btrfs")
        .join(rid)
        .join(format!("common-{node}"))
}

/// Records `name` as the newest snapshot this node shares with `node`.
pub fn record_common(svc_state: &Path, rid: &str, node: &str, name: &str) -> Result<()> {
    write_atomic(
        &record_path(svc_state, rid, node),
        format!("{name}\n").as_bytes(),
    )?;
    Ok(())
}

/// The snapshots recorded as shared with peers other than `except`; only `nodes` count when
/// the service's node list is known (a node dropped from the config pins nothing).
pub fn kept_for_others(
    svc_state: &Path,
    rid: &str,
    except: &str,
    nodes: Option<&[String]>,
) -> BTreeSet<String> {
    let mut keep = BTreeSet::new();
    let Ok(entries) = std::fs::read_dir(svc_state.join("btrfs").join(rid)) else {
        return keep;
    };
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let Some(node) = file.strip_prefix("common-") else {
            continue;
        };
        if node == except || nodes.is_some_and(|n| !n.iter().any(|x| x == node)) {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(e.path()) {
            keep.insert(text.trim().to_string());
        }
    }
    keep
}

/// What a rotation did.
#[derive(Debug, Default)]
pub struct Rotated {
    /// Snapshots deleted.
    pub deleted: Vec<String>,
    /// Deletions that failed (the snapshot stays; the next rotation tries again).
    pub warnings: Vec<String>,
}

/// Deletes the snapshots of `loc` older than `current` that are not in `keep`.
pub fn rotate(
    top: &Top,
    loc: &Location,
    current: &str,
    keep: &BTreeSet<String>,
) -> Result<Rotated> {
    let all = top.list()?;
    let snaps = plan::snapshots(&all, loc);
    let mut done = Rotated::default();
    for s in plan::rotation(&snaps, current, keep) {
        match top.delete(&s.path) {
            Ok(()) => done.deleted.push(s.name().to_string()),
            Err(e) => done.warnings.push(format!("{e:#}")),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_of_other_current_nodes_are_kept() {
        let d = tempfile::tempdir().unwrap();
        record_common(d.path(), "sync#1", "deb2", "root@a").unwrap();
        record_common(d.path(), "sync#1", "deb3", "root@b").unwrap();
        record_common(d.path(), "sync#1", "gone", "root@c").unwrap();
        let nodes = ["deb1", "deb2", "deb3"].map(String::from);
        let keep = kept_for_others(d.path(), "sync#1", "deb2", Some(&nodes));
        assert_eq!(keep, ["root@b".to_string()].into());
        let all = kept_for_others(d.path(), "sync#1", "deb3", None);
        assert_eq!(all, ["root@a".to_string(), "root@c".to_string()].into());
        assert!(kept_for_others(d.path(), "sync#2", "x", None).is_empty());
    }
}
