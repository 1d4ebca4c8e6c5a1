//! The node's action log files (dated lines naming who ran them, progress out, rotation),
//! `drpilot svc SVC logs`, journald, and the action counters, on the lab.

mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use drpilot::action_log::log_file::{rotated, LogFile};
use drpilot::protocol::log::{Kind, LogRecord};
use drpilot::protocol::node_state::{ActionCounters, COUNTERS_FILE};
use support::{wait_until, TestLab};

const T: Duration = Duration::from_secs(30);

fn state(lab: &TestLab, node: &str) -> PathBuf {
    lab.root(node).join("var/lib/drpilot/busybox")
}

fn file_lines(lab: &TestLab, node: &str, name: &str) -> Vec<String> {
    support::read_lines(&state(lab, node).join(name))
}

fn records(lab: &TestLab, node: &str) -> Vec<LogRecord> {
    file_lines(lab, node, "actions.jsonl")
        .iter()
        .map(|l| LogRecord::parse(l).unwrap_or_else(|| panic!("not a record: {l}")))
        .collect()
}

#[test]
fn file_lines_are_dated_and_name_who_ran_them() {
    let lab = TestLab::new();
    lab.svc("deb1", &["start"]).expect_ok("start");
    // An action asked by the daemon, as a client says it.
    let daemon = r#"{"user":"drpilot","host":"deb1","origin":"daemon"}"#;
    let run = lab
        .node_cmd("deb1")
        .env("DRPILOT_ACTOR", daemon)
        .args(["svc", "busybox", "stop"])
        .output()
        .unwrap();
    assert!(run.status.success());
    // Stdout keeps the OpenSVC tutorial's `HH:MM:SS LEVEL SVC.RID msg`.
    let out = String::from_utf8_lossy(&run.stdout);
    let first = out.lines().next().unwrap();
    assert_eq!(&first[2..3], ":", "{first}");
    assert_eq!(&first[8..9], " ", "{first}");

    let lines = file_lines(&lab, "deb1", "actions.log");
    assert!(lines.len() > 4, "{lines:?}");
    let user = drpilot::action_log::local_user();
    let host = drpilot::action_log::local_host();
    let cli = format!("[{user}@{host} via cli] ");
    let by_daemon = "[drpilot@deb1 via daemon] ";
    for l in &lines {
        let (ts, rest) = l.split_once(' ').unwrap();
        let when = chrono::DateTime::parse_from_rfc3339(ts)
            .unwrap_or_else(|e| panic!("line not dated ({e}): {l}"));
        // With its zone, written out (+00:00, not Z), and its milliseconds.
        assert!(ts.len() == 29 && ts[23..].starts_with(['+', '-']), "{l}");
        assert!(
            (chrono::Utc::now() - when.to_utc()).num_minutes() < 5,
            "{l}"
        );
        assert!(
            rest.starts_with(&cli) || rest.starts_with(by_daemon),
            "line does not name who ran it: {l}"
        );
    }
    assert!(lines
        .iter()
        .any(|l| l.contains(&cli) && l.contains("BUSYBOX.APP#1")));
    assert!(lines.iter().any(|l| l.contains(by_daemon)));
    // Every line of a command's output block is dated too.
    assert!(
        lines.iter().all(|l| !l.starts_with(char::is_whitespace)),
        "{lines:?}"
    );
    // The JSON log names them as well.
    let recs = records(&lab, "deb1");
    assert!(recs
        .iter()
        .any(|r| r.by.as_ref().is_some_and(|b| b.origin == "daemon")));
    assert!(recs
        .iter()
        .all(|r| r.by.as_ref().is_some_and(|b| !b.user.is_empty())));
}

