//! A run's state on a lab node through the real binary (`drpilot agent run …`, as a seat calls
//! it through the transport), and the watch stream showing who runs what.

mod support;

use std::io::{BufRead, Write};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use drpilot::protocol::journal::{EntryKind, Record, GENESIS};
use drpilot::protocol::run::{
    AppendAnswer, LeaseAnswer, LeaseRequest, NodeJournal, RunSummary, RunVerb,
};
use support::{wait_until, Run, TestLab};

const T: Duration = Duration::from_secs(20);
const RUN: &str = "busybox-20261201T101010Z-00af";

fn lease_req(seat: &str, host: &str, pid: u32) -> LeaseRequest {
    LeaseRequest {
        svc: "busybox".parse().unwrap(),
        run: RUN.parse().unwrap(),
        mode: drpilot::protocol::journal::Mode::Rehearsal,
        seat: seat.parse().unwrap(),
        user: "alice".parse().unwrap(),
        host: host.parse().unwrap(),
        pid,
        step: Some("stop_drp".into()),
        index: 4,
        total: 7,
        started: "2026-12-01T10:10:10Z".parse().unwrap(),
        ttl: 30,
        takeover: false,
        holder_gone: false,
    }
}

/// `drpilot agent run VERB` on `node`, written by the client as a seat writes it.
fn agent_run(lab: &TestLab, node: &str, verb: &RunVerb, stdin: &str) -> Run {
    let mut child = lab
        .node_cmd(node)
        .args(drpilot::transport::client::agent_run(verb))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn drpilot");
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.as_bytes());
    }
    child.wait_with_output().expect("wait drpilot").into()
}

fn release(seat: &str) -> RunVerb {
    RunVerb::Release {
        svc: "busybox".parse().unwrap(),
        run: RUN.parse().unwrap(),
        seat: seat.parse().unwrap(),
    }
}

fn chain(len: u64) -> Vec<Record> {
    let mut prev = GENESIS.to_string();
    (0..len)
        .map(|seq| {
            let mut r = Record {
                seq,
                ts: format!("2026-12-01T10:10:{:02}.000Z", 10 + seq),
                run: RUN.into(),
                kind: if seq == 0 {
                    EntryKind::RunStarted
                } else {
                    EntryKind::StepDone
                },
                step: (seq > 0).then(|| format!("step{seq}")),
                detail: serde_json::json!({"mode": "rehearsal"}),
                prev: prev.clone(),
                hash: String::new(),
            };
            r.hash = r.digest(&prev);
            prev.clone_from(&r.hash);
            r
        })
        .collect()
}

fn lines(recs: &[Record]) -> String {
    recs.iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect()
}

#[test]
fn a_second_seat_is_refused_with_exit_4_naming_the_holder_and_step() {
    let lab = TestLab::new();
    let first = agent_run(
        &lab,
        "deb1",
        &RunVerb::Lease {
            req: lease_req("s1", "laptop", 42),
        },
        "",
    )
    .expect_ok("the first lease");
    let a: LeaseAnswer = serde_json::from_str(first.stdout.trim()).unwrap();
    assert!(a.granted, "{a:?}");
    let second = agent_run(
        &lab,
        "deb1",
        &RunVerb::Lease {
            req: lease_req("s2", "desk", 7),
        },
        "",
    )
    .expect_err("a second seat");
    assert_eq!(second.code, Some(4), "{}", second.stderr);
    let a: LeaseAnswer = serde_json::from_str(second.stdout.trim()).unwrap();
    let reason = a.reason.unwrap_or_default();
    assert!(
        reason.contains("alice@laptop (pid 42)") && reason.contains("step 4/7"),
        "{reason}"
    );
    assert!(lab
        .root("deb1")
        .join("var/lib/drpilot/busybox/runs/lease.json")
        .is_file());
}

#[test]
fn a_service_without_config_on_the_node_is_refused_with_exit_3() {
    let lab = TestLab::new();
    std::fs::remove_file(lab.config("deb2")).unwrap();
    let verb = RunVerb::List {
        svc: "busybox".parse().unwrap(),
    };
    let out = agent_run(&lab, "deb2", &verb, "").expect_err("no config");
    assert_eq!(out.code, Some(3));
    assert!(
        out.stderr.contains("not configured on deb2"),
        "{}",
        out.stderr
    );
}

