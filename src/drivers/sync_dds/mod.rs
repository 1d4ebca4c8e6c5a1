//! `sync` type=dds: the seed's LVM snapshot-delta replication of a logical volume to the same
//! volume on a DRP node. OpenSVC's `dds` tool is packaged nowhere, so drpilot reads the
//! dm-snapshot COW store and streams the delta itself.
//!
//! Config (the seed's):
//! ```ini
//! [sync#1]
//! type = dds
//! src = /dev/mapper/vglocaldeb1-lvbusyboxroot   # the LV on the sending node
//! dst = /dev/mapper/vglocaldeb2-lvbusyboxroot   # resolved for the target node
//! target = drpnodes
//! snap_size = 200M                              # optional, see below
//! ```
//!
//! Commands, exactly (all through the single `lvm` binary; names as the seed, `<vg>`/`<lv>` as
//! `lvs` reports them for `src`):
//! * `lvm lvs --noheadings -o lv_uuid,lv_size,vg_name,lv_name --units b <src>`: the origin;
//!   the same with `<vg>` lists the group's snapshots (their uuids);
//! * `lvm lvcreate -s -n <lv>_osvc_snap1 -L <size> /dev/<vg>/<lv>` (and `_snap2`), where
//!   `<size>` is `snap_size` when set (a number and an LVM unit), else 10% of the origin
//!   rounded up to a MiB, at least 4 MiB, written `<n>M` (lvcreate rounds up to whole extents).
//!   A snapshot that overflows is invalidated by the kernel and the next update then asks for
//!   a `syncfullsync`: make `snap_size` hold what changes between two syncs;
//! * `lvm lvremove -f /dev/<vg>/<name>`, `lvm lvrename <vg> <lv>_osvc_snap2 <lv>_osvc_snap1`.
//!
//! `src` goes to `lvm lvs` as written in the config: it is LVM's name for the volume, not a file
//! drpilot opens (under `DRPILOT_ROOT` the devices drpilot opens are prefixed, LVM's names are not).
//!
//! Devices read: `/dev/<vg>/<snap>` (the data) and `/dev/mapper/<dm vg>-<dm snap>-cow` (snap1's
//! COW store; dashes inside names doubled, see `lvm::dm_name`). Written on the target: `dst`.
//!
//! `syncfullsync`: remove stale snap2/snap1, create snap1, stream all of it (1 MiB chunks) to
//! `drpilot peer dds-receive --full` on the target, which writes `dst` in place, verifies the
//! trailer, syncs and writes its state file; then this node's state file `datetime;snap1 uuid`.
//!
//! `syncupdate`: ask the target (`drpilot peer dds-state`) for its state and refuse unless it
//! names our snap1's uuid (and no merge was cut there); create snap2; parse snap1's COW store
//! (`cow`); stream the chunks it lists, read from snap2 (`delta`), to `dds-receive --base
//! <snap1 uuid>`; print the seed's report; `lvremove` snap1, `lvrename` snap2 to snap1; state
//! file with the new uuid. A failure before the target confirmed removes snap2 and keeps snap1;
//! a failed rotation after it keeps snap2 (its image is on the target) and the next
//! `syncupdate` completes the rotation before anything else.
//!
//! A merge is written in place: a cut one leaves the target inconsistent but flagged (its old
//! state file stays and a mark says so, see `marker`), its status turns `warn`, and the next
//! `syncupdate` is refused: run `syncfullsync`.

pub mod cow;
pub mod delta;
mod frame;
mod lvm;
mod marker;
pub mod receive;
mod report;
mod send;
mod stream;
mod update;
mod wire;

use color_eyre::eyre::Result;

use super::sync_state::probe_state;
use super::{Ctx, DataSync, Probe, Resource, SyncMode};
use crate::config::KeywordSpec;
use crate::transport::Transport;

pub use report::delta_report;

/// The keywords only a dds sync understands.
pub(crate) const KEYWORDS: &[KeywordSpec] = &[KeywordSpec::opt(
    "snap_size",
    "size of each LVM snapshot (lvcreate -L, e.g. 200M); default 10% of the origin, at least 4M",
)];

/// The dds replication driver.
pub struct SyncDds {
    rid: String,
}

impl SyncDds {
    /// A driver for section `rid`.
    pub fn new(rid: &str) -> Self {
        Self {
            rid: rid.to_string(),
        }
    }

    /// This node's volume: `dst` on a node the sync targets, `src` elsewhere.
    fn local_device(&self, ctx: &Ctx) -> Option<String> {
        let words = self.target_words(ctx);
        let key = if ctx.cfg.list_includes(&words, &ctx.env.nodename) {
            "dst"
        } else {
            "src"
        };
        ctx.get(&self.rid, key)
    }
}

/// Splits a device-mapper name `VG-LV` (dashes inside names doubled) into its group and volume;
/// a trailing layer (`-cow`) stays in the volume part.
pub fn split_dm_name(name: &str) -> Option<(String, String)> {
    let b = name.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'-' {
            if b.get(i + 1) == Some(&b'-') {
                i += 2;
                continue;
            }
            let (vg, lv) = (&name[..i], &name[i + 1..]);
            if vg.is_empty() || lv.is_empty() {
                return None;
            }
            return Some((vg.replace("--", "-"), lv.replace("--", "-")));
        }
        i += 1;
    }
    None
}

/// The volume group of an LV device path (`/dev/mapper/VG-LV` or `/dev/VG/LV`).
pub fn vg_of_device(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/dev/")?;
    if let Some(dm) = rest.strip_prefix("mapper/") {
        return split_dm_name(dm).map(|(vg, _)| vg);
    }
    match rest.split('/').collect::<Vec<_>>()[..] {
        [vg, lv] if !vg.is_empty() && !lv.is_empty() => Some(vg.to_string()),
        _ => None,
    }
}

impl Resource for SyncDds {
    fn rid(&self) -> &str {
        &self.rid
    }

    fn type_name(&self) -> String {
        "sync.dds".to_string()
    }

    fn label(&self, ctx: &Ctx) -> String {
        self.sync_label(ctx, "dds")
    }

    /// The state file decides, as OpenSVC's dds (`dds state file not found`, too old). A
    /// missing volume is `down` only while its group is active (`/dev/<vg>` exists): a stopped
    /// service deactivates its group and the seed still shows its sync `up` then. A mark of a
    /// cut merge is `warn`.
    fn probe(&self, ctx: &Ctx) -> Probe {
        let node = &ctx.env.nodename;
        if let Some(dev) = self.local_device(ctx) {
            if !ctx.env.path(&dev).exists() {
                let vg_active = match vg_of_device(&dev) {
                    Some(vg) => ctx.env.path(format!("/dev/{vg}")).is_dir(),
                    None => true,
                };
                if vg_active {
                    return Probe::down(format!("device {dev} not found on {node}"));
                }
            }
        }
        match marker::read_marker(ctx.env, ctx.svc, &self.rid) {
            Ok(Some(cut)) => {
                return Probe::warn(format!(
                    "replica inconsistent: {}; run syncfullsync",
                    cut.describe()
                ))
            }
            Ok(None) => {}
            Err(e) => return Probe::warn(format!("{e:#}")),
        }
        probe_state(ctx, &self.rid, "dds")
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

impl DataSync for SyncDds {
    fn sync_to(&self, ctx: &Ctx, mode: SyncMode, target: &dyn Transport) -> Result<()> {
        send::sync_to(&self.rid, ctx, mode, target)
    }

    fn rid_for_state(&self) -> &str {
        &self.rid
    }
}

#[cfg(test)]
mod tests;
