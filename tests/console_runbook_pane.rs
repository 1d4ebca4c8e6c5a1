//! The runbook pane as an operator meets it on the lab: a failed preflight lists each reason
//! with its fix and offers to run it, a refused gate aborts (it does not fail), an unfinished run
//! is announced on the first screen, the end of a run gives its RTO and RPO.

mod support;

use std::time::Duration;

use support::lab_console;
use support::{wait_until, TestLab};

const T: Duration = Duration::from_secs(30);

#[test]
fn a_failed_preflight_lists_each_reason_with_its_fix_and_offers_to_run_it() {
    let lab = TestLab::new();
    lab.svc("deb1", &["start"]).expect_ok("start");
    wait_until(T, "data on deb1", || lab.lines("deb1").len() >= 2);
    let state = tempfile::tempdir().unwrap();
    let mut app = lab_console(&lab, state.path(), None);
    app.send(":rehearse\r");
    app.wait_screen(T, "the preflight's reasons with their fixes", |s| {
        s.contains("the preflight refused the run") && s.contains("fix: :sync")
    });
    app.wait_screen(T, "the fix offered behind a gate", |s| {
        s.contains("[ Cancel ]") && s.contains("of busybox on deb1")
    });
    app.send("\x1b[C\r");
    app.wait_screen(T, "the fix ran", |s| s.contains("of busybox on deb1 done"));
    app.send("q");
    assert!(app.wait_exit(T));
    lab.svc("deb1", &["stop"]).expect_ok("stop");
}

#[test]
fn a_refused_gate_reads_refused_and_the_run_aborted_not_failed() {
    let lab = TestLab::replicated();
    let state = tempfile::tempdir().unwrap();
    let mut app = lab_console(&lab, state.path(), None);
    app.send(":rehearse\r");
    app.wait_screen(T, "the cut access gate", |s| {
        s.contains("runbook step cut_access")
    });
    app.send("\x1b");
    app.wait_screen(T, "the run aborted", |s| {
        s.contains("aborted (cut_access refused)")
    });
    let screen = app.screen();
    assert!(
        !screen.contains("FAILED"),
        "a refusal is no failure:\n{screen}"
    );
    app.send("q");
    assert!(app.wait_exit(T));
    lab.svc("deb1", &["stop"]).expect_ok("stop");
}

#[test]
fn an_unfinished_run_is_announced_at_start_up_and_its_end_gives_rto_and_rpo() {
    let lab = TestLab::replicated();
    let state = tempfile::tempdir().unwrap();
    let mut app = lab_console(&lab, state.path(), Some("stop_production"));
    support::rehearse_past_the_stop_gate(&mut app);
    app.wait_exit(T);

    let mut next = lab_console(&lab, state.path(), None);
    next.wait_screen(T, "the unfinished run on the first screen", |s| {
        s.contains("unfinished REHEARSAL run of busybox stopped at step stop_production")
            && s.contains(":rehearse to resume it")
    });
    next.send(":rehearse\r");
    next.wait_screen(T, "the start gate", |s| {
        s.contains("runbook step start_drp")
    });
    next.send("busybox\r");
    next.wait_screen(T, "the end with RTO and RPO", |s| {
        s.contains("succeeded: report") && s.contains("RTO ") && s.contains("RPO 0 s")
    });
    next.send("q");
    next.wait_exit(T);
    lab.svc("deb2", &["stop"]).expect_ok("stop deb2");
}
