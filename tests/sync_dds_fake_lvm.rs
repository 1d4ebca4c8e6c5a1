//! `sync` type=dds end to end through the real binary and the `local:` transport, with a stand-in
//! `lvm` on PATH: volumes are plain files under each node's root, a snapshot is a frozen copy,
//! and the test writes each snapshot's COW store in the kernel's format from what changed in the
//! origin since it was taken. It proves the driver's orchestration (the command lines, the uuid
//! check, the rotation and its recovery, the state files on both nodes, a cut merge flagged on
//! the target) with the byte-for-byte result; the QEMU harness proves the same on real LVM.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use drpilot::drivers::sync_dds::cow::builder::CowBuilder;
use drpilot::drivers::sync_dds::delta::{extract, StreamHeader};
use support::{bin, resource, Run};

const SVC: &str = "ddsvc";
const CHUNK: usize = 4096;
const SIZE: usize = 4 << 20;

/// The stand-in `lvm`: `lvs`, `lvcreate -s`, `lvremove -f`, `lvrename` on files under
/// `$DRPILOT_ROOT/dev/VG/`, uuids under `$DRPILOT_ROOT/lvm/VG/`. `FAKE_LVM_FAIL=lvremove`
/// makes that sub-command fail. Every call is appended to `$DRPILOT_ROOT/lvm.log`.
const FAKE_LVM: &str = r#"#!/bin/sh
set -e
R="$DRPILOT_ROOT"
echo "$*" >> "$R/lvm.log"
cmd=$1; shift
if [ "$cmd" = "$FAKE_LVM_FAIL" ]; then echo "  fake failure of $cmd" >&2; exit 5; fi
case $cmd in
lvs)
  for last; do :; done
  case $last in
    /dev/mapper/*) n=${last#/dev/mapper/}; list="${n%%-*}/${n#*-}";;
    /dev/*/*) list=${last#/dev/};;
    *) [ -d "$R/dev/$last" ] || { echo "  Volume group \"$last\" not found" >&2; exit 5; }
       list=$(cd "$R/dev/$last" && ls | sed "s|^|$last/|");;
  esac
  for p in $list; do
    [ -f "$R/dev/$p" ] || { echo "  Failed to find logical volume \"$p\"" >&2; exit 5; }
    printf '  %s %sB %s %s\n' "$(cat "$R/lvm/$p.uuid")" "$(stat -c %s "$R/dev/$p")" "${p%%/*}" "${p#*/}"
  done;;
lvcreate)
  name=$3; p=${6#/dev/}; vg=${p%%/*}
  cp "$R/dev/$p" "$R/dev/$vg/$name"
  head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$R/lvm/$vg/$name.uuid"
  { printf 'SnAp\001\000\000\000\001\000\000\000\010\000\000\000'; head -c 8176 /dev/zero; } > "$R/dev/mapper/$vg-$name-cow"
  echo "  Logical volume \"$name\" created.";;
lvremove)
  p=${2#/dev/}; vg=${p%%/*}; name=${p#*/}
  rm "$R/dev/$p" "$R/lvm/$p.uuid" "$R/dev/mapper/$vg-$name-cow"
  echo "  Logical volume \"$name\" successfully removed.";;
lvrename)
  vg=$1; a=$2; b=$3
  mv "$R/dev/$vg/$a" "$R/dev/$vg/$b"; mv "$R/lvm/$vg/$a.uuid" "$R/lvm/$vg/$b.uuid"
  mv "$R/dev/mapper/$vg-$a-cow" "$R/dev/mapper/$vg-$b-cow"
  echo "  Renamed \"$a\" to \"$b\" in volume group \"$vg\"";;
*) echo "fake lvm: $cmd not handled" >&2; exit 3;;
esac
"#;

/// Two node roots, the stand-in lvm, and the volumes; all in a temporary directory.
struct Bed {
    dir: PathBuf,
    path: String,
    _tmp: tempfile::TempDir,
}

