//! Two seats on one lab (two `XDG_STATE_HOME`, two processes): the run's lease and journal live
//! on the nodes, so the second seat is refused while the first runs, takes over a seat killed
//! after any step and resumes it at that step; a torn journal resumes, another service's garbage
//! journal blocks nothing, an edited and re-hashed journal is caught; a stop after a change
//! offers retry, rollback or leave, and rollback brings production and user access back.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use drpilot::protocol::journal::{Record, GENESIS};
use support::{bin, resource, wait_until, Run, TestLab};

const T: Duration = Duration::from_secs(60);

const REHEARSAL: [&str; 7] = [
    "preflight",
    "cut_access",
    "syncupdate",
    "stop_production",
    "verify_production_down",
    "start_drp",
    "verify_drp_up",
];

/// One seat: its own runbook state directory.
struct Seat {
    state: tempfile::TempDir,
}

impl Seat {
    fn new() -> Self {
        Self {
            state: tempfile::tempdir().unwrap(),
        }
    }

    fn cmd(&self, lab: &TestLab, args: &[&str]) -> std::process::Command {
        let nodes = lab.dir.join("nodes.toml");
        let mut c = bin();
        c.args(args)
            .args(["--nodes", nodes.to_str().unwrap()])
            .env("XDG_STATE_HOME", self.state.path());
        c
    }

    fn drp(&self, lab: &TestLab, args: &[&str]) -> Run {
        let mut argv = vec!["drp"];
        argv.extend_from_slice(args);
        self.cmd(lab, &argv).output().unwrap().into()
    }

    fn journals(&self) -> Vec<PathBuf> {
        support::journals(self.state.path())
    }

    fn runs(&self) -> PathBuf {
        self.state.path().join("drpilot/runs")
    }
}

/// An interactive seat: its stdout lines kept and sent as they come, its stdin to answer.
struct Live {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    all: Arc<Mutex<String>>,
    reader: std::thread::JoinHandle<()>,
}

impl Live {
    fn spawn(mut cmd: std::process::Command) -> Self {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let stdin = child.stdin.take().unwrap();
        let (tx, lines) = mpsc::channel();
        let all = Arc::new(Mutex::new(String::new()));
        let keep = all.clone();
        let reader = std::thread::spawn(move || {
            // Prompts end without a newline: read by bytes so a prompt arrives at once.
            let mut r = BufReader::new(out);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match r.read_until(b' ', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let s = String::from_utf8_lossy(&buf).into_owned();
                        keep.lock().unwrap().push_str(&s);
                        let _ = tx.send(s);
                    }
                }
            }
        });
        Self {
            child,
            stdin,
            lines,
            all,
            reader,
        }
    }

    /// Waits until the output so far contains `text`.
    fn wait_for(&self, text: &str) {
        let deadline = std::time::Instant::now() + T;
        while !self.all.lock().unwrap().contains(text) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            assert!(
                !left.is_zero(),
                "no {text:?} in:\n{}",
                self.all.lock().unwrap()
            );
            let _ = self
                .lines
                .recv_timeout(left.min(Duration::from_millis(200)));
        }
    }

    fn answer(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
    }

    fn output(&self) -> String {
        self.all.lock().unwrap().clone()
    }

    fn wait(mut self) -> (std::process::ExitStatus, String) {
        drop(self.stdin);
        let st = self.child.wait().unwrap();
        // The reader thread ends with the pipe.
        self.reader.join().unwrap();
        let out = self.all.lock().unwrap().clone();
        (st, out)
    }
}

fn running_on(lab: &TestLab) -> Vec<&'static str> {
    ["deb1", "deb2"]
        .into_iter()
        .filter(|n| matches!(lab.status(n)["avail"].as_str(), Some("up" | "warn")))
        .collect()
}

fn run_id(journal: &Path) -> String {
    journal.file_stem().unwrap().to_str().unwrap().to_string()
}

