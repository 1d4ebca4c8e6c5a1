//! `sync` type=btrfs end to end on two loop-device volumes, through the real binary and the
//! `local:` transport: a full sync, an incremental one that sends only what changed, a cut
//! transfer that leaves the DRP copy at its last snapshot, promotion on the DRP node's start,
//! and failback (an incremental send back to production, promoted on its next start).

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use drpilot::lab::loopdev::LoopDevice;
use support::{bin, resource, Run};

const SVC: &str = "btsvc";
const MIB: usize = 1 << 20;

/// Runs a tool the test needs, failing the test with its stderr.
fn sh(program: &str, args: &[&dyn AsRef<std::ffi::OsStr>]) -> String {
    let out = Command::new(program)
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .unwrap_or_else(|e| panic!("running {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {:?} failed: {}",
        args.iter().map(|a| a.as_ref()).collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Two nodes, each with a btrfs volume on a loop device; everything mounted under the temporary
/// directory is unmounted and the devices detached when it is dropped, whatever happened.
struct Bed {
    dir: PathBuf,
    devs: BTreeMap<&'static str, PathBuf>,
    _loops: Vec<LoopDevice>,
    _tmp: tempfile::TempDir,
}

impl Drop for Bed {
    fn drop(&mut self) {
        let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut points: Vec<PathBuf> = table
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .map(PathBuf::from)
            .filter(|p| p.starts_with(&self.dir))
            .collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
        for p in points {
            let _ = Command::new("umount").arg(&p).output();
        }
    }
}

impl Bed {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = std::fs::canonicalize(tmp.path()).unwrap();
        let mut loops = Vec::new();
        let mut devs = BTreeMap::new();
        for node in ["deb1", "deb2"] {
            let l = LoopDevice::create(&dir.join(format!("{node}.img")), 256 << 20, "btrfs", None)
                .expect("loop device");
            devs.insert(node, l.device.clone());
            loops.push(l);
        }
        let bed = Self {
            dir,
            devs,
            _loops: loops,
            _tmp: tmp,
        };
        let nodes = format!(
            "[nodes]\ndeb1 = \"local:{}\"\ndeb2 = \"local:{}\"\n",
            bed.root("deb1").display(),
            bed.root("deb2").display()
        );
        let (d1, d2) = (bed.dev("deb1"), bed.dev("deb2"));
        let config = format!(
            "[DEFAULT]\nnodes = deb1\ndrpnodes = deb2\n\n\
             [fs#1]\ntype = directory\ndev = /srv/bt/data\nmnt = /opt/bt\n\n\
             [sync#1]\ntype = btrfs\n\
             src@deb1 = {d1}:root\nsrc@deb2 = {d2}:root\n\
             dst@deb1 = {d1}:root\ndst@deb2 = {d2}:root\n\
             target = drpnodes\nsync_max_delay = 60\n"
        );
        for node in ["deb1", "deb2"] {
            let root = bed.root(node);
            std::fs::create_dir_all(root.join("etc/drpilot")).unwrap();
            std::fs::create_dir_all(root.join("srv/bt/data")).unwrap();
            std::fs::create_dir_all(root.join("dev")).unwrap();
            std::fs::write(root.join(format!("etc/drpilot/{SVC}.env")), &config).unwrap();
            std::fs::write(root.join("etc/drpilot/nodes.toml"), &nodes).unwrap();
            let dev = bed.dev(node);
            std::os::unix::fs::symlink(&dev, bed.root(node).join(dev.trim_start_matches('/')))
                .unwrap();
        }
        bed
    }

    fn root(&self, node: &str) -> PathBuf {
        self.dir.join(node)
    }

    fn dev(&self, node: &str) -> String {
        self.devs[node].to_string_lossy().into_owned()
    }

    /// `drpilot svc btsvc ARGS` as `node`.
    fn svc(&self, node: &str, args: &[&str]) -> Run {
        bin()
            .env("DRPILOT_ROOT", self.root(node))
            .env("DRPILOT_NODENAME", node)
            .args(["svc", SVC])
            .args(args)
            .output()
            .expect("run drpilot")
            .into()
    }

    /// Runs `f` with `node`'s volume mounted (`opts`: `subvolid=5` for the top level,
    /// `subvol=root` for the live data), unmounting after.
    fn with_mount<T>(&self, node: &str, opts: &str, f: impl FnOnce(&Path) -> T) -> T {
        let at = self.dir.join(format!("mnt-{node}"));
        std::fs::create_dir_all(&at).unwrap();
        sh(
            "mount",
            &[&"-t", &"btrfs", &"-o", &opts, &self.dev(node), &at],
        );
        let r = f(&at);
        sh("umount", &[&at]);
        r
    }

    /// The live data of `node`.
    fn live(&self, node: &str) -> Tree {
        self.with_mount(node, "subvol=root", tree)
    }

    /// The sync id recorded in `node`'s state file.
    fn state_id(&self, node: &str) -> String {
        let text = std::fs::read_to_string(
            self.root(node)
                .join(format!("var/lib/drpilot/{SVC}/sync#1.state")),
        )
        .expect("state file");
        text.trim()
            .split_once(';')
            .expect("datetime;id")
            .1
            .to_string()
    }

    /// `root@*` snapshot names and the content of the newest one (by the state file's id) on
    /// `node`, with what `.incoming` holds.
    fn snapshots(&self, node: &str) -> (Vec<String>, Tree, Vec<String>) {
        let id = self.state_id(node);
        self.with_mount(node, "subvolid=5", |top| {
            let snap = top.join(".drpilot-snap");
            let names = names_in(&snap)
                .into_iter()
                .filter(|n| n.starts_with("root@") && !n.starts_with("root@replaced-"))
                .collect();
            (
                names,
                tree(&snap.join(format!("root@{id}"))),
                names_in(&snap.join(".incoming")),
            )
        })
    }
}

type Tree = BTreeMap<String, Option<Vec<u8>>>;

/// Every file (with its content) and directory under `dir`.
fn tree(dir: &Path) -> Tree {
    fn walk(base: &Path, dir: &Path, out: &mut Tree) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .flatten()
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                out.insert(rel, None);
                walk(base, &p, out);
            } else {
                out.insert(rel, Some(std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Tree::new();
    walk(dir, dir, &mut out);
    out
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != ".incoming")
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Bytes that compress to nothing useful: what a sync must really carry.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// The byte count of the send summary line, `sent N bytes to ...`.
fn sent_bytes(log: &str) -> u64 {
    log.lines()
        .find_map(|l| {
            let rest = l.split_once(" sent ")?.1;
            let (n, after) = rest.split_once(' ')?;
            after.starts_with("bytes to ").then(|| n.parse().ok())?
        })
        .unwrap_or_else(|| panic!("no 'sent N bytes' line in:\n{log}"))
}

#[test]
fn btrfs_sync_replicates_promotes_and_fails_back() {
    if !support::root_testbed_ready(
        "btrfs_sync_replicates_promotes_and_fails_back",
        &["btrfs", "mkfs.btrfs", "losetup"],
    ) {
        return;
    }
    let bed = Bed::new();

    // Production data in the live subvolume `root` of deb1's volume.
    bed.with_mount("deb1", "subvolid=5", |top| {
        sh("btrfs", &[&"subvolume", &"create", &top.join("root")]);
        let root = top.join("root");
        std::fs::write(root.join("big.bin"), noise(4 * MIB, 1)).unwrap();
        std::fs::write(root.join("a.txt"), "first version\n").unwrap();
        std::fs::create_dir_all(root.join("d")).unwrap();
        std::fs::write(root.join("d/b.txt"), "to be deleted\n").unwrap();
    });
    let start = bed.svc("deb1", &["start"]).expect_ok("start on deb1");
    assert!(
        start.stdout.contains("no snapshot of root on deb1"),
        "{}",
        start.stdout
    );

    // Full sync: deb2 holds a read-only copy identical to deb1's live data.
    let full = bed
        .svc("deb1", &["syncfullsync", "--force"])
        .expect_ok("syncfullsync");
    assert!(
        full.stdout.contains("full send of root@"),
        "{}",
        full.stdout
    );
    let full_bytes = sent_bytes(&full.stdout);
    assert!(full_bytes >= 4 * MIB as u64, "{}", full.stdout);
    assert!(full.stdout.contains("progress bytes="), "{}", full.stdout);
    let (names, copy, _) = bed.snapshots("deb2");
    assert_eq!(names.len(), 1, "{names:?}");
    assert_eq!(
        copy,
        bed.live("deb1"),
        "deb2's snapshot differs from deb1's data"
    );
    assert_eq!(bed.state_id("deb1"), bed.state_id("deb2"));
    let st = support::Run::from(
        bin()
            .env("DRPILOT_ROOT", bed.root("deb2"))
            .env("DRPILOT_NODENAME", "deb2")
            .args(["svc", SVC, "print", "status", "--format", "json"])
            .output()
            .unwrap(),
    )
    .expect_ok("print status on deb2");
    let st: serde_json::Value = serde_json::from_str(&st.stdout).unwrap();
    assert_eq!(resource(&st, "sync#1")["status"], "up", "{st}");

    // Write, modify, delete: the update sends about the changed bytes, with -p.
    bed.with_mount("deb1", "subvol=root", |root| {
        std::fs::write(root.join("new.bin"), noise(MIB, 2)).unwrap();
        std::fs::write(root.join("a.txt"), "second version\n").unwrap();
        std::fs::remove_file(root.join("d/b.txt")).unwrap();
    });
    let upd = bed
        .svc("deb1", &["syncupdate", "--force"])
        .expect_ok("syncupdate");
    assert!(upd.stdout.contains("btrfs send -q -p "), "{}", upd.stdout);
    let upd_bytes = sent_bytes(&upd.stdout);
    assert!(
        (MIB as u64..MIB as u64 + 256 * 1024).contains(&upd_bytes),
        "an update of 1 MiB sent {upd_bytes} bytes:\n{}",
        upd.stdout
    );
    let (names, copy, _) = bed.snapshots("deb2");
    assert_eq!(
        names.len(),
        1,
        "rotation keeps the newest common only: {names:?}"
    );
    assert_eq!(copy, bed.live("deb1"));
    let (names1, _, _) = bed.snapshots("deb1");
    assert_eq!(names1, names, "both nodes keep the same snapshot");

    // A transfer cut mid-stream: the receive fails and deb2 keeps its last snapshot.
    let stream = bed.dir.join("cut.stream");
    bed.with_mount("deb1", "subvolid=5", |top| {
        let snap = top.join(".drpilot-snap/root@cut1");
        sh(
            "btrfs",
            &[&"subvolume", &"snapshot", &"-r", &top.join("root"), &snap],
        );
        let f = std::fs::File::create(&stream).unwrap();
        let ok = Command::new("btrfs")
            .args(["send", "-q"])
            .arg(&snap)
            .stdout(f)
            .status()
            .unwrap();
        assert!(ok.success());
        sh("btrfs", &[&"subvolume", &"delete", &snap]);
    });
    let whole = std::fs::read(&stream).unwrap();
    std::fs::write(&stream, &whole[..whole.len() / 2]).unwrap();
    let before = bed.snapshots("deb2");
    let cut = Run::from(
        bin()
            .env("DRPILOT_ROOT", bed.root("deb2"))
            .env("DRPILOT_NODENAME", "deb2")
            .args(["peer", "btrfs-receive", "--svc", SVC, "--rid", "sync#1"])
            .args(["--dst", &format!("{}:root", bed.dev("deb2"))])
            .args(["--from", "deb1", "--id", "cut1", "--snap", "root@cut1"])
            .args(["--when", "2026-01-01T00:00:00Z"])
            .stdin(Stdio::from(std::fs::File::open(&stream).unwrap()))
            .output()
            .unwrap(),
    )
    .expect_err("receiving a cut stream");
    assert!(cut.stderr.contains("sync#1 on deb2"), "{}", cut.stderr);
    assert!(cut.stderr.contains("intact"), "{}", cut.stderr);
    assert_eq!(bed.snapshots("deb2"), before, "a cut receive changed deb2");
    // A receiver killed mid-stream leaves its partial subvolume in .incoming.
    bed.with_mount("deb2", "subvolid=5", |top| {
        let out = Command::new("btrfs")
            .args(["receive", "-e"])
            .arg(top.join(".drpilot-snap/.incoming"))
            .stdin(Stdio::from(std::fs::File::open(&stream).unwrap()))
            .output()
            .unwrap();
        assert!(!out.status.success());
    });
    assert_eq!(
        bed.snapshots("deb2").2,
        ["root@cut1"],
        "the partial receive"
    );
    bed.with_mount("deb1", "subvol=root", |root| {
        std::fs::write(root.join("a.txt"), "third version\n").unwrap();
    });
    let next = bed
        .svc("deb1", &["syncupdate", "--force"])
        .expect_ok("syncupdate after a cut transfer");
    assert!(
        next.stdout
            .contains("removed leftovers of a cut transfer: root@cut1"),
        "{}",
        next.stdout
    );
    let (names, copy, incoming) = bed.snapshots("deb2");
    assert!(incoming.is_empty(), "{incoming:?}");
    assert_eq!(names.len(), 1, "{names:?}");
    assert_eq!(copy, bed.live("deb1"));
    let production = copy;

    // Takeover: deb2's start makes the received snapshot its live subvolume, once.
    bed.svc("deb1", &["stop"]).expect_ok("stop on deb1");
    let up = bed.svc("deb2", &["start"]).expect_ok("start on deb2");
    assert!(
        up.stdout.contains("was received: making it the live root"),
        "{}",
        up.stdout
    );
    assert_eq!(bed.live("deb2"), production);
    let again = bed
        .svc("deb2", &["start"])
        .expect_ok("second start on deb2");
    assert!(
        again.stdout.contains("nothing to promote"),
        "{}",
        again.stdout
    );

    // Failback: the DRP node's changes go back incrementally and deb1 promotes them.
    bed.with_mount("deb2", "subvol=root", |root| {
        std::fs::write(root.join("drp.txt"), noise(64 * 1024, 3)).unwrap();
        std::fs::write(root.join("a.txt"), "written on deb2\n").unwrap();
    });
    let back = bed
        .svc("deb2", &["syncupdate", "--force", "--target", "deb1"])
        .expect_ok("syncupdate --target deb1");
    assert!(back.stdout.contains("btrfs send -q -p "), "{}", back.stdout);
    assert!(sent_bytes(&back.stdout) < 256 * 1024, "{}", back.stdout);
    let drp_data = bed.live("deb2");
    bed.svc("deb2", &["stop"]).expect_ok("stop on deb2");
    // While the live subvolume is mounted (the service partly up), promotion never touches it.
    let busy = bed.with_mount("deb1", "subvol=root", |_| bed.svc("deb1", &["start"]));
    let busy = busy.expect_err("start on deb1 with root mounted");
    assert!(busy.stderr.contains("is mounted at"), "{}", busy.stderr);
    assert_eq!(
        bed.live("deb1"),
        production,
        "a refused promotion changed deb1"
    );
    let home = bed
        .svc("deb1", &["start"])
        .expect_ok("start on deb1 after failback");
    assert!(
        home.stdout.contains("move the live root aside"),
        "{}",
        home.stdout
    );
    assert_eq!(bed.live("deb1"), drp_data, "deb1 runs on deb2's data");
    let aside = bed.with_mount("deb1", "subvolid=5", |top| {
        let snap = top.join(".drpilot-snap");
        let kept: Vec<String> = names_in(&snap)
            .into_iter()
            .filter(|n| n.starts_with("root@replaced-"))
            .collect();
        assert_eq!(kept.len(), 1, "{kept:?}");
        tree(&snap.join(&kept[0]))
    });
    assert_eq!(aside, production, "the replaced live data is kept");

    // Probe: a missing device is a clear down.
    std::fs::remove_file(
        bed.root("deb2")
            .join(bed.dev("deb2").trim_start_matches('/')),
    )
    .unwrap();
    let st = support::Run::from(
        bin()
            .env("DRPILOT_ROOT", bed.root("deb2"))
            .env("DRPILOT_NODENAME", "deb2")
            .args(["svc", SVC, "print", "status", "--format", "json"])
            .output()
            .unwrap(),
    )
    .expect_ok("print status on deb2");
    let st: serde_json::Value = serde_json::from_str(&st.stdout).unwrap();
    let sync = resource(&st, "sync#1");
    assert_eq!(sync["status"], "down", "{st}");
    assert!(
        sync["comments"][0].as_str().unwrap().contains("not found"),
        "{st}"
    );
}
