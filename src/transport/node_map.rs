//! The node address map (`nodes.toml`): `[nodes] deb1 = "ssh://root@deb1.example.org"`, with
//! optional per-node options (`[options.deb1]`: remote binary, remote root, ssh config file) and
//! global ssh settings (`[ssh] accept_new_host_keys`, `server_alive_interval` in seconds). A file
//! with only `[nodes]` stays valid.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use color_eyre::eyre::{bail, eyre, Result, WrapErr};
use serde::{Deserialize, Serialize};

use super::NodeAddress;

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct NodeMapFile {
    #[serde(default)]
    nodes: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    options: BTreeMap<String, NodeOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ssh: Option<SshSection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    timeouts: Option<TimeoutsSection>,
}

/// `[timeouts]`: how long a node may take to answer before it counts as silent.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct TimeoutsSection {
    /// Seconds a status query (the split-brain guard, the runbook's checks) may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u64>,
    /// Seconds a runbook's lease lives without renewal before another seat may take it over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lease: Option<u64>,
}

/// How long a runbook's lease lives without renewal when the map does not say.
pub const DEFAULT_LEASE_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// How long a status query may take when the map does not say.
pub const DEFAULT_STATUS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct SshSection {
    #[serde(default)]
    accept_new_host_keys: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    server_alive_interval: Option<u64>,
}

/// How drpilot runs on one node reached over ssh (`[options.NODE]` in nodes.toml). Exists
/// because a node's drpilot may not be on the remote PATH, may serve a node living under a
/// directory (`DRPILOT_ROOT`), or may need its own ssh settings (identity, known_hosts).
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodeOptions {
    /// The remote drpilot binary (default `drpilot`, found in the remote PATH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bin: Option<String>,
    /// When set, the remote command runs as
    /// `env DRPILOT_ROOT=<root> DRPILOT_NODENAME=<node> <bin> ARGS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<PathBuf>,
    /// An ssh_config file passed to ssh as `-F` (identity, known_hosts file, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_config: Option<PathBuf>,
    /// Which agent the node runs: drpilot (the default) or OpenSVC's (`opensvc2`, `opensvc3`),
    /// whose commands the transport translates (`transport::opensvc`); their `bin` defaults to
    /// `om`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flavor: Option<Flavor>,
    /// An OpenSVC node's way to cut user access, one of drpilot's `drp_cut_access` verbs
    /// (`stop`, `stopapp`, `stopip`, `stopcontainer`), run through its agent; unset, the
    /// runbooks ask for it to be done by hand and say the step was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut_access: Option<String>,
    /// An OpenSVC node's application check: one of its service's task resources
    /// (`task#NAME`), run with the agent's `run --rid`; unset, the runbooks say the check was
    /// skipped and trust the status tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_check: Option<String>,
    /// An OpenSVC node's state directory (default `/var/lib/opensvc`), where its agent keeps
    /// the `last_sync_<node>` files the replica's age is read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub var: Option<PathBuf>,
}

/// The agent a node runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    /// drpilot itself.
    #[default]
    Drpilot,
    /// OpenSVC v2 (the Python agent, `om`).
    Opensvc2,
    /// OpenSVC v3 (the Go agent, `om`).
    Opensvc3,
}

impl Flavor {
    /// The agent's name as operators know it (console titles, preflight lines, reports).
    pub fn agent_name(self) -> &'static str {
        match self {
            Flavor::Drpilot => "drpilot",
            Flavor::Opensvc2 => "OpenSVC v2",
            Flavor::Opensvc3 => "OpenSVC v3",
        }
    }
}

impl NodeOptions {
    /// The node's agent (drpilot when unset).
    pub fn flavor(&self) -> Flavor {
        self.flavor.unwrap_or_default()
    }
}