#[test]
fn a_second_seat_is_refused_naming_the_holder_and_the_step() {
    let lab = TestLab::replicated();
    let (first, second) = (Seat::new(), Seat::new());
    let mut live = Live::spawn(first.cmd(&lab, &["drp", "rehearse", "busybox"]));
    live.wait_for("[gate cut_access on deb1]");
    let out = second
        .drp(&lab, &["rehearse", "busybox", "--yes"])
        .expect_err("a second seat while the first runs");
    let user = drpilot::action_log::local_user();
    let pid = live.child.id();
    assert!(
        out.stderr.contains(&format!("{user}@"))
            && out.stderr.contains(&format!("(pid {pid})"))
            && out.stderr.contains("step 2/7 cut_access")
            && out.stderr.contains("last renewed"),
        "the refusal must name the holder, the step and the renewal:\n{}",
        out.stderr
    );
    assert_eq!(
        running_on(&lab),
        vec!["deb1"],
        "the second seat did nothing"
    );
    live.answer("n");
    let (st, text) = live.wait();
    assert!(!st.success(), "{text}");
    // The lease went with the first seat's end: the second seat may run now.
    second
        .drp(&lab, &["rehearse", "busybox", "--yes"])
        .expect_ok("the second seat after the first ended");
    assert_eq!(running_on(&lab), vec!["deb2"]);
    lab.svc("deb2", &["stop"]).expect_ok("stop deb2");
}

#[test]
fn a_seat_killed_after_each_step_is_taken_over_and_resumed_by_another() {
    for crash in REHEARSAL {
        let lab = TestLab::replicated();
        let (first, second) = (Seat::new(), Seat::new());
        let out: Run = first
            .cmd(&lab, &["drp", "rehearse", "busybox", "--yes"])
            .env("DRPILOT_CRASH_AFTER", crash)
            .output()
            .unwrap()
            .into();
        assert_eq!(
            out.code, None,
            "the first seat must die after {crash}: {}",
            out.stdout
        );
        assert!(
            running_on(&lab).len() <= 1,
            "running on both nodes after {crash}"
        );
        let before = lab.lines("deb1");
        let run = run_id(&first.journals().pop().expect("the first seat's journal"));
        let out = second
            .drp(&lab, &["takeover", &run, "--yes"])
            .expect_ok(&format!("the takeover after {crash}"));
        assert!(
            out.stdout.contains("taken over"),
            "after {crash}:\n{}",
            out.stdout
        );
        assert!(
            !out.stdout.contains(&format!("[gate {crash} on ")),
            "{crash} was asked again:\n{}",
            out.stdout
        );
        assert_eq!(running_on(&lab), vec!["deb2"], "after {crash}");
        // Production is stopped now: its file holds every line it ever wrote.
        let on_prod = lab.lines("deb1");
        assert!(on_prod.len() >= before.len());
        let after = lab.lines("deb2");
        assert!(
            after.len() >= on_prod.len() && after[..on_prod.len()] == on_prod[..],
            "a line of the app's data file was lost after {crash}"
        );
        let journal = second.journals().pop().expect("the second seat's journal");
        let recs = drpilot::runbook::journal::read_verified(&journal).unwrap();
        let started = recs
            .iter()
            .filter(|r| r.kind == drpilot::protocol::journal::EntryKind::StepStarted)
            .filter(|r| r.step.as_deref() == Some(crash))
            .count();
        assert_eq!(started, 1, "{crash} ran twice");
        let resumed = recs
            .iter()
            .find(|r| r.kind == drpilot::protocol::journal::EntryKind::Resumed)
            .expect("a resumed record");
        assert_eq!(resumed.detail["takeover"], true);
        assert!(resumed.detail["seat"]["pid"].as_u64().is_some());
        lab.svc("deb2", &["stop"]).expect_ok("stop deb2");
    }
}

#[test]
fn a_torn_newline_resumes_and_a_garbage_journal_of_another_service_blocks_nothing() {
    let lab = TestLab::replicated();
    let seat = Seat::new();
    let out: Run = seat
        .cmd(&lab, &["drp", "rehearse", "busybox", "--yes"])
        .env("DRPILOT_CRASH_AFTER", "stop_production")
        .output()
        .unwrap()
        .into();
    assert_eq!(out.code, None, "{}", out.stdout);
    let journal = seat.journals().pop().unwrap();
    // The newline of the last record lost in the crash.
    let text = std::fs::read(&journal).unwrap();
    std::fs::write(&journal, &text[..text.len() - 1]).unwrap();
    std::fs::write(seat.runs().join("junk.jsonl"), "{not json\n\u{0}\n").unwrap();
    std::fs::write(
        seat.runs().join("other-20261201T000000Z-0000.jsonl"),
        "garbage\nmore garbage\n",
    )
    .unwrap();
    let out = seat
        .drp(&lab, &["rehearse", "busybox", "--yes"])
        .expect_ok("the resumed run");
    assert!(
        out.stdout.contains("resuming unfinished run"),
        "{}",
        out.stdout
    );
    assert_eq!(running_on(&lab), vec!["deb2"]);
    let recs = drpilot::runbook::journal::read_verified(&journal).expect("a readable journal");
    assert_eq!(
        recs.last().unwrap().kind,
        drpilot::protocol::journal::EntryKind::RunFinished
    );
    lab.svc("deb2", &["stop"]).expect_ok("stop deb2");
}

