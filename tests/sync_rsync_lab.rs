//! `sync` type=rsync on the lab: the real rsync at both ends, its batch carried by the node
//! transport. The copy keeps contents, modes, owners, xattrs and hard links and leaves out what
//! `exclude` names; a cut batch leaves the previous copy as it was.

mod support;

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Stdio;

use support::TestLab;

const RSYNC: &str = "
# Production's files kept on the DRP node, as OpenSVC's rsync sync does.
[sync#3]
type = rsync
src = /srv/sys/
dst = /srv/cache/deb1
target = drpnodes
exclude = *.tmp
";

/// The lab with sync#3 on both nodes, and production's files to copy.
fn lab_with_rsync() -> TestLab {
    let lab = TestLab::new();
    for node in ["deb1", "deb2"] {
        let cfg = std::fs::read_to_string(lab.config(node)).unwrap();
        std::fs::write(lab.config(node), format!("{cfg}{RSYNC}")).unwrap();
    }
    let etc = lab.root("deb1").join("srv/sys/etc");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(etc.join("passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
    std::fs::set_permissions(etc.join("passwd"), std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::hard_link(etc.join("passwd"), etc.join("passwd.link")).unwrap();
    std::fs::write(etc.join("scratch.tmp"), "left out\n").unwrap();
    // Data syncs run from the node where the service runs.
    lab.svc("deb1", &["start"]).expect_ok("start on deb1");
    lab
}

/// deb2's `peer rsync-receive` of sync#3 as deb1 would run it, naming `dst`.
fn rsync_receive(
    lab: &TestLab,
    dst: &str,
    id: &str,
    announced: &[String],
) -> std::process::Command {
    let mut c = lab.node_cmd("deb2");
    c.args([
        "peer",
        "rsync-receive",
        "--svc",
        "busybox",
        "--rid",
        "sync#3",
        "--dst",
        dst,
    ])
    .args([
        "--from",
        "deb1",
        "--id",
        id,
        "--when",
        "2026-01-01T00:00:00Z",
    ])
    .args(announced);
    c
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn xattr(path: &std::path::Path) -> Option<Vec<u8>> {
    let mut buf = [0u8; 64];
    let n = rustix::fs::getxattr(path, "user.drpilot", &mut buf).ok()?;
    Some(buf[..n].to_vec())
}

#[test]
fn an_rsync_sync_copies_files_with_their_modes_owners_xattrs_and_links() {
    let lab = lab_with_rsync();
    let src = lab.root("deb1").join("srv/sys/etc/passwd");
    // Extended attributes where the lab's filesystem keeps them (user.* on most).
    let with_xattr = rustix::fs::setxattr(
        &src,
        "user.drpilot",
        b"kept",
        rustix::fs::XattrFlags::empty(),
    )
    .is_ok();
    lab.svc("deb1", &["syncupdate", "--rid", "sync#3", "--force"])
        .expect_ok("syncupdate of sync#3");

    let copy = lab.root("deb2").join("srv/cache/deb1/etc");
    let passwd = copy.join("passwd");
    assert_eq!(
        std::fs::read_to_string(&passwd).unwrap(),
        "root:x:0:0::/root:/bin/sh\n"
    );
    let (a, b) = (
        std::fs::metadata(&src).unwrap(),
        std::fs::metadata(&passwd).unwrap(),
    );
    assert_eq!(b.mode() & 0o7777, 0o640);
    assert_eq!((b.uid(), b.gid()), (a.uid(), a.gid()));
    assert_eq!(
        std::fs::metadata(copy.join("passwd.link")).unwrap().ino(),
        b.ino(),
        "the hard link is kept"
    );
    if with_xattr {
        assert_eq!(xattr(&passwd).as_deref(), Some(&b"kept"[..]));
    } else {
        println!("the lab's filesystem keeps no user xattrs: not compared");
    }
    assert!(!copy.join("scratch.tmp").exists(), "exclude = *.tmp");
    let st = lab.status("deb1");
    assert_eq!(support::resource(&st, "sync#3")["status"], "up", "{st}");
    assert_eq!(
        support::resource(&st, "sync#3")["label"],
        "rsync /srv/sys/ to drpnodes",
        "{st}"
    );

    // A file removed on production is gone from the copy at the next sync.
    std::fs::remove_file(lab.root("deb1").join("srv/sys/etc/passwd.link")).unwrap();
    lab.svc("deb1", &["syncupdate", "--rid", "sync#3", "--force"])
        .expect_ok("second syncupdate");
    assert!(!copy.join("passwd.link").exists());
    assert!(passwd.exists());
}

#[test]
fn a_cut_rsync_batch_leaves_the_previous_copy_intact() {
    let lab = lab_with_rsync();
    lab.svc("deb1", &["syncupdate", "--rid", "sync#3", "--force"])
        .expect_ok("first syncupdate");
    let passwd = lab.root("deb2").join("srv/cache/deb1/etc/passwd");
    let before = std::fs::read_to_string(&passwd).unwrap();

    // A batch of new content, cut in the middle as a dropped link would leave it.
    std::fs::write(
        lab.root("deb1").join("srv/sys/etc/passwd"),
        "x".repeat(200_000),
    )
    .unwrap();
    let work = lab.dir.join("batch");
    std::fs::create_dir_all(&work).unwrap();
    let out = std::process::Command::new("rsync")
        .args(["-aAXH", "--numeric-ids", "--exclude=*.tmp"])
        .arg(format!("--only-write-batch={}", work.join("b").display()))
        .arg(format!("{}/", lab.root("deb1").join("srv/sys").display()))
        .arg(format!("{}/", work.join("empty").display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut batch = std::fs::read(work.join("b")).unwrap();
    // Announced whole, as the sender does; cut on the way.
    let announced = [
        "--bytes".to_string(),
        batch.len().to_string(),
        "--sha256".to_string(),
        sha256_hex(&batch),
    ];
    batch.truncate(batch.len() / 2);
    let mut child = rsync_receive(&lab, "/srv/cache/deb1", "cut", &announced)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&batch).unwrap();
    let out: support::Run = child.wait_with_output().unwrap().into();
    let out = out.expect_err("a cut batch");
    assert!(
        out.stderr.contains("the batch is not whole"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("previous copy"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&passwd).unwrap(), before);
    let staging = lab.root("deb2").join("srv/cache/.deb1.drpilot-incoming");
    assert!(!staging.exists(), "no debris left");

    // A receiver trusts its own config, not the path a sender names.
    let out: support::Run = rsync_receive(&lab, "/etc", "evil", &announced)
        .stdin(Stdio::null())
        .output()
        .unwrap()
        .into();
    let out = out.expect_err("another dst");
    assert!(out.stderr.contains("refusing"), "{}", out.stderr);
}
