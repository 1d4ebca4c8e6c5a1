//! The ssh half of a [`Link`](super::Link): one multiplexed OpenSSH master per node (openssh
//! crate, native mux), and every remote operation is `drpilot ARGS` run through it as an argument
//! vector the crate escapes. Host keys are checked strictly unless accept-new is opted in; the
//! crate has no deadlines, so every connect, spawn and call here runs under a tokio timeout.

pub(crate) mod blocking;
mod control_dir;
mod errors;
mod lines;

use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use color_eyre::eyre::{bail, eyre, Result, WrapErr};
use openssh::{ControlPersist, KnownHosts, OwningCommand, Session, SessionBuilder, Stdio};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::{CallOutput, NodeAddress, NodeOptions};

pub use lines::RemoteLines;

/// An idle master (no mux client for this long) exits by itself: the safety net for a drpilot
/// that died without closing its sessions.
const MASTER_IDLE_SECS: usize = 600;

/// Keepalive probes of the master, so that a dead link ends the session instead of hanging it.
const SERVER_ALIVE_INTERVAL: Duration = Duration::from_secs(15);

/// How much longer than the caller's deadline the remote side lets a command live before it
/// kills it itself (`timeout -s KILL`): the mux protocol cannot signal a remote process.
const REMOTE_DEADLINE_SLACK_SECS: u64 = 5;

/// Settings shared by every ssh connection of a command: what the operator opted in to, and how
/// long to wait for a node before declaring it unreachable.
#[derive(Debug, Clone)]
pub struct SshOptions {
    /// Accept and record the key of a host absent from known_hosts (`accept-new`); a changed
    /// key is refused either way.
    pub accept_new_host_keys: bool,
    /// The limit for opening a session (and for the session checks).
    pub connect_timeout: Duration,
    /// How often the master probes a silent link; about four silent intervals end the session
    /// (15 s: a dead link is noticed within a minute).
    pub server_alive_interval: Duration,
}

impl Default for SshOptions {
    fn default() -> Self {
        Self {
            accept_new_host_keys: false,
            connect_timeout: Duration::from_secs(10),
            server_alive_interval: SERVER_ALIVE_INTERVAL,
        }
    }
}

/// An open multiplexed SSH session to one node (async; synchronous callers go through
/// [`blocking`]). Cheap to use concurrently: every call opens a new channel on the same master connection.
#[derive(Clone)]
pub struct SshNode {
    node: String,
    target: String,
    session: Arc<Session>,
    bin: String,
    root: Option<String>,
    setup_timeout: Duration,
}

impl SshNode {
    /// Opens the master connection to `node` at `addr` (user and port from the address, the
    /// node's ssh_config as `-F`), within `ssh.connect_timeout`.
    pub async fn connect(
        node: &str,
        addr: &NodeAddress,
        opts: &NodeOptions,
        ssh: &SshOptions,
    ) -> Result<Self> {
        let NodeAddress::Ssh { user, host, port } = addr else {
            bail!("node {node}: {addr} is not an ssh:// address");
        };
        let root = match &opts.root {
            Some(r) => Some(
                r.to_str()
                    .ok_or_else(|| eyre!("node {node}: root {} is not UTF-8", r.display()))?
                    .to_string(),
            ),
            None => None,
        };
        let dir = control_dir::for_this_process()
            .wrap_err_with(|| format!("node {node}: preparing the ssh control directory"))?;
        let mut builder = SessionBuilder::default();
        builder
            .known_hosts_check(if ssh.accept_new_host_keys {
                KnownHosts::Add
            } else {
                KnownHosts::Strict
            })
            .control_directory(&dir)
            .control_persist(idle_persist())
            .connect_timeout(ssh.connect_timeout.max(Duration::from_secs(1)))
            .server_alive_interval(ssh.server_alive_interval.max(Duration::from_secs(1)));
        if let Some(u) = user {
            builder.user(u.clone());
        }
        if let Some(p) = port {
            builder.port(*p);
        }
        if let Some(cfg) = &opts.ssh_config {
            builder.config_file(cfg);
        }
        let target = addr.to_string();
        let session =
            match tokio::time::timeout(ssh.connect_timeout, builder.connect_mux(host)).await {
                Err(_) => bail!(
                    "node {node}: no ssh connection to {target} within {:?}",
                    ssh.connect_timeout
                ),
                Ok(Err(e)) => return Err(errors::connect_error(node, addr, &e)),
                Ok(Ok(s)) => s,
            };
        Ok(Self {
            node: node.to_string(),
            target,
            session: Arc::new(session),
            bin: opts.bin.clone().unwrap_or_else(|| match opts.flavor() {
                super::Flavor::Drpilot => "drpilot".to_string(),
                _ => "om".to_string(),
            }),
            // An OpenSVC agent knows nothing of drpilot's node roots.
            root: root.filter(|_| opts.flavor() == super::Flavor::Drpilot),
            setup_timeout: ssh.connect_timeout,
        })
    }

