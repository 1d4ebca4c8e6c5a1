//! Golden tests: every `print status` tree of the seed (docs/seed docker-drp-tutorial.rst),
//! rebuilt from resource statuses given in a scrambled order, must render byte for byte.

use drpilot::status::{
    aggregate, parse_json, render_json, render_text, Flags, ResourceStatus, ServiceStatus, Status,
    SyncInfo,
};
use Status::{Down, NotApplicable, StdbyUp, Up, Warn};

const SVC: &str = "busybox.opensvc.com";
const UPDATED: &str = "2014-06-06T15:08:25Z";

const ROOT1: &str = "/dev/mapper/vglocaldeb1-lvbusyboxroot@/opt/busybox.opensvc.com";
const DATA1: &str = "/dev/mapper/vglocaldeb1-lvbusyboxdata@/opt/busybox.opensvc.com/appdata";
const ROOT2: &str = "/dev/mapper/vglocaldeb2-lvbusyboxroot@/opt/busybox.opensvc.com";
const DATA2: &str = "/dev/mapper/vglocaldeb2-lvbusyboxdata@/opt/busybox.opensvc.com/appdata";
const IP1: &str = "busybox.opensvc.com@eth0";
const IP2: &str = "busybox-drp.opensvc.com@eth0";
const IMAGE: &str = "b073e328878e";
const RUNNING: &str = "ce6204fcec5a@opensvc/busybox:date";
const SYNC1: &str = "dds of /dev/mapper/vglocaldeb1-lvbusyboxroot to ['drpnodes']";
const SYNC2: &str = "dds of /dev/mapper/vglocaldeb1-lvbusyboxdata to ['drpnodes']";
const SYNCI0: &str = "rsync svc config to drpnodes, nodes";
const SYNCI1: &str = "rsync system files to drpnodes";
const NEED_UPDATE: &str = "deb2.opensvc.com need update";
const NO_DAEMON: &str = "docker daemon is not running";

/// A resource row; `type_name` follows the rid's kind.
fn res(rid: &str, label: &str, status: Status) -> ResourceStatus {
    let type_name = match rid.split('#').next().unwrap_or_default() {
        "container" => "container.docker",
        "vg" => "disk.vg",
        "fs" => "fs.ext4",
        "ip" => "ip",
        _ if rid == "sync#i0" => "sync.config",
        _ if rid.starts_with("sync#i") => "sync.dir",
        _ => "sync.dds",
    };
    ResourceStatus {
        provisioned: None,
        rid: rid.to_string(),
        type_name: type_name.to_string(),
        label: label.to_string(),
        status,
        flags: Flags::default(),
        standby: false,
        comments: Vec::new(),
    }
}

/// Same, with one comment.
fn res_c(rid: &str, label: &str, status: Status, comment: &str) -> ResourceStatus {
    ResourceStatus {
        provisioned: None,
        comments: vec![comment.to_string()],
        ..res(rid, label, status)
    }
}

/// Same, for an `always_on` resource.
fn res_standby(rid: &str, label: &str, status: Status) -> ResourceStatus {
    ResourceStatus {
        provisioned: None,
        standby: true,
        ..res(rid, label, status)
    }
}

fn plain(_: Status, word: &str) -> String {
    word.to_string()
}

fn build(node: &str, resources: Vec<ResourceStatus>) -> ServiceStatus {
    let syncs = resources
        .iter()
        .filter(|r| r.rid.starts_with("sync#"))
        .map(|r| SyncInfo {
            rid: r.rid.clone(),
            last_sync: None,
            max_delay_s: 86400,
        })
        .collect();
    aggregate(SVC, node, UPDATED.to_string(), resources, syncs)
}

/// Renders `resources` (and the same list reversed) and compares with the golden file.
fn check(node: &str, resources: Vec<ResourceStatus>, golden: &str) {
    let mut reversed = resources.clone();
    reversed.reverse();
    let text = render_text(&build(node, resources), &plain);
    assert_eq!(text, golden, "\n--- got ---\n{text}--- want ---\n{golden}");
    assert_eq!(render_text(&build(node, reversed), &plain), golden);
}

