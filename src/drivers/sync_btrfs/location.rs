//! The names of the snapshots a btrfs sync keeps beside its subvolume (`DEV:SUBVOL`, parsed by
//! the config). Names end up in paths and command lines, so they are checked here once, strictly.

/// The directory, at the volume's top level, holding the snapshots.
pub const SNAP_DIR: &str = ".drpilot-snap";
/// The directory, inside [`SNAP_DIR`], where incoming streams land until they are complete.
pub const INCOMING_DIR: &str = ".incoming";
/// The id prefix of a live subvolume moved aside by a promotion.
pub const REPLACED_PREFIX: &str = "replaced-";

pub use crate::config::btrfs_volume::Location;
pub use crate::protocol::names::is_plain_name;

impl Location {
    /// The snapshot name of sync `id`: `SUBVOL@id`.
    pub fn snap_name(&self, id: &str) -> String {
        format!("{}@{id}", self.subvol)
    }

    /// The id of a snapshot of this subvolume named `name`, when it is one (moved-aside live
    /// subvolumes, `SUBVOL@replaced-...`, are not snapshots).
    pub fn snap_id<'a>(&self, name: &'a str) -> Option<&'a str> {
        let id = name.strip_prefix(&self.subvol)?.strip_prefix('@')?;
        (is_plain_name(id, false) && !id.starts_with(REPLACED_PREFIX)).then_some(id)
    }

    /// Whether `name` is a live subvolume of this one moved aside by a promotion.
    pub fn is_replaced(&self, name: &str) -> bool {
        name.strip_prefix(&self.subvol)
            .and_then(|r| r.strip_prefix('@'))
            .is_some_and(|id| id.starts_with(REPLACED_PREFIX) && is_plain_name(id, false))
    }

    /// The path of a snapshot relative to the top level, `.drpilot-snap/NAME`.
    pub fn snap_rel(name: &str) -> String {
        format!("{SNAP_DIR}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_names_round_trip() {
        let l = Location::parse("/dev/sdb:root").unwrap();
        let n = l.snap_name("0123abcd");
        assert_eq!(n, "root@0123abcd");
        assert_eq!(l.snap_id(&n), Some("0123abcd"));
        assert_eq!(l.snap_id("rootx@1"), None);
        assert_eq!(l.snap_id("appdata@1"), None);
        assert_eq!(l.snap_id("root@replaced-20260101T000000Z"), None);
        assert!(l.is_replaced("root@replaced-20260101T000000Z"));
        assert!(!l.is_replaced("root@0123abcd"));
    }
}
