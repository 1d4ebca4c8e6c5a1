//! The node daemon on the lab: scheduled syncs inside their window only, failures counted and
//! notified, a webhook told of a down transition, the daemon as the node's one prober, a clean
//! SIGTERM, standby resources at boot.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use chrono::Local;
use drpilot::paths::NodeEnv;
use serde_json::Value;
use support::{wait_until, TestLab};

/// A daemon on a lab node, killed on drop.
struct Daemon {
    child: Child,
    out: PathBuf,
}

impl Daemon {
    fn start(lab: &TestLab, node: &str) -> Self {
        let out = lab.dir.join(format!("daemon-{node}.out"));
        let child = lab
            .node_cmd(node)
            .args(["daemon", "--tick", "1"])
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(out.with_extension("err")).unwrap())
            .spawn()
            .expect("spawn the daemon");
        Self { child, out }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
            + &std::fs::read_to_string(self.out.with_extension("err")).unwrap_or_default()
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn env(lab: &TestLab, node: &str) -> NodeEnv {
    NodeEnv::new(lab.root(node), node)
}

/// The daemon's state on `node`, once written.
fn daemon_state(lab: &TestLab, node: &str) -> Option<Value> {
    let p = lab.root(node).join("var/lib/drpilot/daemon/state.json");
    serde_json::from_slice(&std::fs::read(p).ok()?).ok()
}

fn job(lab: &TestLab, node: &str, job: &str) -> Value {
    daemon_state(lab, node)
        .map(|s| s["jobs"]["busybox"][job].clone())
        .unwrap_or(Value::Null)
}

/// The id of the last sync of sync#1 recorded on deb1.
fn sync_id(lab: &TestLab) -> String {
    std::fs::read_to_string(env(lab, "deb1").state_dir("busybox").join("sync#1.state"))
        .unwrap_or_default()
}

/// Sets `[DEFAULT] sync_period` on every node of the lab.
fn set_period(lab: &TestLab, period: &str) {
    for node in ["deb1", "deb2"] {
        let p = lab.config(node);
        let text: String = std::fs::read_to_string(&p)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("sync_period"))
            .map(|l| format!("{l}\n"))
            .collect();
        let text = text.replace(
            "[DEFAULT]\n",
            &format!("[DEFAULT]\nsync_period = {period}\n"),
        );
        std::fs::write(&p, text).unwrap();
    }
}

/// A window of `from`..`to` minutes around now (local time, as sync_period reads it).
fn window(from: i64, to: i64) -> String {
    let now = Local::now();
    let at = |m: i64| {
        (now + chrono::Duration::minutes(m))
            .format("%H:%M")
            .to_string()
    };
    format!("{}-{}", at(from), at(to))
}

fn write_daemon_toml(lab: &TestLab, node: &str, text: &str) {
    let p = lab.root(node).join("etc/drpilot/daemon.toml");
    std::fs::write(p, text).unwrap();
}

/// Waits until the daemon on `node` has looked at its jobs `n` more times.
fn wait_ticks(lab: &TestLab, node: &str, n: usize) {
    for _ in 0..n {
        let seen = daemon_state(lab, node).map(|s| s["heartbeat"].clone());
        wait_until(Duration::from_secs(20), "a daemon tick", || {
            daemon_state(lab, node).map(|s| s["heartbeat"].clone()) != seen
        });
    }
}

#[test]
fn the_daemon_runs_a_sync_inside_its_window_and_none_outside_it() {
    let lab = TestLab::replicated();
    let before = sync_id(&lab);
    assert!(!before.is_empty(), "the lab was replicated");

    // Outside the window: no sync, however many ticks.
    set_period(&lab, &window(120, 180));
    let daemon = Daemon::start(&lab, "deb1");
    wait_until(Duration::from_secs(20), "syncdrp's next turn", || {
        job(&lab, "deb1", "syncdrp")["next_due"].is_string()
    });
    wait_ticks(&lab, "deb1", 3);
    assert_eq!(sync_id(&lab), before, "no sync outside the window");
    assert_eq!(job(&lab, "deb1", "syncdrp")["runs"], 0);
    drop(daemon);

    // Inside it: one syncdrp.
    set_period(&lab, &window(-5, 5));
    let daemon = Daemon::start(&lab, "deb1");
    wait_until(Duration::from_secs(60), "a scheduled syncdrp", || {
        job(&lab, "deb1", "syncdrp")["runs"] == 1
    });
    let j = job(&lab, "deb1", "syncdrp");
    assert!(j["last_success"].is_string(), "{j}\n{}", daemon.output());
    assert_ne!(sync_id(&lab), before, "the sync ran");
    // Once a day: the next ticks leave it alone.
    let after = sync_id(&lab);
    wait_ticks(&lab, "deb1", 3);
    assert_eq!(job(&lab, "deb1", "syncdrp")["runs"], 1);
    assert_eq!(sync_id(&lab), after);
    // Its lines name the daemon in the action log.
    let records =
        std::fs::read_to_string(env(&lab, "deb1").state_dir("busybox").join("actions.jsonl"))
            .unwrap();
    assert!(
        records.contains("\"origin\":\"daemon\""),
        "the daemon's action is recorded as its own"
    );
}

