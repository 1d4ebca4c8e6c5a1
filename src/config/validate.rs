//! Semantic checks after reading: rids, node lists, keywords, `type` values and scopes.
//! Errors refuse the config; warnings flag what is legal but probably a mistake.

use super::diagnostic::Diagnostic;
use super::ini::{RawEntry, RawSection, DEFAULT_SECTION};
use super::keywords::{Catalogue, NODE_LIST_KEYWORDS, RESOURCE_KINDS};
use super::scope::{split_list, Scope};
use super::service::ServiceConfig;
use super::{command_values, required, suggest};

/// Rids the agent declares itself (config and system-file replication).
const RESERVED_RIDS: &[&str] = &["sync#i0", "sync#i1"];

const LIST_WORDS: &[&str] = &["nodes", "drpnodes", "encapnodes"];

/// Runs every semantic check against the keywords of `cat`; the result is unordered.
pub(crate) fn validate(cfg: &ServiceConfig, cat: &Catalogue) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    check_node_lists(cfg, &mut out);
    super::paths::check(cfg, &mut out);
    for section in &cfg.raw.sections {
        let kind = if section.name == DEFAULT_SECTION {
            Some(DEFAULT_SECTION)
        } else if super::parallel::subset_section(&section.name).is_some() {
            // Checked with the other ordering declarations (parallel.rs).
            None
        } else {
            check_rid(cfg, section, &mut out)
        };
        for entry in &section.entries {
            check_scope(cfg, section, entry, &mut out);
            if let Some(kind) = kind {
                check_keyword(cfg, cat, section, kind, entry, &mut out);
            }
        }
        if let Some(kind) = kind.filter(|k| *k != DEFAULT_SECTION) {
            required::check(cfg, cat, section, kind, &mut out);
        }
    }
    command_values::check(cfg, cat, &mut out);
    super::parallel::check(cfg, &mut out);
    out
}

fn at(cfg: &ServiceConfig, section: &RawSection, line: usize, message: String) -> Diagnostic {
    Diagnostic::error(&cfg.raw.path, line, message).in_section(section.name.clone())
}

fn warn(
    cfg: &ServiceConfig,
    section: &RawSection,
    entry: &RawEntry,
    message: String,
) -> Diagnostic {
    Diagnostic::warning(&cfg.raw.path, entry.line, message)
        .in_section(section.name.clone())
        .for_key(entry.written_key())
}

/// DEFAULT must exist and hold a plain, non-empty `nodes`; lists must not overlap.
fn check_node_lists(cfg: &ServiceConfig, out: &mut Vec<Diagnostic>) {
    let Some(default) = cfg.raw.section(DEFAULT_SECTION) else {
        out.push(
            Diagnostic::error(
                &cfg.raw.path,
                0,
                "missing [DEFAULT] section with the nodes keyword",
            )
            .in_section(DEFAULT_SECTION),
        );
        return;
    };
    for entry in &default.entries {
        if !LIST_WORDS.contains(&entry.key.as_str()) {
            continue;
        }
        let error =
            |message: String| at(cfg, default, entry.line, message).for_key(entry.written_key());
        if entry.scope.is_some() {
            out.push(error(format!(
                "{} cannot be scoped: node lists are read plain from [DEFAULT]",
                entry.key
            )));
            continue;
        }
        for node in split_list(&entry.value) {
            if LIST_WORDS.contains(&node.as_str()) {
                out.push(error(format!("'{node}' cannot be a node name")));
            } else if !node
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            {
                out.push(error(format!(
                    "invalid node name '{node}': use letters, digits, '.', '_' and '-'"
                )));
            }
        }
    }
    if !default
        .entries
        .iter()
        .any(|e| e.key == "nodes" && e.scope.is_none())
    {
        out.push(
            at(
                cfg,
                default,
                default.line,
                "missing required keyword nodes".to_string(),
            )
            .for_key("nodes"),
        );
    } else if cfg.nodes.is_empty() {
        let line = default
            .entries
            .iter()
            .find(|e| e.key == "nodes")
            .map_or(default.line, |e| e.line);
        out.push(at(cfg, default, line, "nodes is empty".to_string()).for_key("nodes"));
    }
    for (i, node) in cfg.nodes.iter().enumerate() {
        if cfg.drpnodes.contains(node) && !cfg.nodes[..i].contains(node) {
            let line = default
                .entries
                .iter()
                .find(|e| e.key == "drpnodes" && e.scope.is_none())
                .map_or(default.line, |e| e.line);
            out.push(
                at(
                    cfg,
                    default,
                    line,
                    format!("node {node} is in both nodes and drpnodes"),
                )
                .for_key("drpnodes"),
            );
        }
    }
}

