//! The README's console procedure without losing writes: cut user access, stop only the
//! application, and a stop gate on production that says how old the last sync is and offers one.

mod support;

use std::time::Duration;

use support::pty::PtyApp;
use support::TestLab;

const T: Duration = Duration::from_secs(30);

#[test]
fn stop_on_production_warns_of_the_writes_since_the_last_sync_and_offers_to_sync_first() {
    let lab = TestLab::replicated();
    let nodes = lab.dir.join("nodes.toml").to_string_lossy().into_owned();
    let mut app = PtyApp::spawn(&["console", "--nodes", &nodes], &lab.dir);
    app.wait_screen(T, "both trees with the replica age", |s| {
        s.contains("deb1 · production") && s.contains("RPO now")
    });

    app.send(":cutaccess deb1\r");
    app.wait_screen(T, "the typed gate of cutaccess", |s| {
        s.contains("type the service name (busybox)")
    });
    app.send("busybox\r");
    app.wait_screen(T, "cutaccess done", |s| {
        s.contains("cutaccess of busybox on deb1 done")
    });

    app.send(":stopapp deb1\r");
    app.wait_screen(T, "the typed gate of stopapp", |s| {
        s.contains("stopapp of busybox on deb1") && s.contains("type the service name")
    });
    app.send("busybox\r");
    app.wait_screen(T, "stopapp done", |s| {
        s.contains("stopapp of busybox on deb1 done")
    });

    app.send(":stop deb1\r");
    app.wait_screen(T, "the stop gate's warning", |s| {
        s.contains("the last sync (sync#1) ended")
            && s.contains("will be lost unless a sync runs first")
            && s.contains("[ sync first ]")
    });
    // Tab chooses "sync first"; enter runs it instead of the stop.
    app.send("\t\r");
    app.wait_screen(T, "the sync ran instead", |s| {
        s.contains("syncupdate of busybox on deb1 done")
    });
    let fs = support::resource(&lab.status("deb1"), "fs#1")["status"].clone();
    assert_eq!(fs, "up", "the sync ran, the stop did not");

    app.send("q");
    assert!(app.wait_exit(T));
    lab.svc("deb1", &["stop"]).expect_ok("stop");
}
