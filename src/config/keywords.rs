//! What a section may hold: the service keywords of `[DEFAULT]` (here), and for each resource
//! kind the keywords its drivers read, declared by each driver and gathered by the driver
//! registry into a [`Catalogue`] handed to validation, suggestions and `print config`. The
//! registry sits above the config, so the catalogue reaches it as data.

/// One keyword a section kind understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeywordSpec {
    /// `DEFAULT`, `ip`, `fs`, `vg`, `container`, `sync` or `app` (set by the catalogue).
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
    /// The value is a whole number of seconds up to this bound (checked by `check-config`).
    pub seconds_max: Option<u64>,
}

impl KeywordSpec {
    /// A keyword that must resolve on every node (its kind is set when it joins a catalogue).
    pub const fn req(name: &'static str, help: &'static str) -> Self {
        Self {
            section_kind: "",
            name,
            required: true,
            types: &[],
            help,
            shell_split: false,
            seconds_max: None,
        }
    }

    /// A keyword that may be left out.
    pub const fn opt(name: &'static str, help: &'static str) -> Self {
        Self {
            required: false,
            ..Self::req(name, help)
        }
    }

    /// The same keyword, its value split into words like a shell command line.
    pub const fn split(mut self) -> Self {
        self.shell_split = true;
        self
    }

    /// The same keyword, its value a whole number of seconds from 0 to `max`.
    pub const fn seconds(mut self, max: u64) -> Self {
        self.seconds_max = Some(max);
        self
    }
}

pub(crate) use crate::protocol::names::RESOURCE_KINDS;

/// Keywords whose values are lists of node names or the words nodes/drpnodes/encapnodes.
pub(crate) const NODE_LIST_KEYWORDS: &[&str] =
    &["always_on", "optional_on", "disable_on", "target"];

/// The section name of the service keywords.
const DEFAULT_KIND: &str = "DEFAULT";

/// What one resource kind understands, as the driver registry declares it.
#[derive(Debug, Clone)]
pub struct KindKeywords {
    /// The resource kind (`fs`).
    pub kind: &'static str,
    /// The `type` values the kind accepts, in the order a refusal lists them; empty for kinds
    /// that take no `type`.
    pub types: Vec<&'static str>,
    /// Its keywords; [`Catalogue::new`] sets their `section_kind`.
    pub keywords: Vec<KeywordSpec>,
    /// DEFAULT keywords the kind reads through the DEFAULT fallback (shown by `print config`).
    pub defaults_read: &'static [&'static str],
}

/// Every keyword of every section kind, in a stable order (DEFAULT first, then the kinds in
/// the order given): what validation checks a config against.
#[derive(Debug, Clone)]
pub struct Catalogue {
    kinds: Vec<KindKeywords>,
    all: Vec<KeywordSpec>,
}

impl Catalogue {
    /// The catalogue of the service keywords and of `kinds`.
    pub fn new(kinds: Vec<KindKeywords>) -> Self {
        let mut all: Vec<KeywordSpec> = DEFAULT_KEYWORDS
            .iter()
            .map(|s| KeywordSpec {
                section_kind: DEFAULT_KIND,
                ..*s
            })
            .collect();
        let kinds: Vec<KindKeywords> = kinds
            .into_iter()
            .map(|mut k| {
                for s in &mut k.keywords {
                    s.section_kind = k.kind;
                }
                all.extend(k.keywords.iter().copied());
                k
            })
            .collect();
        Self { kinds, all }
    }

    /// The whole catalogue, for checks and docs that walk every keyword.
    pub fn keywords(&self) -> &[KeywordSpec] {
        &self.all
    }

    /// The resource kinds the catalogue describes, in its order.
    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.kinds.iter().map(|k| k.kind)
    }

    fn kind(&self, kind: &str) -> Option<&KindKeywords> {
        self.kinds.iter().find(|k| k.kind == kind)
    }

    /// Every keyword of a section kind (`DEFAULT` or a resource kind).
    pub(crate) fn specs_for<'a>(
        &'a self,
        kind: &'a str,
    ) -> impl Iterator<Item = &'a KeywordSpec> + 'a {
        self.all.iter().filter(move |s| s.section_kind == kind)
    }

    /// The spec of `name` in a section kind, if the kind knows it.
    pub(crate) fn find(&self, kind: &str, name: &str) -> Option<&KeywordSpec> {
        self.all
            .iter()
            .find(|s| s.section_kind == kind && s.name == name)
    }

    /// The `type` values a resource kind accepts; empty for kinds that take no `type`.
    pub(crate) fn resource_types(&self, kind: &str) -> &[&'static str] {
        self.kind(kind).map_or(&[], |k| k.types.as_slice())
    }

    /// DEFAULT keywords a resource kind reads through the DEFAULT fallback.
    pub(crate) fn default_keywords_read_by(&self, kind: &str) -> &'static [&'static str] {
        self.kind(kind).map_or(&[], |k| k.defaults_read)
    }
}

/// The service keywords of `[DEFAULT]`.
const DEFAULT_KEYWORDS: &[KeywordSpec] = &[
    KeywordSpec::req("nodes", "production nodes of the service"),
    KeywordSpec::opt("drpnodes", "disaster-recovery nodes of the service"),
    KeywordSpec::opt(
        "encapnodes",
        "nodes encapsulated in the service (containers)",
    ),
    KeywordSpec::opt("autostart_node", "node that starts the service at boot"),
    KeywordSpec::opt("app", "application code the service belongs to"),
    KeywordSpec::opt(
        "service_type",
        "PRD, DEV, ...: production services are protected",
    ),
    KeywordSpec::opt(
        "docker_data_dir",
        "data directory of the service's private docker daemon",
    ),
    KeywordSpec::opt(
        "docker_daemon_args",
        "extra arguments of the service's private docker daemon",
    )
    .split(),
    KeywordSpec::opt(
        "sync_period",
        "time window when syncs may run, e.g. 03:00-05:00; the node daemon runs syncdrp once \
         a day inside it (default 03:59-05:59, as OpenSVC)",
    ),
    KeywordSpec::opt(
        "sync_interval",
        "minutes between the node daemon's syncupdate of each sync resource (default: none)",
    ),
    KeywordSpec::opt(
        "sync_max_delay",
        "minutes after which a missed sync is a warning",
    ),
    KeywordSpec::opt("comment", "free text for humans"),
    KeywordSpec::opt(
        "parallel_groups",
        "groups that start side by side, lanes separated by '|' (ip | disk fs): the address \
         check runs while the filesystems mount; later groups wait for every lane",
    ),
    KeywordSpec::opt(
        "system_files",
        "files and directories sync#i1 copies to the DRP nodes' cache, replacing the default \
         Linux list (users and groups, hosts, sudoers, ssh, pam, crontabs, application homes); \
         empty: no sync#i1",
    ),
    KeywordSpec::opt(
        "system_files_add",
        "more files and directories sync#i1 copies, beside its default list",
    ),
    KeywordSpec::opt(
        "drp_cut_access",
        "command that cuts user access before a DRP switch",
    ),
    KeywordSpec::opt(
        "drp_app_check",
        "command that checks the application after a DRP switch",
    )
    .split(),
];
