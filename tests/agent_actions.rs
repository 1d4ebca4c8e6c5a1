//! The agent's safety rails on the lab: the split-brain guard, a failing resource stopping the
//! action, the lock, the sync period, `--rid`, selectors, JSON logs, and a cut sync.

mod support;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use support::{resource, wait_until, TestLab};

const T: Duration = Duration::from_secs(20);

#[test]
fn start_on_drp_is_refused_while_production_runs() {
    let lab = TestLab::new();
    lab.svc("deb1", &["start"]).expect_ok("start on deb1");
    lab.svc("deb1", &["syncfullsync", "--force"])
        .expect_ok("syncfullsync");
    let out = lab
        .svc("deb2", &["start"])
        .expect_err("start on deb2 while deb1 runs");
    assert!(out.stderr.contains("up on deb1"), "{}", out.stderr);
    assert!(out.stderr.contains("split brain"), "{}", out.stderr);
    assert_eq!(
        lab.status("deb2")["avail"],
        "down",
        "nothing may start on deb2"
    );
}

#[test]
fn a_failing_resource_stops_the_start_and_nothing_after_it_runs() {
    let lab = TestLab::new();
    // deb2 never received the data: fs#1 cannot come up, so app#1 must not start.
    let out = lab
        .svc("deb2", &["start"])
        .expect_err("start on deb2 without data");
    assert!(out.stderr.contains("fs#1"), "{}", out.stderr);
    assert!(out.stderr.contains("not found"), "{}", out.stderr);
    let st = lab.status("deb2");
    // The app is not evaluated while the rest of the instance is down (OpenSVC's n/a).
    assert_eq!(resource(&st, "app#1")["status"], "n/a");
    assert_eq!(
        resource(&st, "app#1")["comments"][0],
        "not evaluated (instance not up)"
    );
    assert!(
        !out.stdout.contains("APP#1"),
        "the app was touched:\n{}",
        out.stdout
    );
}

#[test]
fn a_failed_start_rolls_back_what_it_started() {
    let lab = TestLab::new();
    let cfg = std::fs::read_to_string(lab.config("deb1")).unwrap();
    std::fs::write(
        lab.config("deb1"),
        cfg.replace("/bin/sh -c", "/nonexistent/sh -c"),
    )
    .unwrap();
    let out = lab
        .svc("deb1", &["start"])
        .expect_err("start with a broken app");
    assert!(out.stderr.contains("app#1"), "{}", out.stderr);
    assert!(out.stdout.contains("rollback"), "{}", out.stdout);
    let st = lab.status("deb1");
    assert_eq!(
        resource(&st, "fs#1")["status"],
        "down",
        "fs#1 must be rolled back: {st}"
    );
}

#[test]
fn stop_by_rid_and_per_type_verbs_touch_only_their_resources() {
    let lab = TestLab::new();
    lab.svc("deb1", &["start"]).expect_ok("start");
    lab.svc("deb1", &["stop", "--rid", "app#1"])
        .expect_ok("stop --rid app#1");
    let st = lab.status("deb1");
    assert_eq!(resource(&st, "app#1")["status"], "down");
    assert_eq!(resource(&st, "fs#1")["status"], "up");
    lab.svc("deb1", &["startapp"]).expect_ok("startapp");
    assert_eq!(lab.status("deb1")["avail"], "up");
    let out = lab
        .svc("deb1", &["stop", "--rid", "ip#9"])
        .expect_err("unknown rid");
    assert!(out.stderr.contains("no resource ip#9"), "{}", out.stderr);
    lab.svc("deb1", &["stop"]).expect_ok("stop");
}

