//! The watch stream as the console shows it: a node whose status cannot be refreshed is never
//! shown as current, and what drpilot does on a node reaches every screen.

mod support;

use std::time::Duration;

use support::pty::PtyApp;
use support::TestLab;

const T: Duration = Duration::from_secs(20);

/// The status bar's freshness of `node` says it cannot be trusted.
fn node_flagged(s: &str, node: &str) -> bool {
    s.contains(&format!("{node} STALE")) || s.contains(&format!("{node} UNREACHABLE"))
}

#[test]
fn a_deleted_node_shows_stale_or_unreachable_within_the_staleness_limit() {
    let lab = TestLab::new();
    let nodes = lab.dir.join("nodes.toml").to_string_lossy().into_owned();
    let app = PtyApp::spawn(&["console", "--read-only", "--nodes", &nodes], &lab.dir);
    app.wait_screen(T, "both nodes fresh", |s| {
        s.contains("deb1 updated") && s.contains("deb2 updated")
    });
    std::fs::remove_dir_all(lab.root("deb2")).expect("rm -rf deb2");
    // The staleness limit is 6 s; a heartbeat comes every 2 s: flagged well within 12 s.
    app.wait_screen(Duration::from_secs(12), "deb2 flagged", |s| {
        node_flagged(s, "deb2")
    });
    let screen = app.screen();
    assert!(!screen.contains("deb2 updated 0s ago"), "{screen}");
    assert!(
        !node_flagged(&screen, "deb1"),
        "deb1 is still fresh:\n{screen}"
    );
}
