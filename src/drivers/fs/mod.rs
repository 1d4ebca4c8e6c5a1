//! `fs` on a block device (ext2/3/4, xfs, btrfs), the seed's way: `e2fsck -p` then
//! `mount -t TYPE [-o mnt_opt] DEV MNT` on start, `umount MNT` on stop. The status comes from
//! the kernel's mount table, matching the device and, for a btrfs `subvol=` mount, the
//! subvolume, so two resources may mount two subvolumes of one device. A busy unmount names the
//! processes holding it; `--force` ends them, and nothing here ever unmounts lazily.

mod fsck;
mod holders;
mod mount;
pub(crate) mod mountinfo;
mod namespaces;
mod umount;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr};

use super::{Ctx, Probe, Resource};
use crate::config::KeywordSpec;
use crate::transport::{run_child, CallOutput};
use mountinfo::{Found, MountEntry};

/// The keywords of an `fs` section, mounted or a directory.
pub(crate) const KEYWORDS: &[KeywordSpec] = &[
    KeywordSpec::req("type", "filesystem type"),
    KeywordSpec::req("dev", "block device (or source directory) to mount"),
    KeywordSpec::req("mnt", "mount point"),
    KeywordSpec::opt("mnt_opt", "mount options"),
    KeywordSpec::opt("fsck", "run fsck before mounting (true/false)"),
];

/// How long a mount may take (a journal replay on a big fs is slow).
const MOUNT_TIMEOUT: Duration = Duration::from_secs(300);
/// How long an unmount may take (it flushes dirty pages first).
const UMOUNT_TIMEOUT: Duration = Duration::from_secs(300);

/// The block-device filesystem driver.
pub struct FsMount {
    rid: String,
    fstype: String,
}

/// The resource's keywords resolved for this node, and their paths on this node.
struct Spec {
    /// `dev` as configured (messages and labels).
    dev: String,
    /// `mnt` as configured.
    mnt: String,
    /// The device on this node (under `DRPILOT_ROOT`).
    dev_path: PathBuf,
    /// The mount point on this node, canonical when it exists (as mountinfo shows it).
    mnt_path: PathBuf,
    /// `mnt_opt`, when set.
    opts: Option<String>,
    /// The btrfs subvolume asked for in `mnt_opt` (`subvol=root` is `/root`).
    subvol: Option<PathBuf>,
}

impl Spec {
    fn label(&self) -> String {
        format!("{}@{}", self.dev, self.mnt)
    }

    fn find<'a>(&self, entries: &'a [MountEntry]) -> Found<'a> {
        mountinfo::find(entries, &self.mnt_path, self.subvol.as_deref(), |s| {
            mountinfo::same_device(s, &self.dev_path)
        })
    }

    fn subvol_text(&self) -> String {
        self.subvol
            .as_ref()
            .map(|s| s.display().to_string())
            .unwrap_or_default()
    }
}

fn arg(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Runs `argv` logged the seed's way (command before, output after) and hands back how it
/// ended; only a command that cannot be run at all is an error here.
fn run_recorded(ctx: &Ctx, rid: &str, argv: &[String], timeout: Duration) -> Result<CallOutput> {
    ctx.log.cmd(rid, argv);
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    let out = run_child(cmd, None, Some(timeout))
        .wrap_err_with(|| format!("{rid}: running {}", argv[0]))?;
    let mut text = out.stdout_text();
    text.push_str(&out.stderr);
    ctx.log.output(rid, &text);
    Ok(out)
}

impl FsMount {
    /// A driver for section `rid` of filesystem type `fstype`.
    pub fn new(rid: &str, fstype: &str) -> Self {
        Self {
            rid: rid.to_string(),
            fstype: fstype.to_string(),
        }
    }

    fn spec_of(&self, ctx: &Ctx, dev: String, mnt: String) -> Spec {
        let opts = ctx
            .get(&self.rid, "mnt_opt")
            .filter(|o| !o.trim().is_empty());
        let subvol = opts.as_deref().and_then(mountinfo::subvol_of);
        let mnt_path = ctx.env.path(&mnt);
        Spec {
            dev_path: ctx.env.path(&dev),
            mnt_path: std::fs::canonicalize(&mnt_path).unwrap_or(mnt_path),
            dev,
            mnt,
            opts,
            subvol,
        }
    }

    fn spec(&self, ctx: &Ctx) -> Result<Spec> {
        let dev = ctx.require(&self.rid, "dev")?;
        let mnt = ctx.require(&self.rid, "mnt")?;
        Ok(self.spec_of(ctx, dev, mnt))
    }

    /// Where the device is mounted other than on its mount point (ext and xfs: never twice).
    fn mounted_elsewhere<'a>(
        &self,
        spec: &Spec,
        entries: &'a [MountEntry],
    ) -> Option<&'a MountEntry> {
        if self.fstype == "btrfs" {
            return None;
        }
        entries.iter().find(|e| {
            e.mount_point != spec.mnt_path && mountinfo::same_device(&e.source, &spec.dev_path)
        })
    }

    fn mount_table(&self) -> Result<Vec<MountEntry>> {
        mountinfo::read().wrap_err_with(|| format!("{}: cannot see what is mounted", self.rid))
    }
}

impl Resource for FsMount {
    fn rid(&self) -> &str {
        &self.rid
    }

    fn type_name(&self) -> String {
        format!("fs.{}", self.fstype)
    }

    fn label(&self, ctx: &Ctx) -> String {
        ctx.at_label(&self.rid, "dev", "mnt")
    }

    fn probe(&self, ctx: &Ctx) -> Probe {
        let Some((dev, mnt)) = ctx.pair(&self.rid, "dev", "mnt") else {
            return Probe::down("dev or mnt has no value for this node");
        };
        let spec = self.spec_of(ctx, dev, mnt);
        let (dev, mnt) = (&spec.dev, &spec.mnt);
        let entries = match mountinfo::read() {
            Ok(e) => e,
            Err(e) => return Probe::warn(format!("{e:#}")),
        };
        match spec.find(&entries) {
            Found::Ours(_) => Probe::up(),
            Found::WrongSubvol(e) => Probe::warn(format!(
                "{mnt} is mounted from {dev} subvolume {}, expected subvol={}",
                e.root.display(),
                spec.subvol_text()
            )),
            Found::Foreign(e) => Probe::warn(format!(
                "{mnt} is mounted from {}, expected {dev}",
                e.source
            )),
            Found::NotMounted if !spec.dev_path.exists() => {
                Probe::down(format!("device {dev} not found"))
            }
            Found::NotMounted => match self.mounted_elsewhere(&spec, &entries) {
                Some(e) => Probe::down(format!(
                    "{dev} is not mounted on {mnt} (it is mounted on {})",
                    e.mount_point.display()
                )),
                None => Probe::stopped(),
            },
        }
    }

    fn start(&self, ctx: &Ctx) -> Result<()> {
        mount::start(self, ctx)
    }

    fn stop(&self, ctx: &Ctx) -> Result<()> {
        umount::stop(self, ctx)
    }
}
