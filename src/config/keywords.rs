//! The keyword catalogue: which keys each section kind understands, which are required, and
//! which `type` values exist. Validation, suggestions and `print config` all read it.

/// One keyword a section kind understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeywordSpec {
    /// `DEFAULT`, `ip`, `fs`, `vg`, `container`, `sync` or `app`.
    pub section_kind: &'static str,
    /// The base keyword, lowercase.
    pub name: &'static str,
    /// Must resolve on every node of `nodes` and `drpnodes`.
    pub required: bool,
    /// Resource types the keyword applies to; empty means every type of the kind.
    pub types: &'static [&'static str],
    /// One line for humans (suggestions, docs).
    pub help: &'static str,
    /// The value is split into words like a shell command line (an argument vector, never run
    /// by a shell): its quotes must close, which `check-config` verifies.
    pub shell_split: bool,
}

/// Resource kinds a rid may start with (`<kind>#<id>`).
pub(crate) const RESOURCE_KINDS: &[&str] = &["ip", "fs", "vg", "container", "sync", "app"];

/// Keywords whose values are lists of node names or the words nodes/drpnodes/encapnodes.
pub(crate) const NODE_LIST_KEYWORDS: &[&str] =
    &["always_on", "optional_on", "disable_on", "target"];

/// The `type` values a resource kind accepts; empty for kinds that take no `type`.
pub(crate) fn resource_types(kind: &str) -> &'static [&'static str] {
    match kind {
        "container" => &["docker"],
        "fs" => &["ext2", "ext3", "ext4", "xfs", "btrfs", "directory"],
        "sync" => &["dds", "dir", "btrfs"],
        _ => &[],
    }
}

/// DEFAULT keywords a resource kind reads through the DEFAULT fallback (shown by `print config`).
pub(crate) fn default_keywords_read_by(kind: &str) -> &'static [&'static str] {
    match kind {
        "container" => &["docker_data_dir", "docker_daemon_args"],
        "sync" => &["sync_period", "sync_max_delay"],
        _ => &[],
    }
}

/// Every keyword of a section kind (`DEFAULT` or a resource kind).
pub(crate) fn specs_for(kind: &str) -> impl Iterator<Item = &'static KeywordSpec> + '_ {
    keyword_catalogue()
        .iter()
        .filter(move |s| s.section_kind == kind)
}

/// The spec of `name` in a section kind, if the kind knows it.
pub(crate) fn find(kind: &str, name: &str) -> Option<&'static KeywordSpec> {
    specs_for(kind).find(|s| s.name == name)
}

/// The whole catalogue, in a stable order (DEFAULT first, then kinds as in `RESOURCE_KINDS`).
pub fn keyword_catalogue() -> &'static [KeywordSpec] {
    CATALOGUE
}

macro_rules! kw {
    ($kind:literal, $name:literal, req, $help:literal) => {
        KeywordSpec {
            section_kind: $kind,
            name: $name,
            required: true,
            types: &[],
            help: $help,
            shell_split: false,
        }
    };
    ($kind:literal, $name:literal, opt, $help:literal) => {
        KeywordSpec {
            section_kind: $kind,
            name: $name,
            required: false,
            types: &[],
            help: $help,
            shell_split: false,
        }
    };
    ($kind:literal, $name:literal, opt, $types:expr, $help:literal) => {
        KeywordSpec {
            section_kind: $kind,
            name: $name,
            required: false,
            types: $types,
            help: $help,
            shell_split: false,
        }
    };
}

/// Marks a keyword whose value is split into words like a shell command line.
const fn split(mut spec: KeywordSpec) -> KeywordSpec {
    spec.shell_split = true;
    spec
}

