//! What a stopped dockerd leaves behind and how it is cleared or quoted: a stale socket or pid
//! file, its cgroup parent in every hierarchy, mounts that forbid deleting its runtime state,
//! and the tail of its log for error messages.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, WrapErr};

/// The directories of cgroup `parent` in every mounted hierarchy (v1 controllers and v2).
pub fn cgroup_dirs(parent: &str) -> Vec<PathBuf> {
    let rel = parent.trim_start_matches('/');
    let root = Path::new("/sys/fs/cgroup");
    let mut candidates = vec![root.join(rel)];
    if let Ok(entries) = std::fs::read_dir(root) {
        candidates.extend(entries.flatten().map(|e| e.path().join(rel)));
    }
    // v1 controllers mounted together appear twice (`cpu` -> `cpu,cpuacct`).
    let mut dirs: Vec<PathBuf> = candidates
        .into_iter()
        .filter_map(|p| p.canonicalize().ok())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

/// Why `dir` must not be deleted: a mount at or under it (never delete through a mount), or
/// no way to tell.
pub fn mount_under(dir: &Path) -> Option<String> {
    // The fs driver's parser: mount points are unescaped (`\040` is a space).
    let Ok(table) = crate::drivers::fs::mountinfo::read() else {
        return Some("cannot read /proc/self/mountinfo to check for mounts".to_string());
    };
    table
        .iter()
        .find(|m| m.mount_point.starts_with(dir))
        .map(|m| format!("{} is still mounted", m.mount_point.display()))
}

pub fn remove_if_present(p: &Path) -> Result<()> {
    match std::fs::remove_file(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).wrap_err_with(|| format!("removing {}", p.display())),
    }
}

/// The last `lines` lines of `path` written past byte `from` (at most the last 64 KiB).
pub fn tail(path: &Path, from: u64, lines: usize) -> String {
    let read = || -> std::io::Result<String> {
        let mut f = std::fs::File::open(path)?;
        let len = f.metadata()?.len();
        let start = from.max(len.saturating_sub(64 * 1024));
        f.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    };
    match read() {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read it: {e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_tail_starts_at_this_start() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("dockerd.log");
        std::fs::write(&p, "old 1\nold 2\n").unwrap();
        let from = std::fs::metadata(&p).unwrap().len();
        let mut text = String::from("old 1\nold 2\n");
        for i in 0..30 {
            text.push_str(&format!("new {i}\n"));
        }
        std::fs::write(&p, &text).unwrap();
        let t = tail(&p, from, 3);
        assert_eq!(t, "new 27\nnew 28\nnew 29");
        assert_eq!(tail(&p, from, 100).lines().next(), Some("new 0"));
    }
}
