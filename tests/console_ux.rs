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
