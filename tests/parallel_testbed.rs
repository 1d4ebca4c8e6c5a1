//! Lanes side by side on the root testbed (`parallel_groups = ip | fs` in the seed's service):
//! when the address check fails while the other lane has mounted the filesystems and started
//! the private dockerd, the start stops and everything it brought up goes down again.

mod support;

use std::time::Duration;

use drpilot::lab::testbed::seed_service::{clean_env, PROD, SERVICE};
use support::testbed::{host_bin, on, seed_testbed, status};
use support::{assert_order, wait_until};

const T: Duration = Duration::from_secs(30);
const APPDATA: &str = "/opt/busybox.opensvc.com/appdata";

#[test]
fn a_failing_lane_rolls_back_what_the_other_lane_started() {
    let Some(tb) = seed_testbed("parallel lanes on the testbed") else {
        return;
    };
    let addr = tb.subnet.host(21).to_string();
    let bin = host_bin(&tb);
    let mut start = tb.ssh_command(
        PROD,
        &[bin.to_str().expect("utf-8"), "svc", SERVICE, "start"],
    );
    let child = start
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start on deb1");
    // Once the storage lane has mounted the data, another host takes the address: the ARP
    // probe, still listening, hears it and the address lane fails.
    // (Looked at through nsenter, not ssh: the probe listens for two seconds only.)
    let host = tb.host(PROD).expect("deb1");
    wait_until(T, "the storage lane to mount the data", || {
        let mut findmnt = host.command("findmnt");
        clean_env(&mut findmnt);
        findmnt
            .args(["-n", APPDATA])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let squat = |verb: &str| {
        let ok = tb
            .operator_command("ip")
            .args(["addr", verb, &format!("{addr}/32"), "dev", &tb.bridge])
            .status()
            .expect("ip")
            .success();
        assert!(ok, "ip addr {verb} on the bridge");
    };
    squat("add");
    let out = child.wait_with_output().expect("start ends");
    squat("del");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the start must fail:\n{stdout}");
    assert!(stderr.contains(&format!("{addr} answers")), "{stderr}");
    // The other lane had brought the storage and the daemon up; the rollback takes them down,
    // newest first.
    assert_order(
        &stdout,
        &[
            "side by side",
            "mount -t btrfs -o 'rw,subvol=appdata'",
            "starting docker daemon",
            "rollback: undoing what this start prepared",
            "docker daemon stopped",
            "rollback: stopping what this start brought up",
            &format!("umount {APPDATA}"),
            "rollback: stopping what this start brought up",
            "umount /opt/busybox.opensvc.com\n",
        ],
    );
    // The node is as it was: nothing mounted, no daemon, no address.
    assert!(!on(&tb, PROD, &["findmnt", "-n", "/opt/busybox.opensvc.com"]).ok);
    let addrs = on(&tb, PROD, &["ip", "-o", "addr", "show", "dev", "eth0"]).expect_ok("ip addr");
    assert!(
        !addrs.stdout.contains(&format!("inet {addr}/")),
        "{}",
        addrs.stdout
    );
    let st = status(&tb, PROD, SERVICE);
    assert_eq!(st["avail"], "down", "{st}");
    assert_eq!(
        support::resource(&st, "container#1")["comments"][0],
        "docker daemon is not running",
        "{st}"
    );
    // With the address free again, the same start goes through.
    support::testbed::svc(&tb, PROD, SERVICE, &["start"]).expect_ok("start on deb1");
    assert_eq!(status(&tb, PROD, SERVICE)["avail"], "up");
    support::testbed::svc(&tb, PROD, SERVICE, &["stop"]).expect_ok("stop on deb1");
    tb.teardown().expect("teardown");
}
