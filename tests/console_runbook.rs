//! The DRP runbook in the console, with keystrokes, on the lab: the whole rehearsal, and a
//! console killed right after a destructive step, resumed by a new console.

mod support;

use std::time::Duration;

use support::lab_console;
use support::{journals, wait_until, TestLab};

const T: Duration = Duration::from_secs(30);

fn ready() -> (TestLab, tempfile::TempDir) {
    (TestLab::replicated(), tempfile::tempdir().unwrap())
}

fn running_on(lab: &TestLab) -> Vec<&'static str> {
    ["deb1", "deb2"]
        .into_iter()
        .filter(|n| matches!(lab.status(n)["avail"].as_str(), Some("up" | "warn")))
        .collect()
}

#[test]
fn operator_walks_the_whole_rehearsal_with_keystrokes() {
    let (lab, state) = ready();
    let mut app = lab_console(&lab, state.path(), None);
    app.send(":rehearse\r");
    app.wait_screen(T, "the cut access gate", |s| {
        s.contains("REHEARSAL") && s.contains("runbook step cut_access")
    });
    app.send("\r");
    // The run's end (its report written), not only its last line: then the console is free.
    app.wait_screen(T, "Enter on Cancel aborts", |s| {
        s.contains("aborted (cut_access") || s.contains("FAILED")
    });
    assert_eq!(
        running_on(&lab),
        vec!["deb1"],
        "a cancelled gate changed nothing"
    );

    app.send(":rehearse\r");
    app.wait_screen(T, "the cut access gate again", |s| {
        s.contains("runbook step cut_access")
    });
    app.send("\x1b[C\r");
    app.wait_screen(T, "the stop gate", |s| {
        s.contains("runbook step stop_production")
    });
    app.send("deb1\r");
    app.wait_screen(T, "a wrong name refused", |s| {
        s.contains("type busybox exactly")
    });
    app.send("busybox\r");
    app.wait_screen(T, "the start gate", |s| {
        s.contains("runbook step start_drp")
    });
    let on_prod = lab.lines("deb1");
    app.send("busybox\r");
    app.wait_screen(T, "the run's end", |s| s.contains("succeeded: report"));
    assert!(
        app.screen()
            .lines()
            .any(|l| l.contains("sync#1") && l.contains("100%")),
        "no sync progress bar:\n{}",
        app.screen()
    );
    assert_eq!(running_on(&lab), vec!["deb2"]);
    wait_until(T, "the app on deb2", || {
        lab.lines("deb2").len() > on_prod.len()
    });
    assert_eq!(
        lab.lines("deb2")[..on_prod.len()],
        on_prod[..],
        "the data moved to deb2"
    );

    let all = journals(state.path());
    assert_eq!(all.len(), 2, "the cancelled run and the full one");
    let (journal, records) = all
        .into_iter()
        .map(|j| {
            let r = drpilot::runbook::journal::read_verified(&j).expect("the chain verifies");
            (j, r)
        })
        .find(|(_, r)| {
            r.iter()
                .any(|x| x.kind == drpilot::protocol::journal::EntryKind::RunFinished)
        })
        .expect("a finished run");
    let rep = drpilot::runbook::report::build(&records).unwrap();
    assert_eq!(rep.outcome, "succeeded");
    assert_eq!(rep.rpo_s, Some(0));
    assert!(rep.rto_s.unwrap() > 0.0);
    assert!(journal.with_extension("md").exists());
    app.send("q");
    assert!(app.wait_exit(T));
    assert!(app.terminal_restored());
    lab.svc("deb2", &["stop"]).expect_ok("stop deb2");
}

#[test]
fn a_killed_console_is_resumed_by_the_next_one() {
    for crash in ["stop_production", "start_drp"] {
        let (lab, state) = ready();
        let mut app = lab_console(&lab, state.path(), Some(crash));
        support::rehearse_past_the_stop_gate(&mut app);
        if crash == "start_drp" {
            app.wait_screen(T, "the start gate", |s| {
                s.contains("runbook step start_drp")
            });
            app.send("busybox\r");
        }
        app.wait_exit(T);
        assert!(
            running_on(&lab).len() <= 1,
            "running on both nodes after a crash at {crash}"
        );

        let mut next = lab_console(&lab, state.path(), None);
        next.send(":rehearse\r");
        next.wait_screen(T, "the resume", |s| s.contains("resuming unfinished run"));
        if crash == "stop_production" {
            next.wait_screen(T, "only the start gate is asked", |s| {
                s.contains("runbook step start_drp")
            });
            next.send("busybox\r");
        }
        next.wait_screen(T, "the resumed run's end", |s| {
            s.contains("succeeded: report")
        });
        assert_eq!(running_on(&lab), vec!["deb2"], "after a crash at {crash}");
        let journal = journals(state.path()).pop().unwrap();
        let recs = drpilot::runbook::journal::read_verified(&journal).unwrap();
        let started = recs
            .iter()
            .filter(|r| {
                r.kind == drpilot::protocol::journal::EntryKind::StepStarted
                    && r.step.as_deref() == Some(crash)
            })
            .count();
        assert_eq!(started, 1, "{crash} ran twice");
        next.send("q");
        next.wait_exit(T);
        lab.svc("deb2", &["stop"]).expect_ok("stop deb2");
    }
}
