//! The transfer: the stream is extracted from the source device on a thread into a pipe that the
//! transport feeds to the target's `drpilot peer dds-receive`, with progress lines on the way;
//! the target's report must match what was sent.

use std::path::Path;
use std::time::{Duration, Instant};

use color_eyre::eyre::{bail, eyre, Result, WrapErr};

use super::delta::{extract, StreamHeader, StreamStats};
use super::wire::ReceiveReport;
use crate::drivers::sync_btrfs::progress_line;
use crate::drivers::Ctx;
use crate::transport::Transport;

/// How often a transfer reports its progress.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Streams `chunks` of the device at `source` (a path on this node) into the target's receive
/// verb `args`; returns what was sent, once the target confirmed the same.
pub fn send(
    ctx: &Ctx,
    rid: &str,
    source: &Path,
    header: &StreamHeader,
    chunks: &[u64],
    target: &dyn Transport,
    args: &[String],
) -> Result<StreamStats> {
    let node = &ctx.env.nodename;
    let mut file = std::fs::File::open(source)
        .wrap_err_with(|| format!("{rid} on {node}: opening {}", source.display()))?;
    let total = header.stream_len(chunks.iter().copied());
    let (mut reader, writer) = std::io::pipe().wrap_err("creating a pipe")?;
    let log = ctx.log;
    let (sent, out) = std::thread::scope(|s| {
        // The writer moves into the thread so that the target sees end-of-stream when done.
        let sender = s.spawn(move || {
            let mut w = std::io::BufWriter::with_capacity(1 << 20, writer);
            let started = Instant::now();
            let mut last: Option<Instant> = None;
            let mut report = |bytes: u64| {
                if bytes < total && last.is_some_and(|t| t.elapsed() < PROGRESS_EVERY) {
                    return;
                }
                last = Some(Instant::now());
                log.progress(rid, progress_line(bytes, Some(total), started.elapsed()));
            };
            extract(
                &mut file,
                header,
                chunks.iter().copied(),
                &mut w,
                &mut report,
            )
        });
        let out = target.call(args, Some(&mut reader), None);
        // Closing our end stops an extraction the target no longer reads.
        drop(reader);
        let sent = match sender.join() {
            Ok(r) => r,
            Err(_) => Err(eyre!("the extracting thread failed")),
        };
        (sent, out)
    });
    let out = out.wrap_err_with(|| format!("{rid}: streaming to {}", target.node()))?;
    if !out.success {
        let why = out.failure_reason();
        return Err(match sent {
            Err(e) => e.wrap_err(format!(
                "{rid}: sending to {} failed ({why})",
                target.node()
            )),
            Ok(_) => eyre!(
                "{rid}: {} refused or failed the merge: {why}",
                target.node()
            ),
        });
    }
    let sent =
        sent.wrap_err_with(|| format!("{rid} on {node}: extracting from {}", source.display()))?;
    let got: ReceiveReport = serde_json::from_slice(&out.stdout)
        .wrap_err_with(|| format!("{rid}: bad merge report from {}", target.node()))?;
    if got.stats != sent {
        bail!(
            "{rid}: {} merged {:?} but {:?} was sent",
            target.node(),
            got.stats,
            sent
        );
    }
    Ok(sent)
}
