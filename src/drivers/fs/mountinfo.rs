//! The kernel's mount table, `/proc/self/mountinfo`: which device is mounted where, which part
//! of it (the "root" field: a btrfs subvolume, a bind-mounted directory), and which mounts sit
//! inside another one. Every status and every action of the `fs` driver starts from it.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, WrapErr};

/// Where the kernel publishes this process's mount table.
const MOUNTINFO: &str = "/proc/self/mountinfo";

/// A watch on this process's mount table: the kernel flags the open mountinfo file (POLLPRI)
/// when a mount comes or goes, so a wait for a mount to be released sleeps on that instead of
/// looking again on a timer.
pub(crate) struct MountWatch {
    file: std::fs::File,
}

impl MountWatch {
    /// Starts watching: changes after this call wake [`MountWatch::wait`].
    pub fn open() -> Result<Self> {
        use std::io::Read;
        let mut file = std::fs::File::open(MOUNTINFO).wrap_err("opening the mount table")?;
        // Reading it once marks the table as seen; only later changes raise POLLPRI.
        let mut sink = Vec::new();
        file.read_to_end(&mut sink)
            .wrap_err("reading the mount table")?;
        Ok(Self { file })
    }

    /// Sleeps until the mount table changes or `limit` passes; true on a change.
    pub fn wait(&mut self, limit: std::time::Duration) -> bool {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        let started = std::time::Instant::now();
        let timeout = Timespec::try_from(limit).ok();
        let mut fds = [PollFd::new(&self.file, PollFlags::PRI)];
        let changed = matches!(poll(&mut fds, timeout.as_ref()), Ok(n) if n > 0);
        if changed {
            // Re-arm: the next wait reports only newer changes.
            use std::io::{Read, Seek};
            let mut sink = Vec::new();
            let _ = self.file.rewind();
            let _ = self.file.read_to_end(&mut sink);
        }
        crate::transport::child_time::account(started.elapsed());
        changed
    }
}

/// One line of mountinfo: what is mounted where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MountEntry {
    /// The mount's id (1st field).
    pub id: u64,
    /// The id of the mount it sits on (2nd field).
    pub parent: u64,
    /// The directory of the filesystem that is mounted (4th field): `/` for a whole filesystem,
    /// `/root` for the btrfs subvolume `root`.
    pub root: PathBuf,
    /// Where it is mounted (5th field).
    pub mount_point: PathBuf,
    /// The filesystem type (after the ` - ` separator).
    pub fstype: String,
    /// The mount source, usually a device path.
    pub source: String,
}

/// Decodes the octal escapes mountinfo uses for space, tab, newline and backslash (`\040`).
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

/// Parses the text of a mountinfo file; malformed lines are skipped.
pub(crate) fn parse(text: &str) -> Vec<MountEntry> {
    text.lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let mut pre = pre.split(' ');
            let id = pre.next()?.parse().ok()?;
            let parent = pre.next()?.parse().ok()?;
            let _major_minor = pre.next()?;
            let root = pre.next()?;
            let mount_point = pre.next()?;
            let mut post = post.split(' ');
            let fstype = post.next()?;
            let source = post.next()?;
            Some(MountEntry {
                id,
                parent,
                root: PathBuf::from(unescape(root)),
                mount_point: PathBuf::from(unescape(mount_point)),
                fstype: unescape(fstype),
                source: unescape(source),
            })
        })
        .collect()
}

/// Reads and parses this process's mount table.
pub(crate) fn read() -> Result<Vec<MountEntry>> {
    let text = std::fs::read_to_string(MOUNTINFO)
        .wrap_err_with(|| format!("reading the mount table {MOUNTINFO}"))?;
    Ok(parse(&text))
}

/// The mount visible at `mnt`: the last one mounted there (a later mount hides earlier ones).
pub(crate) fn visible_at<'a>(entries: &'a [MountEntry], mnt: &Path) -> Option<&'a MountEntry> {
    entries.iter().rev().find(|e| e.mount_point == mnt)
}

