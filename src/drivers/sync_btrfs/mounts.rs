//! Which btrfs subvolumes are mounted where, from `/proc/self/mountinfo`: the top-level mount a
//! previous run left behind, and whether the live subvolume is in use (then a promotion must
//! never touch it).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// One line of mountinfo: the subvolume path inside the volume (`root`), where it is mounted,
/// its type and its source device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The path inside the filesystem that is mounted (`/root` for `subvol=root`).
    pub root: String,
    /// Where.
    pub mount_point: PathBuf,
    /// Filesystem type.
    pub fstype: String,
    /// Source device.
    pub source: String,
}

/// Decodes mountinfo's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            if let Some(n) = std::str::from_utf8(&b[i + 1..i + 4])
                .ok()
                .and_then(|d| u8::from_str_radix(d, 8).ok())
            {
                out.push(n);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses the text of `/proc/self/mountinfo`.
pub fn parse(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let mut pre = pre.split(' ');
            let root = pre.nth(3)?;
            let mount_point = pre.next()?;
            let mut post = post.split(' ');
            Some(Mount {
                root: unescape(root),
                mount_point: PathBuf::from(unescape(mount_point)),
                fstype: post.next()?.to_string(),
                source: unescape(post.next()?),
            })
        })
        .collect()
}

/// The mount table of this process.
pub fn current() -> Vec<Mount> {
    parse(&std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default())
}

/// Whether two paths name the same block device (same device number, else same file).
pub fn same_device(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(ma), Ok(mb)) if ma.rdev() != 0 => ma.rdev() == mb.rdev(),
        _ => {
            let c = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
            c(a) == c(b)
        }
    }
}

/// Where subvolume `subvol` (or something inside it) of device `dev` is mounted.
pub fn subvol_mounts(table: &[Mount], dev: &Path, subvol: &str) -> Vec<PathBuf> {
    let top = format!("/{subvol}");
    table
        .iter()
        .filter(|m| m.fstype == "btrfs")
        .filter(|m| m.root == top || m.root.starts_with(&format!("{top}/")))
        .filter(|m| same_device(Path::new(&m.source), dev))
        .map(|m| m.mount_point.clone())
        .collect()
}

/// The mount at `point`, if any (the last one wins, as the kernel stacks them).
pub fn mounted_at<'a>(table: &'a [Mount], point: &Path) -> Option<&'a Mount> {
    table.iter().rev().find(|m| m.mount_point == point)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "\
43 27 0:39 / /var/lib/drpilot/svc/btrfs/sync#1/top rw,relatime - btrfs /dev/loop0 rw,subvolid=5,subvol=/
44 27 0:39 /root /srv/my\\040data rw,relatime shared:9 - btrfs /dev/loop0 rw,subvolid=256,subvol=/root
45 27 0:39 /rootfs /srv/other rw,relatime - btrfs /dev/loop0 rw,subvolid=257,subvol=/rootfs
46 27 8:1 / /boot rw - ext4 /dev/sda1 rw
";

    #[test]
    fn parses_roots_and_escaped_mount_points() {
        let t = parse(TABLE);
        assert_eq!(t.len(), 4);
        assert_eq!(t[1].root, "/root");
        assert_eq!(t[1].mount_point, PathBuf::from("/srv/my data"));
        assert_eq!(t[1].source, "/dev/loop0");
        assert_eq!(t[3].fstype, "ext4");
        let top = Path::new("/var/lib/drpilot/svc/btrfs/sync#1/top");
        assert_eq!(mounted_at(&t, top).map(|m| m.root.as_str()), Some("/"));
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