#[test]
fn a_failed_scheduled_sync_is_counted_and_fires_the_hook() {
    let lab = TestLab::replicated();
    set_period(&lab, &window(-5, 5));
    let hook_out = lab.dir.join("hook.json");
    write_daemon_toml(
        &lab,
        "deb1",
        &format!(
            "[notify]\nexec = [\"/usr/bin/tee\", \"{}\"]\n[schedule]\ntries = 2\nbackoff = 1\n",
            hook_out.display()
        ),
    );
    // An action holds the DRP node's lock: it refuses to receive, so the sync fails.
    let held = drpilot::lock::acquire(&env(&lab, "deb2"), "busybox", "test", Duration::ZERO)
        .expect("deb2's lock");
    let daemon = Daemon::start(&lab, "deb1");
    wait_until(Duration::from_secs(60), "a failed scheduled sync", || {
        job(&lab, "deb1", "syncdrp")["failures"]
            .as_u64()
            .is_some_and(|f| f >= 1)
    });
    wait_until(Duration::from_secs(30), "the hook's payload", || {
        std::fs::read_to_string(&hook_out)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .is_some()
    });
    drop(held);
    let ev: Value = serde_json::from_str(&std::fs::read_to_string(&hook_out).unwrap()).unwrap();
    assert_eq!(ev["event"], "job_failed", "{ev}");
    assert_eq!(ev["service"], "busybox");
    assert_eq!(ev["node"], "deb1");
    assert_eq!(ev["rid"], "syncdrp");
    wait_until(Duration::from_secs(30), "the hook counted as sent", || {
        daemon_state(&lab, "deb1").is_some_and(|s| s["notifications_sent"].as_u64() >= Some(1))
    });
    let st = daemon_state(&lab, "deb1").unwrap();
    let j = &st["jobs"]["busybox"]["syncdrp"];
    assert!(j["last_error"].is_string(), "{j}");
    let log = std::fs::read_to_string(env(&lab, "deb1").state_dir("busybox").join("actions.log"))
        .unwrap();
    assert!(
        log.contains("scheduled syncdrp failed after 2 tries"),
        "the failure is logged:\n{log}\n{}",
        daemon.output()
    );
}

/// Reads one HTTP request from the listener and answers 200: its body.
fn accept_one(listener: &TcpListener, deadline: Instant) -> Option<Value> {
    while Instant::now() < deadline {
        let Ok((stream, _)) = listener.accept() else {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        stream.set_nonblocking(false).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut len = 0usize;
        let mut first = String::new();
        reader.read_line(&mut first).unwrap();
        assert!(first.starts_with("POST /hook HTTP/1.1"), "{first}");
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0u8; len];
        reader.read_exact(&mut body).unwrap();
        let mut w = stream;
        w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        return Some(serde_json::from_slice(&body).expect("a JSON payload"));
    }
    None
}

