//! The wall screen on the lab, as it hangs in an operations room: the real binary in a
//! pseudo-terminal.

mod support;

use std::time::Duration;

use support::pty::PtyApp;
use support::TestLab;

const T: Duration = Duration::from_secs(20);

#[test]
fn the_wall_shows_the_drp_node_in_standby_and_the_replica_age() {
    let lab = TestLab::replicated();
    let nodes = lab.dir.join("nodes.toml").to_string_lossy().into_owned();
    let mut app = PtyApp::spawn(&["console", "--wall", "--nodes", &nodes], &lab.dir);
    app.wait_screen(T, "both tiles with the replica age", |s| {
        s.contains("busybox · deb1 ")
            && s.contains("busybox · deb2 ")
            && s.contains("STANDBY")
            && s.contains("▲ UP")
            && s.contains("RPO ")
    });
    let screen = app.screen();
    assert!(
        !screen.contains("DOWN"),
        "the DRP node in standby must never read DOWN:\n{screen}"
    );
    assert!(screen.contains("▲ UP"), "production runs:\n{screen}");
    assert!(screen.contains("UTC"), "the clock:\n{screen}");
    assert!(screen.contains("q quit"), "{screen}");
    assert!(
        !screen.contains("? help") && !screen.contains("tab focus"),
        "the wall advertises only keys that work there:\n{screen}"
    );
    app.send("q");
    app.wait_exit(T);
    assert!(app.terminal_restored());
}