#[test]
fn appended_records_are_read_back_with_their_heads_and_listed() {
    let lab = TestLab::new();
    let append = RunVerb::Append {
        svc: "busybox".parse().unwrap(),
        run: RUN.parse().unwrap(),
        seat: "s1".parse().unwrap(),
    };
    let recs = chain(3);
    let out = agent_run(&lab, "deb2", &append, &lines(&recs)).expect_ok("append");
    let a: AppendAnswer = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(
        (a.ok, a.records, a.head.as_str()),
        (true, 3, recs[2].hash.as_str())
    );
    // A record that does not chain: refused with exit 4.
    let mut bad = chain(5).pop().unwrap();
    bad.prev = GENESIS.into();
    let out = agent_run(&lab, "deb2", &append, &lines(&[bad])).expect_err("a gap");
    assert_eq!(out.code, Some(4));
    let read = RunVerb::Read {
        svc: "busybox".parse().unwrap(),
        run: RUN.parse().unwrap(),
    };
    let out = agent_run(&lab, "deb2", &read, "").expect_ok("read");
    let j: NodeJournal = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(j.records, recs);
    assert_eq!(j.heads.len(), 3);
    let list = RunVerb::List {
        svc: "busybox".parse().unwrap(),
    };
    let out = agent_run(&lab, "deb2", &list, "").expect_ok("list");
    let runs: Vec<RunSummary> = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!((runs.len(), runs[0].records, runs[0].ended), (1, 3, false));
}

#[test]
fn reading_a_run_the_node_has_no_journal_of_exits_1_naming_the_node() {
    let lab = TestLab::new();
    let read = RunVerb::Read {
        svc: "busybox".parse().unwrap(),
        run: RUN.parse().unwrap(),
    };
    let out = agent_run(&lab, "deb1", &read, "").expect_err("unknown run");
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr
            .contains(&format!("no journal of run {RUN} on deb1")),
        "{}",
        out.stderr
    );
}

/// The records of a running `drpilot agent watch`, read by a thread as they come.
struct Watch {
    child: std::process::Child,
    lines: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Watch {
    fn start(lab: &TestLab, node: &str) -> Self {
        let mut child = lab
            .node_cmd(node)
            .args(drpilot::transport::client::agent_watch(&[]))
            .stdout(Stdio::piped())
            .spawn()
            .expect("agent watch");
        let out = child.stdout.take().expect("stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str(&l) {
                    sink.lock().unwrap().push(v);
                }
            }
        });
        Self { child, lines }
    }

    fn runs(&self) -> Vec<serde_json::Value> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r["type"] == "run")
            .cloned()
            .collect()
    }

    fn has_hello(&self) -> bool {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .any(|r| r["type"] == "hello")
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_watch_sends_the_run_when_a_lease_is_taken_and_no_lease_after_its_release() {
    let lab = TestLab::new();
    let watch = Watch::start(&lab, "deb1");
    wait_until(T, "the watch's hello", || watch.has_hello());
    assert!(watch.runs().is_empty(), "no run yet: {:?}", watch.runs());
    agent_run(
        &lab,
        "deb1",
        &RunVerb::Lease {
            req: lease_req("s1", "laptop", 42),
        },
        "",
    )
    .expect_ok("lease");
    // The lease's change notice wakes the watch: well before the next heartbeat.
    wait_until(
        Duration::from_secs(2),
        "a run record with the lease",
        || {
            watch.runs().iter().any(|r| {
                r["service"] == "busybox"
                    && r["node"] == "deb1"
                    && r["lease"]["run"] == RUN
                    && r["lease"]["holder"]["user"] == "alice"
                    && r["lease"]["step"] == "stop_drp"
            })
        },
    );
    agent_run(&lab, "deb1", &release("s1"), "").expect_ok("release");
    wait_until(
        Duration::from_secs(2),
        "a run record without a lease",
        || {
            watch
                .runs()
                .last()
                .is_some_and(|r| r["service"] == "busybox" && r.get("lease").is_none())
        },
    );
}

#[test]
fn the_watch_resends_the_run_with_each_heartbeat_so_its_age_stays_current() {
    let lab = TestLab::new();
    agent_run(
        &lab,
        "deb1",
        &RunVerb::Lease {
            req: lease_req("s1", "laptop", 42),
        },
        "",
    )
    .expect_ok("lease");
    let watch = Watch::start(&lab, "deb1");
    let ages = || -> Vec<u64> {
        watch
            .runs()
            .iter()
            .filter_map(|r| r["lease"]["renewed_ms_ago"].as_u64())
            .collect()
    };
    // A heartbeat every 2 s: a second record within two of them, older than the first.
    wait_until(Duration::from_secs(6), "a second run record", || {
        ages().len() >= 2
    });
    let ages = ages();
    assert!(ages[1] > ages[0], "the age grows: {ages:?}");
}