#[test]
fn syncs_outside_the_period_are_skipped_unless_forced() {
    let lab = TestLab::new();
    // A one-minute window twelve hours away from now.
    let h = (chrono_hour() + 12) % 24;
    let cfg = std::fs::read_to_string(lab.config("deb1")).unwrap();
    let cfg = cfg.replace(
        "sync_max_delay = 60",
        &format!("sync_max_delay = 60\nsync_period = {h:02}:00-{h:02}:01"),
    );
    std::fs::write(lab.config("deb1"), cfg).unwrap();
    lab.svc("deb1", &["start"]).expect_ok("start");
    let out = lab
        .svc("deb1", &["syncupdate"])
        .expect_ok("syncupdate in the wrong period");
    assert!(out.stdout.contains("outside sync_period"), "{}", out.stdout);
    assert_eq!(resource(&lab.status("deb1"), "sync#1")["status"], "warn");
    lab.svc("deb1", &["syncupdate", "--force"])
        .expect_ok("syncupdate --force");
    assert_eq!(resource(&lab.status("deb1"), "sync#1")["status"], "up");
    // A full sync is the operator's explicit request: as in the seed, no --force needed.
    let full = lab
        .svc("deb1", &["syncfullsync"])
        .expect_ok("syncfullsync outside the period");
    assert!(
        !full.stdout.contains("outside sync_period"),
        "{}",
        full.stdout
    );
    assert!(full.stdout.contains("full copy"), "{}", full.stdout);
}

