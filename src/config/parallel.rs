//! What may run side by side, as the config declares it; nothing does unless declared here.
//! - OpenSVC's `subset = NAME` on resources of one group, with a `[subset#GROUP:NAME]` section
//!   whose `parallel = true` starts (and stops) the subset's members side by side. Within a
//!   group, resources without a subset come first, then the subsets by name.
//! - `[DEFAULT] parallel_groups = ip | disk fs` (drpilot's): groups that do not depend on each
//!   other run as lanes side by side, each lane in the start order; the groups after them wait
//!   for every lane. The seed's order (ip, disk, fs, container, app) holds everywhere else.

use std::collections::BTreeSet;

use super::diagnostic::Diagnostic;
use super::ini::{RawSection, DEFAULT_SECTION};
use super::service::ServiceConfig;
use crate::status::group_of;

/// The groups a start brings up, in the OpenSVC tutorial's order (a stop runs them backwards).
pub const START_GROUPS: [&str; 5] = ["ip", "disk", "fs", "container", "app"];

/// The `[DEFAULT]` keyword of the lanes.
pub const PARALLEL_GROUPS: &str = "parallel_groups";

/// What the config declares for this node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Declared {
    /// Lanes of `parallel_groups`, each a list of groups in start order; empty when unset or
    /// invalid (validation reports why).
    pub lanes: Vec<Vec<String>>,
    /// `(group, subset)` pairs whose section says `parallel = true`.
    pub parallel_subsets: BTreeSet<(String, String)>,
}

impl Declared {
    /// Reads the declarations for `node`.
    pub fn of(cfg: &ServiceConfig, node: &str) -> Self {
        let lanes = cfg
            .get(DEFAULT_SECTION, PARALLEL_GROUPS, node)
            .and_then(|r| parse_lanes(r.value, &present_groups(cfg)).ok())
            .unwrap_or_default();
        let parallel_subsets = cfg
            .raw
            .sections
            .iter()
            .filter_map(|s| subset_section(&s.name).map(|gs| (s, gs)))
            .filter(|(s, _)| {
                cfg.get(&s.name, "parallel", node)
                    .is_some_and(|r| parse_bool(r.value) == Some(true))
            })
            .map(|(_, (g, n))| (g.to_string(), n.to_string()))
            .collect();
        Self {
            lanes,
            parallel_subsets,
        }
    }

    /// Whether the subset `name` of `group` runs side by side.
    pub fn subset_is_parallel(&self, group: &str, name: &str) -> bool {
        self.parallel_subsets
            .contains(&(group.to_string(), name.to_string()))
    }
}

/// `subset#GROUP:NAME` → `(GROUP, NAME)`.
pub fn subset_section(name: &str) -> Option<(&str, &str)> {
    name.strip_prefix("subset#")?.split_once(':')
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "on" => Some(true),
        "false" | "no" | "0" | "off" => Some(false),
        _ => None,
    }
}

/// The start groups that have at least one resource section in the config.
fn present_groups(cfg: &ServiceConfig) -> Vec<&'static str> {
    START_GROUPS
        .iter()
        .copied()
        .filter(|g| {
            cfg.resource_sections()
                .any(|s| group_of(&s.name) == *g && !s.name.starts_with("sync#"))
        })
        .collect()
}

/// Parses `ip | disk fs` into lanes, checking each rule; the error says what to write.
pub fn parse_lanes(value: &str, present: &[&str]) -> Result<Vec<Vec<String>>, String> {
    let order = |g: &str| START_GROUPS.iter().position(|x| *x == g);
    let mut lanes: Vec<Vec<String>> = Vec::new();
    let mut seen = BTreeSet::new();
    for part in value.split('|') {
        let lane: Vec<String> = part.split_whitespace().map(str::to_string).collect();
        if lane.is_empty() {
            return Err("an empty lane: write groups between the '|', e.g. ip | disk fs".into());
        }
        for g in &lane {
            if order(g).is_none() {
                return Err(format!(
                    "unknown group '{g}': use {}",
                    START_GROUPS.join(", ")
                ));
            }
            if !seen.insert(g.clone()) {
                return Err(format!("group {g} is in two lanes"));
            }
        }
        if let Some(w) = lane.windows(2).find(|w| order(&w[0]) > order(&w[1])) {
            return Err(format!(
                "{} before {}: a lane keeps the start order {}",
                w[0],
                w[1],
                START_GROUPS.join(", ")
            ));
        }
        lanes.push(lane);
    }
    if lanes.len() < 2 {
        return Err("one lane only: separate the groups that run side by side with '|'".into());
    }
    // The listed groups must follow each other in the start order (among the groups this
    // service has): a group left between two lanes would have no place.
    let listed: Vec<usize> = present
        .iter()
        .enumerate()
        .filter(|(_, g)| seen.contains(**g))
        .map(|(i, _)| i)
        .collect();
    if let (Some(first), Some(last)) = (listed.first(), listed.last()) {
        if let Some(between) = present[*first..=*last].iter().find(|g| !seen.contains(**g)) {
            return Err(format!(
                "group {between} sits between the listed groups in the start order: put it in a lane"
            ));
        }
    }
    Ok(lanes)
}

