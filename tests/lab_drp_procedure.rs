//! The seed's DRP procedure on the embedded lab, through the CLI only: start on deb1,
//! syncfullsync, syncdrp, the app keeps writing, cut user access, syncupdate --force, stop on
//! deb1, start on deb2 — and the workload and its data are on deb2.

mod support;

use std::time::Duration;

use support::{assert_seed_shape, resource, wait_until, TestLab};

const T: Duration = Duration::from_secs(20);

#[test]
fn rehearsal_moves_workload_and_data_to_drp() {
    let lab = TestLab::new();

    lab.svc("deb1", &["start"]).expect_ok("start on deb1");
    wait_until(T, "the app to write on deb1", || {
        lab.lines("deb1").len() >= 2
    });
    let st = lab.status("deb1");
    assert_eq!(st["avail"], "up");
    // Never replicated yet: the seed's "state file not found" and "need update".
    assert_eq!(resource(&st, "sync#1")["status"], "warn");
    assert_eq!(
        resource(&st, "sync#1")["comments"][0],
        "dir state file not found"
    );
    assert_eq!(resource(&st, "sync#i0")["status"], "down");
    assert_eq!(resource(&st, "sync#i0")["comments"][0], "deb2 need update");
    assert_eq!(st["overall"], "warn");
    assert_seed_shape(&lab.tree("deb1"), "busybox");

    lab.svc("deb1", &["syncfullsync", "--force"])
        .expect_ok("syncfullsync");
    let st = lab.status("deb1");
    assert_eq!(resource(&st, "sync#1")["status"], "up");
    assert_eq!(st["overall"], "warn", "config not pushed yet: {st}");

    lab.svc("deb1", &["syncdrp", "--force"])
        .expect_ok("syncdrp");
    let st = lab.status("deb1");
    assert_eq!(st["overall"], "up", "{st}");
    assert_eq!(resource(&st, "sync#i0")["status"], "up");
    assert_seed_shape(&lab.tree("deb1"), "busybox");

    // The app keeps writing on production.
    let at_drp_sync = lab.lines("deb1").len();
    wait_until(T, "the app to keep writing on deb1", || {
        lab.lines("deb1").len() > at_drp_sync + 1
    });

    // deb2 is the standby: down, its replica and config fresh.
    let st2 = lab.status("deb2");
    assert_eq!(st2["avail"], "down");
    assert_eq!(resource(&st2, "sync#1")["status"], "up");
    assert_eq!(resource(&st2, "sync#i0")["status"], "up");
    assert_seed_shape(&lab.tree("deb2"), "busybox");

    // Cut user access: in the lab the writer is the user, so its app stops first.
    lab.svc("deb1", &["stopapp"])
        .expect_ok("stopapp (cut user access)");
    lab.svc("deb1", &["syncupdate", "--force"])
        .expect_ok("syncupdate");
    lab.svc("deb1", &["stop"]).expect_ok("stop on deb1");
    let written_on_prod = lab.lines("deb1");
    assert!(
        written_on_prod.len() >= 4,
        "too few lines: {written_on_prod:?}"
    );
    let st = lab.status("deb1");
    assert_eq!(st["overall"], "down", "{st}");
    assert_seed_shape(&lab.tree("deb1"), "busybox");

    lab.svc("deb2", &["start"]).expect_ok("start on deb2");
    wait_until(T, "the app to write on deb2", || {
        lab.lines("deb2").len() > written_on_prod.len()
    });
    let on_drp = lab.lines("deb2");
    assert_eq!(
        on_drp[..written_on_prod.len()],
        written_on_prod[..],
        "a line written on deb1 is missing on deb2"
    );

    let st2 = lab.status("deb2");
    assert_eq!(st2["overall"], "up", "{st2}");
    assert_eq!(resource(&st2, "sync#1")["status"], "up");
    let i0 = resource(&st2, "sync#i0");
    assert_eq!(i0["status"], "n/a");
    assert_eq!(i0["comments"][0], "service up on drp node, sync disabled");
    let st = lab.status("deb1");
    assert_eq!(st["overall"], "down");
    assert_eq!(resource(&st, "sync#1")["status"], "up");
    assert_seed_shape(&lab.tree("deb2"), "busybox");

    // And it keeps growing on deb2, while deb1 stays still.
    let now = lab.lines("deb2").len();
    wait_until(T, "deb2's file to keep growing", || {
        lab.lines("deb2").len() > now
    });
    assert_eq!(lab.lines("deb1"), written_on_prod);
}