/// Rewrites a journal with record `at` edited and every hash from there recomputed: a chain that
/// verifies on its own.
fn forge(journal: &Path, at: usize) {
    let text = std::fs::read_to_string(journal).unwrap();
    let mut recs: Vec<Record> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    recs[at].detail["forged"] = serde_json::json!("by an operator covering a mistake");
    let mut prev = if at == 0 {
        GENESIS.to_string()
    } else {
        recs[at - 1].hash.clone()
    };
    for r in recs.iter_mut().skip(at) {
        r.prev = prev.clone();
        r.hash = r.digest(&prev);
        prev = r.hash.clone();
    }
    let out: String = recs
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    std::fs::write(journal, out).unwrap();
    drpilot::runbook::journal::read_verified(journal).expect("the forged chain verifies alone");
}

#[test]
fn a_journal_edited_and_rehashed_on_the_seat_is_caught_on_resume_and_by_report_verify() {
    let lab = TestLab::replicated();
    let seat = Seat::new();
    let out: Run = seat
        .cmd(&lab, &["drp", "rehearse", "busybox", "--yes"])
        .env("DRPILOT_CRASH_AFTER", "stop_production")
        .output()
        .unwrap()
        .into();
    assert_eq!(out.code, None, "{}", out.stdout);
    let journal = seat.journals().pop().unwrap();
    forge(&journal, 1);
    let out = seat
        .drp(&lab, &["rehearse", "busybox", "--yes"])
        .expect_err("a resume from an altered journal");
    assert!(out.stderr.contains("was altered"), "{}", out.stderr);
    assert!(running_on(&lab).is_empty(), "nothing was started from it");
    let run = run_id(&journal);
    let out: Run = seat
        .cmd(&lab, &["report", "--verify", &run])
        .output()
        .unwrap()
        .into();
    let out = out.expect_err("report --verify of an altered journal");
    assert!(
        out.stdout.contains("FAILED") && out.stdout.contains("deb1"),
        "{}",
        out.stdout
    );
    lab.svc("deb1", &["start"]).expect_ok("production back");
    lab.svc("deb1", &["stop"]).expect_ok("stop");
}

#[test]
fn a_cli_typo_after_cut_access_offers_three_ways_out_and_rollback_restores_access() {
    let lab = TestLab::replicated();
    let seat = Seat::new();
    let mut live = Live::spawn(seat.cmd(&lab, &["drp", "rehearse", "busybox"]));
    live.wait_for("[gate cut_access on deb1]");
    live.answer("y");
    live.wait_for("[gate stop_production on deb1]");
    assert_eq!(
        resource(&lab.status("deb1"), "app#1")["status"],
        "down",
        "user access is cut"
    );
    live.answer("busybo");
    live.wait_for("type busybox exactly");
    live.answer("");
    live.wait_for("your choice:");
    let menu = live.output();
    for choice in ["[r] retry", "[b] roll back", "[l] leave"] {
        assert!(menu.contains(choice), "no {choice:?} in:\n{menu}");
    }
    assert!(menu.contains("retry the step (default)"), "{menu}");
    assert!(menu.contains("user access is cut on deb1"), "{menu}");
    live.answer("b");
    let (st, text) = live.wait();
    assert!(!st.success(), "{text}");
    assert!(text.contains("rolled back"), "{text}");
    assert_eq!(running_on(&lab), vec!["deb1"]);
    assert_eq!(
        resource(&lab.status("deb1"), "app#1")["status"],
        "up",
        "user access restored:\n{text}"
    );
    let rep = drpilot::runbook::journal::read_verified(&seat.journals().pop().unwrap()).unwrap();
    let end = rep.last().unwrap();
    assert_eq!(end.kind, drpilot::protocol::journal::EntryKind::RunAborted);
    assert_eq!(end.detail["final"]["production"]["avail"], "up");
    lab.svc("deb1", &["stop"]).expect_ok("stop");
}