/// A deterministic pseudo-random byte sequence.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

impl Bed {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = std::fs::canonicalize(tmp.path()).unwrap();
        let bin_dir = dir.join("bin");
        std::fs::create_dir_all(&bin_dir).unwrap();
        let lvm = bin_dir.join("lvm");
        std::fs::write(&lvm, FAKE_LVM).unwrap();
        std::fs::set_permissions(&lvm, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let bed = Self {
            dir,
            path,
            _tmp: tmp,
        };
        let nodes = format!(
            "[nodes]\ndeb1 = \"local:{}\"\ndeb2 = \"local:{}\"\n",
            bed.root("deb1").display(),
            bed.root("deb2").display()
        );
        let config = "[DEFAULT]\nnodes = deb1\ndrpnodes = deb2\n\n\
             [fs#1]\ntype = directory\ndev = /srv/dd/data\nmnt = /opt/dd\n\n\
             [sync#1]\ntype = dds\nsrc = /dev/mapper/vg1-lvroot\n\
             dst = /dev/mapper/vg2-lvroot\ntarget = drpnodes\n";
        for (node, vg, data) in [
            ("deb1", "vg1", noise(SIZE, 1)),
            ("deb2", "vg2", vec![0u8; SIZE + CHUNK]),
        ] {
            let root = bed.root(node);
            for d in ["etc/drpilot", "srv/dd/data", "dev/mapper"] {
                std::fs::create_dir_all(root.join(d)).unwrap();
            }
            std::fs::create_dir_all(root.join("dev").join(vg)).unwrap();
            std::fs::create_dir_all(root.join("lvm").join(vg)).unwrap();
            std::fs::write(root.join(format!("etc/drpilot/{SVC}.env")), config).unwrap();
            std::fs::write(root.join("etc/drpilot/nodes.toml"), &nodes).unwrap();
            std::fs::write(root.join(format!("dev/{vg}/lvroot")), data).unwrap();
            std::fs::write(
                root.join(format!("lvm/{vg}/lvroot.uuid")),
                format!("origin-{vg}"),
            )
            .unwrap();
            std::os::unix::fs::symlink(
                format!("../{vg}/lvroot"),
                root.join(format!("dev/mapper/{vg}-lvroot")),
            )
            .unwrap();
        }
        bed
    }

    fn root(&self, node: &str) -> PathBuf {
        self.dir.join(node)
    }

    fn cmd(&self, node: &str) -> Command {
        let mut c = bin();
        c.env("DRPILOT_ROOT", self.root(node))
            .env("DRPILOT_NODENAME", node)
            .env("PATH", &self.path);
        c
    }

    /// `drpilot svc ddsvc ARGS` as `node`, with `fail` as `FAKE_LVM_FAIL`.
    fn svc_failing(&self, node: &str, fail: &str, args: &[&str]) -> Run {
        self.cmd(node)
            .env("FAKE_LVM_FAIL", fail)
            .args(["svc", SVC])
            .args(args)
            .output()
            .expect("run drpilot")
            .into()
    }

    fn svc(&self, node: &str, args: &[&str]) -> Run {
        self.svc_failing(node, "none", args)
    }

    fn vg1(&self, name: &str) -> PathBuf {
        self.root("deb1").join("dev/vg1").join(name)
    }

    fn uuid(&self, name: &str) -> String {
        std::fs::read_to_string(
            self.root("deb1")
                .join("lvm/vg1")
                .join(format!("{name}.uuid")),
        )
        .unwrap()
    }

    fn target(&self) -> Vec<u8> {
        std::fs::read(self.root("deb2").join("dev/vg2/lvroot")).unwrap()
    }

    fn state(&self, node: &str) -> Option<String> {
        std::fs::read_to_string(
            self.root(node)
                .join(format!("var/lib/drpilot/{SVC}/sync#1.state")),
        )
        .ok()
    }

