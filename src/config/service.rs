//! A loaded, validated service config and the per-node lookups the agent and drivers use.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::diagnostic::{sort_diagnostics, ConfigError, Diagnostic};
use super::ini::{self, RawConfig, RawSection, DEFAULT_SECTION};
use super::keywords::Catalogue;
use super::scope::{resolve_in, split_list, Lists, Resolved};
use super::{is_valid_service_name, validate};

/// What a node is to a service, from the DEFAULT node lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Listed in `nodes`.
    Primary,
    /// Listed in `drpnodes`.
    Drp,
    /// Listed in `encapnodes`.
    Encap,
    /// In no list: the service must not run here.
    Foreign,
}

/// A service config that passed validation: the raw file plus its node lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConfig {
    /// Service name: the file name minus `.env`.
    pub name: String,
    /// The file as read.
    pub raw: RawConfig,
    /// Production nodes (`nodes`, read plain from DEFAULT).
    pub nodes: Vec<String>,
    /// Disaster-recovery nodes (`drpnodes`).
    pub drpnodes: Vec<String>,
    /// Encapsulated nodes (`encapnodes`).
    pub encapnodes: Vec<String>,
    /// SHA-256 (hex) of the file bytes, to tell whether two nodes hold the same config.
    pub hash: String,
}

/// A successful load: the config and the warnings it still deserves.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The validated config.
    pub config: ServiceConfig,
    /// Warnings in line order (unknown keywords, scopes that never apply, ...).
    pub warnings: Vec<Diagnostic>,
}

impl ServiceConfig {
    /// Reads `path` and validates it against the keywords of `cat` (the drivers' catalogue,
    /// `drivers::catalogue()`); the service name is the file name minus `.env`.
    pub fn load(path: &Path, cat: &Catalogue) -> Result<Loaded, ConfigError> {
        let bytes = std::fs::read(path).map_err(|e| {
            ConfigError::new(vec![Diagnostic::error(
                path,
                0,
                format!("cannot read: {e}"),
            )])
        })?;
        let text = match std::str::from_utf8(&bytes) {
            Ok(text) => text,
            Err(e) => {
                let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
                let line = 1 + valid.iter().filter(|b| **b == b'\n').count();
                let d = Diagnostic::error(path, line, "the file is not valid UTF-8");
                return Err(ConfigError::new(vec![d]));
            }
        };
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = file_name.strip_suffix(".env").unwrap_or(&file_name);
        Self::parse(name, path, text, cat)
    }

    /// Validates `text` as the config of service `name` against the keywords of `cat`; `path`
    /// only labels diagnostics.
    pub fn parse(
        name: &str,
        path: &Path,
        text: &str,
        cat: &Catalogue,
    ) -> Result<Loaded, ConfigError> {
        let mut diags = Vec::new();
        if !is_valid_service_name(name) {
            diags.push(Diagnostic::error(
                path,
                0,
                format!("invalid service name '{name}': use letters, digits, '.', '_' and '-'"),
            ));
        }
        let (raw, syntax) = ini::parse(path, text);
        diags.extend(syntax);
        let list = |key: &str| {
            raw.section(DEFAULT_SECTION)
                .and_then(|d| d.entries.iter().find(|e| e.key == key && e.scope.is_none()))
                .map(|e| split_list(&e.value))
                .unwrap_or_default()
        };
        let config = ServiceConfig {
            name: name.to_string(),
            nodes: list("nodes"),
            drpnodes: list("drpnodes"),
            encapnodes: list("encapnodes"),
            hash: hex_sha256(text.as_bytes()),
            raw,
        };
        diags.extend(validate::validate(&config, cat));
        if diags.iter().any(Diagnostic::is_error) {
            return Err(ConfigError::new(diags));
        }
        sort_diagnostics(&mut diags);
        Ok(Loaded {
            config,
            warnings: diags,
        })
    }

