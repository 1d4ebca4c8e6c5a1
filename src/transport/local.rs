//! The `local:` transport: a node living under a directory of this machine, reached by running
//! this same binary with `DRPILOT_ROOT` and `DRPILOT_NODENAME` set (the lab).

use std::io::Read;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr};

use super::{run_child, run_child_lines, CallOutput, Transport};

/// This very binary, even when its file was replaced since it started (an upgrade, a rebuild):
/// then `/proc/self/exe` still reaches the running version.
pub fn self_exe() -> Result<PathBuf> {
    let exe = std::env::current_exe().wrap_err("locating the drpilot binary")?;
    if exe.exists() {
        return Ok(exe);
    }
    Ok(PathBuf::from("/proc/self/exe"))
}

/// Runs drpilot as a child process acting as another node.
pub struct LocalTransport {
    node: String,
    root: PathBuf,
    exe: PathBuf,
}

impl LocalTransport {
    /// A transport to `node`, whose files live under `root`.
    pub fn new(node: &str, root: PathBuf) -> Result<Self> {
        let exe = self_exe()?;
        Ok(Self {
            node: node.to_string(),
            root,
            exe,
        })
    }
}

impl LocalTransport {
    /// The command running drpilot as the node, after checking the node is there.
    fn command(&self, args: &[String]) -> Result<Command> {
        if !self.root.is_dir() {
            color_eyre::eyre::bail!(
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
        Ok(cmd)
    }
}

impl Transport for LocalTransport {
    fn node(&self) -> &str {
        &self.node
    }

    fn call(
        &self,
        args: &[String],
        input: Option<&mut (dyn Read + Send)>,
        timeout: Option<Duration>,
    ) -> Result<CallOutput> {
        let cmd = self.command(args)?;
        run_child(cmd, input, timeout).wrap_err_with(|| format!("reaching node {}", self.node))
    }

    fn call_lines(
        &self,
        args: &[String],
        on_line: &mut dyn FnMut(&str),
        timeout: Option<Duration>,
    ) -> Result<CallOutput> {
        let cmd = self.command(args)?;
        run_child_lines(cmd, on_line, timeout)
            .wrap_err_with(|| format!("reaching node {}", self.node))
    }
}
