//! LVM for real, inside a QEMU guest (these machines' kernels have no device-mapper): two
//! "nodes", deb1.opensvc.com and deb2.opensvc.com, are `local:` node roots of one guest whose
//! two virtio disks are their physical volumes (`vglocaldeb1`, `vglocaldeb2`). With the seed's
//! final config (vg + fs + dds; the container and ip rows are removed: the guest has neither
//! docker nor a network), the test walks the seed's story: status before any sync, the DRP
//! node's standby volume group, vg and fs started on deb1, data written, `syncfullsync`, target
//! volumes compared byte for byte with the source snapshots, more data, `syncupdate`, compared
//! again, then the status trees of both nodes, a vg stop refused while its filesystems are
//! mounted (and undone), and a clean stop.

mod support;

use std::time::Duration;

use support::assert_order;
use support::qemu::{self, cpio::Cpio, Console};

const SVC: &str = "busybox.opensvc.com";
const DEB1: &str = "deb1.opensvc.com";
const DEB2: &str = "deb2.opensvc.com";
const MIB: u64 = 1024 * 1024;
/// Size of each logical volume. The full copy dominates the run: under TCG a debug build's
/// SHA-256 (both ends hash the stream) moves about 1 MB/s, so 16 MiB keeps the test near a
/// minute; the copy is still 4x the 4 MiB snapshot store and hundreds of times a delta.
const LV_MIB: u64 = 16;

