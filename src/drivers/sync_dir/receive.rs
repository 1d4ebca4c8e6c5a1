//! The receiving half of `sync` type=dir, run by the sending node through its transport:
//! `drpilot peer dir-manifest` (what this node's copy holds, so only changes are sent) and
//! `drpilot peer dir-receive` (the tree rebuilt beside the copy, then swapped in at once).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use color_eyre::eyre::{eyre, Result, WrapErr};
use rustix::fs::{renameat_with, RenameFlags, CWD};

use super::archive::{apply_stream, walk};
use crate::drivers::receive::{local_sync, receive_lock, Incoming, LiveCheck, SyncType};
use crate::drivers::sync_state::{write_state, SyncState};
use crate::paths::NodeEnv;
use crate::protocol::names::{Rid, ServiceName};

/// Prints, as JSON, the manifest of the directory sync `rid` holds on this node; `dst` is what
/// the sender believes it is, checked against this node's config.
pub fn dir_manifest(
    env: &NodeEnv,
    svc: &ServiceName,
    rid: &Rid,
    dst: &str,
    out: &mut impl Write,
) -> Result<()> {
    let local = local_sync(env, svc, rid, SyncType::Dir, dst, None)?;
    let entries = walk(&env.path(&local.dst))?;
    serde_json::to_writer(&mut *out, &entries)?;
    writeln!(out)?;
    Ok(())
}

fn staging_path(dst: &Path) -> Result<PathBuf> {
    let parent = dst
        .parent()
        .ok_or_else(|| eyre!("{} has no parent directory", dst.display()))?;
    let name = dst
        .file_name()
        .ok_or_else(|| eyre!("{} has no name", dst.display()))?
        .to_string_lossy();
    Ok(parent.join(format!(".{name}.drpilot-incoming")))
}

/// Puts `staging` in place of `dst` in one step; the old copy ends up at `staging` and is removed.
fn swap_in(staging: &Path, dst: &Path) -> Result<()> {
    if std::fs::symlink_metadata(dst).is_ok() {
        renameat_with(CWD, staging, CWD, dst, RenameFlags::EXCHANGE)
            .wrap_err_with(|| format!("swapping {} into place", dst.display()))?;
        std::fs::remove_dir_all(staging)
            .wrap_err_with(|| format!("removing the previous copy at {}", staging.display()))?;
    } else {
        std::fs::rename(staging, dst)
            .wrap_err_with(|| format!("moving the copy to {}", dst.display()))?;
    }
    if let Some(parent) = dst.parent() {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

/// Receives a directory sync: rebuilds the tree beside the current copy, then swaps it in. A cut
/// stream leaves the current copy and state file untouched.
pub fn dir_receive(
    env: &NodeEnv,
    inc: &Incoming,
    refuse_if_running: LiveCheck,
    input: &mut impl BufRead,
    out: &mut impl Write,
) -> Result<()> {
    let local = local_sync(
        env,
        inc.svc,
        inc.rid,
        SyncType::Dir,
        inc.dst,
        Some(inc.from),
    )?;
    let _lock = receive_lock(env, inc.svc, inc.rid, inc.from)?;
    refuse_if_running(env, inc.svc)?;
    let dst = env.path(&local.dst);
    let parent = dst
        .parent()
        .ok_or_else(|| eyre!("{} has no parent", local.dst))?;
    std::fs::create_dir_all(parent).wrap_err_with(|| format!("creating {}", parent.display()))?;
    let staging = staging_path(&dst)?;
    if staging.exists() {
        // Left by a sync that was cut: it never replaced the copy, so it is only debris.
        std::fs::remove_dir_all(&staging)
            .wrap_err_with(|| format!("removing {}", staging.display()))?;
    }
    let summary = match apply_stream(input, &dst, &staging) {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e.wrap_err(format!(
                "{}: receiving from {} failed; the previous copy of {} is intact",
                inc.rid, inc.from, local.dst
            )));
        }
    };
    // The lock keeps drpilot from starting the service meanwhile; whatever else started it, the
    // swap must not pull the directory from under a running app.
    if let Err(e) = refuse_if_running(env, inc.svc) {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e.wrap_err(format!(
            "{}: the copy from {} was not swapped in; the previous copy of {} is intact",
            inc.rid, inc.from, local.dst
        )));
    }
    swap_in(&staging, &dst)?;
    write_state(
        env,
        inc.svc,
        inc.rid,
        &SyncState {
            when: inc.when.0,
            id: inc.id.to_string(),
        },
    )?;
    serde_json::to_writer(&mut *out, &summary)?;
    writeln!(out)?;
    Ok(())
}