#[test]
fn progress_stays_out_of_the_log_file_but_its_final_figures_stay() {
    let lab = TestLab::new();
    lab.svc("deb1", &["start"]).expect_ok("start");
    let data = lab.root("deb1").join("srv/busybox/data");
    for i in 0..20 {
        std::fs::write(data.join(format!("file{i}")), vec![b'x'; 64 * 1024]).unwrap();
    }
    let run = lab
        .svc("deb1", &["syncfullsync", "--force", "--format", "json"])
        .expect_ok("syncfullsync");
    let printed: Vec<LogRecord> = run.stdout.lines().filter_map(LogRecord::parse).collect();
    let progress = |recs: &[LogRecord]| -> Vec<LogRecord> {
        recs.iter()
            .filter(|r| r.kind == Kind::Progress)
            .cloned()
            .collect()
    };
    let on_stdout = progress(&printed);
    assert!(
        on_stdout.len() >= 2,
        "the sync reported its progress on stdout: {on_stdout:?}"
    );
    let in_file = progress(&records(&lab, "deb1"));
    assert_eq!(in_file.len(), 1, "only the final figures: {in_file:?}");
    assert_eq!(in_file[0].progress, on_stdout.last().unwrap().progress);
    assert_eq!(in_file[0].rid, "sync#1");
    let text = file_lines(&lab, "deb1", "actions.log");
    let final_line = &on_stdout.last().unwrap().msg;
    let shown: Vec<_> = text
        .iter()
        .filter(|l| l.ends_with(final_line.as_str()))
        .collect();
    assert_eq!(shown.len(), 1, "{text:#?}");
    // The final figures come before the sync's closing line.
    let at = |needle: &str| text.iter().position(|l| l.contains(needle)).unwrap();
    assert!(at(final_line) < at("update state file with sync id"));
}