/// Keywords every resource section understands, expanded once per kind.
macro_rules! common {
    ($kind:literal) => {
        [
            kw!(
                $kind,
                "always_on",
                opt,
                "nodes where the resource is started even in standby (node names, nodes, drpnodes)"
            ),
            kw!(
                $kind,
                "optional",
                opt,
                "a failure of this resource does not fail the action"
            ),
            kw!(
                $kind,
                "optional_on",
                opt,
                "nodes where the resource is optional"
            ),
            kw!(
                $kind,
                "disable",
                opt,
                "the resource is ignored by every action"
            ),
            kw!(
                $kind,
                "disable_on",
                opt,
                "nodes where the resource is disabled"
            ),
            kw!(
                $kind,
                "monitor",
                opt,
                "a failure of this resource is a service failure"
            ),
            kw!($kind, "comment", opt, "free text for humans"),
            kw!($kind, "tags", opt, "words to select resources with"),
            kw!(
                $kind,
                "subset",
                opt,
                "subset the resource belongs to, for ordering"
            ),
        ]
    };
}

const fn concat<const N: usize>(parts: &[&[KeywordSpec]]) -> [KeywordSpec; N] {
    let mut out = [kw!("DEFAULT", "", opt, ""); N];
    let mut n = 0;
    let mut p = 0;
    while p < parts.len() {
        let mut i = 0;
        while i < parts[p].len() {
            out[n] = parts[p][i];
            n += 1;
            i += 1;
        }
        p += 1;
    }
    out
}

const DEFAULT_KEYWORDS: [KeywordSpec; 13] = [
    kw!("DEFAULT", "nodes", req, "production nodes of the service"),
    kw!(
        "DEFAULT",
        "drpnodes",
        opt,
        "disaster-recovery nodes of the service"
    ),
    kw!(
        "DEFAULT",
        "encapnodes",
        opt,
        "nodes encapsulated in the service (containers)"
    ),
    kw!(
        "DEFAULT",
        "autostart_node",
        opt,
        "node that starts the service at boot"
    ),
    kw!(
        "DEFAULT",
        "app",
        opt,
        "application code the service belongs to"
    ),
    kw!(
        "DEFAULT",
        "service_type",
        opt,
        "PRD, DEV, ...: production services are protected"
    ),
    kw!(
        "DEFAULT",
        "docker_data_dir",
        opt,
        "data directory of the service's private docker daemon"
    ),
    split(kw!(
        "DEFAULT",
        "docker_daemon_args",
        opt,
        "extra arguments of the service's private docker daemon"
    )),
    kw!(
        "DEFAULT",
        "sync_period",
        opt,
        "time window when syncs may run, e.g. 03:00-05:00"
    ),
    kw!(
        "DEFAULT",
        "sync_max_delay",
        opt,
        "minutes after which a missed sync is a warning"
    ),
    kw!("DEFAULT", "comment", opt, "free text for humans"),
    kw!(
        "DEFAULT",
        "drp_cut_access",
        opt,
        "command that cuts user access before a DRP switch"
    ),
    split(kw!(
        "DEFAULT",
        "drp_app_check",
        opt,
        "command that checks the application after a DRP switch"
    )),
];

const IP_KEYWORDS: [KeywordSpec; 3] = [
    kw!("ip", "ipname", req, "address or resolvable name to plumb"),
    kw!("ip", "ipdev", req, "network interface carrying the address"),
    kw!("ip", "netmask", opt, "netmask or prefix length"),
];

const FS_KEYWORDS: [KeywordSpec; 5] = [
    kw!("fs", "type", req, "filesystem type"),
    kw!(
        "fs",
        "dev",
        req,
        "block device (or source directory) to mount"
    ),
    kw!("fs", "mnt", req, "mount point"),
    kw!("fs", "mnt_opt", opt, "mount options"),
    kw!("fs", "fsck", opt, "run fsck before mounting (true/false)"),
];

const VG_KEYWORDS: [KeywordSpec; 1] = [kw!("vg", "vgname", req, "LVM volume group name")];

