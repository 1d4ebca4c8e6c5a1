//! Loop-file block devices: a sparse image file made into a filesystem and attached to a loop
//! device. The root testbed's volumes and the storage drivers' tests stand on them; a device is
//! detached when its owner is dropped, so a run leaves no loop device behind.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use color_eyre::eyre::{bail, Result, WrapErr};

use crate::transport::run_child;

/// How long mkfs and losetup may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(120);

/// A loop device attached to an image file, detached on drop.
#[derive(Debug)]
pub struct LoopDevice {
    /// The image file behind the device.
    pub image: PathBuf,
    /// The device, `/dev/loopN`.
    pub device: PathBuf,
    detached: bool,
}

fn run(program: &str, args: &[&str], what: &str) -> Result<String> {
    let mut cmd = Command::new(program);
    cmd.args(args);
    let out = run_child(cmd, None, Some(TOOL_TIMEOUT))
        .wrap_err_with(|| format!("{what}: running {program}"))?;
    if !out.success {
        bail!("{what}: {program} failed: {}", out.failure_reason());
    }
    Ok(out.stdout_text())
}

impl LoopDevice {
    /// Makes a sparse `size`-byte image at `image`, formats it with `mkfs.<fstype>` (labelled
    /// `label` when given) and attaches it to a free loop device.
    pub fn create(image: &Path, size: u64, fstype: &str, label: Option<&str>) -> Result<Self> {
        let file = std::fs::File::create(image)
            .wrap_err_with(|| format!("creating {}", image.display()))?;
        file.set_len(size)
            .wrap_err_with(|| format!("sizing {}", image.display()))?;
        drop(file);
        let img = image.to_string_lossy().into_owned();
        let mkfs = format!("mkfs.{fstype}");
        let mut args: Vec<&str> = match fstype {
            "btrfs" | "xfs" => vec!["-q", "-f"],
            _ => vec!["-q", "-F"],
        };
        if let Some(l) = label {
            args.extend(["-L", l]);
        }
        args.push(&img);
        run(&mkfs, &args, &format!("formatting {img}"))?;
        Self::attach(image)
    }

    /// Attaches an existing image file to a free loop device.
    pub fn attach(image: &Path) -> Result<Self> {
        let img = image.to_string_lossy().into_owned();
        let dev = run(
            "losetup",
            &["--find", "--show", &img],
            &format!("attaching {img}"),
        )?;
        let dev = dev.trim();
        if dev.is_empty() {
            bail!("attaching {img}: losetup printed no device");
        }
        Ok(Self {
            image: image.to_path_buf(),
            device: PathBuf::from(dev),
            detached: false,
        })
    }

    /// Gives up ownership without detaching (someone else detaches it).
    pub fn keep_attached(mut self) {
        self.detached = true;
    }

    /// Detaches the device now, reporting a failure (drop only tries).
    pub fn detach(mut self) -> Result<()> {
        self.detached = true;
        let dev = self.device.to_string_lossy().into_owned();
        run("losetup", &["--detach", &dev], &format!("detaching {dev}"))?;
        Ok(())
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        if !self.detached {
            let dev = self.device.to_string_lossy().into_owned();
            let _ = run("losetup", &["--detach", &dev], "detaching");
        }
    }
}

/// Detaches every loop device whose backing file lies under `dir` (the cleanup after a crashed
/// run, which never dropped its devices).
pub fn detach_all_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let list = run(
        "losetup",
        &["--list", "--noheadings", "--output", "NAME,BACK-FILE"],
        "listing loop devices",
    )?;
    let mut gone = Vec::new();
    for line in list.lines() {
        let mut parts = line.split_whitespace();
        let (Some(dev), Some(back)) = (parts.next(), parts.next()) else {
            continue;
        };
        if Path::new(back).starts_with(dir) {
            run("losetup", &["--detach", dev], &format!("detaching {dev}"))?;
            gone.push(PathBuf::from(dev));
        }
    }
    Ok(gone)
}
