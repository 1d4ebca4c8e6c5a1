//! `fs` on a block device (ext2/3/4, xfs, btrfs). This version looks only (mount and umount come
//! with the testbed issue): the status comes from the kernel's mount table.

use std::path::{Path, PathBuf};

use color_eyre::eyre::Result;

use super::{not_yet, Ctx, Probe, Resource};

/// The block-device filesystem driver.
pub struct FsMount {
    rid: String,
    fstype: String,
}

impl FsMount {
    /// A driver for section `rid` of filesystem type `fstype`.
    pub fn new(rid: &str, fstype: &str) -> Self {
        Self {
            rid: rid.to_string(),
            fstype: fstype.to_string(),
        }
    }
}

/// One line of /proc/self/mountinfo: what is mounted where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MountEntry {
    pub source: String,
    pub mount_point: PathBuf,
    pub fstype: String,
}

fn unescape(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            let code = std::str::from_utf8(&b[i + 1..i + 4])
                .ok()
                .and_then(|d| u8::from_str_radix(d, 8).ok());
            if let Some(n) = code {
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

/// Parses the text of /proc/self/mountinfo.
pub(crate) fn parse_mountinfo(text: &str) -> Vec<MountEntry> {
    text.lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let mount_point = pre.split(' ').nth(4)?;
            let mut post = post.split(' ');
            let fstype = post.next()?;
            let source = post.next()?;
            Some(MountEntry {
                source: unescape(source),
                mount_point: PathBuf::from(unescape(mount_point)),
                fstype: fstype.to_string(),
            })
        })
        .collect()
}

fn same_device(a: &str, b: &Path) -> bool {
    let ca = std::fs::canonicalize(a).unwrap_or_else(|_| PathBuf::from(a));
    let cb = std::fs::canonicalize(b).unwrap_or_else(|_| b.to_path_buf());
    ca == cb
}

impl Resource for FsMount {
    fn rid(&self) -> &str {
        &self.rid
    }

    fn type_name(&self) -> String {
        format!("fs.{}", self.fstype)
    }

    fn label(&self, ctx: &Ctx) -> String {
        ctx.at_label(&self.rid, "dev", "mnt")
    }

    fn probe(&self, ctx: &Ctx) -> Probe {
        let Some((dev, mnt)) = ctx.pair(&self.rid, "dev", "mnt") else {
            return Probe::down("dev or mnt has no value for this node");
        };
        let dev_path = ctx.env.path(&dev);
        let mnt_path = ctx.env.path(&mnt);
        let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let entries = parse_mountinfo(&table);
        match entries.iter().rev().find(|e| e.mount_point == mnt_path) {
            Some(e) if same_device(&e.source, &dev_path) => Probe::up(),
            Some(e) => Probe::warn(format!(
                "{mnt} is mounted from {}, expected {dev}",
                e.source
            )),
            None if !dev_path.exists() => Probe::down(format!("device {dev} not found")),
            None => Probe::down(format!("{dev} is not mounted on {mnt}")),
        }
    }

    fn start(&self, _ctx: &Ctx) -> Result<()> {
        Err(not_yet(
            &self.rid,
            "mounting a block device",
            "the testbed issue (#5)",
        ))
    }

    fn stop(&self, _ctx: &Ctx) -> Result<()> {
        Err(not_yet(
            &self.rid,
            "unmounting a block device",
            "the testbed issue (#5)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mountinfo_with_escapes() {
        let text = "36 35 98:0 / /mnt/my\\040disk rw,noatime master:1 - ext4 /dev/vda1 rw\n\
                    37 35 98:0 / /opt/busybox rw shared:2 - ext4 /dev/mapper/vg-lv rw,errors=remount-ro\n";
        let e = parse_mountinfo(text);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].mount_point, PathBuf::from("/mnt/my disk"));
        assert_eq!(e[1].source, "/dev/mapper/vg-lv");
        assert_eq!(e[1].fstype, "ext4");
    }
}
