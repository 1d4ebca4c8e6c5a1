//! Where a config may point drpilot: the paths of `src`, `dst`, `mnt` and `dev` are replaced,
//! emptied, mounted over or written whole by the drivers, so a slip (`dst = /`, `/../victim`,
//! `/etc`) must not load. A path is normalised (`//` and `.` dropped) and must be absolute,
//! without `..`, not `/` and not a system directory ([`SYSTEM_DIRS`]). The receiving node of a
//! sync uses [`normalise`] to compare what a sender asks for with its own config.

use super::btrfs_volume::Location;
use super::diagnostic::Diagnostic;
use super::service::ServiceConfig;

/// What a system directory protects beneath itself (the directory itself is always refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Beneath {
    /// Everything beneath is the system's: refused.
    Refused,
    /// Only devices (`dev`, dds and btrfs volumes), such as `/dev/mapper/vg-lv`, `/dev/loop0`.
    Devices,
    /// Application data lives beneath (`/var/lib/app`): allowed.
    Allowed,
}

/// The system directories, one table: a path equal to one of them is refused, and a path
/// beneath one is judged by its [`Beneath`]. Entries are checked in order; the first directory
/// that holds the path decides (so `/var/lib/drpilot` comes before `/var/lib` and `/var`).
pub const SYSTEM_DIRS: &[(&str, Beneath)] = &[
    ("/etc", Beneath::Refused),
    ("/usr", Beneath::Refused),
    ("/boot", Beneath::Refused),
    ("/proc", Beneath::Refused),
    ("/sys", Beneath::Refused),
    ("/bin", Beneath::Refused),
    ("/sbin", Beneath::Refused),
    ("/lib", Beneath::Refused),
    ("/lib32", Beneath::Refused),
    ("/lib64", Beneath::Refused),
    // drpilot's own state: locks, sync state files, action logs.
    ("/var/lib/drpilot", Beneath::Refused),
    ("/dev", Beneath::Devices),
    ("/var/lib", Beneath::Allowed),
    ("/var/log", Beneath::Allowed),
    ("/var", Beneath::Allowed),
    ("/run", Beneath::Allowed),
];

/// What a path key names, which decides whether it may lie beneath `/dev`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRole {
    /// A directory (a `dir` sync's copy, a mount point): never beneath `/dev`.
    Dir,
    /// A device or, for `fs` type=directory, a directory (`fs` `dev`, a btrfs volume's DEV).
    DeviceOrDir,
    /// A device beneath `/dev` and nothing else (a dds volume).
    Device,
}

/// Normalises an absolute path (drops empty and `.` components and a trailing `/`) and refuses
/// what is not absolute, holds `..` or a control character, or is `/` itself.
pub fn normalise(value: &str) -> Result<String, String> {
    if value.chars().any(char::is_control) {
        return Err(format!(
            "'{}' contains a control character",
            value.escape_debug()
        ));
    }
    if !value.starts_with('/') {
        return Err(format!("'{value}' is not an absolute path"));
    }
    let parts: Vec<&str> = value
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    if parts.contains(&"..") {
        return Err(format!(
            "'{value}' contains '..': write the path without it"
        ));
    }
    if parts.is_empty() {
        return Err(format!(
            "'{value}' is the root directory: it would replace or hide the whole system"
        ));
    }
    Ok(format!("/{}", parts.join("/")))
}

/// Checks a path for a key of `role`; returns the normalised path.
pub fn check_path(value: &str, role: PathRole) -> Result<String, String> {
    let norm = normalise(value)?;
    let shown = if norm == value {
        format!("'{value}'")
    } else {
        format!("'{value}' ({norm})")
    };
    for (dir, beneath) in SYSTEM_DIRS {
        if norm == *dir {
            return Err(format!("{shown} is the system directory {dir}"));
        }
        let inside = norm
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'));
        if !inside {
            continue;
        }
        match (beneath, role) {
            (Beneath::Refused, _) => {
                return Err(format!("{shown} is beneath the system directory {dir}"))
            }
            (Beneath::Devices, PathRole::Dir) => {
                return Err(format!(
                "{shown} is beneath {dir}, where only devices belong: this key names a directory"
            ))
            }
            _ => break,
        }
    }
    if role == PathRole::Device && !norm.starts_with("/dev/") {
        return Err(format!(
            "{shown} is not a device under /dev (a dds volume is, /dev/mapper/VG-LV)"
        ));
    }
    Ok(norm)
}

/// Checks a btrfs volume, `DEV:SUBVOL`; returns it with DEV normalised.
pub fn check_btrfs_volume(value: &str) -> Result<Location, String> {
    let loc = Location::parse(value).map_err(|e| format!("{e}"))?;
    let dev = check_path(&loc.dev, PathRole::DeviceOrDir)
        .map_err(|e| format!("'{value}': the device {e}"))?;
    Ok(Location { dev, ..loc })
}

