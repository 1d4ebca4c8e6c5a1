//! The replica's age on an OpenSVC node, which neither agent puts in its status: after each
//! successful sync both touch `<var>/svc/<svc>/<rid>/last_sync_<node>` (v3 on the source and,
//! through its daemon, on the target; v2 alike), so the files' modification times are the last
//! syncs. They are listed with one `find` on the node (no shell, nothing installed), and the
//! oldest file of each sync resource is its last sync: never a fresher age than the node
//! can prove.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::adapter::Agent;
use crate::status::SyncInfo;

/// Where an agent keeps its state when the node map does not say.
pub const DEFAULT_VAR: &str = "/var/lib/opensvc";

/// The limit the console measures an OpenSVC replica's age against: one day, OpenSVC's own
/// default `sync_max_delay`. The agent's verdict, which knows the service's real limit, is the
/// sync resource's status in the tree beside it.
pub const MAX_DELAY_S: u64 = 86_400;

/// The `find` that lists the sync state files of `svc` with their times.
pub fn command(agent: &Agent, svc: &str) -> Vec<String> {
    let var = agent
        .opts
        .var
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_VAR));
    let dir = var.join("svc").join(svc);
    [
        "find",
        &dir.to_string_lossy(),
        "-mindepth",
        "2",
        "-maxdepth",
        "2",
        "-type",
        "f",
        "-name",
        "last_sync_*",
        "-printf",
        "%T@ %P\\n",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Reads [`command`]'s lines (`EPOCH.FRACTION RID/last_sync_NODE`) into each sync resource's
/// last sync, the oldest of its files (RFC 3339 UTC). Lines of another shape are skipped.
pub fn read(out: &str) -> BTreeMap<String, String> {
    let mut oldest: BTreeMap<String, f64> = BTreeMap::new();
    for line in out.lines() {
        let Some((time, path)) = line.trim().split_once(' ') else {
            continue;
        };
        let Some((rid, file)) = path.split_once('/') else {
            continue;
        };
        let (Ok(t), true) = (time.parse::<f64>(), file.starts_with("last_sync_")) else {
            continue;
        };
        let e = oldest.entry(rid.to_string()).or_insert(t);
        *e = e.min(t);
    }
    oldest
        .into_iter()
        .filter_map(|(rid, t)| {
            let at = chrono::DateTime::from_timestamp(t as i64, 0)?;
            Some((rid, at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
        })
        .collect()
}

/// The replica freshness of `rids` (the status's sync resources) on the agent's node; `None`
/// when the files could not be listed (no service directory there, `find` missing or failing:
/// then no age is claimed at all, rather than a "never" the node did not say). A sync resource
/// without a file in a listed directory never synced here.
pub fn ages(agent: &Agent, svc: &str, rids: &[String]) -> Option<Vec<SyncInfo>> {
    let out = (agent.program)(&command(agent, svc)).ok()?;
    if !out.success {
        return None;
    }
    let last = read(&out.stdout_text());
    Some(
        rids.iter()
            .map(|rid| SyncInfo {
                rid: rid.clone(),
                last_sync: last.get(rid).cloned(),
                max_delay_s: MAX_DELAY_S,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_file_of_each_resource_is_its_last_sync() {
        let out = "1796133147.3465717 sync#1/last_sync_deb2\n\
                   1796133100.0000000 sync#1/last_sync_deb1\n\
                   1796133200.5 sync#i0/last_sync_deb2\n\
                   garbage\n\
                   1796133300 sync#2/other_file\n";
        let got = read(out);
        assert_eq!(got.len(), 2);
        assert_eq!(got["sync#1"], "2026-12-01T13:51:40Z");
        assert_eq!(got["sync#i0"], "2026-12-01T13:53:20Z");
    }
}