/// Mounts sitting inside `top`, at any depth (they keep it busy: they go first).
pub(crate) fn inside<'a>(entries: &'a [MountEntry], top: &MountEntry) -> Vec<&'a MountEntry> {
    let mut ids = vec![top.id];
    let mut out: Vec<&MountEntry> = Vec::new();
    while let Some(id) = ids.pop() {
        for e in entries.iter().filter(|e| e.parent == id && e.id != id) {
            if !out.iter().any(|o| o.id == e.id) {
                out.push(e);
                ids.push(e.id);
            }
        }
    }
    out
}

/// The subvolume asked for in mount options (`rw,subvol=appdata`), as mountinfo's root field
/// shows it (`/appdata`).
pub(crate) fn subvol_of(opts: &str) -> Option<PathBuf> {
    let v = opts
        .split(',')
        .filter_map(|o| o.trim().strip_prefix("subvol="))
        .next_back()?;
    Some(normalize_root(v))
}

/// `appdata`, `/appdata/` and `/appdata` are the same subvolume.
fn normalize_root(v: &str) -> PathBuf {
    let trimmed = v.trim_matches('/');
    PathBuf::from(format!("/{trimmed}"))
}

/// Whether a mount's root field is the subvolume `want`.
pub(crate) fn root_is(entry: &MountEntry, want: &Path) -> bool {
    normalize_root(&entry.root.to_string_lossy()) == want
}

/// Whether a mount source names the device `dev` (through symlinks: `/dev/mapper/x` and
/// `/dev/dm-3` are one device; `<root>/dev/loop3` links to `/dev/loop3`).
pub(crate) fn same_device(source: &str, dev: &Path) -> bool {
    let rdev = |p: &Path| {
        std::fs::metadata(p)
            .ok()
            .filter(|m| m.file_type().is_block_device())
            .map(|m| m.rdev())
    };
    if let (Some(a), Some(b)) = (rdev(Path::new(source)), rdev(dev)) {
        return a == b;
    }
    let ca = std::fs::canonicalize(source).unwrap_or_else(|_| PathBuf::from(source));
    let cb = std::fs::canonicalize(dev).unwrap_or_else(|_| dev.to_path_buf());
    ca == cb
}

