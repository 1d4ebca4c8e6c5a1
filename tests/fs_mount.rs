//! The `fs` driver on real block devices (root only, loop files): an ext4 fs and two btrfs
//! subvolumes of one device mounted and unmounted through the real binary under a temporary
//! `DRPILOT_ROOT`; a busy unmount names its holder and leaves the fs mounted; `--force` ends
//! the holder; a damaged ext4 is refused with e2fsck's own words. Mounts, holder processes and
//! loop devices are cleaned up on drop, even when an assertion fails.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use drpilot::lab::loopdev::LoopDevice;
use support::{bin, on_path, resource, wait_until, Run};

const T: Duration = Duration::from_secs(10);
const MIB: u64 = 1024 * 1024;

/// A node root in a temporary directory, with its loop devices, mounts and holder processes.
struct Bed {
    root: PathBuf,
    holders: Vec<Child>,
    loops: Vec<LoopDevice>,
    tmp: tempfile::TempDir,
}

/// Mount points under `dir`, deepest first.
fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut v: Vec<PathBuf> = text
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(PathBuf::from)
        .filter(|p| p.starts_with(dir))
        .collect();
    v.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    v
}

fn tool(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().expect(program);
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Bed {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("deb1");
        std::fs::create_dir_all(root.join("etc/drpilot")).unwrap();
        std::fs::create_dir_all(root.join("dev")).unwrap();
        Self {
            root,
            holders: Vec::new(),
            loops: Vec::new(),
            tmp,
        }
    }

    /// A loop device of `size` bytes formatted `fstype`, linked as `<root>/dev/loopN`; returns
    /// the config's path of it, `/dev/loopN`.
    fn device(&mut self, name: &str, size: u64, fstype: &str) -> String {
        let image = self.tmp.path().join(format!("{name}.img"));
        let dev = LoopDevice::create(&image, size, fstype, None).expect("loop device");
        self.link(dev)
    }

    fn link(&mut self, dev: LoopDevice) -> String {
        let path = dev.device.clone();
        let name = path.file_name().unwrap().to_owned();
        std::os::unix::fs::symlink(&path, self.root.join("dev").join(name)).unwrap();
        self.loops.push(dev);
        path.to_string_lossy().into_owned()
    }

    fn config(&self, svc: &str, text: &str) {
        let body = format!("[DEFAULT]\nnodes = deb1\n\n{text}");
        std::fs::write(self.root.join(format!("etc/drpilot/{svc}.env")), body).unwrap();
    }

    fn svc(&self, svc: &str, args: &[&str]) -> Run {
        bin()
            .env("DRPILOT_ROOT", &self.root)
            .env("DRPILOT_NODENAME", "deb1")
            .args(["svc", svc])
            .args(args)
            .output()
            .expect("run drpilot")
            .into()
    }

    fn status(&self, svc: &str) -> serde_json::Value {
        let out = self
            .svc(svc, &["print", "status", "--format", "json"])
            .expect_ok("print status");
        serde_json::from_str(&out.stdout).expect("status JSON")
    }

    /// A process whose working directory is `dir` (under the root), holding its mount.
    fn hold(&mut self, dir: &str) -> u32 {
        let child = Command::new("sleep")
            .arg("120")
            .current_dir(self.root.join(dir))
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn sleep");
        let pid = child.id();
        self.holders.push(child);
        pid
    }

    fn release(&mut self, pid: u32) {
        if let Some(i) = self.holders.iter().position(|c| c.id() == pid) {
            let mut c = self.holders.remove(i);
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        for c in &mut self.holders {
            let _ = c.kill();
            let _ = c.wait();
        }
        for m in mounts_under(self.tmp.path()) {
            let ok = Command::new("umount")
                .arg(&m)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                // Test cleanup only: the driver itself never unmounts lazily.
                let _ = Command::new("umount").arg("-l").arg(&m).status();
            }
        }
        // The loop devices detach when `loops` drops, before the temporary directory goes.
    }
}

