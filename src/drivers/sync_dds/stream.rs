//! The transfer: the stream is extracted from the source device on a thread into a pipe that the
//! transport feeds to the target's `drpilot peer dds-receive`, with progress lines on the way;
//! the target's report must match what was sent.

use std::path::Path;
use std::time::Instant;

use color_eyre::eyre::{bail, Result, WrapErr};

use super::delta::{extract, StreamHeader, StreamStats};
use super::wire::ReceiveReport;
use crate::drivers::sync_btrfs::progress_line;
use crate::drivers::transfer::{refused, stream_to, Throttle};
use crate::drivers::Ctx;
use crate::transport::Transport;

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
    let log = ctx.log;
    let (sent, out) = stream_to(target, args, |w| {
        let started = Instant::now();
        let mut pace = Throttle::default();
        let mut report = |bytes: u64| {
            if pace.due(bytes >= total) {
                log.progress(rid, progress_line(bytes, Some(total), started.elapsed()));
            }
        };
        extract(&mut file, header, chunks.iter().copied(), w, &mut report)
    })
    .wrap_err_with(|| format!("{rid}: streaming to {}", target.node()))?;
    if !out.success {
        return Err(refused(rid, target, sent, &out, "the merge"));
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
