//! Where a btrfs sync reads or writes: `DEV:SUBVOL` (OpenSVC's `label:subvol`), and the names of
//! the snapshots kept beside the subvolume. Names end up in paths and command lines, so they are
//! checked here once, strictly.

use color_eyre::eyre::{bail, eyre, Result};

/// The directory, at the volume's top level, holding the snapshots.
pub const SNAP_DIR: &str = ".drpilot-snap";
/// The directory, inside [`SNAP_DIR`], where incoming streams land until they are complete.
pub const INCOMING_DIR: &str = ".incoming";
/// The id prefix of a live subvolume moved aside by a promotion.
pub const REPLACED_PREFIX: &str = "replaced-";

/// A subvolume at the top level of a btrfs volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The block device, as the config writes it (`/dev/loop3`).
    pub dev: String,
    /// The subvolume's name at the volume's top level (`root`).
    pub subvol: String,
}

pub use crate::protocol::names::is_plain_name;

impl Location {
    /// Parses `DEV:SUBVOL`; the device may itself hold colons (`/dev/disk/by-path/pci-0000:00:1f.2`),
    /// so the subvolume is what follows the last one.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let (dev, subvol) = text.rsplit_once(':').ok_or_else(|| {
            eyre!("'{text}' is not DEV:SUBVOL (a block device and a subvolume name, /dev/sdb:root)")
        })?;
        if !dev.starts_with('/') {
            bail!("'{text}': the device '{dev}' is not an absolute path");
        }
        if !is_plain_name(subvol, false) {
            bail!(
                "'{text}': the subvolume '{subvol}' must be a name at the volume's top level \
                 (letters, digits, '.', '_', '+', '-'; no '/', no leading '.')"
            );
        }
        Ok(Self {
            dev: dev.to_string(),
            subvol: subvol.to_string(),
        })
    }

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

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.dev, self.subvol)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dev_and_subvol() {
        let l = Location::parse("/dev/loop3:root").unwrap();
        assert_eq!(l.dev, "/dev/loop3");
        assert_eq!(l.subvol, "root");
        assert_eq!(l.to_string(), "/dev/loop3:root");
        let l = Location::parse("/dev/disk/by-path/pci-0000:00:1f.2:appdata").unwrap();
        assert_eq!(l.dev, "/dev/disk/by-path/pci-0000:00:1f.2");
        assert_eq!(l.subvol, "appdata");
    }

    #[test]
    fn rejects_what_would_escape_the_top_level() {
        for bad in [
            "/dev/loop3",
            "loop3:root",
            "/dev/loop3:",
            "/dev/loop3:a/b",
            "/dev/loop3:..",
            "/dev/loop3:.drpilot-snap",
            "/dev/loop3:a@b",
            "/dev/loop3:a b",
        ] {
            assert!(Location::parse(bad).is_err(), "{bad}");
        }
    }

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
