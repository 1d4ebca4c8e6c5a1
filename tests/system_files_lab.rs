//! sync#i1 on the lab: production's system files copied to the DRP node's cache by the real
//! rsync, with the OpenSVC tutorial's statuses; the drift check on the DRP node, by `print
//! drift` and in the rehearsal's preflight; and the lab as shipped, which has no system files
//! under its node roots, so no sync#i1.

mod support;

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use support::{bin, resource, wait_until, Run, TestLab};

const T: Duration = Duration::from_secs(20);

/// The ids of the lab's files (whoever runs the tests), as production's passwd names them.
fn ids(lab: &TestLab) -> (u32, u32) {
    let m = std::fs::metadata(lab.root("deb1").join("srv/busybox/data")).unwrap();
    (m.uid(), m.gid())
}

/// Gives `node` a passwd and group naming `svcuser` with `uid` and `svcgroup` with `gid`.
fn users(lab: &TestLab, node: &str, uid: u32, gid: u32) {
    let etc = lab.root(node).join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(
        etc.join("passwd"),
        format!("svcuser:x:{uid}:{gid}::/home/svcuser:/bin/sh\n"),
    )
    .unwrap();
    std::fs::write(etc.join("group"), format!("svcgroup:x:{gid}:\n")).unwrap();
}

