//! A drpilot running on a node whose stdout is read line by line while it runs (the console's
//! `agent watch` streams and action logs), whichever way the node is reached.

use tokio::io::{AsyncRead, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};
use tokio::task::JoinHandle;

use color_eyre::eyre::{Result, WrapErr};

use super::{CallOutput, RemoteLines};

/// How much of a streaming command's stderr is kept (the end of it).
const STDERR_TAIL: usize = 64 * 1024;

/// Reads a stream's stderr to its end on a task of its own, keeping the last [`STDERR_TAIL`]
/// bytes: a child that fills its stderr pipe while we read stdout would block otherwise.
pub(super) fn collect_tail<R>(stderr: Option<R>) -> JoinHandle<String>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut tail = Vec::new();
        if let Some(mut s) = stderr {
            let mut buf = vec![0u8; 8192];
            while let Ok(n) = s.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                tail.extend_from_slice(&buf[..n]);
                if tail.len() > STDERR_TAIL {
                    tail.drain(..tail.len() - STDERR_TAIL);
                }
            }
        }
        String::from_utf8_lossy(&tail).into_owned()
    })
}

/// A `local:` node's drpilot: the child, its stdout lines, its stderr collected aside.
pub struct LocalLines {
    pub(super) node: String,
    pub(super) child: Child,
    pub(super) lines: Lines<BufReader<ChildStdout>>,
    pub(super) stderr: JoinHandle<String>,
}

/// Lines made in this process from another agent's answers (an OpenSVC node's watch, polled,
/// or an action's translated log), sent by a blocking task; it stops once the stream is dropped.
pub struct MadeLines {
    pub(super) rx: tokio::sync::mpsc::Receiver<String>,
    pub(super) task: JoinHandle<Result<CallOutput>>,
}

/// The stdout lines of a drpilot running on a node.
pub enum LineStream {
    /// A child of this process acting as a `local:` node.
    Local(LocalLines),
    /// A remote process over SSH.
    Ssh(RemoteLines),
    /// Lines translated here from another agent.
    Made(MadeLines),
}

impl LineStream {
    /// The next stdout line, `Ok(None)` at the end. No deadline of its own (a watch may
    /// legitimately be quiet); cancel-safe, so wrap it in `tokio::time::timeout` to detect a
    /// missed heartbeat.
    pub async fn next_line(&mut self) -> Result<Option<String>> {
        match self {
            Self::Local(l) => l
                .lines
                .next_line()
                .await
                .wrap_err_with(|| format!("node {}: reading the output of drpilot", l.node)),
            Self::Ssh(r) => r.next_line().await,
            Self::Made(m) => Ok(m.rx.recv().await),
        }
    }

    /// Waits for the end (call it after `next_line` returned `None`): the exit and stderr, with
    /// an empty stdout.
    pub async fn finish(self) -> Result<CallOutput> {
        match self {
            Self::Local(mut l) => {
                let status = l
                    .child
                    .wait()
                    .await
                    .wrap_err_with(|| format!("node {}: waiting for drpilot", l.node))?;
                Ok(CallOutput {
                    success: status.success(),
                    code: status.code(),
                    stdout: Vec::new(),
                    stderr: l.stderr.await.unwrap_or_default(),
                    timed_out: false,
                })
            }
            Self::Ssh(r) => r.finish().await,
            Self::Made(m) => m
                .task
                .await
                .map_err(|e| color_eyre::eyre::eyre!("the translating task failed: {e}"))?,
        }
    }
}
