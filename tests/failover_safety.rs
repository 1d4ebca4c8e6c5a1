//! Failover safety on the lab, one test per rule of docs/safety.md that an adversarial review
//! broke: a peer's error is never "it is down", a disaster is never declared against a node that
//! answers, apps are judged only where the instance is up, standby resources start safely, and a
//! DRP node that does not run the service never pushes its config.

mod support;

use std::time::Duration;

use support::{bin, resource, wait_until, Run, TestLab};

const T: Duration = Duration::from_secs(20);

/// Appends a line the config reader refuses: the node then answers every verb with an error.
fn break_config(lab: &TestLab, node: &str) {
    let path = lab.config(node);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("garbage line\n");
    std::fs::write(path, text).unwrap();
}

/// Rewrites `node`'s config with `edit`.
fn edit_config(lab: &TestLab, node: &str, edit: impl Fn(&str) -> String) {
    let path = lab.config(node);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(path, edit(&text)).unwrap();
}

#[test]
fn start_is_refused_when_the_peer_answers_an_error() {
    let lab = TestLab::replicated();
    break_config(&lab, "deb1");
    let out = lab
        .svc("deb2", &["start"])
        .expect_err("start on deb2 while deb1 answers an error");
    assert!(
        out.stderr
            .contains("cannot tell whether busybox runs on deb1"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("answered an error"), "{}", out.stderr);
    assert!(out.stderr.contains("busybox.env:"), "{}", out.stderr);
    assert_eq!(
        lab.status("deb2")["avail"],
        "down",
        "nothing may start on deb2"
    );
}

#[test]
fn force_overrides_the_guard_and_the_log_says_so() {
    let lab = TestLab::replicated();
    break_config(&lab, "deb1");
    let out = lab
        .svc("deb2", &["start", "--force"])
        .expect_ok("start --force on deb2");
    assert!(
        out.stdout.contains(
            "--force overrides the split-brain guard: cannot tell whether busybox runs on deb1"
        ),
        "{}",
        out.stdout
    );
    lab.svc("deb2", &["stop"]).expect_ok("stop deb2");
}

#[test]
fn start_proceeds_when_the_peer_has_no_config_for_the_service() {
    let lab = TestLab::new();
    std::fs::remove_file(lab.config("deb2")).unwrap();
    let out = lab.svc("deb1", &["start"]).expect_ok("start on deb1");
    assert!(
        out.stdout
            .contains("deb2 answered that it has no config for the service"),
        "{}",
        out.stdout
    );
}

#[test]
fn disaster_is_refused_while_production_answers_an_error() {
    let lab = TestLab::replicated();
    break_config(&lab, "deb1");
    let state = tempfile::tempdir().unwrap();
    let out: Run = bin()
        .args(["drp", "disaster", "busybox", "--yes", "--nodes"])
        .arg(lab.dir.join("nodes.toml"))
        .env("XDG_STATE_HOME", state.path())
        .output()
        .unwrap()
        .into();
    let out = out.expect_err("drp disaster while deb1 answers");
    assert!(
        out.stdout.contains("a node that answers is not lost"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    assert_eq!(
        lab.status("deb2")["avail"],
        "down",
        "nothing may start on deb2"
    );
    assert!(!lab.lines("deb1").is_empty());
}

#[test]
fn app_checks_are_not_evaluated_where_the_instance_is_not_up() {
    let lab = TestLab::new();
    // A check that answers 0 wherever it runs (like a URL served by production).
    for node in ["deb1", "deb2"] {
        edit_config(&lab, node, |t| {
            t.replace(
                "cwd = /opt/busybox",
                "cwd = /opt/busybox\ncheck = /bin/true",
            )
        });
    }
    let st = lab.status("deb2");
    let app = resource(&st, "app#1");
    assert_eq!(app["status"], "n/a", "{st}");
    assert_eq!(app["comments"][0], "not evaluated (instance not up)");
    assert_eq!(st["avail"], "down", "{st}");
    // So production starts: the DRP node's check no longer reads as the service running there.
    lab.svc("deb1", &["start"]).expect_ok("start on deb1");
    assert_eq!(resource(&lab.status("deb1"), "app#1")["status"], "up");
}

#[test]
fn a_check_that_exits_2_is_warn_with_its_code() {
    let lab = TestLab::new();
    lab.svc("deb1", &["start"]).expect_ok("start on deb1");
    edit_config(&lab, "deb1", |t| {
        t.replace(
            "cwd = /opt/busybox",
            "cwd = /opt/busybox\ncheck = /bin/sh -c \"exit 2\"",
        )
    });
    let st = lab.status("deb1");
    let app = resource(&st, "app#1");
    assert_eq!(app["status"], "warn", "{st}");
    assert_eq!(app["comments"][0], "check reports errors (2)");
    edit_config(&lab, "deb1", |t| t.replace("exit 2", "exit 1"));
    let st = lab.status("deb1");
    assert_eq!(resource(&st, "app#1")["status"], "down", "{st}");
}

#[test]
fn startstandby_starts_only_standby_resources_while_production_runs() {
    let lab = TestLab::replicated();
    // The OpenSVC tutorial's `always_on = drpnodes`, on the lab's data "filesystem".
    for node in ["deb1", "deb2"] {
        edit_config(&lab, node, |t| {
            t.replace(
                "mnt = /opt/busybox",
                "mnt = /opt/busybox\nalways_on = drpnodes",
            )
        });
    }
    let out = lab
        .svc("deb2", &["startstandby"])
        .expect_ok("startstandby on deb2 while deb1 runs");
    assert!(!out.stdout.contains("APP#1"), "{}", out.stdout);
    let st = lab.status("deb2");
    assert_eq!(resource(&st, "fs#1")["status"], "stdby up", "{st}");
    assert_eq!(resource(&st, "app#1")["status"], "n/a", "{st}");
    assert_eq!(st["avail"], "stdby up", "{st}");
    // The service itself still may not start there.
    let refused = lab.svc("deb2", &["start"]).expect_err("start on deb2");
    assert!(refused.stderr.contains("split brain"), "{}", refused.stderr);
    // Production's guard reads the standby DRP node as not running the service.
    lab.svc("deb1", &["stop"]).expect_ok("stop deb1");
    lab.svc("deb1", &["start"])
        .expect_ok("start deb1 beside a standby deb2");
    lab.svc("deb2", &["stopstandby"])
        .expect_ok("stopstandby on deb2");
    assert_eq!(
        resource(&lab.status("deb2"), "fs#1")["status"],
        "stdby down"
    );
}

#[test]
fn stopstandby_is_refused_while_the_service_runs_here() {
    let lab = TestLab::new();
    edit_config(&lab, "deb1", |t| {
        t.replace(
            "mnt = /opt/busybox",
            "mnt = /opt/busybox\nalways_on = nodes",
        )
    });
    lab.svc("deb1", &["start"]).expect_ok("start deb1");
    let out = lab
        .svc("deb1", &["stopstandby"])
        .expect_err("stopstandby under a running service");
    assert!(
        out.stderr.contains("stop the service before"),
        "{}",
        out.stderr
    );
    assert_eq!(resource(&lab.status("deb1"), "fs#1")["status"], "stdby up");
}

#[test]
fn syncnodes_is_refused_on_a_drp_node_that_does_not_run_the_service() {
    let lab = TestLab::replicated();
    let before = std::fs::read(lab.config("deb1")).unwrap();
    edit_config(&lab, "deb2", |t| format!("{t}\n# edited on deb2\n"));
    let out = lab
        .svc("deb2", &["syncnodes"])
        .expect_err("syncnodes from the DRP node");
    assert!(
        out.stderr.contains("a DRP node of busybox"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("drpilot svc busybox syncnodes` on deb1"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read(lab.config("deb1")).unwrap(), before);
    let st = lab.status("deb1");
    assert_eq!(resource(&st, "sync#i0")["status"], "up", "{st}");
}

#[test]
fn a_drp_node_that_runs_the_service_pushes_its_config_and_syncs_back() {
    let lab = TestLab::replicated();
    lab.svc("deb1", &["stop"]).expect_ok("stop deb1");
    lab.svc("deb2", &["start"]).expect_ok("start deb2");
    wait_until(T, "deb2 writes", || !lab.lines("deb2").is_empty());
    lab.svc("deb2", &["syncnodes"])
        .expect_ok("syncnodes from the DRP node that runs the service");
    lab.svc("deb2", &["syncupdate", "--force", "--target", "deb1"])
        .expect_ok("the failback's reverse sync");
    lab.svc("deb2", &["stop"]).expect_ok("stop deb2");
}
