//! Running a child process with a stdin stream, captured output and a deadline. Shared by the
//! transports and by drivers that run external commands. Every child ends with the drpilot that
//! waits for it, and a deadline kills its whole process group (see `parent_death`).

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr};

use super::parent_death::{end_with_parent, kill_tree};

/// What a finished child left: its exit and everything it printed.
#[derive(Debug, Clone, Default)]
pub struct CallOutput {
    /// Exited with status 0.
    pub success: bool,
    /// Exit code, `None` when killed by a signal (or by the deadline).
    pub code: Option<i32>,
    /// Standard output, raw.
    pub stdout: Vec<u8>,
    /// Standard error, lossily decoded.
    pub stderr: String,
    /// The deadline expired and the child was killed.
    pub timed_out: bool,
}

impl CallOutput {
    /// The answer of a command that was not run: exit 1 with `why` on stderr (a command line
    /// answered on the seat, as the OpenSVC adapter does).
    pub fn refusal(why: impl Into<String>) -> Self {
        let mut stderr = why.into();
        if !stderr.ends_with('\n') {
            stderr.push('\n');
        }
        Self {
            code: Some(1),
            stderr,
            ..Self::default()
        }
    }

    /// Standard output, lossily decoded.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// The most useful one-line reason for a failure: the last non-empty stderr line, else the
    /// exit status.
    pub fn failure_reason(&self) -> String {
        if self.timed_out {
            return "timed out".to_string();
        }
        let last = self
            .stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| l.trim().to_string());
        match (last, self.code) {
            (Some(l), _) => l,
            (None, Some(c)) => format!("exit status {c}"),
            (None, None) => "killed by a signal".to_string(),
        }
    }
}

/// Spawns `cmd` with piped stdout and stderr (and stdin when `with_stdin`), ending with this
/// process ([`end_with_parent`]: called from the thread that then waits for the child); returns
/// the child and the program's name for messages.
fn spawn_piped(cmd: &mut Command, with_stdin: bool) -> Result<(std::process::Child, String)> {
    let program = format!("{:?}", cmd.get_program());
    end_with_parent(cmd);
    cmd.stdin(if with_stdin {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let child = cmd
        .spawn()
        .wrap_err_with(|| format!("cannot run {program}"))?;
    Ok((child, program))
}

/// Copies with a large buffer: `std::io::copy` moves 8 KiB at a time from a generic reader,
/// which costs a replication stream a tenth of its throughput (measured on btrfs receive).
fn copy_large(src: &mut (dyn Read + Send), sink: &mut impl Write) -> std::io::Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        sink.write_all(&buf[..n])?;
    }
}