/// A child killed when the test ends, even when it fails.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads a child's stdout lines on a thread.
fn lines_of(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

#[test]
fn svc_logs_prints_and_follows_across_a_rotation() {
    let lab = TestLab::new();
    lab.svc("deb1", &["start"]).expect_ok("start");
    let kept = file_lines(&lab, "deb1", "actions.log");
    // Every line kept, newest last, as in the file.
    let all = lab.svc("deb1", &["logs"]).expect_ok("logs");
    assert_eq!(all.stdout.lines().collect::<Vec<_>>(), kept);
    let last2 = lab.svc("deb1", &["logs", "-n", "2"]).expect_ok("logs -n 2");
    assert_eq!(
        last2.stdout.lines().collect::<Vec<_>>(),
        kept[kept.len() - 2..]
    );
    let json = lab
        .svc("deb1", &["logs", "-n", "3", "--format", "json"])
        .expect_ok("logs --format json");
    let recs: Vec<LogRecord> = json
        .stdout
        .lines()
        .map(|l| LogRecord::parse(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 3);
    assert!(recs.iter().all(|r| r.svc == "busybox" && r.by.is_some()));
    // Another service's log, or a path, is refused.
    for bad in ["../etc", "nosuch"] {
        let run: support::Run = lab
            .node_cmd("deb1")
            .args(["svc", bad, "logs"])
            .output()
            .unwrap()
            .into();
        run.expect_err(bad);
    }

    // Following: the stop's lines, then lines written across two rotations.
    let mut child = Killed(
        lab.node_cmd("deb1")
            .args(["svc", "busybox", "logs", "-f", "-n", "0"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let rx = lines_of(&mut child.0);
    let mut seen = Vec::new();
    // The follower starts at the end of the file: it is ready once it shows a line written
    // after it started (a loaded machine may take a while to get there).
    let path = state(&lab, "deb1").join("actions.log");
    wait_until(T, "the follower to be ready", || {
        LogFile::with_cap(&path, u64::MAX, 3).append(&["follower ready?".to_string()]);
        std::thread::sleep(Duration::from_millis(50));
        seen.extend(rx.try_iter());
        seen.iter().any(|l: &String| l.contains("follower ready?"))
    });
    let mut wait_for = |what: &str| {
        wait_until(T, what, || {
            seen.extend(rx.try_iter());
            seen.iter().any(|l: &String| l.contains(what))
        })
    };
    lab.svc("deb1", &["stop"]).expect_ok("stop");
    wait_for("kill -TERM");
    let size = std::fs::metadata(&path).unwrap().len();
    // A cap the next line passes: it rotates the file, as an action's log does past 10 MiB.
    let mut log = LogFile::with_cap(&path, size + 10, 3);
    log.append(&["rotated once: first line of the new file".to_string()]);
    assert!(rotated(&path, 1).exists());
    let mut log = LogFile::with_cap(&path, 10, 3);
    log.append(&["rotated twice".to_string()]);
    wait_for("rotated twice");
    assert!(seen.iter().any(|l| l.contains("rotated once")), "{seen:#?}");
    drop(child);
    assert_eq!(
        seen.iter().filter(|l| l.contains("rotated")).count(),
        2,
        "each line once: {seen:#?}"
    );
    // Without -f, the rotated files are read too, oldest first.
    let all = lab.svc("deb1", &["logs"]).expect_ok("logs after rotation");
    let lines: Vec<_> = all.stdout.lines().collect();
    assert_eq!(lines.last(), Some(&"rotated twice"));
    assert_eq!(lines[..kept.len()], kept[..]);
}

#[test]
fn every_action_updates_its_verbs_counters() {
    let lab = TestLab::new();
    let counters = || -> ActionCounters {
        let p = state(&lab, "deb1").join(COUNTERS_FILE);
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
    };
    lab.svc("deb1", &["start"]).expect_ok("start");
    let c = counters();
    assert_eq!(c.verbs["start"].count, 1);
    assert_eq!(c.verbs["start"].failures, 0);
    lab.svc("deb1", &["stop"]).expect_ok("stop");
    lab.svc("deb1", &["start"]).expect_ok("start again");
    lab.svc("deb1", &["stop"]).expect_ok("stop again");
    // A failing verb: no data sync from a node where the service is not up.
    lab.svc("deb1", &["syncupdate"])
        .expect_err("syncupdate while stopped");
    // Read-only verbs are not actions.
    lab.svc("deb1", &["print", "status"]).expect_ok("status");
    lab.svc("deb1", &["logs"]).expect_ok("logs");
    let c = counters();
    assert_eq!(
        c.verbs.keys().collect::<Vec<_>>(),
        ["start", "stop", "syncupdate"]
    );
    let start = &c.verbs["start"];
    assert_eq!((start.count, start.failures), (2, 0));
    assert_eq!((c.verbs["stop"].count, c.verbs["stop"].failures), (2, 0));
    let sync = &c.verbs["syncupdate"];
    assert_eq!((sync.count, sync.failures), (1, 1));
    for v in c.verbs.values() {
        assert!(
            v.seconds_total >= v.last_seconds && v.last_seconds > 0.0,
            "{v:?}"
        );
        chrono::DateTime::parse_from_rfc3339(&v.last_end).unwrap();
    }
}

#[test]
fn journald_gets_the_lines_when_it_runs() {
    if std::path::Path::new(drpilot::action_log::JOURNALD_SOCKET).exists()
        && support::on_path("journalctl")
    {
        return lines_reach_the_nodes_journald();
    }
    // No journald here (a CI container): one of our own in a private mount namespace, where
    // its socket is at journald's path, receiving what drpilot sends.
    // No journald here, and a stand-in needs root and unshare: say so and skip.
    if !support::root_testbed_ready(
        "journald_gets_the_lines_when_it_runs (no journald on this node: a stand-in at its socket)",
        &["unshare", "mount"],
    ) {
        return;
    }
    let lab = TestLab::new();
    let sock_path = lab.dir.join("journal.socket");
    let journal = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    journal.set_read_timeout(Some(T)).unwrap();
    let actor = r#"{"user":"ops","host":"deb1","origin":"runbook"}"#;
    // A fixed script; the socket and the command are its arguments.
    let script = "mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal && \
                  touch /run/systemd/journal/socket && \
                  mount --bind \"$1\" /run/systemd/journal/socket && shift && exec \"$@\"";
    let run = std::process::Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .arg(&sock_path)
        .arg(env!("CARGO_BIN_EXE_drpilot"))
        .args(["svc", "busybox", "start"])
        .env("DRPILOT_ROOT", lab.root("deb1"))
        .env("DRPILOT_NODENAME", "deb1")
        .env("DRPILOT_ACTOR", actor)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut entries = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    while !entries
        .iter()
        .any(|e: &std::collections::BTreeMap<String, String>| {
            e.get("MESSAGE")
                .is_some_and(|m| m.starts_with("started, pid"))
        })
    {
        let n = journal
            .recv(&mut buf)
            .expect("the start's lines reach the journal socket");
        if n > 0 {
            entries.push(journal_fields(&buf[..n]));
        }
    }
    for e in &entries {
        assert_eq!(e["SYSLOG_IDENTIFIER"], "drpilot", "{e:?}");
        assert_eq!(e["DRPILOT_SERVICE"], "busybox", "{e:?}");
        assert_eq!(e["DRPILOT_ACTOR"], "ops@deb1 via runbook", "{e:?}");
        assert_eq!(e["PRIORITY"], "6", "{e:?}");
    }
    assert!(entries.iter().any(|e| e["DRPILOT_RID"] == "app#1"));
    // The files are kept too: the consoles stream actions.jsonl, `svc logs` reads actions.log.
    assert!(file_lines(&lab, "deb1", "actions.log")
        .iter()
        .any(|l| l.contains("started, pid")));
}

/// The fields of one entry of journald's native protocol (`NAME=value` lines, or `NAME`, a
/// 64-bit little-endian length and the value).
fn journal_fields(mut b: &[u8]) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    while let Some(nl) = b.iter().position(|c| *c == b'\n') {
        let line = &b[..nl];
        if let Some(eq) = line.iter().position(|c| *c == b'=') {
            out.insert(
                String::from_utf8_lossy(&line[..eq]).into_owned(),
                String::from_utf8_lossy(&line[eq + 1..]).into_owned(),
            );
            b = &b[nl + 1..];
        } else {
            let len = u64::from_le_bytes(b[nl + 1..nl + 9].try_into().unwrap()) as usize;
            let value = &b[nl + 9..nl + 9 + len];
            out.insert(
                String::from_utf8_lossy(line).into_owned(),
                String::from_utf8_lossy(value).into_owned(),
            );
            b = &b[nl + 9 + len + 1..];
        }
    }
    out
}

/// With the node's own journald: the lines are found with journalctl by their fields.
fn lines_reach_the_nodes_journald() {
    let lab = TestLab::new();
    let user = format!("journal-test-{}", std::process::id());
    let actor = format!(r#"{{"user":"{user}","host":"deb1","origin":"runbook"}}"#);
    let run = lab
        .node_cmd("deb1")
        .env("DRPILOT_ACTOR", &actor)
        .args(["svc", "busybox", "start"])
        .output()
        .unwrap();
    assert!(run.status.success());
    let who = format!("DRPILOT_ACTOR={user}@deb1 via runbook");
    let mut entries: Vec<serde_json::Value> = Vec::new();
    wait_until(T, "the start's lines in the journal", || {
        let out = std::process::Command::new("journalctl")
            .args(["-o", "json", "SYSLOG_IDENTIFIER=drpilot", &who])
            .output()
            .unwrap();
        entries = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        entries.iter().any(|e| e["DRPILOT_RID"] == "app#1")
    });
    assert!(entries
        .iter()
        .all(|e| e["DRPILOT_SERVICE"] == "busybox" && e["PRIORITY"] == "6"));
}