/// The seed's final config without the container and ip sections (and the docker keys that
/// only they read): device paths are already the guest's (`/dev/mapper/vglocaldebN-lv...`).
fn guest_config() -> String {
    let seed = include_str!("../assets/examples/busybox.opensvc.com.env");
    let mut out = String::new();
    let mut skip = false;
    for line in seed.lines() {
        if line.starts_with('[') {
            skip = line == "[container#1]" || line == "[ip#1]";
        }
        if skip || line.starts_with("docker_") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The guest's files: one root per node, its `dev` the guest's `/dev`, its config and its
/// `nodes.toml` reaching both nodes with `local:`.
fn node_files() -> Cpio {
    let mut c = Cpio::new();
    let map = format!(
        "[nodes]\n\"{DEB1}\" = \"local:/nodes/{DEB1}\"\n\"{DEB2}\" = \"local:/nodes/{DEB2}\"\n"
    );
    let config = guest_config();
    for node in [DEB1, DEB2] {
        let root = format!("/nodes/{node}");
        c.symlink(&format!("{root}/dev"), "/dev");
        c.file(
            &format!("{root}/etc/drpilot/{SVC}.env"),
            0o644,
            config.as_bytes(),
        );
        c.file(
            &format!("{root}/etc/drpilot/nodes.toml"),
            0o644,
            map.as_bytes(),
        );
        c.dir(&format!("{root}/var/lib/drpilot/{SVC}"));
    }
    c
}

/// The guest script: the seed's story, one `step` per operator action or check.
fn script() -> String {
    format!(
        r#"
R1=/nodes/{DEB1}
R2=/nodes/{DEB2}
d1() {{ DRPILOT_ROOT=$R1 DRPILOT_NODENAME={DEB1} NO_COLOR=1 drpilot svc {SVC} "$@"; }}
d2() {{ DRPILOT_ROOT=$R2 DRPILOT_NODENAME={DEB2} NO_COLOR=1 drpilot svc {SVC} "$@"; }}

# compare: each target LV of deb2 against deb1's snapshot, byte for byte.
compare() {{
  rc=0
  for lv in lvbusyboxroot lvbusyboxdata; do
    cmp /dev/vglocaldeb1/${{lv}}_osvc_snap1 /dev/vglocaldeb2/$lv && echo "$lv: identical" || rc=1
  done
  return $rc
}}

lay_out() {{
  lvm pvcreate -q -ff -y /dev/vda /dev/vdb &&
  lvm vgcreate -q vglocaldeb1 /dev/vda &&
  lvm vgcreate -q vglocaldeb2 /dev/vdb &&
  for vg in vglocaldeb1 vglocaldeb2; do
    lvm lvcreate -q -y -L {LV_MIB}M -n lvbusyboxroot $vg &&
    lvm lvcreate -q -y -L {LV_MIB}M -n lvbusyboxdata $vg || return 1
  done &&
  mkfs.ext4 -q /dev/vglocaldeb1/lvbusyboxroot &&
  mkfs.ext4 -q /dev/vglocaldeb1/lvbusyboxdata &&
  lvm vgchange -a n vglocaldeb1 vglocaldeb2
}}

write1() {{
  M=$R1/opt/{SVC}
  echo v1 > $M/version &&
  dd if=/dev/urandom of=$M/appdata/blob bs=1M count=6 2>/dev/null &&
  sync && sha256sum $M/appdata/blob
}}

write2() {{
  M=$R1/opt/{SVC}
  echo v2 > $M/version &&
  dd if=/dev/urandom of=$M/appdata/blob bs=64k count=4 seek=40 conv=notrunc 2>/dev/null &&
  dd if=/dev/urandom of=$M/appdata/more bs=64k count=4 2>/dev/null &&
  sync && sha256sum $M/appdata/blob $M/appdata/more
}}

# A plain full copy of both volumes, for the timing against syncupdate.
fullcopy() {{
  for lv in lvbusyboxroot lvbusyboxdata; do
    dd if=/dev/vglocaldeb1/${{lv}}_osvc_snap1 of=/dev/null bs=1M 2>&1 | tail -n 1
  done
}}

step layout lay_out
step status-deb1-before d1 print status
step status-deb2-before d2 print status
step startvg-deb2 d2 startvg
step startvg-deb1 d1 startvg
step startfs-deb1 d1 startfs
step syncnodes d1 syncnodes --force
step write1 write1
step status-deb1-started d1 print status
step syncfullsync d1 syncfullsync --force
step compare-full compare
step write2 write2
step syncupdate d1 syncupdate --force
step compare-update compare
step fullcopy fullcopy
step status-deb1-synced d1 print status
step status-deb2-synced d2 print status
step stopvg-busy d1 stopvg
step status-deb1-busy d1 print status
step stop-deb1 d1 stop
step status-deb1-stopped d1 print status
step stop-deb2 d2 stop
step status-deb2-stopped d2 print status
step lvs lvm lvs -o vg_name,lv_name,lv_attr,lv_size,origin,snap_percent,lv_tags
step vgs lvm vgs -o vg_name,vg_tags
"#
    )
}

/// The row of `rid` in a text status tree, and the comment lines under it.
fn row<'a>(tree: &'a str, rid: &str) -> (&'a str, Vec<&'a str>) {
    let lines: Vec<&str> = tree.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.contains(&format!("- {rid} ")))
        .unwrap_or_else(|| panic!("no {rid} row in:\n{tree}"));
    let comments = lines[i + 1..]
        .iter()
        .take_while(|l| l.contains("# ") && !l.contains("- "))
        .map(|l| l.split("# ").nth(1).unwrap_or_default())
        .collect();
    (lines[i], comments)
}

/// Asserts the status word of `rid` in `tree` (`up`, `stdby up`, `warn`...).
fn assert_row(tree: &str, rid: &str, status: &str, label: &str) {
    let (line, _) = row(tree, rid);
    let rest = line.split(rid).nth(1).unwrap_or_default();
    let rest = rest.trim_start().get(5..).unwrap_or_default();
    assert!(
        rest.starts_with(&format!("{status:<9}")) && rest.trim_end().ends_with(label),
        "{rid} should be `{status}` {label}: {line:?} in:\n{tree}"
    );
}

