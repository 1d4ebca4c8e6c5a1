//! Mounts of a device in other mount namespaces (a container, a service with private mounts,
//! a namespace copied while the fs was mounted here): invisible in our mount table, they keep
//! the device in use after our own umount, and e2fsck then refuses it. Found through
//! `/proc/PID/ns/mnt` and `/proc/PID/mountinfo`, one process named per namespace.

use std::path::{Path, PathBuf};

use super::holders::{comm_of, pids};
use super::mountinfo;

/// How many namespaces a message names before "and N more".
const NAMED: usize = 10;

/// The device mounted in another mount namespace: a container, a service with private mounts,
/// or a namespace copied while it was mounted here. It keeps the device in use after our own
/// umount (e2fsck then refuses it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NamespaceMount {
    /// A process of that namespace.
    pub pid: i32,
    /// Its command name.
    pub comm: String,
    /// Where the device is mounted in that namespace.
    pub mount_point: PathBuf,
}

/// The mount namespaces other than ours (`proc_root/self`) where a source `is_dev` is mounted,
/// one process named per namespace.
pub(crate) fn in_other_namespaces(
    proc_root: &Path,
    is_dev: impl Fn(&str) -> bool,
) -> Vec<NamespaceMount> {
    let ns = |p: &Path| std::fs::read_link(p.join("ns/mnt")).ok();
    let mut seen = vec![ns(&proc_root.join("self"))];
    let mut out = Vec::new();
    for pid in pids(proc_root) {
        let pdir = proc_root.join(pid.to_string());
        let id = ns(&pdir);
        if id.is_none() || seen.contains(&id) {
            continue;
        }
        seen.push(id);
        let Ok(text) = std::fs::read_to_string(pdir.join("mountinfo")) else {
            continue;
        };
        if let Some(e) = mountinfo::parse(&text)
            .into_iter()
            .find(|e| is_dev(&e.source))
        {
            out.push(NamespaceMount {
                pid,
                comm: comm_of(&pdir),
                mount_point: e.mount_point,
            });
        }
    }
    out
}

/// `pid 7 (dockerd) at /srv/data, pid 9 (sshd) at /data and 2 more`.
pub(crate) fn describe_namespaces(found: &[NamespaceMount]) -> String {
    let mut s = found
        .iter()
        .take(NAMED)
        .map(|m| format!("pid {} ({}) at {}", m.pid, m.comm, m.mount_point.display()))
        .collect::<Vec<_>>()
        .join(", ");
    if found.len() > NAMED {
        s.push_str(&format!(" and {} more", found.len() - NAMED));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn mounts_in_other_namespaces_are_found_once_per_namespace() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path();
        let ns = |dir: &str, id: &str, mountinfo: &str| {
            let d = p.join(dir);
            std::fs::create_dir_all(d.join("ns")).unwrap();
            symlink(format!("mnt:[{id}]"), d.join("ns/mnt")).unwrap();
            std::fs::write(d.join("mountinfo"), mountinfo).unwrap();
            std::fs::write(d.join("comm"), format!("p{dir}\n")).unwrap();
        };
        let ours = "1 0 7:0 / /srv/e rw - ext4 /dev/loop0 rw\n";
        let copy = "101 58 7:0 / /tmp/x/srv/e rw,relatime - ext4 /dev/loop0 rw\n";
        let other = "5 1 8:1 / / rw - ext4 /dev/sda1 rw\n";
        ns("self", "1", ours);
        ns("10", "1", ours);
        ns("20", "2", copy);
        ns("21", "2", copy);
        ns("30", "3", other);
        std::fs::create_dir_all(p.join("40")).unwrap(); // a kernel thread: no ns link readable
        let found = in_other_namespaces(p, |s| s == "/dev/loop0");
        assert_eq!(
            found,
            vec![NamespaceMount {
                pid: 20,
                comm: "p20".into(),
                mount_point: PathBuf::from("/tmp/x/srv/e"),
            }]
        );
        assert_eq!(describe_namespaces(&found), "pid 20 (p20) at /tmp/x/srv/e");
        assert!(in_other_namespaces(p, |s| s == "/dev/loop9").is_empty());
    }
}