/// Reads a child's stderr to the end on its own thread (a full pipe would block the child).
fn read_stderr(stderr: Option<std::process::ChildStderr>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut s) = stderr {
            let _ = s.read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Spawns `cmd`, streams `input` into its stdin, collects stdout and stderr, and kills it when
/// `timeout` expires.
pub fn run_child(
    cmd: Command,
    input: Option<&mut (dyn Read + Send)>,
    timeout: Option<Duration>,
) -> Result<CallOutput> {
    let started = std::time::Instant::now();
    let result = run_child_inner(cmd, input, timeout);
    super::child_time::account(started.elapsed());
    result
}

fn run_child_inner(
    mut cmd: Command,
    input: Option<&mut (dyn Read + Send)>,
    timeout: Option<Duration>,
) -> Result<CallOutput> {
    let (mut child, program) = spawn_piped(&mut cmd, input.is_some())?;
    let pid = child.id();
    let stdin = child.stdin.take();
    let mut stdout = child.stdout.take();
    let stderr = child.stderr.take();

    std::thread::scope(|scope| -> Result<CallOutput> {
        let feeder = scope.spawn(move || -> std::io::Result<()> {
            if let (Some(mut sink), Some(src)) = (stdin, input) {
                // A child that exits early closes the pipe: that is its answer, not our error.
                match copy_large(src, &mut sink) {
                    Ok(()) => sink.flush(),
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                    Err(e) => Err(e),
                }
            } else {
                Ok(())
            }
        });
        let out_reader = scope.spawn(move || {
            let mut buf = Vec::new();
            if let Some(s) = stdout.as_mut() {
                let _ = s.read_to_end(&mut buf);
            }
            buf
        });
        let err_reader = read_stderr(stderr);
        let (tx, rx) = mpsc::channel();
        let waiter = scope.spawn(move || {
            let status = child.wait();
            let _ = tx.send(());
            status
        });
        let mut timed_out = false;
        if let Some(limit) = timeout {
            if rx.recv_timeout(limit).is_err() {
                timed_out = true;
                kill_tree(pid);
            }
        }
        let status = waiter
            .join()
            .map_err(|_| color_eyre::eyre::eyre!("waiting for {program} failed"))?
            .wrap_err_with(|| format!("waiting for {program}"))?;
        let fed = feeder
            .join()
            .map_err(|_| color_eyre::eyre::eyre!("feeding {program} failed"))?;
        let stdout = out_reader.join().unwrap_or_default();
        let stderr = err_reader.join().unwrap_or_default();
        let out = CallOutput {
            success: status.success() && !timed_out,
            code: status.code(),
            stdout,
            stderr,
            timed_out,
        };
        if let Err(e) = fed {
            if out.success {
                return Err(e).wrap_err_with(|| format!("streaming input to {program}"));
            }
        }
        Ok(out)
    })
}

/// Like [`run_child`] without input, handing each stdout line to `on_line` as it comes (live
/// progress); the returned output keeps stdout too.
pub fn run_child_lines(
    cmd: Command,
    on_line: &mut dyn FnMut(&str),
    timeout: Option<Duration>,
) -> Result<CallOutput> {
    let started = std::time::Instant::now();
    let result = run_child_lines_inner(cmd, on_line, timeout);
    super::child_time::account(started.elapsed());
    result
}

fn run_child_lines_inner(
    mut cmd: Command,
    on_line: &mut dyn FnMut(&str),
    timeout: Option<Duration>,
) -> Result<CallOutput> {
    use std::io::BufRead;
    let (mut child, program) = spawn_piped(&mut cmd, false)?;
    let pid = child.id();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let timed_out = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = timed_out.clone();
    let watchdog = std::thread::spawn(move || {
        if let Some(limit) = timeout {
            if let Err(mpsc::RecvTimeoutError::Timeout) = done_rx.recv_timeout(limit) {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                kill_tree(pid);
            }
        }
    });
    let err_reader = read_stderr(stderr);
    let mut all = Vec::new();
    if let Some(out) = stdout {
        for line in std::io::BufReader::new(out).lines() {
            let line = line.unwrap_or_default();
            on_line(&line);
            all.extend_from_slice(line.as_bytes());
            all.push(b'\n');
        }
    }
    let status = child
        .wait()
        .wrap_err_with(|| format!("waiting for {program}"))?;
    drop(done_tx);
    let _ = watchdog.join();
    let stderr = err_reader.join().unwrap_or_default();
    let timed_out = timed_out.load(std::sync::atomic::Ordering::SeqCst);
    Ok(CallOutput {
        success: status.success() && !timed_out,
        code: status.code(),
        stdout: all,
        stderr,
        timed_out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_output_and_feeds_input() {
        let mut input: &[u8] = b"hello\n";
        let out = run_child(Command::new("cat"), Some(&mut input), None).unwrap();
        assert!(out.success);
        assert_eq!(out.stdout, b"hello\n");
    }

    #[test]
    fn lines_arrive_as_they_are_written() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo one; echo two; echo oops >&2"]);
        let mut seen = Vec::new();
        let out = run_child_lines(
            cmd,
            &mut |l| seen.push(l.to_string()),
            Some(Duration::from_secs(5)),
        )
        .unwrap();
        assert_eq!(seen, vec!["one", "two"]);
        assert!(out.success);
        assert_eq!(out.stderr.trim(), "oops");
    }

    #[test]
    fn deadline_kills_the_child() {
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let out = run_child(cmd, None, Some(Duration::from_millis(100))).unwrap();
        assert!(out.timed_out);
        assert!(!out.success);
        assert_eq!(out.failure_reason(), "timed out");
    }

    #[test]
    fn failure_reason_is_last_stderr_line() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo first >&2; echo 'the reason' >&2; exit 3"]);
        let out = run_child(cmd, None, None).unwrap();
        assert_eq!(out.code, Some(3));
        assert_eq!(out.failure_reason(), "the reason");
    }

    /// The pid a shell printed for its background grandchild.
    fn grandchild(out: &CallOutput) -> i32 {
        out.stdout_text()
            .trim()
            .parse()
            .expect("the shell printed a pid")
    }

    /// The process is gone or a zombie.
    fn ended(pid: i32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        }
    }

    /// Runs `f` on a thread and gives its result, failing past `limit`.
    fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(limit)
            .expect("the call returned within its deadline")
    }

    #[test]
    fn a_timed_out_child_ends_with_its_whole_tree() {
        let script = "sleep 300 & echo $!; wait";
        let out = within(Duration::from_secs(20), move || {
            let mut cmd = Command::new("sh");
            cmd.args(["-c", script]);
            run_child(cmd, None, Some(Duration::from_millis(300))).unwrap()
        });
        assert!(out.timed_out);
        let pid = grandchild(&out);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !ended(pid) {
            assert!(std::time::Instant::now() < deadline, "sleep {pid} survived");
            std::thread::sleep(Duration::from_millis(20));
        }

        let out = within(Duration::from_secs(20), move || {
            let mut cmd = Command::new("sh");
            cmd.args(["-c", script]);
            run_child_lines(cmd, &mut |_| {}, Some(Duration::from_millis(300))).unwrap()
        });
        assert!(out.timed_out);
        let pid = grandchild(&out);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !ended(pid) {
            assert!(std::time::Instant::now() < deadline, "sleep {pid} survived");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
