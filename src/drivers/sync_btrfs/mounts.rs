//! Which btrfs subvolumes are mounted where: the top-level mount a previous run left behind, and
//! whether the live subvolume is in use (then a promotion must never touch it). The mount table
//! itself is read by the fs driver's parser.

use std::path::{Path, PathBuf};

pub(crate) use crate::drivers::fs::mountinfo::{
    read as current, same_device, visible_at as mounted_at, MountEntry as Mount,
};

/// Where subvolume `subvol` (or something inside it) of device `dev` is mounted.
pub(crate) fn subvol_mounts(table: &[Mount], dev: &Path, subvol: &str) -> Vec<PathBuf> {
    let top = Path::new("/").join(subvol);
    table
        .iter()
        .filter(|m| m.fstype == "btrfs")
        // Component-wise: `/rootfs` is not inside `/root`.
        .filter(|m| m.root.starts_with(&top))
        .filter(|m| same_device(&m.source, dev))
        .map(|m| m.mount_point.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::fs::mountinfo::parse;

    const TABLE: &str = "\
43 27 0:39 / /var/lib/drpilot/svc/btrfs/sync#1/top rw,relatime - btrfs /dev/loop0 rw,subvolid=5,subvol=/
44 27 0:39 /root /srv/my\\040data rw,relatime shared:9 - btrfs /dev/loop0 rw,subvolid=256,subvol=/root
45 27 0:39 /rootfs /srv/other rw,relatime - btrfs /dev/loop0 rw,subvolid=257,subvol=/rootfs
46 27 8:1 / /boot rw - ext4 /dev/sda1 rw
";

    #[test]
    fn finds_the_top_mount() {
        let t = parse(TABLE);
        let top = Path::new("/var/lib/drpilot/svc/btrfs/sync#1/top");
        assert_eq!(
            mounted_at(&t, top).map(|m| m.root.clone()),
            Some(PathBuf::from("/"))
        );
    }

    #[test]
    fn finds_where_the_live_subvolume_is_mounted() {
        let t = parse(TABLE);
        // Not a real device here: the paths compare as files.
        let m = subvol_mounts(&t, Path::new("/dev/loop0"), "root");
        assert_eq!(m, vec![PathBuf::from("/srv/my data")]);
        assert!(subvol_mounts(&t, Path::new("/dev/loop9"), "root").is_empty());
        assert!(subvol_mounts(&t, Path::new("/dev/loop0"), "appdata").is_empty());
    }
}