    /// The node this session reaches.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The remote argv for `drpilot ARGS` on that node (bin, and the env prefix when root is
    /// set).
    pub fn remote_argv(&self, args: &[String]) -> Vec<String> {
        super::client::remote(&self.node, &self.bin, self.root.as_deref(), args)
    }

    /// `ssh -t` through this session's master connection running `drpilot ARGS` on the node,
    /// on this terminal (an interactive shell).
    pub fn interactive(&self, args: &[String]) -> std::process::Command {
        let mut cmd = std::process::Command::new("ssh");
        cmd.arg("-t")
            .arg("-S")
            .arg(self.session.control_socket())
            .args(["-o", "ControlMaster=no", &self.node, "--"])
            .arg(shell_words::join(self.remote_argv(args)));
        cmd
    }

    /// Runs `drpilot ARGS` on the node with `input` as its stdin, at most `timeout` (after
    /// which the output says `timed_out`). A non-zero exit is not an error.
    pub async fn call(
        &self,
        args: &[String],
        input: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<CallOutput> {
        let rx = input.map(|bytes| {
            let (tx, rx) = mpsc::channel(1);
            // A fresh channel of capacity 1 always has room for this one message.
            let _ = tx.try_send(bytes);
            rx
        });
        self.run(args, rx, Some(timeout)).await
    }

    /// Starts a long-running remote drpilot whose stdout is read line by line (`agent watch`).
    pub async fn spawn_lines(&self, args: &[String]) -> Result<RemoteLines> {
        self.spawn_lines_within(args, None).await
    }

    /// Like [`Self::spawn_lines`], for a command the caller gives up on after `limit`: the remote
    /// side kills it itself a little later (the mux protocol cannot signal it).
    pub async fn spawn_lines_within(
        &self,
        args: &[String],
        limit: Option<Duration>,
    ) -> Result<RemoteLines> {
        let mut argv = self.remote_argv(args);
        if let Some(limit) = limit {
            argv.splice(0..0, remote_deadline(limit));
        }
        let mut cmd = self.command(&argv);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = self.spawn(&mut cmd).await?;
        RemoteLines::new(&self.node, &self.bin, child)
    }

    /// Checks that the session is alive (a mux alive check), within the connect timeout.
    pub async fn check(&self) -> Result<()> {
        match tokio::time::timeout(self.setup_timeout, self.session.check()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(eyre!(
                "node {}: the ssh session to {} is down: {}",
                self.node,
                self.target,
                errors::chain(&e)
            )),
            Err(_) => bail!(
                "node {}: the ssh session to {} did not answer within {:?}",
                self.node,
                self.target,
                self.setup_timeout
            ),
        }
    }

    /// Runs `drpilot ARGS` feeding stdin from `input` chunks; `None` for `timeout` waits for
    /// ever. Shared by [`SshNode::call`] and the blocking facade.
    pub(crate) async fn run(
        &self,
        args: &[String],
        input: Option<mpsc::Receiver<Vec<u8>>>,
        timeout: Option<Duration>,
    ) -> Result<CallOutput> {
        self.run_remote(self.remote_argv(args), input, timeout)
            .await
    }

    /// Runs another program of the node (`argv[0]`, as the node's PATH finds it) through this
    /// session, at most `timeout`: what an OpenSVC node's adapter reads beside its agent.
    pub(crate) async fn run_program(
        &self,
        argv: &[String],
        timeout: Option<Duration>,
    ) -> Result<CallOutput> {
        self.run_remote(argv.to_vec(), None, timeout).await
    }

    async fn run_remote(
        &self,
        mut argv: Vec<String>,
        input: Option<mpsc::Receiver<Vec<u8>>>,
        timeout: Option<Duration>,
    ) -> Result<CallOutput> {
        let Some(limit) = timeout else {
            return self.run_argv(&argv, input).await;
        };
        argv.splice(0..0, remote_deadline(limit));
        match tokio::time::timeout(limit, self.run_argv(&argv, input)).await {
            Ok(r) => r,
            // Dropping the future closes the channel; the remote deadline reaps the process.
            Err(_) => Ok(CallOutput {
                timed_out: true,
                ..CallOutput::default()
            }),
        }
    }

    async fn run_argv(
        &self,
        argv: &[String],
        input: Option<mpsc::Receiver<Vec<u8>>>,
    ) -> Result<CallOutput> {
        let mut cmd = self.command(argv);
        cmd.stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = self.spawn(&mut cmd).await?;
        let stdin = child.stdin().take();
        let stdout = child.stdout().take();
        let stderr = child.stderr().take();
        let feed = async move {
            let (Some(mut sink), Some(mut rx)) = (stdin, input) else {
                return Ok(());
            };
            while let Some(chunk) = rx.recv().await {
                match sink.write_all(&chunk).await {
                    Ok(()) => {}
                    // The remote exited without reading everything: its exit says why.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
            sink.flush().await
        };
        let read_out = async move {
            let mut buf = Vec::new();
            if let Some(mut s) = stdout {
                s.read_to_end(&mut buf).await?;
            }
            Ok::<_, std::io::Error>(buf)
        };
        let read_err = async move {
            let mut buf = Vec::new();
            if let Some(mut s) = stderr {
                s.read_to_end(&mut buf).await?;
            }
            Ok::<_, std::io::Error>(String::from_utf8_lossy(&buf).into_owned())
        };
        let (fed, out, err) = tokio::join!(feed, read_out, read_err);
        let status = child.wait().await;
        let what = || format!("node {}: reading the output of {}", self.node, self.bin);
        let stderr = err.wrap_err_with(what)?;
        let (code, success) =
            exit_of(&self.node, &self.bin, &self.session, status, &stderr).await?;
        let out = CallOutput {
            success,
            code,
            stdout: out.wrap_err_with(what)?,
            stderr,
            timed_out: false,
        };
        if let Err(e) = fed {
            if out.success {
                return Err(e).wrap_err_with(|| {
                    format!("node {}: streaming input to {}", self.node, self.bin)
                });
            }
        }
        Ok(out)
    }

    fn command(&self, argv: &[String]) -> OwningCommand<Arc<Session>> {
        let (program, args) = argv.split_first().map_or(("", &[][..]), |(p, a)| (p, a));
        let mut cmd = Session::to_command(Arc::clone(&self.session), program.to_string());
        cmd.args(args);
        cmd
    }

    async fn spawn(
        &self,
        cmd: &mut OwningCommand<Arc<Session>>,
    ) -> Result<openssh::Child<Arc<Session>>> {
        match tokio::time::timeout(self.setup_timeout, cmd.spawn()).await {
            Ok(Ok(child)) => Ok(child),
            Ok(Err(e)) => Err(eyre!(
                "node {}: cannot start {} over ssh ({}): {}",
                self.node,
                self.bin,
                self.target,
                errors::chain(&e)
            )),
            Err(_) => bail!(
                "node {}: the ssh session to {} did not start {} within {:?}",
                self.node,
                self.target,
                self.bin,
                self.setup_timeout
            ),
        }
    }
}

fn idle_persist() -> ControlPersist {
    match std::num::NonZeroUsize::new(MASTER_IDLE_SECS) {
        Some(n) => ControlPersist::IdleFor(n),
        None => ControlPersist::ClosedAfterInitialConnection,
    }
}

/// `timeout -s KILL SECS`: the remote reaps a command shortly after our deadline (GNU coreutils
/// and busybox both accept this form).
fn remote_deadline(limit: Duration) -> [String; 4] {
    let secs = limit.as_secs() + u64::from(limit.subsec_nanos() > 0) + REMOTE_DEADLINE_SLACK_SECS;
    [
        "timeout".to_string(),
        "-s".to_string(),
        "KILL".to_string(),
        secs.to_string(),
    ]
}

/// Turns a remote exit into (code, success); a missing binary and a lost connection are errors
/// naming the node.
async fn exit_of(
    node: &str,
    bin: &str,
    session: &Session,
    status: Result<ExitStatus, openssh::Error>,
    stderr: &str,
) -> Result<(Option<i32>, bool)> {
    match status {
        Ok(st) => Ok((st.code(), st.success())),
        Err(openssh::Error::Remote(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            let said = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| format!(": {}", l.trim()))
                .unwrap_or_default();
            bail!(
                "node {node}: `{bin}` was not found on the node (exit 127{said}); \
                 set bin in [options.{node}] of nodes.toml"
            )
        }
        Err(openssh::Error::RemoteProcessTerminated) => {
            // The mux protocol cannot tell a signal from a lost connection: ask the master.
            match tokio::time::timeout(Duration::from_secs(5), session.check()).await {
                Ok(Ok(())) => Ok((None, false)),
                _ => bail!("node {node}: the ssh connection was lost while {bin} ran"),
            }
        }
        Err(e) => Err(eyre!(
            "node {node}: waiting for {bin} over ssh: {}",
            errors::chain(&e)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_has_the_env_prefix_only_with_a_root() {
        let args = vec!["svc".to_string(), "a b".to_string()];
        assert_eq!(
            crate::transport::client::remote("deb2", "drpilot", None, &args),
            ["drpilot", "svc", "a b"]
        );
        assert_eq!(
            crate::transport::client::remote("deb2", "/opt/drpilot", Some("/srv/lab/deb2"), &args),
            [
                "env",
                "DRPILOT_ROOT=/srv/lab/deb2",
                "DRPILOT_NODENAME=deb2",
                "/opt/drpilot",
                "svc",
                "a b"
            ]
        );
    }

    #[test]
    fn sessions_move_between_tasks() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<SshNode>();
        send_sync::<crate::transport::Link>();
        send_sync::<crate::transport::Pool>();
        send::<RemoteLines>();
        send::<crate::transport::LineStream>();
    }

    #[test]
    fn remote_deadline_outlives_ours() {
        assert_eq!(remote_deadline(Duration::from_millis(1500))[3], "7");
        assert_eq!(remote_deadline(Duration::from_secs(60))[3], "65");
    }
}
