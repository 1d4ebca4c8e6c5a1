//! Nodes that run the OpenSVC v2 agent, reached through drpilot's transport (`flavor =
//! "opensvc2"` in nodes.toml): discovery, status and actions answered by the agent's own
//! commands and read back into drpilot's values. The agent is a script replaying the outputs
//! recorded from a real v2 setup (tests/fixtures/opensvc-v2).

use std::path::Path;

mod support;

use drpilot::agent::peer_answer::PeerAnswer;
use drpilot::protocol::log::{Level, LogRecord};
use drpilot::protocol::verb::{Action, SvcFlags};
use drpilot::runbook::nodes::{service_nodes, MapOps, NodeOps};
use drpilot::status::Status;
use support::opensvc::Replay;

const REPLAY: &str = r#"#!/bin/sh
# Replays a recorded OpenSVC v2 agent for service demo; the node's files are under $DRPILOT_ROOT.
case "$1 $2" in
  "svc ls") echo demo ;;
  "demo get") case "$4" in nodes) echo deb1 ;; drpnodes) echo deb2 ;; esac ;;
  "demo print") cat "$DRPILOT_ROOT/status.json" ;;
  "demo start"|"demo stop"|"demo syncupdate"|"demo run")
    echo "$*" > "$DRPILOT_ROOT/last-command"
    echo "$*" >> "$DRPILOT_ROOT/commands"
    if [ -f "$DRPILOT_ROOT/fail-$2" ]; then echo "E $2 failed"; exit 1; fi
    if [ -f "$DRPILOT_ROOT/$2.log" ]; then cat "$DRPILOT_ROOT/$2.log"; fi
    if [ -f "$DRPILOT_ROOT/after-$2.json" ]; then
      cp "$DRPILOT_ROOT/after-$2.json" "$DRPILOT_ROOT/status.json"
    fi ;;
  *) echo "om: unknown command $*" >&2; exit 1 ;;
esac
"#;

type Setup = Replay;

fn fixture(rel: &str) -> std::path::PathBuf {
    support::opensvc::fixture(&format!("opensvc-v2/{rel}"))
}

/// deb1 down, deb2 down; deb1's start replays the recorded start.
fn setup() -> Setup {
    setup_with(&[
        (
            "deb1",
            "status/S1-prod-all-down-osvc2-deb1.json",
            "status.json",
        ),
        ("deb1", "logs/S2a-osvc2-deb1-start.log", "start.log"),
        (
            "deb1",
            "status/S2a-prod-up-never-synced-osvc2-deb1.json",
            "after-start.json",
        ),
        (
            "deb2",
            "status/S1-drp-all-down-osvc2-deb2.json",
            "status.json",
        ),
    ])
}

/// Two replaying nodes, each given `files` (node, fixture, name on the node).
fn setup_with(files: &[(&str, &str, &str)]) -> Setup {
    Replay::new(REPLAY, "opensvc2", "opensvc-v2", files)
}

#[test]
fn an_opensvc_node_is_discovered_read_and_driven_through_the_transport() {
    let s = setup();
    let nodes = service_nodes(&s.pool, "demo").expect("discovery");
    assert_eq!(nodes.nodes, vec!["deb1".to_string()]);
    assert_eq!(nodes.drpnodes, vec!["deb2".to_string()]);

    let ops = MapOps::new(&s.pool, "demo");
    let st = ops.status("deb1").expect("status of deb1");
    assert_eq!((st.service.as_str(), st.node.as_str()), ("demo", "deb1"));
    assert_eq!(st.avail, Status::Down);
    // No state directory on deb1: no replica age is claimed, not even "never".
    assert!(st.syncs.is_empty(), "{:?}", st.syncs);
    // The agent's last_sync files give each sync resource its last sync (never: no file).
    s.synced(
        "deb1",
        "sync#1",
        "deb2",
        std::time::Duration::from_secs(300),
    );
    let st = ops.status("deb1").expect("status of deb1");
    let sync1 = st.syncs.iter().find(|x| x.rid == "sync#1").expect("sync#1");
    let at = chrono::DateTime::parse_from_rfc3339(sync1.last_sync.as_deref().unwrap()).unwrap();
    let age = chrono::Utc::now() - at.with_timezone(&chrono::Utc);
    assert!((295..=330).contains(&age.num_seconds()), "{age}");
    let i0 = st
        .syncs
        .iter()
        .find(|x| x.rid == "sync#i0")
        .expect("sync#i0");
    assert_eq!(i0.last_sync, None);
    // The split-brain guard reads it as drpilot's own answer: the service does not run there.
    assert_eq!(ops.answer("deb1").runs(), Some(false));
    assert_eq!(ops.answer("deb2").runs(), Some(false));

    // Fail closed: drpilot's split-brain guard does not run through the agent, so a start
    // needs the operator's --force; nothing reaches the agent without it.
    let json = SvcFlags {
        json: true,
        ..SvcFlags::default()
    };
    let r = ops.act("deb1", &Action::Start(None), &json).expect("start");
    assert!(!r.ok);
    assert!(r.output.contains("without --force"), "{}", r.output);
    assert!(!s.root.join("deb1/last-command").exists());
    // With it, a start through the agent (`--local`), its log as drpilot's records.
    let flags = SvcFlags {
        json: true,
        force: true,
        ..SvcFlags::default()
    };
    let r = ops
        .act("deb1", &Action::Start(None), &flags)
        .expect("start");
    assert!(r.ok, "{}", r.output);
    let recs: Vec<LogRecord> = r.output.lines().filter_map(LogRecord::parse).collect();
    assert!(!recs.is_empty(), "{}", r.output);
    assert!(recs.iter().any(|rec| rec.level == Level::Warning));
    assert!(recs.iter().any(|rec| rec.rid == "app#1"));
    let sent = std::fs::read_to_string(s.root.join("deb1/last-command")).unwrap();
    assert_eq!(sent.trim(), "demo start --local");
    assert!(matches!(ops.answer("deb1"), PeerAnswer::Status(ref st) if st.avail.is_active()));
    assert_eq!(ops.answer("deb1").runs(), Some(true));

    // What the agent cannot do is refused with a sentence, never guessed.
    let r = ops.act("deb2", &Action::AppCheck, &SvcFlags::default());
    let text = match r {
        Ok(r) => {
            assert!(!r.ok);
            r.output
        }
        Err(e) => format!("{e:#}"),
    };
    assert!(
        text.contains("not available on deb2, an OpenSVC v2 node"),
        "{text}"
    );
}

