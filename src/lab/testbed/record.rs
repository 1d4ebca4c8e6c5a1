//! What a testbed writes about itself as it builds (`testbed.json` in its directory): enough to
//! tear it down from another process after the one that built it crashed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, WrapErr};
use serde::{Deserialize, Serialize};

use super::host::{kill_init, kill_recorded, start_time, HostRecord};
use crate::lab::loopdev::detach_all_under;
use crate::paths::write_atomic;

/// Where testbeds live: not under /tmp, which every host mounts privately.
pub const BASE_DIR: &str = "/var/tmp/drpilot-testbed";

/// How long a loop device may stay busy after its namespace ended.
const DETACH_LIMIT: Duration = Duration::from_secs(10);

/// The record of one testbed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestbedRecord {
    /// The testbed's directory.
    pub dir: PathBuf,
    /// The process that built it, and its start time.
    pub owner_pid: u32,
    /// Start time of the owner, so a recycled pid does not look alive.
    pub owner_start: u64,
    /// Its bridge (inside the switch).
    pub bridge: String,
    /// The process holding the switch's network namespace.
    #[serde(default)]
    pub switch_pid: u32,
    /// Its start time.
    #[serde(default)]
    pub switch_start: u64,
    /// Its hosts, as far as they were built.
    pub hosts: Vec<HostRecord>,
    /// Setup time, for the performance notes.
    #[serde(default)]
    pub setup_ms: u64,
}

impl TestbedRecord {
    /// A record owned by this process.
    pub fn new(dir: &Path, bridge: &str) -> Self {
        let pid = std::process::id();
        Self {
            dir: dir.to_path_buf(),
            owner_pid: pid,
            owner_start: start_time(pid).unwrap_or_default(),
            bridge: bridge.to_string(),
            switch_pid: 0,
            switch_start: 0,
            hosts: Vec::new(),
            setup_ms: 0,
        }
    }

    /// Writes it atomically.
    pub fn save(&self) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).wrap_err("encoding the testbed record")?;
        write_atomic(&self.dir.join("testbed.json"), &json)
            .wrap_err_with(|| format!("writing {}", self.dir.display()))
    }

    fn owner_alive(&self) -> bool {
        start_time(self.owner_pid) == Some(self.owner_start)
    }
}

/// Ends a recorded testbed: its hosts, its switch (bridge and veths), loop devices, docker
/// cgroups and directory.
pub fn teardown_record(rec: &TestbedRecord) -> Result<()> {
    for h in &rec.hosts {
        kill_init(h)?;
    }
    // The bridge and the switch ends of the veths live in the switch: they go with it.
    if rec.switch_pid != 0 {
        kill_recorded(rec.switch_pid, rec.switch_start, "the testbed switch")?;
    }
    // A mount namespace is released just after its last process: retry while busy.
    let deadline = Instant::now() + DETACH_LIMIT;
    loop {
        let _ = detach_all_under(&rec.dir);
        let left = loops_under(&rec.dir);
        if left.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            color_eyre::eyre::bail!(
                "loop devices still attached under {}: {}",
                rec.dir.display(),
                left.join(", ")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for h in &rec.hosts {
        remove_docker_cgroups(&h.name);
    }
    std::fs::remove_dir_all(&rec.dir)
        .or_else(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Ok(())
            } else {
                Err(e)
            }
        })
        .wrap_err_with(|| format!("removing {}", rec.dir.display()))
}

fn loops_under(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/sys/block") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let back = std::fs::read_to_string(e.path().join("loop/backing_file")).ok()?;
            Path::new(back.trim()).starts_with(dir).then_some(name)
        })
        .collect()
}

/// Removes the (empty) cgroups a host's private dockerds made: `drpilot-<node>-*` in every
/// hierarchy, deepest first.
fn remove_docker_cgroups(node: &str) {
    let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") else {
        return;
    };
    let prefix = format!("drpilot-{node}-");
    for h in hierarchies.flatten() {
        let Ok(groups) = std::fs::read_dir(h.path()) else {
            continue;
        };
        for g in groups.flatten() {
            if g.file_name().to_string_lossy().starts_with(&prefix) {
                remove_tree(&g.path());
            }
        }
    }
}

fn remove_tree(dir: &Path) {
    if let Ok(children) = std::fs::read_dir(dir) {
        for c in children.flatten() {
            if c.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&c.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

/// Tears down every testbed whose builder is gone; returns their directories.
pub fn sweep_stale() -> Result<Vec<PathBuf>> {
    let mut swept = Vec::new();
    let Ok(entries) = std::fs::read_dir(BASE_DIR) else {
        return Ok(swept);
    };
    for e in entries.flatten() {
        let path = e.path().join("testbed.json");
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let Ok(rec) = serde_json::from_slice::<TestbedRecord>(&bytes) else {
            continue;
        };
        if rec.owner_alive() {
            continue;
        }
        teardown_record(&rec)?;
        swept.push(rec.dir);
    }
    Ok(swept)
}