fn statuses(st: &serde_json::Value, rids: &[&str]) -> Vec<String> {
    rids.iter()
        .map(|r| {
            resource(st, r)["status"]
                .as_str()
                .unwrap_or("?")
                .to_string()
        })
        .collect()
}

fn comment(st: &serde_json::Value, rid: &str) -> String {
    resource(st, rid)["comments"][0]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

const ALL: [&str; 3] = ["fs#1", "fs#2", "fs#3"];

#[test]
fn fs_mounts_ext4_and_btrfs_subvolumes_and_a_busy_stop_names_its_holder() {
    if !support::root_testbed_ready(
        "fs_mount",
        &["mkfs.ext4", "e2fsck", "mkfs.btrfs", "btrfs", "losetup"],
    ) {
        return;
    }
    let mut bed = Bed::new();
    let ext = bed.device("ext", 64 * MIB, "ext4");
    let btr = bed.device("btr", 128 * MIB, "btrfs");
    // The two subvolumes, made on a temporary mount of the device.
    let setup = bed.tmp.path().join("setup");
    std::fs::create_dir_all(&setup).unwrap();
    let setup_s = setup.to_string_lossy().into_owned();
    tool("mount", &["-t", "btrfs", &btr, &setup_s]);
    for sub in ["root", "appdata"] {
        tool(
            "btrfs",
            &["-q", "subvolume", "create", &format!("{setup_s}/{sub}")],
        );
    }
    tool("umount", &[&setup_s]);
    bed.config(
        "fsvc",
        &format!(
            "[fs#1]\ntype = ext4\ndev = {ext}\nmnt = /srv/ext\nmnt_opt = rw\n\n\
             [fs#2]\ntype = btrfs\ndev = {btr}\nmnt = /opt/x\nmnt_opt = subvol=root\n\n\
             [fs#3]\ntype = btrfs\ndev = {btr}\nmnt = /opt/x/appdata\nmnt_opt = subvol=appdata\n"
        ),
    );
    let root = bed.root.clone();

    // Down before anything is mounted; simply stopped, so no comment (the seed's trees).
    let st = bed.status("fsvc");
    assert_eq!(statuses(&st, &ALL), ["down", "down", "down"]);
    assert!(
        st["resources"].as_array().is_some_and(|rs| rs
            .iter()
            .all(|r| r["comments"].as_array().is_none_or(|c| c.is_empty()))),
        "{st}"
    );

    // Start mounts all three, the seed's way.
    let out = bed.svc("fsvc", &["start"]).expect_ok("start");
    let dev_ext = root.join(&ext[1..]).to_string_lossy().into_owned();
    assert!(
        out.stdout.contains(&format!("e2fsck -p {dev_ext}")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("mount -t ext4 -o rw "),
        "{}",
        out.stdout
    );
    // (The log quotes `'subvol=appdata'` as a shell would.)
    assert!(
        out.stdout.contains("mount -t btrfs -o 'subvol=appdata' "),
        "{}",
        out.stdout
    );
    let st = bed.status("fsvc");
    assert_eq!(statuses(&st, &ALL), ["up", "up", "up"]);
    assert_eq!(resource(&st, "fs#2")["label"], format!("{btr}@/opt/x"));
    let tree = bed
        .svc("fsvc", &["print", "status"])
        .expect_ok("tree")
        .stdout;
    for row in [
        format!("fs#1           .... up       {ext}@/srv/ext"),
        format!("fs#2           .... up       {btr}@/opt/x"),
        format!("fs#3           .... up       {btr}@/opt/x/appdata"),
    ] {
        assert!(tree.contains(&row), "missing {row:?} in:\n{tree}");
    }

    // The subvolumes are two filesystems' worth of data; files survive stop + start.
    std::fs::write(root.join("srv/ext/kept"), "ext4 data").unwrap();
    std::fs::write(root.join("opt/x/in-root"), "root").unwrap();
    std::fs::write(root.join("opt/x/appdata/in-appdata"), "appdata").unwrap();
    assert!(!root.join("opt/x/appdata/in-root").exists());

    // fs#2 cannot go while fs#3 sits inside it.
    let out = bed
        .svc("fsvc", &["stop", "--rid", "fs#2"])
        .expect_err("stop fs#2 alone");
    assert!(
        out.stderr.contains("/opt/x/appdata") && out.stderr.contains("is mounted inside /opt/x"),
        "{}",
        out.stderr
    );
    assert_eq!(statuses(&bed.status("fsvc"), &ALL), ["up", "up", "up"]);

    let out = bed.svc("fsvc", &["stop"]).expect_ok("stop");
    assert!(out.stdout.contains("umount "), "{}", out.stdout);
    assert_eq!(
        statuses(&bed.status("fsvc"), &ALL),
        ["down", "down", "down"]
    );
    assert!(!root.join("opt/x/appdata/in-appdata").exists());
    bed.svc("fsvc", &["start"]).expect_ok("start again");
    assert_eq!(
        std::fs::read_to_string(root.join("srv/ext/kept")).unwrap(),
        "ext4 data"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("opt/x/appdata/in-appdata")).unwrap(),
        "appdata"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("opt/x/in-root")).unwrap(),
        "root"
    );

    // A process working inside fs#3 makes the stop fail, naming it; fs#3 stays mounted.
    let pid = bed.hold("opt/x/appdata");
    let out = bed.svc("fsvc", &["stop"]).expect_err("stop with a holder");
    assert!(
        out.stderr.contains(&format!("pid {pid} (sleep)")) && out.stderr.contains("busy"),
        "{}",
        out.stderr
    );
    assert_eq!(statuses(&bed.status("fsvc"), &ALL), ["up", "up", "up"]);
    bed.release(pid);
    bed.svc("fsvc", &["stop"])
        .expect_ok("stop once the holder is gone");
    assert_eq!(
        statuses(&bed.status("fsvc"), &ALL),
        ["down", "down", "down"]
    );

    // --force ends the holder (SIGTERM, logged by pid) and unmounts.
    bed.svc("fsvc", &["start"]).expect_ok("start for --force");
    let pid = bed.hold("opt/x");
    let out = bed
        .svc("fsvc", &["stop", "--force"])
        .expect_ok("stop --force");
    assert!(
        out.stdout.contains(&format!("SIGTERM pid {pid} (sleep)")),
        "{}",
        out.stdout
    );
    let holder = bed.holders.iter_mut().find(|c| c.id() == pid).unwrap();
    let mut ended = None;
    wait_until(T, "the holder to be ended", || {
        ended = holder.try_wait().unwrap();
        ended.is_some()
    });
    assert!(!ended.unwrap().success());
    assert_eq!(
        statuses(&bed.status("fsvc"), &ALL),
        ["down", "down", "down"]
    );

    // Another subvolume mounted on fs#2's mount point is a warn with the reason.
    let x = root.join("opt/x").to_string_lossy().into_owned();
    tool("mount", &["-t", "btrfs", "-o", "subvol=appdata", &btr, &x]);
    let st = bed.status("fsvc");
    assert_eq!(resource(&st, "fs#2")["status"], "warn");
    assert_eq!(
        comment(&st, "fs#2"),
        format!("/opt/x is mounted from {btr} subvolume /appdata, expected subvol=/root")
    );
    let out = bed
        .svc("fsvc", &["start"])
        .expect_err("start over the wrong subvolume");
    assert!(out.stderr.contains("unmount it first"), "{}", out.stderr);
    let out = bed
        .svc("fsvc", &["stop"])
        .expect_ok("stop leaves a mount that is not its own");
    assert!(
        out.stdout.contains("not this resource's, left alone"),
        "{}",
        out.stdout
    );
    assert_eq!(mounts_under(&root), [root.join("opt/x")]);
    tool("umount", &[&x]);
}

