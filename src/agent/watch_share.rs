//! One probe loop per node, whatever the number of screens: the first `agent watch` on a node
//! takes a lock and probes; it publishes each round in a file next to the lock, and the node's
//! other watchers follow that file instead of probing. When the prober exits, its lock is free
//! and the next watcher to look takes over.
//!
//! When the node daemon runs it is the prober: it holds `daemon.lock` in the same directory for
//! its life, a watcher that probes gives the probing up at its next round when it sees that
//! lock held, and the daemon takes the prober's lock then.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use rustix::fs::{flock, FlockOperation};
use serde::{Deserialize, Serialize};

use crate::paths::NodeEnv;
use crate::protocol::watch::ServiceNodes;
use crate::status::ServiceStatus;

/// What the prober found in one round: what every watcher of the node streams from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Round {
    /// The services whose config loads, with their node lists.
    pub services: Vec<ServiceNodes>,
    /// Each configured service: its status, or why its config does not load.
    pub results: Vec<(String, Result<ServiceStatus, String>)>,
    /// The services an action said it changed since the previous round.
    pub notified: BTreeSet<String>,
    /// Why the node could not be probed at all, if it could not.
    pub failing: Option<String>,
    /// When the last round that succeeded ended (milliseconds since the Unix epoch).
    pub last_ok_ms: Option<u64>,
}

/// An unchanged round is published again after this long (a follower beats every 2 s).
pub const REPUBLISH_EVERY: Duration = Duration::from_millis(1900);

impl Round {
    /// What the round says, without the probes' times: equal keys, nothing new to publish.
    fn key(&self) -> String {
        let results: Vec<(&String, Result<String, &String>)> = self
            .results
            .iter()
            .map(|(n, r)| {
                let r = match r {
                    Ok(st) => {
                        let mut st = st.clone();
                        st.updated.clear();
                        Ok(serde_json::to_string(&st).unwrap_or_default())
                    }
                    Err(e) => Err(e),
                };
                (n, r)
            })
            .collect();
        serde_json::to_string(&(&self.services, results, &self.notified, &self.failing))
            .unwrap_or_default()
    }
}

/// This watcher's part in the node's one probe loop.
pub struct Shared {
    dir: PathBuf,
    root: PathBuf,
    lock: Option<File>,
    seen: Option<(SystemTime, u64)>,
    /// What was last published (without its times) and when.
    published: Option<(String, Instant)>,
    /// The daemon's lock, held for the daemon's life (only in the daemon).
    daemon: Option<File>,
}

impl Shared {
    /// The node's shared watch directory, `/run/drpilot/watch`.
    pub fn new(env: &NodeEnv) -> Self {
        Self {
            dir: env.path("/run/drpilot/watch"),
            root: env.root.clone(),
            lock: None,
            seen: None,
            published: None,
            daemon: None,
        }
    }

    /// The node daemon's part: it holds `daemon.lock` while it lives, so the node's watchers
    /// leave the probing to it. Refused while another daemon runs on the node.
    pub fn for_daemon(env: &NodeEnv) -> color_eyre::eyre::Result<Self> {
        use color_eyre::eyre::{bail, WrapErr};
        let mut s = Self::new(env);
        std::fs::create_dir_all(&s.dir)
            .wrap_err_with(|| format!("creating {}", s.dir.display()))?;
        let path = s.daemon_lock();
        let file = crate::lock::open_lock_file(&path)?;
        if flock(&file, FlockOperation::NonBlockingLockExclusive).is_err() {
            bail!(
                "another drpilot daemon runs on this node (it holds {})",
                path.display()
            );
        }
        s.daemon = Some(file);
        Ok(s)
    }

    fn daemon_lock(&self) -> PathBuf {
        self.dir.join("daemon.lock")
    }

    /// Whether a daemon holds its lock on this node (a watcher's positive evidence to follow).
    fn daemon_runs(&self) -> bool {
        let Ok(file) = File::open(self.daemon_lock()) else {
            return false;
        };
        matches!(
            flock(&file, FlockOperation::NonBlockingLockShared),
            Err(rustix::io::Errno::WOULDBLOCK)
        )
    }

    /// The shared directory (the prober's rounds appear there).
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    fn published(&self) -> PathBuf {
        self.dir.join("published.json")
    }

