//! The receiving side of node-to-node operations, run by a peer through its transport as
//! `drpilot peer ...`: list a replicated directory, receive a directory sync, receive a config;
//! and `postsync`, run on a DRP node after `syncdrp`.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

use color_eyre::eyre::{bail, eyre, Result, WrapErr};
use rustix::fs::{renameat_with, RenameFlags, CWD};

use super::peer_receive::{local_sync, receive_lock, SyncType};
use super::{probe, Service};
use crate::drivers::sync_archive::{apply_stream, walk};
use crate::drivers::sync_state::{read_state, write_state, SyncState};
use crate::drivers::{sync_config, Ctx};
use crate::paths::NodeEnv;
use crate::protocol::names::{ConfigHash, NodeName, Rid, ServiceName, SyncId, Timestamp};

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

/// Refuses to overwrite the data of a service that runs on this node, even in part (`warn`: a
/// filesystem up, say), as the split-brain guard counts it.
pub(crate) fn refuse_if_running(env: &NodeEnv, svc: &str) -> Result<()> {
    if !env.config_path(svc).exists() {
        return Ok(());
    }
    let service = Service::load(env, svc)?;
    let st = probe::probe(env, &service);
    if st.avail.is_active() {
        bail!(
            "{svc} is {} on {}: refusing to overwrite its live data",
            st.avail,
            env.nodename
        );
    }
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

/// What a receiving verb is told about a transfer (`dir-receive`; btrfs and dds add their own),
/// every name already checked by its parser.
pub struct Incoming<'a> {
    /// Service name.
    pub svc: &'a ServiceName,
    /// The sync resource.
    pub rid: &'a Rid,
    /// The replica as the sender names it (a directory, `DEV:SUBVOL`, a device): only compared
    /// with this node's config, which alone decides where data lands.
    pub dst: &'a str,
    /// The sending node.
    pub from: &'a NodeName,
    /// The sync id, recorded on both nodes (dds: the snapshot uuid, checked again as one).
    pub id: &'a SyncId,
    /// When the sender took its image.
    pub when: Timestamp,
}

/// Receives a directory sync: rebuilds the tree beside the current copy, then swaps it in. A cut
/// stream leaves the current copy and state file untouched.
pub fn dir_receive(
    env: &NodeEnv,
    inc: &Incoming,
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

/// Receives a config pushed by a peer.
pub fn config_receive(
    env: &NodeEnv,
    svc: &ServiceName,
    from: &NodeName,
    hash: &ConfigHash,
    input: &mut impl Read,
) -> Result<()> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes)?;
    sync_config::receive(env, svc, from, hash, &bytes)
}

/// `postsync` on a DRP node: checks what the syncs left here and says it.
pub fn postsync(ctx: &Ctx, svc: &Service) -> Result<()> {
    ctx.log.info(
        "",
        &format!(
            "config {} is valid on {}",
            ctx.cfg.raw.path.display(),
            ctx.env.nodename
        ),
    );
    for r in &svc.resources {
        if r.driver.as_sync().is_none() {
            continue;
        }
        let rid = r.driver.rid();
        match read_state(ctx.env, ctx.svc, rid)? {
            Some(s) => ctx.log.info(
                rid,
                &format!(
                    "holds sync {} of {}",
                    s.id,
                    s.when.format("%Y-%m-%d %H:%M:%S UTC")
                ),
            ),
            None => ctx.log.warn(rid, "no replica received yet"),
        }
    }
    Ok(())
}
