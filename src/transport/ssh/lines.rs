//! A long-running remote drpilot read line by line (the console's `agent watch` streams).

use std::sync::Arc;
use std::time::Duration;

use color_eyre::eyre::{eyre, Result, WrapErr};
use openssh::{Child, ChildStdout, Session};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::task::JoinHandle;

use super::exit_of;
use crate::transport::lines::collect_tail;
use crate::transport::CallOutput;

/// How long [`RemoteLines::finish`] waits for the exit status once stdout has ended.
const FINISH_TIMEOUT: Duration = Duration::from_secs(30);

/// A remote drpilot whose stdout is read line by line while its stderr is collected aside (so
/// that a chatty stderr can never block it).
pub struct RemoteLines {
    node: String,
    bin: String,
    child: Child<Arc<Session>>,
    lines: Lines<BufReader<ChildStdout>>,
    stderr: JoinHandle<String>,
}

impl RemoteLines {
    pub(super) fn new(node: &str, bin: &str, mut child: Child<Arc<Session>>) -> Result<Self> {
        let stdout = child
            .stdout()
            .take()
            .ok_or_else(|| eyre!("node {node}: the remote stdout was not captured"))?;
        let stderr = collect_tail(child.stderr().take());
        Ok(Self {
            node: node.to_string(),
            bin: bin.to_string(),
            child,
            lines: BufReader::new(stdout).lines(),
            stderr,
        })
    }

    /// The next stdout line, `Ok(None)` at end of stream. No deadline of its own (a watch may
    /// legitimately be quiet); cancel-safe, so wrap it in `tokio::time::timeout` to detect a
    /// missed heartbeat.
    pub async fn next_line(&mut self) -> Result<Option<String>> {
        self.lines
            .next_line()
            .await
            .wrap_err_with(|| format!("node {}: reading the output of {}", self.node, self.bin))
    }

    /// Waits for the remote exit (call it after `next_line` returned `None`; stdout still unread
    /// is discarded) and returns the exit and stderr, with an empty stdout.
    pub async fn finish(self) -> Result<CallOutput> {
        let Self {
            node,
            bin,
            child,
            lines,
            stderr,
        } = self;
        drop(lines);
        let session = child.session();
        let status = match tokio::time::timeout(FINISH_TIMEOUT, child.wait()).await {
            Ok(s) => s,
            Err(_) => {
                stderr.abort();
                return Ok(CallOutput {
                    timed_out: true,
                    ..CallOutput::default()
                });
            }
        };
        let stderr = stderr.await.unwrap_or_default();
        let (code, success) = exit_of(&node, &bin, &session, status, &stderr).await?;
        Ok(CallOutput {
            success,
            code,
            stdout: Vec::new(),
            stderr,
            timed_out: false,
        })
    }

    /// Stops reading: the channel is closed, and the remote drpilot ends on its next write
    /// (the mux protocol has no way to signal it).
    pub async fn kill(self) {
        self.stderr.abort();
        let _ = self.child.disconnect().await;
    }
}