const CONTAINER_KEYWORDS: [KeywordSpec; 7] = [
    kw!("container", "type", req, "container technology"),
    kw!("container", "run_image", req, "image id or name to run"),
    split(kw!(
        "container",
        "run_args",
        opt,
        "extra arguments of docker run"
    )),
    split(kw!(
        "container",
        "run_command",
        opt,
        "command run in the container"
    )),
    kw!(
        "container",
        "stop_timeout",
        opt,
        "seconds docker stop waits before killing the container (default 10)"
    ),
    kw!(
        "container",
        "docker_data_dir",
        opt,
        "data directory of the private docker daemon"
    ),
    split(kw!(
        "container",
        "docker_daemon_args",
        opt,
        "extra arguments of the private docker daemon"
    )),
];

const SYNC_KEYWORDS: [KeywordSpec; 8] = [
    kw!("sync", "type", req, "replication driver"),
    kw!("sync", "src", req, "source device or path"),
    kw!("sync", "dst", req, "destination device or path"),
    kw!(
        "sync",
        "target",
        req,
        "nodes to replicate to: nodes, drpnodes or node names"
    ),
    kw!(
        "sync",
        "sync_period",
        opt,
        "time window when the sync may run"
    ),
    kw!(
        "sync",
        "sync_max_delay",
        opt,
        "minutes after which a missed sync is a warning"
    ),
    kw!(
        "sync",
        "snap_dir",
        opt,
        &["btrfs"],
        "not used by drpilot: btrfs snapshots always live in .drpilot-snap at the volume top"
    ),
    kw!(
        "sync",
        "snap_size",
        opt,
        &["dds"],
        "size of each LVM snapshot (lvcreate -L, e.g. 200M); default 10% of the origin, at least 4M"
    ),
];

const APP_KEYWORDS: [KeywordSpec; 6] = [
    split(kw!("app", "start", req, "command starting the application")),
    split(kw!("app", "stop", opt, "command stopping the application")),
    split(kw!(
        "app",
        "check",
        opt,
        "command checking the application (exit 0 = up)"
    )),
    kw!("app", "cwd", opt, "working directory of the commands"),
    kw!("app", "timeout", opt, "seconds before a command is killed"),
    kw!(
        "app",
        "environment",
        opt,
        "KEY=VALUE words added to the commands' environment"
    ),
];

const COMMON_COUNT: usize = 9;
const CATALOGUE_LEN: usize = DEFAULT_KEYWORDS.len()
    + IP_KEYWORDS.len()
    + FS_KEYWORDS.len()
    + VG_KEYWORDS.len()
    + CONTAINER_KEYWORDS.len()
    + SYNC_KEYWORDS.len()
    + APP_KEYWORDS.len()
    + 6 * COMMON_COUNT;

static CATALOGUE: &[KeywordSpec] = &concat::<CATALOGUE_LEN>(&[
    &DEFAULT_KEYWORDS,
    &IP_KEYWORDS,
    &common!("ip"),
    &FS_KEYWORDS,
    &common!("fs"),
    &VG_KEYWORDS,
    &common!("vg"),
    &CONTAINER_KEYWORDS,
    &common!("container"),
    &SYNC_KEYWORDS,
    &common!("sync"),
    &APP_KEYWORDS,
    &common!("app"),
]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_complete_and_unique() {
        let cat = keyword_catalogue();
        assert!(cat.iter().all(|s| !s.name.is_empty()));
        for (i, a) in cat.iter().enumerate() {
            assert!(
                !cat[i + 1..]
                    .iter()
                    .any(|b| a.section_kind == b.section_kind && a.name == b.name),
                "duplicate {}/{}",
                a.section_kind,
                a.name
            );
        }
        for kind in RESOURCE_KINDS {
            assert!(find(kind, "always_on").is_some(), "{kind}");
            assert_eq!(
                find(kind, "type").is_some(),
                !resource_types(kind).is_empty()
            );
        }
        assert!(find("DEFAULT", "nodes").is_some_and(|s| s.required));
        assert!(find("fs", "mnt_opts").is_none());
        assert_eq!(
            find("sync", "snap_dir").map(|s| s.types),
            Some(&["btrfs"][..])
        );
        let split: Vec<String> = cat
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