/// Asserts a group line of a text tree (`overall`, `|- sync`): its status column.
fn assert_group(tree: &str, group: &str, status: &str) {
    let line = tree
        .lines()
        .find(|l| l.starts_with(&format!("{group} ")))
        .unwrap_or_else(|| panic!("no {group} line in:\n{tree}"));
    assert_eq!(line[26..].trim_end(), status, "{line:?} in:\n{tree}");
}

/// A number following `key` on its line (`  Exceptions        141`).
fn number_after(block: &str, key: &str) -> u64 {
    let line = block
        .lines()
        .find(|l| l.trim_start().starts_with(key))
        .unwrap_or_else(|| panic!("no {key} in:\n{block}"));
    let rest = line.trim_start()[key.len()..].trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after {key} in {line:?}"))
}

/// Each syncupdate report: the data sent is exactly the changed chunks (exceptions x chunk
/// size), and the framing stays within 1% of it once a delta holds 16 chunks or more (a
/// stream's header and trailer are fixed costs).
fn check_delta_reports(text: &str) {
    let blocks: Vec<&str> = text.split("Snapshot header:").skip(1).collect();
    assert_eq!(
        blocks.len(),
        2,
        "one report per volume expected in:\n{text}"
    );
    for block in blocks {
        let chunk = number_after(block, "chunk_size") * 1024;
        let exceptions = number_after(block, "Exceptions");
        let line = block
            .lines()
            .find(|l| l.contains("Output bytes"))
            .unwrap_or_else(|| panic!("no Output bytes in:\n{block}"));
        let words: Vec<&str> = line.split(['(', ' ']).filter(|w| !w.is_empty()).collect();
        let num = |after: &str| -> u64 {
            let i = words.iter().position(|w| *w == after).expect(after);
            words[i - 1].parse().expect(after)
        };
        let (data, framing) = (num("data"), num("framing,"));
        assert!(exceptions > 0, "{block}");
        assert_eq!(data, exceptions * chunk, "{block}");
        if exceptions >= 16 {
            assert!(framing * 100 <= data, "framing over 1%:\n{block}");
        }
    }
}

fn report(console: &Console) {
    let full = console.step("syncfullsync");
    let update = console.step("syncupdate");
    let copy = console.step("fullcopy");
    eprintln!("--- syncupdate report (guest, 2 vCPUs):\n{}", update.output);
    eprintln!(
        "--- timings (guest uptime, two {LV_MIB} MiB volumes): syncfullsync {:.2}s, syncupdate \
         {:.2}s, dd of both snapshots to /dev/null {:.2}s",
        full.secs, update.secs, copy.secs
    );
}

