//! The DRP runbook without the console, on the lab: rehearsal then failback with no line lost,
//! the report's RTO/RPO and journal chain, a disaster with production unreachable, a crash right
//! after a destructive step resumed safely, gates refusing wrong answers, one run at a time.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use support::{bin, resource, wait_until, Run, TestLab};

const T: Duration = Duration::from_secs(20);

struct Drp {
    lab: TestLab,
    state: tempfile::TempDir,
}

impl Drp {
    /// A lab whose service runs on deb1, replicated and with its config pushed.
    fn ready() -> Self {
        let lab = TestLab::replicated();
        Self {
            lab,
            state: tempfile::tempdir().unwrap(),
        }
    }

    fn cmd(&self, args: &[&str]) -> std::process::Command {
        let mut c = bin();
        c.args(args).env("XDG_STATE_HOME", self.state.path());
        c
    }

    fn drp(&self, which: &str, extra: &[&str]) -> Run {
        let nodes = self.lab.dir.join("nodes.toml");
        let mut c = self.cmd(&["drp", which, "busybox", "--nodes", nodes.to_str().unwrap()]);
        c.args(extra);
        c.output().unwrap().into()
    }

    fn runs(&self) -> PathBuf {
        self.state.path().join("drpilot/runs")
    }

    fn journals(&self) -> Vec<PathBuf> {
        support::journals(self.state.path())
    }

    fn report(&self, journal: &Path) -> serde_json::Value {
        let run = journal.file_stem().unwrap().to_str().unwrap();
        let out: Run = self
            .cmd(&["report", run, "--format", "json"])
            .output()
            .unwrap()
            .into();
        serde_json::from_str(&out.expect_ok("report").stdout).unwrap()
    }

    fn running_on(&self) -> Vec<&'static str> {
        ["deb1", "deb2"]
            .into_iter()
            .filter(|n| matches!(self.lab.status(n)["avail"].as_str(), Some("up" | "warn")))
            .collect()
    }
}

#[test]
fn rehearsal_then_failback_loses_no_line_and_reports_rto_and_rpo() {
    let d = Drp::ready();
    let out = d.drp("rehearse", &["--yes"]).expect_ok("drp rehearse");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains("sync#1") && l.contains("100%") && l.contains("ETA")),
        "no progress bar:\n{}",
        out.stdout
    );
    let on_prod = d.lab.lines("deb1");
    assert_eq!(d.running_on(), vec!["deb2"]);
    wait_until(T, "the app writing on deb2", || {
        d.lab.lines("deb2").len() > on_prod.len() + 1
    });
    assert_eq!(
        d.lab.lines("deb2")[..on_prod.len()],
        on_prod[..],
        "a line of deb1 is missing on deb2"
    );

    let journal = d.journals().pop().expect("a journal");
    let rep = d.report(&journal);
    assert_eq!(rep["outcome"], "succeeded");
    assert_eq!(rep["rpo_s"], 0);
    assert!(rep["rto_s"].as_f64().unwrap() > 0.0, "{rep}");
    assert!(rep["downtime_s"].as_f64().unwrap() >= rep["rto_s"].as_f64().unwrap());
    let records =
        drpilot::runbook::journal::read_verified(&journal).expect("the hash chain verifies");
    assert_eq!(rep["journal_hash"], records.last().unwrap().hash.as_str());
    for ext in ["md", "html", "json"] {
        assert!(journal.with_extension(ext).exists(), "no .{ext} report");
    }
    let html = std::fs::read_to_string(journal.with_extension("html")).unwrap();
    assert!(html.contains("<svg class=\"timeline\""));

    d.drp("failback", &["--yes"]).expect_ok("drp failback");
    assert_eq!(d.running_on(), vec!["deb1"]);
    let on_drp = d.lab.lines("deb2");
    wait_until(T, "the app writing on deb1 again", || {
        d.lab.lines("deb1").len() > on_drp.len()
    });
    assert_eq!(
        d.lab.lines("deb1")[..on_drp.len()],
        on_drp[..],
        "a line of deb2 is missing on deb1"
    );
    d.lab.svc("deb1", &["stop"]).expect_ok("stop");
}

