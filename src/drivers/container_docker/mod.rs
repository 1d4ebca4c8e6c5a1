//! `container` type=docker: a container run by the service's private dockerd, as in the seed.
//! The daemon's data root is the service's replicated `docker_data_dir`, its socket and pid in
//! the service's state directory; the container is `<svc>.container.<n>`. A start brings the
//! daemon up and starts the existing container (same id, same logs after a failover) or runs
//! it; a stop stops the container and, when no container is left running, the daemon.
//! `drpilot svc SVC docker ARGS` runs the docker client against that daemon.

mod client;
mod cmdline;
mod daemon;
mod leftovers;
mod process;

use std::time::{Duration, Instant};

use color_eyre::eyre::{bail, eyre, Result};

use super::{run_logged, Ctx, Probe, Resource};
use crate::config::KeywordSpec;
pub use client::socket_path;
use client::{fail, Client, Container, QueryError};
pub use daemon::Daemon;

/// The keywords of a `container` section (docker is its only type).
pub(crate) const KEYWORDS: &[KeywordSpec] = &[
    KeywordSpec::req("type", "container technology"),
    KeywordSpec::req("run_image", "image id or name to run"),
    KeywordSpec::opt("run_args", "extra arguments of docker run").split(),
    KeywordSpec::opt("run_command", "command run in the container").split(),
    KeywordSpec::opt(
        "stop_timeout",
        "seconds docker stop waits before killing the container (default 10)",
    ),
    KeywordSpec::opt(
        "docker_data_dir",
        "data directory of the private docker daemon",
    ),
    KeywordSpec::opt(
        "docker_daemon_args",
        "extra arguments of the private docker daemon",
    )
    .split(),
];

/// The DEFAULT keywords a container reads when its section leaves them out.
pub(crate) const DEFAULTS_READ: &[&str] = &["docker_data_dir", "docker_daemon_args"];

