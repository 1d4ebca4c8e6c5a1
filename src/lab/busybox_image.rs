//! A container image made from Debian's busybox-static: a root filesystem with the busybox
//! binary and one link per applet, packed as a tar for `docker import`. The seed runs a busybox
//! container; these machines reach no image registry, so the image is built locally.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use color_eyre::eyre::{bail, Result, WrapErr};

use crate::transport::run_child;

/// Where Debian's busybox-static installs its binary.
pub const BUSYBOX: &str = "/bin/busybox";

/// Applets linked in `/bin`: what the seed's and the tests' containers run.
const APPLETS: &[&str] = &[
    "sh", "date", "sleep", "cat", "echo", "ls", "ps", "tail", "wc", "true", "false", "hostname",
];

/// Writes the image's root filesystem tar to `tar_path`, from the static busybox at `busybox`.
pub fn write_rootfs_tar(busybox: &Path, tar_path: &Path) -> Result<()> {
    if !busybox.is_file() {
        bail!(
            "{} not found: install Debian's busybox-static",
            busybox.display()
        );
    }
    let staging = tar_path.with_extension("rootfs");
    let _ = std::fs::remove_dir_all(&staging);
    let bin = staging.join("bin");
    std::fs::create_dir_all(&bin).wrap_err_with(|| format!("creating {}", bin.display()))?;
    for d in ["tmp", "proc", "sys", "dev", "etc"] {
        std::fs::create_dir_all(staging.join(d))
            .wrap_err_with(|| format!("creating {d} in {}", staging.display()))?;
    }
    std::fs::copy(busybox, bin.join("busybox"))
        .wrap_err_with(|| format!("copying {}", busybox.display()))?;
    for applet in APPLETS {
        std::os::unix::fs::symlink("busybox", bin.join(applet))
            .wrap_err_with(|| format!("linking {applet}"))?;
    }
    let mut cmd = Command::new("tar");
    cmd.arg("-C")
        .arg(&staging)
        .arg("-cf")
        .arg(tar_path)
        .arg(".");
    let out = run_child(cmd, None, Some(Duration::from_secs(60)))?;
    let _ = std::fs::remove_dir_all(&staging);
    if !out.success {
        bail!("packing {}: {}", tar_path.display(), out.failure_reason());
    }
    Ok(())
}

/// The default path of the rootfs tar beside other lab files.
pub fn default_tar(dir: &Path) -> PathBuf {
    dir.join("busybox-rootfs.tar")
}
