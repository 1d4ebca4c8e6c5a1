//! The Debian package: `packaging/build-deb` turns the binary under test into a `.deb` holding
//! the stripped binary, the systemd unit, the man pages and the shell completions, and the
//! package installs on a fresh root (an overlay of this machine's, in its own mount namespace).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::Run;

/// Builds the package from the test's own binary into `out`; returns the `.deb`.
fn build_deb(out: &Path) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/build-deb");
    let run: Run = Command::new("bash")
        .arg(&script)
        .arg(env!("CARGO_BIN_EXE_drpilot"))
        .arg(out)
        .output()
        .expect("run packaging/build-deb")
        .into();
    let run = run.expect_ok("packaging/build-deb");
    let deb = PathBuf::from(run.stdout.trim());
    let name = format!("drpilot_{}_{}.deb", env!("CARGO_PKG_VERSION"), arch());
    assert_eq!(deb, out.join(name), "the package's path");
    assert!(deb.is_file(), "{}", deb.display());
    deb
}

fn arch() -> String {
    Command::new("dpkg")
        .arg("--print-architecture")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "amd64".into())
}

fn dpkg_deb(args: &[&str], deb: &Path) -> String {
    let run: Run = Command::new("dpkg-deb")
        .args(args)
        .arg(deb)
        .output()
        .expect("run dpkg-deb")
        .into();
    run.expect_ok(&format!("dpkg-deb {}", args.join(" ")))
        .stdout
}

