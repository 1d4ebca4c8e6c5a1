//! The `local:` half of a [`Link`](super::Link): a node living under a directory of this
//! machine, reached by running this same binary with `DRPILOT_ROOT` and `DRPILOT_NODENAME` set
//! (the lab). Synchronous calls run the child on the caller's thread (the thread its
//! parent-death signal is tied to); the console's line streams run it under tokio. Both start it
//! from the one [`LocalNode::command`], so both behave alike.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use color_eyre::eyre::{bail, eyre, Result, WrapErr};
use tokio::io::{AsyncBufReadExt, BufReader};

use super::lines::{collect_tail, LineStream, LocalLines};
use super::parent_death::end_with_parent;
use super::{run_child, run_child_lines, CallOutput};

/// This very binary, even when its file was replaced since it started (an upgrade, a rebuild):
/// then `/proc/self/exe` still reaches the running version.
pub fn self_exe() -> Result<PathBuf> {
    let exe = std::env::current_exe().wrap_err("locating the drpilot binary")?;
    if exe.exists() {
        return Ok(exe);
    }
    Ok(PathBuf::from("/proc/self/exe"))
}

/// How to run drpilot as another node of this machine.
#[derive(Clone)]
pub(super) struct LocalNode {
    node: String,
    root: PathBuf,
    exe: PathBuf,
}

impl LocalNode {
    /// The node `node`, whose files live under `root`.
    pub(super) fn new(node: &str, root: PathBuf) -> Result<Self> {
        Ok(Self {
            node: node.to_string(),
            root,
            exe: self_exe()?,
        })
    }

    /// The node `node` whose agent is another program (an OpenSVC agent's `bin`).
    pub(super) fn with_exe(node: &str, root: PathBuf, exe: PathBuf) -> Self {
        Self {
            node: node.to_string(),
            root,
            exe,
        }
    }

    pub(super) fn node(&self) -> &str {
        &self.node
    }

    /// The command running `drpilot ARGS` as the node, after checking the node is there. The
    /// seat's `NO_COLOR` is removed: a node's output must not depend on the terminal settings of
    /// whoever reaches it, as an ssh node's does not (sshd does not pass it on).
    fn command(&self, args: &[String]) -> Result<Command> {
        if !self.root.is_dir() {
            bail!(
                "node {} is unreachable: its root {} does not exist",
                self.node,
                self.root.display()
            );
        }
        let mut cmd = Command::new(&self.exe);
        cmd.args(args)
            .env("DRPILOT_ROOT", &self.root)
            .env("DRPILOT_NODENAME", &self.node)
            .env_remove("NO_COLOR");
        if let Some((k, v)) = super::client::actor_env() {
            cmd.env(k, v);
        }
        Ok(cmd)
    }

    /// `drpilot ARGS` as the node, on this terminal (an interactive shell).
    pub(super) fn interactive(&self, args: &[String]) -> Result<Command> {
        self.command(args)
    }

    /// Runs `drpilot ARGS` on the caller's thread (see [`run_child`]).
    pub(super) fn call(
        &self,
        args: &[String],
        input: Option<&mut (dyn Read + Send)>,
        timeout: Option<Duration>,
    ) -> Result<CallOutput> {
        let cmd = self.command(args)?;
        run_child(cmd, input, timeout).wrap_err_with(|| format!("reaching node {}", self.node))
    }

    /// Runs another program of the node (`argv[0]`, found in PATH) with its arguments: what an
    /// OpenSVC node's adapter reads beside its agent (the replica's `last_sync` files).
    pub(super) fn call_program(
        &self,
        argv: &[String],
        timeout: Option<Duration>,
    ) -> Result<CallOutput> {
        let Some((program, args)) = argv.split_first() else {
            bail!("node {}: no program to run", self.node);
        };
        let mut cmd = Command::new(program);
        cmd.args(args);
        run_child(cmd, None, timeout)
            .wrap_err_with(|| format!("running {program} on node {}", self.node))
    }

