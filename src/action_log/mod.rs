//! The action log, below the drivers that write it: the OpenSVC tutorial's text lines
//! (`HH:MM:SS INFO    SVC.RID  message`, the command before it runs, its output after) or
//! [`LogRecord`] JSON lines for the console's feed, on stdout. The service's log files in its
//! state directory get every line dated and naming who ran it (`actions.log`, and its JSON
//! sibling `actions.jsonl`), without a transfer's progress lines but with its final figures,
//! capped and rotated; journald gets the same lines when it runs on the node. When the action
//! ends, its verb's counters are updated and its change notice written.

mod counters;
pub mod follow;
mod journal;
pub mod log_file;

pub use counters::count_action;
pub use journal::{JOURNALD_SOCKET, SYSLOG_IDENTIFIER};

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use journal::Journal;
use log_file::LogFile;

use chrono::{Local, Utc};

use crate::protocol::log::{Actor, LogRecord};
pub use crate::protocol::log::{Kind, Level, SyncProgress};

/// Output format of an action's log and of `print status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// Human-readable lines, as OpenSVC prints them.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The file, next to the action log, that an action rewrites when it ends (after its lock is
/// released, so what a screen then shows is what the action left, and the next action may run):
/// `drpilot agent watch` polls it and probes at once, so every watching screen sees the change
/// without waiting for the next periodic probe.
pub const CHANGE_NOTICE: &str = "changed";

/// The JSON sibling of the text action log: one [`LogRecord`] per line, with who ran the action;
/// `drpilot agent watch` tails it so every console sees every action run on the node.
pub const ACTIONS_JSONL: &str = "actions.jsonl";

/// The service's dated text log, in its state directory.
pub const ACTIONS_LOG: &str = "actions.log";

/// The variable that carries who asks for an action (an [`Actor`] in JSON) from the client to
/// the node; `transport::client` writes it.
pub const ACTOR_ENV: &str = "DRPILOT_ACTOR";

/// The person running this process: `SUDO_USER` under sudo, else the login name, else the uid.
pub fn local_user() -> String {
    ["SUDO_USER", "LOGNAME", "USER"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| {
            let uid = rustix::process::getuid().as_raw();
            passwd_name(uid).unwrap_or_else(|| format!("uid {uid}"))
        })
}

/// The login name of `uid` in /etc/passwd (no environment says it under cron or a service).
fn passwd_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
    })
}

/// This machine's host name.
pub fn local_host() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// Who runs an action here: the actor the client sent in [`ACTOR_ENV`], or, for a command typed
/// on the node, its user on this host through the CLI.
pub fn actor() -> Actor {
    std::env::var(ACTOR_ENV)
        .ok()
        .and_then(|j| serde_json::from_str::<Actor>(&j).ok())
        .unwrap_or_else(|| Actor {
            user: local_user(),
            host: local_host(),
            origin: "cli".to_string(),
            session: None,
        })
}

/// What an action writes to its service's files and journald: everything but stdout.
struct Sinks {
    text: LogFile,
    records: LogFile,
    journal: Option<Journal>,
    /// Per resource, its transfer's last progress, not written yet: written before the
    /// resource's next line or when the action ends, so the files keep the final figures only.
    pending: BTreeMap<String, Entry>,
}

/// One line as the files and journald get it.
struct Entry {
    level: Level,
    rid: String,
    msg: String,
    /// The dated text lines (one per line of the message).
    text: Vec<String>,
    /// The JSON record.
    json: String,
}

/// The action this log belongs to, for its counters.
struct Running {
    verb: String,
    since: Instant,
    ok: bool,
}

/// Writes an action's log lines to stdout and to the service's log files.
pub struct ActionLog {
    svc: String,
    format: Format,
    quiet: bool,
    /// The service's state directory (none for a log without a file).
    dir: Option<PathBuf>,
    sinks: Mutex<Option<Sinks>>,
    action: Mutex<Option<Running>>,
    /// Who runs the action.
    by: Actor,
}

impl ActionLog {
    /// A log for `svc`, printed in `format`; `file` (the service's `actions.log`) names the
    /// state directory that receives the dated log files, when it can be created.
    pub fn new(svc: &str, format: Format, file: Option<&Path>) -> Self {
        let dir = file
            .and_then(Path::parent)
            .filter(|d| std::fs::create_dir_all(d).is_ok())
            .map(Path::to_path_buf);
        let sinks = match (file, &dir) {
            (Some(f), Some(d)) => Some(Sinks {
                text: LogFile::new(f),
                records: LogFile::new(&d.join(ACTIONS_JSONL)),
                journal: Journal::connect(),
                pending: BTreeMap::new(),
            }),
            _ => None,
        };
        Self {
            svc: svc.to_string(),
            format,
            quiet: false,
            dir,
            sinks: Mutex::new(sinks),
            action: Mutex::new(None),
            by: actor(),
        }
    }

