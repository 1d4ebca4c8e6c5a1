//! How a watch sleeps between probes: on inotify, woken when a file changes in the directories
//! it follows (a service's state directory: its change notice and action log; the node's shared
//! watch directory: the prober's rounds), so an idle watcher costs nothing; polling every
//! [`NOTICE_POLL`] where inotify is missing or a directory does not exist yet.

use std::collections::BTreeSet;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::fs::inotify::{self, CreateFlags, WatchFlags};

use super::watch::NOTICE_POLL;

/// The directories followed and the inotify descriptor that reports their changes.
pub struct Waker {
    fd: Option<OwnedFd>,
    watched: BTreeSet<PathBuf>,
    /// A directory could not be followed: poll until it can.
    missing: bool,
}

impl Waker {
    /// A waker following nothing yet.
    pub fn new() -> Self {
        Self {
            fd: inotify::init(CreateFlags::NONBLOCK | CreateFlags::CLOEXEC).ok(),
            watched: BTreeSet::new(),
            missing: false,
        }
    }

    /// Follows these directories from now on (in addition to those already followed).
    pub fn follow(&mut self, dirs: &[PathBuf]) {
        self.missing = false;
        let Some(fd) = &self.fd else {
            return;
        };
        for d in dirs {
            if self.watched.contains(d) {
                continue;
            }
            let flags = WatchFlags::CLOSE_WRITE
                | WatchFlags::MODIFY
                | WatchFlags::MOVED_TO
                | WatchFlags::CREATE;
            if inotify::add_watch(fd, d.as_path(), flags).is_ok() {
                self.watched.insert(d.clone());
            } else {
                self.missing = true;
            }
        }
    }

    /// Sleeps at most `limit`: less when a followed directory changes.
    pub fn wait(&self, limit: Duration) {
        let fd = match &self.fd {
            Some(fd) if !self.missing => fd,
            _ => return std::thread::sleep(limit.min(NOTICE_POLL)),
        };
        let timeout = Timespec::try_from(limit).unwrap_or(Timespec {
            tv_sec: 1,
            tv_nsec: 0,
        });
        if poll(&mut [PollFd::new(fd, PollFlags::IN)], Some(&timeout)).is_err() {
            return std::thread::sleep(limit.min(NOTICE_POLL));
        }
        // Drain the events: which file changed does not matter, the caller looks at them all.
        let mut buf = [0u8; 4096];
        while matches!(rustix::io::read(fd, &mut buf), Ok(n) if n > 0) {}
    }
}

impl Default for Waker {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `dir` is followed (tests).
#[cfg(test)]
fn follows(w: &Waker, dir: &std::path::Path) -> bool {
    w.watched.contains(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_write_in_a_followed_directory_ends_the_wait() {
        let d = tempfile::tempdir().unwrap();
        let mut w = Waker::new();
        w.follow(&[d.path().to_path_buf()]);
        assert!(follows(&w, d.path()));
        let path = d.path().join("changed");
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            std::fs::write(path, "1").unwrap();
        });
        let t = Instant::now();
        w.wait(Duration::from_secs(20));
        assert!(t.elapsed() < Duration::from_secs(10), "woken by the write");
        writer.join().unwrap();
    }
}
