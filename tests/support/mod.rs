//! Test support: a lab in a temporary directory driven through the real binary, and waiting on
//! conditions with deadlines (never sleep-and-hope).

#![allow(dead_code)]

pub mod opensvc;

pub mod pty;

pub mod qemu;

pub mod sshd;

pub mod testbed;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The drpilot binary under test.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_drpilot"));
    c.env_remove("DRPILOT_ROOT")
        .env_remove("DRPILOT_NODENAME")
        .env("NO_COLOR", "1");
    c
}

/// Whether CI asked for every root testbed test to run (`DRPILOT_REQUIRE_TESTBED=1`).
pub fn testbed_required() -> bool {
    std::env::var("DRPILOT_REQUIRE_TESTBED").as_deref() == Ok("1")
}

/// Whether a root-only test can run here: says why it skips on stderr, and panics instead of
/// skipping under `DRPILOT_REQUIRE_TESTBED=1`. `tools` are the programs the test needs.
pub fn root_testbed_ready(test: &str, tools: &[&str]) -> bool {
    let why = if !rustix::process::geteuid().is_root() {
        Some("it needs root".to_string())
    } else {
        tools
            .iter()
            .find(|t| !on_path(t))
            .map(|t| format!("{t} is not installed"))
    };
    match why {
        None => true,
        Some(why) => {
            assert!(
                !testbed_required(),
                "DRPILOT_REQUIRE_TESTBED=1 but {test}: {why}"
            );
            eprintln!("skipping {test}: {why}");
            false
        }
    }
}

pub use drpilot::paths::on_path;

/// Waits until `cond` holds, failing the test with `what` past `limit`.
pub fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A lab created by `drpilot lab init` in a temporary directory, destroyed on drop (which also
/// kills the app processes it started).
pub struct TestLab {
    pub dir: PathBuf,
    _tmp: tempfile::TempDir,
}

/// What a command printed and how it exited.
pub struct Run {
    pub ok: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Self {
            ok: o.status.success(),
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts success, showing the output otherwise.
    pub fn expect_ok(self, what: &str) -> Self {
        assert!(
            self.ok,
            "{what} failed ({:?}):\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        assert!(
            !self.stderr.contains("panicked"),
            "{what} panicked:\n{}",
            self.stderr
        );
        self
    }

    /// Asserts failure without a panic.
    pub fn expect_err(self, what: &str) -> Self {
        assert!(
            !self.ok,
            "{what} should have failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        assert_ne!(self.code, Some(101), "{what} panicked:\n{}", self.stderr);
        assert!(
            !self.stderr.contains("panicked"),
            "{what} panicked:\n{}",
            self.stderr
        );
        self
    }
}

impl TestLab {
    /// Creates a fresh lab.
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("lab");
        Run::from(
            bin()
                .args(["lab", "init"])
                .arg(&dir)
                .output()
                .expect("run drpilot"),
        )
        .expect_ok("lab init");
        Self { dir, _tmp: tmp }
    }

    /// A lab whose service runs on deb1, replicated to deb2 and with its config pushed: where
    /// every runbook starts.
    pub fn replicated() -> Self {
        let lab = Self::new();
        lab.svc("deb1", &["start"]).expect_ok("start");
        wait_until(Duration::from_secs(20), "data on deb1", || {
            lab.lines("deb1").len() >= 2
        });
        lab.svc("deb1", &["syncfullsync", "--force"])
            .expect_ok("syncfullsync");
        lab.svc("deb1", &["syncdrp", "--force"])
            .expect_ok("syncdrp");
        lab
    }

    /// The root of a node.
    pub fn root(&self, node: &str) -> PathBuf {
        self.dir.join(node)
    }

    /// A command acting as `node`.
    pub fn node_cmd(&self, node: &str) -> Command {
        let mut c = bin();
        c.env("DRPILOT_ROOT", self.root(node))
            .env("DRPILOT_NODENAME", node);
        c
    }

    /// Runs `drpilot svc busybox ARGS` as `node`.
    pub fn svc(&self, node: &str, args: &[&str]) -> Run {
        self.node_cmd(node)
            .args(["svc", "busybox"])
            .args(args)
            .output()
            .expect("run drpilot")
            .into()
    }

    /// The status tree of busybox on `node`, as text.
    pub fn tree(&self, node: &str) -> String {
        self.svc(node, &["print", "status"])
            .expect_ok("print status")
            .stdout
    }

    /// The status of busybox on `node`, as JSON.
    pub fn status(&self, node: &str) -> serde_json::Value {
        let out = self
            .svc(node, &["print", "status", "--format", "json"])
            .expect_ok("print status --format json");
        serde_json::from_str(&out.stdout).expect("status JSON")
    }

    /// The app's data file on `node`.
    pub fn data_file(&self, node: &str) -> PathBuf {
        self.root(node).join("srv/busybox/data/date.log")
    }

    /// The lines of the data file on `node` (empty when missing).
    pub fn lines(&self, node: &str) -> Vec<String> {
        read_lines(&self.data_file(node))
    }

    /// The config file of busybox on `node`.
    pub fn config(&self, node: &str) -> PathBuf {
        self.root(node).join("etc/drpilot/busybox.env")
    }
}

/// The lines of a file, empty when it does not exist.
pub fn read_lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .map(|t| t.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

impl Drop for TestLab {
    fn drop(&mut self) {
        let _ = bin().args(["lab", "destroy"]).arg(&self.dir).output();
    }
}

/// The resource row of `rid` in a JSON status.
pub fn resource<'a>(st: &'a serde_json::Value, rid: &str) -> &'a serde_json::Value {
    st["resources"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["rid"] == rid))
        .unwrap_or_else(|| panic!("no {rid} in {st}"))
}

