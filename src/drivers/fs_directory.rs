//! `fs` type=directory: the lab's stand-in for a mount, needing no root. `dev` is a directory
//! (the replicated data), `mnt` is where the service sees it; while the resource is up, `mnt` is
//! a symbolic link to `dev`. Status comes from the link on disk.

use std::path::Path;

use color_eyre::eyre::{bail, Result, WrapErr};

use super::{Ctx, Probe, Resource};

/// The directory filesystem driver.
pub struct FsDirectory {
    rid: String,
}

impl FsDirectory {
    /// A driver for section `rid`.
    pub fn new(rid: &str) -> Self {
        Self {
            rid: rid.to_string(),
        }
    }
}

enum Link {
    Ours,
    Absent,
    Foreign(String),
}

fn link_state(mnt: &Path, dev: &Path) -> Link {
    match std::fs::symlink_metadata(mnt) {
        Err(_) => Link::Absent,
        Ok(m) if m.file_type().is_symlink() => match std::fs::read_link(mnt) {
            Ok(t) if t == dev => Link::Ours,
            Ok(t) => Link::Foreign(format!("a link to {}", t.display())),
            Err(e) => Link::Foreign(e.to_string()),
        },
        Ok(m) if m.is_dir() => Link::Foreign("a directory".to_string()),
        Ok(_) => Link::Foreign("a file".to_string()),
    }
}

impl Resource for FsDirectory {
    fn rid(&self) -> &str {
        &self.rid
    }

    fn type_name(&self) -> String {
        "fs.directory".to_string()
    }

    fn label(&self, ctx: &Ctx) -> String {
        ctx.at_label(&self.rid, "dev", "mnt")
    }

    fn probe(&self, ctx: &Ctx) -> Probe {
        let Some((dev, mnt)) = ctx.pair(&self.rid, "dev", "mnt") else {
            return Probe::down("dev or mnt has no value for this node");
        };
        let dev_path = ctx.env.path(&dev);
        match link_state(&ctx.env.path(&mnt), &dev_path) {
            Link::Ours if dev_path.is_dir() => Probe::up(),
            Link::Ours => Probe::warn(format!("{mnt} links to {dev}, which is missing")),
            Link::Foreign(what) => Probe::warn(format!("{mnt} is {what}, not a link to {dev}")),
            Link::Absent if !dev_path.is_dir() => Probe::down(format!("directory {dev} not found")),
            Link::Absent => Probe::stopped(),
        }
    }

    fn start(&self, ctx: &Ctx) -> Result<()> {
        let dev = ctx.require(&self.rid, "dev")?;
        let mnt = ctx.require(&self.rid, "mnt")?;
        let (dev_path, mnt_path) = (ctx.env.path(&dev), ctx.env.path(&mnt));
        match link_state(&mnt_path, &dev_path) {
            Link::Ours => {
                ctx.log
                    .info(&self.rid, &format!("{dev}@{mnt} is already up"));
                return Ok(());
            }
            Link::Foreign(what) => bail!("{}: {mnt} is {what}: refusing to replace it", self.rid),
            Link::Absent => {}
        }
        if !dev_path.is_dir() {
            bail!(
                "{}: directory {dev} not found on {} (has it been replicated here?)",
                self.rid,
                ctx.env.nodename
            );
        }
        ctx.log.info(&self.rid, &format!("link {mnt} -> {dev}"));
        if let Some(parent) = mnt_path.parent() {
            std::fs::create_dir_all(parent)
                .wrap_err_with(|| format!("{}: creating {}", self.rid, parent.display()))?;
        }
        std::os::unix::fs::symlink(&dev_path, &mnt_path)
            .wrap_err_with(|| format!("{}: linking {mnt} to {dev}", self.rid))
    }

    fn stop(&self, ctx: &Ctx) -> Result<()> {
        let dev = ctx.require(&self.rid, "dev")?;
        let mnt = ctx.require(&self.rid, "mnt")?;
        match link_state(&ctx.env.path(&mnt), &ctx.env.path(&dev)) {
            Link::Absent => {
                ctx.log
                    .info(&self.rid, &format!("{dev}@{mnt} is already down"));
                Ok(())
            }
            Link::Foreign(what) => bail!("{}: {mnt} is {what}: not ours to remove", self.rid),
            Link::Ours => {
                ctx.log.info(&self.rid, &format!("unlink {mnt}"));
                std::fs::remove_file(ctx.env.path(&mnt))
                    .wrap_err_with(|| format!("{}: removing the link {mnt}", self.rid))
            }
        }
    }
}
