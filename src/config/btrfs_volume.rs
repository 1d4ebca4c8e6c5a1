//! Where a btrfs sync reads or writes, `DEV:SUBVOL` (OpenSVC's `label:subvol`): a block device
//! and a subvolume at its top level. Config validation checks `src` and `dst` with it and the
//! btrfs driver works from it, so it lives with the config, below the drivers.

use color_eyre::eyre::{bail, eyre, Result};

use crate::protocol::names::is_plain_name;

/// A subvolume at the top level of a btrfs volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The block device, as the config writes it (`/dev/loop3`).
    pub dev: String,
    /// The subvolume's name at the volume's top level (`root`).
    pub subvol: String,
}

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
}