#[test]
fn dds_replicates_lvm_volumes_in_a_qemu_guest() {
    let test = "dds_replicates_lvm_volumes_in_a_qemu_guest";
    let Some(guest) = qemu::guest(test) else {
        return;
    };
    let console = guest.run(
        &script(),
        node_files(),
        &[512 * MIB, 512 * MIB],
        Duration::from_secs(300),
    );
    assert!(
        console.done(),
        "the guest script did not finish:\n{}",
        console.text
    );
    console.ok("layout");

    // Before any sync: the seed's `dds state file not found`, the volume groups stopped.
    for (step, vg) in [
        ("status-deb1-before", "vglocaldeb1"),
        ("status-deb2-before", "vglocaldeb2"),
    ] {
        let tree = console.ok(step).output;
        let (line, comments) = row(&tree, "sync#1");
        assert!(line.contains(" warn "), "{line}\n{tree}");
        assert_eq!(comments, ["dds state file not found"], "{tree}");
        assert_eq!(
            row(&tree, "sync#2").1,
            ["dds state file not found"],
            "{tree}"
        );
        assert!(row(&tree, "vg#1").0.ends_with(vg), "{tree}");
    }

    // The DRP node's standby group comes up; deb1's start tags then activates, as the seed.
    let out = console.ok("startvg-deb2").output;
    assert_order(
        &out,
        &[
            "lvm vgchange --addtag @deb2.opensvc.com vglocaldeb2",
            "lvm vgchange -a y vglocaldeb2",
        ],
    );
    let out = console.ok("startvg-deb1").output;
    assert_order(
        &out,
        &[
            "lvm vgchange --addtag @deb1.opensvc.com vglocaldeb1",
            "lvm vgchange -a y vglocaldeb1",
        ],
    );
    console.ok("startfs-deb1");
    console.ok("syncnodes");
    console.ok("write1");
    let tree = console.ok("status-deb1-started").output;
    assert_row(&tree, "vg#1", "up", "vglocaldeb1");
    assert_row(
        &tree,
        "fs#2",
        "up",
        "/dev/mapper/vglocaldeb1-lvbusyboxdata@/opt/busybox.opensvc.com/appdata",
    );

    // Full copy, then the targets equal the source snapshots byte for byte.
    console.ok("syncfullsync");
    console.ok("compare-full");
    console.ok("write2");
    let update = console.ok("syncupdate");
    check_delta_reports(&update.output);
    console.ok("compare-update");
    console.ok("fullcopy");
    report(&console);

    // The seed's trees once synced: sync rows up on both nodes, the DRP vg standby up.
    let tree = console.ok("status-deb1-synced").output;
    assert_group(&tree, "overall", "up");
    assert_group(&tree, "|- sync", "up");
    assert_row(&tree, "vg#1", "up", "vglocaldeb1");
    for rid in ["sync#1", "sync#2"] {
        assert_row(&tree, rid, "up", "to ['drpnodes']");
    }
    let tree = console.ok("status-deb2-synced").output;
    assert_group(&tree, "overall", "stdby up");
    assert_group(&tree, "|- sync", "up");
    assert_row(&tree, "vg#1", "stdby up", "vglocaldeb2");
    assert_row(
        &tree,
        "fs#1",
        "down",
        "/dev/mapper/vglocaldeb2-lvbusyboxroot@/opt/busybox.opensvc.com",
    );
    for rid in ["sync#1", "sync#2"] {
        assert_row(&tree, rid, "up", "to ['drpnodes']");
    }

    // A vg stop while its filesystems are mounted fails, says why, and leaves the group as it
    // was: tagged and active.
    let busy = console.step("stopvg-busy");
    assert_ne!(busy.rc, 0, "{}", busy.output);
    assert!(busy.output.contains("left up"), "{}", busy.output);
    assert_order(
        &busy.output,
        &[
            "lvm vgchange --deltag @deb1.opensvc.com vglocaldeb1",
            "lvm vgchange -a n vglocaldeb1",
            "lvm vgchange -a y vglocaldeb1",
            "lvm vgchange --addtag @deb1.opensvc.com vglocaldeb1",
        ],
    );
    let tree = console.ok("status-deb1-busy").output;
    assert_row(&tree, "vg#1", "up", "vglocaldeb1");
    assert_row(
        &tree,
        "fs#1",
        "up",
        "/dev/mapper/vglocaldeb1-lvbusyboxroot@/opt/busybox.opensvc.com",
    );

    // Stop on deb1: untag, kpartx -d on each volume and snapshot, deactivate; the tree shows a
    // plain `down`. Stop on deb2 leaves the standby group up.
    let out = console.ok("stop-deb1").output;
    let mut expected = vec!["lvm vgchange --deltag @deb1.opensvc.com vglocaldeb1"];
    if out.contains("kpartx -d") {
        expected.extend([
            "kpartx -d /dev/vglocaldeb1/lvbusyboxdata",
            "kpartx -d /dev/vglocaldeb1/lvbusyboxdata_osvc_snap1",
            "kpartx -d /dev/vglocaldeb1/lvbusyboxroot",
            "kpartx -d /dev/vglocaldeb1/lvbusyboxroot_osvc_snap1",
        ]);
    }
    expected.push("lvm vgchange -a n vglocaldeb1");
    assert_order(&out, &expected);
    let tree = console.ok("status-deb1-stopped").output;
    assert_row(&tree, "vg#1", "down", "vglocaldeb1");
    assert!(row(&tree, "vg#1").1.is_empty(), "{tree}");
    console.ok("stop-deb2");
    let tree = console.ok("status-deb2-stopped").output;
    assert_row(&tree, "vg#1", "stdby up", "vglocaldeb2");
}