/// `docker stop -t` when `stop_timeout` is not set: busybox `sh` as PID 1 ignores SIGTERM.
const DEFAULT_STOP_TIMEOUT: u64 = 10;
/// How long a started container has to reach the running state.
const UP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a running container must stay up to count as started (one that exits at once fails
/// the start).
const SETTLE: Duration = Duration::from_millis(300);
/// Lines of a failed container's log quoted in the error.
const LOG_LINES: usize = 20;

/// The docker container driver.
pub struct Docker {
    rid: String,
}

impl Docker {
    /// A driver for section `rid`.
    pub fn new(rid: &str) -> Self {
        Self {
            rid: rid.to_string(),
        }
    }

    /// The container name, `<svc>.container.<n>` as in the seed.
    fn container_name(&self, svc: &str) -> String {
        let n = self.rid.split('#').nth(1).unwrap_or("0");
        format!("{svc}.container.{n}")
    }

    /// Splits an optional keyword into words (`run_args`, `run_command`).
    fn words(&self, ctx: &Ctx, key: &str) -> Result<Vec<String>> {
        let Some(line) = ctx.get(&self.rid, key) else {
            return Ok(Vec::new());
        };
        shell_words::split(&line).map_err(|e| {
            eyre!(
                "{}: [{}] {key}: cannot split '{line}': {e}",
                ctx.cfg.raw.path.display(),
                self.rid
            )
        })
    }

    fn stop_timeout(&self, ctx: &Ctx) -> Result<u64> {
        let Some(v) = ctx.get(&self.rid, "stop_timeout") else {
            return Ok(DEFAULT_STOP_TIMEOUT);
        };
        v.trim().parse().map_err(|_| {
            eyre!(
                "{}: [{}] stop_timeout: '{v}' is not a number of seconds",
                ctx.cfg.raw.path.display(),
                self.rid
            )
        })
    }

    /// `docker start` of the existing container, else `docker run`.
    fn start_container(&self, ctx: &Ctx, client: &Client, name: &str) -> Result<()> {
        let image = ctx.require(&self.rid, "run_image")?;
        let existing = client
            .find(name)
            .or_else(|e| fail(client, &format!("{}: looking for {name}", self.rid), e))?;
        let since = std::time::SystemTime::now();
        let id = match existing {
            Some(c) if c.running() => {
                ctx.log
                    .info(&self.rid, &format!("container {} is already running", c.id));
                return Ok(());
            }
            Some(c) => {
                run_logged(ctx, &self.rid, &client.argv(&["start", &c.id]), UP_TIMEOUT)?;
                c.id
            }
            None => {
                if !client
                    .has_image(&image)
                    .or_else(|e| fail(client, &format!("{}: looking for {image}", self.rid), e))?
                {
                    bail!(
                        "{}: image {image} is not in the service's docker data root: \
                         `drpilot svc {} docker pull {image}` (or `docker load`/`import`) first",
                        self.rid,
                        ctx.svc
                    );
                }
                let mut args: Vec<String> = ["run", "-d", "--name", name]
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                args.extend(self.words(ctx, "run_args")?);
                args.push(image);
                args.extend(self.words(ctx, "run_command")?);
                let out = run_logged(
                    ctx,
                    &self.rid,
                    &client.argv(&args),
                    Duration::from_secs(120),
                )?;
                out.stdout_text().trim().chars().take(12).collect()
            }
        };
        ctx.log.info(&self.rid, "wait for container up status");
        self.wait_state(client, name, &id, true, UP_TIMEOUT)?;
        ctx.log.info(&self.rid, "wait for container operational");
        // Operational: it did not die within the settle time, as docker's events tell; the
        // state is read once more either way (and looked at on a timer if events are missing).
        match client.stays_up(name, since, SETTLE) {
            Some(_) => self.wait_state(client, name, &id, true, Duration::ZERO),
            None => {
                let settle = Instant::now() + SETTLE;
                while Instant::now() < settle {
                    self.wait_state(client, name, &id, true, Duration::ZERO)?;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Ok(())
            }
        }
    }

    /// Waits until the container runs (`up`) or not; a container that stopped while it should
    /// run is an error quoting its last log lines.
    fn wait_state(
        &self,
        client: &Client,
        name: &str,
        id: &str,
        up: bool,
        limit: Duration,
    ) -> Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            let c = client
                .find(name)
                .or_else(|e| fail(client, &format!("{}: checking {name}", self.rid), e))?;
            let state = c.as_ref().map(|c| c.state.clone()).unwrap_or_default();
            match (up, c.as_ref().is_some_and(Container::running)) {
                (true, true) | (false, false) => return Ok(()),
                (true, false) if matches!(state.as_str(), "exited" | "dead" | "") => bail!(
                    "{}: container {id} ({name}) stopped right after its start: {}; its last \
                     lines:\n{}",
                    self.rid,
                    client.exit_summary(id),
                    client.logs_tail(id, LOG_LINES)
                ),
                _ => {}
            }
            if Instant::now() >= deadline {
                bail!(
                    "{}: container {id} ({name}) is still {state} after {limit:?}",
                    self.rid
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Stops the daemon when none of its containers runs any more, as the seed does.
    fn stop_daemon_if_idle(&self, ctx: &Ctx, client: &Client) -> Result<()> {
        let running = client
            .running_count()
            .or_else(|e| fail(client, &format!("{}: counting containers", self.rid), e))?;
        if running > 0 {
            ctx.log.info(
                &self.rid,
                &format!("{running} container(s) still running: docker daemon left up"),
            );
            return Ok(());
        }
        ctx.log.info(
            &self.rid,
            "no more container handled by docker daemon. shut it down",
        );
        Daemon::of(ctx).stop(ctx, &self.rid)
    }
}

impl Resource for Docker {
    fn rid(&self) -> &str {
        &self.rid
    }

    fn type_name(&self) -> String {
        "container.docker".to_string()
    }

    fn label(&self, ctx: &Ctx) -> String {
        ctx.get(&self.rid, "run_image").unwrap_or_default()
    }

    fn probe(&self, ctx: &Ctx) -> Probe {
        let client = Client::of(ctx);
        let name = self.container_name(ctx.svc);
        let c = match client.find(&name) {
            Ok(Some(c)) => c,
            Ok(None) => {
                let mut p = Probe::down("can not find container id");
                let image = self.label(ctx);
                if let Ok(false) = client.has_image(&image) {
                    p.comments.push(format!(
                        "image {image} is missing: drpilot svc {} docker pull {image}",
                        ctx.svc
                    ));
                }
                return p;
            }
            Err(e) => return Probe::down(e.to_string()),
        };
        let mut probe = if c.running() {
            Probe::up()
        } else {
            Probe::down(format!("container {} is {}", c.id, c.state))
        };
        probe.label = Some(c.label());
        probe
    }

    fn start(&self, ctx: &Ctx) -> Result<()> {
        let client = Client::of(ctx);
        let started_daemon = Daemon::of(ctx).start(ctx, &self.rid)?;
        let name = self.container_name(ctx.svc);
        let result = self.start_container(ctx, &client, &name);
        if result.is_err() && started_daemon {
            // Leave things as they were: no daemon holding the data root for nothing.
            if let Err(e) = self.stop_daemon_if_idle(ctx, &client) {
                ctx.log
                    .error(&self.rid, &format!("stopping the daemon again: {e:#}"));
            }
        }
        result
    }

    fn stop(&self, ctx: &Ctx) -> Result<()> {
        self.stop_own(ctx)?;
        self.unprepare(ctx)
    }

    fn has_prepare(&self) -> bool {
        true
    }

    /// Starts the private dockerd (its data root must be mounted).
    fn prepare(&self, ctx: &Ctx) -> Result<bool> {
        Daemon::of(ctx).start(ctx, &self.rid)
    }

    /// Stops the private dockerd once none of its containers runs.
    fn unprepare(&self, ctx: &Ctx) -> Result<()> {
        let client = Client::of(ctx);
        if client.answers() {
            return self.stop_daemon_if_idle(ctx, &client);
        }
        // Not answering: stopped already (nothing to say twice), or hung (stopped for good).
        let daemon = Daemon::of(ctx);
        match daemon.process() {
            Some(_) => daemon.stop(ctx, &self.rid),
            None => Ok(()),
        }
    }

    fn stop_own(&self, ctx: &Ctx) -> Result<()> {
        let client = Client::of(ctx);
        let name = self.container_name(ctx.svc);
        let found = match client.find(&name) {
            Ok(found) => found,
            Err(QueryError::DaemonDown) => {
                // Says "docker daemon is not running", or stops a hung one (pid alive, socket
                // silent) with its containers.
                Daemon::of(ctx).stop(ctx, &self.rid)?;
                ctx.log.info(&self.rid, &format!("{name} is down"));
                return Ok(());
            }
            Err(e) => return fail(&client, &format!("{}: looking for {name}", self.rid), e),
        };
        match found {
            None => ctx
                .log
                .info(&self.rid, &format!("no container {name}: nothing to stop")),
            Some(c) if !c.running() => ctx.log.info(
                &self.rid,
                &format!("container {} is already {}", c.id, c.state),
            ),
            Some(c) => {
                let t = self.stop_timeout(ctx)?;
                let argv = client.argv(&["stop", "-t", &t.to_string(), &c.id]);
                run_logged(ctx, &self.rid, &argv, Duration::from_secs(t + 60))?;
                ctx.log.info(&self.rid, "wait for container down status");
                self.wait_state(&client, &name, &c.id, false, Duration::from_secs(30))?;
            }
        }
        Ok(())
    }
}

/// Whether the service's daemon answers on its socket.
pub fn daemon_answers(ctx: &Ctx) -> bool {
    Client::of(ctx).answers()
}

/// Runs `docker -H unix://<sock> ARGS` with the caller's stdin, stdout and stderr, and returns
/// docker's exit code (128 + the signal when docker was killed).
pub fn run_client(ctx: &Ctx, args: &[String]) -> Result<i32> {
    use std::os::unix::process::ExitStatusExt;
    let client = Client::of(ctx);
    let status = client
        .command(args)
        .status()
        .map_err(|e| eyre!("cannot run docker (is the docker client installed?): {e}"))?;
    Ok(status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1))
}