    /// A log that prints nothing (status probes that must not chatter).
    pub fn silent(svc: &str) -> Self {
        Self {
            svc: svc.to_string(),
            format: Format::Text,
            quiet: true,
            dir: None,
            sinks: Mutex::new(None),
            action: Mutex::new(None),
            by: Actor {
                user: String::new(),
                host: String::new(),
                origin: String::new(),
                session: None,
            },
        }
    }

    /// This log is the one of an action of `verb`, starting now: when the log is dropped, the
    /// verb's counters count it, as a failure unless [`ActionLog::succeeded`] was called.
    pub fn begin(&self, verb: &str) {
        if let Ok(mut a) = self.action.lock() {
            *a = Some(Running {
                verb: verb.to_string(),
                since: Instant::now(),
                ok: false,
            });
        }
    }

    /// The action succeeded.
    pub fn succeeded(&self) {
        if let Ok(mut a) = self.action.lock() {
            if let Some(r) = a.as_mut() {
                r.ok = true;
            }
        }
    }

    /// Logs a message at INFO.
    pub fn info(&self, rid: &str, msg: &str) {
        self.line(Level::Info, rid, Kind::Info, msg);
    }

    /// Logs a warning.
    pub fn warn(&self, rid: &str, msg: &str) {
        self.line(Level::Warning, rid, Kind::Info, msg);
    }

    /// Logs an error.
    pub fn error(&self, rid: &str, msg: &str) {
        self.line(Level::Error, rid, Kind::Info, msg);
    }

    /// Logs a command line before it runs.
    pub fn cmd(&self, rid: &str, argv: &[String]) {
        self.line(Level::Info, rid, Kind::Cmd, &shell_words::join(argv));
    }

    /// Logs a transfer's progress: its numbers in JSON, its text line in the text log.
    pub fn progress(&self, rid: &str, progress: SyncProgress) {
        self.record(
            Level::Info,
            rid,
            Kind::Progress,
            &progress.to_string(),
            Some(progress),
        );
    }

    /// Logs a command's output after it ran: an `output:` line then the raw text (text), or one
    /// record per line (JSON).
    pub fn output(&self, rid: &str, text: &str) {
        if text.trim().is_empty() {
            return;
        }
        match self.format {
            Format::Text => {
                let mut block = String::from("output:\n");
                block.push_str(text.trim_end_matches('\n'));
                self.line(Level::Info, rid, Kind::Output, &block);
            }
            Format::Json => {
                for l in text.lines() {
                    self.line(Level::Info, rid, Kind::Output, l);
                }
            }
        }
    }

    fn line(&self, level: Level, rid: &str, kind: Kind, msg: &str) {
        self.record(level, rid, kind, msg, None);
    }

