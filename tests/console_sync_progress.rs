//! A manual sync from the console shows the runbook's transfer bar (rate, ETA), never the raw
//! `progress bytes=…` lines of the action log.

mod support;

use std::time::Duration;

use support::pty::PtyApp;
use support::TestLab;

const T: Duration = Duration::from_secs(30);

#[test]
fn a_manual_sync_shows_a_progress_bar_and_never_raw_progress_lines() {
    let lab = TestLab::replicated();
    // Something to send.
    std::fs::write(
        lab.data_file("deb1").with_file_name("big.bin"),
        vec![7u8; 3 << 20],
    )
    .unwrap();
    let nodes = lab.dir.join("nodes.toml").to_string_lossy().into_owned();
    let mut app = PtyApp::spawn(&["console", "--nodes", &nodes], &lab.dir);
    app.wait_screen(T, "both trees", |s| s.matches("|- avail").count() == 2);
    app.send(":syncupdate\r");
    app.wait_screen(T, "the gate", |s| s.contains("[ Run ]"));
    app.send("\x1b[C\r");
    app.wait_screen(T, "the sync's end with its bar", |s| {
        s.contains("syncupdate of busybox on deb1 done") && s.contains("100%") && s.contains("ETA")
    });
    let screen = app.screen();
    assert!(
        !screen.contains("progress bytes="),
        "raw progress lines in the log:\n{screen}"
    );
    assert!(screen.contains("sync#1 ██████████ 100%"), "{screen}");
    app.send("q");
    assert!(app.wait_exit(T));
    lab.svc("deb1", &["stop"]).expect_ok("stop");
}