impl NodeOptions {
    /// Rejects options that could only fail later, far from their cause.
    fn validate(&self) -> Result<()> {
        if self.bin.as_deref().is_some_and(|b| b.trim().is_empty()) {
            bail!("bin is empty");
        }
        if let Some(root) = &self.root {
            if !root.is_absolute() {
                bail!("root {} is not an absolute path", root.display());
            }
            if root.to_str().is_none() {
                bail!("root {} is not valid UTF-8", root.display());
            }
        }
        let drpilot = self.flavor() == Flavor::Drpilot;
        if let Some(var) = &self.var {
            if drpilot {
                bail!("var is for OpenSVC nodes (their agent's state directory)");
            }
            if !var.is_absolute() || var.to_str().is_none() {
                bail!("var {} is not an absolute UTF-8 path", var.display());
            }
        }
        if let Some(verb) = &self.cut_access {
            if drpilot {
                bail!("cut_access is for OpenSVC nodes: a drpilot node reads drp_cut_access from the service's config");
            }
            if crate::protocol::verb::cut_access_action(verb).is_none() {
                bail!("cut_access = \"{verb}\" is not one of stop, stopapp, stopip, stopcontainer");
            }
        }
        if let Some(task) = &self.app_check {
            if drpilot {
                bail!("app_check is for OpenSVC nodes: a drpilot node reads drp_app_check from the service's config");
            }
            let name = task.strip_prefix("task#").unwrap_or_default();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
            {
                bail!("app_check = \"{task}\" is not a task resource of the service (task#NAME)");
            }
        }
        Ok(())
    }
}

/// Node name to address; a node missing from the map is the ssh host of the same name.
#[derive(Debug, Default, Clone)]
pub struct NodeMap {
    entries: BTreeMap<String, NodeAddress>,
    options: BTreeMap<String, NodeOptions>,
    accept_new_host_keys: bool,
    server_alive_interval: Option<u64>,
    status_timeout: Option<u64>,
    lease_ttl: Option<u64>,
}

/// What to write in a node map, shown when the operator has none.
const MAP_EXAMPLE: &str = "[nodes]\n\
    deb1 = \"ssh://root@deb1.example.org\"\n\
    deb2 = \"ssh://root@deb2.example.org\"";

impl NodeMap {
    /// Reads a node's own map (`/etc/drpilot/nodes.toml` under its root), where a missing file
    /// legitimately means an empty map: every peer is reached by ssh to its name. Maps an
    /// operator names or relies on are read with [`NodeMap::load_required`].
    pub fn load(path: &Path) -> Result<Self> {
        Ok(Self::read(path)?.unwrap_or_default())
    }

    /// Reads a map that must exist: a missing file is an error naming it, never an empty map
    /// (the console would watch no node, a runbook would find no service).
    pub fn load_required(path: &Path) -> Result<Self> {
        Self::read(path)?.ok_or_else(|| eyre!("{} does not exist", path.display()))
    }

    /// Reads the operator's map: `explicit` (`--nodes FILE`) when given, else `default`. A
    /// missing explicit file is an error naming it; a missing default one says where it was
    /// looked for and how to write one.
    pub fn load_for_operator(explicit: Option<&Path>, default: &Path) -> Result<Self> {
        match explicit {
            Some(path) => Self::read(path)?
                .ok_or_else(|| eyre!("--nodes {}: the file does not exist", path.display())),
            None => Self::read(default)?.ok_or_else(|| {
                eyre!(
                    "no node map: {} does not exist. Write one there (or name one with \
                     --nodes FILE), for example:\n{MAP_EXAMPLE}",
                    default.display()
                )
            }),
        }
    }