#[test]
fn the_package_holds_the_binary_units_man_pages_and_completions() {
    if !support::on_path("dpkg-deb") {
        assert!(!support::testbed_required(), "dpkg-deb is not installed");
        eprintln!("skipping: dpkg-deb is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let deb = build_deb(tmp.path());

    let listing = dpkg_deb(&["-c"], &deb);
    let paths: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .collect();
    for want in [
        "./usr/bin/drpilot",
        "./lib/systemd/system/drpilot.service",
        "./usr/share/bash-completion/completions/drpilot",
        "./usr/share/zsh/vendor-completions/_drpilot",
        "./usr/share/fish/vendor_completions.d/drpilot.fish",
        "./usr/share/man/man1/drpilot.1.gz",
        "./usr/share/man/man1/drpilot-svc.1.gz",
        "./usr/share/man/man1/drpilot-svc-print-status.1.gz",
        "./usr/share/man/man1/drpilot-drp-rehearse.1.gz",
        "./usr/share/man/man1/drpilot-console.1.gz",
    ] {
        assert!(paths.contains(&want), "{want} missing from:\n{listing}");
    }
    // Everything belongs to root, the binary is executable.
    for line in listing.lines() {
        assert!(line.contains(" root/root "), "{line}");
    }
    let bin_line = listing
        .lines()
        .find(|l| l.ends_with(" ./usr/bin/drpilot"))
        .unwrap();
    assert!(bin_line.starts_with("-rwxr-xr-x"), "{bin_line}");

    let field = |f: &str| {
        dpkg_deb(&["-f"], &deb.clone())
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{f}: ")).map(str::to_string))
    };
    assert_eq!(field("Package").as_deref(), Some("drpilot"));
    assert_eq!(field("Version").as_deref(), Some(env!("CARGO_PKG_VERSION")));
    let depends = field("Depends").unwrap_or_default();
    for dep in ["openssh-client", "iproute2", "rsync"] {
        assert!(depends.contains(dep), "Depends: {depends}");
    }

    // The binary is stripped (smaller than the test's own, which has its debug info), and the
    // unit runs it.
    let root = tmp.path().join("x");
    Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(&root)
        .status()
        .expect("dpkg-deb -x");
    let shipped = std::fs::metadata(root.join("usr/bin/drpilot"))
        .unwrap()
        .len();
    let built = std::fs::metadata(env!("CARGO_BIN_EXE_drpilot"))
        .unwrap()
        .len();
    assert!(shipped < built, "not stripped: {shipped} >= {built}");
    let unit = std::fs::read_to_string(root.join("lib/systemd/system/drpilot.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/bin/drpilot daemon"), "{unit}");

    // A missing binary is an error that names it, and no package.
    let out = tmp.path().join("none");
    let run: Run = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/build-deb"))
        .arg(tmp.path().join("no-such-binary"))
        .arg(&out)
        .output()
        .unwrap()
        .into();
    let run = run.expect_err("build-deb without a binary");
    assert!(run.stderr.contains("no-such-binary"), "{}", run.stderr);
    assert!(!out.exists());
}

/// Run in a new mount namespace: an overlay over `/` (its changes in a tmpfs) mounted on
/// `$1/merged`, the package installed in it with apt (dpkg without apt), then `drpilot --version`
/// there. Arguments, not interpolation: `$1` the work directory, `$2` the package's file name.
const INSTALL_IN_A_FRESH_ROOT: &str = r#"
set -eu
t=$1 deb=$2
mount -t tmpfs tmpfs "$t/upper"
mkdir "$t/upper/u" "$t/upper/w"
mount -t overlay overlay -o "lowerdir=/,upperdir=$t/upper/u,workdir=$t/upper/w" "$t/merged"
mount --rbind /dev "$t/merged/dev"
mount -t proc proc "$t/merged/proc"
cp "$t/$deb" "$t/merged/tmp/$deb"
if chroot "$t/merged" sh -c 'command -v apt-get' >/dev/null; then
  chroot "$t/merged" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends "/tmp/$deb"
else
  chroot "$t/merged" dpkg -i "/tmp/$deb"
fi
echo "installed: $(chroot "$t/merged" dpkg-query -W -f '${Status}' drpilot)"
echo "version: $(chroot "$t/merged" drpilot --version)"
echo "man: $(chroot "$t/merged" sh -c 'ls /usr/share/man/man1/drpilot-svc.1.gz')"
"#;

#[test]
fn the_package_installs_on_a_fresh_root_and_runs() {
    if !support::root_testbed_ready(
        "the_package_installs_on_a_fresh_root_and_runs",
        &[
            "dpkg-deb", "dpkg", "unshare", "chroot", "mount", "ssh", "ip", "rsync",
        ],
    ) {
        return;
    }
    let host_bin = Path::new("/usr/bin/drpilot");
    let before = std::fs::symlink_metadata(host_bin).ok().map(|m| m.len());
    let tmp = tempfile::tempdir().unwrap();
    let deb = build_deb(tmp.path());
    let name = deb.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::create_dir(tmp.path().join("upper")).unwrap();
    std::fs::create_dir(tmp.path().join("merged")).unwrap();

    let run: Run = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--fork", "--"])
        .args([
            "bash",
            "-c",
            INSTALL_IN_A_FRESH_ROOT,
            "install-in-a-fresh-root",
        ])
        .arg(tmp.path())
        .arg(&name)
        .output()
        .expect("run unshare")
        .into();
    let run = run.expect_ok("installing the package in a fresh root");
    assert!(
        run.stdout.contains("installed: install ok installed"),
        "{}",
        run.stdout
    );
    let version = format!("version: drpilot {} (commit ", env!("CARGO_PKG_VERSION"));
    assert!(run.stdout.contains(&version), "{}", run.stdout);
    assert!(run
        .stdout
        .contains("man: /usr/share/man/man1/drpilot-svc.1.gz"));

    // Nothing of it reached this machine's root: the namespace's mounts died with it.
    let after = std::fs::symlink_metadata(host_bin).ok().map(|m| m.len());
    assert_eq!(before, after, "{} changed on the host", host_bin.display());
    assert_eq!(
        std::fs::read_dir(tmp.path().join("merged"))
            .unwrap()
            .count(),
        0,
        "the overlay is still mounted"
    );
}
