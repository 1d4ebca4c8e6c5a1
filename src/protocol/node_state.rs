//! What a node keeps about its own work for monitoring: the action counters every action
//! updates when it ends (`/var/lib/drpilot/SVC/counters.json`), and the daemon's state
//! (`/var/lib/drpilot/daemon/state.json`): its scheduled syncs, their outcomes, its
//! notifications and its health. Written atomically by their one writer, read by `drpilot
//! print metrics` and the daemon's metrics endpoint. Every time is RFC 3339 UTC.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// File name of a service's action counters, in its state directory.
pub const COUNTERS_FILE: &str = "counters.json";

/// Directory (under `/var/lib/drpilot`) and file name of the daemon's state.
pub const DAEMON_STATE: (&str, &str) = ("daemon", "state.json");

/// One verb's counters on one service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VerbCounter {
    /// Actions of this verb that ended.
    pub count: u64,
    /// Of which failed.
    pub failures: u64,
    /// Their total duration, seconds.
    pub seconds_total: f64,
    /// The last one's duration, seconds.
    pub last_seconds: f64,
    /// When the last one ended.
    pub last_end: String,
}

/// A service's action counters: per verb (`start`, `syncupdate`, ...).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionCounters {
    /// Per verb.
    pub verbs: BTreeMap<String, VerbCounter>,
}

/// A sync resource's last transfer, as its driver recorded it when it completed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LastTransfer {
    /// Bytes sent.
    pub bytes: u64,
    /// How long it took, seconds.
    pub seconds: f64,
    /// When it ended.
    pub ended: String,
}

/// One scheduled job of the daemon (a service's `syncdrp`, or one sync resource's interval).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScheduledJob {
    /// Times it ran.
    pub runs: u64,
    /// Times it was due but skipped (outside its window, the service lock held, the service
    /// not running here); each is logged with its reason.
    pub skipped: u64,
    /// Times it failed (after its retries).
    pub failures: u64,
    /// When it last started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt: Option<String>,
    /// When it last succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success: Option<String>,
    /// Why it last failed or was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When it is due next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_due: Option<String>,
}

/// The daemon's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DaemonState {
    /// Its process.
    pub pid: u32,
    /// When it started.
    pub started: String,
    /// When it last wrote this state (its loop is alive).
    pub heartbeat: String,
    /// Per service, per job (`syncdrp`, or a sync resource id such as `sync#1`).
    pub jobs: BTreeMap<String, BTreeMap<String, ScheduledJob>>,
    /// Notifications sent (hook or webhook) and those that failed after their retries.
    pub notifications_sent: u64,
    /// Notifications that failed after their retries.
    pub notifications_failed: u64,
}
