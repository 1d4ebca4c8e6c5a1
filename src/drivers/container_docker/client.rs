//! The docker client pointed at the service's private daemon: every query the driver makes
//! (`docker -H unix://<state_dir>/docker.sock ...`), with the daemon's absence told apart from a
//! real failure so the status can say "docker daemon is not running" as the seed does.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use color_eyre::eyre::{bail, Result};

use super::super::Ctx;
use crate::transport::{run_child, CallOutput};

/// How long a query of the daemon may take before it counts as not answering.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// The client of one service's private daemon.
pub struct Client {
    sock: PathBuf,
}

/// A container as `docker ps` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// The 12-character short id the seed shows.
    pub id: String,
    /// `running`, `exited`, `created`, ...
    pub state: String,
    /// The image it was created from, as given to `docker run`.
    pub image: String,
}

impl Container {
    /// Whether its main process runs.
    pub fn running(&self) -> bool {
        self.state == "running"
    }

    /// The seed's label, `<id>@<image>`.
    pub fn label(&self) -> String {
        format!("{}@{}", self.id, self.image)
    }
}

/// Why a query got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// Nothing listens on the socket (absent, stale or refusing).
    DaemonDown,
    /// The `docker` command is missing.
    NoClient,
    /// docker answered with an error.
    Failed(String),
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::DaemonDown => f.write_str("docker daemon is not running"),
            Self::NoClient => f.write_str("docker is not installed (no docker command)"),
            Self::Failed(why) => f.write_str(why),
        }
    }
}

/// Whether a docker client's error says nothing listens on the socket.
fn daemon_is_down(stderr: &str) -> bool {
    stderr.contains("Cannot connect to the Docker daemon") || stderr.contains("connection refused")
}

impl Client {
    /// The client of the service's daemon on this node.
    pub fn of(ctx: &Ctx) -> Self {
        Self::at(socket_path(ctx))
    }

    /// The client of the daemon listening on `sock`.
    pub fn at(sock: PathBuf) -> Self {
        Self { sock }
    }

    /// The daemon's socket.
    pub fn socket(&self) -> &PathBuf {
        &self.sock
    }

    /// `docker -H unix://SOCK ARGS`, as an argument vector (logged as the seed logs it).
    pub fn argv<S: AsRef<str>>(&self, args: &[S]) -> Vec<String> {
        let mut v = vec![
            "docker".to_string(),
            "-H".to_string(),
            format!("unix://{}", self.sock.display()),
        ];
        v.extend(args.iter().map(|a| a.as_ref().to_string()));
        v
    }