#[test]
fn the_console_shows_opensvc_nodes_and_starts_after_asking_the_others() {
    let s = setup();
    let state = tempfile::tempdir().unwrap();
    let nodes = s.nodes.to_string_lossy().into_owned();
    let st = state.path().to_string_lossy().into_owned();
    let mut app = support::pty::PtyApp::spawn_with_env(
        &["console", "--nodes", &nodes],
        &s.root,
        &[("XDG_STATE_HOME", st.as_str())],
    );
    let t = std::time::Duration::from_secs(30);
    app.wait_screen(t, "both OpenSVC trees with their agent named", |sc| {
        sc.contains("deb1 · production")
            && sc.matches("|- avail").count() == 2
            && sc.contains("OpenSVC v2")
    });
    let screen = app.screen();
    assert!(
        screen.contains("stdby down"),
        "deb2's standby resource: {screen}"
    );
    // A start through its gate: the seat runs the split-brain guard the agent lacks (deb2
    // answers it does not run demo), then the agent starts it; its log comes with its levels.
    app.send(":start deb1\r");
    app.wait_screen(t, "the start's gate", |sc| {
        sc.contains("start of demo on deb1")
    });
    app.send("demo\r");
    app.wait_screen(t, "the start done, its log with its levels", |sc| {
        sc.contains("start of demo on deb1 done") && sc.contains("WARNING")
    });
    let screen = app.screen();
    assert!(
        screen.contains("split-brain guard (asked from this seat)"),
        "{screen}"
    );
    let sent = std::fs::read_to_string(s.root.join("deb1/last-command")).unwrap();
    assert_eq!(sent.trim(), "demo start --local");

    // deb2 now runs demo: the seat's guard refuses the next start, nothing reaches the agent.
    std::fs::remove_file(s.root.join("deb1/last-command")).unwrap();
    std::fs::copy(
        fixture("status/S5-drp-up-osvc2-deb2.json"),
        s.root.join("deb2/status.json"),
    )
    .unwrap();
    app.send(":start deb1\r");
    app.wait_screen(t, "the second start's gate", |sc| {
        sc.contains("start of demo on deb1")
    });
    app.send("demo\r");
    app.wait_screen(t, "the refusal: split brain", |sc| {
        sc.contains("start of demo on deb1 FAILED") && sc.contains("split brain")
    });
    assert!(!s.root.join("deb1/last-command").exists());
    app.send("q");
    assert!(app.wait_exit(t));
}

/// Production up and replicated, the DRP node's standby up; deb1's stop and deb2's start replay
/// the recorded failover.
fn failover_setup() -> Setup {
    setup_with(&[
        (
            "deb1",
            "status/S3-prod-up-synced-osvc2-deb1.json",
            "status.json",
        ),
        ("deb1", "logs/S5-osvc2-deb1-stop.log", "stop.log"),
        (
            "deb1",
            "status/S5-prod-stopped-after-sync-osvc2-deb1.json",
            "after-stop.json",
        ),
        (
            "deb2",
            "status/S4-drp-standby-up-osvc2-deb2.json",
            "status.json",
        ),
        ("deb2", "logs/S5-osvc2-deb2-start.log", "start.log"),
        (
            "deb2",
            "status/S5-drp-up-osvc2-deb2.json",
            "after-start.json",
        ),
    ])
}

fn rehearse(s: &Setup, seat: &Path) -> support::Run {
    support::bin()
        .args(["drp", "rehearse", "demo", "--yes", "--nodes"])
        .arg(&s.nodes)
        .env("XDG_STATE_HOME", seat)
        .output()
        .expect("run drpilot")
        .into()
}