/// Checks a rid's form and kind; returns the kind when the section can be checked further.
fn check_rid(
    cfg: &ServiceConfig,
    section: &RawSection,
    out: &mut Vec<Diagnostic>,
) -> Option<&'static str> {
    let name = section.name.as_str();
    let (kind, id) = match name.split_once('#') {
        Some((kind, id)) => (kind, Some(id)),
        None => (name, None),
    };
    let known = RESOURCE_KINDS.iter().copied().find(|k| *k == kind);
    let problem = match (known, id) {
        (None, _) => Some(format!(
            "unknown resource type '{kind}': sections are [DEFAULT] or [<kind>#<id>] with kind one of {}",
            RESOURCE_KINDS.join(", ")
        )),
        (Some(_), None) => Some(format!("rid {name} has no '#<id>': write [{kind}#1]")),
        (Some(_), Some(id))
            if !crate::protocol::names::is_rid_id(id) =>
        {
            Some(format!("invalid rid {name}: the id after '#' uses letters, digits and '_'"))
        }
        _ if RESERVED_RIDS.contains(&name) => Some(format!(
            "rid {name} is reserved for the agent's internal replication: pick another id"
        )),
        _ => None,
    };
    match problem {
        Some(message) => {
            out.push(at(cfg, section, section.line, message));
            None
        }
        None => known,
    }
}

/// Unknown keywords and keywords of another type (warnings), unknown `type` values (errors).
fn check_keyword(
    cfg: &ServiceConfig,
    cat: &Catalogue,
    section: &RawSection,
    kind: &str,
    entry: &RawEntry,
    out: &mut Vec<Diagnostic>,
) {
    let allowed_types = cat.resource_types(kind);
    if entry.key == "type" && !allowed_types.is_empty() {
        let value = entry.value.to_ascii_lowercase();
        if !allowed_types.contains(&value.as_str()) {
            out.push(
                at(
                    cfg,
                    section,
                    entry.line,
                    format!(
                        "unknown {kind} type '{}': use one of {}",
                        entry.value,
                        allowed_types.join(", ")
                    ),
                )
                .for_key(entry.written_key()),
            );
        }
        return;
    }
    match cat.find(kind, &entry.key) {
        None if entry.key == "type" => {
            out.push(warn(
                cfg,
                section,
                entry,
                format!("{kind} resources have no type keyword"),
            ));
        }
        None => {
            let names = cat.specs_for(kind).map(|s| s.name);
            let message = match suggest::closest(&entry.key, names) {
                Some(near) => format!("unknown keyword, did you mean {near}?"),
                None => "unknown keyword".to_string(),
            };
            out.push(warn(cfg, section, entry, message));
        }
        Some(spec) if !spec.types.is_empty() => {
            let used = cfg
                .all_nodes()
                .iter()
                .filter_map(|n| cfg.section_type(&section.name, n))
                .any(|t| spec.types.contains(&t.as_str()));
            if !used {
                out.push(warn(
                    cfg,
                    section,
                    entry,
                    format!(
                        "{} only applies to {kind} type {}: ignored here",
                        spec.name,
                        spec.types.join(", ")
                    ),
                ));
            }
        }
        Some(_) => {}
    }
    if NODE_LIST_KEYWORDS.contains(&entry.key.as_str()) {
        for word in split_list(&entry.value) {
            if !LIST_WORDS.contains(&word.as_str()) && !cfg.all_nodes().contains(&word) {
                out.push(warn(
                    cfg,
                    section,
                    entry,
                    format!("{word} is in neither nodes nor drpnodes: it never matches"),
                ));
            }
        }
    }
}

/// A scope naming an unknown node, or an empty node list, silently never applies: warn.
fn check_scope(
    cfg: &ServiceConfig,
    section: &RawSection,
    entry: &RawEntry,
    out: &mut Vec<Diagnostic>,
) {
    let scope = Scope::from_written(entry.scope.as_deref());
    let message = match &scope {
        Scope::Node(node) if !cfg.all_nodes().contains(node) => Some(format!(
            "scope {scope} names a node in neither nodes nor drpnodes: this value never applies"
        )),
        Scope::DrpNodes if cfg.drpnodes.is_empty() => Some(format!(
            "scope {scope}: drpnodes is empty, this value never applies"
        )),
        Scope::EncapNodes if cfg.encapnodes.is_empty() => Some(format!(
            "scope {scope}: encapnodes is empty, this value never applies"
        )),
        _ => None,
    };
    if let Some(message) = message {
        out.push(warn(cfg, section, entry, message));
    }
}
