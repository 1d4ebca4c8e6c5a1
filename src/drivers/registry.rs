//! The driver table: for each resource kind, the keywords all its drivers read; for each driver,
//! the `type` values it serves, its constructor and the keywords only it reads. `build` picks
//! constructors here and config validation gets its keyword [`Catalogue`] from here, so a new
//! driver is one row (and its module), never a match arm plus a catalogue entry elsewhere.

use std::sync::OnceLock;

use super::{
    app, common, container_docker, fs, fs_directory, ip, sync_btrfs, sync_dds, sync_dir,
    sync_rsync, sync_state, vg, Resource,
};
use crate::config::{Catalogue, KeywordSpec, KindKeywords};

/// Makes a driver for resource `rid` of type `ty` (the `type` value, lowercase; empty for kinds
/// without one).
pub type Constructor = fn(rid: &str, ty: &str) -> Box<dyn Resource>;

/// What every driver of one resource kind shares.
struct Kind {
    /// The resource kind, as rids start (`fs`).
    kind: &'static str,
    /// The keywords every type of the kind reads (its `type` among them, if it has types).
    keywords: &'static [KeywordSpec],
    /// DEFAULT keywords the kind reads when its section leaves them out.
    defaults_read: &'static [&'static str],
}

/// One driver: the row `build` looks up by kind and `type`.
struct Driver {
    /// The resource kind it belongs to.
    kind: &'static str,
    /// The `type` values it serves; empty for a kind that takes no `type`.
    types: &'static [&'static str],
    /// Makes the driver for one resource section.
    build: Constructor,
    /// The keywords only this driver reads: they apply to its types alone.
    keywords: &'static [KeywordSpec],
}

/// The kinds, in the catalogue's order (as `protocol::names::RESOURCE_KINDS`).
const KINDS: &[Kind] = &[
    Kind {
        kind: "ip",
        keywords: ip::KEYWORDS,
        defaults_read: &[],
    },
    Kind {
        kind: "fs",
        keywords: fs::KEYWORDS,
        defaults_read: &[],
    },
    Kind {
        kind: "vg",
        keywords: vg::KEYWORDS,
        defaults_read: &[],
    },
    Kind {
        kind: "container",
        keywords: container_docker::KEYWORDS,
        defaults_read: container_docker::DEFAULTS_READ,
    },
    Kind {
        kind: "sync",
        keywords: sync_state::KEYWORDS,
        defaults_read: sync_state::DEFAULTS_READ,
    },
    Kind {
        kind: "app",
        keywords: app::KEYWORDS,
        defaults_read: &[],
    },
];

/// The drivers; a kind's `type` values are listed in this order when one is refused.
const DRIVERS: &[Driver] = &[
    Driver {
        kind: "ip",
        types: &[],
        build: |rid, _| Box::new(ip::Ip::new(rid)),
        keywords: &[],
    },
    Driver {
        kind: "fs",
        types: &["ext2", "ext3", "ext4", "xfs", "btrfs"],
        build: |rid, ty| Box::new(fs::FsMount::new(rid, ty)),
        keywords: &[],
    },
    Driver {
        kind: "fs",
        types: &["directory"],
        build: |rid, _| Box::new(fs_directory::FsDirectory::new(rid)),
        keywords: &[],
    },
    Driver {
        kind: "vg",
        types: &[],
        build: |rid, _| Box::new(vg::Vg::new(rid)),
        keywords: &[],
    },
    Driver {
        kind: "container",
        types: &["docker"],
        build: |rid, _| Box::new(container_docker::Docker::new(rid)),
        keywords: &[],
    },
    Driver {
        kind: "sync",
        types: &["dds"],
        build: |rid, _| Box::new(sync_dds::SyncDds::new(rid)),
        keywords: sync_dds::KEYWORDS,
    },
    Driver {
        kind: "sync",
        types: &["dir"],
        build: |rid, _| Box::new(sync_dir::SyncDir::new(rid)),
        keywords: &[],
    },
    Driver {
        kind: "sync",
        types: &["rsync"],
        build: |rid, _| Box::new(sync_rsync::SyncRsync::new(rid)),
        keywords: sync_rsync::KEYWORDS,
    },
    Driver {
        kind: "sync",
        types: &["btrfs"],
        build: |rid, _| Box::new(sync_btrfs::SyncBtrfs::new(rid)),
        keywords: sync_btrfs::KEYWORDS,
    },
    Driver {
        kind: "app",
        types: &[],
        build: |rid, _| Box::new(app::App::new(rid)),
        keywords: &[],
    },
];