    /// The map in `path`, `None` when the file does not exist.
    fn read(path: &Path) -> Result<Option<Self>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).wrap_err_with(|| format!("reading {}", path.display())),
        };
        Self::parse(&text)
            .wrap_err_with(|| format!("{}", path.display()))
            .map(Some)
    }

    /// Parses the TOML text of a map.
    pub fn parse(text: &str) -> Result<Self> {
        let file: NodeMapFile = toml::from_str(text).map_err(|e| eyre!("{e}"))?;
        let mut entries = BTreeMap::new();
        for (node, addr) in file.nodes {
            let parsed = NodeAddress::parse(&addr).wrap_err_with(|| format!("node {node}"))?;
            entries.insert(node, parsed);
        }
        for (node, opts) in &file.options {
            opts.validate()
                .wrap_err_with(|| format!("[options.{node}]"))?;
        }
        Ok(Self {
            entries,
            options: file.options,
            accept_new_host_keys: file.ssh.as_ref().is_some_and(|s| s.accept_new_host_keys),
            server_alive_interval: file.ssh.as_ref().and_then(|s| s.server_alive_interval),
            status_timeout: match file.timeouts.as_ref().and_then(|t| t.status) {
                Some(0) => bail!("[timeouts] status must be at least 1 second"),
                t => t,
            },
            lease_ttl: match file.timeouts.as_ref().and_then(|t| t.lease) {
                Some(t) if t < 3 => bail!("[timeouts] lease must be at least 3 seconds"),
                t => t,
            },
        })
    }

    /// Adds or replaces one node's address.
    pub fn insert(&mut self, node: &str, addr: NodeAddress) {
        self.entries.insert(node.to_string(), addr);
    }

    /// The names of the mapped nodes, sorted (what a console watches when nothing else is
    /// known).
    pub fn nodes(&self) -> Vec<String> {
        self.entries.keys().cloned().collect()
    }

    /// The address of `node`: the mapped one, or ssh to the node name.
    pub fn address_of(&self, node: &str) -> NodeAddress {
        self.entries.get(node).cloned().unwrap_or(NodeAddress::Ssh {
            user: None,
            host: node.to_string(),
            port: None,
        })
    }

    /// The options of `node` (all defaults when the map has none).
    pub fn options_of(&self, node: &str) -> NodeOptions {
        self.options.get(node).cloned().unwrap_or_default()
    }

    /// Sets one node's options; default options remove the node's `[options]` table.
    pub fn set_options(&mut self, node: &str, opts: NodeOptions) {
        if opts == NodeOptions::default() {
            self.options.remove(node);
        } else {
            self.options.insert(node.to_string(), opts);
        }
    }

    /// Whether unknown ssh host keys are accepted and recorded (`accept-new`) instead of
    /// refused; a changed key is refused either way.
    pub fn accept_new_host_keys(&self) -> bool {
        self.accept_new_host_keys
    }

    /// How often the ssh master probes a silent link (`[ssh] server_alive_interval`, seconds): a
    /// dead link ends a session after about four intervals.
    pub fn server_alive_interval(&self) -> Option<std::time::Duration> {
        self.server_alive_interval
            .map(std::time::Duration::from_secs)
    }

    /// How long a node may take to answer a status query before it counts as silent
    /// (`[timeouts] status`, seconds): a silent node never reads as one that is down.
    pub fn status_timeout(&self) -> std::time::Duration {
        self.status_timeout
            .map(std::time::Duration::from_secs)
            .unwrap_or(DEFAULT_STATUS_TIMEOUT)
    }

    /// How long a runbook's lease lives on the nodes without renewal (`[timeouts] lease`,
    /// seconds): past it, another seat may take the run over.
    pub fn lease_ttl(&self) -> std::time::Duration {
        self.lease_ttl
            .map(std::time::Duration::from_secs)
            .unwrap_or(DEFAULT_LEASE_TTL)
    }

    /// Sets `[timeouts] lease` in seconds.
    pub fn set_lease_ttl(&mut self, secs: u64) {
        self.lease_ttl = Some(secs);
    }

    /// Sets `[timeouts] status` in seconds.
    pub fn set_status_timeout(&mut self, secs: u64) {
        self.status_timeout = Some(secs);
    }

    /// The ssh settings of every connection made through this map.
    pub fn ssh_options(&self) -> super::SshOptions {
        let default = super::SshOptions::default();
        super::SshOptions {
            accept_new_host_keys: self.accept_new_host_keys,
            server_alive_interval: self
                .server_alive_interval()
                .unwrap_or(default.server_alive_interval),
            ..default
        }
    }

    /// Sets `server_alive_interval` (the testbed uses a short one).
    pub fn set_server_alive_interval(&mut self, secs: u64) {
        self.server_alive_interval = Some(secs);
    }

    /// Sets the global `accept_new_host_keys` default (the `--accept-new-host-keys` flag).
    pub fn set_accept_new_host_keys(&mut self, accept: bool) {
        self.accept_new_host_keys = accept;
    }

    /// The TOML text of the map.
    pub fn to_toml(&self) -> String {
        let file = NodeMapFile {
            nodes: self
                .entries
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
            options: self.options.clone(),
            ssh: (self.accept_new_host_keys || self.server_alive_interval.is_some()).then_some(
                SshSection {
                    accept_new_host_keys: self.accept_new_host_keys,
                    server_alive_interval: self.server_alive_interval,
                },
            ),
            timeouts: (self.status_timeout.is_some() || self.lease_ttl.is_some()).then_some(
                TimeoutsSection {
                    status: self.status_timeout,
                    lease: self.lease_ttl,
                },
            ),
        };
        toml::to_string(&file).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_map_is_empty_only_for_the_node_itself() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nodes.toml");
        assert!(NodeMap::load(&missing).unwrap().nodes().is_empty());
        let err = format!("{:#}", NodeMap::load_required(&missing).unwrap_err());
        assert!(err.contains(&missing.display().to_string()), "{err}");
        let err = format!(
            "{:#}",
            NodeMap::load_for_operator(Some(&missing), Path::new("/d.toml")).unwrap_err()
        );
        assert_eq!(
            err,
            format!("--nodes {}: the file does not exist", missing.display())
        );
        let err = format!(
            "{:#}",
            NodeMap::load_for_operator(None, &missing).unwrap_err()
        );
        assert!(err.contains(&missing.display().to_string()), "{err}");
        assert!(err.ends_with(MAP_EXAMPLE), "{err}");
        assert!(NodeMap::parse(MAP_EXAMPLE).is_ok());
        std::fs::write(&missing, "[nodes]\ndeb1 = \"local:/x\"\n").unwrap();
        let map = NodeMap::load_for_operator(None, &missing).unwrap();
        assert_eq!(map.nodes(), ["deb1"]);
    }

    #[test]
    fn keepalive_interval_round_trips() {
        let map = NodeMap::parse("[nodes]\n[ssh]\nserver_alive_interval = 2\n").unwrap();
        assert_eq!(
            map.server_alive_interval(),
            Some(std::time::Duration::from_secs(2))
        );
        let again = NodeMap::parse(&map.to_toml()).unwrap();
        assert_eq!(again.server_alive_interval(), map.server_alive_interval());
        assert!(!again.accept_new_host_keys());
        assert_eq!(
            NodeMap::parse("[nodes]\n").unwrap().server_alive_interval(),
            None
        );
    }

    #[test]
    fn status_timeout_round_trips_and_defaults() {
        let map = NodeMap::parse("[nodes]\n[timeouts]\nstatus = 2\n").unwrap();
        assert_eq!(map.status_timeout(), std::time::Duration::from_secs(2));
        let again = NodeMap::parse(&map.to_toml()).unwrap();
        assert_eq!(again.status_timeout(), map.status_timeout());
        assert_eq!(NodeMap::default().status_timeout(), DEFAULT_STATUS_TIMEOUT);
        assert!(NodeMap::parse("[timeouts]\nstatus = 0\n").is_err());
    }

    #[test]
    fn missing_nodes_default_to_ssh() {
        let map = NodeMap::parse("[nodes]\ndeb2 = \"local:/lab/deb2\"\n").unwrap();
        assert_eq!(
            map.address_of("deb2"),
            NodeAddress::Local {
                root: "/lab/deb2".into()
            }
        );
        assert_eq!(
            map.address_of("deb1"),
            NodeAddress::Ssh {
                user: None,
                host: "deb1".into(),
                port: None
            }
        );
        assert_eq!(map.options_of("deb1"), NodeOptions::default());
        assert!(!map.accept_new_host_keys());
    }

    #[test]
    fn round_trips_and_rejects_bad_addresses() {
        let map = NodeMap::parse("[nodes]\ndeb1 = \"ssh://root@h:22\"\n").unwrap();
        let again = NodeMap::parse(&map.to_toml()).unwrap();
        assert_eq!(again.address_of("deb1"), map.address_of("deb1"));
        assert!(!map.to_toml().contains("[ssh]"));
        assert!(!map.to_toml().contains("options"));
        let err = NodeMap::parse("[nodes]\ndeb1 = \"ftp://x\"\n").unwrap_err();
        assert!(format!("{err:#}").contains("deb1"));
    }

    const FULL: &str = r#"
