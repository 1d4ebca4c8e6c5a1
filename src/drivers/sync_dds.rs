//! `sync` type=dds (the seed's LVM snapshot-delta replication). This version looks only: the
//! state file decides the status; the transfers come with the LVM issue (#6), and asking for one
//! says so.

use color_eyre::eyre::Result;

use super::sync_state::probe_state;
use super::{not_yet, Ctx, DataSync, Probe, Resource, SyncMode};
use crate::transport::Transport;

/// A sync type whose transfer is not implemented yet: its status still comes from its state file.
pub struct NotYet {
    rid: String,
    kind: &'static str,
}

impl NotYet {
    /// A placeholder driver for section `rid` of sync type `kind`.
    pub fn new(rid: &str, kind: &'static str) -> Self {
        Self {
            rid: rid.to_string(),
            kind,
        }
    }

    fn issue(&self) -> &'static str {
        "the LVM issue (#6)"
    }
}

impl Resource for NotYet {
    fn rid(&self) -> &str {
        &self.rid
    }

    fn type_name(&self) -> String {
        format!("sync.{}", self.kind)
    }

    fn label(&self, ctx: &Ctx) -> String {
        self.sync_label(ctx, self.kind)
    }

    fn probe(&self, ctx: &Ctx) -> Probe {
        probe_state(ctx, &self.rid, self.kind)
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

impl DataSync for NotYet {
    fn sync_to(&self, _ctx: &Ctx, _mode: SyncMode, _target: &dyn Transport) -> Result<()> {
        Err(not_yet(
            &self.rid,
            &format!("{} replication", self.kind),
            self.issue(),
        ))
    }

    fn rid_for_state(&self) -> &str {
        &self.rid
    }
}
