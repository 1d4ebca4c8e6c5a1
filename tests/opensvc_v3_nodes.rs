//! Nodes that run the OpenSVC v3 agent (`flavor = "opensvc3"`), reached through drpilot's
//! transport: discovery from its JSON lists, the instance status mapped with what only it
//! reports (frozen, provisioned, the monitor's state), an instance action with its stderr log
//! read into records with their levels and resources. The agent is a script replaying the
//! documents of tests/fixtures/opensvc-v3 (built from the v3 source's field names, see its
//! README).

mod support;

use std::time::{Duration, Instant};

use drpilot::protocol::log::{Level, LogRecord};
use drpilot::protocol::verb::{Action, SvcFlags};
use drpilot::protocol::watch::{ProbeCause, WatchRecord};
use drpilot::runbook::nodes::{service_nodes, MapOps, NodeOps};
use drpilot::status::{Status, SCHEMA_REPORTED};
use support::opensvc::Replay;

const REPLAY: &str = r#"#!/bin/sh
# Replays an OpenSVC v3 agent for service demo; the node's files are under $DRPILOT_ROOT.
case "$1 $2 $3" in
  "svc ls -o") cat "$DRPILOT_ROOT/svc-ls.json" ;;
  "demo config get") cat "$DRPILOT_ROOT/kw-$5.json" ;;
  "demo instance status") cat "$DRPILOT_ROOT/status.json" ;;
  "demo instance start"|"demo instance stop")
    echo "$*" >> "$DRPILOT_ROOT/commands"
    cat "$DRPILOT_ROOT/$3.log" >&2
    cp "$DRPILOT_ROOT/after-$3.json" "$DRPILOT_ROOT/status.json" ;;
  "daemon events --filter")
    # The daemon pushes the recorded events once the test says the node changed.
    i=0
    while [ ! -f "$DRPILOT_ROOT/emit" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
    if [ -f "$DRPILOT_ROOT/emit" ]; then cat "$DRPILOT_ROOT/events.jsonl"; fi
    i=0
    while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done ;;
  *) echo "Error: unknown command $*" >&2; exit 1 ;;
esac
"#;

fn setup() -> Replay {
    let mut files = Vec::new();
    for node in ["deb1", "deb2"] {
        files.push((node, "svc-ls.json", "svc-ls.json"));
        files.push((node, "kw-nodes.json", "kw-nodes.json"));
        files.push((node, "kw-drpnodes.json", "kw-drpnodes.json"));
    }
    files.push(("deb1", "status-deb1-down.json", "status.json"));
    files.push(("deb1", "start-deb1.log", "start.log"));
    files.push(("deb1", "status-deb1-up.json", "after-start.json"));
    files.push(("deb1", "events-deb1.jsonl", "events.jsonl"));
    Replay::new(REPLAY, "opensvc3", "opensvc-v3", &files)
}

#[test]
fn an_opensvc3_node_is_discovered_read_and_driven_through_the_transport() {
    let s = setup();

    // Discovery: the root namespace's services, with their nodes and DRP nodes.
    let nodes = service_nodes(&s.pool, "demo").expect("discovery");
    assert_eq!(nodes.nodes, ["deb1"]);
    assert_eq!(nodes.drpnodes, ["deb2"]);

    // Status: the agent's verdicts, the comments from its log entries, what only it reports.
    let ops = MapOps::new(&s.pool, "demo");
    let st = ops.status("deb1").expect("status of deb1");
    assert_eq!((st.avail, st.overall), (Status::Down, Status::Down));
    assert_eq!(st.schema, SCHEMA_REPORTED);
    assert_eq!(st.reported.frozen, Some(false));
    assert_eq!(st.reported.monitor.as_deref(), Some("idle"));
    let sync = st.resources.iter().find(|r| r.rid == "sync#1").unwrap();
    assert_eq!(sync.comments, ["deb2 never synced"]);
    assert!(sync.flags.optional);
    assert_eq!(ops.answer("deb1").runs(), Some(false));

    // A start needs the seat's guard (--force), then runs inline (`instance start`, no --node).
    let json = SvcFlags {
        json: true,
        ..SvcFlags::default()
    };
    let r = ops.act("deb1", &Action::Start(None), &json).expect("start");
    assert!(
        !r.ok && r.output.contains("OpenSVC v3 node, without --force"),
        "{}",
        r.output
    );
    assert!(s.commands("deb1").is_empty());
    let forced = SvcFlags {
        force: true,
        ..json
    };
    let r = ops
        .act("deb1", &Action::Start(None), &forced)
        .expect("start");
    assert!(r.ok, "{}", r.output);
    assert_eq!(s.commands("deb1"), ["demo instance start --color no"]);
    let recs: Vec<LogRecord> = r.output.lines().filter_map(LogRecord::parse).collect();
    let warning = recs
        .iter()
        .find(|r| r.level == Level::Warning)
        .expect("a warning");
    assert_eq!(
        (warning.rid.as_str(), warning.msg.as_str()),
        ("sync#1", "deb2 never synced")
    );
    assert!(recs.iter().any(|r| r.rid == "app#1"));
    let st = ops.status("deb1").expect("status after the start");
    assert_eq!((st.avail, st.overall), (Status::Up, Status::Warn));
    assert_eq!(st.reported.frozen, Some(true));

    // What the agent has no verb for is refused in words, never guessed.
    let r = ops
        .act("deb2", &Action::StopStandby, &SvcFlags::default())
        .expect("stopstandby");
    assert!(!r.ok);
    assert!(
        r.output
            .contains("not available on deb2, an OpenSVC v3 node"),
        "{}",
        r.output
    );
}

#[test]
fn a_watch_on_an_opensvc3_node_follows_its_daemon_s_events_between_polls() {
    let s = setup();
    let rt = drpilot::transport::runtime().expect("runtime");
    rt.block_on(async {
        let link = s.pool.link("deb1").await.expect("link");
        let args = drpilot::transport::client::agent_watch(&["demo".to_string()]);
        let mut stream = link.spawn_lines(&args).await.expect("watch");
        let first = next(&mut stream, ProbeCause::Periodic).await;
        assert_eq!(first.avail, Status::Down);
        // The node changes: its daemon pushes the new status (a poll would still read down;
        // the peer's instance in the stream is not this node's).
        std::fs::write(s.root.join("deb1/emit"), "").unwrap();
        let st = next(&mut stream, ProbeCause::Notified).await;
        assert_eq!(st.avail, Status::Up);
        assert_eq!((st.service.as_str(), st.node.as_str()), ("demo", "deb1"));
    });
}

/// The next status record of a watch whose cause is `cause`, within 30 s.
async fn next(
    stream: &mut drpilot::transport::LineStream,
    cause: ProbeCause,
) -> Box<drpilot::status::ServiceStatus> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = tokio::time::timeout(left, stream.next_line())
            .await
            .expect("a status in time")
            .expect("the watch")
            .expect("the watch goes on");
        if let Ok(WatchRecord::Status { status, cause: c }) = serde_json::from_str(&line) {
            if c == Some(cause) {
                return status;
            }
        }
    }
}
