//! How a directory replica is replaced by a receive (the dir sync's stream, the rsync sync's
//! batch): the new copy is built in a hidden staging tree beside it, the service is checked
//! not to run here again, then the two are swapped in one step and the sync's state written. A
//! failed build, or a service started meanwhile, leaves the previous copy complete.

use std::path::{Path, PathBuf};

use color_eyre::eyre::{eyre, Result, WrapErr};
use rustix::fs::{renameat_with, RenameFlags, CWD};

use super::receive::{Incoming, LiveCheck};
use super::sync_state::{write_state, SyncState};
use crate::paths::NodeEnv;

/// Where a copy is rebuilt before it is swapped in (beside it, hidden).
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

/// Replaces the copy at `local_dst` (this node's own `dst`) with what `build(dst, staging)`
/// makes in the staging tree, then records the sync `inc` describes; `build`'s result.
pub fn replace_copy<T>(
    env: &NodeEnv,
    inc: &Incoming,
    local_dst: &str,
    refuse_if_running: LiveCheck,
    build: impl FnOnce(&Path, &Path) -> Result<T>,
) -> Result<T> {
    let dst = env.path(local_dst);
    let parent = dst
        .parent()
        .ok_or_else(|| eyre!("{local_dst} has no parent"))?;
    std::fs::create_dir_all(parent).wrap_err_with(|| format!("creating {}", parent.display()))?;
    let staging = staging_path(&dst)?;
    if staging.exists() {
        // Left by a sync that was cut: it never replaced the copy, so it is only debris.
        std::fs::remove_dir_all(&staging)
            .wrap_err_with(|| format!("removing {}", staging.display()))?;
    }
    let built = match build(&dst, &staging) {
        Ok(t) => t,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e.wrap_err(format!(
                "{}: receiving from {} failed; the previous copy of {local_dst} is intact",
                inc.rid, inc.from
            )));
        }
    };
    // The lock keeps drpilot from starting the service meanwhile; whatever else started it, the
    // swap must not pull the directory from under a running app.
    if let Err(e) = refuse_if_running(env, inc.svc) {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e.wrap_err(format!(
            "{}: the copy from {} was not swapped in; the previous copy of {local_dst} is intact",
            inc.rid, inc.from
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
    Ok(built)
}
