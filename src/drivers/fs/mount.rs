//! Start of a block-device fs: the device must be there, a block device, not mounted elsewhere
//! (here or, for a checked fs, in another mount namespace); it is checked (fsck.rs), its mount
//! point made, it is mounted, and the mount table is read back to prove it.

use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use color_eyre::eyre::{bail, Result, WrapErr};

use super::{arg, fsck, mountinfo, namespaces, run_recorded, Found, FsMount, Spec, MOUNT_TIMEOUT};
use crate::drivers::Ctx;

fn check_device(rid: &str, ctx: &Ctx, spec: &Spec) -> Result<()> {
    let dev = &spec.dev;
    match std::fs::metadata(&spec.dev_path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "{rid}: device {dev} not found on {} (is its volume group active, its disk \
             attached?)",
            ctx.env.nodename
        ),
        Err(e) => Err(e).wrap_err_with(|| format!("{rid}: reading device {dev}")),
        Ok(m) if !m.file_type().is_block_device() => {
            bail!("{rid}: {dev} is not a block device: refusing to mount it")
        }
        Ok(_) => Ok(()),
    }
}

fn make_mount_point(rid: &str, ctx: &Ctx, spec: &Spec) -> Result<()> {
    match std::fs::metadata(&spec.mnt_path) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => bail!("{rid}: mount point {} is not a directory", spec.mnt),
        Err(_) => {
            ctx.log
                .info(rid, &format!("create mount point {}", spec.mnt));
            std::fs::create_dir_all(&spec.mnt_path)
                .wrap_err_with(|| format!("{rid}: creating the mount point {}", spec.mnt))
        }
    }
}

/// Mounts the resource's device on its mount point (already mounted: says so).
pub(super) fn start(fs: &FsMount, ctx: &Ctx) -> Result<()> {
    let spec = fs.spec(ctx)?;
    let (rid, dev, mnt) = (&fs.rid, &spec.dev, &spec.mnt);
    let entries = fs.mount_table()?;
    match spec.find(&entries) {
        Found::Ours(_) => {
            ctx.log
                .info(rid, &format!("{} is already mounted", spec.label()));
            return Ok(());
        }
        Found::WrongSubvol(e) => bail!(
            "{rid}: {mnt} is already mounted from {dev} subvolume {}, not subvol={}: \
             unmount it first",
            e.root.display(),
            spec.subvol_text()
        ),
        Found::Foreign(e) => bail!(
            "{rid}: {mnt} is already mounted from {}: refusing to mount {dev} over it",
            e.source
        ),
        Found::NotMounted => {}
    }
    check_device(rid, ctx, &spec)?;
    if let Some(e) = fs.mounted_elsewhere(&spec, &entries) {
        bail!(
            "{rid}: {dev} is already mounted on {}: refusing to check it and mount it a \
             second time on {mnt}; unmount it there first",
            e.mount_point.display()
        );
    }
    if fsck::argv(&fs.fstype, dev).is_some() {
        let elsewhere = namespaces::in_other_namespaces(Path::new("/proc"), |s| {
            mountinfo::same_device(s, &spec.dev_path)
        });
        if let Some(first) = elsewhere.first() {
            bail!(
                "{rid}: {dev} is still mounted in another mount namespace ({}): it is in use, \
                 refusing to check and mount it; unmount it there (`nsenter -t {} -m umount \
                 {}`) or end that container or service, then start again",
                namespaces::describe_namespaces(&elsewhere),
                first.pid,
                first.mount_point.display()
            );
        }
    }
    fsck::check(ctx, rid, &fs.fstype, &arg(&spec.dev_path), dev)?;
    make_mount_point(rid, ctx, &spec)?;
    let mut argv = vec!["mount".to_string(), "-t".to_string(), fs.fstype.clone()];
    if let Some(o) = &spec.opts {
        argv.extend(["-o".to_string(), o.clone()]);
    }
    argv.extend([arg(&spec.dev_path), arg(&spec.mnt_path)]);
    let out = run_recorded(ctx, rid, &argv, MOUNT_TIMEOUT)?;
    if !out.success {
        bail!(
            "{rid}: mounting {dev} on {mnt} failed: {}",
            out.failure_reason()
        );
    }
    // The mount point exists now: its canonical path is what mountinfo shows.
    let mut spec = spec;
    if let Ok(c) = std::fs::canonicalize(&spec.mnt_path) {
        spec.mnt_path = c;
    }
    let seen = match spec.find(&fs.mount_table()?) {
        Found::Ours(_) => return Ok(()),
        Found::WrongSubvol(e) => format!("subvolume {} there", e.root.display()),
        Found::Foreign(e) => format!("{} there", e.source),
        Found::NotMounted => "nothing there".to_string(),
    };
    bail!(
        "{rid}: mount exited 0 but the mount table does not show {} ({seen}); check \
         `findmnt {}` and the kernel log",
        spec.label(),
        arg(&spec.mnt_path)
    )
}