/// How the mount point of a resource looks in the mount table.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found<'a> {
    /// The device is mounted there (the right subvolume, when one is asked for).
    Ours(&'a MountEntry),
    /// The device is mounted there, but another subvolume of it.
    WrongSubvol(&'a MountEntry),
    /// Something else is mounted there.
    Foreign(&'a MountEntry),
    /// Nothing is mounted there.
    NotMounted,
}

/// Looks up `mnt` in `entries`; `is_dev` says whether a source is the configured device.
pub(crate) fn find<'a>(
    entries: &'a [MountEntry],
    mnt: &Path,
    subvol: Option<&Path>,
    is_dev: impl Fn(&str) -> bool,
) -> Found<'a> {
    match visible_at(entries, mnt) {
        None => Found::NotMounted,
        Some(e) if !is_dev(&e.source) => Found::Foreign(e),
        Some(e) if subvol.is_some_and(|s| !root_is(e, s)) => Found::WrongSubvol(e),
        Some(e) => Found::Ours(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "\
22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
36 22 98:0 / /mnt/my\\040disk rw,noatime master:1 - ext4 /dev/vda2 rw
37 22 98:1 / /opt/busybox rw shared:2 - ext4 /dev/mapper/vg-lv rw,errors=remount-ro
40 22 0:45 /root /opt/x rw,relatime shared:3 - btrfs /dev/loop3 rw,subvolid=256,subvol=/root
41 40 0:45 /appdata /opt/x/appdata rw,relatime shared:4 - btrfs /dev/loop3 rw,subvolid=257,subvol=/appdata
42 41 0:46 / /opt/x/appdata/tmp rw - tmpfs tmpfs rw
43 22 0:47 /dir\\040with\\134slash /srv/b\\011ind rw - ext4 /dev/vda3 rw
bad line without separator
";

    #[test]
    fn parses_every_field_with_escapes() {
        let e = parse(TABLE);
        assert_eq!(e.len(), 7, "the malformed line is skipped");
        assert_eq!(e[1].mount_point, PathBuf::from("/mnt/my disk"));
        assert_eq!(e[2].source, "/dev/mapper/vg-lv");
        assert_eq!(e[2].fstype, "ext4");
        assert_eq!((e[3].id, e[3].parent), (40, 22));
        assert_eq!(e[3].root, PathBuf::from("/root"));
        assert_eq!(e[4].root, PathBuf::from("/appdata"));
        assert_eq!(e[6].root, PathBuf::from("/dir with\\slash"));
        assert_eq!(e[6].mount_point, PathBuf::from("/srv/b\tind"));
    }

    #[test]
    fn optional_fields_may_be_absent_or_many() {
        let e = parse("50 22 0:1 / /a rw - tmpfs none rw\n51 22 0:1 / /b rw shared:1 master:2 propagate_from:3 - xfs /dev/sdb rw\n");
        assert_eq!(e[0].source, "none");
        assert_eq!(e[1].fstype, "xfs");
        assert_eq!(e[1].mount_point, PathBuf::from("/b"));
    }

    #[test]
    fn subvolumes_of_one_device_are_told_apart_by_their_root() {
        let e = parse(TABLE);
        let is_loop3 = |s: &str| s == "/dev/loop3";
        let root = PathBuf::from("/root");
        let appdata = PathBuf::from("/appdata");
        assert!(matches!(
            find(&e, Path::new("/opt/x"), Some(&root), is_loop3),
            Found::Ours(m) if m.id == 40
        ));
        assert!(matches!(
            find(&e, Path::new("/opt/x/appdata"), Some(&appdata), is_loop3),
            Found::Ours(m) if m.id == 41
        ));
        assert!(matches!(
            find(&e, Path::new("/opt/x"), Some(&appdata), is_loop3),
            Found::WrongSubvol(m) if m.root == root
        ));
        // No subvol asked: any part of the device will do.
        assert!(matches!(
            find(&e, Path::new("/opt/x"), None, is_loop3),
            Found::Ours(_)
        ));
        assert!(matches!(
            find(&e, Path::new("/opt/busybox"), None, is_loop3),
            Found::Foreign(m) if m.source == "/dev/mapper/vg-lv"
        ));
        assert_eq!(
            find(&e, Path::new("/opt/none"), None, is_loop3),
            Found::NotMounted
        );
    }

    #[test]
    fn the_last_mount_on_a_point_is_the_visible_one() {
        let e = parse("1 0 0:1 / / rw - ext4 /dev/a rw\n2 1 0:2 / /m rw - ext4 /dev/b rw\n3 1 0:3 / /m rw - ext4 /dev/c rw\n");
        assert_eq!(
            visible_at(&e, Path::new("/m")).map(|m| m.source.as_str()),
            Some("/dev/c")
        );
    }

    #[test]
    fn mounts_inside_are_found_at_any_depth() {
        let e = parse(TABLE);
        let top = visible_at(&e, Path::new("/opt/x")).unwrap();
        let inner: Vec<u64> = inside(&e, top).iter().map(|m| m.id).collect();
        assert_eq!(inner, vec![41, 42]);
        let leaf = visible_at(&e, Path::new("/opt/x/appdata/tmp")).unwrap();
        assert!(inside(&e, leaf).is_empty());
    }

    #[test]
    fn subvol_option_is_normalised_like_the_root_field() {
        assert_eq!(subvol_of("rw,subvol=root"), Some(PathBuf::from("/root")));
        assert_eq!(
            subvol_of("subvol=/data/app/"),
            Some(PathBuf::from("/data/app"))
        );
        assert_eq!(subvol_of("subvol=/"), Some(PathBuf::from("/")));
        assert_eq!(subvol_of("rw,noatime"), None);
        assert_eq!(subvol_of("subvolid=256"), None);
    }

    #[test]
    fn same_device_falls_back_to_paths_for_non_devices() {
        assert!(same_device("tmpfs", Path::new("tmpfs")));
        assert!(!same_device("/nonexistent/a", Path::new("/nonexistent/b")));
    }
}
