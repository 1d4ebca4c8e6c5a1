//! Keywords every resource type shares: `always_on`, `disable`, `disable_on`, `optional`,
//! `optional_on`, `monitor`, resolved for the local node.

use crate::config::KeywordSpec;
use crate::config::ServiceConfig;
use crate::status::{Flags, Status};

/// A resource's shared attributes on this node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Common {
    /// The node is in `always_on`: the resource reports `stdby up`/`stdby down` and stays up on stop.
    pub standby: bool,
    /// The resource is disabled here: `n/a`, never acted on.
    pub disabled: bool,
    /// A failure of this resource does not fail the action.
    pub optional: bool,
    /// Monitored (the M flag).
    pub monitored: bool,
}

/// The keywords every resource section understands, whatever its kind.
pub(crate) const KEYWORDS: &[KeywordSpec] = &[
    KeywordSpec::opt(
        "always_on",
        "nodes where the resource is started even in standby (node names, nodes, drpnodes)",
    ),
    KeywordSpec::opt(
        "optional",
        "a failure of this resource does not fail the action",
    ),
    KeywordSpec::opt("optional_on", "nodes where the resource is optional"),
    KeywordSpec::opt("disable", "the resource is ignored by every action"),
    KeywordSpec::opt("disable_on", "nodes where the resource is disabled"),
    KeywordSpec::opt("monitor", "a failure of this resource is a service failure"),
    KeywordSpec::opt("comment", "free text for humans"),
    KeywordSpec::opt("tags", "words to select resources with"),
    KeywordSpec::opt(
        "subset",
        "subset of its group the resource belongs to: after the group's other resources, \
         subsets by name, side by side when [subset#GROUP:NAME] says parallel = true",
    ),
];

fn truthy(v: Option<String>) -> bool {
    matches!(
        v.as_deref().map(str::to_ascii_lowercase).as_deref(),
        Some("true" | "yes" | "1" | "on")
    )
}

impl Common {
    /// Resolves the shared keywords of `rid` for `node`.
    pub fn resolve(cfg: &ServiceConfig, rid: &str, node: &str) -> Self {
        let get = |k: &str| cfg.get(rid, k, node).map(|r| r.value.to_string());
        let on = |k: &str| {
            let words = cfg.get_list(rid, k, node);
            !words.is_empty() && cfg.list_includes(&words, node)
        };
        Self {
            standby: on("always_on"),
            disabled: truthy(get("disable")) || on("disable_on"),
            optional: truthy(get("optional")) || on("optional_on"),
            monitored: truthy(get("monitor")),
        }
    }

    /// The 4-character flags of the status tree.
    pub fn flags(&self) -> Flags {
        Flags {
            monitored: self.monitored,
            disabled: self.disabled,
            optional: self.optional,
            encap: false,
        }
    }

    /// Applies disable and standby to a driver's status.
    pub fn effective(&self, status: Status, comments: Vec<String>) -> (Status, Vec<String>) {
        if self.disabled {
            return (Status::NotApplicable, vec!["disabled".to_string()]);
        }
        let status = match (self.standby, status) {
            (true, Status::Up) => Status::StdbyUp,
            (true, Status::Down) => Status::StdbyDown,
            (_, s) => s,
        };
        (status, comments)
    }
}
