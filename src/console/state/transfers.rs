//! The transfers of the manual sync run from this console: each sync resource's last progress
//! (bytes, rate, ETA), drawn as the runbook's bar instead of raw `progress bytes=…` log lines.

use crate::protocol::log::SyncProgress;

/// One sync resource's transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// The node sending.
    pub node: String,
    /// The sync resource id.
    pub rid: String,
    /// Its last progress.
    pub progress: SyncProgress,
}

/// The transfers of the last manual sync (kept after its end, so its outcome stays readable).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transfers {
    /// In the order they started.
    pub items: Vec<Transfer>,
}

impl Transfers {
    /// Records a progress report, replacing the resource's previous one.
    pub fn update(&mut self, node: &str, rid: &str, progress: SyncProgress) {
        match self
            .items
            .iter_mut()
            .find(|t| t.node == node && t.rid == rid)
        {
            Some(t) => t.progress = progress,
            None => self.items.push(Transfer {
                node: node.to_string(),
                rid: rid.to_string(),
                progress,
            }),
        }
    }

    /// A new action starts: the previous bars go.
    pub fn clear(&mut self) {
        self.items.clear();
    }
}
