//! The seed's scenario for real, on the root testbed over SSH: `busybox.opensvc.com` with its
//! address, btrfs filesystems, private docker and btrfs replication. Start on deb1,
//! syncfullsync, syncdrp, syncupdate --force, stop on deb1, start on deb2: the same container
//! runs on deb2 and its log continues deb1's; the DRP address answers there; the trees are the
//! seed's, and the sync#i1 row is the tutorial's at every stage. Along the way: the split-brain
//! guard, and a sync cut by a dropped link.

mod support;

use std::time::Duration;

use drpilot::lab::testbed::seed_service::{DRP, PROD, SERVICE};
use drpilot::lab::testbed::Testbed;
use support::testbed::{on, seed_testbed, status, svc, sync_cut_by_the_link, with_volume_top};
use support::{assert_order, resource, wait_until};

const T: Duration = Duration::from_secs(60);
const CONTAINER: &str = "busybox.opensvc.com.container.1";

fn container_log(tb: &Testbed, node: &str) -> Vec<String> {
    let r = svc(tb, node, SERVICE, &["docker", "logs", CONTAINER]);
    if !r.ok {
        return Vec::new();
    }
    r.stdout.lines().map(String::from).collect()
}

/// The sync#i1 row of a tree with its comment lines: the last row of the sync group, up to the
/// hb row.
fn system_files_rows(tree: &str) -> String {
    let lines: Vec<&str> = tree.lines().collect();
    let from = lines.iter().position(|l| l.contains("- sync#i1 "));
    let to = lines.iter().position(|l| l.starts_with("'- hb"));
    match (from, to) {
        (Some(a), Some(b)) if a < b => lines[a..b].join("\n"),
        _ => format!("no sync#i1 row in:\n{tree}"),
    }
}

/// Compares `node`'s sync#i1 row, from its real status, with the OpenSVC tutorial's at `stage`
/// (a tree of tests/golden).
fn assert_system_files_row(tb: &Testbed, node: &str, golden: &str, stage: &str) {
    let tree = svc(tb, node, SERVICE, &["print", "status"])
        .expect_ok("print status")
        .stdout;
    assert_eq!(
        system_files_rows(&tree),
        system_files_rows(golden),
        "{node}'s sync#i1 row at {stage}:\n{tree}"
    );
}