/// Checks `parallel_groups`, the `[subset#…]` sections and the `subset` keywords.
pub(crate) fn check(cfg: &ServiceConfig, out: &mut Vec<Diagnostic>) {
    let present = present_groups(cfg);
    if let Some(default) = cfg.raw.section(DEFAULT_SECTION) {
        for e in default.entries.iter().filter(|e| e.key == PARALLEL_GROUPS) {
            if let Err(why) = parse_lanes(&e.value, &present) {
                out.push(
                    Diagnostic::error(&cfg.raw.path, e.line, why)
                        .in_section(DEFAULT_SECTION)
                        .for_key(e.written_key()),
                );
            }
        }
    }
    for section in cfg.raw.sections.iter() {
        if let Some((group, name)) = subset_section(&section.name) {
            check_subset_section(cfg, section, group, name, out);
        }
    }
}

fn check_subset_section(
    cfg: &ServiceConfig,
    section: &RawSection,
    group: &str,
    name: &str,
    out: &mut Vec<Diagnostic>,
) {
    let error = |line: usize, message: String| {
        Diagnostic::error(&cfg.raw.path, line, message).in_section(section.name.clone())
    };
    if !START_GROUPS.contains(&group) {
        out.push(error(
            section.line,
            format!(
                "unknown group '{group}' in [subset#{group}:{name}]: use {}",
                START_GROUPS.join(", ")
            ),
        ));
        return;
    }
    if !crate::protocol::names::is_rid_id(name) {
        out.push(error(
            section.line,
            format!("invalid subset name '{name}': use letters, digits and '_'"),
        ));
    }
    for e in &section.entries {
        match e.key.as_str() {
            "parallel" if parse_bool(&e.value).is_none() => out.push(
                error(e.line, format!("'{}' is not true or false", e.value))
                    .for_key(e.written_key()),
            ),
            "parallel" | "comment" => {}
            _ => out.push(
                Diagnostic::warning(
                    &cfg.raw.path,
                    e.line,
                    "unknown keyword: a subset section takes parallel and comment",
                )
                .in_section(section.name.clone())
                .for_key(e.written_key()),
            ),
        }
    }
    let used = cfg.resource_sections().any(|s| {
        group_of(&s.name) == group
            && s.entries
                .iter()
                .any(|e| e.key == "subset" && e.value.trim() == name)
    });
    if !used {
        out.push(
            Diagnostic::warning(
                &cfg.raw.path,
                section.line,
                format!("no {group} resource has subset = {name}: this section changes nothing"),
            )
            .in_section(section.name.clone()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[&str] = &["ip", "disk", "fs", "container", "app"];

    #[test]
    fn lanes_are_groups_between_bars_in_start_order() {
        assert_eq!(
            parse_lanes("ip | disk fs", ALL),
            Ok(vec![
                vec!["ip".to_string()],
                vec!["disk".into(), "fs".into()]
            ])
        );
        assert!(parse_lanes("ip | fs disk", ALL)
            .unwrap_err()
            .contains("fs before disk"));
        assert!(parse_lanes("ip | web", ALL)
            .unwrap_err()
            .contains("unknown group 'web'"));
        assert!(parse_lanes("ip | ip", ALL)
            .unwrap_err()
            .contains("two lanes"));
        assert!(parse_lanes("ip fs", ALL).unwrap_err().contains("one lane"));
        assert!(parse_lanes("ip || fs", ALL)
            .unwrap_err()
            .contains("empty lane"));
    }

    #[test]
    fn a_group_between_the_lanes_must_be_named_unless_the_service_has_none() {
        assert!(parse_lanes("ip | fs", ALL)
            .unwrap_err()
            .contains("group disk sits between"));
        assert!(parse_lanes("ip | fs", &["ip", "fs", "container"]).is_ok());
    }

    #[test]
    fn subset_sections_name_their_group_and_subset() {
        assert_eq!(
            subset_section("subset#app:workers"),
            Some(("app", "workers"))
        );
        assert_eq!(subset_section("app#1"), None);
    }
}