#[test]
fn a_rehearsal_on_opensvc_nodes_goes_around_what_their_agent_cannot_do_and_says_so() {
    let s = failover_setup();
    let seat = tempfile::tempdir().unwrap();
    let run = rehearse(&s, seat.path());
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    let out = format!("{}{}", run.stdout, run.stderr);

    // The agents were told the tutorial's procedure, each verb on its own node, nothing else.
    assert_eq!(
        s.commands("deb1"),
        ["demo syncupdate --local --force", "demo stop --local"],
        "{out}"
    );
    // The start reached deb2's agent only after this seat asked deb1 (the agent has no guard).
    assert_eq!(s.commands("deb2"), ["demo start --local"], "{out}");
    assert!(
        out.contains("split-brain guard (asked from this seat): deb1"),
        "{out}"
    );

    // The preflight listed what the agents do not do, and the run went around it visibly.
    for said in [
        "preflight: deb1, deb2 (OpenSVC v2): no run lease or journal there",
        "preflight: deb1, deb2 (OpenSVC v2): no split-brain guard",
        "preflight: deb1 (OpenSVC v2): no cut_access command in the node map",
        "preflight: deb2 (OpenSVC v2): no app_check task in the node map",
        "preflight: deb1 (OpenSVC v2): no sync progress is reported",
        "cut_access: skipped (done by hand: deb1 (OpenSVC v2): no cut_access",
        "application check skipped",
    ] {
        assert!(out.contains(said), "missing {said:?} in:\n{out}");
    }

    // The report: the skipped step with its reason, the gaps, the measures.
    let report = support::report_named_in(&run.stdout);
    assert!(report.contains("outcome: **succeeded**"), "{report}");
    assert!(
        report.contains("| cut_access | skipped (deb1 (OpenSVC v2): no cut_access command"),
        "{report}"
    );
    assert!(
        report.contains("## Done from this seat or by hand"),
        "{report}"
    );
    assert!(
        report.contains("deb2 (OpenSVC v2): no app_check task"),
        "{report}"
    );
    assert!(report.contains("| RPO | 0 s |"), "{report}");
    assert!(
        !report.contains("| RTO (stop production → DRP verified up) | — |"),
        "{report}"
    );
    // The journal lives on this seat alone: nothing was written on the nodes but the replay's
    // own files.
    for node in ["deb1", "deb2"] {
        assert!(!s.root.join(node).join("var").exists());
    }
}

#[test]
fn a_disaster_on_opensvc_nodes_starts_the_drp_node_with_its_replica_age_as_the_rpo() {
    let s = failover_setup();
    // The DRP node's agent last received the data 10 minutes ago; production is lost.
    s.synced(
        "deb2",
        "sync#1",
        "deb2",
        std::time::Duration::from_secs(600),
    );
    std::fs::rename(s.root.join("deb1"), s.root.join("deb1.lost")).unwrap();
    let seat = tempfile::tempdir().unwrap();
    let run: support::Run = support::bin()
        .args(["drp", "disaster", "demo", "--yes", "--nodes"])
        .arg(&s.nodes)
        .env("XDG_STATE_HOME", seat.path())
        .output()
        .expect("run drpilot")
        .into();
    let out = format!("{}{}", run.stdout, run.stderr);
    assert!(run.ok, "{out}");
    // The declared-lost production does not block the seat's guard; the start reached deb2.
    assert!(out.contains("RPO: the last replica on deb2 is 6"), "{out}");
    assert!(
        out.contains("split-brain guard (asked from this seat): deb1")
            && out.contains("declared lost"),
        "{out}"
    );
    assert_eq!(s.commands("deb2"), ["demo start --local"], "{out}");
    let report = support::report_named_in(&run.stdout);
    assert!(report.contains("| RPO | 6"), "{report}");
}

#[test]
fn a_failed_stop_on_opensvc_nodes_is_rolled_back_through_the_seat_s_guard() {
    let s = failover_setup();
    std::fs::write(s.root.join("deb1/fail-stop"), "").unwrap();
    let seat = tempfile::tempdir().unwrap();
    let run = rehearse(&s, seat.path());
    let out = format!("{}{}", run.stdout, run.stderr);
    assert!(!run.ok, "{out}");
    // --yes chooses the rollback: production is started again, after the seat asked deb2.
    assert_eq!(
        s.commands("deb1"),
        [
            "demo syncupdate --local --force",
            "demo stop --local",
            "demo start --local"
        ],
        "{out}"
    );
    assert!(s.commands("deb2").is_empty(), "{out}");
    support::assert_order(
        &out,
        &[
            "stop_production failed",
            "rollback: start on deb1",
            "split-brain guard (asked from this seat): deb2",
            "run aborted at stop_production: rolled back",
        ],
    );
    // The cut done by hand is undone by hand: the run says so.
    assert!(
        out.contains("user access to deb1 was cut by hand: restore it by hand"),
        "{out}"
    );
}