    fn state_id(&self, node: &str) -> Option<String> {
        self.state(node)
            .and_then(|s| s.trim().split_once(';').map(|(_, id)| id.to_string()))
    }

    /// Rewrites `chunks` of the origin, then every snapshot's COW store from what differs.
    fn write_origin(&self, chunks: &[usize], seed: u64) {
        let origin = self.vg1("lvroot");
        let mut data = std::fs::read(&origin).unwrap();
        for (n, c) in chunks.iter().enumerate() {
            data[c * CHUNK..(c + 1) * CHUNK].copy_from_slice(&noise(CHUNK, seed + n as u64));
        }
        std::fs::write(&origin, &data).unwrap();
        for e in std::fs::read_dir(self.root("deb1").join("dev/vg1")).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            if !name.contains("_osvc_snap") {
                continue;
            }
            let snap = std::fs::read(self.vg1(&name)).unwrap();
            let changed = (0..SIZE / CHUNK)
                .filter(|c| data[c * CHUNK..(c + 1) * CHUNK] != snap[c * CHUNK..(c + 1) * CHUNK])
                .map(|c| c as u64);
            // The kernel records exceptions in the order writes come: not sorted.
            let mut list: Vec<u64> = changed.collect();
            list.reverse();
            let cow = CowBuilder::new(8).exceptions(list).build();
            std::fs::write(
                self.root("deb1").join(format!("dev/mapper/vg1-{name}-cow")),
                cow,
            )
            .unwrap();
        }
    }

    fn sync_row(&self, node: &str) -> (String, Vec<String>) {
        let out = self
            .svc(node, &["print", "status", "--format", "json"])
            .expect_ok("print status");
        let st: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let r = resource(&st, "sync#1");
        let comments = r["comments"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| c.as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default();
        (r["status"].as_str().unwrap_or("").to_string(), comments)
    }

    fn lvm_log(&self) -> String {
        std::fs::read_to_string(self.root("deb1").join("lvm.log")).unwrap_or_default()
    }
}

fn assert_target_is(bed: &Bed, image: &Path, when: &str) {
    let want = std::fs::read(image).unwrap();
    let got = bed.target();
    assert_eq!(got.len(), SIZE + CHUNK, "{when}: the target keeps its size");
    assert!(
        got[..SIZE] == want[..],
        "{when}: the target differs from {}",
        image.display()
    );
}