fn label(st: &serde_json::Value, rid: &str) -> String {
    resource(st, rid)["label"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The snapshots of a subvolume on a node, and the sha256 of `file` in the newest one.
fn snapshots(tb: &Testbed, node: &str, subvol: &str, file: &str) -> (Vec<String>, String) {
    with_volume_top(tb, node, |top| {
        let list = on(tb, node, &["ls", "-1", &format!("{top}/.drpilot-snap")]);
        let mut names: Vec<String> = list
            .stdout
            .lines()
            .filter(|l| l.starts_with(&format!("{subvol}@")) && !l.contains("@replaced"))
            .map(String::from)
            .collect();
        names.sort();
        let sum = names
            .last()
            .map(|n| {
                on(
                    tb,
                    node,
                    &["sha256sum", &format!("{top}/.drpilot-snap/{n}/{file}")],
                )
                .stdout
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string()
            })
            .unwrap_or_default();
        (names, sum)
    })
}

#[test]
fn the_seed_scenario_moves_the_container_and_its_data_to_the_drp_node() {
    let Some(tb) = seed_testbed("seed scenario on the testbed") else {
        return;
    };
    let prod_ip = tb.subnet.host(21).to_string();
    let drp_ip = tb.subnet.host(22).to_string();

    let st = status(&tb, PROD, SERVICE);
    assert_eq!(st["avail"], "down", "{st}");
    assert_eq!(
        resource(&st, "container#1")["comments"][0],
        "docker daemon is not running"
    );

    svc(&tb, PROD, SERVICE, &["start"]).expect_ok("start on deb1");
    let st = status(&tb, PROD, SERVICE);
    assert_eq!(st["avail"], "up", "{st}");
    assert_system_files_row(
        &tb,
        PROD,
        include_str!("golden/deb1_4_after_drp_config.txt"),
        "the first start",
    );
    let container = label(&st, "container#1");
    let (id, image) = container.split_once('@').expect("id@image label");
    assert_eq!(id.len(), 12, "{container}");
    assert_eq!(image, "tb/busybox:1");
    wait_until(T, "the container to print dates on deb1", || {
        container_log(&tb, PROD).len() >= 3
    });
    on(
        &tb,
        DRP,
        &["busybox", "ping", "-c", "1", "-W", "2", &prod_ip],
    )
    .expect_ok("the production address answers");

    svc(&tb, PROD, SERVICE, &["syncfullsync"]).expect_ok("syncfullsync");
    assert_system_files_row(
        &tb,
        PROD,
        include_str!("golden/deb1_5_after_syncfullsync.txt"),
        "syncfullsync",
    );
    svc(&tb, PROD, SERVICE, &["syncdrp", "--force"]).expect_ok("syncdrp");
    let st = status(&tb, PROD, SERVICE);
    assert_eq!(st["overall"], "up", "{st}");
    assert_system_files_row(
        &tb,
        PROD,
        include_str!("golden/deb1_6_after_syncdrp.txt"),
        "syncdrp",
    );
    assert_system_files_row(
        &tb,
        DRP,
        include_str!("golden/deb2_1_standby.txt"),
        "deb2 standing by",
    );

    // The split-brain guard: deb2 may not start while deb1 runs the service.
    let refused = svc(&tb, DRP, SERVICE, &["start"]).expect_err("start on deb2 while up on deb1");
    assert!(refused.stderr.contains(PROD), "{}", refused.stderr);
    let drp_addrs = on(&tb, DRP, &["ip", "-o", "addr", "show", "dev", "eth0"]);
    assert!(
        !drp_addrs.stdout.contains(&drp_ip),
        "nothing started on deb2"
    );

    // A sync cut by the link dropping leaves deb2's last snapshot intact.
    let blob = "/opt/busybox.opensvc.com/appdata/blob";
    on(
        &tb,
        PROD,
        &[
            "dd",
            "if=/dev/urandom",
            &format!("of={blob}"),
            "bs=1M",
            "count=160",
            "status=none",
        ],
    )
    .expect_ok("writing a blob");
    let (before, _) = snapshots(&tb, DRP, "appdata", "blob");
    assert!(!before.is_empty(), "syncdrp left a snapshot on deb2");
    let (cut, lines) = sync_cut_by_the_link(&tb, PROD, SERVICE, "sync#2", DRP);
    assert!(!cut.success(), "the cut sync must fail: {lines:?}");
    let (after_cut, _) = snapshots(&tb, DRP, "appdata", "blob");
    assert_eq!(after_cut, before, "deb2 keeps its last consistent snapshot");
    svc(&tb, PROD, SERVICE, &["syncupdate", "--force"]).expect_ok("the next syncupdate");
    let (after, sum_drp) = snapshots(&tb, DRP, "appdata", "blob");
    assert_ne!(after, before);
    let sum_prod = on(&tb, PROD, &["sha256sum", blob]).stdout;
    assert!(
        sum_prod.starts_with(&sum_drp) && !sum_drp.is_empty(),
        "{sum_prod} vs {sum_drp}"
    );
    on(&tb, PROD, &["rm", "-f", blob]).expect_ok("rm blob");

    // The seed's switch: syncupdate, stop on production, start on DRP.
    assert_system_files_row(
        &tb,
        PROD,
        include_str!("golden/deb1_7_before_syncupdate.txt"),
        "the switch",
    );
    svc(&tb, PROD, SERVICE, &["syncupdate", "--force"]).expect_ok("syncupdate --force");
    let written_on_prod = container_log(&tb, PROD);
    assert!(written_on_prod.len() >= 3, "{written_on_prod:?}");
    let stopped = svc(&tb, PROD, SERVICE, &["stop"]).expect_ok("stop on deb1");
    let st1 = status(&tb, PROD, SERVICE);
    assert_eq!(st1["overall"], "down", "{st1}");
    assert_stop_order(&stopped.stdout, &prod_ip);
    assert_system_files_row(
        &tb,
        PROD,
        include_str!("golden/deb1_8_stopped.txt"),
        "the stop",
    );
    let started = svc(&tb, DRP, SERVICE, &["start"]).expect_ok("start on deb2");
    assert_start_order(&started.stdout, &drp_ip);

    let st2 = status(&tb, DRP, SERVICE);
    assert_eq!(st2["overall"], "up", "{st2}");
    assert_eq!(
        label(&st2, "container#1"),
        container,
        "the same container runs on deb2"
    );
    wait_until(T, "the container's log to continue on deb2", || {
        container_log(&tb, DRP).len() > written_on_prod.len() + 1
    });
    let on_drp = container_log(&tb, DRP);
    // Everything deb1 wrote up to the last sync is there, then deb2's lines follow.
    let synced = &written_on_prod[..written_on_prod.len().min(on_drp.len())];
    let common = synced
        .iter()
        .zip(&on_drp)
        .take_while(|(a, b)| a == b)
        .count();
    assert!(
        common >= 3,
        "deb2's log does not continue deb1's:\n{written_on_prod:?}\n{on_drp:?}"
    );
    on(
        &tb,
        PROD,
        &["busybox", "ping", "-c", "1", "-W", "2", &drp_ip],
    )
    .expect_ok("the DRP address answers on deb2");

    let tree1 = svc(&tb, PROD, SERVICE, &["print", "status"])
        .expect_ok("tree deb1")
        .stdout;
    let tree2 = svc(&tb, DRP, SERVICE, &["print", "status"])
        .expect_ok("tree deb2")
        .stdout;
    let dev1 = tb
        .volumes_of(PROD)
        .expect("v")
        .btrfs
        .device
        .to_string_lossy()
        .into_owned();
    let dev2 = tb
        .volumes_of(DRP)
        .expect("v")
        .btrfs
        .device
        .to_string_lossy()
        .into_owned();
    assert_eq!(tree1, expected_prod_tree(&dev1), "deb1's final tree");
    assert_eq!(
        system_files_rows(&tree2),
        system_files_rows(include_str!("golden/deb2_2_up.txt")),
        "deb2's sync#i1 row once it runs the service"
    );
    assert_eq!(
        tree2,
        expected_drp_tree(&dev2, &container),
        "deb2's final tree"
    );
    svc(&tb, DRP, SERVICE, &["stop"]).expect_ok("stop on deb2");
    tb.teardown().expect("teardown");
}

/// The stop's log keeps the seed's order wherever resources depend on each other: the
/// container first, then its daemon, then the filesystems inner first; the address (a lane of
/// its own, `parallel_groups = ip | fs`) goes once the container is down.
fn assert_stop_order(log: &str, addr: &str) {
    assert_order(log, &["docker -H", "stop -t", "side by side"]);
    assert_order(
        log,
        &[
            "side by side ([DEFAULT] parallel_groups = ip | fs): ip#1 | container#1:prepare fs#2 fs#1",
            "kill -TERM",
            "docker daemon stopped",
            "umount /opt/busybox.opensvc.com/appdata",
            "umount /opt/busybox.opensvc.com\n",
        ],
    );
    assert_order(
        log,
        &[
            "side by side",
            &format!("ip addr del {addr}/"),
            &format!("checking {addr} availability"),
        ],
    );
}

/// The start's log: the address check and the storage side by side, each lane in the seed's
/// order, and the container only once both are up.
fn assert_start_order(log: &str, addr: &str) {
    assert_order(
        log,
        &[
            "side by side ([DEFAULT] parallel_groups = ip | fs): ip#1 | replicas fs#1 fs#2 container#1:prepare",
            "mount -t btrfs -o 'rw,subvol=root'",
            "mount -t btrfs -o 'rw,subvol=appdata'",
            "starting docker daemon",
            "answers on",
        ],
    );
    assert_order(
        log,
        &[
            "side by side",
            &format!("checking {addr} availability"),
            &format!("ip addr add {addr}/"),
            &format!("gratuitous ARP: {addr} is at"),
        ],
    );
    for first in ["answers on", &format!("ip addr add {addr}/")] {
        assert_order(
            log,
            &[
                first,
                " start ",
                "wait for container up status",
                "wait for container operational",
            ],
        );
    }
}

/// The seed's deb1 tree after the stop, the vg row aside.
fn expected_prod_tree(dev: &str) -> String {
    format!(
        "busybox.opensvc.com
overall                   down
|- avail                  down
|  |- container#1    .... down     tb/busybox:1
|  |  |                            # docker daemon is not running
|  |- fs#1           .... down     {dev}@/opt/busybox.opensvc.com
|  |- fs#2           .... down     {dev}@/opt/busybox.opensvc.com/appdata
|  '- ip#1           .... down     busybox.opensvc.com@eth0
|- sync                   up
|  |- sync#1         .... up       btrfs of {dev}:root to ['drpnodes']
|  |- sync#2         .... up       btrfs of {dev}:appdata to ['drpnodes']
|  |- sync#i0        .... up       push svc config to drpnodes, nodes
|  '- sync#i1        .... n/a      rsync system files to drpnodes
|                                  # passive node not in sync destination
|                                  nodes
'- hb                     n/a
"
    )
}

/// The seed's deb2 tree after the start, the vg row aside.
fn expected_drp_tree(dev: &str, container: &str) -> String {
    format!(
        "busybox.opensvc.com
overall                   up
|- avail                  up
|  |- container#1    .... up       {container}
|  |- fs#1           .... up       {dev}@/opt/busybox.opensvc.com
|  |- fs#2           .... up       {dev}@/opt/busybox.opensvc.com/appdata
|  '- ip#1           .... up       busybox-drp.opensvc.com@eth0
|- sync                   up
|  |- sync#1         .... up       btrfs of {dev}:root to ['drpnodes']
|  |- sync#2         .... up       btrfs of {dev}:appdata to ['drpnodes']
|  |- sync#i0        .... n/a      push svc config to drpnodes, nodes
|  |                               # service up on drp node, sync disabled
|  '- sync#i1        .... n/a      rsync system files to drpnodes
|                                  # no destination nodes
'- hb                     n/a
"
    )
}
