//! The action log's records, as `drpilot svc SVC VERB --format json` writes them one per line
//! and the console and the runbook read them: the level, the resource, what kind of line it is,
//! and for a transfer its progress as numbers (never text to parse back).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// Progress and facts.
    Info,
    /// Something the operator should look at; the action goes on.
    Warning,
    /// The action failed.
    Error,
}

impl Level {
    /// The word of the text log (`INFO`, `WARNING`, `ERROR`).
    pub fn word(self) -> &'static str {
        match self {
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
        }
    }
}

/// A text log line in the OpenSVC tutorial's columns (`17:07:20 INFO    SVC.RID    msg`, the
/// service and resource in capitals): drpilot's agent's text log, and an OpenSVC agent's log
/// as the transport shows it, in one format.
pub fn text_columns(time: &str, level: Level, svc: &str, rid: &str, msg: &str) -> String {
    format!("{time} {:<7} {:<27} {msg}", level.word(), who(svc, rid))
}

/// Whom a text log line is about: `SVC.RID` in capitals, or `SVC` for the service as a whole.
pub fn who(svc: &str, rid: &str) -> String {
    if rid.is_empty() {
        svc.to_uppercase()
    } else {
        format!("{svc}.{rid}").to_uppercase()
    }
}

/// What a log line is, so the console can style and filter it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A command about to run.
    Cmd,
    /// Output of a command.
    Output,
    /// A message.
    Info,
    /// Transfer progress: the record carries [`SyncProgress`].
    Progress,
}

/// One line of an action's log in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord {
    /// When, RFC 3339 UTC with milliseconds, as the node's clock says.
    pub ts: String,
    /// Severity.
    pub level: Level,
    /// The service.
    pub svc: String,
    /// The resource, empty for the service as a whole.
    pub rid: String,
    /// What kind of line.
    pub kind: Kind,
    /// The line as the text log shows it.
    pub msg: String,
    /// A transfer's progress (kind `progress`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<SyncProgress>,
    /// Who ran the action (every console shows it next to the line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<Actor>,
}

/// Who ran an action: what every console shows of an action it did not run itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The person: `SUDO_USER` under sudo, else the login name, else `uid N`.
    pub user: String,
    /// The machine the action was asked from.
    pub host: String,
    /// Where it was asked from: `console`, `cli`, `daemon` or `runbook`.
    pub origin: String,
    /// The asking console's session, so that console does not show its own lines twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{} via {}", self.user, self.host, self.origin)
    }
}

impl LogRecord {
    /// Reads one line of the stream; `None` for a line that is not a record (a node's stray
    /// output is shown as text by the caller).
    pub fn parse(line: &str) -> Option<Self> {
        serde_json::from_str(line).ok()
    }
}

/// A sync's progress, as a sync resource reports it while it sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProgress {
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Bytes to send in all; 0 when unknown (a btrfs incremental stream).
    pub bytes_total: u64,
    /// Files sent.
    pub files_sent: u64,
    /// Files in all; 0 when the sync does not count files.
    pub files_total: u64,
    /// Bytes per second so far.
    pub rate: u64,
    /// Seconds left at that rate; 0 when unknown.
    pub eta: u64,
}

impl SyncProgress {
    /// The progress after `bytes_sent` of `bytes_total` (when known) and `files` (sent, in all)
    /// in `elapsed`: the rate and the time left follow.
    pub fn measure(
        bytes_sent: u64,
        bytes_total: Option<u64>,
        files: Option<(u64, u64)>,
        elapsed: Duration,
    ) -> Self {
        let secs = elapsed.as_secs_f64().max(0.001);
        let rate = (bytes_sent as f64 / secs) as u64;
        let total = bytes_total.filter(|t| *t >= bytes_sent).unwrap_or(0);
        let eta = if total > 0 {
            (total - bytes_sent).checked_div(rate).unwrap_or(0)
        } else {
            0
        };
        let (files_sent, files_total) = files.unwrap_or((0, 0));
        Self {
            bytes_sent,
            bytes_total: total,
            files_sent,
            files_total,
            rate,
            eta,
        }
    }

