//! The btrfs replica's clone for a non-disruptive test: a writable snapshot of the newest
//! snapshot on this node, `.drpilot-bubble/SUBVOL` in the same volume (instant, shares every
//! block); the bubble's copy of the config mounts it instead of the live subvolume.

use color_eyre::eyre::{eyre, Result};

use super::location::{Location, SNAP_DIR};
use super::volume::{Tool, Top};
use super::{local_location, plan};
use crate::drivers::Ctx;

/// The directory of the volume's top level holding the test's clones.
pub const BUBBLE_DIR: &str = ".drpilot-bubble";

fn open<'a>(tool: &'a Tool<'a>, ctx: &Ctx, loc: &Location) -> Result<Top<'a>> {
    let dev = ctx.env.path(&loc.dev);
    if !dev.exists() {
        return Err(tool.fail(
            "cannot clone the replica",
            format!("device {} not found", loc.dev),
        ));
    }
    Top::open(tool, &ctx.state_dir(), &dev)
}

/// Snapshots the newest snapshot of the subvolume into the bubble's directory.
pub fn clone(rid: &str, ctx: &Ctx) -> Result<()> {
    let loc = local_location(ctx, rid)?;
    let tool = Tool {
        log: ctx.log,
        rid,
        node: &ctx.env.nodename,
    };
    let top = open(&tool, ctx, &loc)?;
    let all = top.list()?;
    let newest = plan::snapshots(&all, &loc)
        .last()
        .map(|s| s.name().to_string())
        .ok_or_else(|| {
            eyre!(
                "{rid}: no snapshot of {} on {}: nothing to test from (run a sync first)",
                loc.subvol,
                ctx.env.nodename
            )
        })?;
    let to = format!("{BUBBLE_DIR}/{}", loc.subvol);
    if all.iter().any(|s| s.path == to) {
        top.delete(&to)?;
    }
    top.mkdir(BUBBLE_DIR)?;
    top.snapshot(&format!("{SNAP_DIR}/{newest}"), &to, false)?;
    ctx.log.info(
        rid,
        &format!(
            "{to} is a writable snapshot of {newest}: the bubble's {}",
            loc.subvol
        ),
    );
    top.close()
}

/// Deletes the clone (and the bubble's directory once empty).
pub fn drop(rid: &str, ctx: &Ctx) -> Result<()> {
    let loc = local_location(ctx, rid)?;
    let tool = Tool {
        log: ctx.log,
        rid,
        node: &ctx.env.nodename,
    };
    if !ctx.env.path(&loc.dev).exists() {
        return Ok(());
    }
    let top = open(&tool, ctx, &loc)?;
    let to = format!("{BUBBLE_DIR}/{}", loc.subvol);
    if top.list()?.iter().any(|s| s.path == to) {
        top.delete(&to)?;
    }
    // Another sync's clone may still be there: then the directory stays for its turn.
    let _ = std::fs::remove_dir(top.join(BUBBLE_DIR));
    top.close()
}

/// The config line `mnt_opt = rw,subvol=SUBVOL` of the bubble's copy, mounting the clone.
pub fn rewrite(rid: &str, ctx: &Ctx, text: &str) -> Result<String> {
    let loc = local_location(ctx, rid)?;
    let from = format!("subvol={}", loc.subvol);
    let to = format!("subvol={BUBBLE_DIR}/{}", loc.subvol);
    Ok(text
        .lines()
        .map(|line| {
            let key = line.split('=').next().unwrap_or_default().trim();
            let key = key.split('@').next().unwrap_or_default();
            if matches!(key, "mnt_opt" | "mnt_opts") {
                let (k, v) = line.split_once('=').unwrap_or((line, ""));
                let opts: Vec<String> = v
                    .trim()
                    .split(',')
                    .map(|o| {
                        if o.trim() == from {
                            to.clone()
                        } else {
                            o.trim().to_string()
                        }
                    })
                    .collect();
                format!("{k}= {}", opts.join(","))
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n")
}
