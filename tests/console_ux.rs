//! The console's everyday comforts as an operator meets them, in a pseudo-terminal on the lab:
//! `:save` without a file, quitting while something runs.

mod support;

use std::time::Duration;

use support::pty::PtyApp;
use support::TestLab;

const T: Duration = Duration::from_secs(20);

fn both_trees(s: &str) -> bool {
    s.contains("deb1 · production") && s.contains("deb2 · DRP")
}

#[test]
fn save_without_a_file_writes_the_stated_default_path_and_says_it() {
    let lab = TestLab::new();
    let dir = lab.dir.to_string_lossy().into_owned();
    let cwd = tempfile::tempdir().unwrap();
    let mut app = PtyApp::spawn(&["lab", "--dir", &dir], cwd.path());
    app.wait_screen(T, "both trees", both_trees);
    app.send(":save\r");
    let cwd_text = cwd
        .path()
        .canonicalize()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    app.wait_screen(T, "the saved path", |s| s.contains("log saved to "));
    let screen = app.screen();
    assert!(
        !screen.contains("No such file"),
        "a successful save reports no error:\n{screen}"
    );
    let saved: Vec<_> = std::fs::read_dir(cwd.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("drpilot-log-") && n.ends_with(".txt"))
        .collect();
    assert_eq!(saved.len(), 1, "one log file in the current directory");
    // The message names the file by its full path (the screen may wrap it: compare its start).
    let shown = screen
        .lines()
        .find(|l| l.contains("log saved to "))
        .unwrap_or_default()
        .to_string();
    let cwd_short: String = cwd_text.chars().take(20).collect();
    assert!(shown.contains(&cwd_short), "{shown} names {cwd_text}");
    app.send("q");
    assert!(app.wait_exit(T));
}

#[test]
fn quitting_while_an_action_runs_asks_first() {
    let lab = TestLab::new();
    let dir = lab.dir.to_string_lossy().into_owned();
    let mut app = PtyApp::spawn(&["lab", "--dir", &dir], lab.dir.parent().unwrap());
    app.wait_screen(T, "both trees", both_trees);
    // Another action holds the service's lock: the console's start waits for it, in flight.
    let env = drpilot::paths::NodeEnv::new(lab.root("deb1"), "deb1");
    let held = drpilot::lock::acquire(&env, "busybox", "test", Duration::from_secs(5)).unwrap();
    app.send(":start deb1\r");
    app.wait_screen(T, "the typed gate", |s| s.contains("type the service name"));
    app.send("busybox\r");
    app.wait_screen(T, "the start running", |s| {
        s.contains("start of busybox on deb1: running")
    });
    app.send("q");
    app.wait_screen(T, "the quit question", |s| {
        s.contains("still running:") && s.contains("start of busybox on deb1")
    });
    app.send("n");
    app.wait_screen(T, "the console stays", |s| {
        s.contains("quit cancelled") && !s.contains("quit?")
    });
    app.send(":q\r");
    app.wait_screen(T, "the question again", |s| s.contains("still running:"));
    app.send("y");
    assert!(app.wait_exit(T), "confirming quits");
    assert!(app.terminal_restored());
    drop(held);
}

#[test]
fn a_failed_start_is_logged_once_and_the_log_line_can_be_copied() {
    let lab = TestLab::new();
    let dir = lab.dir.to_string_lossy().into_owned();
    let mut app = PtyApp::spawn(&["lab", "--dir", &dir], lab.dir.parent().unwrap());
    app.wait_screen(T, "both trees", both_trees);
    app.send(":start deb1\r");
    app.wait_screen(T, "the typed gate", |s| s.contains("type the service name"));
    app.send("busybox\r");
    app.wait_screen(T, "deb1 started", |s| {
        s.contains("start of busybox on deb1 done")
    });
    // The split-brain guard refuses deb2: the agent logs the failure, the console must not
    // log it a second time.
    app.send(":start deb2\r");
    app.wait_screen(T, "the typed gate", |s| s.contains("type the service name"));
    app.send("busybox\r");
    app.wait_screen(T, "the refusal", |s| {
        s.contains("start of busybox on deb2 FAILED")
    });
    let screen = app.screen();
    assert_eq!(
        screen.matches("start failed").count(),
        1,
        "one failure, one log line:\n{screen}"
    );
    // y copies the newest line (the failure) to the terminal's clipboard with OSC 52; m gives
    // the mouse back to the terminal.
    app.send("y");
    app.wait_screen(T, "the copy", |s| s.contains("copied: "));
    let raw = String::from_utf8_lossy(&app.raw()).into_owned();
    assert!(raw.contains("\x1b]52;c;"), "an OSC 52 sequence was written");
    let before = raw.matches("\x1b[?1000l").count();
    app.send("m");
    app.wait_screen(T, "the mouse given back", |s| s.contains("mouse off"));
    let raw = String::from_utf8_lossy(&app.raw()).into_owned();
    assert!(
        raw.matches("\x1b[?1000l").count() > before,
        "mouse capture off"
    );
    app.send("S");
    app.wait_screen(T, "the stop gate", |s| s.contains("type the service name"));
    app.send("busybox\r");
    app.wait_screen(T, "deb1 stopped", |s| {
        s.contains("stop of busybox on deb1 done")
    });
    app.send("q");
    assert!(app.wait_exit(T));
}
