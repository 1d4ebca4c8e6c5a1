//! The blocking facade of an [`SshNode`], for synchronous callers (the agent's peer calls, the
//! runbook, the drivers' syncs): each call runs on the transports' shared runtime
//! ([`crate::transport::runtime`]), and the caller's reader and line callback stay on the
//! caller's thread.

use std::io::Read;
use std::time::Duration;

use color_eyre::eyre::{eyre, Report, Result, WrapErr};
use tokio::sync::mpsc;

use super::SshNode;
use crate::transport::runtime::block_on;
use crate::transport::CallOutput;

/// Size of the chunks read from a call's input.
const CHUNK: usize = 256 * 1024;

/// Chunks in flight between the reading thread and the remote stdin.
const IN_FLIGHT: usize = 4;

/// Runs `drpilot ARGS` on the node, feeding it `input`, at most `timeout`.
pub(crate) fn call(
    node: &SshNode,
    args: &[String],
    input: Option<&mut (dyn Read + Send)>,
    timeout: Option<Duration>,
) -> Result<CallOutput> {
    let started = std::time::Instant::now();
    let out = call_timed(node, args, input, timeout);
    crate::transport::child_time::account(started.elapsed());
    out
}

fn call_timed(
    node: &SshNode,
    args: &[String],
    input: Option<&mut (dyn Read + Send)>,
    timeout: Option<Duration>,
) -> Result<CallOutput> {
    let Some(src) = input else {
        return block_on(node.run(args, None, timeout))?;
    };
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel(IN_FLIGHT);
        let reader = scope.spawn(move || feed(src, &tx));
        // `rx` is dropped when this returns, which releases a reader blocked on a full channel.
        let out = block_on(node.run(args, Some(rx), timeout));
        let read = reader
            .join()
            .map_err(|_| eyre!("node {}: the input thread failed", node.node()))?;
        let out = out??;
        if let Err(e) = read {
            if out.success {
                return Err(e).wrap_err_with(|| format!("reading the input for {}", node.node()));
            }
        }
        Ok(out)
    })
}

/// Runs `drpilot ARGS` on the node, handing each stdout line to `on_line` as it arrives (sync
/// progress), under the same deadline here and on the remote side.
pub(crate) fn call_lines(
    node: &SshNode,
    args: &[String],
    on_line: &mut dyn FnMut(&str),
    timeout: Option<Duration>,
) -> Result<CallOutput> {
    let started = std::time::Instant::now();
    // The stream is read on a helper thread (the runtime's future must be Send, the callback is
    // not); its lines come back here.
    let out = std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = scope.spawn(move || block_on(read_lines(node, args, tx, timeout)));
        for line in rx {
            on_line(&line);
        }
        reader
            .join()
            .map_err(|_| eyre!("node {}: the reading thread failed", node.node()))?
    });
    crate::transport::child_time::account(started.elapsed());
    out?
}

/// Reads the remote stdout into `tx`, returning the whole output (stdout kept too).
async fn read_lines(
    node: &SshNode,
    args: &[String],
    tx: std::sync::mpsc::Sender<String>,
    timeout: Option<Duration>,
) -> Result<CallOutput> {
    let run = async {
        let mut lines = node.spawn_lines_within(args, timeout).await?;
        let mut all = Vec::new();
        while let Some(l) = lines.next_line().await? {
            all.extend_from_slice(l.as_bytes());
            all.push(b'\n');
            // The caller gone is not the node's failure: keep reading to the exit.
            let _ = tx.send(l);
        }
        let mut out = lines.finish().await?;
        out.stdout = all;
        Ok::<CallOutput, Report>(out)
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