    /// Runs `drpilot ARGS` on the caller's thread, handing each stdout line to `on_line`.
    pub(super) fn call_lines(
        &self,
        args: &[String],
        on_line: &mut dyn FnMut(&str),
        timeout: Option<Duration>,
    ) -> Result<CallOutput> {
        let cmd = self.command(args)?;
        run_child_lines(cmd, on_line, timeout)
            .wrap_err_with(|| format!("reaching node {}", self.node))
    }

    /// Starts `drpilot ARGS` as a child read line by line. It ends with this process (and is
    /// killed when the stream is dropped), like every child of a synchronous call.
    pub(super) fn spawn_lines(&self, args: &[String]) -> Result<LineStream> {
        let mut cmd = self.command(args)?;
        end_with_parent(&mut cmd);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = tokio::process::Command::from(cmd)
            .kill_on_drop(true)
            .spawn()
            .wrap_err_with(|| format!("reaching node {}: starting drpilot", self.node))?;
        let out = child
            .stdout
            .take()
            .ok_or_else(|| eyre!("node {}: the child's stdout was not captured", self.node))?;
        let stderr = collect_tail(child.stderr.take());
        Ok(LineStream::Local(LocalLines {
            node: self.node.clone(),
            child,
            lines: BufReader::new(out).lines(),
            stderr,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{Link, Transport};

    /// A node whose "drpilot" is `exe` (the test binary cannot act as drpilot).
    fn node_running(exe: &str, root: PathBuf) -> LocalNode {
        LocalNode {
            node: "deb1".to_string(),
            root,
            exe: PathBuf::from(exe),
        }
    }

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_node_command_drops_the_seats_no_color() {
        let dir = tempfile::tempdir().unwrap();
        let cmd = node_running("/bin/true", dir.path().to_path_buf())
            .command(&[])
            .unwrap();
        let envs: Vec<_> = cmd.get_envs().collect();
        assert!(
            envs.contains(&(std::ffi::OsStr::new("NO_COLOR"), None)),
            "{envs:?}"
        );
        assert!(envs.contains(&(
            std::ffi::OsStr::new("DRPILOT_ROOT"),
            Some(dir.path().as_os_str())
        )));
    }

    #[test]
    fn a_missing_root_is_unreachable_on_both_paths() {
        let link = Link::local("deb1", PathBuf::from("/nonexistent/deb1")).unwrap();
        let call = match Transport::call(&link, &[], None, None) {
            Ok(out) => panic!("reached a missing root: {out:?}"),
            Err(e) => format!("{e:#}"),
        };
        let stream = match crate::transport::block_on(link.spawn_lines(&[])).unwrap() {
            Ok(_) => panic!("streamed from a missing root"),
            Err(e) => format!("{e:#}"),
        };
        let said = "node deb1 is unreachable: its root /nonexistent/deb1 does not exist";
        assert!(call.contains(said), "{call}");
        assert!(stream.contains(said), "{stream}");
    }

    /// The process group of `pid`, from /proc.
    fn group_of(pid: u32) -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (_, rest) = stat.rsplit_once(')')?;
        rest.split_whitespace().nth(2)?.parse().ok()
    }

    #[test]
    fn a_line_stream_child_ends_with_its_tree_like_a_call() {
        let dir = tempfile::tempdir().unwrap();
        let node = node_running("/bin/sh", dir.path().to_path_buf());
        let script = "echo $$; echo $DRPILOT_NODENAME; exec sleep 30";
        let (pid, name, group) = crate::transport::block_on(async {
            let mut stream = node.spawn_lines(&args(&["-c", script])).unwrap();
            let pid: u32 = stream.next_line().await.unwrap().unwrap().parse().unwrap();
            let name = stream.next_line().await.unwrap().unwrap();
            // Read while the child runs; dropping the stream kills it.
            (pid, name, group_of(pid))
        })
        .unwrap();
        assert_eq!(name, "deb1");
        // A process group of its own: a deadline or a kill reaches everything it started.
        assert_eq!(group, Some(pid));
    }
}