/// Asserts a text tree has the seed's shape: header, overall, avail, sync, hb.
pub fn assert_seed_shape(tree: &str, svc: &str) {
    let lines: Vec<&str> = tree.lines().collect();
    assert_eq!(lines.first().copied(), Some(svc), "tree:\n{tree}");
    assert!(
        lines[1].starts_with("overall                   "),
        "tree:\n{tree}"
    );
    assert!(
        lines[2].starts_with("|- avail                  "),
        "tree:\n{tree}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("|- sync                   ")),
        "tree:\n{tree}"
    );
    assert!(
        lines
            .last()
            .is_some_and(|l| l.starts_with("'- hb                     ")),
        "tree:\n{tree}"
    );
    for l in &lines[3..] {
        assert!(
            l.starts_with("|  ")
                || l.starts_with("|- ")
                || l.starts_with("'- ")
                || l.starts_with("   "),
            "odd line {l:?} in:\n{tree}"
        );
    }
}

/// The run journals under a state directory, oldest first by their first record's time (run ids
/// can share their second).
pub fn journals(state: &Path) -> Vec<PathBuf> {
    let dir = state.join("drpilot/runs");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .collect()
        })
        .unwrap_or_default();
    v.sort_by_key(|p| {
        let text = std::fs::read_to_string(p).unwrap_or_default();
        let first: serde_json::Value = text
            .lines()
            .next()
            .and_then(|l| serde_json::from_str(l).ok())
            .unwrap_or_default();
        first["ts"].as_str().unwrap_or_default().to_string()
    });
    v
}

/// The console on `lab` with its runbook state in `state` (a seat of its own), crashing after
/// step `crash` when given (`DRPILOT_CRASH_AFTER`), once both trees show.
pub fn lab_console(lab: &TestLab, state: &Path, crash: Option<&str>) -> pty::PtyApp {
    let nodes = lab.dir.join("nodes.toml").to_string_lossy().into_owned();
    let state = state.to_string_lossy().into_owned();
    let mut env = vec![("XDG_STATE_HOME", state.as_str())];
    if let Some(c) = crash {
        env.push(("DRPILOT_CRASH_AFTER", c));
    }
    let app = pty::PtyApp::spawn_with_env(&["console", "--nodes", &nodes], &lab.dir, &env);
    app.wait_screen(Duration::from_secs(30), "both trees", |s| {
        s.contains("deb1 · production") && s.matches("|- avail").count() == 2
    });
    app
}

/// Starts a rehearsal in the console and passes its first two gates: cut access confirmed, the
/// stop on production typed (the lab's service, busybox).
pub fn rehearse_past_the_stop_gate(app: &mut pty::PtyApp) {
    let t = Duration::from_secs(30);
    app.send(":rehearse\r");
    app.wait_screen(t, "the cut access gate", |s| {
        s.contains("runbook step cut_access")
    });
    app.send("\x1b[C\r");
    app.wait_screen(t, "the stop gate", |s| {
        s.contains("runbook step stop_production")
    });
    app.send("busybox\r");
}

/// Asserts that `parts` occur in `text` in this order (other text may come between).
pub fn assert_order(text: &str, parts: &[&str]) {
    let mut at = 0;
    for p in parts {
        let found = text[at..]
            .find(p)
            .unwrap_or_else(|| panic!("{p:?} missing (or out of order) in:\n{text}"));
        at += found + p.len();
    }
}

/// The report a runbook's output names (`run ID: succeeded; report PATH`), read.
pub fn report_named_in(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.split("report ").nth(1))
        .map(|p| std::fs::read_to_string(p.trim()).expect("report"))
        .unwrap_or_else(|| panic!("no report path in:\n{stdout}"))
}
