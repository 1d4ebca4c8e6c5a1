//! The node address map (`nodes.toml`): `[nodes] deb1 = "ssh://root@deb1.example.org"`.

use std::collections::BTreeMap;
use std::path::Path;

use color_eyre::eyre::{eyre, Result, WrapErr};
use serde::{Deserialize, Serialize};

use super::NodeAddress;

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct NodeMapFile {
    #[serde(default)]
    nodes: BTreeMap<String, String>,
}

/// Node name to address; a node missing from the map is the ssh host of the same name.
#[derive(Debug, Default, Clone)]
pub struct NodeMap {
    entries: BTreeMap<String, NodeAddress>,
}

impl NodeMap {
    /// Reads a map file; a missing file is an empty map (every node reached by ssh).
    pub fn load(path: &Path) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(e).wrap_err_with(|| format!("reading {}", path.display())),
        };
        Self::parse(&text).wrap_err_with(|| format!("{}", path.display()))
    }

    /// Parses the TOML text of a map.
    pub fn parse(text: &str) -> Result<Self> {
        let file: NodeMapFile = toml::from_str(text).map_err(|e| eyre!("{e}"))?;
        let mut entries = BTreeMap::new();
        for (node, addr) in file.nodes {
            let parsed = NodeAddress::parse(&addr).wrap_err_with(|| format!("node {node}"))?;
            entries.insert(node, parsed);
        }
        Ok(Self { entries })
    }

    /// Adds or replaces one node's address.
    pub fn insert(&mut self, node: &str, addr: NodeAddress) {
        self.entries.insert(node.to_string(), addr);
    }

    /// The address of `node`: the mapped one, or ssh to the node name.
    pub fn address_of(&self, node: &str) -> NodeAddress {
        self.entries.get(node).cloned().unwrap_or(NodeAddress::Ssh {
            user: None,
            host: node.to_string(),
            port: None,
        })
    }

    /// The TOML text of the map.
    pub fn to_toml(&self) -> String {
        let file = NodeMapFile {
            nodes: self
                .entries
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
        };
        toml::to_string(&file).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn round_trips_and_rejects_bad_addresses() {
        let map = NodeMap::parse("[nodes]\ndeb1 = \"ssh://root@h:22\"\n").unwrap();
        let again = NodeMap::parse(&map.to_toml()).unwrap();
        assert_eq!(again.address_of("deb1"), map.address_of("deb1"));
        let err = NodeMap::parse("[nodes]\ndeb1 = \"ftp://x\"\n").unwrap_err();
        assert!(format!("{err:#}").contains("deb1"));
    }
}
