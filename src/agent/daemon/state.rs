//! The daemon's state file, `/var/lib/drpilot/daemon/state.json`: its jobs' counters and its
//! health, rewritten atomically after every change and every tick (the metrics read it).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Local, NaiveDateTime, Utc};
use color_eyre::eyre::{Result, WrapErr};

use crate::paths::{write_atomic, NodeEnv};
pub use crate::protocol::node_state::{DaemonState, ScheduledJob, DAEMON_STATE};

/// The state file's path on this node.
pub fn path(env: &NodeEnv) -> PathBuf {
    env.path(crate::paths::STATE_ROOT)
        .join(DAEMON_STATE.0)
        .join(DAEMON_STATE.1)
}

/// Now, as the state file writes times (RFC 3339 UTC).
pub fn now_text() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A time of the state file as local time (what the schedule reasons in).
pub fn local(text: &str) -> Option<NaiveDateTime> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Local).naive_local())
}

/// The daemon's state shared by its threads, written through [`Shared::save`].
#[derive(Clone)]
pub struct Shared {
    env: NodeEnv,
    inner: Arc<Mutex<DaemonState>>,
}

impl Shared {
    /// A new state for this process; the jobs' counters of a previous daemon carry on (a
    /// restart inside a window does not run the day's sync twice).
    pub fn start(env: &NodeEnv) -> Self {
        let previous: DaemonState = std::fs::read(path(env))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let now = now_text();
        let st = DaemonState {
            pid: std::process::id(),
            started: now.clone(),
            heartbeat: now,
            jobs: previous.jobs,
            notifications_sent: previous.notifications_sent,
            notifications_failed: previous.notifications_failed,
        };
        Self {
            env: env.clone(),
            inner: Arc::new(Mutex::new(st)),
        }
    }

    /// The state, to read or change (a poisoned lock is still the last state written).
    pub fn lock(&self) -> MutexGuard<'_, DaemonState> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes one job's counters.
    pub fn job(&self, svc: &str, job: &str, change: impl FnOnce(&mut ScheduledJob)) {
        let mut st = self.lock();
        let entry = st
            .jobs
            .entry(svc.to_string())
            .or_default()
            .entry(job.to_string())
            .or_default();
        change(entry);
    }

    /// Writes the state atomically, with a new heartbeat.
    pub fn save(&self) -> Result<()> {
        let bytes = {
            let mut st = self.lock();
            st.heartbeat = now_text();
            serde_json::to_vec_pretty(&*st)?
        };
        let p = path(&self.env);
        write_atomic(&p, &bytes).wrap_err_with(|| format!("writing {}", p.display()))
    }
}
