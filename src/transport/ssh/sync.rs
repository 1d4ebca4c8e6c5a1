//! The agent's synchronous [`Transport`] over ssh: a private current-thread tokio runtime around
//! an [`SshNode`]. Must not be used from inside a tokio runtime (the console uses `SshNode`).

use std::io::Read;
use std::time::Duration;

use color_eyre::eyre::{eyre, Result, WrapErr};
use tokio::sync::mpsc;

use super::{SshNode, SshOptions};
use crate::transport::{CallOutput, NodeAddress, NodeOptions, Transport};

/// Size of the chunks read from a call's input.
const CHUNK: usize = 256 * 1024;

/// Chunks in flight between the reading thread and the remote stdin.
const IN_FLIGHT: usize = 4;

/// The agent's synchronous Transport over SSH: a private current-thread tokio runtime around an
/// SshNode.
pub struct SshTransport {
    // Declared first: the session closes before its runtime goes away.
    node: SshNode,
    runtime: tokio::runtime::Runtime,
}

impl SshTransport {
    /// Opens the session to `node` (see [`SshNode::connect`]).
    pub fn connect(
        node: &str,
        addr: &NodeAddress,
        opts: &NodeOptions,
        ssh: &SshOptions,
    ) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .wrap_err("starting the ssh transport's runtime")?;
        let started = std::time::Instant::now();
        let session = runtime.block_on(SshNode::connect(node, addr, opts, ssh));
        crate::transport::child_time::account(started.elapsed());
        let session = session?;
        Ok(Self {
            node: session,
            runtime,
        })
    }
}

impl SshTransport {
    fn call_timed(
        &self,
        args: &[String],
        input: Option<&mut (dyn Read + Send)>,
        timeout: Option<Duration>,
    ) -> Result<CallOutput> {
        let Some(src) = input else {
            return self.runtime.block_on(self.node.run(args, None, timeout));
        };
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::channel(IN_FLIGHT);
            let reader = scope.spawn(move || feed(src, &tx));
            // `rx` is dropped when this returns, which releases a reader blocked on a full
            // channel.
            let out = self
                .runtime
                .block_on(self.node.run(args, Some(rx), timeout));
            let read = reader
                .join()
                .map_err(|_| eyre!("node {}: the input thread failed", self.node.node()))?;
            let out = out?;
            if let Err(e) = read {
                if out.success {
                    return Err(e)
                        .wrap_err_with(|| format!("reading the input for {}", self.node.node()));
                }
            }
            Ok(out)
        })
    }
}

impl Transport for SshTransport {
    fn node(&self) -> &str {
        self.node.node()
    }

    fn call(
        &self,
        args: &[String],
        input: Option<&mut (dyn Read + Send)>,
        timeout: Option<Duration>,
    ) -> Result<CallOutput> {
        let started = std::time::Instant::now();
        let out = self.call_timed(args, input, timeout);
        crate::transport::child_time::account(started.elapsed());
        out
    }

    fn call_lines(
        &self,
        args: &[String],
        on_line: &mut dyn FnMut(&str),
        timeout: Option<Duration>,
    ) -> Result<CallOutput> {
        // Live lines (sync progress) through a streaming channel, under the same deadline, here
        // and on the remote side.
        let started = std::time::Instant::now();
        let out = self.runtime.block_on(async {
            let run = async {
                let mut lines = self.node.spawn_lines_within(args, timeout).await?;
                let mut all = Vec::new();
                while let Some(l) = lines.next_line().await? {
                    on_line(&l);
                    all.extend_from_slice(l.as_bytes());
                    all.push(b'\n');
                }
                let mut out = lines.finish().await?;
                out.stdout = all;
                Ok::<CallOutput, color_eyre::eyre::Report>(out)
            };
            match timeout {
                None => run.await,
                Some(limit) => match tokio::time::timeout(limit, run).await {
                    Ok(r) => r,
                    Err(_) => Ok(CallOutput {
                        timed_out: true,
                        ..CallOutput::default()
                    }),
                },
            }
        });
        crate::transport::child_time::account(started.elapsed());
        out
    }
}

/// Reads `src` in chunks into `tx` until end of input or until the receiver is gone.
fn feed(src: &mut (dyn Read + Send), tx: &mpsc::Sender<Vec<u8>>) -> std::io::Result<()> {
    loop {
        let mut buf = vec![0u8; CHUNK];
        let n = match src.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        buf.truncate(n);
        if tx.blocking_send(buf).is_err() {
            return Ok(());
        }
    }
}