#[test]
fn fs_checks_ext4_before_mounting_and_refuses_damage_or_a_missing_device() {
    if !support::root_testbed_ready(
        "fs_mount damaged",
        &["mkfs.ext4", "e2fsck", "debugfs", "losetup"],
    ) {
        return;
    }
    let mut bed = Bed::new();
    // The root inode turned into a regular file, the fs marked unclean: e2fsck -p gives up.
    let image = bed.tmp.path().join("bad.img");
    let dev = LoopDevice::create(&image, 32 * MIB, "ext4", None).expect("loop device");
    for req in ["set_inode_field <2> mode 0100644", "ssv state 0"] {
        tool("debugfs", &["-w", "-R", req, &dev.device.to_string_lossy()]);
    }
    let bad = bed.link(dev);
    bed.config(
        "bad",
        &format!("[fs#1]\ntype = ext4\ndev = {bad}\nmnt = /srv/bad\n"),
    );
    let out = bed
        .svc("bad", &["start"])
        .expect_err("start on a damaged fs");
    assert!(
        out.stderr.contains("refusing to mount")
            && out
                .stderr
                .contains("UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY"),
        "{}",
        out.stderr
    );
    assert!(mounts_under(bed.tmp.path()).is_empty());
    assert_eq!(bed.status("bad")["resources"][0]["status"], "down");

    // A link count e2fsck -p can fix: a warning, and the fs is mounted.
    let image = bed.tmp.path().join("fixable.img");
    let dev = LoopDevice::create(&image, 32 * MIB, "ext4", None).expect("loop device");
    let dev_s = dev.device.to_string_lossy().into_owned();
    for req in [
        "write /dev/null f",
        "set_inode_field f links_count 3",
        "ssv state 0",
    ] {
        tool("debugfs", &["-w", "-R", req, &dev_s]);
    }
    let fixable = bed.link(dev);
    bed.config(
        "fixable",
        &format!("[fs#1]\ntype = ext4\ndev = {fixable}\nmnt = /srv/fixable\n"),
    );
    let out = bed
        .svc("fixable", &["start"])
        .expect_ok("start on a fixable fs");
    assert!(
        out.stdout.contains("FIXED")
            && out.stdout.contains("WARNING")
            && out.stdout.contains("e2fsck fixed errors on"),
        "{}",
        out.stdout
    );
    assert_eq!(bed.status("fixable")["resources"][0]["status"], "up");
    bed.svc("fixable", &["stop"]).expect_ok("stop the fixed fs");

    bed.config(
        "gone",
        "[fs#1]\ntype = ext4\ndev = /dev/nosuchdisk\nmnt = /srv/gone\n",
    );
    let st = bed.status("gone");
    assert_eq!(comment(&st, "fs#1"), "device /dev/nosuchdisk not found");
    let out = bed
        .svc("gone", &["start"])
        .expect_err("start without its device");
    assert!(
        out.stderr
            .contains("device /dev/nosuchdisk not found on deb1"),
        "{}",
        out.stderr
    );
}

#[test]
fn fs_mounts_xfs_without_a_check() {
    if !support::root_testbed_ready("fs_mount xfs", &["losetup"]) {
        return;
    }
    if !on_path("mkfs.xfs") {
        eprintln!("skipping the xfs part of fs_mount: mkfs.xfs is not installed");
        return;
    }
    let mut bed = Bed::new();
    let dev = bed.device("xfs", 320 * MIB, "xfs");
    bed.config(
        "xsvc",
        &format!("[fs#1]\ntype = xfs\ndev = {dev}\nmnt = /srv/xfs\n"),
    );
    let out = bed.svc("xsvc", &["start"]).expect_ok("start xfs");
    assert!(
        out.stdout.contains("xfs: no check before mount"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("e2fsck"), "{}", out.stdout);
    assert!(out.stdout.contains("mount -t xfs "), "{}", out.stdout);
    assert_eq!(bed.status("xsvc")["resources"][0]["status"], "up");
    bed.svc("xsvc", &["stop"]).expect_ok("stop xfs");
    assert_eq!(bed.status("xsvc")["resources"][0]["status"], "down");
}