#[test]
fn a_webhook_receives_a_down_transition() {
    let lab = TestLab::new();
    set_period(&lab, &window(120, 180));
    lab.svc("deb1", &["start"]).expect_ok("start");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    write_daemon_toml(
        &lab,
        "deb1",
        &format!("[notify]\nwebhook = \"http://127.0.0.1:{port}/hook\"\n"),
    );
    let daemon = Daemon::start(&lab, "deb1");
    let published = lab.root("deb1").join("run/drpilot/watch/published.json");
    wait_until(Duration::from_secs(20), "the daemon's first round", || {
        std::fs::read_to_string(&published).is_ok_and(|t| t.contains("\"avail\":\"up\""))
    });
    lab.svc("deb1", &["stop"]).expect_ok("stop");
    let deadline = Instant::now() + Duration::from_secs(30);
    let ev = loop {
        let ev = accept_one(&listener, deadline)
            .unwrap_or_else(|| panic!("no down transition posted:\n{}", daemon.output()));
        if ev["event"] == "status" && ev["to"] == "down" {
            break ev;
        }
    };
    assert_eq!(ev["service"], "busybox");
    assert_eq!(ev["node"], "deb1");
    assert_ne!(ev["from"], "down", "{ev}");
    assert!(ev["ts"].is_string());
}

/// The pids holding a lock on the file `p`, from /proc/locks.
fn lock_holders(p: &Path) -> Vec<i32> {
    use std::os::unix::fs::MetadataExt;
    let ino = std::fs::metadata(p).unwrap().ino();
    std::fs::read_to_string("/proc/locks")
        .unwrap()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"
            let i = f.iter().position(|w| *w == "FLOCK")?;
            let pid: i32 = f.get(i + 3)?.parse().ok()?;
            let file_ino: u64 = f.get(i + 4)?.rsplit(':').next()?.parse().ok()?;
            (file_ino == ino).then_some(pid)
        })
        .collect()
}

