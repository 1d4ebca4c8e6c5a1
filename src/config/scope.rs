//! Per-node scoping, in OpenSVC's order (first match wins): `key@<node>`, `key@nodes`,
//! `key@drpnodes`, `key@encapnodes`, plain `key` — in the section, then in `[DEFAULT]`.

use std::fmt;

use super::ini::{RawEntry, RawSection};

/// Which spelling of a key supplied a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `key@<nodename>`.
    Node(String),
    /// `key@nodes`: production nodes.
    Nodes,
    /// `key@drpnodes`: disaster-recovery nodes.
    DrpNodes,
    /// `key@encapnodes`: encapsulated nodes.
    EncapNodes,
    /// Plain `key`: every node.
    Plain,
}

impl Scope {
    /// Interprets the text after '@' (or its absence).
    pub fn from_written(scope: Option<&str>) -> Self {
        match scope {
            None => Scope::Plain,
            Some("nodes") => Scope::Nodes,
            Some("drpnodes") => Scope::DrpNodes,
            Some("encapnodes") => Scope::EncapNodes,
            Some(node) => Scope::Node(node.to_string()),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Node(node) => write!(f, "@{node}"),
            Scope::Nodes => f.write_str("@nodes"),
            Scope::DrpNodes => f.write_str("@drpnodes"),
            Scope::EncapNodes => f.write_str("@encapnodes"),
            Scope::Plain => f.write_str("plain"),
        }
    }
}

/// A value resolved for one node, with where it came from (for `print config` and diagnostics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved<'a> {
    /// The value, trimmed.
    pub value: &'a str,
    /// The spelling that won.
    pub scope: Scope,
    /// Line of the winning entry.
    pub line: usize,
    /// Where it was found: the section itself or `DEFAULT`.
    pub section: &'a str,
}

/// The service's node lists, which decide whether `@nodes`/`@drpnodes`/`@encapnodes` apply.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lists<'a> {
    pub nodes: &'a [String],
    pub drpnodes: &'a [String],
    pub encapnodes: &'a [String],
}

impl Lists<'_> {
    /// True when a scope word or node name covers `node`.
    pub fn scope_applies(&self, scope: &Scope, node: &str) -> bool {
        let has = |list: &[String]| list.iter().any(|n| n == node);
        match scope {
            Scope::Node(name) => name == node,
            Scope::Nodes => has(self.nodes),
            Scope::DrpNodes => has(self.drpnodes),
            Scope::EncapNodes => has(self.encapnodes),
            Scope::Plain => true,
        }
    }

    /// True when `word` (a node name or nodes/drpnodes/encapnodes) covers `node`.
    pub fn word_includes(&self, word: &str, node: &str) -> bool {
        self.scope_applies(&Scope::from_written(Some(word)), node)
    }
}

/// Resolves `key` for `node` inside one section only (no DEFAULT fallback).
pub(crate) fn resolve_in<'a>(
    section: &'a RawSection,
    key: &str,
    node: &str,
    lists: Lists<'_>,
) -> Option<Resolved<'a>> {
    let candidates: Vec<(&'a RawEntry, Scope)> = section
        .entries
        .iter()
        .filter(|e| e.key.eq_ignore_ascii_case(key))
        .map(|e| (e, Scope::from_written(e.scope.as_deref())))
        .collect();
    let order = [
        Scope::Node(node.to_string()),
        Scope::Nodes,
        Scope::DrpNodes,
        Scope::EncapNodes,
        Scope::Plain,
    ];
    order
        .iter()
        .filter(|scope| lists.scope_applies(scope, node))
        .find_map(|scope| candidates.iter().find(|(_, s)| s == scope))
        .map(|(entry, scope)| Resolved {
            value: entry.value.as_str(),
            scope: scope.clone(),
            line: entry.line,
            section: section.name.as_str(),
        })
}

/// Splits a list value on commas and whitespace, dropping empty words.
pub(crate) fn split_list(value: &str) -> Vec<String> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, scope: Option<&str>, value: &str, line: usize) -> RawEntry {
        RawEntry {
            key: key.to_string(),
            scope: scope.map(str::to_string),
            value: value.to_string(),
            line,
        }
    }

    #[test]
    fn order_is_node_then_lists_then_plain() {
        let nodes = vec!["n1".to_string()];
        let drp = vec!["d1".to_string()];
        let lists = Lists {
            nodes: &nodes,
            drpnodes: &drp,
            encapnodes: &[],
        };
        let section = RawSection {
            name: "ip#1".into(),
            line: 1,
            entries: vec![
                entry("k", None, "plain", 2),
                entry("k", Some("drpnodes"), "drp", 3),
                entry("k", Some("n1"), "n1", 4),
            ],
        };
        let v = |node: &str| resolve_in(&section, "k", node, lists).map(|r| r.value);
        assert_eq!(v("n1"), Some("n1"));
        assert_eq!(v("d1"), Some("drp"));
        assert_eq!(v("other"), Some("plain"));
        let r = resolve_in(&section, "k", "d1", lists);
        assert_eq!(r.map(|r| (r.scope, r.line)), Some((Scope::DrpNodes, 3)));
    }

    #[test]
    fn displays_scopes() {
        assert_eq!(Scope::Node("deb2".into()).to_string(), "@deb2");
        assert_eq!(Scope::Nodes.to_string(), "@nodes");
        assert_eq!(Scope::DrpNodes.to_string(), "@drpnodes");
        assert_eq!(Scope::EncapNodes.to_string(), "@encapnodes");
        assert_eq!(Scope::Plain.to_string(), "plain");
    }

    #[test]
    fn splits_lists() {
        assert_eq!(split_list(" a, b\tc,,d "), ["a", "b", "c", "d"]);
        assert!(split_list(" , ").is_empty());
    }
}