    fn record(
        &self,
        level: Level,
        rid: &str,
        kind: Kind,
        msg: &str,
        progress: Option<SyncProgress>,
    ) {
        if self.quiet {
            return;
        }
        let now = Local::now();
        // Command output and config values reach the terminal and the log file: as safe text.
        let text = crate::text::clean_lines(&self.text_line(level, rid, msg)).into_owned();
        let json = crate::text::json_safe(
            serde_json::to_string(&LogRecord {
                ts: now
                    .with_timezone(&Utc)
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                level,
                svc: self.svc.clone(),
                rid: rid.to_string(),
                kind,
                msg: msg.to_string(),
                progress,
                by: Some(self.by.clone()),
            })
            .unwrap_or_default(),
        );
        let printed = match self.format {
            Format::Text => text,
            Format::Json => json.clone(),
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{printed}");
        let _ = out.flush();
        drop(out);
        let Ok(mut guard) = self.sinks.lock() else {
            return;
        };
        let Some(sinks) = guard.as_mut() else {
            return;
        };
        let entry = Entry {
            level,
            rid: rid.to_string(),
            msg: msg.to_string(),
            text: self.file_lines(&now, level, rid, msg),
            json,
        };
        if kind == Kind::Progress {
            sinks.pending.insert(rid.to_string(), entry);
            return;
        }
        if level == Level::Error {
            // An error ends the transfers: the figures they reached come before it.
            for last in std::mem::take(&mut sinks.pending).values() {
                self.write(sinks, last);
            }
        } else if let Some(last) = sinks.pending.remove(rid) {
            self.write(sinks, &last);
        }
        self.write(sinks, &entry);
    }

    /// Writes one line to the files and journald.
    fn write(&self, sinks: &mut Sinks, e: &Entry) {
        sinks.text.append(&e.text);
        sinks.records.append(std::slice::from_ref(&e.json));
        if let Some(j) = &sinks.journal {
            let msg = crate::text::clean_lines(&e.msg);
            j.send(e.level, &self.svc, &e.rid, &self.by.to_string(), &msg);
        }
    }

    /// The lines of the text log file: each line of the message dated (RFC 3339 with the
    /// node's zone) and naming who ran the action, then the OpenSVC tutorial's columns.
    fn file_lines(
        &self,
        now: &chrono::DateTime<Local>,
        level: Level,
        rid: &str,
        msg: &str,
    ) -> Vec<String> {
        let ts = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
        let head = format!(
            "{ts} [{}] {:<7} {:<27}",
            self.by,
            level.word(),
            self.who(rid)
        );
        let msg = if msg.is_empty() { " " } else { msg };
        msg.lines()
            .map(|l| crate::text::clean_lines(&format!("{head} {l}")).into_owned())
            .collect()
    }

    /// The last progress of every transfer, when the action ends.
    fn flush_pending(&self) {
        if let Ok(mut guard) = self.sinks.lock() {
            if let Some(sinks) = guard.as_mut() {
                let pending = std::mem::take(&mut sinks.pending);
                for e in pending.values() {
                    self.write(sinks, e);
                }
            }
        }
    }

    /// Counts the action in its verb's counters (best effort: monitoring never fails an
    /// action, a counter that cannot be written is said on stderr).
    fn count(&self) {
        let running = self.action.lock().ok().and_then(|mut a| a.take());
        if let (Some(r), Some(dir)) = (running, &self.dir) {
            if let Err(e) = count_action(dir, &r.verb, r.ok, r.since.elapsed()) {
                eprintln!("warning: {}: action counters: {e:#}", self.svc);
            }
        }
    }

    /// Tells the node's watch that the service may have changed (best effort: a watch that
    /// misses it still sees the change at its next periodic probe).
    fn notify_change(&self) {
        if let Some(p) = self.dir.as_ref().map(|d| d.join(CHANGE_NOTICE)) {
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            let _ = std::fs::write(p, format!("{} {stamp}\n", std::process::id()));
        }
    }

    /// `SVC.RID` in capitals, or `SVC` for the service as a whole.
    fn who(&self, rid: &str) -> String {
        crate::protocol::log::who(&self.svc, rid)
    }

    fn text_line(&self, level: Level, rid: &str, msg: &str) -> String {
        let time = Local::now().format("%H:%M:%S").to_string();
        crate::protocol::log::text_columns(&time, level, &self.svc, rid, msg)
    }
}

impl Drop for ActionLog {
    /// The action is over: the final figures of its transfers go to the files, its verb's
    /// counters count it, and its last changes are on the node now.
    fn drop(&mut self) {
        self.flush_pending();
        self.count();
        self.notify_change();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_line_has_the_tutorial_columns() {
        let log = ActionLog::new("busybox.opensvc.com", Format::Text, None);
        let line = log.text_line(Level::Info, "container#1", "docker start x");
        // "17:07:20 INFO    BUSYBOX.OPENSVC.COM.CONTAINER#1 docker start x"
        assert_eq!(&line[8..17], " INFO    ");
        assert_eq!(
            &line[17..],
            "BUSYBOX.OPENSVC.COM.CONTAINER#1 docker start x"
        );
        let line = log.text_line(Level::Info, "fs#2", "umount /x");
        assert_eq!(&line[17..], "BUSYBOX.OPENSVC.COM.FS#2    umount /x");
        let line = log.text_line(Level::Info, "", "exec");
        assert_eq!(&line[17..], "BUSYBOX.OPENSVC.COM         exec");
    }

    #[test]
    fn a_failed_transfer_keeps_the_figures_it_reached_before_its_error() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("svc").join(ACTIONS_LOG);
        let log = ActionLog::new("svc", Format::Json, Some(&file));
        for sent in [1, 2, 3] {
            log.progress(
                "sync#1",
                SyncProgress {
                    bytes_sent: sent,
                    ..SyncProgress::default()
                },
            );
        }
        log.error("", "syncupdate failed: the peer went away");
        drop(log);
        let text = std::fs::read_to_string(d.path().join("svc").join(ACTIONS_JSONL)).unwrap();
        let recs: Vec<LogRecord> = text.lines().filter_map(LogRecord::parse).collect();
        assert_eq!(recs.len(), 2, "{text}");
        assert_eq!(recs[0].progress.map(|p| p.bytes_sent), Some(3));
        assert_eq!(recs[1].level, Level::Error);
    }
}