    /// Whether this watcher probes: it holds the prober's lock, or takes it now that it is free.
    /// When the node's root is gone nobody can hold it, and each watcher probes (and reports
    /// the loss) on its own.
    pub fn lead(&mut self) -> bool {
        if self.lock.is_some() {
            if self.daemon.is_none() && self.daemon_runs() {
                // The daemon started: it probes from now on.
                self.lock = None;
                return false;
            }
            return true;
        }
        if !self.root.as_os_str().is_empty() && !self.root.is_dir() {
            return true;
        }
        // A prober that published lately is alive: following costs less than asking the lock
        // (the daemon asks anyway: a watcher that probes gives way to it).
        if self.daemon.is_none()
            && self
                .stamp()
                .and_then(|(t, _)| t.elapsed().ok())
                .is_some_and(|age| age < REPUBLISH_EVERY * 2)
        {
            return false;
        }
        if std::fs::create_dir_all(&self.dir).is_err() {
            return true;
        }
        let Ok(file) = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join("prober.lock"))
        else {
            return true;
        };
        if flock(&file, FlockOperation::NonBlockingLockExclusive).is_ok() {
            self.lock = Some(file);
            return true;
        }
        false
    }

    /// Publishes a round for the followers when it differs from the last one, or the last one
    /// is [`REPUBLISH_EVERY`] old (so followers can vouch for the node's freshness). Best effort:
    /// a follower that cannot read it sees its node go stale, which is the truth.
    pub fn publish(&mut self, round: &Round) {
        if self.lock.is_none() {
            return;
        }
        let key = round.key();
        if self
            .published
            .as_ref()
            .is_some_and(|(k, at)| *k == key && at.elapsed() < REPUBLISH_EVERY)
        {
            return;
        }
        self.published = Some((key, Instant::now()));
        let Ok(bytes) = serde_json::to_vec(round) else {
            return;
        };
        let tmp = self.dir.join(".published.json.tmp");
        if std::fs::write(&tmp, bytes).is_ok() {
            let _ = std::fs::rename(&tmp, self.published());
        }
    }

    fn stamp(&self) -> Option<(SystemTime, u64)> {
        let m = std::fs::metadata(self.published()).ok()?;
        Some((m.modified().ok()?, m.len()))
    }

    /// Whether the prober published a round this watcher has not read.
    pub fn has_new(&self) -> bool {
        self.stamp().is_some_and(|s| Some(s) != self.seen)
    }

    /// The prober's round, when it published one this watcher has not read.
    pub fn read_new(&mut self) -> Option<Round> {
        let stamp = self.stamp()?;
        if Some(stamp) == self.seen {
            return None;
        }
        let round = serde_json::from_slice(&std::fs::read(self.published()).ok()?).ok()?;
        self.seen = Some(stamp);
        Some(round)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_watcher_leads_the_second_follows_and_takes_over_when_it_leaves() {
        let d = tempfile::tempdir().unwrap();
        let env = NodeEnv::new(d.path(), "deb1");
        let mut first = Shared::new(&env);
        let mut second = Shared::new(&env);
        assert!(first.lead());
        assert!(!second.lead());
        first.publish(&Round {
            failing: Some("x".into()),
            ..Round::default()
        });
        assert!(second.has_new());
        assert_eq!(second.read_new().unwrap().failing.as_deref(), Some("x"));
        assert!(second.read_new().is_none(), "a round is read once");
        drop(first);
        assert!(
            !second.lead(),
            "a round published lately: the prober is taken as alive"
        );
        let old = SystemTime::now() - REPUBLISH_EVERY * 3;
        File::options()
            .write(true)
            .open(second.published())
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert!(second.lead(), "the follower takes over");
    }

    #[test]
    fn a_probing_watcher_gives_the_probing_to_the_daemon() {
        let d = tempfile::tempdir().unwrap();
        let env = NodeEnv::new(d.path(), "deb1");
        let mut watcher = Shared::new(&env);
        assert!(watcher.lead());
        let mut daemon = Shared::for_daemon(&env).unwrap();
        assert!(Shared::for_daemon(&env).is_err(), "one daemon per node");
        assert!(!daemon.lead(), "the watcher still holds the prober's lock");
        assert!(!watcher.lead(), "the watcher sees the daemon and follows");
        assert!(daemon.lead(), "the daemon probes");
        let mut late = Shared::new(&env);
        assert!(!late.lead(), "a watcher started later follows the daemon");
        drop(daemon);
        let old = SystemTime::now() - REPUBLISH_EVERY * 3;
        let _ = std::fs::write(late.published(), b"{}");
        File::options()
            .write(true)
            .open(late.published())
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert!(
            late.lead(),
            "once the daemon is gone a watcher probes again"
        );
    }
}