#[test]
fn retry_asks_the_gate_again_and_leave_says_how_the_nodes_are_left() {
    let lab = TestLab::replicated();
    let seat = Seat::new();
    let mut live = Live::spawn(seat.cmd(&lab, &["drp", "rehearse", "busybox"]));
    live.wait_for("[gate cut_access on deb1]");
    live.answer("y");
    live.wait_for("[gate stop_production on deb1]");
    live.answer("busybo");
    live.wait_for("type busybox exactly");
    live.answer("");
    live.wait_for("your choice:");
    // Enter is the default: retry, the gate comes again.
    live.answer("");
    wait_until(T, "the gate asked again", || {
        live.output()
            .matches("[gate stop_production on deb1]")
            .count()
            == 2
    });
    live.answer("");
    wait_until(T, "the second way-out menu", || {
        live.output().matches("your choice:").count() == 2
    });
    live.answer("l");
    let (st, text) = live.wait();
    assert!(!st.success(), "{text}");
    assert!(
        text.contains("left: busybox is")
            && text.contains("on deb1 (production)")
            && text.contains("user access is cut on deb1")
            && text.contains("restoreaccess"),
        "{text}"
    );
    assert_eq!(resource(&lab.status("deb1"), "app#1")["status"], "down");
    lab.svc("deb1", &["restoreaccess"])
        .expect_ok("restoreaccess");
    assert_eq!(resource(&lab.status("deb1"), "app#1")["status"], "up");
    lab.svc("deb1", &["stop"]).expect_ok("stop");
}

/// The node's copy of a run's journal.
fn node_journal(lab: &TestLab, node: &str, run: &str) -> PathBuf {
    lab.root(node)
        .join("var/lib/drpilot/busybox/runs")
        .join(format!("{run}.jsonl"))
}

#[test]
fn both_nodes_hold_the_journal_and_a_disasters_goes_back_to_production_at_failback() {
    let lab = TestLab::replicated();
    let seat = Seat::new();
    seat.drp(&lab, &["rehearse", "busybox", "--yes"])
        .expect_ok("rehearsal");
    let rehearsal = run_id(&seat.journals().pop().unwrap());
    let on_seat = std::fs::read_to_string(seat.runs().join(format!("{rehearsal}.jsonl"))).unwrap();
    for node in ["deb1", "deb2"] {
        assert_eq!(
            std::fs::read_to_string(node_journal(&lab, node, &rehearsal)).unwrap(),
            on_seat,
            "{node} holds the run's journal as the seat wrote it"
        );
    }
    seat.drp(&lab, &["failback", "busybox", "--yes"])
        .expect_ok("failback");
    lab.svc("deb1", &["stop"])
        .expect_ok("stop deb1 before losing it");
    let lost = lab.dir.join("deb1-lost");
    std::fs::rename(lab.root("deb1"), &lost).unwrap();
    // Another seat declares the disaster: the DRP node alone holds its journal.
    let other = Seat::new();
    other
        .drp(&lab, &["disaster", "busybox", "--yes"])
        .expect_ok("disaster");
    let disaster = run_id(&other.journals().pop().unwrap());
    assert!(node_journal(&lab, "deb2", &disaster).exists());
    std::fs::rename(&lost, lab.root("deb1")).unwrap();
    assert!(!node_journal(&lab, "deb1", &disaster).exists());
    let out = seat
        .drp(&lab, &["failback", "busybox", "--yes"])
        .expect_ok("failback after the disaster");
    assert!(
        out.stdout
            .contains(&format!("run {disaster}'s journal copied to deb1")),
        "{}",
        out.stdout
    );
    assert_eq!(
        std::fs::read_to_string(node_journal(&lab, "deb1", &disaster)).unwrap(),
        std::fs::read_to_string(node_journal(&lab, "deb2", &disaster)).unwrap()
    );
    assert_eq!(running_on(&lab), vec!["deb1"]);
    lab.svc("deb1", &["stop"]).expect_ok("stop");
}