#[test]
fn deb1_1_initial_image_id() {
    check(
        "deb1.opensvc.com",
        vec![
            res("ip#1", IP1, Up),
            res("fs#2", DATA1, Up),
            res_c("container#1", IMAGE, Down, NO_DAEMON),
            res("vg#1", "vglocaldeb1", Up),
            res("fs#1", ROOT1, Up),
        ],
        include_str!("golden/deb1_1_initial_image_id.txt"),
    );
}

#[test]
fn deb1_2_after_docker_pull() {
    check(
        "deb1.opensvc.com",
        vec![
            res("fs#1", ROOT1, Up),
            res("ip#1", IP1, Up),
            res("vg#1", "vglocaldeb1", Up),
            res("fs#2", DATA1, Up),
            res_c(
                "container#1",
                "opensvc/busybox:date",
                Down,
                "can not find container id",
            ),
        ],
        include_str!("golden/deb1_2_after_docker_pull.txt"),
    );
}

#[test]
fn deb1_3_after_startcontainer() {
    check(
        "deb1.opensvc.com",
        vec![
            res("fs#2", DATA1, Up),
            res("vg#1", "vglocaldeb1", Up),
            res("ip#1", IP1, Up),
            res("container#1", RUNNING, Up),
            res("fs#1", ROOT1, Up),
        ],
        include_str!("golden/deb1_3_after_startcontainer.txt"),
    );
}

#[test]
fn deb1_4_after_drp_config() {
    check(
        "deb1.opensvc.com",
        vec![
            res_c("sync#i1", SYNCI1, Down, NEED_UPDATE),
            res("fs#2", DATA1, Up),
            res_c("sync#2", SYNC2, Warn, "dds state file not found"),
            res("ip#1", IP1, Up),
            res_c("sync#i0", SYNCI0, Down, NEED_UPDATE),
            res("container#1", RUNNING, Up),
            res_c("sync#1", SYNC1, Warn, "dds state file not found"),
            res("vg#1", "vglocaldeb1", Up),
            res("fs#1", ROOT1, Up),
        ],
        include_str!("golden/deb1_4_after_drp_config.txt"),
    );
}

#[test]
fn deb1_5_after_syncfullsync() {
    check(
        "deb1.opensvc.com",
        vec![
            res("sync#2", SYNC2, Up),
            res_c("sync#i0", SYNCI0, Down, NEED_UPDATE),
            res("fs#1", ROOT1, Up),
            res("vg#1", "vglocaldeb1", Up),
            res("sync#1", SYNC1, Up),
            res("container#1", RUNNING, Up),
            res_c("sync#i1", SYNCI1, Down, NEED_UPDATE),
            res("ip#1", IP1, Up),
            res("fs#2", DATA1, Up),
        ],
        include_str!("golden/deb1_5_after_syncfullsync.txt"),
    );
}

/// All up on the production node: the tree after `syncdrp --force`.
fn deb1_all_up() -> Vec<ResourceStatus> {
    vec![
        res("sync#i1", SYNCI1, Up),
        res("ip#1", IP1, Up),
        res("sync#1", SYNC1, Up),
        res("fs#2", DATA1, Up),
        res("sync#i0", SYNCI0, Up),
        res("vg#1", "vglocaldeb1", Up),
        res("container#1", RUNNING, Up),
        res("sync#2", SYNC2, Up),
        res("fs#1", ROOT1, Up),
    ]
}

#[test]
fn deb1_6_after_syncdrp() {
    check(
        "deb1.opensvc.com",
        deb1_all_up(),
        include_str!("golden/deb1_6_after_syncdrp.txt"),
    );
}

#[test]
fn deb1_7_before_syncupdate() {
    let mut resources = deb1_all_up();
    resources.rotate_left(4);
    check(
        "deb1.opensvc.com",
        resources,
        include_str!("golden/deb1_7_before_syncupdate.txt"),
    );
}

#[test]
fn deb1_8_stopped() {
    check(
        "deb1.opensvc.com",
        vec![
            res("fs#1", ROOT1, Down),
            res_c(
                "sync#i1",
                SYNCI1,
                NotApplicable,
                "passive node not in sync destination nodes",
            ),
            res("sync#i0", SYNCI0, Up),
            res("ip#1", IP1, Down),
            res("sync#2", SYNC2, Up),
            res("vg#1", "vglocaldeb1", Down),
            res_c("container#1", IMAGE, Down, NO_DAEMON),
            res("sync#1", SYNC1, Up),
            res("fs#2", DATA1, Down),
        ],
        include_str!("golden/deb1_8_stopped.txt"),
    );
}

