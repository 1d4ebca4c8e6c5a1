//! Who owns the service's files and runs its processes on this node: the numeric uids and gids
//! found under the service's mount points (a bounded walk, never crossing into another
//! filesystem's mount below) and those of the processes in the service's container cgroup. It
//! goes with `sync#i1` so the DRP node can check it knows those ids by the same names.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::drivers::Ctx;
use crate::protocol::drift::{OwnerUse, ServiceOwners};

/// Entries walked at most: a huge data filesystem is sampled, and the report says so.
pub const MAX_ENTRIES: u64 = 200_000;
/// Example paths kept per id.
const EXAMPLES: usize = 5;

/// Uses of one id while scanning.
#[derive(Default)]
struct Tally {
    files: u64,
    examples: Vec<String>,
    processes: Vec<String>,
}

impl Tally {
    fn file(&mut self, shown: &str) {
        self.files += 1;
        if self.examples.len() < EXAMPLES {
            self.examples.push(shown.to_string());
        }
    }

    fn process(&mut self, comm: &str) {
        if !self.processes.iter().any(|p| p == comm) {
            self.processes.push(comm.to_string());
        }
    }
}

/// What the walk gathers.
#[derive(Default)]
struct Scan {
    users: BTreeMap<u32, Tally>,
    groups: BTreeMap<u32, Tally>,
    entries: u64,
}

/// The service's mount points on this node (`mnt` of its fs resources), as configured.
fn roots(ctx: &Ctx) -> Vec<String> {
    let mut v: Vec<String> = ctx
        .cfg
        .resource_sections()
        .filter(|s| s.name.starts_with("fs#"))
        .filter_map(|s| ctx.get(&s.name, "mnt"))
        .collect();
    v.sort();
    v.dedup();
    // A mount point inside another is walked from its own root: the walk of the outer one
    // stops at the filesystem's edge.
    v
}

/// Walks `dir` (shown as `shown`), counting owners, until [`MAX_ENTRIES`].
fn walk(scan: &mut Scan, dir: &Path, shown: &str, dev: u64) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if scan.entries >= MAX_ENTRIES {
            return;
        }
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        scan.entries += 1;
        let name = entry.file_name();
        let child = format!("{shown}/{}", name.to_string_lossy());
        scan.users.entry(meta.uid()).or_default().file(&child);
        scan.groups.entry(meta.gid()).or_default().file(&child);
        // Stay on the service's filesystem: a mount below is another resource's (or the
        // private dockerd's overlay mounts), walked from its own root if it is the service's.
        if meta.is_dir() && meta.dev() == dev {
            walk(scan, &entry.path(), &child, dev);
        }
    }
}

/// The processes of the service's containers (their cgroup lies under the service's own).
fn processes(scan: &mut Scan, cgroup: &str) {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return;
    };
    for p in procs.flatten() {
        let pid = p.file_name();
        if !pid.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let base = p.path();
        let Ok(groups) = std::fs::read_to_string(base.join("cgroup")) else {
            continue;
        };
        if !groups.lines().any(|l| l.contains(cgroup)) {
            continue;
        }
        let Ok(meta) = std::fs::metadata(&base) else {
            continue;
        };
        let comm = std::fs::read_to_string(base.join("comm")).unwrap_or_default();
        let comm = comm.trim();
        scan.users.entry(meta.uid()).or_default().process(comm);
        scan.groups.entry(meta.gid()).or_default().process(comm);
    }
}

fn uses(map: BTreeMap<u32, Tally>) -> Vec<OwnerUse> {
    map.into_iter()
        .map(|(id, t)| OwnerUse {
            id,
            files: t.files,
            examples: t.examples,
            processes: t.processes,
        })
        .collect()
}

/// Scans the service's files and processes on this node.
pub fn scan(ctx: &Ctx) -> ServiceOwners {
    let mut scan = Scan::default();
    let roots = roots(ctx);
    for root in &roots {
        let path = ctx.env.path(root);
        if let Ok(meta) = path.symlink_metadata() {
            scan.users.entry(meta.uid()).or_default().file(root);
            scan.groups.entry(meta.gid()).or_default().file(root);
            walk(&mut scan, &path, root.trim_end_matches('/'), meta.dev());
        }
    }
    let has_container = ctx
        .cfg
        .resource_sections()
        .any(|s| s.name.starts_with("container#"));
    if has_container {
        let daemon = crate::drivers::container_docker::Daemon::of(ctx);
        processes(&mut scan, daemon.cgroup_parent());
    }
    ServiceOwners {
        node: ctx.env.nodename.clone(),
        scanned_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        roots,
        truncated: scan.entries >= MAX_ENTRIES,
        users: uses(scan.users),
        groups: uses(scan.groups),
    }
}