fn chrono_hour() -> u32 {
    let out = std::process::Command::new("date")
        .arg("+%H")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn syncs_refuse_to_run_from_a_node_where_the_service_is_down() {
    let lab = TestLab::new();
    let out = lab
        .svc("deb1", &["syncupdate", "--force"])
        .expect_err("sync while down");
    assert!(
        out.stderr
            .contains("syncs run from the node where the service is up"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_held_lock_refuses_syncs_at_once_and_other_actions_after_waitlock() {
    let lab = TestLab::new();
    let env = drpilot::paths::NodeEnv::new(lab.root("deb1"), "deb1");
    let _held = drpilot::agent::lock::acquire(&env, "busybox", "test", Duration::ZERO).unwrap();
    let out = lab
        .svc("deb1", &["syncupdate", "--force"])
        .expect_err("sync under lock");
    assert!(out.stderr.contains("already running"), "{}", out.stderr);
    let out = lab
        .svc("deb1", &["start", "--waitlock", "1"])
        .expect_err("start under lock");
    assert!(
        out.stderr.contains("waiting 1s for the lock"),
        "{}",
        out.stderr
    );
    assert_eq!(
        lab.status("deb1")["avail"],
        "down",
        "print status needs no lock"
    );
}

#[test]
fn a_sync_waits_for_the_lock_when_waitlock_is_given() {
    let lab = TestLab::new();
    let env = drpilot::paths::NodeEnv::new(lab.root("deb1"), "deb1");
    let _held =
        drpilot::agent::lock::acquire(&env, "busybox", "syncupdate", Duration::ZERO).unwrap();
    let out = lab
        .svc("deb1", &["syncupdate", "--force", "--waitlock", "1"])
        .expect_err("sync under lock with --waitlock");
    assert!(
        out.stdout
            .contains("waiting up to 1s for the lock held by pid"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("gave up after waiting 1s for the lock held by pid"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_waitlock_too_long_to_add_waits_forever_and_never_panics() {
    let lab = TestLab::new();
    let huge = "18446744073709551615";
    let plain = lab.svc("deb1", &["stop"]);
    let out = lab.svc("deb1", &["stop", "--waitlock", huge]);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert_eq!(out.code, plain.code, "{}", out.stderr);
    lab.svc("deb1", &["start", "--waitlock", huge])
        .expect_ok("start with a huge --waitlock");
    lab.svc("deb1", &["stop", "--waitlock", huge])
        .expect_ok("stop with a huge --waitlock");
}

#[test]
fn json_logs_carry_commands_and_messages() {
    let lab = TestLab::new();
    let out = lab
        .svc("deb1", &["start", "--format", "json"])
        .expect_ok("start --format json");
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["kind"] == "cmd" && l["rid"] == "app#1"),
        "{}",
        out.stdout
    );
    for l in &lines {
        for k in ["ts", "level", "svc", "rid", "kind", "msg"] {
            assert!(l.get(k).is_some(), "{k} missing in {l}");
        }
        assert_eq!(l["svc"], "busybox");
    }
    lab.svc("deb1", &["stop"]).expect_ok("stop");
}

#[test]
fn selectors_expand_to_configured_and_running_services() {
    let lab = TestLab::new();
    let cfg = std::fs::read_to_string(lab.config("deb1")).unwrap();
    let other = lab.root("deb1").join("etc/drpilot/other.env");
    std::fs::write(
        &other,
        cfg.replace("/srv/busybox", "/srv/other")
            .replace("/opt/busybox", "/opt/other"),
    )
    .unwrap();
    std::fs::create_dir_all(lab.root("deb1").join("srv/other/data")).unwrap();
    lab.svc("deb1", &["start"]).expect_ok("start busybox");
    let all = lab
        .node_cmd("deb1")
        .args(["svc", "allservices", "print", "status"])
        .output()
        .unwrap();
    let all = String::from_utf8_lossy(&all.stdout).into_owned();
    assert!(
        all.lines().any(|l| l == "busybox") && all.lines().any(|l| l == "other"),
        "{all}"
    );
    let up = lab
        .node_cmd("deb1")
        .args(["svc", "allupservices", "print", "status"])
        .output()
        .unwrap();
    let up = String::from_utf8_lossy(&up.stdout).into_owned();
    assert!(
        up.lines().any(|l| l == "busybox") && !up.lines().any(|l| l == "other"),
        "{up}"
    );
    let stop = lab
        .node_cmd("deb1")
        .args(["svc", "allupservices", "stop"])
        .output()
        .unwrap();
    assert!(stop.status.success());
    assert_eq!(lab.status("deb1")["avail"], "down");
}

#[test]
fn a_cut_sync_leaves_the_previous_replica_intact() {
    let lab = TestLab::new();
    lab.svc("deb1", &["start"]).expect_ok("start");
    wait_until(T, "data on deb1", || lab.lines("deb1").len() >= 2);
    lab.svc("deb1", &["syncfullsync", "--force"])
        .expect_ok("syncfullsync");
    let replica = lab.lines("deb2");
    let state = std::fs::read_to_string(
        lab.root("deb2")
            .join("var/lib/drpilot/busybox/sync#1.state"),
    )
    .unwrap();
    assert!(!replica.is_empty());

    // A stream cut in the middle of a file, as a dropped link would leave it.
    let mut stream = b"DRPSYNC1\nF".to_vec();
    let name = b"date.log";
    stream.extend_from_slice(&(name.len() as u32).to_le_bytes());
    stream.extend_from_slice(name);
    stream.extend_from_slice(&0o644u32.to_le_bytes());
    stream.extend_from_slice(&0i128.to_le_bytes());
    stream.extend_from_slice(&1_000_000u64.to_le_bytes());
    stream.extend_from_slice(b"partial content");
    let mut child = lab
        .node_cmd("deb2")
        .args([
            "peer",
            "dir-receive",
            "--svc",
            "busybox",
            "--rid",
            "sync#1",
            "--dst",
            "/srv/busybox/data",
        ])
        .args([
            "--from",
            "deb1",
            "--id",
            "cut",
            "--when",
            "2026-01-01T00:00:00Z",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&stream).unwrap();
    let out: support::Run = child.wait_with_output().unwrap().into();
    let out = out.expect_err("a cut stream");
    assert!(out.stderr.contains("previous copy"), "{}", out.stderr);
    assert_eq!(lab.lines("deb2"), replica, "the replica changed");
    let after = std::fs::read_to_string(
        lab.root("deb2")
            .join("var/lib/drpilot/busybox/sync#1.state"),
    )
    .unwrap();
    assert_eq!(after, state, "the state file changed");

    // The next sync succeeds and brings the new lines.
    wait_until(T, "new lines on deb1", || {
        lab.lines("deb1").len() > replica.len()
    });
    lab.svc("deb1", &["syncupdate", "--force"])
        .expect_ok("syncupdate after the cut");
    assert!(lab.lines("deb2").len() > replica.len());
    assert_eq!(resource(&lab.status("deb2"), "sync#1")["status"], "up");
}

#[test]
fn a_receiving_node_refuses_to_overwrite_a_running_service() {
    let lab = TestLab::new();
    lab.svc("deb1", &["start"]).expect_ok("start on deb1");
    lab.svc("deb1", &["syncfullsync", "--force"])
        .expect_ok("syncfullsync");
    lab.svc("deb1", &["stop"]).expect_ok("stop on deb1");
    lab.svc("deb2", &["start"]).expect_ok("start on deb2");
    // deb1 comes back with the service started by mistake (forced): it must not push over deb2.
    lab.svc("deb1", &["start", "--force"])
        .expect_ok("forced start on deb1");
    let out = lab
        .svc("deb1", &["syncupdate", "--force"])
        .expect_err("sync into a running node");
    assert!(
        out.stderr.contains("refusing to overwrite its live data"),
        "{}",
        out.stderr
    );
    lab.svc("deb1", &["stop"]).expect_ok("stop deb1");
}

/// Three workers started side by side (OpenSVC's `subset` with `parallel = true`).
const WORKERS: &str = "
[app#2]
start = /bin/sh -c \"exec sleep 600\"
subset = workers

[app#3]
start = WORKER3
subset = workers

[app#4]
start = /bin/sh -c \"exec sleep 600\"
subset = workers

[subset#app:workers]
parallel = true
";

#[test]
fn a_parallel_subset_that_fails_rolls_back_every_lane_and_the_resources_before_it() {
    let lab = TestLab::new();
    let cfg = std::fs::read_to_string(lab.config("deb1")).unwrap();
    let broken = format!("{cfg}{}", WORKERS.replace("WORKER3", "/nonexistent/worker"));
    std::fs::write(lab.config("deb1"), &broken).unwrap();
    let out = lab
        .svc("deb1", &["start"])
        .expect_err("start with a broken worker");
    assert!(
        out.stdout
            .contains("side by side ([subset#app:workers] parallel = true): app#2 | app#3 | app#4"),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("app#3"), "{}", out.stderr);
    assert!(out.stdout.contains("rollback"), "{}", out.stdout);
    // The node is left as it was: nothing of the start is up.
    let st = lab.status("deb1");
    assert_eq!(st["avail"], "down", "{st}");
    for rid in ["fs#1", "app#1", "app#2", "app#4"] {
        let status = resource(&st, rid)["status"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            status == "down" || status == "n/a",
            "{rid} must be stopped again, it is {status}: {st}"
        );
    }
    let pids: Vec<_> = std::fs::read_dir(lab.root("deb1").join("var/lib/drpilot/busybox"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().ends_with(".pid"))
                .collect()
        })
        .unwrap_or_default();
    assert!(pids.is_empty(), "pid files left: {pids:?}");

    // Repaired, the workers start side by side and stop side by side.
    let fixed = format!(
        "{cfg}{}",
        WORKERS.replace("WORKER3", "/bin/sh -c \"exec sleep 600\"")
    );
    std::fs::write(lab.config("deb1"), fixed).unwrap();
    lab.svc("deb1", &["start"]).expect_ok("start");
    let st = lab.status("deb1");
    for rid in ["app#2", "app#3", "app#4"] {
        assert_eq!(resource(&st, rid)["status"], "up", "{st}");
    }
    let stopped = lab.svc("deb1", &["stop"]).expect_ok("stop");
    assert!(
        stopped
            .stdout
            .contains("side by side ([subset#app:workers] parallel = true)"),
        "{}",
        stopped.stdout
    );
    assert_eq!(lab.status("deb1")["avail"], "down");
}