[nodes]
deb1 = "ssh://root@127.0.0.1:2222"
deb2 = "local:/lab/deb2"

[options.deb1]
bin = "/usr/local/bin/drpilot"
root = "/srv/lab/deb1"
ssh_config = "/etc/drpilot/ssh_config"

[ssh]
accept_new_host_keys = true
"#;

    #[test]
    fn reads_options_and_ssh_settings() {
        let map = NodeMap::parse(FULL).unwrap();
        assert_eq!(
            map.options_of("deb1"),
            NodeOptions {
                bin: Some("/usr/local/bin/drpilot".into()),
                root: Some("/srv/lab/deb1".into()),
                ssh_config: Some("/etc/drpilot/ssh_config".into()),
                flavor: None,
                ..NodeOptions::default()
            }
        );
        assert_eq!(map.options_of("deb2"), NodeOptions::default());
        assert!(map.accept_new_host_keys());
        assert_eq!(map.nodes(), ["deb1", "deb2"]);
    }

    #[test]
    fn writes_everything_back() {
        let map = NodeMap::parse(FULL).unwrap();
        let text = map.to_toml();
        let again = NodeMap::parse(&text).unwrap();
        assert_eq!(again.options_of("deb1"), map.options_of("deb1"));
        assert_eq!(again.address_of("deb1"), map.address_of("deb1"));
        assert_eq!(again.address_of("deb2"), map.address_of("deb2"));
        assert!(again.accept_new_host_keys(), "{text}");
    }

    #[test]
    fn setters_change_what_is_written() {
        let mut map = NodeMap::default();
        map.insert("deb2", NodeAddress::parse("ssh://u@h:2200").unwrap());
        let opts = NodeOptions {
            bin: Some("/opt/drpilot".into()),
            root: None,
            ssh_config: Some("/tmp/cfg".into()),
            flavor: None,
            ..NodeOptions::default()
        };
        map.set_options("deb2", opts.clone());
        map.set_accept_new_host_keys(true);
        let again = NodeMap::parse(&map.to_toml()).unwrap();
        assert_eq!(again.options_of("deb2"), opts);
        assert!(again.accept_new_host_keys());
        map.set_options("deb2", NodeOptions::default());
        map.set_accept_new_host_keys(false);
        let text = map.to_toml();
        assert!(
            !text.contains("options") && !text.contains("[ssh]"),
            "{text}"
        );
    }

    #[test]
    fn rejects_bad_options() {
        for bad in [
            "[options.deb1]\nbin = \"\"\n",
            "[options.deb1]\nroot = \"relative/dir\"\n",
            "[options.deb1]\nuser = \"root\"\n",
            "[ssh]\naccept_new = true\n",
        ] {
            let err = NodeMap::parse(bad).unwrap_err();
            let text = format!("{err:#}");
            assert!(!text.is_empty(), "{bad}");
        }
        let err = NodeMap::parse("[options.deb1]\nbin = \"\"\n").unwrap_err();
        assert!(format!("{err:#}").contains("deb1"));
    }
}
