//! The run's state from the nodes in the console, on the lab: a read-only console follows
//! another seat's run gate by gate, and Esc at the DRP start gate after production was stopped
//! offers retry, rollback or leave, rollback bringing production and user access back.

mod support;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use support::pty::PtyApp;
use support::{bin, lab_console, resource, wait_until, TestLab};

const T: Duration = Duration::from_secs(30);

fn running_on(lab: &TestLab) -> Vec<&'static str> {
    ["deb1", "deb2"]
        .into_iter()
        .filter(|n| matches!(lab.status(n)["avail"].as_str(), Some("up" | "warn")))
        .collect()
}

#[test]
fn a_read_only_console_shows_another_seats_run_step_by_step() {
    let lab = TestLab::replicated();
    let nodes = lab.dir.join("nodes.toml").to_string_lossy().into_owned();
    let watcher_state = tempfile::tempdir().unwrap();
    let state = watcher_state.path().to_string_lossy().into_owned();
    let app = PtyApp::spawn_with_env(
        &["console", "--read-only", "--nodes", &nodes],
        &lab.dir,
        &[("XDG_STATE_HOME", state.as_str())],
    );
    app.wait_screen(T, "both trees", |s| s.matches("|- avail").count() == 2);
    let seat = tempfile::tempdir().unwrap();
    let mut cli = bin()
        .args(["drp", "rehearse", "busybox", "--nodes", &nodes])
        .env("XDG_STATE_HOME", seat.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = cli.stdin.take().unwrap();
    let user = drpilot::action_log::local_user();
    for (at, answer) in [
        ("step 2/7 cut_access", "y"),
        ("step 4/7 stop_production", "busybox"),
        ("step 6/7 start_drp", "busybox"),
    ] {
        app.wait_screen(T, at, |s| {
            s.contains("REHEARSAL busybox") && s.contains(at) && s.contains(&format!("{user}@"))
        });
        writeln!(stdin, "{answer}").unwrap();
    }
    assert!(cli.wait().unwrap().success());
    app.wait_screen(T, "the run gone with its lease", |s| {
        !s.contains("REHEARSAL busybox")
    });
    assert_eq!(running_on(&lab), vec!["deb2"]);
    lab.svc("deb2", &["stop"]).expect_ok("stop deb2");
}

#[test]
fn esc_at_start_drp_offers_three_ways_out_and_rollback_restores_production_and_access() {
    let lab = TestLab::replicated();
    let state = tempfile::tempdir().unwrap();
    let mut app = lab_console(&lab, state.path(), None);
    support::rehearse_past_the_stop_gate(&mut app);
    app.wait_screen(T, "the start gate", |s| {
        s.contains("runbook step start_drp")
    });
    assert!(running_on(&lab).is_empty(), "production is stopped");
    app.send("\x1b");
    app.wait_screen(T, "the way-out dialog", |s| {
        s.contains("way out")
            && s.contains("[r] retry")
            && s.contains("[b] roll back")
            && s.contains("[l] leave as is")
    });
    app.send("b");
    app.wait_screen(T, "the run's end", |s| s.contains("RPO 0 s; left: busybox"));
    wait_until(T, "production back", || running_on(&lab) == vec!["deb1"]);
    assert_eq!(
        resource(&lab.status("deb1"), "app#1")["status"],
        "up",
        "user access restored"
    );
    app.send("q");
    app.wait_exit(T);
    lab.svc("deb1", &["stop"]).expect_ok("stop");
}

#[test]
fn a_console_takes_over_the_run_of_a_dead_cli_seat_at_its_step() {
    let lab = TestLab::replicated();
    let nodes = lab.dir.join("nodes.toml").to_string_lossy().into_owned();
    let seat = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["drp", "rehearse", "busybox", "--yes", "--nodes", &nodes])
        .env("XDG_STATE_HOME", seat.path())
        .env("DRPILOT_CRASH_AFTER", "stop_production")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        None,
        "the CLI seat dies after stop_production"
    );
    let state = tempfile::tempdir().unwrap();
    let mut app = lab_console(&lab, state.path(), None);
    app.wait_screen(T, "the dead seat's run", |s| {
        s.contains("step 4/7 stop_production")
    });
    app.send(":takeover\r");
    app.wait_screen(T, "the takeover gate", |s| {
        s.contains("takeover of busybox") && s.contains("type the service name")
    });
    app.send("busybox\r");
    app.wait_screen(T, "only the start gate is asked", |s| {
        s.contains("runbook step start_drp")
    });
    app.send("busybox\r");
    app.wait_screen(T, "the run's end", |s| s.contains("succeeded: report"));
    assert_eq!(running_on(&lab), vec!["deb2"]);
    app.send("q");
    app.wait_exit(T);
    lab.svc("deb2", &["stop"]).expect_ok("stop deb2");
}