// The harness's own pieces, checked without booting anything.

#[test]
fn guest_kernel_abi_comes_from_the_cloud_meta_package() {
    let depends = "linux-image-cloud-amd64\n  Depends: linux-image-6.1.0-56-cloud-amd64\n";
    assert_eq!(
        qemu::kernel::parse_abi(depends).as_deref(),
        Some("6.1.0-56-cloud-amd64")
    );
    assert_eq!(qemu::kernel::parse_abi("linux-image-cloud-amd64\n"), None);
}

#[test]
fn guest_modules_dependencies_come_from_modinfo() {
    let ko = b"\x7fELF junk\0license=GPL\0depends=dm-mod,dm-bufio\0name=dm_snapshot\0";
    assert_eq!(
        qemu::kernel::modinfo_depends(ko),
        ["dm-mod".to_string(), "dm-bufio".to_string()]
    );
    assert!(qemu::kernel::modinfo_depends(b"\0depends=\0").is_empty());
}

#[test]
fn guest_libraries_come_from_ldd() {
    let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f70)\n\
                \t/lib64/ld-linux-x86-64.so.2 (0x00007f70)\n";
    let libs = qemu::initramfs::parse_ldd(text);
    assert_eq!(
        libs,
        [
            std::path::PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
            std::path::PathBuf::from("/lib64/ld-linux-x86-64.so.2")
        ]
    );
    assert!(qemu::initramfs::parse_ldd("\tnot a dynamic executable\n").is_empty());
}

#[test]
fn guest_archive_is_cpio_newc_with_parents_and_trailer() {
    let mut c = Cpio::new();
    c.file("/etc/a/b.conf", 0o644, b"hello");
    c.symlink("/nodes/n/dev", "/dev");
    let bytes = c.finish();
    assert!(bytes.starts_with(b"070701"));
    assert!(bytes.len().is_multiple_of(4));
    let text = String::from_utf8_lossy(&bytes);
    let names: Vec<usize> = [
        "etc\0",
        "etc/a\0",
        "etc/a/b.conf\0",
        "hello",
        "TRAILER!!!\0",
    ]
    .iter()
    .map(|n| text.find(n).unwrap_or_else(|| panic!("{n:?} missing")))
    .collect();
    assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
    // The regular file's mode and size fields: 0100644, 5 bytes.
    let at = text.find("etc/a/b.conf\0").unwrap() - 110;
    assert_eq!(&text[at + 14..at + 22], "000081a4");
    assert_eq!(&text[at + 54..at + 62], "00000005");
}

#[test]
fn guest_console_steps_are_parsed_from_markers() {
    let console = Console {
        text: "noise\n@@@BEGIN a\nline 1\nline 2\n@@@END a rc=3 t0=1.50 t1=4.00\n@@@DONE\n"
            .to_string(),
    };
    let s = console.step("a");
    assert_eq!(s.rc, 3);
    assert_eq!(s.output, "line 1\nline 2");
    assert!((s.secs - 2.5).abs() < 1e-9);
    assert!(console.done());
}

#[test]
fn guest_config_is_the_seed_without_container_and_ip() {
    let c = guest_config();
    for gone in ["[container#1]", "[ip#1]", "docker_", "run_image", "ipname"] {
        assert!(!c.contains(gone), "{gone} left in:\n{c}");
    }
    for kept in [
        "[vg#1]",
        "[fs#1]",
        "[fs#2]",
        "[sync#1]",
        "[sync#2]",
        "always_on = drpnodes",
    ] {
        assert!(c.contains(kept), "{kept} missing in:\n{c}");
    }
}