/// `drpilot agent watch` on `node`, its lines on a channel.
fn spawn_watch(lab: &TestLab, node: &str) -> (Child, std::sync::mpsc::Receiver<String>) {
    let mut watch = lab
        .node_cmd(node)
        .args(["agent", "watch"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = watch.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (watch, rx)
}

/// Waits for `n` heartbeats of a watch.
fn wait_beats(rx: &std::sync::mpsc::Receiver<String>, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut beats = 0;
    while beats < n {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the watch streams");
        let rec: Value = serde_json::from_str(&line).unwrap();
        if rec["type"] == "heartbeat" {
            beats += 1;
        }
    }
}

#[test]
fn a_watch_attaches_to_the_daemons_probe_loop() {
    let lab = TestLab::new();
    set_period(&lab, &window(120, 180));
    let lock = lab.root("deb1").join("run/drpilot/watch/prober.lock");
    // A watch that was probing before the daemon started gives the probing to it.
    let (mut early, early_rx) = spawn_watch(&lab, "deb1");
    wait_beats(&early_rx, 1);
    assert_eq!(lock_holders(&lock), vec![early.id() as i32]);
    let daemon = Daemon::start(&lab, "deb1");
    wait_until(Duration::from_secs(20), "the daemon probing", || {
        lock_holders(&lock) == vec![daemon.pid()]
    });
    // A watch started while the daemon runs follows it and never probes.
    let (mut late, late_rx) = spawn_watch(&lab, "deb1");
    wait_beats(&late_rx, 2);
    wait_beats(&early_rx, 1);
    let holders = lock_holders(&lock);
    for w in [&mut early, &mut late] {
        let _ = w.kill();
        let _ = w.wait();
    }
    assert_eq!(
        holders,
        vec![daemon.pid()],
        "the daemon probes, the watches follow"
    );
}

/// A standby app on the DRP node whose start waits for the file `go` (returned).
fn slow_standby_app(lab: &TestLab) -> PathBuf {
    let go = lab.root("deb2").join("go");
    let p = lab.config("deb2");
    let mut text = std::fs::read_to_string(&p).unwrap();
    text.push_str(&format!(
        "\n[app#2]\nstart = /bin/sleep 1000\ncheck = /usr/bin/test -e {}\ntimeout = 300\nalways_on = drpnodes\n",
        go.display()
    ));
    std::fs::write(&p, text).unwrap();
    go
}

/// Waits until the daemon's startstandby holds deb2's lock, then sends the daemon SIGTERM.
fn term_during_startstandby(lab: &TestLab, daemon: &Daemon) {
    let deb2 = env(lab, "deb2");
    wait_until(Duration::from_secs(30), "startstandby running", || {
        std::fs::read_to_string(deb2.state_dir("busybox").join("lock"))
            .is_ok_and(|t| t.contains("(startstandby)"))
            && drpilot::lock::acquire(&deb2, "busybox", "test", Duration::ZERO).is_err()
    });
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(daemon.pid()).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
}

/// Waits for the daemon's exit.
fn wait_exit(daemon: &mut Daemon) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        if let Some(s) = daemon.child.try_wait().unwrap() {
            return s;
        }
        assert!(Instant::now() < deadline, "the daemon did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigterm_stops_an_action_that_outlives_the_grace_period() {
    let lab = TestLab::new();
    set_period(&lab, &window(120, 180));
    slow_standby_app(&lab);
    write_daemon_toml(&lab, "deb2", "[schedule]\ngrace = 1\ntries = 1\n");
    let mut daemon = Daemon::start(&lab, "deb2");
    term_during_startstandby(&lab, &daemon);
    let status = wait_exit(&mut daemon);
    assert!(status.success(), "{status}:\n{}", daemon.output());
    assert!(
        daemon
            .output()
            .contains("did not finish within the grace period"),
        "{}",
        daemon.output()
    );
    let j = job(&lab, "deb2", "startstandby");
    assert_eq!(j["failures"], 1, "{j}");
    // Stopped with it: its lock is free.
    drpilot::lock::acquire(&env(&lab, "deb2"), "busybox", "test", Duration::ZERO)
        .expect("the stopped action released the lock");
    lab.svc("deb2", &["stopstandby"]).expect_ok("stopstandby");
}

#[test]
fn sigterm_lets_a_running_action_finish() {
    let lab = TestLab::new();
    set_period(&lab, &window(120, 180));
    let go = slow_standby_app(&lab);
    let mut daemon = Daemon::start(&lab, "deb2");
    term_during_startstandby(&lab, &daemon);
    wait_until(
        Duration::from_secs(20),
        "the daemon waits for the action",
        || {
            daemon
                .output()
                .contains("waiting up to 60s for startstandby to finish")
        },
    );
    assert!(
        daemon.child.try_wait().unwrap().is_none(),
        "the daemon waits while the action runs"
    );
    std::fs::write(&go, "").unwrap();
    let status = wait_exit(&mut daemon);
    assert!(status.success(), "{status}:\n{}", daemon.output());
    let j = job(&lab, "deb2", "startstandby");
    assert_eq!(j["runs"], 1, "{j}");
    assert!(j["last_success"].is_string(), "the action finished: {j}");
    lab.svc("deb2", &["stopstandby"]).expect_ok("stopstandby");
}

#[test]
fn standby_resources_start_at_boot_on_the_drp_node() {
    let lab = TestLab::new();
    set_period(&lab, &window(120, 180));
    let daemon = Daemon::start(&lab, "deb2");
    wait_until(Duration::from_secs(30), "startstandby at boot", || {
        job(&lab, "deb2", "startstandby")["runs"] == 1
    });
    assert!(
        job(&lab, "deb2", "startstandby")["last_success"].is_string(),
        "{}",
        daemon.output()
    );
    // The lab's service has no standby resource: nothing active started on deb2.
    let st = lab.status("deb2");
    assert_eq!(st["avail"], "down", "{st}");
    assert!(lab.lines("deb2").is_empty() || !lab.root("deb2").join("opt/busybox").exists());
    let log = std::fs::read_to_string(env(&lab, "deb2").state_dir("busybox").join("actions.log"))
        .unwrap();
    assert!(log.contains("no standby resource on deb2"), "{log}");
    // And the production node's daemon does not run it.
    drop(daemon);
    let _d1 = Daemon::start(&lab, "deb1");
    wait_until(Duration::from_secs(20), "deb1's daemon ticks", || {
        job(&lab, "deb1", "syncdrp")["next_due"].is_string()
    });
    assert!(job(&lab, "deb1", "startstandby").is_null());
}

/// Adds `line` to the `[section]` of busybox's config on deb1 and deb2.
fn add_key(lab: &TestLab, section: &str, line: &str) {
    for node in ["deb1", "deb2"] {
        let p = lab.config(node);
        let text = std::fs::read_to_string(&p)
            .unwrap()
            .replace(&format!("[{section}]\n"), &format!("[{section}]\n{line}\n"));
        std::fs::write(&p, text).unwrap();
    }
}

#[test]
fn a_sync_interval_runs_syncupdate_of_its_resource_every_interval() {
    let lab = TestLab::replicated();
    set_period(&lab, &window(-5, 5));
    add_key(&lab, "sync#1", "sync_interval = 2s");
    let daemon = Daemon::start(&lab, "deb1");
    wait_until(Duration::from_secs(60), "two interval syncs", || {
        job(&lab, "deb1", "sync#1")["runs"].as_u64() >= Some(2)
    });
    let j = job(&lab, "deb1", "sync#1");
    assert_eq!(j["failures"], 0, "{j}\n{}", daemon.output());
    let records =
        std::fs::read_to_string(env(&lab, "deb1").state_dir("busybox").join("actions.jsonl"))
            .unwrap();
    assert!(
        records.contains("\"origin\":\"daemon\""),
        "the syncupdate names the daemon"
    );
}

#[test]
fn a_scheduled_sync_on_an_idle_drp_node_is_skipped_with_its_reason() {
    let lab = TestLab::replicated();
    set_period(&lab, &window(-5, 5));
    let daemon = Daemon::start(&lab, "deb2");
    wait_until(Duration::from_secs(30), "the skipped syncdrp", || {
        job(&lab, "deb2", "syncdrp")["skipped"] == 1
    });
    let j = job(&lab, "deb2", "syncdrp");
    assert_eq!(j["failures"], 0, "{j}");
    assert_eq!(j["runs"], 0, "{j}");
    assert!(
        j["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("syncs run from the node where the service runs")),
        "{j}"
    );
    let log = std::fs::read_to_string(env(&lab, "deb2").state_dir("busybox").join("actions.log"))
        .unwrap();
    assert!(
        log.contains("scheduled syncdrp skipped"),
        "{log}\n{}",
        daemon.output()
    );
    let records =
        std::fs::read_to_string(env(&lab, "deb2").state_dir("busybox").join("actions.jsonl"))
            .unwrap();
    assert!(
        records
            .lines()
            .any(|l| l.contains("scheduled syncdrp skipped") && l.contains("\"origin\":\"daemon\"")),
        "the skip names the daemon:\n{records}"
    );
    // Once per window, not at every tick.
    wait_ticks(&lab, "deb2", 3);
    assert_eq!(job(&lab, "deb2", "syncdrp")["skipped"], 1);
}

#[test]
fn a_stopped_production_node_still_sends_its_system_files_in_the_daily_slot() {
    let lab = TestLab::new();
    let etc = lab.root("deb1").join("etc");
    std::fs::write(etc.join("passwd"), "svcuser:x:1500:1500::/:/bin/sh\n").unwrap();
    set_period(&lab, &window(-5, 5));
    let daemon = Daemon::start(&lab, "deb1");
    wait_until(
        Duration::from_secs(60),
        "the daily job on a stopped node",
        || job(&lab, "deb1", "syncdrp")["runs"] == 1,
    );
    let j = job(&lab, "deb1", "syncdrp");
    assert_eq!(j["failures"], 0, "{j}\n{}", daemon.output());
    let cached = lab
        .root("deb2")
        .join("var/lib/drpilot/busybox/cache/deb1/etc/passwd");
    let log = std::fs::read_to_string(env(&lab, "deb1").state_dir("busybox").join("actions.log"))
        .unwrap_or_default();
    assert_eq!(
        std::fs::read_to_string(cached).ok().as_deref(),
        Some("svcuser:x:1500:1500::/:/bin/sh\n"),
        "{log}\n{}",
        daemon.output()
    );
    assert_eq!(
        lab.status("deb1")["avail"],
        "down",
        "the service stays down"
    );
}

#[test]
fn an_rpo_breach_fires_the_hook_once() {
    let lab = TestLab::replicated();
    set_period(&lab, &window(120, 180));
    add_key(&lab, "sync#1", "sync_max_delay = 1s");
    let hook_out = lab.dir.join("hook.jsonl");
    write_daemon_toml(
        &lab,
        "deb1",
        &format!(
            "[notify]\nexec = [\"/usr/bin/tee\", \"-a\", \"{}\"]\n",
            hook_out.display()
        ),
    );
    let daemon = Daemon::start(&lab, "deb1");
    let breaches = || {
        support::read_lines(&hook_out)
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| e["event"] == "rpo_breach")
            .collect::<Vec<_>>()
    };
    wait_until(Duration::from_secs(30), "the RPO breach", || {
        !breaches().is_empty()
    });
    wait_ticks(&lab, "deb1", 3);
    let b = breaches();
    assert_eq!(b.len(), 1, "told once: {b:?}\n{}", daemon.output());
    assert_eq!(b[0]["rid"], "sync#1");
    assert!(b[0]["message"].as_str().unwrap().contains("sync_max_delay"));
}

#[test]
fn a_bad_daemon_config_is_refused_naming_the_file_and_the_key() {
    let lab = TestLab::new();
    write_daemon_toml(&lab, "deb1", "[schedule]\ntik = 5\n");
    let out: support::Run = lab
        .node_cmd("deb1")
        .args(["daemon", "--tick", "1"])
        .output()
        .unwrap()
        .into();
    let out = out.expect_err("a daemon with a bad config");
    assert!(out.stderr.contains("daemon.toml"), "{}", out.stderr);
    assert!(out.stderr.contains("tik"), "{}", out.stderr);
}

#[test]
fn a_held_service_lock_skips_the_sync_until_a_later_tick() {
    let lab = TestLab::replicated();
    set_period(&lab, &window(-5, 5));
    let held = drpilot::lock::acquire(&env(&lab, "deb1"), "busybox", "test", Duration::ZERO)
        .expect("deb1's lock");
    let daemon = Daemon::start(&lab, "deb1");
    wait_until(
        Duration::from_secs(30),
        "two skips on the held lock",
        || job(&lab, "deb1", "syncdrp")["skipped"].as_u64() >= Some(2),
    );
    let j = job(&lab, "deb1", "syncdrp");
    assert_eq!(j["runs"], 0, "never overlaps an action: {j}");
    assert!(
        j["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("already running")),
        "{j}"
    );
    drop(held);
    wait_until(
        Duration::from_secs(60),
        "the sync once the lock is free",
        || job(&lab, "deb1", "syncdrp")["runs"] == 1,
    );
    let j = job(&lab, "deb1", "syncdrp");
    assert_eq!(j["failures"], 0, "{j}\n{}", daemon.output());
}

/// The daemon's metrics endpoint address, once its first line says it.
fn metrics_addr(daemon: &Daemon) -> String {
    let mut addr = String::new();
    wait_until(Duration::from_secs(20), "the metrics address said", || {
        addr = daemon
            .output()
            .split("metrics on http://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or_default()
            .to_string();
        !addr.is_empty()
    });
    addr
}

/// What the daemon's endpoint answers to `GET /metrics`.
fn scrape(addr: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text
}

/// The value of the first sample of `series` (its name and labels up to the value).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
}

#[test]
fn the_daemon_serves_its_metrics_on_its_listen_address() {
    let lab = TestLab::replicated();
    write_daemon_toml(&lab, "deb1", "[metrics]\nlisten = \"127.0.0.1:0\"\n");
    let daemon = Daemon::start(&lab, "deb1");
    let addr = metrics_addr(&daemon);
    wait_ticks(&lab, "deb1", 1);
    let text = scrape(&addr);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.contains("drpilot_daemon_up{node=\"deb1\"} 1"),
        "the daemon is up in its own metrics:\n{text}"
    );
    assert!(text.contains("drpilot_service_avail{"), "{text}");
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    lab.svc("deb1", &["stop"]).expect_ok("stop");
}

#[test]
fn the_replica_age_the_daemon_serves_grows_between_syncs_and_falls_after_its_scheduled_one() {
    let lab = TestLab::replicated();
    write_daemon_toml(&lab, "deb1", "[metrics]\nlisten = \"127.0.0.1:0\"\n");
    set_period(&lab, &window(120, 180));
    let daemon = Daemon::start(&lab, "deb1");
    let addr = metrics_addr(&daemon);
    let age = "drpilot_sync_age_seconds{";
    let first = sample(&scrape(&addr), age);
    let mut later = first;
    wait_until(Duration::from_secs(20), "the replica to age", || {
        later = sample(&scrape(&addr), age);
        later >= first + 2.0
    });
    // The window now includes now: the daemon's scheduled syncdrp runs, the replica is fresh.
    set_period(&lab, &window(-5, 5));
    wait_until(Duration::from_secs(60), "the scheduled syncdrp", || {
        job(&lab, "deb1", "syncdrp")["runs"] == 1
    });
    let after = sample(&scrape(&addr), age);
    assert!(
        after < later,
        "the age fell after the scheduled sync: {first} then {later} then {after}\n{}",
        daemon.output()
    );
    lab.svc("deb1", &["stop"]).expect_ok("stop");
}
