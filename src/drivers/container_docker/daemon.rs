//! The service's private dockerd: started detached with its data root on the service's
//! (replicated) `docker_data_dir` and everything else in the service's state directory, and
//! stopped cleanly. A clean stop is what makes the replicated data root consistent: the stop
//! returns only once the daemon is gone.

use std::fs::OpenOptions;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use color_eyre::eyre::{bail, Result, WrapErr};
use rustix::process::Signal;
use sha2::{Digest, Sha256};

use super::client::Client;
use super::leftovers::{cgroup_dirs, mount_under, remove_if_present, tail};
use super::process::{named_by, Tracked};
use crate::drivers::Ctx;
use crate::paths::write_atomic;

/// How long a starting daemon has to answer on its socket.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stopping daemon has to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// A unix socket path holds at most 107 bytes (108 with the terminating NUL).
pub(super) const SOCKET_PATH_MAX: usize = 107;
/// What dockerd's own containerd puts under the exec root at most
/// (`/containerd/containerd.sock.ttrpc` and similar), with a margin.
const EXEC_ROOT_SOCKET_SUFFIX: usize = 48;
/// Lines of dockerd.log quoted when the daemon does not come up.
const LOG_TAIL_LINES: usize = 20;

/// The private daemon of one service on this node.
pub struct Daemon {
    state: PathBuf,
    client: Client,
    cgroup_parent: String,
}

impl Daemon {
    /// The daemon of the service of `ctx`.
    pub fn of(ctx: &Ctx) -> Self {
        Self {
            state: ctx.state_dir(),
            client: Client::of(ctx),
            cgroup_parent: format!("/drpilot-{}-{}", ctx.env.nodename, ctx.svc),
        }
    }

    /// `<state_dir>/docker.pid`.
    pub fn pid_file(&self) -> PathBuf {
        self.state.join("docker.pid")
    }

    /// `<state_dir>/dockerd.log`: the daemon's stdout and stderr, appended.
    pub fn log_file(&self) -> PathBuf {
        self.state.join("dockerd.log")
    }

    /// `<state_dir>/dockerd.json`: an empty config so the host's /etc/docker/daemon.json is
    /// never read.
    pub(super) fn config_file(&self) -> PathBuf {
        self.state.join("dockerd.json")
    }

    /// The daemon's runtime state (containerd and runc state, containerd's sockets). It goes in
    /// the state directory when that path is short enough; otherwise in
    /// `/run/drpilot/<12 hex of the state directory's hash>`, because containerd's sockets live
    /// under it and a unix socket path cannot exceed 107 bytes (a deep `DRPILOT_ROOT` would make
    /// dockerd fail with a cryptic "bind: invalid argument").
    pub fn exec_root(&self) -> PathBuf {
        let local = self.state.join("exec");
        if local.as_os_str().len() + EXEC_ROOT_SOCKET_SUFFIX <= SOCKET_PATH_MAX {
            return local;
        }
        let digest = Sha256::digest(self.state.as_os_str().as_bytes());
        let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        PathBuf::from("/run/drpilot").join(hex)
    }

    /// The daemon's socket, `<state_dir>/docker.sock`.
    pub fn socket(&self) -> &PathBuf {
        self.client.socket()
    }

    /// The cgroup every container of this daemon goes under.
    pub fn cgroup_parent(&self) -> &str {
        &self.cgroup_parent
    }

    /// The running dockerd of this service, identified by its pid file and command line.
    pub fn process(&self) -> Option<Tracked> {
        let pid_file = self.pid_file();
        named_by(&pid_file, "dockerd", &pid_file.to_string_lossy())
    }

