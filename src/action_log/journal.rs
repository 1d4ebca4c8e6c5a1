//! The action log's copy to journald, when the node runs it: each line an entry with the
//! service, the resource and who ran it as fields (`journalctl SYSLOG_IDENTIFIER=drpilot
//! DRPILOT_SERVICE=busybox`), its priority from its level. Through `tracing` with its journald
//! layer, in a dispatcher of this log's own (no process-wide subscriber is installed).

use std::path::Path;

use tracing_journald::{Priority, PriorityMappings};
use tracing_subscriber::layer::SubscriberExt;

use crate::protocol::log::Level;

/// The socket journald listens on; without it, the files are the only log.
pub const JOURNALD_SOCKET: &str = "/run/systemd/journal/socket";

/// The `SYSLOG_IDENTIFIER` of drpilot's entries.
pub const SYSLOG_IDENTIFIER: &str = "drpilot";

/// A connection to journald.
pub struct Journal {
    dispatch: tracing::Dispatch,
}

impl Journal {
    /// Connects when journald runs here (its socket exists and answers), else `None`.
    pub fn connect() -> Option<Self> {
        if !Path::new(JOURNALD_SOCKET).exists() {
            return None;
        }
        let layer = tracing_journald::layer()
            .ok()?
            .with_syslog_identifier(SYSLOG_IDENTIFIER.to_string())
            .with_field_prefix(Some("DRPILOT".to_string()))
            .with_priority_mappings(PriorityMappings {
                info: Priority::Informational,
                ..PriorityMappings::new()
            });
        let subscriber = tracing_subscriber::registry().with(layer);
        Some(Self {
            dispatch: tracing::Dispatch::new(subscriber),
        })
    }

    /// Sends one line: `MESSAGE`, `PRIORITY` (error 3, warning 4, info 6), `DRPILOT_SERVICE`,
    /// `DRPILOT_RID`, `DRPILOT_ACTOR`.
    pub fn send(&self, level: Level, svc: &str, rid: &str, actor: &str, msg: &str) {
        tracing::dispatcher::with_default(&self.dispatch, || match level {
            Level::Info => tracing::info!(service = svc, rid = rid, actor = actor, "{msg}"),
            Level::Warning => tracing::warn!(service = svc, rid = rid, actor = actor, "{msg}"),
            Level::Error => tracing::error!(service = svc, rid = rid, actor = actor, "{msg}"),
        });
    }
}
