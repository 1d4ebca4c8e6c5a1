//! The console's pseudo-terminal test, once against the root testbed: both hosts watched over
//! real SSH, the seed's service started on deb1 through its typed gate, synced to deb2, and the
//! terminal given back at the end.

mod support;

use std::time::Duration;

use drpilot::lab::testbed::seed_service::{PROD, SERVICE};
use support::pty::PtyApp;
use support::testbed::{operator_nodes, seed_testbed, svc};

const T: Duration = Duration::from_secs(60);

#[test]
fn operator_starts_and_syncs_the_seed_service_over_ssh() {
    let Some(tb) = seed_testbed("console on the testbed") else {
        return;
    };
    let nodes = operator_nodes(&tb);
    // The console sits where an operator would: on the testbed's network, not this machine's.
    let mut app = PtyApp::spawn_in_netns(tb.switch_pid, &["console", "--nodes", &nodes], &tb.dir);
    app.wait_screen(T, "both trees over SSH", |s| {
        s.contains("deb1.opensvc.com · production")
            && s.contains("deb2.opensvc.com · DRP")
            && s.matches("|- avail").count() == 2
    });
    app.send(&format!(":start {PROD}\r"));
    app.wait_screen(T, "the typed gate", |s| {
        s.contains(&format!("type the service name ({SERVICE})"))
    });
    app.send(&format!("{SERVICE}\r"));
    app.wait_screen(T, "the container's start in the log", |s| {
        s.contains("wait for container operational")
    });
    app.wait_screen(T, "deb1 up", |s| {
        s.lines()
            .find(|l| l.contains("|- avail"))
            .is_some_and(|l| l.contains("▲ up"))
    });
    // Syncs fail fast while another action holds the service lock: wait for the start's end.
    app.wait_screen(T, "the start to finish", |s| {
        s.contains(&format!("start of {SERVICE} on {PROD} done"))
    });
    app.send(":syncupdate\r");
    app.wait_screen(T, "the confirmation", |s| {
        s.contains("[ Cancel ]") && s.contains("[ Run ]")
    });
    app.send("\x1b[C\r");
    app.wait_screen(T, "the sync rows up on both nodes", |s| {
        s.matches("|  |- sync#1      ▲ up").count() == 2
            && s.matches("|  |- sync#2      ▲ up").count() == 2
    });
    app.send("q");
    assert!(app.wait_exit(T), "the console exits with success");
    assert!(app.terminal_restored(), "the terminal is given back");
    svc(&tb, PROD, SERVICE, &["stop"]).expect_ok("stop on deb1");
    tb.teardown().expect("teardown");
}

#[test]
fn the_rehearsal_sandbox_opens_the_console_and_leaves_nothing_behind() {
    if !support::root_testbed_ready(
        "drpilot lab --netns",
        &[
            "unshare",
            "nsenter",
            "docker-init",
            "ip",
            "losetup",
            "ssh",
            "dockerd",
            "docker",
            "btrfs",
            "arping",
            "busybox",
        ],
    ) {
        return;
    }
    let cwd = tempfile::tempdir().expect("cwd");
    let mut app = PtyApp::spawn(&["lab", "--netns"], cwd.path());
    // Built, deployed, started on deb1 and synced: the console shows it up and replicated.
    app.wait_screen(Duration::from_secs(180), "the sandbox's console", |s| {
        s.contains("deb1.opensvc.com · production")
            && s.lines()
                .find(|l| l.contains("|- avail"))
                .is_some_and(|l| l.contains("▲ up"))
            && s.matches("|  |- sync#2      ▲ up").count() == 2
    });
    let dir = String::from_utf8_lossy(&app.raw())
        .lines()
        .find_map(|l| l.trim().strip_prefix("testbed: ").map(str::to_string))
        .expect("the sandbox says where it lives");
    app.send("q");
    assert!(app.wait_exit(T), "the console exits");
    assert!(app.terminal_restored(), "the terminal is given back");
    support::wait_until(T, "the sandbox torn down", || {
        !std::path::Path::new(dir.trim()).exists()
    });
}