    /// Starts the daemon unless it already answers; true when this call started it.
    pub fn start(&self, ctx: &Ctx, rid: &str) -> Result<bool> {
        if self.client.answers() {
            return Ok(false);
        }
        if let Some(t) = self.process() {
            ctx.log.info(
                rid,
                &format!(
                    "docker daemon pid {} runs but does not answer yet: waiting",
                    t.pid
                ),
            );
            let deadline = Instant::now() + READY_TIMEOUT;
            while Instant::now() < deadline && t.alive() {
                if self.client.answers() {
                    return Ok(false);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            bail!(
                "{rid}: dockerd pid {} does not answer on {} after {READY_TIMEOUT:?}: stop the \
                 service (or kill {}) and start again; last lines of {}:\n{}",
                t.pid,
                self.client.socket().display(),
                t.pid,
                self.log_file().display(),
                tail(&self.log_file(), 0, LOG_TAIL_LINES)
            );
        }
        let argv = self.argv(ctx, rid)?;
        for dir in [&self.state, &self.exec_root()] {
            std::fs::create_dir_all(dir)
                .wrap_err_with(|| format!("{rid}: creating {}", dir.display()))?;
        }
        write_atomic(&self.config_file(), b"{}\n")
            .wrap_err_with(|| format!("{rid}: writing {}", self.config_file().display()))?;
        // Leftovers of a daemon that died: dockerd refuses a pid file naming a live process
        // (a recycled pid), and the socket would make probes try a dead daemon.
        remove_if_present(&self.pid_file())?;
        remove_if_present(self.client.socket())?;

        let log_path = self.log_file();
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .wrap_err_with(|| format!("{rid}: opening {}", log_path.display()))?;
        let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
        let log_err = log
            .try_clone()
            .wrap_err_with(|| format!("{rid}: opening {}", log_path.display()))?;
        ctx.log.info(rid, "starting docker daemon");
        ctx.log.cmd(rid, &argv);
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            // Its own process group: a Ctrl-C of the operator's drpilot must not reach it.
            .process_group(0);
        // The daemon outlives this action by design; nothing waits for it once it answers.
        let mut child = cmd
            .spawn()
            .wrap_err_with(|| format!("{rid}: cannot run dockerd (is docker.io installed?)"))?;
        let spawned = Instant::now();
        let deadline = spawned + READY_TIMEOUT;
        loop {
            if self.client.answers() {
                // Time spent waiting for dockerd's own start (the benchmark's floor).
                crate::transport::child_time::account(spawned.elapsed());
                ctx.log.info(
                    rid,
                    &format!(
                        "docker daemon pid {} answers on {}",
                        child.id(),
                        self.client.socket().display()
                    ),
                );
                return Ok(true);
            }
            if let Some(status) = child.try_wait()? {
                bail!(
                    "{rid}: dockerd exited with {status} before answering; last lines of {}:\n{}",
                    log_path.display(),
                    tail(&log_path, log_start, LOG_TAIL_LINES)
                );
            }
            if Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Not answering in time: do not leave a half-started daemon behind.
        if let Some(t) = Tracked::spawned(child.id()) {
            t.signal(Signal::TERM);
            if !t.wait_gone(Duration::from_secs(10)) {
                t.signal(Signal::KILL);
            }
        }
        let _ = child.wait();
        self.cleanup(ctx, rid);
        bail!(
            "{rid}: dockerd did not answer on {} within {READY_TIMEOUT:?} and was stopped; last \
             lines of {}:\n{}",
            self.client.socket().display(),
            log_path.display(),
            tail(&log_path, log_start, LOG_TAIL_LINES)
        )
    }

    /// Stops the daemon and returns once it is gone (SIGTERM, then SIGKILL past 30 s, said in
    /// the log), then removes its socket, pid file and cgroup parent. A daemon that is not
    /// running is a no-op that says so.
    pub fn stop(&self, ctx: &Ctx, rid: &str) -> Result<()> {
        let Some(t) = self.process() else {
            if self.client.answers() {
                bail!(
                    "{rid}: a docker daemon answers on {} but {} does not name it: find it \
                     (ss -xlp | grep docker.sock) and stop it by hand",
                    self.client.socket().display(),
                    self.pid_file().display()
                );
            }
            ctx.log.info(rid, "docker daemon is not running");
            self.cleanup(ctx, rid);
            return Ok(());
        };
        ctx.log
            .info(rid, &format!("kill -TERM {} (dockerd)", t.pid));
        t.signal(Signal::TERM);
        if !t.wait_gone(STOP_TIMEOUT) {
            ctx.log.warn(
                rid,
                &format!(
                    "dockerd pid {} still runs {STOP_TIMEOUT:?} after SIGTERM: kill -KILL {}; \
                     the data root may miss its last writes",
                    t.pid, t.pid
                ),
            );
            t.signal(Signal::KILL);
            if !t.wait_gone(Duration::from_secs(10)) {
                bail!(
                    "{rid}: dockerd pid {} survived SIGKILL (stuck in the kernel?): the data \
                     root is still in use, do not sync it",
                    t.pid
                );
            }
        }
        self.stop_containerd(ctx, rid)?;
        self.cleanup(ctx, rid);
        ctx.log.info(rid, "docker daemon stopped");
        Ok(())
    }

    /// The containerd dockerd runs for itself exits with it; one left behind by a killed
    /// dockerd is stopped the same way.
    fn stop_containerd(&self, ctx: &Ctx, rid: &str) -> Result<()> {
        let dir = self.exec_root().join("containerd");
        let pid_file = dir.join("containerd.pid");
        let needle = dir.join("containerd.toml");
        let Some(t) = named_by(&pid_file, "containerd", &needle.to_string_lossy()) else {
            return Ok(());
        };
        if t.wait_gone(Duration::from_secs(5)) {
            return Ok(());
        }
        ctx.log.warn(
            rid,
            &format!(
                "containerd pid {} outlived dockerd: kill -TERM {}",
                t.pid, t.pid
            ),
        );
        t.signal(Signal::TERM);
        if !t.wait_gone(Duration::from_secs(10)) {
            t.signal(Signal::KILL);
            if !t.wait_gone(Duration::from_secs(5)) {
                bail!("{rid}: containerd pid {} survived SIGKILL", t.pid);
            }
        }
        Ok(())
    }

    /// Removes what a stopped daemon leaves: a stale socket, the pid file, its runtime state
    /// (the exec root, unless something is still mounted under it) and the (empty) cgroup
    /// parent of its containers in every cgroup hierarchy.
    fn cleanup(&self, ctx: &Ctx, rid: &str) {
        for p in [self.client.socket(), &self.pid_file()] {
            if let Err(e) = remove_if_present(p) {
                ctx.log.warn(rid, &format!("{e:#}"));
            }
        }
        let exec_root = self.exec_root();
        if let Some(why) = mount_under(&exec_root) {
            ctx.log.warn(
                rid,
                &format!("{} is left in place: {why}", exec_root.display()),
            );
        } else if exec_root.exists() {
            if let Err(e) = std::fs::remove_dir_all(&exec_root) {
                ctx.log
                    .warn(rid, &format!("cannot remove {}: {e}", exec_root.display()));
            }
        }
        for dir in cgroup_dirs(&self.cgroup_parent) {
            match std::fs::remove_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => ctx
                    .log
                    .warn(rid, &format!("cannot remove cgroup {}: {e}", dir.display())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daemon(state: &str) -> Daemon {
        Daemon {
            state: PathBuf::from(state),
            client: Client::at(PathBuf::from(state).join("docker.sock")),
            cgroup_parent: "/drpilot-deb1-svc".to_string(),
        }
    }

    #[test]
    fn the_exec_root_is_short_enough_for_containerd_sockets() {
        let short = daemon("/var/lib/drpilot/svc");
        assert_eq!(
            short.exec_root(),
            PathBuf::from("/var/lib/drpilot/svc/exec")
        );
        let deep = format!("/tmp/{}/var/lib/drpilot/svc", "x".repeat(60));
        let long = daemon(&deep).exec_root();
        assert!(long.starts_with("/run/drpilot"), "{}", long.display());
        assert_eq!(long.file_name().map(|n| n.len()), Some(12));
        assert_eq!(long, daemon(&deep).exec_root(), "stable across calls");
        assert!(long.as_os_str().len() + EXEC_ROOT_SOCKET_SUFFIX <= SOCKET_PATH_MAX);
    }
}
