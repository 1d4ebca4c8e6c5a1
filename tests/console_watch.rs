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

/// The records of a running `drpilot agent watch`, read by a thread as they come.
struct WatchReader {
    child: std::process::Child,
    lines: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
}

impl WatchReader {
    fn start(lab: &TestLab, node: &str) -> Self {
        use std::io::BufRead;
        let mut child = lab
            .node_cmd(node)
            .args(["agent", "watch"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("agent watch");
        let out = child.stdout.take().expect("stdout");
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str(&l) {
                    sink.lock().unwrap().push(v);
                }
            }
        });
        Self { child, lines }
    }

    fn records(&self) -> Vec<serde_json::Value> {
        self.lines.lock().unwrap().clone()
    }
}

impl Drop for WatchReader {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn avail(rec: &serde_json::Value) -> Option<&str> {
    (rec["type"] == "status").then(|| rec["status"]["avail"].as_str().unwrap_or(""))
}

#[test]
fn an_action_reaches_the_watch_stream_at_once_through_its_change_notice() {
    let lab = TestLab::new();
    let watch = WatchReader::start(&lab, "deb1");
    support::wait_until(T, "the first status", || {
        watch.records().iter().any(|r| avail(r) == Some("down"))
    });
    lab.svc("deb1", &["start"]).expect_ok("start");
    support::wait_until(Duration::from_secs(1), "the new status", || {
        watch.records().iter().any(|r| avail(r) == Some("up"))
    });
    let up = watch
        .records()
        .into_iter()
        .find(|r| avail(r) == Some("up"))
        .expect("the up status");
    assert_eq!(
        up["cause"], "notified",
        "the status was probed because the action said so: {up}"
    );
    lab.svc("deb1", &["stop"]).expect_ok("stop");
}

/// The production tree (the left one) shows `word` on its avail row.
fn deb1_avail_is(s: &str, word: &str) -> bool {
    s.lines()
        .find(|l| l.contains("|- avail"))
        .is_some_and(|l| l.contains(word))
}

#[test]
fn a_change_drpilot_makes_reaches_a_watching_console_at_once() {
    let lab = TestLab::new();
    let nodes = lab.dir.join("nodes.toml").to_string_lossy().into_owned();
    let app = PtyApp::spawn(&["console", "--read-only", "--nodes", &nodes], &lab.dir);
    app.wait_screen(T, "deb1 down and fresh", |s| {
        s.contains("deb1 updated") && deb1_avail_is(s, "▼ down")
    });
    // The action's change notice makes the watch probe at once (the stream's record says
    // `notified`: an_action_reaches_the_watch_stream_at_once_through_its_change_notice); the
    // screen follows within the same second, never a probe period later plus a redraw.
    lab.svc("deb1", &["start"]).expect_ok("start");
    app.wait_screen(Duration::from_secs(1), "deb1 up on the screen", |s| {
        deb1_avail_is(s, "▲ up")
    });
    lab.svc("deb1", &["stop"]).expect_ok("stop");
    app.wait_screen(Duration::from_secs(1), "deb1 down on the screen", |s| {
        deb1_avail_is(s, "▼ down")
    });
}

#[test]
fn a_cli_action_on_a_node_shows_in_a_read_only_console_log_within_one_second() {
    let lab = TestLab::new();
    lab.svc("deb1", &["start"]).expect_ok("start");
    let nodes = lab.dir.join("nodes.toml").to_string_lossy().into_owned();
    let app = PtyApp::spawn(&["console", "--read-only", "--nodes", &nodes], &lab.dir);
    app.wait_screen(T, "both nodes fresh", |s| {
        s.contains("deb1 updated") && s.contains("deb2 updated")
    });
    lab.svc("deb1", &["stop"]).expect_ok("stop");
    // The stop's own line, as `drpilot svc busybox stop` logged it, with who ran it.
    app.wait_screen(Duration::from_secs(1), "the stop's log line", |s| {
        s.contains("unlink /opt/busybox") && s.contains("via cli")
    });
}

#[test]
fn a_second_watcher_follows_the_prober_and_takes_over_when_it_exits() {
    let lab = TestLab::new();
    let first = WatchReader::start(&lab, "deb1");
    support::wait_until(T, "the prober's first status", || {
        first.records().iter().any(|r| avail(r) == Some("down"))
    });
    let published = lab.root("deb1").join("run/drpilot/watch/published.json");
    assert!(published.is_file(), "the prober publishes its rounds");
    let second = WatchReader::start(&lab, "deb1");
    support::wait_until(T, "the follower's first status", || {
        second.records().iter().any(|r| avail(r) == Some("down"))
    });
    drop(first);
    lab.svc("deb1", &["start"]).expect_ok("start");
    support::wait_until(T, "the follower, now the prober, sees the change", || {
        second.records().iter().any(|r| avail(r) == Some("up"))
    });
    lab.svc("deb1", &["stop"]).expect_ok("stop");
    support::wait_until(T, "and the next one", || {
        second
            .records()
            .iter()
            .filter(|r| avail(r) == Some("down"))
            .count()
            >= 2
    });
}