#[test]
fn deb2_1_standby() {
    check(
        "deb2.opensvc.com",
        vec![
            res("sync#i0", SYNCI0, Up),
            res("fs#2", DATA2, Down),
            res("sync#1", SYNC1, Up),
            res_standby("vg#1", "vglocaldeb2", StdbyUp),
            res_c("sync#i1", SYNCI1, NotApplicable, "no destination nodes"),
            res("ip#1", IP2, Down),
            res("sync#2", SYNC2, Up),
            res_c("container#1", IMAGE, Down, NO_DAEMON),
            res("fs#1", ROOT2, Down),
        ],
        include_str!("golden/deb2_1_standby.txt"),
    );
}

#[test]
fn deb2_2_up() {
    check(
        "deb2.opensvc.com",
        vec![
            res_c("sync#i1", SYNCI1, NotApplicable, "no destination nodes"),
            res("fs#1", ROOT2, Up),
            res("sync#2", SYNC2, Up),
            res("container#1", RUNNING, Up),
            res_c(
                "sync#i0",
                SYNCI0,
                NotApplicable,
                "service up on drp node, sync disabled",
            ),
            res("ip#1", IP2, Up),
            res_standby("vg#1", "vglocaldeb2", StdbyUp),
            res("sync#1", SYNC1, Up),
            res("fs#2", DATA2, Up),
        ],
        include_str!("golden/deb2_2_up.txt"),
    );
}

#[test]
fn json_round_trip_keeps_everything() {
    let mut resources = deb1_all_up();
    resources[0] = res_c("sync#i1", SYNCI1, NotApplicable, "no destination nodes");
    resources[1].flags = Flags {
        monitored: true,
        optional: true,
        ..Flags::default()
    };
    let mut status = build("deb1.opensvc.com", resources);
    status.syncs[0].last_sync = Some("2014-06-06T16:14:23Z".to_string());
    let json = render_json(&status);
    assert!(!json.contains('\n'));
    assert!(json.starts_with(r#"{"schema":1,"service":"busybox.opensvc.com","node":"deb1.opensvc.com","updated":"2014-06-06T15:08:25Z","overall":"up","avail":"up","sync":"up","hb":"n/a","resources":[{"rid":"container#1","type":"container.docker","#));
    assert!(json.contains(r#""flags":"M.O.""#));
    let back = parse_json(&json).expect("valid JSON");
    assert_eq!(back, status);
    assert_eq!(render_text(&back, &plain), render_text(&status, &plain));
}

#[test]
fn json_of_the_standby_node_keeps_stdby_words() {
    let status = build(
        "deb2.opensvc.com",
        vec![
            res_standby("vg#1", "vglocaldeb2", StdbyUp),
            res("fs#1", ROOT2, Down),
        ],
    );
    let json = render_json(&status);
    assert!(json.contains(r#""overall":"stdby up","avail":"stdby up""#));
    assert!(json.contains(r#""standby":true"#));
    assert_eq!(parse_json(&json).expect("valid JSON"), status);
}

#[test]
fn print_status_strips_control_characters_from_labels_and_comments() {
    // Labels come from config values (an app's start command), comments from command output.
    let status = build(
        "deb1.opensvc.com",
        vec![
            res_c(
                "fs#1",
                "/srv\x1b]0;PWNED\x07/data",
                Down,
                "fsck said:\tbad\x1b[2J\x1b[H block\r",
            ),
            res("app#1", "/bin/sh\x1b[31m -c run\x1b[0m\u{9b}1m", Up),
        ],
    );
    let text = render_text(&status, &plain);
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{text:?}"
    );
    assert!(text.contains(" /srv/data\n"), "{text}");
    assert!(text.contains("# fsck said: bad block\n"), "{text}");
    assert!(text.contains(" /bin/sh -c run\n"), "{text}");
    // JSON keeps the values as they are, escaped: it stays valid JSON a program reads back.
    let json = render_json(&status);
    assert!(!json.chars().any(char::is_control), "{json}");
    assert!(json.contains(r"/srv\u001b]0;PWNED\u0007/data"), "{json}");
    assert!(json.contains(r"run\u001b[0m\u009b1m"), "{json}");
    assert_eq!(parse_json(&json).expect("valid JSON"), status);
}
