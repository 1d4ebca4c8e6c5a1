//! The DRP runbook on the root testbed, from the operator's seat over SSH: a rehearsal moves the
//! seed's service to deb2 (promoting its btrfs replicas, the same container), a failback brings
//! it home with the data written on deb2, and both runs leave their reports.

mod support;

use std::time::Duration;

use drpilot::lab::testbed::seed_service::{DRP, PROD, SERVICE};
use drpilot::lab::testbed::Testbed;
use support::testbed::{bin_path, on, operator_nodes, seed_testbed, status, svc};
use support::{resource, wait_until, Run};

const T: Duration = Duration::from_secs(60);

fn drp(tb: &Testbed, nodes: &str, state: &std::path::Path, verb: &str) -> Run {
    tb.operator_command(bin_path().to_str().expect("utf-8"))
        .args(["drp", verb, SERVICE, "--yes", "--nodes", nodes])
        .env("XDG_STATE_HOME", state)
        .env("NO_COLOR", "1")
        .output()
        .expect("drpilot drp")
        .into()
}

#[test]
fn rehearsal_and_failback_on_the_testbed() {
    let Some(tb) = seed_testbed("runbook on the testbed") else {
        return;
    };
    let nodes = operator_nodes(&tb);
    let state = tempfile::tempdir().expect("state dir");
    svc(&tb, PROD, SERVICE, &["start"]).expect_ok("start on deb1");
    svc(&tb, PROD, SERVICE, &["syncfullsync"]).expect_ok("syncfullsync");
    svc(&tb, PROD, SERVICE, &["syncdrp", "--force"]).expect_ok("syncdrp");
    let id = resource(&status(&tb, PROD, SERVICE), "container#1")["label"].clone();

    let r = drp(&tb, &nodes, state.path(), "rehearse").expect_ok("rehearsal");
    assert!(r.stdout.contains("succeeded"), "{}", r.stdout);
    assert_eq!(status(&tb, DRP, SERVICE)["avail"], "up");
    assert_eq!(status(&tb, PROD, SERVICE)["avail"], "down");
    assert_eq!(
        resource(&status(&tb, DRP, SERVICE), "container#1")["label"],
        id
    );

    // Written on the DRP node while it serves: must come home with the failback.
    let mark = "/opt/busybox.opensvc.com/written-on-drp";
    on(&tb, DRP, &["touch", mark]).expect_ok("write on deb2");
    let r = drp(&tb, &nodes, state.path(), "failback").expect_ok("failback");
    assert!(r.stdout.contains("succeeded"), "{}", r.stdout);
    // A failback cuts access where the service runs: the DRP node, and its gate says so.
    assert!(
        r.stdout.contains(&format!("[gate cut_access on {DRP}]")),
        "{}",
        r.stdout
    );
    assert_eq!(status(&tb, PROD, SERVICE)["avail"], "up");
    assert_eq!(status(&tb, DRP, SERVICE)["avail"], "down");
    on(&tb, PROD, &["test", "-e", mark]).expect_ok("deb2's write is on deb1");
    wait_until(T, "the container to run on deb1 again", || {
        resource(&status(&tb, PROD, SERVICE), "container#1")["label"] == id
    });

    // Two runs, each with its journal and its three reports, named after the dotted service.
    let runs = state.path().join("drpilot/runs");
    let names: Vec<String> = std::fs::read_dir(&runs)
        .expect("runs")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    for ext in ["jsonl", "md", "html", "json"] {
        let n = names
            .iter()
            .filter(|n| n.starts_with("busybox.opensvc.com-") && n.ends_with(&format!(".{ext}")))
            .count();
        assert_eq!(n, 2, "{ext} files in {names:?}");
    }
    svc(&tb, PROD, SERVICE, &["stop"]).expect_ok("stop on deb1");
    tb.teardown().expect("teardown");
}
