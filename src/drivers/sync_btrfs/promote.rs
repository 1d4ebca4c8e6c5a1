//! Promotion, before a start mounts the filesystems: when the newest snapshot of the subvolume
//! on this node was received (this node was the target of the last sync) and the live
//! subvolume was not made from it, the live one is moved aside (never deleted; only the newest
//! moved-aside copy is kept) and a writable snapshot of the received one becomes live. Its
//! parent uuid records where it came from, so a second start does nothing.

use chrono::Utc;
use color_eyre::eyre::{eyre, Result};

use super::location::{Location, REPLACED_PREFIX, SNAP_DIR};
use super::volume::{Tool, Top};
use super::{local_location, mounts, plan};
use crate::drivers::Ctx;

/// Makes the newest received snapshot the live subvolume when it is newer than the live one.
pub fn before_start(rid: &str, ctx: &Ctx) -> Result<()> {
    let node = ctx.env.nodename.as_str();
    let loc = local_location(ctx, rid)?;
    let tool = Tool {
        log: ctx.log,
        rid,
        node,
    };
    let dev = ctx.env.path(&loc.dev);
    if !dev.exists() {
        return Err(tool.fail(
            "cannot prepare the replica",
            format!("device {} not found", loc.dev),
        ));
    }
    let top = Top::open(&tool, &ctx.state_dir(), &dev)?;
    let all = top.list()?;
    let snaps = plan::snapshots(&all, &loc);
    let live = plan::live(&all, &loc);
    let sv = &loc.subvol;
    match plan::promotion(&snaps, live) {
        plan::Promotion::NoSnapshot => ctx.log.info(
            rid,
            &format!("no snapshot of {sv} on {node}: the live {sv} is used as it is"),
        ),
        plan::Promotion::SourceHere { newest } => ctx.log.info(
            rid,
            &format!("the newest snapshot of {sv}, {newest}, was taken on {node}: {sv} stays live"),
        ),
        plan::Promotion::AlreadyLive { newest } => ctx.log.info(
            rid,
            &format!("{sv} is already made from the received {newest}: nothing to promote"),
        ),
        plan::Promotion::Promote { from, replace_live } => {
            promote(&tool, &top, &loc, &dev, &from, replace_live)?
        }
    }
    top.close()
}

/// A free name for the live subvolume moved aside now.
fn aside_name(top: &Top, loc: &Location) -> String {
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let mut name = format!("{}@{REPLACED_PREFIX}{stamp}", loc.subvol);
    let mut n = 2;
    while std::fs::symlink_metadata(top.join(&Location::snap_rel(&name))).is_ok() {
        name = format!("{}@{REPLACED_PREFIX}{stamp}-{n}", loc.subvol);
        n += 1;
    }
    name
}

fn promote(
    tool: &Tool,
    top: &Top,
    loc: &Location,
    dev: &std::path::Path,
    from: &str,
    replace_live: bool,
) -> Result<()> {
    let (rid, log, sv) = (tool.rid, tool.log, &loc.subvol);
    // An unreadable mount table is an error: "not mounted" must never be assumed here.
    let table =
        mounts::current().map_err(|e| tool.fail("reading the mount table", format!("{e:#}")))?;
    let used = mounts::subvol_mounts(&table, dev, sv);
    if !used.is_empty() {
        let at: Vec<String> = used.iter().map(|p| p.display().to_string()).collect();
        return Err(tool.fail(
            &format!("not promoting the received {from}"),
            format!(
                "{sv} is mounted at {} (the service is partly up): stop the service, then start it again",
                at.join(", ")
            ),
        ));
    }
    log.info(
        rid,
        &format!("the newest snapshot of {sv} here, {from}, was received: making it the live {sv}"),
    );
    let live_path = top.join(sv);
    let mut aside = None;
    if replace_live {
        let name = aside_name(top, loc);
        let rel = Location::snap_rel(&name);
        top.mkdir(SNAP_DIR)?;
        log.info(
            rid,
            &format!("move the live {sv} aside to {rel} (kept: the data {sv} held until now)"),
        );
        std::fs::rename(&live_path, top.join(&rel))
            .map_err(|e| tool.fail(&format!("moving {sv} aside to {rel}"), e))?;
        aside = Some(rel);
    }
    if let Err(e) = top.snapshot(&Location::snap_rel(from), sv, false) {
        if let Some(rel) = &aside {
            log.info(rid, &format!("put {rel} back as the live {sv}"));
            if let Err(back) = std::fs::rename(top.join(rel), &live_path) {
                return Err(e.wrap_err(eyre!(
                    "{rid} on {}: the live {sv} is at {rel} and could not be put back ({back}): \
                     rename it to {sv} by hand",
                    tool.node
                )));
            }
        }
        return Err(e.wrap_err(format!("{rid} on {}: {sv} was left as it was", tool.node)));
    }
    let all = top.list()?;
    let made_from = plan::live(&all, loc).and_then(|l| l.parent_uuid.clone());
    let newest = plan::snapshots(&all, loc)
        .iter()
        .find(|s| s.name() == from)
        .map(|s| s.uuid.clone());
    if made_from.is_none() || made_from != newest {
        log.warn(
            rid,
            &format!("{sv} does not show {from} as its parent: the next start will try again"),
        );
    }
    log.info(rid, &format!("{sv} is now a writable snapshot of {from}"));
    let replaced = plan::replaced(&all, loc);
    if let (Some(_), Some((_, older))) = (&aside, replaced.split_last()) {
        for r in older {
            log.info(
                rid,
                &format!(
                    "delete {}, replaced by a newer copy of an earlier live {sv}",
                    r.name()
                ),
            );
            if let Err(e) = top.delete(&r.path) {
                log.warn(rid, &format!("{e:#}"));
            }
        }
    }
    Ok(())
}
