//! The DRP test without downtime on the lab (`drpilot drp test`): the service starts from a
//! clone of deb2's replica in a bubble while deb1 keeps running and replicating; the replica is
//! never written by the test; nothing of it is left afterwards, even when a seat is killed at any
//! step and another seat runs the next test.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::{bin, read_lines, wait_until, Run, TestLab};

const T: Duration = Duration::from_secs(30);

fn drp_test(lab: &TestLab, seat: &Path, extra: &[&str]) -> Command {
    let nodes = lab.dir.join("nodes.toml");
    let mut c = bin();
    c.args(["drp", "test", "busybox", "--nodes", nodes.to_str().unwrap()])
        .args(extra)
        .env("XDG_STATE_HOME", seat)
        .env_remove("DRPILOT_CRASH_AFTER");
    c
}

fn run(mut c: Command) -> Run {
    c.output().expect("run drpilot").into()
}

fn bubble_dir(lab: &TestLab) -> PathBuf {
    lab.root("deb2").join("var/lib/drpilot/busybox/bubble")
}

fn clone_file(lab: &TestLab) -> PathBuf {
    bubble_dir(lab).join("root/srv/busybox/data/date.log")
}

/// The holder of the bubble's namespaces, as recorded on deb2.
fn holder_pid(lab: &TestLab) -> Option<u32> {
    let text = std::fs::read_to_string(bubble_dir(lab).join("holder.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["pid"].as_u64().map(|p| p as u32)
}

/// Seconds of the day of a `date` line (`Tue Dec  1 20:18:10 UTC 2026`).
fn second_of_day(line: &str) -> Option<i64> {
    let hms = line.split_whitespace().nth(3)?;
    let mut parts = hms.split(':').map(|p| p.parse::<i64>().ok());
    Some(parts.next()?? * 3600 + parts.next()?? * 60 + parts.next()??)
}

/// Asserts no two consecutive lines are more than 2 s apart: the writer never stopped.
fn assert_no_gap(lines: &[String]) {
    let secs: Vec<i64> = lines.iter().filter_map(|l| second_of_day(l)).collect();
    assert!(secs.len() >= 3, "too few dated lines: {lines:?}");
    for w in secs.windows(2) {
        let gap = (w[1] - w[0]).rem_euclid(86_400);
        assert!(gap <= 2, "a gap of {gap}s in production's data: {lines:?}");
    }
}

/// Nothing of a test on deb2: no bubble directory, no holder, no bubble process.
fn assert_nothing_left(lab: &TestLab, holder: Option<u32>) {
    assert!(
        !bubble_dir(lab).exists(),
        "the bubble is still on deb2: {}",
        bubble_dir(lab).display()
    );
    if let Some(pid) = holder {
        assert!(
            drpilot::procfs::start_time(pid).is_none(),
            "the bubble's holder {pid} still runs"
        );
    }
    let st = lab.status("deb2");
    assert!(
        !matches!(st["avail"].as_str(), Some("up" | "warn")),
        "deb2 runs the service: {st}"
    );
}

#[test]
fn a_test_runs_from_a_clone_while_production_keeps_writing_and_replicating() {
    let lab = TestLab::replicated();
    let seat = tempfile::tempdir().unwrap();
    let replica = lab.data_file("deb2");
    let replica_before = std::fs::read(&replica).expect("the replica");
    let prod_before = lab.lines("deb1").len();

    let kept = run(drp_test(&lab, seat.path(), &["--yes", "--keep"])).expect_ok("drp test --keep");
    assert!(kept.stdout.contains("run busybox-"), "{}", kept.stdout);
    assert!(kept.stdout.contains("succeeded"), "{}", kept.stdout);
    assert!(
        kept.stdout.contains("end_bubble: skipped (--keep)"),
        "{}",
        kept.stdout
    );
    let holder = holder_pid(&lab);
    assert!(holder.is_some(), "a kept bubble has its holder");

    // The bubble's app writes into the clone; the replica is not written.
    let cloned = read_lines(&clone_file(&lab)).len();
    wait_until(T, "the bubble's app to write into the clone", || {
        read_lines(&clone_file(&lab)).len() >= cloned + 2
    });
    assert_eq!(
        std::fs::read(&replica).expect("the replica"),
        replica_before,
        "the test wrote into the replica"
    );

    // Replication goes on during the test, into the replica, not into the clone.
    wait_until(T, "production to write more", || {
        lab.lines("deb1").len() >= prod_before + 2
    });
    lab.svc("deb1", &["syncupdate", "--force"])
        .expect_ok("a syncupdate from production during the test");
    let before: Vec<String> = String::from_utf8_lossy(&replica_before)
        .lines()
        .map(String::from)
        .collect();
    let synced = read_lines(&replica);
    assert!(
        synced.len() > before.len(),
        "the sync brought production's new lines"
    );
    assert_eq!(
        synced,
        lab.lines("deb1")[..synced.len()],
        "the replica follows production"
    );
    let clone_lines = read_lines(&clone_file(&lab));
    assert_ne!(clone_lines, synced, "the sync did not touch the clone");
    assert!(
        clone_lines.starts_with(&before),
        "the clone began as the replica: {clone_lines:?} vs {before:?}"
    );

    // The report holds RTO, RPO and the production check.
    let report = support::report_named_in(&kept.stdout);
    assert!(report.contains("| RTO (clone of the replica"), "{report}");
    assert!(report.contains("| RPO |"), "{report}");
    assert!(report.contains("| production untouched | yes"), "{report}");

    // --enter: a shell inside the bubble, whose network is its own (loopback only), whose
    // node root is the bubble's.
    let mut enter = drp_test(&lab, seat.path(), &["--enter"]);
    enter
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = enter.spawn().expect("drp test --enter");
    {
        use std::io::Write;
        let mut input = child.stdin.take().expect("stdin");
        input
            .write_all(b"ip -o link\necho root=$DRPILOT_ROOT\nexit\n")
            .expect("commands");
    }
    let shell = child.wait_with_output().expect("the shell ends");
    let said = String::from_utf8_lossy(&shell.stdout);
    assert!(shell.status.success(), "{said}");
    assert!(said.contains("1: lo:"), "{said}");
    assert!(
        !said.contains("2: "),
        "the bubble has no other link: {said}"
    );
    assert!(
        said.contains(&format!("root={}", bubble_dir(&lab).join("root").display())),
        "{said}"
    );

    // --end tears the kept bubble down; production never stopped.
    let ended = run(drp_test(&lab, seat.path(), &["--end"])).expect_ok("drp test --end");
    assert!(
        ended.stdout.contains("test bubble removed"),
        "{}",
        ended.stdout
    );
    assert_nothing_left(&lab, holder);
    assert_eq!(lab.status("deb1")["avail"], "up");
    let prod = lab.lines("deb1");
    assert_no_gap(&prod[prod_before.saturating_sub(1)..]);
    lab.svc("deb1", &["stop"]).expect_ok("stop");
}

#[test]
fn a_test_killed_at_any_step_is_finished_by_the_next_test_from_another_seat() {
    for step in [
        "preflight",
        "clone_replica",
        "start_bubble",
        "verify_bubble_up",
        "end_bubble",
    ] {
        let lab = TestLab::replicated();
        let first = tempfile::tempdir().unwrap();
        let mut killed = drp_test(&lab, first.path(), &["--yes"]);
        killed.env("DRPILOT_CRASH_AFTER", step);
        let out = killed.output().expect("drp test");
        assert!(!out.status.success(), "the seat was to die after {step}");
        let holder = holder_pid(&lab);

        let second = tempfile::tempdir().unwrap();
        let next = run(drp_test(&lab, second.path(), &["--yes"]))
            .expect_ok(&format!("the next test after a kill at {step}"));
        assert!(
            next.stdout.contains("resuming unfinished run"),
            "after {step}: {}",
            next.stdout
        );
        assert!(
            next.stdout.contains("succeeded"),
            "after {step}: {}",
            next.stdout
        );
        assert_nothing_left(&lab, holder);
        assert_eq!(lab.status("deb1")["avail"], "up", "after {step}");
        lab.svc("deb1", &["stop"]).expect_ok("stop");
    }
}
