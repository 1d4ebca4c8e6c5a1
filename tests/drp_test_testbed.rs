//! The DRP test without downtime on the root testbed: the seed's service, running on deb1, is
//! started on deb2 from a btrfs clone of its replica inside a bubble (its own network with the
//! DRP address that deb1 cannot reach, its own mounts, its own dockerd), while a syncupdate from
//! deb1 goes through; `--end` leaves nothing on deb2.

mod support;

use drpilot::lab::testbed::seed_service::{DRP, PROD, SERVICE};
use drpilot::lab::testbed::Testbed;
use support::testbed::{bin_path, on, operator_nodes, seed_testbed, status, svc, with_volume_top};
use support::{resource, Run};

fn drp_test(tb: &Testbed, nodes: &str, state: &std::path::Path, extra: &[&str]) -> Run {
    tb.operator_command(bin_path().to_str().expect("utf-8"))
        .args(["drp", "test", SERVICE, "--nodes", nodes])
        .args(extra)
        .env("XDG_STATE_HOME", state)
        .env("NO_COLOR", "1")
        .output()
        .expect("drpilot drp test")
        .into()
}

/// The subvolumes of deb2's btrfs volume.
fn subvolumes(tb: &Testbed) -> String {
    with_volume_top(tb, DRP, |top| {
        on(tb, DRP, &["btrfs", "subvolume", "list", top]).stdout
    })
}

#[test]
fn the_seed_service_is_tested_in_a_bubble_on_deb2_while_it_runs_on_deb1() {
    let Some(tb) = seed_testbed("DRP test in a bubble on the testbed") else {
        return;
    };
    let nodes = operator_nodes(&tb);
    let state = tempfile::tempdir().expect("state dir");
    let drp_ip = tb.subnet.host(22).to_string();
    svc(&tb, PROD, SERVICE, &["start"]).expect_ok("start on deb1");
    svc(&tb, PROD, SERVICE, &["syncfullsync"]).expect_ok("syncfullsync");
    svc(&tb, PROD, SERVICE, &["syncdrp", "--force"]).expect_ok("syncdrp");
    let prod_before = status(&tb, PROD, SERVICE);

    let r = drp_test(&tb, &nodes, state.path(), &["--yes", "--keep"]).expect_ok("drp test --keep");
    assert!(r.stdout.contains("succeeded"), "{}", r.stdout);

    // The container runs in the bubble, from the clone, with the DRP address.
    let b = svc(&tb, DRP, SERVICE, &["bubblestatus"]).expect_ok("bubblestatus");
    let bubble: serde_json::Value = serde_json::from_str(b.stdout.trim()).expect("json");
    assert_eq!(bubble["running"], true, "{bubble}");
    assert_eq!(bubble["inside"]["avail"], "up", "{bubble}");
    assert_eq!(
        resource(&bubble["inside"], "container#1")["status"],
        "up",
        "{bubble}"
    );
    assert!(subvolumes(&tb).contains(".drpilot-bubble/appdata"));
    // deb2 itself neither runs the service nor holds the address; deb1 cannot reach it.
    assert!(!matches!(
        status(&tb, DRP, SERVICE)["avail"].as_str(),
        Some("up" | "warn")
    ));
    let addrs = on(&tb, DRP, &["ip", "-o", "addr", "show"]).expect_ok("ip addr on deb2");
    assert!(
        !addrs.stdout.contains(&format!("inet {drp_ip}/")),
        "{}",
        addrs.stdout
    );
    let ping = on(
        &tb,
        PROD,
        &["busybox", "ping", "-c", "1", "-W", "1", &drp_ip],
    );
    assert!(
        !ping.ok,
        "deb1 reached the bubble's address: {}",
        ping.stdout
    );

    // Replication goes on during the test.
    svc(&tb, PROD, SERVICE, &["syncupdate", "--force"])
        .expect_ok("a syncupdate from deb1 during the test");
    let prod_after = status(&tb, PROD, SERVICE);
    assert_eq!(prod_after["avail"], prod_before["avail"]);
    assert_eq!(
        resource(&prod_after, "container#1")["label"],
        resource(&prod_before, "container#1")["label"],
        "production's container never changed"
    );

    // The report holds RTO and RPO.
    let report = support::report_named_in(&r.stdout);
    assert!(report.contains("| RTO (clone of the replica"), "{report}");
    assert!(
        !report.contains(
            "| RTO (clone of the replica → application check passed in the bubble) | — |"
        ),
        "{report}"
    );
    assert!(report.contains("| RPO |"), "{report}");
    assert!(report.contains("| production untouched | yes"), "{report}");

    // --end: nothing of the test stays on deb2.
    drp_test(&tb, &nodes, state.path(), &["--end"]).expect_ok("drp test --end");
    let left = svc(&tb, DRP, SERVICE, &["bubblestatus"]).expect_ok("bubblestatus");
    let left: serde_json::Value = serde_json::from_str(left.stdout.trim()).expect("json");
    assert_eq!(left["exists"], false, "{left}");
    assert!(!subvolumes(&tb).contains(".drpilot-bubble"));
    on(
        &tb,
        DRP,
        &[
            "test",
            "!",
            "-e",
            "/var/lib/drpilot/busybox.opensvc.com/bubble",
        ],
    )
    .expect_ok("the bubble's directory is gone");
    assert_eq!(status(&tb, PROD, SERVICE)["avail"], "up");
    svc(&tb, PROD, SERVICE, &["stop"]).expect_ok("stop on deb1");
    tb.teardown().expect("teardown");
}
