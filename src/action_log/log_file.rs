//! A log file capped in size and rotated (`actions.log` → `actions.log.1` → … → dropped), shared
//! by every process that acts on the service: each append takes a small `flock`, reopens the
//! file when another process rotated it, and rotates it itself when the line would pass the cap.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};

/// Size past which a log file is rotated: a node's disk never fills with action logs.
pub const LOG_CAP: u64 = 10 * 1024 * 1024;

/// Rotated files kept (`actions.log.1` to `actions.log.3`); the oldest is dropped.
pub const LOG_KEEP: usize = 3;

/// One rotated log file: its path, its cap and how many rotated files it keeps.
pub struct LogFile {
    path: PathBuf,
    cap: u64,
    keep: usize,
    file: Option<File>,
}

/// The rotated file `n` of `path` (`actions.log.2`); 0 is the live file.
pub fn rotated(path: &Path, n: usize) -> PathBuf {
    if n == 0 {
        return path.to_path_buf();
    }
    let mut s = path.as_os_str().to_os_string();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

impl LogFile {
    /// The log at `path` with the node's cap and rotation.
    pub fn new(path: &Path) -> Self {
        Self::with_cap(path, LOG_CAP, LOG_KEEP)
    }

    /// The log at `path`, rotated past `cap` bytes, keeping `keep` rotated files (tests use a
    /// small cap).
    pub fn with_cap(path: &Path, cap: u64, keep: usize) -> Self {
        Self {
            path: path.to_path_buf(),
            cap,
            keep: keep.max(1),
            file: None,
        }
    }

    /// Appends `lines` (each without its newline) at once, rotating first when they would pass
    /// the cap. Best effort: a log that cannot be written never stops an action.
    pub fn append(&mut self, lines: &[String]) {
        let _ = self.try_append(lines);
    }

    fn try_append(&mut self, lines: &[String]) -> std::io::Result<()> {
        let mut text = lines.join("\n");
        text.push('\n');
        let lock = self.lock()?;
        flock(&lock, FlockOperation::LockExclusive)?;
        let len = match std::fs::metadata(&self.path) {
            Ok(m) => {
                // Another process rotated the file: write to the new one.
                let ours = self.file.as_ref().and_then(|f| f.metadata().ok());
                if ours.is_none_or(|o| o.ino() != m.ino() || o.dev() != m.dev()) {
                    self.file = None;
                }
                m.len()
            }
            Err(_) => {
                self.file = None;
                0
            }
        };
        if len > 0 && len + text.len() as u64 > self.cap {
            self.rotate()?;
        }
        if self.file.is_none() {
            self.file = Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?,
            );
        }
        if let Some(f) = self.file.as_mut() {
            f.write_all(text.as_bytes())?;
        }
        Ok(())
    }

    /// The lock file every writer of this log takes (`actions.log.lock`).
    fn lock(&self) -> std::io::Result<File> {
        let mut s = self.path.as_os_str().to_os_string();
        s.push(".lock");
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(PathBuf::from(s))
    }

    /// Shifts `.1` → `.2` … and the live file to `.1`, dropping the oldest.
    fn rotate(&mut self) -> std::io::Result<()> {
        self.file = None;
        let _ = std::fs::remove_file(rotated(&self.path, self.keep));
        for n in (1..self.keep).rev() {
            let from = rotated(&self.path, n);
            if from.exists() {
                std::fs::rename(&from, rotated(&self.path, n + 1))?;
            }
        }
        std::fs::rename(&self.path, rotated(&self.path, 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_file_is_capped_and_rotated() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("actions.log");
        let mut log = LogFile::with_cap(&path, 100, 3);
        // Another writer of the same log (another action of the service).
        let mut other = LogFile::with_cap(&path, 100, 3);
        for i in 0..40 {
            let line = format!("line {i:02} {}", "x".repeat(12));
            if i % 2 == 0 {
                log.append(&[line]);
            } else {
                other.append(&[line]);
            }
        }
        let read = |n| std::fs::read_to_string(rotated(&path, n)).unwrap_or_default();
        for n in 0..=3 {
            assert!(
                read(n).len() <= 100,
                "file {n} passed the cap: {:?}",
                read(n)
            );
        }
        assert!(!rotated(&path, 4).exists(), "only 3 rotated files are kept");
        // Oldest first, the kept lines are the last ones written, in order, none lost between
        // the files kept.
        let all: Vec<String> = (0..=3)
            .rev()
            .flat_map(|n| read(n).lines().map(str::to_string).collect::<Vec<_>>())
            .collect();
        let numbers: Vec<u32> = all.iter().map(|l| l[5..7].parse().unwrap()).collect();
        assert_eq!(*numbers.last().unwrap(), 39);
        assert!(numbers.len() >= 12, "{all:?}");
        assert!(
            numbers.windows(2).all(|w| w[1] == w[0] + 1),
            "lines out of order or lost: {numbers:?}"
        );
    }
}