fn row(st: &serde_json::Value) -> (String, Vec<String>) {
    let r = resource(st, "sync#i1");
    let comments = r["comments"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    (
        r["status"].as_str().unwrap_or_default().to_string(),
        comments,
    )
}

fn drift(lab: &TestLab) -> Run {
    lab.svc("deb2", &["print", "drift"])
}

#[test]
fn the_lab_as_shipped_has_no_sync_i1_and_a_missing_rsync_is_named_as_its_reason() {
    let lab = TestLab::new();
    for node in ["deb1", "deb2"] {
        let st = lab.status(node);
        let rids: Vec<&str> = st["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["rid"].as_str())
            .collect();
        assert!(!rids.contains(&"sync#i1"), "{node}: {rids:?}");
    }
    // Production gets a system file: sync#i1 appears, and says rsync is missing where the PATH
    // has none.
    let (uid, gid) = ids(&lab);
    users(&lab, "deb1", uid, gid);
    lab.svc("deb1", &["start"]).expect_ok("start");
    let empty = tempfile::tempdir().unwrap();
    let out: Run = lab
        .node_cmd("deb1")
        .env("PATH", empty.path())
        .args(["svc", "busybox", "print", "status", "--format", "json"])
        .output()
        .unwrap()
        .into();
    let st: serde_json::Value = serde_json::from_str(&out.expect_ok("status").stdout).unwrap();
    assert_eq!(
        row(&st),
        ("down".into(), vec!["rsync is not installed on deb1".into()])
    );
    lab.svc("deb1", &["stop"]).expect_ok("stop");
}

#[test]
fn system_files_reach_the_drp_cache_and_a_moved_uid_is_a_drift_naming_its_files() {
    let lab = TestLab::new();
    let (uid, gid) = ids(&lab);
    users(&lab, "deb1", uid, gid);
    users(&lab, "deb2", uid, gid);

    // The tutorial's statuses, stage by stage.
    let st = lab.status("deb1");
    assert_eq!(
        row(&st),
        (
            "n/a".into(),
            vec!["passive node not in sync destination nodes".into()]
        )
    );
    lab.svc("deb1", &["start"]).expect_ok("start");
    wait_until(T, "the app's first line", || !lab.lines("deb1").is_empty());
    assert_eq!(
        row(&lab.status("deb1")),
        ("down".into(), vec!["deb2 need update".into()])
    );
    assert_eq!(
        row(&lab.status("deb2")),
        ("n/a".into(), vec!["no destination nodes".into()])
    );
    let before = drift(&lab).expect_ok("drift before any copy");
    assert!(
        before
            .stdout
            .contains("not checked: no copy of deb1's system files"),
        "{}",
        before.stdout
    );
    // syncfullsync leaves it to syncupdate and syncdrp, as in the tutorial.
    lab.svc("deb1", &["syncfullsync", "--force"])
        .expect_ok("syncfullsync");
    assert_eq!(row(&lab.status("deb1")).0, "down");
    lab.svc("deb1", &["syncupdate", "--force"])
        .expect_ok("syncupdate");
    assert_eq!(row(&lab.status("deb1")), ("up".into(), vec![]));
    let cache = lab.root("deb2").join("var/lib/drpilot/busybox/cache/deb1");
    assert_eq!(
        std::fs::read_to_string(cache.join("etc/passwd")).unwrap(),
        std::fs::read_to_string(lab.root("deb1").join("etc/passwd")).unwrap()
    );
    assert!(
        !lab.root("deb2")
            .join("etc/passwd.drpilot-incoming")
            .exists()
            && std::fs::read_to_string(lab.root("deb2").join("etc/passwd"))
                .unwrap()
                .contains(&format!(":{uid}:")),
        "deb2's own passwd is never written"
    );

    // Equal ids pass.
    let same = drift(&lab).expect_ok("drift with equal ids");
    assert!(
        same.stdout
            .contains(&format!("✓ same   user svcuser: {uid} on both")),
        "{}",
        same.stdout
    );
    assert!(same
        .stdout
        .contains(&format!("✓ same   group svcgroup: {gid} on both")));

    // svcuser has another uid on deb2: the drift names both ids, the files and the fix.
    users(&lab, "deb2", uid + 1, gid);
    let moved = drift(&lab).expect_err("drift with a moved uid");
    let line = format!("✗ drift  user svcuser: {uid} on deb1, {} on deb2", uid + 1);
    assert!(moved.stdout.contains(&line), "{}", moved.stdout);
    assert!(
        moved.stdout.contains("/opt/busybox/date.log"),
        "the files it concerns: {}",
        moved.stdout
    );
    assert!(
        moved
            .stdout
            .contains(&format!("fix on deb2: usermod -u {uid} svcuser")),
        "{}",
        moved.stdout
    );
    assert!(
        moved.stderr.contains("user svcuser (uid"),
        "{}",
        moved.stderr
    );
    let json: serde_json::Value = serde_json::from_str(
        lab.svc("deb2", &["print", "drift", "--format", "json"])
            .stdout
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(json["checks"][0]["verdict"]["differs"]["here"], uid + 1);

    // Every runbook's preflight stops on it, before anything is touched: the rehearsal, the
    // DRP test, and the disaster (production lost).
    let state = tempfile::tempdir().unwrap();
    lab.svc("deb1", &["syncdrp", "--force"])
        .expect_ok("syncdrp");
    let nodes = lab.dir.join("nodes.toml");
    let runbook = |which: &str| -> String {
        let out: Run = bin()
            .args(["drp", which, "busybox", "--nodes"])
            .arg(&nodes)
            .arg("--yes")
            .env("XDG_STATE_HOME", state.path())
            .output()
            .unwrap()
            .into();
        let refused = out.expect_err(&format!("drp {which} with a drift"));
        format!("{}{}", refused.stdout, refused.stderr)
    };
    let named = format!("user svcuser (uid {uid}) on deb1, {} on deb2", uid + 1);
    for which in ["rehearse", "test"] {
        let all = runbook(which);
        assert!(all.contains(&named), "drp {which}: {all}");
        assert!(all.contains("fix on deb2: usermod"), "drp {which}: {all}");
        assert_eq!(lab.status("deb1")["avail"], "up", "production untouched");
    }
    assert!(
        !lab.root("deb2")
            .join("var/lib/drpilot/busybox/bubble")
            .exists(),
        "no bubble was made"
    );
    lab.svc("deb1", &["stop"])
        .expect_ok("stop deb1 before losing it");
    let lost = lab.dir.join("deb1-lost");
    std::fs::rename(lab.root("deb1"), &lost).unwrap();
    let all = runbook("disaster");
    std::fs::rename(&lost, lab.root("deb1")).unwrap();
    assert!(all.contains(&named), "drp disaster: {all}");
    assert_eq!(
        lab.status("deb2")["avail"],
        "down",
        "nothing started on deb2"
    );

    // Fixed on deb2, the check passes.
    users(&lab, "deb2", uid, gid);
    drift(&lab).expect_ok("drift fixed");

    // On a stopped production node the system files still sync; the data syncs are refused.
    lab.svc("deb1", &["stop"]).expect_ok("stop");
    assert_eq!(
        row(&lab.status("deb1")),
        (
            "n/a".into(),
            vec!["passive node not in sync destination nodes".into()]
        )
    );
    std::fs::write(
        lab.root("deb1").join("etc/hosts"),
        "10.0.0.1 added-while-stopped\n",
    )
    .unwrap();
    let both = lab
        .svc("deb1", &["syncupdate", "--force"])
        .expect_err("data syncs from a stopped node");
    assert!(
        both.stderr
            .contains("syncs run from the node where the service is up"),
        "{}",
        both.stderr
    );
    assert_eq!(
        std::fs::read_to_string(cache.join("etc/hosts")).unwrap(),
        "10.0.0.1 added-while-stopped\n"
    );
    lab.svc("deb1", &["syncupdate", "--force", "--rid", "sync#i1"])
        .expect_ok("the system files alone");

    // After a failover, the failback's reverse sync from deb2 sends the data to deb1, never the
    // DRP node's system files.
    lab.svc("deb2", &["start"]).expect_ok("start on deb2");
    assert_eq!(
        row(&lab.status("deb2")),
        ("n/a".into(), vec!["no destination nodes".into()])
    );
    let back = lab
        .svc("deb2", &["syncupdate", "--force", "--target", "deb1"])
        .expect_ok("the reverse sync");
    assert!(
        back.stdout
            .lines()
            .any(|l| l.contains("SYNC#I1") && l.contains("no destination nodes")),
        "{}",
        back.stdout
    );
    assert!(!lab
        .root("deb1")
        .join("var/lib/drpilot/busybox/cache")
        .exists());
    lab.svc("deb2", &["stop"]).expect_ok("stop on deb2");
}

#[test]
fn a_receiving_node_keeps_the_cache_its_own_config_names() {
    let lab = TestLab::new();
    let (uid, gid) = ids(&lab);
    users(&lab, "deb1", uid, gid);
    // deb2 refuses a sender naming another place, and a sender that is not production.
    for (from, dst, why) in [
        (
            "deb1",
            "/etc",
            "go to /var/lib/drpilot/busybox/cache/deb1 here",
        ),
        (
            "deb2",
            "/var/lib/drpilot/busybox/cache/deb2",
            "deb2 is not a production node",
        ),
    ] {
        let out: Run = lab
            .node_cmd("deb2")
            .args([
                "peer",
                "rsync-receive",
                "--svc",
                "busybox",
                "--rid",
                "sync#i1",
            ])
            .args(["--dst", dst, "--from", from, "--id", "abc"])
            .args(["--when", "2026-01-01T00:00:00Z", "--bytes", "0"])
            .args(["--sha256", &"0".repeat(64)])
            .output()
            .unwrap()
            .into();
        let e = out.expect_err("a receive naming another place");
        assert!(e.stderr.contains(why), "{}", e.stderr);
    }
    assert!(!lab
        .root("deb2")
        .join("var/lib/drpilot/busybox/cache")
        .exists());
}