    /// The same as a command, ready to run.
    pub fn command<S: AsRef<str>>(&self, args: &[S]) -> Command {
        let argv = self.argv(args);
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]);
        cmd
    }

    /// Runs a query; the daemon's absence is its own error.
    pub fn query(&self, args: &[&str]) -> Result<CallOutput, QueryError> {
        if !self.sock.exists() {
            return Err(QueryError::DaemonDown);
        }
        match run_child(self.command(args), None, Some(QUERY_TIMEOUT)) {
            Ok(o) if o.success => Ok(o),
            Ok(o) if daemon_is_down(&o.stderr) => Err(QueryError::DaemonDown),
            Ok(o) => Err(QueryError::Failed(format!(
                "docker {} failed: {}",
                args.first().copied().unwrap_or_default(),
                o.failure_reason()
            ))),
            Err(_) => Err(QueryError::NoClient),
        }
    }

    /// Whether the daemon answers on its socket: its API's ping (`GET /_ping`), one connect
    /// and one request rather than a docker client process, so waiting for a daemon to come
    /// up does not crowd the machine with clients.
    pub fn answers(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::os::unix::net::UnixStream::connect(&self.sock) else {
            return false;
        };
        let limit = Some(std::time::Duration::from_secs(2));
        if s.set_read_timeout(limit).is_err() || s.set_write_timeout(limit).is_err() {
            return false;
        }
        if s.write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            .is_err()
        {
            return false;
        }
        let mut head = Vec::new();
        let mut buf = [0u8; 256];
        while !head.contains(&b'\n') && head.len() < 1024 {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let status = String::from_utf8_lossy(&head);
        status.starts_with("HTTP/1.") && status.split_whitespace().nth(1) == Some("200")
    }

    /// Whether container `name` (or id) stays up for `settle`, watched on docker's event stream (`docker
    /// events --until`, which ends by itself): `Some(false)` when it died, `None` when the
    /// stream could not be read.
    pub fn stays_up(
        &self,
        name: &str,
        since: std::time::SystemTime,
        settle: std::time::Duration,
    ) -> Option<bool> {
        let stamp = |t: std::time::SystemTime| {
            t.duration_since(std::time::UNIX_EPOCH)
                .map(|d| format!("{}.{:09}", d.as_secs(), d.subsec_nanos()))
                .ok()
        };
        let until = std::time::SystemTime::now() + settle;
        let container = format!("container={name}");
        let since = stamp(since)?;
        let until = stamp(until)?;
        let out = run_child(
            self.command(&[
                "events",
                "--since",
                &since,
                "--until",
                &until,
                "--filter",
                &container,
                "--filter",
                "event=die",
                "--format",
                "{{.Status}}",
            ]),
            None,
            Some(settle + QUERY_TIMEOUT),
        )
        .ok()
        .filter(|o| o.success)?;
        Some(!out.stdout_text().contains("die"))
    }

    /// The container named `name`, if it exists.
    pub fn find(&self, name: &str) -> Result<Option<Container>, QueryError> {
        let filter = format!("name=^/?{}$", regex_escape(name));
        let out = self.query(&[
            "ps",
            "-a",
            "--no-trunc",
            "--filter",
            &filter,
            "--format",
            "{{.ID}} {{.State}} {{.Image}}",
        ])?;
        let text = out.stdout_text();
        let Some(line) = text.lines().find(|l| !l.trim().is_empty()) else {
            return Ok(None);
        };
        let mut parts = line.split_whitespace();
        Ok(Some(Container {
            id: parts.next().unwrap_or_default().chars().take(12).collect(),
            state: parts.next().unwrap_or_default().to_string(),
            image: parts.next().unwrap_or_default().to_string(),
        }))
    }

    /// Whether the daemon holds `image`.
    pub fn has_image(&self, image: &str) -> Result<bool, QueryError> {
        match self.query(&["image", "inspect", "--format", "{{.Id}}", image]) {
            Ok(_) => Ok(true),
            Err(QueryError::Failed(why)) if why.to_ascii_lowercase().contains("no such") => {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// How many containers of this daemon run.
    pub fn running_count(&self) -> Result<usize, QueryError> {
        let out = self.query(&["ps", "-q"])?;
        Ok(out
            .stdout_text()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count())
    }

    /// How a container ended: `exited (code 1)`, for messages.
    pub fn exit_summary(&self, id: &str) -> String {
        match self.query(&[
            "inspect",
            "--format",
            "{{.State.Status}} (exit code {{.State.ExitCode}}) {{.State.Error}}",
            id,
        ]) {
            Ok(o) => o.stdout_text().trim().to_string(),
            Err(e) => e.to_string(),
        }
    }

    /// The last `n` lines a container printed (stdout and stderr), for error messages.
    pub fn logs_tail(&self, id: &str, n: usize) -> String {
        let n = n.to_string();
        match self.query(&["logs", "--tail", &n, id]) {
            Ok(o) => {
                let mut text = o.stdout_text();
                text.push_str(&o.stderr);
                text.trim_end().to_string()
            }
            Err(e) => format!("(no logs: {e})"),
        }
    }
}

/// The private daemon's socket path of a service on this node.
pub fn socket_path(ctx: &Ctx) -> PathBuf {
    ctx.state_dir().join("docker.sock")
}

/// Turns a query error into an action error naming the service's daemon.
pub fn fail<T>(client: &Client, what: &str, e: QueryError) -> Result<T> {
    bail!("{what}: {e} (socket {})", client.socket().display())
}

/// Escapes a container name for docker's `name=` regex filter.
fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                vec![c]
            } else {
                vec!['\\', c]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_for_the_regex_filter() {
        assert_eq!(regex_escape("svc.container.1"), "svc\\.container\\.1");
    }

    #[test]
    fn a_refusing_socket_is_a_stopped_daemon() {
        assert!(daemon_is_down(
            "Cannot connect to the Docker daemon at unix:///x/docker.sock. Is the docker daemon running?"
        ));
        assert!(!daemon_is_down("Error: No such image: tb/busybox:1"));
    }
}
