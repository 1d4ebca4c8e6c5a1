//! A runbook seat killed in the middle of a sync, on the lab: its node commands end with it (no
//! sync left holding the service lock), and a resumed run waits for a sync still running instead
//! of failing on the lock.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{bin, wait_until, Run, TestLab};

const T: Duration = Duration::from_secs(60);

/// The size of the file that makes the dir sync long enough to be caught in the middle.
const BIG: u64 = 512 << 20;

struct Drp {
    lab: TestLab,
    state: tempfile::TempDir,
}

impl Drp {
    fn ready() -> Self {
        Self {
            lab: TestLab::replicated(),
            state: tempfile::tempdir().unwrap(),
        }
    }

    fn rehearse(&self) -> std::process::Command {
        let nodes = self.lab.dir.join("nodes.toml");
        let mut c = bin();
        c.args([
            "drp",
            "rehearse",
            "busybox",
            "--yes",
            "--nodes",
            nodes.to_str().unwrap(),
        ])
        .env("XDG_STATE_HOME", self.state.path());
        c
    }

    /// Starts a rehearsal whose stdout lines arrive on the returned channel and are kept.
    fn spawn_rehearse(&self) -> (Child, mpsc::Receiver<String>, Arc<Mutex<String>>) {
        let mut child = self
            .rehearse()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let all = Arc::new(Mutex::new(String::new()));
        let keep = all.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                keep.lock().unwrap().push_str(&format!("{line}\n"));
                let _ = tx.send(line);
            }
        });
        (child, rx, all)
    }

    fn running_on(&self) -> Vec<&'static str> {
        ["deb1", "deb2"]
            .into_iter()
            .filter(|n| matches!(self.lab.status(n)["avail"].as_str(), Some("up" | "warn")))
            .collect()
    }

    fn lock_file(&self, node: &str) -> PathBuf {
        drpilot::paths::NodeEnv::new(self.lab.root(node), node)
            .state_dir("busybox")
            .join("lock")
    }
}

/// Processes (not zombies) run as the lab node rooted at `root` whose arguments hold `words`.
fn node_processes(root: &Path, words: &[&str]) -> Vec<i32> {
    let want_env = format!("DRPILOT_ROOT={}", root.display());
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let read = |what: &str| std::fs::read(format!("/proc/{pid}/{what}")).unwrap_or_default();
        let split = |b: Vec<u8>| -> Vec<String> {
            b.split(|c| *c == 0)
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        };
        let args = split(read("cmdline"));
        if !words.iter().all(|w| args.iter().any(|a| a == w)) {
            continue;
        }
        if split(read("environ")).contains(&want_env) && alive(pid) {
            found.push(pid);
        }
    }
    found
}

/// The process exists and is not a zombie waiting to be reaped.
fn alive(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
    !matches!(state.and_then(|s| s.chars().next()), Some('Z' | 'X') | None)
}

/// Whether the flock of `path` can be taken now (then released at once).
fn lock_is_free(path: &Path) -> bool {
    use std::os::fd::AsRawFd;
    let Ok(f) = std::fs::OpenOptions::new().read(true).open(path) else {
        return true;
    };
    // SAFETY: flock on a descriptor we own; closing it releases the lock.
    unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) on a pid this test found; a gone pid is harmless.
    unsafe {
        libc::kill(pid, sig);
    }
}

/// Kills what a failing test would leave behind.
struct Reaper(Vec<i32>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for pid in &self.0 {
            signal(*pid, libc::SIGKILL);
        }
    }
}

/// Waits for `child` within `limit`; kills it past that.
fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the run did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_runbooks_node_commands_end_with_it() {
    let d = Drp::ready();
    let big = d.lab.data_file("deb1").with_file_name("big.bin");
    std::fs::File::create(&big).unwrap().set_len(BIG).unwrap();
    let (deb1, deb2) = (d.lab.root("deb1"), d.lab.root("deb2"));

    let (mut drp, _lines, out) = d.spawn_rehearse();
    let mut reaper = Reaper(vec![drp.id() as i32]);
    // The receiving end of the sync, frozen as soon as it shows up: the sync cannot end before
    // the seat is killed.
    let mut receiver = Vec::new();
    wait_until(T, "the dir sync to deb2 to be running", || {
        receiver = node_processes(&deb2, &["peer", "dir-receive"]);
        receiver.iter().for_each(|p| signal(*p, libc::SIGSTOP));
        !receiver.is_empty()
    });
    reaper.0.extend(&receiver);
    let sync = node_processes(&deb1, &["svc", "busybox", "syncupdate"]);
    reaper.0.extend(&sync);
    assert_eq!(
        sync.len(),
        1,
        "one syncupdate on deb1:\n{}",
        out.lock().unwrap()
    );
    assert!(
        !lock_is_free(&d.lock_file("deb1")),
        "the sync holds the lock of deb1"
    );

    drp.kill().unwrap();
    drp.wait().unwrap();
    // A process whose memory is gone (no command line in /proc any more) may still be closing
    // its files: the lock is waited for too, with the same deadline.
    wait_until(
        Duration::from_secs(20),
        "the sync of the dead seat to end and the lock of deb1 to be free",
        || {
            node_processes(&deb1, &["syncupdate"]).is_empty()
                && node_processes(&deb2, &["dir-receive"]).is_empty()
                && lock_is_free(&d.lock_file("deb1"))
        },
    );

    let again: Run = d.rehearse().output().unwrap().into();
    let again = again.expect_ok("the resumed run");
    assert!(
        again.stdout.contains("resuming unfinished run"),
        "{}",
        again.stdout
    );
    assert_eq!(d.running_on(), vec!["deb2"]);
    let copied = d.lab.data_file("deb2").with_file_name("big.bin");
    assert_eq!(std::fs::metadata(copied).unwrap().len(), BIG);
    d.lab.svc("deb2", &["stop"]).expect_ok("stop deb2");
}

#[test]
fn a_resumed_sync_waits_for_the_sync_a_dead_seat_left_running() {
    let d = Drp::ready();
    // A seat dead right before its sync, whose sync still runs (as over ssh, where the remote
    // command outlives the seat): here the test holds the lock the way that sync would.
    let out: Run = d
        .rehearse()
        .env("DRPILOT_CRASH_AFTER", "cut_access")
        .output()
        .unwrap()
        .into();
    assert_eq!(out.code, None, "the seat dies by SIGKILL: {}", out.stdout);
    let env = drpilot::paths::NodeEnv::new(d.lab.root("deb1"), "deb1");
    let held =
        drpilot::agent::lock::acquire(&env, "busybox", "syncupdate", Duration::ZERO).unwrap();

    let (mut drp, lines, all) = d.spawn_rehearse();
    let _reaper = Reaper(vec![drp.id() as i32]);
    let deadline = Instant::now() + T;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(l) if l.contains("waiting") && l.contains("for the lock held by pid") => break,
            Ok(_) => {}
            Err(_) => panic!(
                "the resumed sync never waited for the lock:\n{}",
                all.lock().unwrap()
            ),
        }
    }
    drop(held);
    let st = wait_exit(&mut drp, Duration::from_secs(120));
    let text = all.lock().unwrap().clone();
    assert!(st.success(), "the resumed run failed:\n{text}");
    assert!(text.contains("resuming unfinished run"), "{text}");
    assert!(text.contains("syncupdate: done"), "{text}");
    assert_eq!(d.running_on(), vec!["deb2"]);
    d.lab.svc("deb2", &["stop"]).expect_ok("stop deb2");
}
