//! The console as an operator meets it: the real binary in a pseudo-terminal on the lab.

mod support;

use std::time::Duration;

use support::pty::PtyApp;
use support::TestLab;

const T: Duration = Duration::from_secs(20);

fn both_trees(s: &str) -> bool {
    s.contains("deb1 · production")
        && s.contains("deb2 · DRP")
        && s.matches("|- avail").count() == 2
}

fn deb1_avail_up(s: &str) -> bool {
    // The production tree is the left one: its avail row comes first.
    s.lines()
        .find(|l| l.contains("|- avail"))
        .is_some_and(|l| l.contains("▲ up"))
}

#[test]
fn operator_starts_and_syncs_the_lab_service_from_the_console() {
    let lab = TestLab::new();
    let dir = lab.dir.to_string_lossy().into_owned();
    let mut app = PtyApp::spawn(&["lab", "--dir", &dir], lab.dir.parent().unwrap());
    app.wait_screen(T, "both trees", both_trees);
    assert!(app.screen().contains("LIVE"));

    app.send(":start deb1\r");
    app.wait_screen(T, "the typed gate", |s| {
        s.contains("type the service name (busybox)")
    });
    app.send("busybox\r");
    app.wait_screen(T, "the start's log lines", |s| {
        s.contains("link /opt/busybox -> /srv/busybox/data")
    });
    app.wait_screen(T, "deb1 up", deb1_avail_up);

    app.send(":syncupdate\r");
    app.wait_screen(T, "the confirmation", |s| {
        s.contains("[ Cancel ]") && s.contains("[ Run ]")
    });
    app.send("\x1b[C\r");
    app.wait_screen(T, "the sync's log lines", |s| {
        s.contains("update state file with sync id")
    });
    app.wait_screen(T, "the sync rows up on both nodes", |s| {
        s.matches("|  |- sync#1      ▲ up").count() == 2
    });
    assert!(!lab.lines("deb2").is_empty(), "the data reached deb2");

    app.send("q");
    assert!(app.wait_exit(T), "the console exits with success");
    assert!(app.terminal_restored(), "the terminal is given back");
    lab.svc("deb1", &["stop"]).expect_ok("stop");
}

#[test]
fn sigterm_restores_the_terminal() {
    let lab = TestLab::new();
    let nodes = lab.dir.join("nodes.toml").to_string_lossy().into_owned();
    let mut app = PtyApp::spawn(&["console", "--nodes", &nodes], &lab.dir);
    app.wait_screen(T, "both trees", both_trees);
    let pid = app.pid().expect("pid") as i32;
    // SAFETY: kill only sends a signal to our own child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    app.wait_exit(T);
    assert!(
        app.terminal_restored(),
        "the terminal is given back on SIGTERM"
    );
}

#[test]
fn a_panic_restores_the_terminal() {
    let lab = TestLab::new();
    let nodes = lab.dir.join("nodes.toml").to_string_lossy().into_owned();
    let mut app = PtyApp::spawn_with_env(
        &["console", "--nodes", &nodes],
        &lab.dir,
        &[("DRPILOT_PANIC_AFTER_DRAW", "1")],
    );
    assert!(!app.wait_exit(T), "a panic is a failure");
    assert!(
        app.terminal_restored(),
        "the terminal is given back on panic"
    );
    let raw = String::from_utf8_lossy(&app.raw()).into_owned();
    let message = raw
        .find("DRPILOT_PANIC_AFTER_DRAW is set")
        .expect("the panic message is printed");
    assert!(
        message > raw.rfind("\x1b[?1049l").unwrap_or(usize::MAX),
        "the message comes after the restore"
    );
}

#[test]
fn read_only_and_wall_consoles_never_spawn_an_action() {
    let lab = TestLab::new();
    let nodes = lab.dir.join("nodes.toml").to_string_lossy().into_owned();
    for mode in ["--read-only", "--wall"] {
        let mut app = PtyApp::spawn(&["console", mode, "--nodes", &nodes], &lab.dir);
        app.wait_screen(T, "both nodes", |s| {
            s.contains("deb1 updated") && s.contains("deb2 updated")
        });
        assert!(app.screen().contains(if mode == "--wall" {
            "WALL"
        } else {
            "READ-ONLY"
        }));
        for keys in [
            ":start deb1\r",
            "busybox\r",
            ":stop deb1\r",
            "busybox\r",
            ":syncupdate\r",
            "\x1b[C\r",
            ":syncdrp\r",
            "\x1b[C\r",
        ] {
            app.send(keys);
        }
        app.wait_screen(T, "the refusal", |s| {
            s.contains("read-only console: actions are disabled")
        });
        app.send("q");
        app.wait_exit(T);
        assert!(app.terminal_restored());
    }
    // An action would have left its log and the lock in the state directory of the node.
    for node in ["deb1", "deb2"] {
        let state = lab.root(node).join("var/lib/drpilot/busybox");
        assert!(
            !state.join("actions.log").exists(),
            "an action ran on {node}"
        );
        assert!(
            !state.join("lock").exists(),
            "an action took the lock on {node}"
        );
    }
    assert_eq!(lab.status("deb1")["avail"], "down");
}

#[test]
fn a_missing_nodes_file_is_an_error_before_the_console_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope.toml");
    let missing_text = missing.to_string_lossy().into_owned();
    let mut app = PtyApp::spawn(&["console", "--nodes", &missing_text], tmp.path());
    assert!(!app.wait_exit(T), "a missing map is a failure");
    let raw = || String::from_utf8_lossy(&app.raw()).into_owned();
    // The last bytes may still be on their way from the pty after the exit.
    support::wait_until(T, "the error on the terminal", || {
        raw().contains("does not exist")
    });
    let raw = raw();
    assert!(
        !raw.contains("\x1b[?1049h"),
        "the console entered full screen: {raw:?}"
    );
    assert!(
        raw.contains(&format!("--nodes {missing_text}")) && raw.contains("does not exist"),
        "{raw:?}"
    );
}

#[test]
fn every_frame_is_drawn_inside_a_synchronized_update() {
    let lab = TestLab::new();
    let nodes = lab.dir.join("nodes.toml").to_string_lossy().into_owned();
    let mut app = PtyApp::spawn(&["console", "--nodes", &nodes], &lab.dir);
    app.wait_screen(T, "both trees", both_trees);
    app.send("q");
    assert!(app.wait_exit(T));
    let raw = String::from_utf8_lossy(&app.raw()).into_owned();
    let (begin, end) = ("\x1b[?2026h", "\x1b[?2026l");
    let frames: Vec<&str> = raw
        .split(begin)
        .skip(1)
        .map(|f| f.split(end).next().unwrap_or_default())
        .collect();
    assert!(!frames.is_empty(), "no synchronized update: {raw:?}");
    assert_eq!(
        raw.matches(begin).count(),
        raw.matches(end).count(),
        "a frame was left open"
    );
    assert!(
        frames.iter().any(|f| f.contains("production")),
        "the trees are drawn outside the synchronized updates"
    );
    // Between two frames the console writes nothing but the ends and starts of updates.
    for gap in raw.split(end).skip(1) {
        let outside = gap.split(begin).next().unwrap_or_default();
        assert!(
            !outside.contains("production") && !outside.contains("busybox"),
            "drawn outside a synchronized update: {outside:?}"
        );
    }
}
