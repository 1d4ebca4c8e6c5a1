//! One test per rule of the node's run state.

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::protocol::journal::{EntryKind, Mode, Record, GENESIS};
use crate::protocol::run::{AppendAnswer, LeaseAnswer, LeaseRequest, NodeJournal, RunSummary};

const RUN: &str = "busybox-20261201T101010Z-00af";
const OTHER_RUN: &str = "busybox-20261130T090000Z-0001";

struct Node {
    _dir: tempfile::TempDir,
    env: NodeEnv,
    t0: DateTime<Utc>,
}

fn node() -> Node {
    let dir = tempfile::tempdir().unwrap();
    let env = NodeEnv::new(dir.path(), "deb1");
    std::fs::create_dir_all(env.etc_dir()).unwrap();
    std::fs::write(env.config_path("busybox"), "[DEFAULT]\n").unwrap();
    Node {
        _dir: dir,
        env,
        t0: "2026-12-01T10:10:10Z".parse().unwrap(),
    }
}

fn req(run: &str, seat: &str, host: &str, pid: u32) -> LeaseRequest {
    LeaseRequest {
        svc: "busybox".parse().unwrap(),
        run: run.parse().unwrap(),
        mode: Mode::Rehearsal,
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

fn call(n: &Node, verb: RunVerb, stdin: &str, after_s: i64) -> Reply {
    run_at(
        &n.env,
        &verb,
        &mut stdin.as_bytes(),
        n.t0 + Duration::seconds(after_s),
    )
    .unwrap_or_else(|e| panic!("{e:#}"))
}

fn lease_at(n: &Node, r: LeaseRequest, after_s: i64) -> (u8, LeaseAnswer) {
    let reply = call(n, RunVerb::Lease { req: r }, "", after_s);
    (reply.code, serde_json::from_str(&reply.stdout).unwrap())
}

fn release(n: &Node, run: &str, seat: &str) -> LeaseAnswer {
    let verb = RunVerb::Release {
        svc: "busybox".parse().unwrap(),
        run: run.parse().unwrap(),
        seat: seat.parse().unwrap(),
    };
    let reply = call(n, verb, "", 0);
    assert_eq!(reply.code, 0);
    serde_json::from_str(&reply.stdout).unwrap()
}

/// A chain of `len` records of `run`, the first one starting it, the last one `last`.
fn chain(run: &str, len: u64, last: EntryKind) -> Vec<Record> {
    let mut prev = GENESIS.to_string();
    (0..len)
        .map(|seq| {
            let kind = match seq {
                0 => EntryKind::RunStarted,
                s if s + 1 == len => last,
                _ => EntryKind::StepDone,
            };
            let mut r = Record {
                seq,
                ts: format!("2026-12-01T10:10:{:02}.000Z", 10 + seq),
                run: run.into(),
                kind,
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

fn append(n: &Node, run: &str, seat: &str, recs: &[Record]) -> (u8, AppendAnswer) {
    let verb = RunVerb::Append {
        svc: "busybox".parse().unwrap(),
        run: run.parse().unwrap(),
        seat: seat.parse().unwrap(),
    };
    let reply = call(n, verb, &lines(recs), 0);
    (reply.code, serde_json::from_str(&reply.stdout).unwrap())
}

fn read(n: &Node, run: &str) -> Result<NodeJournal> {
    let verb = RunVerb::Read {
        svc: "busybox".parse().unwrap(),
        run: run.parse().unwrap(),
    };
    let reply = run_at(&n.env, &verb, &mut std::io::empty(), n.t0)?;
    Ok(serde_json::from_str(&reply.stdout)?)
}

fn journal_path(n: &Node, run: &str) -> std::path::PathBuf {
    store::Runs::of(&n.env, "busybox").journal(&run.parse().unwrap())
}

#[test]
fn a_free_lease_is_granted_and_renewed_by_its_seat_with_the_new_step() {
    let n = node();
    let (code, a) = lease_at(&n, req(RUN, "s1", "laptop", 42), 0);
    assert_eq!((code, a.granted), (0, true), "{a:?}");
    let mut again = req(RUN, "s1", "laptop", 42);
    again.step = Some("start_drp".into());
    again.index = 5;
    let (code, a) = lease_at(&n, again, 10);
    assert_eq!((code, a.granted), (0, true), "{a:?}");
    let v = a.lease.unwrap();
    assert_eq!(
        (v.lease.step.as_deref(), v.lease.index),
        (Some("start_drp"), 5)
    );
    assert_eq!(
        v.lease.renewed, "2026-12-01T10:10:20.000Z",
        "the node's clock"
    );
}

#[test]
fn a_second_seat_is_refused_naming_the_holder_and_step() {
    let n = node();
    lease_at(&n, req(RUN, "s1", "laptop", 42), 0);
    let (code, a) = lease_at(&n, req(RUN, "s2", "desk", 7), 3);
    assert_eq!(code, 4);
    assert!(!a.granted);
    let reason = a.reason.unwrap();
    for part in [
        "alice@laptop (pid 42)",
        "step 4/7 (stop_drp)",
        "renewed 3s ago",
    ] {
        assert!(reason.contains(part), "{part}: {reason}");
    }
    let held = a.lease.unwrap();
    assert_eq!(
        (held.lease.holder.seat.as_str(), held.renewed_ms_ago),
        ("s1", 3000)
    );
    assert!(!held.expired);
    // A new run of another seat is refused the same way.
    let (code, _) = lease_at(&n, req(OTHER_RUN, "s2", "desk", 7), 3);
    assert_eq!(code, 4);
}

#[test]
fn an_expired_lease_is_taken_over_only_for_the_same_run() {
    let n = node();
    lease_at(&n, req(RUN, "s1", "laptop", 42), 0);
    // Expired, no takeover asked: refused, saying how to take it over.
    let (code, a) = lease_at(&n, req(RUN, "s2", "desk", 7), 31);
    assert_eq!(code, 4);
    assert!(a.lease.as_ref().unwrap().expired);
    let reason = a.reason.unwrap();
    assert!(
        reason.contains(&format!("drpilot drp takeover {RUN}")),
        "{reason}"
    );
    // A takeover of another run is refused.
    let mut other = req(OTHER_RUN, "s2", "desk", 7);
    other.takeover = true;
    let (code, a) = lease_at(&n, other, 31);
    assert_eq!(code, 4, "{a:?}");
    // A takeover before it expired is refused.
    let mut early = req(RUN, "s2", "desk", 7);
    early.takeover = true;
    assert_eq!(lease_at(&n, early.clone(), 30).0, 4);
    // Expired, same run: taken over.
    let (code, a) = lease_at(&n, early, 31);
    assert_eq!((code, a.granted), (0, true), "{a:?}");
    assert_eq!(a.lease.unwrap().lease.holder.seat, "s2");
}

#[test]
fn holder_gone_is_accepted_only_from_the_holders_host() {
    let n = node();
    lease_at(&n, req(RUN, "s1", "laptop", 42), 0);
    let gone = |host: &str, pid: u32| {
        let mut r = req(RUN, "s2", host, pid);
        r.takeover = true;
        r.holder_gone = true;
        r
    };
    let (code, a) = lease_at(&n, gone("desk", 7), 5);
    assert_eq!(code, 4);
    assert!(a.reason.unwrap().contains("only a seat on laptop"));
    let (code, a) = lease_at(&n, gone("laptop", 42), 5);
    assert_eq!(code, 4, "the holder's own pid: {a:?}");
    let (code, a) = lease_at(&n, gone("laptop", 43), 5);
    assert_eq!((code, a.granted), (0, true), "{a:?}");
}

#[test]
fn the_lease_of_an_ended_run_whose_release_never_came_is_replaced_once_expired() {
    let n = node();
    lease_at(&n, req(OTHER_RUN, "s1", "laptop", 42), 0);
    assert_eq!(
        append(
            &n,
            OTHER_RUN,
            "s1",
            &chain(OTHER_RUN, 3, EntryKind::RunFinished)
        )
        .0,
        0
    );
    assert_eq!(
        lease_at(&n, req(RUN, "s2", "desk", 7), 10).0,
        4,
        "not expired yet"
    );
    let (code, a) = lease_at(&n, req(RUN, "s2", "desk", 7), 31);
    assert_eq!((code, a.granted), (0, true), "{a:?}");
}

#[test]
fn the_lease_of_an_unfinished_run_is_never_replaced_by_another_run() {
    let n = node();
    lease_at(&n, req(OTHER_RUN, "s1", "laptop", 42), 0);
    append(
        &n,
        OTHER_RUN,
        "s1",
        &chain(OTHER_RUN, 3, EntryKind::StepDone),
    );
    let (code, a) = lease_at(&n, req(RUN, "s2", "desk", 7), 3600);
    assert_eq!(code, 4);
    let reason = a.reason.unwrap();
    assert!(
        reason.contains(&format!("drpilot drp takeover {OTHER_RUN}")),
        "{reason}"
    );
}

#[test]
fn release_removes_only_the_holders_lease() {
    let n = node();
    lease_at(&n, req(RUN, "s1", "laptop", 42), 0);
    let a = release(&n, RUN, "s2");
    assert!(a.lease.is_some() && a.reason.unwrap().contains("left in place"));
    let a = release(&n, RUN, "s1");
    assert_eq!((a.granted, a.lease), (false, None));
    assert!(!store::Runs::of(&n.env, "busybox").lease().exists());
    assert_eq!(lease_at(&n, req(RUN, "s2", "desk", 7), 1).0, 0);
}

#[test]
fn a_lease_change_rewrites_the_change_notice_and_a_plain_renewal_does_not() {
    let n = node();
    let notice = n.env.state_dir("busybox").join(CHANGE_NOTICE);
    lease_at(&n, req(RUN, "s1", "laptop", 42), 0);
    let first = std::fs::read(&notice).expect("notice after a grant");
    std::fs::remove_file(&notice).unwrap();
    lease_at(&n, req(RUN, "s1", "laptop", 42), 2);
    assert!(!notice.exists(), "a renewal of the same step");
    release(&n, RUN, "s1");
    assert!(notice.exists() && !first.is_empty(), "after the release");
}

#[test]
fn a_record_that_does_not_chain_is_refused() {
    let n = node();
    let recs = chain(RUN, 4, EntryKind::StepDone);
    assert_eq!(append(&n, RUN, "s1", &recs[..2]).0, 0);
    // A gap: record 3 after record 1.
    let (code, a) = append(&n, RUN, "s1", &recs[3..]);
    assert_eq!((code, a.ok, a.records), (4, false, 2));
    assert!(a.reason.unwrap().contains("does not chain"));
    // An edited record 2: its hash no longer matches.
    let mut edited = recs[2].clone();
    edited.step = Some("elsewhere".into());
    assert_eq!(append(&n, RUN, "s1", &[edited]).0, 4);
    // A batch with a bad record writes none of it.
    let mut bad = recs[3].clone();
    bad.hash = "00".into();
    assert_eq!(append(&n, RUN, "s1", &[recs[2].clone(), bad]).0, 4);
    assert_eq!(read(&n, RUN).unwrap().records.len(), 2);
}

#[test]
fn a_resent_record_is_skipped() {
    let n = node();
    let recs = chain(RUN, 3, EntryKind::StepDone);
    append(&n, RUN, "s1", &recs[..2]);
    let (code, a) = append(&n, RUN, "s1", &recs);
    assert_eq!((code, a.ok, a.records), (0, true, 3));
    assert_eq!(a.head, recs[2].hash);
    let j = read(&n, RUN).unwrap();
    assert_eq!(j.records, recs);
    assert_eq!(j.heads.len(), 3);
    assert_eq!(j.heads[2].hash, recs[2].hash);
    // A different record at a seq the node holds is refused.
    let mut other = recs[1].clone();
    other.ts = "2026-12-01T11:00:00.000Z".into();
    assert_eq!(append(&n, RUN, "s1", &[other]).0, 4);
}

#[test]
fn a_torn_last_line_is_cut_before_appending() {
    let n = node();
    let recs = chain(RUN, 3, EntryKind::StepDone);
    append(&n, RUN, "s1", &recs[..2]);
    let path = journal_path(&n, RUN);
    let mut torn = std::fs::read(&path).unwrap();
    torn.extend_from_slice(b"{\"seq\":2,\"ts\":");
    std::fs::write(&path, &torn).unwrap();
    assert_eq!(
        read(&n, RUN).unwrap().records.len(),
        2,
        "left out when read"
    );
    let (code, a) = append(&n, RUN, "s1", &recs[2..]);
    assert_eq!((code, a.records), (0, 3), "{a:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), lines(&recs));
}

#[test]
fn a_line_that_does_not_parse_before_the_last_is_an_error_with_file_and_line() {
    let n = node();
    let recs = chain(RUN, 2, EntryKind::StepDone);
    append(&n, RUN, "s1", &recs);
    let path = journal_path(&n, RUN);
    let text = format!("garbage\n{}", lines(&recs));
    std::fs::write(&path, text).unwrap();
    let err = format!("{:#}", read(&n, RUN).unwrap_err());
    assert!(err.contains(&format!("{}:1:", path.display())), "{err}");
    let verb = RunVerb::Append {
        svc: "busybox".parse().unwrap(),
        run: RUN.parse().unwrap(),
        seat: "s1".parse().unwrap(),
    };
    let err = run_at(&n.env, &verb, &mut lines(&recs).as_bytes(), n.t0).unwrap_err();
    assert!(format!("{err:#}").contains(":1:"), "{err:#}");
}

#[test]
fn appending_is_refused_while_another_seat_holds_the_lease() {
    let n = node();
    lease_at(&n, req(RUN, "s1", "laptop", 42), 0);
    let recs = chain(RUN, 1, EntryKind::RunStarted);
    let (code, a) = append(&n, RUN, "s2", &recs);
    assert_eq!((code, a.ok), (4, false));
    assert!(a.reason.unwrap().contains("alice@laptop (pid 42)"));
    assert_eq!(append(&n, RUN, "s1", &recs).0, 0);
}

#[test]
fn a_service_without_config_is_refused() {
    let n = node();
    std::fs::remove_file(n.env.config_path("busybox")).unwrap();
    let reply = call(
        &n,
        RunVerb::Lease {
            req: req(RUN, "s1", "laptop", 42),
        },
        "",
        0,
    );
    assert_eq!(reply.code, EXIT_NOT_CONFIGURED);
    assert!(
        reply.stderr[0].contains("not configured on deb1"),
        "{reply:?}"
    );
    assert!(!n.env.state_dir("busybox").exists(), "nothing written");
    let list = RunVerb::List {
        svc: "busybox".parse().unwrap(),
    };
    assert_eq!(call(&n, list, "", 0).code, EXIT_NOT_CONFIGURED);
}

#[test]
fn a_run_of_another_service_is_refused() {
    let n = node();
    let err = run_at(
        &n.env,
        &RunVerb::Lease {
            req: req("web-20261201T101010Z-00af", "s1", "laptop", 42),
        },
        &mut std::io::empty(),
        n.t0,
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("not a run of service busybox"),
        "{err:#}"
    );
}

#[test]
fn a_step_name_with_control_characters_is_refused() {
    let n = node();
    let mut r = req(RUN, "s1", "laptop", 42);
    r.step = Some("stop\u{1b}[2J".into());
    let err = run_at(
        &n.env,
        &RunVerb::Lease { req: r },
        &mut std::io::empty(),
        n.t0,
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("invalid --step"), "{err:#}");
    assert!(!store::Runs::of(&n.env, "busybox").lease().exists());
}

#[test]
fn reading_an_unknown_run_is_an_error_naming_the_node() {
    let n = node();
    let err = format!("{:#}", read(&n, RUN).unwrap_err());
    assert_eq!(err, format!("no journal of run {RUN} on deb1"));
}

#[test]
fn list_skips_a_journal_that_does_not_parse_with_a_warning() {
    let n = node();
    append(&n, RUN, "s1", &chain(RUN, 3, EntryKind::RunFinished));
    append(
        &n,
        OTHER_RUN,
        "s1",
        &chain(OTHER_RUN, 2, EntryKind::StepDone),
    );
    std::fs::write(journal_path(&n, OTHER_RUN), "bad\nworse\n").unwrap();
    let reply = call(
        &n,
        RunVerb::List {
            svc: "busybox".parse().unwrap(),
        },
        "",
        0,
    );
    assert_eq!(reply.code, 0);
    let runs: Vec<RunSummary> = serde_json::from_str(&reply.stdout).unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(
        (
            runs[0].run.as_str(),
            runs[0].records,
            runs[0].ended,
            runs[0].mode
        ),
        (RUN, 3, true, Mode::Rehearsal)
    );
    assert_eq!(runs[0].last_step.as_deref(), Some("step2"));
    assert!(reply.stderr[0].contains(OTHER_RUN), "{reply:?}");
}

#[test]
fn leases_lists_the_lease_of_every_service() {
    let n = node();
    let none = call(&n, RunVerb::Leases, "", 0);
    assert_eq!(none.stdout, "[]");
    lease_at(&n, req(RUN, "s1", "laptop", 42), 0);
    let reply = call(&n, RunVerb::Leases, "", 5);
    let leases: Vec<crate::protocol::run::LeaseView> = serde_json::from_str(&reply.stdout).unwrap();
    assert_eq!(leases.len(), 1);
    assert_eq!(
        (leases[0].lease.run.as_str(), leases[0].renewed_ms_ago),
        (RUN, 5000)
    );
}

#[test]
fn a_watcher_sends_a_lease_when_it_changes_with_each_beat_and_once_when_gone() {
    let n = node();
    let svcs = vec!["busybox".to_string()];
    let mut f = LeaseFollow::default();
    assert!(
        f.records(&n.env, &svcs, true).is_empty(),
        "no lease, nothing"
    );
    lease_at(&n, req(RUN, "s1", "laptop", 42), 0);
    let sent = f.records(&n.env, &svcs, false);
    assert!(
        matches!(&sent[..], [crate::protocol::watch::WatchRecord::Run { lease: Some(v), .. }] if v.lease.run == RUN),
        "{sent:?}"
    );
    assert!(f.records(&n.env, &svcs, false).is_empty(), "unchanged");
    assert_eq!(f.records(&n.env, &svcs, true).len(), 1, "with the beat");
    release(&n, RUN, "s1");
    let sent = f.records(&n.env, &svcs, false);
    assert!(
        matches!(
            &sent[..],
            [crate::protocol::watch::WatchRecord::Run { lease: None, .. }]
        ),
        "{sent:?}"
    );
    assert!(f.records(&n.env, &svcs, true).is_empty(), "once");
}

#[test]
fn seats_asking_at_the_same_time_get_one_grant() {
    let n = node();
    let granted: usize = std::thread::scope(|s| {
        let asks: Vec<_> = (0..16)
            .map(|i| {
                let n = &n;
                s.spawn(move || {
                    lease_at(n, req(RUN, &format!("s{i}"), "laptop", i), 0)
                        .1
                        .granted
                })
            })
            .collect();
        asks.into_iter()
            .map(|h| usize::from(h.join().unwrap()))
            .sum()
    });
    assert_eq!(granted, 1);
}
