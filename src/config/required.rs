//! Required keywords must resolve, after scoping and the DEFAULT fallback, on every node that
//! may run the service (`nodes` and `drpnodes`): a value scoped only for the production node
//! would otherwise surface as a failed start on the DRP node, on the day it is needed.

use super::diagnostic::Diagnostic;
use super::ini::{RawSection, DEFAULT_SECTION};
use super::keywords::Catalogue;
use super::scope::Scope;
use super::service::ServiceConfig;

/// Reports required keywords of `section` (of resource kind `kind`) missing on some node.
pub(crate) fn check(
    cfg: &ServiceConfig,
    cat: &Catalogue,
    section: &RawSection,
    kind: &str,
    out: &mut Vec<Diagnostic>,
) {
    let mut targets: Vec<&String> = Vec::new();
    for n in cfg.nodes.iter().chain(&cfg.drpnodes) {
        if !targets.contains(&n) {
            targets.push(n);
        }
    }
    for spec in cat.specs_for(kind).filter(|s| s.required) {
        let mut absent: Vec<&str> = Vec::new();
        let mut empty: Vec<(&str, usize)> = Vec::new();
        for node in &targets {
            if !spec.types.is_empty() {
                match cfg.section_type(&section.name, node) {
                    Some(t) if spec.types.contains(&t.as_str()) => {}
                    _ => continue,
                }
            }
            match cfg.get(&section.name, spec.name, node) {
                None => absent.push(node.as_str()),
                Some(r) if r.value.is_empty() => empty.push((node.as_str(), r.line)),
                Some(_) => {}
            }
        }
        let error = |line: usize, message: String| {
            Diagnostic::error(&cfg.raw.path, line, message)
                .in_section(section.name.clone())
                .for_key(spec.name)
        };
        if !absent.is_empty() {
            let scopes = written_scopes(cfg, section, spec.name);
            let first_line = section
                .entries
                .iter()
                .find(|e| e.key == spec.name)
                .map_or(section.line, |e| e.line);
            if scopes.is_empty() {
                out.push(error(
                    section.line,
                    format!("missing required keyword {}", spec.name),
                ));
            } else {
                let plural = if absent.len() > 1 { "s" } else { "" };
                out.push(error(
                    first_line,
                    format!(
                        "{} has no value for node{plural} {} (only scoped for {})",
                        spec.name,
                        absent.join(", "),
                        scopes.join(", ")
                    ),
                ));
            }
        }
        if let Some((_, line)) = empty.first() {
            let nodes: Vec<&str> = empty.iter().map(|(n, _)| *n).collect();
            out.push(error(
                *line,
                format!(
                    "required keyword {} is empty for {}",
                    spec.name,
                    nodes.join(", ")
                ),
            ));
        }
    }
}

/// The scopes `key` is written with in the section and in DEFAULT, as words for a message.
fn written_scopes(cfg: &ServiceConfig, section: &RawSection, key: &str) -> Vec<String> {
    let default = cfg.raw.section(DEFAULT_SECTION);
    let mut words: Vec<String> = Vec::new();
    for entry in section
        .entries
        .iter()
        .chain(default.iter().flat_map(|d| d.entries.iter()))
        .filter(|e| e.key == key)
    {
        let word = match Scope::from_written(entry.scope.as_deref()) {
            Scope::Node(node) => node,
            Scope::Plain => "every node".to_string(),
            other => other.to_string().trim_start_matches('@').to_string(),
        };
        if !words.contains(&word) {
            words.push(word);
        }
    }
    words
}