    /// A text progress bar: `███████░░░  70%  1.2 MB/s  ETA 3s  2/3 files`.
    pub fn bar(&self, width: usize) -> String {
        if self.bytes_total == 0 && self.files_total == 0 && self.bytes_sent > 0 {
            // Nothing to measure against: how much went, and how fast.
            return format!(
                "{:.1} MB sent  {:.1} MB/s",
                self.bytes_sent as f64 / (1u64 << 20) as f64,
                self.rate as f64 / (1u64 << 20) as f64
            );
        }
        let pct = self.percent() as usize;
        let full = pct * width / 100;
        let rate = if self.rate >= 1 << 20 {
            format!("{:.1} MB/s", self.rate as f64 / (1u64 << 20) as f64)
        } else {
            format!("{:.1} KB/s", self.rate as f64 / 1024.0)
        };
        format!(
            "{}{} {pct:>3}%  {rate}  ETA {}s  {}/{} files",
            "█".repeat(full),
            "░".repeat(width - full),
            self.eta,
            self.files_sent,
            self.files_total
        )
    }

    /// Done, in percent (files when no byte moves).
    pub fn percent(&self) -> u64 {
        (self.bytes_sent * 100)
            .checked_div(self.bytes_total)
            .or_else(|| (self.files_sent * 100).checked_div(self.files_total))
            .unwrap_or(100)
            .min(100)
    }
}

/// The text log's line: `progress bytes=S/T files=F/N rate=R eta=E` (`?` for an unknown total).
impl fmt::Display for SyncProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "progress bytes={}/", self.bytes_sent)?;
        if self.bytes_total > 0 {
            write!(f, "{}", self.bytes_total)?;
        } else {
            write!(f, "?")?;
        }
        if self.files_total > 0 {
            write!(f, " files={}/{}", self.files_sent, self.files_total)?;
        }
        write!(f, " rate={}", self.rate)?;
        if self.bytes_total > 0 {
            write!(f, " eta={}", self.eta)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_with_its_progress() {
        let p = SyncProgress::measure(512, Some(2048), Some((1, 3)), Duration::from_secs(1));
        let rec = LogRecord {
            ts: "2026-12-01T10:00:00.000Z".into(),
            level: Level::Info,
            svc: "busybox".into(),
            rid: "sync#1".into(),
            kind: Kind::Progress,
            msg: p.to_string(),
            by: None,
            progress: Some(p),
        };
        let line = serde_json::to_string(&rec).unwrap();
        assert_eq!(LogRecord::parse(&line), Some(rec));
        let plain = LogRecord {
            kind: Kind::Cmd,
            level: Level::Warning,
            progress: None,
            ..LogRecord::parse(&line).unwrap()
        };
        let line = serde_json::to_string(&plain).unwrap();
        assert!(!line.contains("progress\":"), "{line}");
        assert_eq!(LogRecord::parse(&line), Some(plain));
        assert_eq!(LogRecord::parse("not json"), None);
    }

    #[test]
    fn progress_measures_and_reads_as_the_text_log_writes_it() {
        let p = SyncProgress::measure(512, Some(2048), Some((1, 3)), Duration::from_secs(1));
        assert_eq!(
            (
                p.bytes_sent,
                p.bytes_total,
                p.files_sent,
                p.files_total,
                p.rate,
                p.eta
            ),
            (512, 2048, 1, 3, 512, 3)
        );
        assert_eq!(
            p.to_string(),
            "progress bytes=512/2048 files=1/3 rate=512 eta=3"
        );
        assert_eq!(p.percent(), 25);
        assert!(p.bar(8).starts_with("██░░░░░░  25%"), "{}", p.bar(8));
        // A btrfs incremental stream has no known total: the bar says what went.
        let p = SyncProgress::measure(3 << 20, None, None, Duration::from_secs(3));
        assert_eq!(p.to_string(), "progress bytes=3145728/? rate=1048576");
        assert_eq!(p.bar(8), "3.0 MB sent  1.0 MB/s");
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<SyncProgress>(&json).unwrap(), p);
    }

    #[test]
    fn levels_and_kinds_keep_their_words() {
        for (level, word) in [
            (Level::Info, "INFO"),
            (Level::Warning, "WARNING"),
            (Level::Error, "ERROR"),
        ] {
            assert_eq!(
                serde_json::to_string(&level).unwrap(),
                format!("\"{word}\"")
            );
            assert_eq!(level.word(), word);
        }
        for kind in [Kind::Cmd, Kind::Output, Kind::Info, Kind::Progress] {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(serde_json::from_str::<Kind>(&json).unwrap(), kind);
        }
    }
}
