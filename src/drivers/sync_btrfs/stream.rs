//! The transfer itself: `btrfs send` piped through the transport into the target's
//! `drpilot peer btrfs-receive`, its bytes counted and reported as progress lines on the way.
//! A target that stops reading stops the send; the target's own message is the error.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use color_eyre::eyre::{bail, eyre, Result, WrapErr};

use super::volume::Tool;
use crate::action_log::ActionLog;
use crate::drivers::transfer::Throttle;
use crate::protocol::log::SyncProgress;
use crate::transport::Transport;

/// The progress of a send stream: its size is not known in advance, so the total is an
/// estimate when there is one, and unknown (no time left) when there is none or it was passed.
pub fn progress_line(sent: u64, total: Option<u64>, elapsed: Duration) -> SyncProgress {
    SyncProgress::measure(sent, total, None, elapsed)
}

/// The send stream on its way to the target, counted and reported.
struct Counting<'a, R> {
    inner: R,
    sent: u64,
    total: Option<u64>,
    started: Instant,
    pace: Throttle,
    log: &'a ActionLog,
    rid: &'a str,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sent += n as u64;
        if n > 0 && self.pace.due(false) {
            self.log.progress(
                self.rid,
                progress_line(self.sent, self.total, self.started.elapsed()),
            );
        }
        Ok(n)
    }
}

/// Runs `btrfs send` into the target's receive; returns the bytes sent, the time taken and the
/// target's stdout.
pub fn stream(
    tool: &Tool,
    send: &[String],
    target: &dyn Transport,
    args: &[String],
    total: Option<u64>,
) -> Result<(u64, Duration, Vec<u8>)> {
    let (rid, log) = (tool.rid, tool.log);
    let mut cmd = Command::new(&send[0]);
    // Ends with this drpilot (spawned from the thread that waits for it below).
    crate::transport::end_with_parent(&mut cmd);
    let mut child = cmd
        .args(&send[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| tool.fail("cannot run btrfs send", e))?;
    let stderr = child.stderr.take();
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut e) = stderr {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let started = Instant::now();
    let out = child
        .stdout
        .take()
        .ok_or_else(|| eyre!("{rid}: btrfs send has no stdout"))?;
    // A 1 MiB pipe instead of 64 KiB: fewer wake-ups per byte relayed (best effort: the
    // system may cap it).
    let _ = rustix::pipe::fcntl_setpipe_size(&out, 1 << 20);
    let mut counting = Counting {
        inner: out,
        sent: 0,
        total,
        started,
        pace: Throttle::default(),
        log,
        rid,
    };
    let call = target.call(args, Some(&mut counting), None);
    let sent = counting.sent;
    let elapsed = started.elapsed();
    // Closing our end stops a send the target no longer reads.
    drop(counting);
    let delivered = matches!(&call, Ok(o) if o.success);
    if !delivered {
        let _ = child.kill();
    }
    let status = child.wait();
    let send_err = err_reader.join().unwrap_or_default();
    let send_why = send_err
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string());
    let out = call.wrap_err_with(|| format!("{rid}: streaming to {}", target.node()))?;
    if !out.success {
        let mut msg = format!(
            "{rid}: {} failed to receive after {sent} bytes: {}",
            target.node(),
            out.failure_reason()
        );
        if let Some(w) = send_why.filter(|w| !w.contains("Broken pipe")) {
            msg.push_str(&format!(" (btrfs send on {}: {w})", tool.node));
        }
        bail!("{msg}");
    }
    match status {
        Ok(s) if s.success() => {}
        other => log.warn(
            rid,
            &format!(
                "btrfs send exited badly ({}) after a stream {} verified complete",
                match other {
                    Ok(s) => send_why.unwrap_or_else(|| s.to_string()),
                    Err(e) => e.to_string(),
                },
                target.node()
            ),
        ),
    }
    log.progress(rid, progress_line(sent, Some(sent), elapsed));
    Ok((sent, elapsed, out.stdout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_say_when_the_total_is_unknown() {
        let s = Duration::from_secs(2);
        assert_eq!(
            progress_line(1000, Some(3000), s).to_string(),
            "progress bytes=1000/3000 rate=500 eta=4"
        );
        assert_eq!(
            progress_line(1000, None, s).to_string(),
            "progress bytes=1000/? rate=500"
        );
        // An estimate that was passed is no estimate any more.
        assert_eq!(
            progress_line(4000, Some(3000), s).to_string(),
            "progress bytes=4000/? rate=2000"
        );
        assert_eq!(
            progress_line(0, Some(10), Duration::ZERO).to_string(),
            "progress bytes=0/10 rate=0 eta=0"
        );
    }
}
