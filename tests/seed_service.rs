//! The seed's own service (assets/examples) on a node without its storage, network or docker:
//! every resource reports its real state with a reason, and the config resolves per node.

mod support;

use support::{assert_seed_shape, bin, resource};

const SVC: &str = "busybox.opensvc.com";

fn node(root: &std::path::Path, name: &str) -> std::process::Command {
    let mut c = bin();
    c.env("DRPILOT_ROOT", root).env("DRPILOT_NODENAME", name);
    c
}

fn seed_root() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let etc = d.path().join("etc/drpilot");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(
        etc.join(format!("{SVC}.env")),
        include_str!("../assets/examples/busybox.opensvc.com.env"),
    )
    .unwrap();
    d
}

#[test]
fn print_status_of_the_seed_service_gives_every_resource_a_real_reason() {
    let d = seed_root();
    let out = node(d.path(), "deb1.opensvc.com")
        .args(["svc", SVC, "print", "status", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st["schema"], 1);
    assert_eq!(st["node"], "deb1.opensvc.com");
    let reason = |rid: &str| {
        resource(&st, rid)["comments"][0]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(resource(&st, "container#1")["status"], "down");
    assert_eq!(reason("container#1"), "docker daemon is not running");
    assert_eq!(resource(&st, "vg#1")["status"], "down");
    assert!(
        reason("vg#1").contains("vglocaldeb1") || reason("vg#1").contains("LVM"),
        "{}",
        reason("vg#1")
    );
    assert_eq!(resource(&st, "fs#1")["status"], "down");
    assert!(
        reason("fs#1").contains("/dev/mapper/vglocaldeb1-lvbusyboxroot"),
        "{}",
        reason("fs#1")
    );
    assert_eq!(resource(&st, "ip#1")["status"], "down");
    assert!(
        reason("ip#1").contains("busybox.opensvc.com"),
        "{}",
        reason("ip#1")
    );
    assert_eq!(resource(&st, "sync#1")["status"], "warn");
    assert_eq!(reason("sync#1"), "dds state file not found");
    assert_eq!(
        resource(&st, "sync#1")["label"],
        "dds of /dev/mapper/vglocaldeb1-lvbusyboxroot to ['drpnodes']"
    );
    assert_eq!(reason("sync#i0"), "deb2.opensvc.com need update");
    // The config's warning is printed, not fatal.
    assert!(String::from_utf8_lossy(&out.stderr).contains(":33: [fs#2] mnt_opts"));

    let text = node(d.path(), "deb1.opensvc.com")
        .args(["svc", SVC, "print", "status"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert_seed_shape(&text, SVC);
    assert!(text.contains("|  |- container#1    .... down     b073e328878e\n|  |  |                            # docker daemon is not running\n"), "{text}");
    assert!(!text.contains('\x1b'), "no colour when stdout is not a tty");
}

#[test]
fn the_drp_node_sees_its_own_scoped_values_and_standby_vg() {
    let d = seed_root();
    let out = node(d.path(), "deb2.opensvc.com")
        .args(["svc", SVC, "print", "status", "--format", "json"])
        .output()
        .unwrap();
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(resource(&st, "vg#1")["label"], "vglocaldeb2");
    assert_eq!(
        resource(&st, "vg#1")["status"],
        "stdby down",
        "always_on = drpnodes"
    );
    assert_eq!(
        resource(&st, "ip#1")["label"],
        "busybox-drp.opensvc.com@eth0"
    );
    assert_eq!(
        resource(&st, "fs#2")["label"],
        "/dev/mapper/vglocaldeb2-lvbusyboxdata@/opt/busybox.opensvc.com/appdata"
    );
}

#[test]
fn print_config_shows_the_winning_scope_for_a_node() {
    let d = seed_root();
    let out = node(d.path(), "deb1.opensvc.com")
        .args(["svc", SVC, "print", "config", "--node", "deb2.opensvc.com"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |key: &str, section: &str| -> String {
        let sec = text
            .split(&format!("[{section}]"))
            .nth(1)
            .unwrap_or_else(|| panic!("no [{section}] in\n{text}"));
        sec.lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no {key} in [{section}]:\n{text}"))
            .to_string()
    };
    let ipname = line("ipname", "ip#1");
    assert!(
        ipname.contains("busybox-drp.opensvc.com") && ipname.contains("@deb2.opensvc.com"),
        "{ipname}"
    );
    let args = line("docker_daemon_args", "DEFAULT");
    assert!(
        args.contains("--ip 37.59.71.24") && args.contains("@drpnodes"),
        "{args}"
    );
    let vg = line("vgname", "vg#1");
    assert!(vg.contains("vglocaldeb2"), "{vg}");
}

#[test]
fn a_start_whose_address_cannot_resolve_fails_clearly_and_changes_nothing() {
    let d = seed_root();
    let cfg = d.path().join(format!("etc/drpilot/{SVC}.env"));
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("= busybox.opensvc.com", "= drpilot-test.invalid");
    std::fs::write(&cfg, text).unwrap();
    let out = node(d.path(), "deb1.opensvc.com")
        .args(["svc", SVC, "startip", "--force"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ip#1: cannot resolve drpilot-test.invalid"),
        "{err}"
    );
    // Nothing was started: no action left a trace but its log.
    let st = node(d.path(), "deb1.opensvc.com")
        .args(["svc", SVC, "print", "status", "--format", "json"])
        .output()
        .unwrap();
    let st: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
    assert_eq!(st["avail"], "down", "{st}");
}

#[test]
fn unknown_services_and_bad_names_are_clear_errors() {
    let d = seed_root();
    // "Not configured here" has an exit code of its own: a peer's split-brain guard reads it as
    // "it cannot run here", while any other failure tells it nothing.
    for (svc, msg, code) in [
        ("nosuch", "not configured on deb1", 3),
        ("../etc", "invalid service name", 1),
    ] {
        let out = node(d.path(), "deb1")
            .args(["svc", svc, "print", "status"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(msg), "{err}");
    }
}
