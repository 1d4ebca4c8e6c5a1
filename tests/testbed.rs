//! The root testbed itself: two namespaced hosts that reach each other over SSH, resolve the
//! service names, own their volumes, and leave nothing behind when torn down — also after the
//! process that built them was killed.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use drpilot::lab::testbed::{Spec, Testbed, BASE_DIR};

fn loops_backed_by(dir: &Path) -> Vec<String> {
    let out = Command::new("losetup")
        .args(["--list", "--noheadings", "--output", "NAME,BACK-FILE"])
        .output()
        .expect("losetup");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(&*dir.to_string_lossy()))
        .map(String::from)
        .collect()
}

#[test]
fn two_hosts_reach_each_other_and_leave_nothing_behind() {
    if !support::root_testbed_ready(
        "testbed",
        &[
            "unshare",
            "nsenter",
            "docker-init",
            "ip",
            "losetup",
            "ssh",
            "mkfs.btrfs",
        ],
    ) {
        return;
    }
    let tb = Testbed::create(&Spec::seed()).expect("testbed");
    let dir = tb.dir.clone();
    let switch = tb.switch_pid;
    for (node, peer) in [("deb1.opensvc.com", "deb2"), ("deb2.opensvc.com", "deb1")] {
        let out = tb.ssh_command(node, &["hostname"]).output().expect("ssh");
        assert!(
            out.status.success(),
            "ssh {node}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), node);
        // The peer answers by name, through the host's own /etc/hosts, over the bridge.
        let out = tb
            .ssh_command(
                node,
                &[
                    "ssh",
                    "-F",
                    &tb.ssh.config().to_string_lossy(),
                    peer,
                    "hostname",
                ],
            )
            .output()
            .expect("ssh hop");
        assert!(
            out.status.success(),
            "{node} -> {peer}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = tb
            .ssh_command(node, &["getent", "hosts", "busybox-drp.opensvc.com"])
            .output()
            .expect("getent");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .next(),
            Some(tb.subnet.host(22).to_string().as_str())
        );
        // Its own pid namespace: only the host's processes are visible.
        let out = tb
            .ssh_command(node, &["cat", "/proc/1/comm"])
            .output()
            .expect("ssh");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "docker-init");
    }
    // The subnet exists only inside the testbed's namespaces, never in this machine's.
    let prefix = format!("{}.", tb.subnet.prefix.map(|o| o.to_string()).join("."));
    let here = Command::new("ip")
        .args(["-4", "-o", "addr"])
        .output()
        .expect("ip addr");
    assert!(
        !String::from_utf8_lossy(&here.stdout).contains(&prefix),
        "{prefix} leaked"
    );
    let routes = Command::new("ip")
        .args(["-4", "route"])
        .output()
        .expect("ip route");
    assert!(
        !String::from_utf8_lossy(&routes.stdout).contains(&prefix),
        "{prefix} routed here"
    );
    let vols = tb.volumes_of("deb1.opensvc.com").expect("volumes");
    assert!(vols.btrfs.device.exists() && vols.ext4.device.exists());
    eprintln!("testbed setup took {:?}", tb.setup_time());
    let t = std::time::Instant::now();
    tb.teardown().expect("teardown");
    eprintln!("teardown took {:?}", t.elapsed());
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(
        !Path::new(&format!("/proc/{switch}")).exists(),
        "the switch (bridge and veths) left behind"
    );
    assert!(loops_backed_by(&dir).is_empty(), "loop devices left behind");
}

#[test]
fn a_testbed_whose_builder_was_killed_is_swept_by_the_next_one() {
    if !support::root_testbed_ready(
        "testbed sweep",
        &[
            "unshare",
            "nsenter",
            "docker-init",
            "ip",
            "losetup",
            "ssh",
            "mkfs.btrfs",
        ],
    ) {
        return;
    }
    // A builder that dies without tearing down: `drpilot lab --netns --no-console` prints the testbed
    // directory once built and then waits to be killed.
    let mut child = support::bin()
        .args(["lab", "--netns", "--no-console"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn drpilot lab --netns");
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let dir = loop {
        let mut line = String::new();
        let n = std::io::BufRead::read_line(&mut out, &mut line).expect("read");
        assert!(n > 0, "drpilot lab --netns ended before its testbed was up");
        if let Some(d) = line.strip_prefix("testbed: ") {
            break d.trim().to_string();
        }
    };
    child.kill().expect("kill");
    child.wait().expect("wait");
    let dir = Path::new(&dir).to_path_buf();
    assert!(dir.starts_with(BASE_DIR) && dir.exists());
    // Another test's Testbed::create may sweep it first: either way it must be gone after this.
    drpilot::lab::testbed::sweep_stale().expect("sweep");
    assert!(!dir.exists(), "{} survived the sweep", dir.display());
    assert!(loops_backed_by(&dir).is_empty(), "loop devices left behind");
    support::wait_until(Duration::from_secs(5), "no host left", || {
        !std::fs::read_dir("/proc")
            .expect("proc")
            .flatten()
            .any(|e| {
                std::fs::read_to_string(e.path().join("cmdline"))
                    .is_ok_and(|c| c.contains(&*dir.to_string_lossy()))
            })
    });
}