#[test]
fn dds_full_then_update_rotates_and_refuses_foreign_states() {
    let bed = Bed::new();
    bed.svc("deb1", &["start"]).expect_ok("start");
    let (st, comments) = bed.sync_row("deb1");
    assert_eq!(
        (st.as_str(), comments),
        ("warn", vec!["dds state file not found".to_string()])
    );

    let out = bed
        .svc("deb1", &["syncupdate", "--force"])
        .expect_err("an update before any full copy");
    assert!(
        out.stderr.contains("no dds state file") && out.stderr.contains("syncfullsync"),
        "{}",
        out.stderr
    );

    let out = bed.svc("deb1", &["syncfullsync"]).expect_ok("syncfullsync");
    assert!(
        out.stdout
            .contains("lvm lvcreate -s -n lvroot_osvc_snap1 -L 4M /dev/vg1/lvroot"),
        "{}",
        out.stdout
    );
    let snap1 = bed.uuid("lvroot_osvc_snap1");
    assert!(out
        .stdout
        .contains(&format!("update state file with snap uuid {snap1}")));
    assert_target_is(&bed, &bed.vg1("lvroot_osvc_snap1"), "after syncfullsync");
    assert_eq!(bed.state_id("deb1").as_deref(), Some(snap1.as_str()));
    assert_eq!(bed.state_id("deb2").as_deref(), Some(snap1.as_str()));
    assert_eq!(bed.sync_row("deb1").0, "up");
    assert_eq!(bed.sync_row("deb2").0, "up");

    // 4 chunks change: the update sends exactly them.
    bed.write_origin(&[0, 17, 500, 1023], 10);
    let out = bed
        .svc("deb1", &["syncupdate", "--force"])
        .expect_ok("syncupdate");
    for want in [
        "lvm lvcreate -s -n lvroot_osvc_snap2 -L 4M /dev/vg1/lvroot",
        "extract --cow /dev/mapper/vg1-lvroot_osvc_snap1-cow --source /dev/vg1/lvroot_osvc_snap2",
        "magic             0x70416e53",
        "Exception chunks  1",
        "Exceptions        4",
        "Output size data  16 KB",
        "Output bytes      16528 (16384 data + 144 framing, 0.88%)",
        "lvm lvremove -f /dev/vg1/lvroot_osvc_snap1",
        "lvm lvrename vg1 lvroot_osvc_snap2 lvroot_osvc_snap1",
    ] {
        assert!(
            out.stdout.contains(want),
            "missing '{want}' in:\n{}",
            out.stdout
        );
    }
    let snap1b = bed.uuid("lvroot_osvc_snap1");
    assert_ne!(snap1b, snap1);
    assert!(!bed.vg1("lvroot_osvc_snap2").exists());
    assert_target_is(&bed, &bed.vg1("lvroot_osvc_snap1"), "after syncupdate");
    assert_target_is(&bed, &bed.vg1("lvroot"), "after syncupdate (origin)");
    assert_eq!(bed.state_id("deb1").as_deref(), Some(snap1b.as_str()));
    assert_eq!(bed.state_id("deb2").as_deref(), Some(snap1b.as_str()));

    // A target whose state names another snapshot is refused before any snapshot is made.
    let good = bed.state("deb2").unwrap();
    let state2 = bed
        .root("deb2")
        .join(format!("var/lib/drpilot/{SVC}/sync#1.state"));
    std::fs::write(&state2, "2026-01-01T00:00:00Z;someone-else\n").unwrap();
    let out = bed
        .svc("deb1", &["syncupdate", "--force"])
        .expect_err("a foreign target state");
    assert!(
        out.stderr.contains("someone-else")
            && out.stderr.contains(&snap1b)
            && out.stderr.contains("run syncfullsync"),
        "{}",
        out.stderr
    );
    assert!(!bed.vg1("lvroot_osvc_snap2").exists());
    std::fs::write(&state2, good).unwrap();

    // A rotation that fails after the target merged keeps snap2; the next update completes it.
    bed.write_origin(&[3, 4], 20);
    let out = bed
        .svc_failing("deb1", "lvremove", &["syncupdate", "--force"])
        .expect_err("a failing lvremove");
    assert!(
        out.stderr
            .contains("the next syncupdate completes the rotation"),
        "{}",
        out.stderr
    );
    let snap2 = bed.uuid("lvroot_osvc_snap2");
    assert_eq!(bed.state_id("deb2").as_deref(), Some(snap2.as_str()));
    assert_target_is(
        &bed,
        &bed.vg1("lvroot_osvc_snap2"),
        "after the failed rotation",
    );
    bed.write_origin(&[9], 30);
    let out = bed
        .svc("deb1", &["syncupdate", "--force"])
        .expect_ok("syncupdate after a failed rotation");
    assert!(
        out.stdout.contains("completing the rotation"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Exceptions        1"), "{}", out.stdout);
    assert_target_is(&bed, &bed.vg1("lvroot"), "after the recovered update");
    let last = bed.uuid("lvroot_osvc_snap1");
    assert_eq!(bed.state_id("deb1").as_deref(), Some(last.as_str()));
    assert_eq!(bed.state_id("deb2").as_deref(), Some(last.as_str()));

    // A failure before the target confirmed removes snap2 and keeps snap1.
    bed.write_origin(&[5], 40);
    std::fs::remove_file(
        bed.root("deb1")
            .join("dev/mapper/vg1-lvroot_osvc_snap1-cow"),
    )
    .unwrap();
    let out = bed
        .svc("deb1", &["syncupdate", "--force"])
        .expect_err("a missing COW store");
    assert!(
        out.stderr.contains("opening the COW store"),
        "{}",
        out.stderr
    );
    assert!(out
        .stdout
        .contains("removing lvroot_osvc_snap2, keeping lvroot_osvc_snap1"));
    assert!(!bed.vg1("lvroot_osvc_snap2").exists());
    assert_eq!(bed.uuid("lvroot_osvc_snap1"), last);
    assert_eq!(bed.state_id("deb2").as_deref(), Some(last.as_str()));
    assert!(bed
        .lvm_log()
        .contains("lvremove -f /dev/vg1/lvroot_osvc_snap2"));
}

#[test]
fn a_cut_merge_is_flagged_and_only_a_full_copy_clears_it() {
    let bed = Bed::new();
    bed.svc("deb1", &["start"]).expect_ok("start");
    bed.svc("deb1", &["syncfullsync"]).expect_ok("syncfullsync");
    let snap1 = bed.uuid("lvroot_osvc_snap1");

    // A delta stream cut after its first record, fed to deb2's receiver.
    let src = noise(SIZE, 7);
    let header = StreamHeader {
        full: false,
        chunk_size: CHUNK as u32,
        device_size: SIZE as u64,
        count: 3,
    };
    let mut stream = Vec::new();
    extract(
        &mut std::io::Cursor::new(&src),
        &header,
        [1, 2, 3],
        &mut stream,
        &mut |_| {},
    )
    .unwrap();
    stream.truncate(40 + 12 + CHUNK + 100);
    let mut child = bed
        .cmd("deb2")
        .args([
            "peer",
            "dds-receive",
            "--svc",
            SVC,
            "--rid",
            "sync#1",
            "--dst",
            "/dev/mapper/vg2-lvroot",
            "--from",
            "deb1",
            "--id",
            "next-uuid",
            "--when",
            "2026-01-01T00:00:00Z",
            "--base",
            &snap1,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&stream).unwrap();
    let out: Run = child.wait_with_output().unwrap().into();
    let out = out.expect_err("a cut stream");
    assert!(
        out.stderr.contains("a cut transfer")
            && out
                .stderr
                .contains("1 chunks (4096 bytes) were already written")
            && out
                .stderr
                .contains(&format!("still names snap uuid {snap1}"))
            && out.stderr.contains("run syncfullsync"),
        "{}",
        out.stderr
    );
    assert_eq!(bed.state_id("deb2").as_deref(), Some(snap1.as_str()));
    let (st, comments) = bed.sync_row("deb2");
    assert_eq!(st, "warn");
    assert!(
        comments[0]
            .starts_with("replica inconsistent: a delta merge from deb1 (snap uuid next-uuid)"),
        "{comments:?}"
    );

    bed.write_origin(&[8], 50);
    let out = bed
        .svc("deb1", &["syncupdate", "--force"])
        .expect_err("an update onto a flagged replica");
    assert!(
        out.stderr.contains("is inconsistent") && out.stderr.contains("run syncfullsync"),
        "{}",
        out.stderr
    );
    assert!(!bed.vg1("lvroot_osvc_snap2").exists());

    let out = bed.svc("deb1", &["syncfullsync"]).expect_ok("syncfullsync");
    assert!(
        out.stdout
            .contains("removing lvroot_osvc_snap1 left by an earlier sync"),
        "{}",
        out.stdout
    );
    assert_target_is(&bed, &bed.vg1("lvroot_osvc_snap1"), "after the repair");
    assert_eq!(bed.sync_row("deb2").0, "up");
    bed.write_origin(&[8], 60);
    bed.svc("deb1", &["syncupdate", "--force"])
        .expect_ok("syncupdate after the repair");
    assert_target_is(&bed, &bed.vg1("lvroot"), "after the next update");
}
