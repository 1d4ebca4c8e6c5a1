//! Sending a replica to its target, shared by the syncs: a producer writes the stream into a
//! pipe that the target's receiving verb reads as its stdin, the two outcomes are judged
//! together, and progress is reported at a steady pace.

use std::io::{BufWriter, PipeWriter};
use std::time::{Duration, Instant};

use color_eyre::eyre::{eyre, Report, Result, WrapErr};

use crate::transport::{CallOutput, Transport};

/// How often a transfer reports its progress (its end is always reported).
pub const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Says when a transfer reports its progress: at most every [`PROGRESS_EVERY`], and at its end.
#[derive(Debug, Default)]
pub struct Throttle {
    last: Option<Instant>,
}

impl Throttle {
    /// Whether to report now; `finished` reports whatever the pace.
    pub fn due(&mut self, finished: bool) -> bool {
        if !finished && self.last.is_some_and(|t| t.elapsed() < PROGRESS_EVERY) {
            return false;
        }
        self.last = Some(Instant::now());
        true
    }
}

/// Runs `produce` on a thread of its own, writing into the stdin of `args` run on `target`;
/// returns what the producer returned and what the target printed. Dropping the writer at the
/// producer's end is the target's end of stream; closing the reader once the target is done
/// stops a producer the target no longer reads.
pub fn stream_to<T: Send>(
    target: &dyn Transport,
    args: &[String],
    produce: impl FnOnce(&mut BufWriter<PipeWriter>) -> Result<T> + Send,
) -> Result<(Result<T>, CallOutput)> {
    let (mut reader, writer) = std::io::pipe().wrap_err("creating a pipe")?;
    let (sent, out) = std::thread::scope(|s| {
        let producer = s.spawn(move || {
            let mut w = BufWriter::with_capacity(1 << 20, writer);
            produce(&mut w)
        });
        let out = target.call(args, Some(&mut reader), None);
        drop(reader);
        let sent = producer
            .join()
            .unwrap_or_else(|_| Err(eyre!("the sending thread failed")));
        (sent, out)
    });
    Ok((sent, out?))
}

/// The error of a transfer the target did not accept: the sender's own failure when it had
/// one (the target's reason beside it), else the target's refusal; `work` names what the target
/// was doing (`the transfer`, `the merge`).
pub fn refused<T>(
    rid: &str,
    target: &dyn Transport,
    sent: Result<T>,
    out: &CallOutput,
    work: &str,
) -> Report {
    let why = out.failure_reason();
    match sent {
        Err(e) => e.wrap_err(format!(
            "{rid}: sending to {} failed ({why})",
            target.node()
        )),
        Ok(_) => eyre!("{rid}: {} refused or failed {work}: {why}", target.node()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throttle_reports_the_first_the_end_and_no_more_than_its_pace() {
        let mut t = Throttle::default();
        assert!(t.due(false), "the first report goes out");
        assert!(!t.due(false), "the next one waits for the pace");
        assert!(t.due(true), "the end always goes out");
    }
}
