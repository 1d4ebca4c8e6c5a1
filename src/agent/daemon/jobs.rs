//! Running one scheduled job: `drpilot svc SVC VERB --format json` as a child process (the same
//! runner as an operator's command, which takes the service lock), with retries and backoff.
//! A busy service lock is a skip, not a failure. On shutdown a running child is given the grace
//! period to finish, then a SIGTERM, then a SIGKILL: the lock it holds dies with it.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};

use super::config::Retry;
use crate::lock;
use crate::paths::NodeEnv;

/// How long a child stopped with SIGTERM is given before SIGKILL.
const TERM_WAIT: Duration = Duration::from_secs(10);

/// What came of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It ran and succeeded.
    Done,
    /// It did not run, for this reason (the service lock held, ...): tried again later.
    Skipped(String),
    /// It ran and failed after its retries, for this reason.
    Failed(String),
}

/// The pieces of one job run.
pub struct Job<'a> {
    /// The node.
    pub env: &'a NodeEnv,
    /// The service.
    pub svc: &'a str,
    /// The verb and its flags after `drpilot svc SVC`.
    pub verb: Vec<String>,
    /// Its retries.
    pub retry: Retry,
    /// Set when the daemon is asked to stop.
    pub stop: &'a AtomicBool,
    /// How long a running action may go on once `stop` is set.
    pub grace: Duration,
    /// Told each line the daemon has to say about the job (to the action log).
    pub say: &'a dyn Fn(&str),
}

impl Job<'_> {
    /// Runs the job, retrying a failure with backoff (not after a stop request); with the
    /// number of tries made.
    pub fn run(&self) -> (Outcome, u32) {
        let mut last = Outcome::Failed("not tried".into());
        let mut made = 0;
        for n in 0..self.retry.tries.max(1) {
            if n > 0 {
                let wait = self.retry.wait_before(n);
                if let Outcome::Failed(why) = &last {
                    (self.say)(&format!(
                        "{} failed (try {n} of {}): {why}; next try in {}s",
                        self.verb_text(),
                        self.retry.tries,
                        wait.as_secs()
                    ));
                }
                if sleep_unless(self.stop, wait) {
                    return (last, made);
                }
            }
            last = self.try_once();
            made += 1;
            if !matches!(last, Outcome::Failed(_)) {
                return (last, made);
            }
        }
        (last, made)
    }

    fn verb_text(&self) -> String {
        self.verb.join(" ")
    }

    fn try_once(&self) -> Outcome {
        // Never overlap an action: a held lock makes the job wait for the next tick.
        match lock::acquire(self.env, self.svc, "daemon", Duration::ZERO) {
            Ok(held) => drop(held),
            Err(e) => return Outcome::Skipped(format!("{e:#}")),
        }
        let exe = match std::env::current_exe() {
            Ok(p) => p,
            Err(e) => return Outcome::Failed(format!("cannot find the drpilot binary: {e}")),
        };
        let mut cmd = Command::new(exe);
        cmd.arg("svc")
            .arg(self.svc)
            .args(&self.verb)
            .args(["--format", "json"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // Its own process group: a Ctrl-C meant for the daemon does not cut the action short.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => return Outcome::Failed(format!("cannot run drpilot: {e}")),
        };
        let stderr = child.stderr.take().map(|mut s| {
            std::thread::spawn(move || {
                let mut t = String::new();
                let _ = s.read_to_string(&mut t);
                t
            })
        });
        let status = self.wait(&mut child);
        let err_text = stderr
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
            .trim()
            .to_string();
        // The runner's words when this node's lock is held (a peer's refusal is a failure).
        let local_busy = format!(
            "{}: {} refused: already running",
            self.svc,
            self.verb.first().map_or("", String::as_str)
        );
        match status {
            Some(s) if s.success() => Outcome::Done,
            // Another action took the lock between our look and the child's.
            _ if err_text.contains(&local_busy) => Outcome::Skipped(err_text),
            Some(s) => Outcome::Failed(if err_text.is_empty() {
                format!("exited with {s}")
            } else {
                err_text
            }),
            None => Outcome::Failed(format!(
                "stopped by the daemon's shutdown after the {}s grace period",
                self.grace.as_secs()
            )),
        }
    }

    /// Waits for the child; once a stop is asked, for at most the grace period, then stops it
    /// (`None`).
    fn wait(&self, child: &mut Child) -> Option<std::process::ExitStatus> {
        let mut deadline: Option<Instant> = None;
        loop {
            match child.try_wait() {
                Ok(Some(s)) => return Some(s),
                Ok(None) => {}
                Err(_) => break,
            }
            if deadline.is_none() && self.stop.load(Ordering::SeqCst) {
                (self.say)(&format!(
                    "stopping: waiting up to {}s for {} to finish",
                    self.grace.as_secs(),
                    self.verb_text()
                ));
                deadline = Some(Instant::now() + self.grace);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        (self.say)(&format!(
            "{} did not finish within the grace period: stopping it (SIGTERM)",
            self.verb_text()
        ));
        if let Some(pid) = i32::try_from(child.id()).ok().and_then(Pid::from_raw) {
            let _ = kill_process(pid, Signal::TERM);
        }
        let end = Instant::now() + TERM_WAIT;
        while Instant::now() < end {
            if let Ok(Some(_)) = child.try_wait() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }
}

/// Sleeps `d` unless `stop` is set meanwhile; returns whether it was.
pub fn sleep_unless(stop: &AtomicBool, d: Duration) -> bool {
    let end = Instant::now() + d;
    while Instant::now() < end {
        if stop.load(Ordering::SeqCst) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100).min(end - Instant::now()));
    }
    stop.load(Ordering::SeqCst)
}