/// The constructor of the driver serving `kind` with `type` value `ty`.
pub fn constructor(kind: &str, ty: &str) -> Option<Constructor> {
    DRIVERS
        .iter()
        .find(|d| d.kind == kind && (d.types.is_empty() || d.types.contains(&ty)))
        .map(|d| d.build)
}

/// The keywords of every section kind, gathered from the drivers: what a config is validated
/// against (`ServiceConfig::load`) and what `print config` shows.
pub fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| Catalogue::new(KINDS.iter().map(kind_keywords).collect()))
}

/// One kind's part of the catalogue: its shared keywords, each driver's own (restricted to the
/// driver's types), then the keywords every resource section understands.
fn kind_keywords(kind: &Kind) -> KindKeywords {
    let drivers = || DRIVERS.iter().filter(|d| d.kind == kind.kind);
    let mut keywords = kind.keywords.to_vec();
    for d in drivers() {
        keywords.extend(d.keywords.iter().map(|s| KeywordSpec {
            types: d.types,
            ..*s
        }));
    }
    keywords.extend_from_slice(common::KEYWORDS);
    KindKeywords {
        kind: kind.kind,
        types: drivers().flat_map(|d| d.types.iter().copied()).collect(),
        keywords,
        defaults_read: kind.defaults_read,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::names::RESOURCE_KINDS;

    #[test]
    fn every_resource_kind_has_its_drivers_and_only_those() {
        let kinds: Vec<_> = KINDS.iter().map(|k| k.kind).collect();
        assert_eq!(kinds, RESOURCE_KINDS);
        for d in DRIVERS {
            assert!(kinds.contains(&d.kind), "{}", d.kind);
        }
        for k in KINDS {
            let drivers: Vec<_> = DRIVERS.iter().filter(|d| d.kind == k.kind).collect();
            assert!(!drivers.is_empty(), "{} has no driver", k.kind);
            // A kind either takes no type (one driver) or every driver names its types.
            let untyped = drivers.iter().filter(|d| d.types.is_empty()).count();
            assert!(untyped == 0 || drivers.len() == 1, "{}", k.kind);
        }
    }

    #[test]
    fn every_type_has_exactly_one_constructor() {
        let cat = catalogue();
        for kind in RESOURCE_KINDS {
            for ty in cat.resource_types(kind) {
                let serving = DRIVERS
                    .iter()
                    .filter(|d| d.kind == *kind && d.types.contains(ty))
                    .count();
                assert_eq!(serving, 1, "{kind} type {ty}");
            }
        }
        assert!(constructor("fs", "xfs").is_some());
        assert!(constructor("fs", "directory").is_some());
        assert!(constructor("ip", "").is_some());
        assert!(constructor("sync", "rsync").is_some());
        assert!(constructor("sync", "zfs").is_none());
        assert!(constructor("disk", "").is_none());
    }

    #[test]
    fn catalogue_is_complete_and_unique() {
        let cat = catalogue();
        let all = cat.keywords();
        assert!(all.iter().all(|s| !s.name.is_empty()));
        for (i, a) in all.iter().enumerate() {
            assert!(
                !all[i + 1..]
                    .iter()
                    .any(|b| a.section_kind == b.section_kind && a.name == b.name),
                "duplicate {}/{}",
                a.section_kind,
                a.name
            );
        }
        for kind in RESOURCE_KINDS {
            assert!(cat.find(kind, "always_on").is_some(), "{kind}");
            assert_eq!(
                cat.find(kind, "type").is_some(),
                !cat.resource_types(kind).is_empty()
            );
        }
        assert!(cat.find("DEFAULT", "nodes").is_some_and(|s| s.required));
        assert!(cat.find("fs", "mnt_opts").is_none());
        assert_eq!(
            cat.find("sync", "snap_dir").map(|s| s.types),
            Some(&["btrfs"][..])
        );
        assert_eq!(
            cat.find("sync", "snap_size").map(|s| s.types),
            Some(&["dds"][..])
        );
        assert_eq!(cat.resource_types("sync"), ["dds", "dir", "rsync", "btrfs"]);
        assert_eq!(
            cat.resource_types("fs"),
            ["ext2", "ext3", "ext4", "xfs", "btrfs", "directory"]
        );
        assert_eq!(cat.resource_types("container"), ["docker"]);
        assert!(cat.resource_types("ip").is_empty());
        let split: Vec<String> = all
            .iter()
            .filter(|s| s.shell_split)
            .map(|s| format!("{}.{}", s.section_kind, s.name))
            .collect();
        assert_eq!(
            split,
            [
                "DEFAULT.docker_daemon_args",
                "DEFAULT.drp_app_check",
                "container.run_args",
                "container.run_command",
                "container.docker_daemon_args",
                "app.start",
                "app.stop",
                "app.check"
            ]
        );
    }
}
