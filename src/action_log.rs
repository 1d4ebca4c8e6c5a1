//! The action log, below the drivers that write it: the OpenSVC tutorial's text lines
//! (`HH:MM:SS INFO    SVC.RID  message`, the command before it runs, its output after) or
//! [`LogRecord`] JSON lines for the console's feed. Every line also goes to the service's action
//! log file in its state directory.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

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

/// Writes an action's log lines to stdout and to the service's log file.
pub struct ActionLog {
    svc: String,
    format: Format,
    file: Mutex<Option<File>>,
    quiet: bool,
    /// The change notice to rewrite (none for a log without a file).
    notice: Option<std::path::PathBuf>,
    /// The JSON sibling of the log file.
    records: Mutex<Option<File>>,
    /// Who runs the action.
    by: Actor,
}

impl ActionLog {
    /// A log for `svc`, printed in `format`; `file` receives text lines when it can be opened.
    pub fn new(svc: &str, format: Format, file: Option<&Path>) -> Self {
        let file_path = file;
        let file = file.and_then(|p| {
            if let Some(dir) = p.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            OpenOptions::new().create(true).append(true).open(p).ok()
        });
        let dir = file_path.filter(|_| file.is_some()).and_then(Path::parent);
        let notice = dir.map(|d| d.join(CHANGE_NOTICE));
        let records = dir.and_then(|d| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(d.join(ACTIONS_JSONL))
                .ok()
        });
        Self {
            svc: svc.to_string(),
            format,
            file: Mutex::new(file),
            quiet: false,
            notice,
            records: Mutex::new(records),
            by: actor(),
        }
    }

    /// A log that prints nothing (status probes that must not chatter).
    pub fn silent(svc: &str) -> Self {
        Self {
            svc: svc.to_string(),
            format: Format::Text,
            file: Mutex::new(None),
            quiet: true,
            notice: None,
            records: Mutex::new(None),
            by: Actor {
                user: String::new(),
                host: String::new(),
                origin: String::new(),
                session: None,
            },
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
        // Command output and config values reach the terminal and the log file: as safe text.
        let text = crate::text::clean_lines(&self.text_line(level, rid, msg)).into_owned();
        let json = crate::text::json_safe(
            serde_json::to_string(&LogRecord {
                ts: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
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
            Format::Text => text.clone(),
            Format::Json => json.clone(),
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{printed}");
        let _ = out.flush();
        if let Ok(mut guard) = self.file.lock() {
            if let Some(f) = guard.as_mut() {
                let _ = writeln!(f, "{text}");
            }
        }
        if let Ok(mut guard) = self.records.lock() {
            if let Some(f) = guard.as_mut() {
                let _ = writeln!(f, "{json}");
            }
        }
    }

    /// Tells the node's watch that the service may have changed (best effort: a watch that
    /// misses it still sees the change at its next periodic probe).
    fn notify_change(&self) {
        if let Some(p) = &self.notice {
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            let _ = std::fs::write(p, format!("{} {stamp}\n", std::process::id()));
        }
    }

    fn text_line(&self, level: Level, rid: &str, msg: &str) -> String {
        let who = if rid.is_empty() {
            self.svc.to_uppercase()
        } else {
            format!("{}.{}", self.svc, rid).to_uppercase()
        };
        format!(
            "{} {:<7} {:<27} {}",
            Local::now().format("%H:%M:%S"),
            level.word(),
            who,
            msg
        )
    }
}

impl Drop for ActionLog {
    /// The action is over: its last changes are on the node now.
    fn drop(&mut self) {
        self.notify_change();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_line_has_the_seed_columns() {
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
}
