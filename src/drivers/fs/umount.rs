//! Stop of a block-device fs: only its own mount goes, never one stacked inside it, never
//! lazily; a busy mount names its holders (holders.rs), and `--force` ends them and tries once
//! more.

use std::path::Path;

use color_eyre::eyre::{bail, Result};

use super::{
    arg, holders, mountinfo, namespaces, run_recorded, Found, FsMount, Spec, UMOUNT_TIMEOUT,
};
use crate::drivers::Ctx;
use crate::transport::CallOutput;

/// How long a busy mount with no holder process is retried.
const BUSY_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

fn umount(rid: &str, ctx: &Ctx, spec: &Spec) -> Result<CallOutput> {
    let argv = vec!["umount".to_string(), arg(&spec.mnt_path)];
    run_recorded(ctx, rid, &argv, UMOUNT_TIMEOUT)
}

/// After a failed umount: names the holders of a busy mount, or with `--force` ends them
/// and tries once more. Succeeds only when the second umount did.
fn handle_failed_umount(rid: &str, ctx: &Ctx, spec: &Spec, out: &CallOutput) -> Result<()> {
    let mnt = &spec.mnt;
    let said = out.failure_reason();
    if !out.stderr.contains("busy") {
        bail!("{rid}: umount {mnt} failed: {said}");
    }
    let held = holders::scan(Path::new("/proc"), &spec.mnt_path);
    if held.is_empty() {
        let copies = namespaces::in_other_namespaces(Path::new("/proc"), |s| {
            mountinfo::same_device(s, &spec.dev_path)
        });
        let copies = if copies.is_empty() {
            String::new()
        } else {
            format!(
                "; it is also mounted in other mount namespaces: {}",
                namespaces::describe_namespaces(&copies)
            )
        };
        bail!(
            "{rid}: {mnt} is busy but no process here holds it (a loop device, a swap file, an \
             NFS export, a bind mount, or a copy in another mount namespace?){copies}; it is \
             left mounted. umount said: {said}"
        );
    }
    if !ctx.force {
        bail!(
            "{rid}: {mnt} is busy, held by {}: stop them (or `stop --force` to kill them), \
             then stop again; it is left mounted. umount said: {said}",
            holders::describe(&held)
        );
    }
    holders::end(ctx, rid, mnt, &spec.mnt_path, &held);
    let retry = umount(rid, ctx, spec)?;
    if retry.success {
        return Ok(());
    }
    let still = holders::scan(Path::new("/proc"), &spec.mnt_path);
    let by = if still.is_empty() {
        String::new()
    } else {
        format!(", held by {}", holders::describe(&still))
    };
    bail!(
        "{rid}: {mnt} is still busy after --force ended its holders{by}; it is left mounted. \
         umount said: {}",
        retry.failure_reason()
    )
}

/// Unmounts the resource's own mount (not mounted, or not its own: says so).
pub(super) fn stop(fs: &FsMount, ctx: &Ctx) -> Result<()> {
    let spec = fs.spec(ctx)?;
    let (rid, dev, mnt) = (&fs.rid, &spec.dev, &spec.mnt);
    let entries = fs.mount_table()?;
    let top = match spec.find(&entries) {
        Found::NotMounted => {
            ctx.log
                .info(rid, &format!("{} is not mounted", spec.label()));
            return Ok(());
        }
        // Not ours: this resource is down already; the probe keeps the warn.
        Found::Foreign(e) => {
            ctx.log.warn(
                rid,
                &format!(
                    "{mnt} is mounted from {}, not {dev}: not this resource's, left alone",
                    e.source
                ),
            );
            return Ok(());
        }
        Found::WrongSubvol(e) => {
            ctx.log.warn(
                rid,
                &format!(
                    "{mnt} is mounted from {dev} subvolume {}, not subvol={}: not this \
                     resource's, left alone",
                    e.root.display(),
                    spec.subvol_text()
                ),
            );
            return Ok(());
        }
        Found::Ours(e) => e,
    };
    let inner = mountinfo::inside(&entries, top);
    if let Some(first) = inner.first() {
        let more = match inner.len() {
            1 => String::new(),
            n => format!(" (and {} more mounts)", n - 1),
        };
        bail!(
            "{rid}: {} ({}) is mounted inside {mnt}{more}: it is not this resource's; \
             unmount it (or stop the resource that mounted it) first; {mnt} is left mounted",
            first.mount_point.display(),
            first.source
        );
    }
    let mut out = umount(rid, ctx, &spec)?;
    // Busy with no holder is often a container stopped a moment ago: the kernel releases its
    // mount namespace asynchronously (measured: a failover's umount right after dockerd's
    // exit). Retry for a short while before naming it a failure.
    // It sleeps on the mount table's change notification (the dying container's mounts going
    // away), 100 ms at most between tries when nothing changes here.
    let deadline = std::time::Instant::now() + BUSY_GRACE;
    let mut watch = None;
    while !out.success
        && out.stderr.contains("busy")
        && holders::scan(Path::new("/proc"), &spec.mnt_path).is_empty()
        && std::time::Instant::now() < deadline
    {
        if watch.is_none() {
            watch = Some(mountinfo::MountWatch::open()?);
        }
        if let Some(w) = watch.as_mut() {
            w.wait(std::time::Duration::from_millis(100));
        }
        out = umount(rid, ctx, &spec)?;
    }
    if !out.success {
        handle_failed_umount(rid, ctx, &spec, &out)?;
    }
    if let Found::Ours(_) = spec.find(&fs.mount_table()?) {
        bail!(
            "{rid}: umount {mnt} succeeded but {dev} is still mounted there (mounted twice?); \
             run stop again"
        );
    }
    let copies = namespaces::in_other_namespaces(Path::new("/proc"), |s| {
        mountinfo::same_device(s, &spec.dev_path)
    });
    if !copies.is_empty() {
        ctx.log.warn(
            rid,
            &format!(
                "{dev} is unmounted here but still mounted in other mount namespaces ({}): it \
                 stays in use (a checked fs will not start again until they let it go)",
                namespaces::describe_namespaces(&copies)
            ),
        );
    }
    Ok(())
}