#[test]
fn disaster_with_production_unreachable_reports_the_age_of_the_last_sync() {
    let d = Drp::ready();
    let last = d.lab.status("deb2")["syncs"][0]["last_sync"]
        .as_str()
        .unwrap()
        .to_string();
    d.lab
        .svc("deb1", &["stop"])
        .expect_ok("stop deb1 before losing it");
    // Production is lost: its root disappears, so its transport cannot reach it.
    let lost = d.lab.dir.join("deb1-lost");
    std::fs::rename(d.lab.root("deb1"), &lost).unwrap();
    let rehearse = d
        .drp("rehearse", &["--yes"])
        .expect_err("a rehearsal without production");
    assert!(
        rehearse.stdout.contains("unreachable"),
        "{}",
        rehearse.stdout
    );
    d.drp("disaster", &["--yes"]).expect_ok("drp disaster");
    let journal = d.journals().pop().unwrap();
    let rep = d.report(&journal);
    let last = chrono::DateTime::parse_from_rfc3339(&last).unwrap();
    let start_drp = rep["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "declare_disaster")
        .unwrap();
    let declared =
        chrono::DateTime::parse_from_rfc3339(start_drp["end"].as_str().unwrap()).unwrap();
    let expected = (declared - last).num_seconds();
    let rpo = rep["rpo_s"].as_i64().unwrap();
    assert!((rpo - expected).abs() <= 1, "rpo {rpo} vs {expected}");
    let skipped: Vec<&str> = rep["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["outcome"] == "skipped")
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        skipped,
        vec![
            "cut_access",
            "syncupdate",
            "stop_production",
            "verify_production_down"
        ]
    );
    assert_eq!(d.lab.status("deb2")["avail"], "up");
    std::fs::rename(&lost, d.lab.root("deb1")).unwrap();
    d.lab.svc("deb2", &["stop"]).expect_ok("stop deb2");
}

#[test]
fn a_run_killed_after_a_destructive_step_resumes_without_redoing_it() {
    for crash in ["stop_production", "start_drp"] {
        let d = Drp::ready();
        let out: Run = d
            .cmd(&[
                "drp",
                "rehearse",
                "busybox",
                "--yes",
                "--nodes",
                d.lab.dir.join("nodes.toml").to_str().unwrap(),
            ])
            .env("DRPILOT_CRASH_AFTER", crash)
            .output()
            .unwrap()
            .into();
        assert_eq!(
            out.code, None,
            "the run must die by SIGKILL after {crash}: {}",
            out.stdout
        );
        assert!(
            d.running_on().len() <= 1,
            "running on both nodes after a crash at {crash}"
        );
        let out = d.drp("rehearse", &["--yes"]).expect_ok("the resumed run");
        assert!(
            out.stdout.contains("resuming unfinished run"),
            "{}",
            out.stdout
        );
        assert!(
            !out.stdout.contains(&format!("[gate {crash} on ")),
            "{crash} was asked again:\n{}",
            out.stdout
        );
        assert_eq!(d.running_on(), vec!["deb2"]);
        let journal = d.journals().pop().unwrap();
        let recs = drpilot::runbook::journal::read_verified(&journal).unwrap();
        let started = recs
            .iter()
            .filter(|r| {
                r.kind == drpilot::protocol::journal::EntryKind::StepStarted
                    && r.step.as_deref() == Some(crash)
            })
            .count();
        assert_eq!(started, 1, "{crash} ran twice");
        assert_eq!(d.report(&journal)["outcome"], "succeeded");
        d.lab.svc("deb2", &["stop"]).expect_ok("stop deb2");
    }
}

#[test]
fn typed_gates_refuse_a_wrong_name_and_no_answer_never_advances() {
    let d = Drp::ready();
    let nodes = d.lab.dir.join("nodes.toml");
    for answers in ["y\nbusybo\n", "y\n", "n\n"] {
        let mut child = d
            .cmd(&[
                "drp",
                "rehearse",
                "busybox",
                "--nodes",
                nodes.to_str().unwrap(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answers.as_bytes())
            .unwrap();
        let out: Run = child.wait_with_output().unwrap().into();
        let out = out.expect_err("a refused gate");
        assert!(out.stdout.contains("run aborted at"), "{}", out.stdout);
        assert_eq!(d.running_on(), vec!["deb1"], "after answers {answers:?}");
        assert_eq!(resource(&d.lab.status("deb1"), "fs#1")["status"], "up");
    }
    d.lab.svc("deb1", &["stop"]).expect_ok("stop");
}

#[test]
fn a_failed_application_check_rolls_back_to_production() {
    let d = Drp::ready();
    for node in ["deb1", "deb2"] {
        let cfg = std::fs::read_to_string(d.lab.config(node)).unwrap();
        let cfg: String = cfg
            .lines()
            .map(|l| {
                if l.starts_with("drp_app_check") {
                    "drp_app_check = /bin/false".to_string()
                } else {
                    l.to_string()
                }
            })
            .map(|l| l + "\n")
            .collect();
        std::fs::write(d.lab.config(node), cfg).unwrap();
    }
    d.lab
        .svc("deb1", &["syncnodes"])
        .expect_ok("config records in sync again");
    let out = d
        .drp("rehearse", &["--yes"])
        .expect_err("a failing application check");
    assert!(
        out.stdout.contains("verify_drp_up failed"),
        "{}",
        out.stdout
    );
    assert_eq!(d.running_on(), vec!["deb1"], "rolled back to production");
    let rep = d.report(&d.journals().pop().unwrap());
    assert_eq!(rep["outcome"], "aborted");
    d.lab.svc("deb1", &["stop"]).expect_ok("stop");
}

#[test]
fn two_runs_of_the_same_service_cannot_run_at_once() {
    let d = Drp::ready();
    std::fs::create_dir_all(d.runs()).unwrap();
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(d.runs().join("busybox.lock"))
        .unwrap();
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor we own.
    assert_eq!(
        unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
        0
    );
    let out = d.drp("rehearse", &["--yes"]).expect_err("a second run");
    assert!(out.stderr.contains("already running"), "{}", out.stderr);
    assert_eq!(d.running_on(), vec!["deb1"]);
    d.lab.svc("deb1", &["stop"]).expect_ok("stop");
}

/// The bytes that start an escape sequence (ESC) or end a title (BEL).
fn has_escape_bytes(bytes: &[u8]) -> bool {
    bytes.iter().any(|b| matches!(b, 0x1b | 0x07))
}

#[test]
fn node_output_never_sends_control_characters_to_the_terminal() {
    let d = Drp::ready();
    // app#1 stops with a command that retitles the terminal (OSC 0) before saying what it does.
    let stop = r#"stop = /bin/sh -c "printf '\033]0;PWNED\007stopping the writer\n'""#;
    for node in ["deb1", "deb2"] {
        let cfg = std::fs::read_to_string(d.lab.config(node)).unwrap();
        let cfg = cfg.replace(
            "cwd = /opt/busybox\n",
            &format!("cwd = /opt/busybox\n{stop}\n"),
        );
        assert!(
            cfg.contains("PWNED"),
            "no app#1 cwd line to add the stop after"
        );
        std::fs::write(d.lab.config(node), cfg).unwrap();
    }
    d.lab
        .svc("deb1", &["syncnodes"])
        .expect_ok("config records in sync again");
    let nodes = d.lab.dir.join("nodes.toml");
    let out = d
        .cmd(&["drp", "rehearse", "busybox", "--yes", "--nodes"])
        .arg(&nodes)
        .output()
        .unwrap();
    let run = Run::from(out.clone()).expect_ok("drp rehearse");
    assert!(
        !has_escape_bytes(&out.stdout) && !has_escape_bytes(&out.stderr),
        "control characters reached the terminal:\n{:?}\n{:?}",
        run.stdout,
        run.stderr
    );
    assert!(
        run.stdout
            .lines()
            .any(|l| l.contains("deb1:") && l.contains("stopping the writer")),
        "the stop command's output is not relayed:\n{}",
        run.stdout
    );
    // The agent's own log of the stop, on the terminal of `svc stop` and in its file.
    let log = d
        .lab
        .root("deb1")
        .join("var/lib/drpilot/busybox/actions.log");
    let logged = std::fs::read(&log).unwrap();
    assert!(
        !has_escape_bytes(&logged),
        "{}",
        String::from_utf8_lossy(&logged)
    );
    assert!(String::from_utf8_lossy(&logged).contains("stopping the writer"));
    let stop = d
        .lab
        .node_cmd("deb2")
        .args(["svc", "busybox", "stop"])
        .output()
        .unwrap();
    assert!(
        stop.status.success(),
        "{}",
        String::from_utf8_lossy(&stop.stderr)
    );
    assert!(!has_escape_bytes(&stop.stdout) && !has_escape_bytes(&stop.stderr));
    assert!(String::from_utf8_lossy(&stop.stdout).contains("stopping the writer"));
}

#[test]
fn a_missing_nodes_file_is_an_error_naming_where_it_was_looked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let drp = |args: &[&str], config_home: &Path| -> Run {
        bin()
            .args(["drp", "rehearse", "busybox", "--yes"])
            .args(args)
            .env("XDG_STATE_HOME", &state)
            .env("XDG_CONFIG_HOME", config_home)
            .output()
            .unwrap()
            .into()
    };
    // An explicit --nodes that does not exist: its path, not an empty map.
    let missing = tmp.path().join("nope.toml");
    let out = drp(&["--nodes", missing.to_str().unwrap()], tmp.path()).expect_err("--nodes nope");
    assert!(
        out.stderr
            .contains(&format!("--nodes {}", missing.display()))
            && out.stderr.contains("does not exist"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("no node of the map"), "{}", out.stderr);
    assert!(!state.join("drpilot/runs").exists(), "nothing was started");
    // No --nodes and no default map: where it was looked for, and how to write one.
    let out = drp(&[], tmp.path()).expect_err("no default map");
    let default = tmp.path().join("drpilot/nodes.toml");
    assert!(
        out.stderr.contains(&default.display().to_string())
            && out.stderr.contains("[nodes]")
            && out.stderr.contains("deb1 = \"ssh://root@deb1")
            && out.stderr.contains("--nodes FILE"),
        "{}",
        out.stderr
    );
    // A map that lists no node, and one whose nodes do not know the service: never an empty
    // list after the colon.
    let empty = tmp.path().join("empty.toml");
    std::fs::write(&empty, "[nodes]\n").unwrap();
    let out = drp(&["--nodes", empty.to_str().unwrap()], tmp.path()).expect_err("empty map");
    let lab = TestLab::new();
    let nodes = lab.dir.join("nodes.toml");
    let unknown: Run = bin()
        .args(["drp", "rehearse", "nosuchsvc", "--yes", "--nodes"])
        .arg(&nodes)
        .env("XDG_STATE_HOME", &state)
        .output()
        .unwrap()
        .into();
    let unknown = unknown.expect_err("unknown service");
    for (what, stderr) in [
        ("empty map", &out.stderr),
        ("unknown service", &unknown.stderr),
    ] {
        let line = stderr
            .lines()
            .find(|l| l.contains("no node of the map knows service"))
            .unwrap_or_else(|| panic!("{what}: {stderr}"));
        assert!(
            !line.trim_end().ends_with(':'),
            "{what}: nothing after the colon: {line}"
        );
    }
    assert!(out.stderr.contains("lists no node"), "{}", out.stderr);
    assert!(
        unknown.stderr.contains("deb1") && unknown.stderr.contains("deb2"),
        "{}",
        unknown.stderr
    );
}
