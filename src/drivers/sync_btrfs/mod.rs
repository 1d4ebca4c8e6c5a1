//! `sync` type=btrfs: replication of a btrfs subvolume by read-only snapshots and
//! `btrfs send [-p parent] | btrfs receive`, through the node transport.
//!
//! Config:
//! ```ini
//! [sync#1]
//! type = btrfs
//! src@deb1 = /dev/loop3:root      # DEV:SUBVOL, resolved for the sending node
//! src@deb2 = /dev/loop4:root
//! dst@deb1 = /dev/loop3:root      # DEV:SUBVOL, resolved for the target node
//! dst@deb2 = /dev/loop4:root
//! target = drpnodes
//! ```
//! DEV is the volume's block device, SUBVOL a subvolume at its top level (the fs resource mounts
//! it with `mnt_opt = subvol=root`). On this node, the volume is `dst` (else `src`) resolved for it.
//!
//! Layout on each volume, whose top level (subvolid=5) the driver mounts at
//! `<state_dir>/btrfs/<rid>/top` only while it works: `SUBVOL` (live), `.drpilot-snap/SUBVOL@<sync
//! id>` (read-only snapshots, sent or received), `.drpilot-snap/SUBVOL@replaced-<UTC>` (a live
//! subvolume a promotion moved aside), `.drpilot-snap/.incoming/` (streams being received: a
//! snapshot leaves it only once complete, so a cut sync never touches the last good one).
//!
//! `syncfullsync` sends everything; `syncupdate` sends the difference from the newest snapshot
//! both nodes hold (full when there is none, saying why). Both nodes then write the state file
//! `datetime;id` and keep the newest common snapshot. `before_start` promotes a received
//! snapshot to live data (see `promote`); failback is the same mechanism in the other direction.

mod bubble;
mod location;
mod mounts;
mod plan;
mod promote;
pub mod receive;
mod rotate;
mod send;
mod stream;
mod subvol;
mod volume;
mod wire;

use color_eyre::eyre::{eyre, Result};

use super::sync_state::probe_state;
use super::{Ctx, DataSync, Probe, Resource, SyncMode};
use crate::config::KeywordSpec;
use crate::transport::Transport;

pub use location::{is_plain_name, Location};
pub use stream::progress_line;

/// The keywords only a btrfs sync understands.
pub(crate) const KEYWORDS: &[KeywordSpec] = &[KeywordSpec::opt(
    "snap_dir",
    "not used by drpilot: btrfs snapshots always live in .drpilot-snap at the volume top",
)];

/// The btrfs replication driver.
pub struct SyncBtrfs {
    rid: String,
}

impl SyncBtrfs {
    /// A driver for section `rid`.
    pub fn new(rid: &str) -> Self {
        Self {
            rid: rid.to_string(),
        }
    }
}

/// This node's volume: `dst` resolved for it (where replicas arrive), else `src`.
fn local_location(ctx: &Ctx, rid: &str) -> Result<Location> {
    let (key, text) = match (ctx.get(rid, "dst"), ctx.get(rid, "src")) {
        (Some(d), _) => ("dst", d),
        (None, Some(s)) => ("src", s),
        (None, None) => {
            return Err(eyre!(
                "{}: [{rid}] neither dst nor src has a value for node {}",
                ctx.cfg.raw.path.display(),
                ctx.env.nodename
            ))
        }
    };
    Location::parse(&text).map_err(|e| {
        eyre!(
            "{}: [{rid}] {key} for {}: {e}",
            ctx.cfg.raw.path.display(),
            ctx.env.nodename
        )
    })
}

impl Resource for SyncBtrfs {
    fn rid(&self) -> &str {
        &self.rid
    }

    fn type_name(&self) -> String {
        "sync.btrfs".to_string()
    }

    fn label(&self, ctx: &Ctx) -> String {
        self.sync_label(ctx, "btrfs")
    }

    fn probe(&self, ctx: &Ctx) -> Probe {
        let loc = match local_location(ctx, &self.rid) {
            Ok(l) => l,
            Err(e) => return Probe::down(format!("{e:#}")),
        };
        if !ctx.env.path(&loc.dev).exists() {
            return Probe::down(format!(
                "device {} of {} not found on {}",
                loc.dev, loc.subvol, ctx.env.nodename
            ));
        }
        probe_state(ctx, &self.rid, "btrfs")
    }

    fn start(&self, _ctx: &Ctx) -> Result<()> {
        Ok(())
    }

    fn stop(&self, _ctx: &Ctx) -> Result<()> {
        Ok(())
    }

    fn as_sync(&self) -> Option<&dyn DataSync> {
        Some(self)
    }
}

impl DataSync for SyncBtrfs {
    fn sync_to(&self, ctx: &Ctx, mode: SyncMode, target: &dyn Transport) -> Result<()> {
        send::sync_to(&self.rid, ctx, mode, target)
    }

    fn rid_for_state(&self) -> &str {
        &self.rid
    }

    fn before_start(&self, ctx: &Ctx) -> Result<()> {
        promote::before_start(&self.rid, ctx)
    }

    fn clone_replica(&self, ctx: &Ctx, _bubble_root: &std::path::Path) -> Result<()> {
        bubble::clone(&self.rid, ctx)
    }

    fn drop_clone(&self, ctx: &Ctx) -> Result<()> {
        bubble::drop(&self.rid, ctx)
    }

    fn clone_config(&self, ctx: &Ctx, text: &str) -> Result<String> {
        bubble::rewrite(&self.rid, ctx, text)
    }
}
