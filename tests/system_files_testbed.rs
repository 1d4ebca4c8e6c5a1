//! sync#i1 on the root testbed, over real SSH: a user added on production (its passwd line and
//! its home under /srv/appusers, listed by `system_files_add`) reaches deb2's cache with owner,
//! mode and xattrs kept, while deb2's own users stay as they were; a transfer cut by the link
//! dropping leaves the previous cache whole, and the next sync completes it. The service stays
//! down throughout: the system files sync whatever its state.

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;

use drpilot::lab::testbed::seed_service::{DRP, PROD, SERVICE};
use drpilot::lab::testbed::Testbed;
use support::testbed::{on, seed_testbed, svc, sync_cut_by_the_link};

const UID: u32 = 4711;

/// A path of `node`'s private directory `private` (`srv`, `var-lib-drpilot`) on this machine.
fn host_path(tb: &Testbed, node: &str, private: &str, rest: &str) -> PathBuf {
    tb.host(node).expect("host").dir.join(private).join(rest)
}

fn cache(tb: &Testbed, rest: &str) -> PathBuf {
    host_path(
        tb,
        DRP,
        "var-lib-drpilot",
        &format!("{SERVICE}/cache/{PROD}/{rest}"),
    )
}

fn append(path: &std::path::Path, line: &str) {
    let mut text = std::fs::read_to_string(path).expect("read");
    text.push_str(line);
    std::fs::write(path, text).expect("write");
}

fn xattr(path: &std::path::Path) -> Option<Vec<u8>> {
    let mut buf = [0u8; 64];
    let n = rustix::fs::getxattr(path, "user.app", &mut buf).ok()?;
    Some(buf[..n].to_vec())
}

#[test]
fn a_user_added_on_production_reaches_the_drp_cache_and_a_cut_transfer_keeps_the_last_one() {
    let Some(tb) = seed_testbed("system files on the testbed") else {
        return;
    };
    let host = |n: &str| tb.host(n).expect("host");
    append(
        &host(PROD).etc_file("passwd"),
        &format!("appuser:x:{UID}:{UID}::/srv/appusers/appuser:/bin/sh\n"),
    );
    append(
        &host(PROD).etc_file("group"),
        &format!("appuser:x:{UID}:\n"),
    );
    let home = host_path(&tb, PROD, "srv", "appusers/appuser");
    std::fs::create_dir_all(&home).expect("home");
    let profile = home.join(".profile");
    std::fs::write(&profile, "export APP=1\n").expect("profile");
    std::os::unix::fs::chown(&home, Some(UID), Some(UID)).expect("chown");
    std::os::unix::fs::chown(&profile, Some(UID), Some(UID)).expect("chown");
    std::fs::set_permissions(&profile, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    rustix::fs::setxattr(
        &profile,
        "user.app",
        b"kept",
        rustix::fs::XattrFlags::empty(),
    )
    .expect("setxattr");

    svc(
        &tb,
        PROD,
        SERVICE,
        &["syncupdate", "--force", "--rid", "sync#i1"],
    )
    .expect_ok("the system files from a stopped production");
    let passwd = std::fs::read_to_string(cache(&tb, "etc/passwd")).expect("cached passwd");
    assert!(passwd.contains(&format!("appuser:x:{UID}:")), "{passwd}");
    assert!(
        !std::fs::read_to_string(host(DRP).etc_file("passwd"))
            .expect("deb2's passwd")
            .contains("appuser"),
        "deb2's own users are never written"
    );
    let copy = cache(&tb, "srv/appusers/appuser/.profile");
    let meta = std::fs::metadata(&copy).expect("the cached profile");
    assert_eq!((meta.uid(), meta.gid()), (UID, UID), "numeric owner kept");
    assert_eq!(meta.mode() & 0o7777, 0o600);
    assert_eq!(xattr(&copy).as_deref(), Some(&b"kept"[..]));
    // deb2 says when it received the copy; the service's files are root's on both: no drift.
    let drift = svc(&tb, DRP, SERVICE, &["print", "drift"]).expect_ok("no drift");
    assert!(
        drift.stdout.contains("its system files copied at")
            && drift.stdout.contains("✓ same   user root: 0 on both"),
        "{}",
        drift.stdout
    );

    // A big file makes a transfer long enough to cut once its bytes flow.
    on(
        &tb,
        PROD,
        &[
            "dd",
            "if=/dev/urandom",
            "of=/srv/appusers/appuser/big",
            "bs=1M",
            "count=256",
            "status=none",
        ],
    )
    .expect_ok("writing a big file");
    std::fs::write(&profile, "export APP=2\n").expect("profile v2");
    let (cut, lines) = sync_cut_by_the_link(&tb, PROD, SERVICE, "sync#i1", DRP);
    assert!(!cut.success(), "the cut sync must fail: {lines:?}");
    assert_eq!(
        std::fs::read_to_string(&copy).expect("the previous profile"),
        "export APP=1\n",
        "the previous cache is whole"
    );
    assert!(!cache(&tb, "srv/appusers/appuser/big").exists());
    assert!(std::fs::read_to_string(cache(&tb, "etc/passwd"))
        .expect("passwd")
        .contains("appuser"));

    svc(
        &tb,
        PROD,
        SERVICE,
        &["syncupdate", "--force", "--rid", "sync#i1"],
    )
    .expect_ok("the next sync");
    assert_eq!(
        std::fs::read_to_string(&copy).expect("profile"),
        "export APP=2\n"
    );
    assert_eq!(
        std::fs::metadata(cache(&tb, "srv/appusers/appuser/big"))
            .expect("big")
            .len(),
        256 << 20
    );
    tb.teardown().expect("teardown");
}