/// How the value of `key` in a section of `kind` with `type` is checked; `None` for the keys
/// that are not paths.
fn rule(kind: &str, ty: &str, key: &str) -> Option<Rule> {
    match (kind, key, ty) {
        ("fs", "dev", _) => Some(Rule::Path(PathRole::DeviceOrDir)),
        ("fs", "mnt", _) => Some(Rule::Path(PathRole::Dir)),
        ("sync", "src" | "dst", "btrfs") => Some(Rule::BtrfsVolume),
        ("sync", "src" | "dst", "dds") => Some(Rule::Path(PathRole::Device)),
        ("sync", "src" | "dst", _) => Some(Rule::Path(PathRole::Dir)),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Path(PathRole),
    BtrfsVolume,
}

impl Rule {
    fn check(self, value: &str) -> Result<(), String> {
        match self {
            Rule::Path(role) => check_path(value, role).map(drop),
            Rule::BtrfsVolume => check_btrfs_volume(value).map(drop),
        }
    }
}

/// Reports every `src`, `dst`, `mnt` and `dev` value that some node of the service would use
/// (scoped spellings and DEFAULT fallbacks included) and that breaks the rules above, at the
/// line that wrote it.
pub(crate) fn check(cfg: &ServiceConfig, out: &mut Vec<Diagnostic>) {
    // A value reached from several nodes (a DEFAULT fallback, a plain key) is checked once.
    let mut seen: std::collections::HashSet<(usize, &str)> = std::collections::HashSet::new();
    for section in cfg.resource_sections() {
        let kind = section.name.split('#').next().unwrap_or_default();
        for node in cfg.all_nodes() {
            let ty = cfg.section_type(&section.name, &node).unwrap_or_default();
            for key in ["src", "dst", "mnt", "dev"] {
                let Some(rule) = rule(kind, &ty, key) else {
                    continue;
                };
                let Some(found) = cfg.get(&section.name, key, &node) else {
                    continue;
                };
                // Empty values are the required-keyword check's to report.
                if found.value.is_empty() || !seen.insert((found.line, key)) {
                    continue;
                }
                if let Err(message) = rule.check(found.value) {
                    let written = cfg
                        .raw
                        .section(found.section)
                        .and_then(|s| s.entries.iter().find(|e| e.line == found.line))
                        .map_or_else(|| key.to_string(), |e| e.written_key());
                    out.push(
                        Diagnostic::error(&cfg.raw.path, found.line, message)
                            .in_section(section.name.clone())
                            .for_key(written),
                    );
                }
            }
        }
    }
    // sync#i1's list: files to read on production, each an absolute path without `..`.
    for key in ["system_files", "system_files_add"] {
        for node in cfg.all_nodes() {
            let Some(found) = cfg.get("DEFAULT", key, &node) else {
                continue;
            };
            if found.section != "DEFAULT" || !seen.insert((found.line, key)) {
                continue;
            }
            for word in found.value.split_whitespace() {
                if let Err(message) = normalise(word) {
                    out.push(
                        Diagnostic::error(&cfg.raw.path, found.line, message)
                            .in_section("DEFAULT".to_string())
                            .for_key(key.to_string()),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn normalises_and_refuses_what_escapes() {
        assert_eq!(normalise("/srv//app/./data/"), Ok("/srv/app/data".into()));
        for bad in [
            "/",
            "//",
            "/./",
            "/../victim",
            "/srv/../etc",
            "srv/data",
            "",
            "/a\nb",
        ] {
            assert!(normalise(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn system_directories_follow_the_table() {
        let dir = |p: &str| check_path(p, PathRole::Dir);
        for bad in [
            "/etc",
            "/etc/",
            "/etc/app",
            "/usr/local/data",
            "/var",
            "/var/lib",
            "/var/log",
            "/boot",
            "/proc/1",
            "/sys",
            "/dev",
            "/dev/shm/x",
            "/var/lib/drpilot",
            "/var/lib/drpilot/x",
            "/lib64/x",
            "/run",
        ] {
            assert!(dir(bad).is_err(), "{bad}");
        }
        for good in [
            "/srv/app",
            "/var/lib/app",
            "/var/log/app",
            "/opt/busybox",
            "/mnt",
            "/etcetera",
        ] {
            assert_eq!(dir(good), Ok(good.to_string()));
        }
        let device = |p: &str| check_path(p, PathRole::Device);
        assert!(device("/dev/mapper/vg-lv").is_ok());
        assert!(device("/dev").is_err());
        assert!(device("/srv/lv").is_err());
        let either = |p: &str| check_path(p, PathRole::DeviceOrDir);
        assert!(either("/dev/loop0").is_ok() && either("/srv/busybox/data").is_ok());
        assert!(either("/dev").is_err() && either("/etc/x").is_err());
    }

    #[test]
    fn btrfs_volumes_check_both_halves() {
        assert_eq!(
            check_btrfs_volume("/dev//loop3:root").map(|l| l.to_string()),
            Ok("/dev/loop3:root".to_string())
        );
        for bad in [
            "/dev/loop3:..",
            "/etc/x:root",
            "/:root",
            "/dev/../x:root",
            "loop3:root",
        ] {
            assert!(check_btrfs_volume(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn config_load_reports_each_bad_path_at_its_line() {
        let text = "[DEFAULT]\nnodes = n1\ndrpnodes = d1\n\
                    [fs#1]\ntype = directory\ndev = /srv/data\nmnt = /etc\n\
                    [sync#1]\ntype = dir\nsrc = /srv/data\ndst@d1 = /../victim\ndst = /\ntarget = drpnodes\n\
                    [sync#2]\ntype = dds\nsrc = /dev/mapper/vg-lv\ndst = /srv/lv\ntarget = drpnodes\n";
        let Err(e) = ServiceConfig::parse(
            "svc",
            Path::new("svc.env"),
            text,
            crate::drivers::catalogue(),
        ) else {
            panic!("accepted")
        };
        let got: Vec<String> = e.diagnostics.iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            [
                "svc.env:7: [fs#1] mnt: '/etc' is the system directory /etc",
                "svc.env:11: [sync#1] dst@d1: '/../victim' contains '..': write the path without it",
                "svc.env:12: [sync#1] dst: '/' is the root directory: it would replace or hide the whole system",
                "svc.env:17: [sync#2] dst: '/srv/lv' is not a device under /dev (a dds volume is, /dev/mapper/VG-LV)",
            ]
        );
    }
}
