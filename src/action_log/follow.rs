//! Follows a rotated log file line by line: when the live file is rotated, the rest of the old
//! one (now `.1`, found by its inode) is read before the new one, so no line is lost or read
//! twice. The watch stream's action tail and `drpilot svc SVC logs -f` both use it.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::log_file::{rotated, LOG_KEEP};

/// Where a follower is in a log: the file (its inode) and the offset read up to.
#[derive(Debug)]
pub struct Follower {
    path: PathBuf,
    /// Device and inode of the file read, `None` before it exists.
    file: Option<(u64, u64)>,
    pos: u64,
}

fn identity(p: &Path) -> Option<((u64, u64), u64)> {
    std::fs::metadata(p)
        .ok()
        .map(|m| ((m.dev(), m.ino()), m.len()))
}

impl Follower {
    /// Follows `path` from its current end: what was written before is history, not news.
    pub fn from_end(path: &Path) -> Self {
        let id = identity(path);
        Self {
            path: path.to_path_buf(),
            file: id.map(|(f, _)| f),
            pos: id.map_or(0, |(_, len)| len),
        }
    }

    /// The whole lines written since the last call, at most about `max` bytes of them (a
    /// flood is read over several calls); a line still being written waits for the next call.
    pub fn read_new(&mut self, max: u64) -> Vec<String> {
        let mut out = Vec::new();
        // Rotations: finish the file read where it now lies, then each newer one, then the
        // live one (bounded: a log rotated faster than it is read loses its oldest lines).
        for _ in 0..=LOG_KEEP {
            let live = identity(&self.path);
            if live.map(|(f, _)| f) == self.file {
                if live.is_some_and(|(_, len)| len < self.pos) {
                    // Cut in place: read it again from its start.
                    self.pos = 0;
                }
                break;
            }
            let moved = self.file.and_then(|old| {
                (1..=LOG_KEEP)
                    .find(|n| identity(&rotated(&self.path, *n)).is_some_and(|(f, _)| f == old))
            });
            let Some(k) = moved else {
                self.file = live.map(|(f, _)| f);
                self.pos = 0;
                break;
            };
            let (lines, done) = self.read_from(&rotated(&self.path, k), max);
            out.extend(lines);
            if !done {
                return out;
            }
            let newer = if k == 1 {
                live
            } else {
                identity(&rotated(&self.path, k - 1))
            };
            self.file = newer.map(|(f, _)| f);
            self.pos = 0;
        }
        let path = self.path.clone();
        out.extend(self.read_from(&path, max).0);
        out
    }

    /// Reads whole lines of `path` from the current offset; whether its end was reached.
    fn read_from(&mut self, path: &Path, max: u64) -> (Vec<String>, bool) {
        let Ok(mut f) = std::fs::File::open(path) else {
            return (Vec::new(), true);
        };
        let mut buf = Vec::new();
        if f.seek(SeekFrom::Start(self.pos)).is_err() || f.take(max).read_to_end(&mut buf).is_err()
        {
            return (Vec::new(), true);
        }
        let at_end = (buf.len() as u64) < max;
        let Some(end) = buf.iter().rposition(|b| *b == b'\n') else {
            return (Vec::new(), at_end);
        };
        self.pos += end as u64 + 1;
        let lines = String::from_utf8_lossy(&buf[..end])
            .lines()
            .map(str::to_string)
            .collect();
        (lines, at_end && end + 1 == buf.len())
    }
}

impl Follower {
    /// Every line kept of the log up to where this follower starts, oldest first: the rotated
    /// files, then the live one up to the follower's offset (what follows is the follower's, so
    /// no line is printed twice).
    pub fn history(&self) -> Vec<String> {
        let mut text = Vec::new();
        for n in (1..=LOG_KEEP).rev() {
            if let Ok(b) = std::fs::read(rotated(&self.path, n)) {
                text.extend(b);
            }
        }
        if let Ok(b) = std::fs::read(&self.path) {
            let upto = usize::try_from(self.pos).unwrap_or(usize::MAX).min(b.len());
            text.extend(&b[..upto]);
        }
        String::from_utf8_lossy(&text)
            .lines()
            .map(str::to_string)
            .collect()
    }
}
