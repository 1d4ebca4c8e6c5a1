//! How the console's tasks reach a node: a long-running remote drpilot whose stdout is read line
//! by line (`agent watch`, an action's JSON log), over the `local:` transport or SSH.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;

use color_eyre::eyre::{eyre, Result, WrapErr};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

use crate::transport::{NodeAddress, NodeMap, RemoteLines, SshNode, SshOptions};

/// An open way to a node.
#[derive(Clone)]
pub enum NodeLink {
    /// A lab node: this binary with the node's root.
    Local {
        /// Node name.
        node: String,
        /// Its root directory.
        root: PathBuf,
    },
    /// A multiplexed SSH session.
    Ssh(Arc<SshNode>),
}

/// The stdout lines of a running remote drpilot.
pub enum LineStream {
    /// A local child process, its stdout lines, and its stderr drained by a task (a child that
    /// fills the stderr pipe while we read stdout would block otherwise).
    Local(
        Child,
        Lines<BufReader<ChildStdout>>,
        tokio::task::JoinHandle<String>,
    ),
    /// A remote process over SSH.
    Ssh(RemoteLines),
}

impl NodeLink {
    /// Opens the way to `node` as the map says.
    pub async fn open(map: &NodeMap, node: &str, ssh: &SshOptions) -> Result<Self> {
        match map.address_of(node) {
            NodeAddress::Local { root } => {
                if !root.is_dir() {
                    return Err(eyre!(
                        "node {node}: its root {} does not exist",
                        root.display()
                    ));
                }
                Ok(Self::Local {
                    node: node.to_string(),
                    root,
                })
            }
            addr @ NodeAddress::Ssh { .. } => {
                let s = SshNode::connect(node, &addr, &map.options_of(node), ssh).await?;
                Ok(Self::Ssh(Arc::new(s)))
            }
        }
    }

    /// Starts `drpilot ARGS` on the node.
    pub async fn spawn_lines(&self, args: &[String]) -> Result<LineStream> {
        match self {
            Self::Local { node, root } => {
                let exe = crate::transport::self_exe()?;
                let mut child = tokio::process::Command::new(exe)
                    .args(args)
                    .env("DRPILOT_ROOT", root)
                    .env("DRPILOT_NODENAME", node)
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .kill_on_drop(true)
                    .spawn()
                    .wrap_err_with(|| format!("starting drpilot for node {node}"))?;
                let out = child.stdout.take().ok_or_else(|| eyre!("no stdout"))?;
                let mut err = child.stderr.take().ok_or_else(|| eyre!("no stderr"))?;
                let stderr = tokio::spawn(async move {
                    let mut text = String::new();
                    let _ = err.read_to_string(&mut text).await;
                    text
                });
                Ok(LineStream::Local(
                    child,
                    BufReader::new(out).lines(),
                    stderr,
                ))
            }
            Self::Ssh(s) => s.spawn_lines(args).await.map(LineStream::Ssh),
        }
    }
}

impl LineStream {
    /// The next stdout line, `None` at the end.
    pub async fn next_line(&mut self) -> Result<Option<String>> {
        match self {
            Self::Local(_, lines, _) => Ok(lines.next_line().await?),
            Self::Ssh(r) => r.next_line().await,
        }
    }

    /// Waits for the end: whether it succeeded, and why not (empty when it did).
    pub async fn finish(self) -> Result<(bool, String)> {
        let out = match self {
            Self::Local(mut child, _, stderr) => {
                let status = child.wait().await?;
                crate::transport::CallOutput {
                    success: status.success(),
                    code: status.code(),
                    stderr: stderr.await.unwrap_or_default(),
                    ..Default::default()
                }
            }
            Self::Ssh(r) => r.finish().await?,
        };
        let why = if out.success {
            String::new()
        } else {
            out.failure_reason()
        };
        Ok((out.success, why))
    }
}