    pub(crate) fn lists(&self) -> Lists<'_> {
        Lists {
            nodes: &self.nodes,
            drpnodes: &self.drpnodes,
            encapnodes: &self.encapnodes,
        }
    }

    /// Resolves `key` of `section` for `node`: scoped spellings first, then DEFAULT.
    pub fn get(&self, section: &str, key: &str, node: &str) -> Option<Resolved<'_>> {
        let lists = self.lists();
        let found = resolve_in(self.raw.section(section)?, key, node, lists);
        if found.is_some() || section == DEFAULT_SECTION {
            return found;
        }
        resolve_in(self.raw.section(DEFAULT_SECTION)?, key, node, lists)
    }

    /// The resolved value split on commas and whitespace; empty when unset.
    pub fn get_list(&self, section: &str, key: &str, node: &str) -> Vec<String> {
        self.get(section, key, node)
            .map(|r| split_list(r.value))
            .unwrap_or_default()
    }

    /// True when a list of node names and nodes/drpnodes/encapnodes words covers `node`.
    pub fn list_includes(&self, words: &[String], node: &str) -> bool {
        let lists = self.lists();
        words.iter().any(|w| lists.word_includes(w, node))
    }

    /// The node's role in this service; `nodes` wins over `drpnodes` over `encapnodes`.
    pub fn role(&self, node: &str) -> Role {
        let has = |list: &[String]| list.iter().any(|n| n == node);
        if has(&self.nodes) {
            Role::Primary
        } else if has(&self.drpnodes) {
            Role::Drp
        } else if has(&self.encapnodes) {
            Role::Encap
        } else {
            Role::Foreign
        }
    }

    /// Every node of the service: nodes, then drpnodes, then encapnodes, without repeats.
    pub fn all_nodes(&self) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        for n in self
            .nodes
            .iter()
            .chain(&self.drpnodes)
            .chain(&self.encapnodes)
        {
            if !all.contains(n) {
                all.push(n.clone());
            }
        }
        all
    }

    /// Every resource section (all but DEFAULT and the `[subset#…]` sections), in file order.
    pub fn resource_sections(&self) -> impl Iterator<Item = &RawSection> {
        self.raw.sections.iter().filter(|s| {
            s.name != DEFAULT_SECTION && super::parallel::subset_section(&s.name).is_none()
        })
    }

    /// The resolved `type` of a section for `node`, lowercased.
    pub fn section_type(&self, section: &str, node: &str) -> Option<String> {
        self.get(section, "type", node)
            .map(|r| r.value.to_ascii_lowercase())
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Scope;

    const TEXT: &str = "\
[DEFAULT]
nodes = n1, n2
drpnodes = d1
docker_data_dir = /data
docker_daemon_args@nodes = --ip 1
docker_daemon_args@drpnodes = --ip 2

[container#1]
type = docker
run_image = img

[ip#1]
ipdev = eth0
ipdev@n2 = eth1
ipname@nodes = prod
ipname@drpnodes = drp
ipname = plain

[vg#1]
vgname = vg
always_on = drpnodes
optional_on = n2 d1
tags = a,b  c
";

    fn cfg() -> ServiceConfig {
        match ServiceConfig::parse(
            "svc",
            Path::new("svc.env"),
            TEXT,
            crate::drivers::catalogue(),
        ) {
            Ok(loaded) => {
                assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
                loaded.config
            }
            Err(e) => panic!("{e}"),
        }
    }

    fn value<'a>(c: &'a ServiceConfig, section: &str, key: &str, node: &str) -> Option<&'a str> {
        c.get(section, key, node).map(|r| r.value)
    }

    #[test]
    fn node_scope_beats_list_scope_beats_plain() {
        let c = cfg();
        assert_eq!(value(&c, "ip#1", "ipdev", "n2"), Some("eth1"));
        assert_eq!(value(&c, "ip#1", "ipdev", "n1"), Some("eth0"));
        assert_eq!(value(&c, "ip#1", "ipname", "n1"), Some("prod"));
        assert_eq!(value(&c, "ip#1", "ipname", "d1"), Some("drp"));
        assert_eq!(value(&c, "ip#1", "ipname", "stranger"), Some("plain"));
        let r = c.get("ip#1", "ipdev", "n2");
        assert_eq!(
            r.map(|r| (r.scope, r.line, r.section)),
            Some((Scope::Node("n2".into()), 14, "ip#1"))
        );
    }

    #[test]
    fn resource_sections_fall_back_to_scoped_default() {
        let c = cfg();
        let r = c.get("container#1", "docker_daemon_args", "d1");
        assert_eq!(
            r.map(|r| (r.value, r.scope, r.section)),
            Some(("--ip 2", Scope::DrpNodes, "DEFAULT"))
        );
        assert_eq!(
            value(&c, "container#1", "docker_daemon_args", "n1"),
            Some("--ip 1")
        );
        assert_eq!(
            value(&c, "container#1", "docker_data_dir", "d1"),
            Some("/data")
        );
        assert_eq!(value(&c, "container#1", "nope", "d1"), None);
        assert_eq!(value(&c, "nosuch#1", "nodes", "d1"), None);
    }

    #[test]
    fn drpnodes_value_never_applies_on_a_production_node() {
        let c = cfg();
        for node in ["n1", "n2"] {
            let r = c.get("container#1", "docker_daemon_args", node);
            assert_eq!(r.map(|r| r.scope), Some(Scope::Nodes), "{node}");
        }
        assert_eq!(
            value(&c, "container#1", "docker_daemon_args", "stranger"),
            None
        );
    }

    #[test]
    fn list_keywords_hold_node_names_and_list_words() {
        let c = cfg();
        let always_on = c.get_list("vg#1", "always_on", "n1");
        assert_eq!(always_on, ["drpnodes"]);
        assert!(c.list_includes(&always_on, "d1"));
        assert!(!c.list_includes(&always_on, "n1"));
        let optional_on = c.get_list("vg#1", "optional_on", "n1");
        assert!(c.list_includes(&optional_on, "n2"));
        assert!(c.list_includes(&optional_on, "d1"));
        assert!(!c.list_includes(&optional_on, "n1"));
        assert!(c.list_includes(&["nodes".to_string()], "n1"));
        assert!(!c.list_includes(&["n".to_string()], "n1"));
    }

    #[test]
    fn get_list_splits_on_commas_and_whitespace() {
        let c = cfg();
        assert_eq!(c.get_list("vg#1", "tags", "n1"), ["a", "b", "c"]);
        assert_eq!(c.get_list("DEFAULT", "nodes", "x"), ["n1", "n2"]);
        assert!(c.get_list("vg#1", "absent", "n1").is_empty());
    }

    #[test]
    fn roles_and_nodes() {
        let c = cfg();
        assert_eq!(c.role("n2"), Role::Primary);
        assert_eq!(c.role("d1"), Role::Drp);
        assert_eq!(c.role("x"), Role::Foreign);
        assert_eq!(c.all_nodes(), ["n1", "n2", "d1"]);
        let rids: Vec<&str> = c.resource_sections().map(|s| s.name.as_str()).collect();
        assert_eq!(rids, ["container#1", "ip#1", "vg#1"]);
        assert_eq!(
            c.section_type("container#1", "n1").as_deref(),
            Some("docker")
        );
        assert_eq!(c.section_type("ip#1", "n1"), None);
    }

    #[test]
    fn hash_is_sha256_of_the_text() {
        let c = cfg();
        assert_eq!(c.hash.len(), 64);
        assert_eq!(c.hash, hex_sha256(TEXT.as_bytes()));
    }

    #[test]
    fn load_reports_unreadable_files_and_takes_the_name_from_the_file() {
        let Err(e) =
            ServiceConfig::load(Path::new("/nonexistent/x.env"), crate::drivers::catalogue())
        else {
            panic!("loaded a missing file");
        };
        assert!(
            e.to_string()
                .starts_with("error: /nonexistent/x.env:0: cannot read"),
            "{e}"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("my.svc.env");
        std::fs::write(&path, TEXT).expect("write");
        let loaded = ServiceConfig::load(&path, crate::drivers::catalogue()).expect("load");
        assert_eq!(loaded.config.name, "my.svc");
        let bad = dir.path().join("bad.env");
        std::fs::write(&bad, b"[DEFAULT]\nnodes = \xff\n").expect("write");
        let e = ServiceConfig::load(&bad, crate::drivers::catalogue()).expect_err("invalid utf-8");
        assert_eq!(e.diagnostics[0].line, 2);
    }
}
