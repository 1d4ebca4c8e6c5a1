//! User and group drift between a production node and a DRP node. Production's `sync#i1` sends,
//! beside its system files, who owns the service's files and runs its processes there
//! ([`ServiceOwners`], a file in the copy); the DRP node compares those ids, by name, with its
//! own users and groups. `drpilot svc SVC print drift --format json` prints the [`DriftReport`];
//! the runbooks' preflight reads it.

use serde::{Deserialize, Serialize};

/// Where production writes its [`ServiceOwners`], relative to the copy of its system files.
pub const OWNERS_FILE: &str = "drpilot-service-owners.json";

/// One numeric owner (a uid or a gid) seen on production.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerUse {
    /// The numeric id.
    pub id: u32,
    /// How many of the service's files it owns (as far as the scan went).
    pub files: u64,
    /// A few of those files, as configured paths (`/opt/app/data/x`).
    pub examples: Vec<String>,
    /// The commands of the service's processes running with it.
    pub processes: Vec<String>,
}

/// Who owns the service's files and runs its processes on one production node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceOwners {
    /// The production node.
    pub node: String,
    /// When the scan ran (RFC 3339).
    pub scanned_at: String,
    /// The directories scanned (the service's mount points).
    pub roots: Vec<String>,
    /// The scan stopped at its limit of entries: counts are lower bounds.
    pub truncated: bool,
    /// Owners by uid.
    pub users: Vec<OwnerUse>,
    /// Owners by gid.
    pub groups: Vec<OwnerUse>,
}

/// Whether a row is about a user or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdKind {
    /// A uid, named in passwd.
    User,
    /// A gid, named in group.
    Group,
}

impl IdKind {
    /// `user` or `group`.
    pub fn word(self) -> &'static str {
        match self {
            IdKind::User => "user",
            IdKind::Group => "group",
        }
    }

    /// `uid` or `gid`.
    pub fn id_word(self) -> &'static str {
        match self {
            IdKind::User => "uid",
            IdKind::Group => "gid",
        }
    }
}

/// How one id of production fares on this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Same name, same id on both nodes.
    Same,
    /// The name has another id here.
    Differs {
        /// Its id on this node.
        here: u32,
    },
    /// The name does not exist here.
    Missing,
    /// Production has no name for the id: files keep the number, nothing to compare.
    Unnamed,
}

/// One user or group the service uses on production, compared with this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdCheck {
    /// User or group.
    pub kind: IdKind,
    /// Its name on production (empty when production has none).
    pub name: String,
    /// Its id on production.
    pub prod_id: u32,
    /// The comparison.
    pub verdict: Verdict,
    /// Who holds `prod_id` on this node, when someone does: the owner the files get here.
    pub holder_here: Option<String>,
    /// How many of the service's files it owns on production.
    pub files: u64,
    /// A few of them.
    pub examples: Vec<String>,
    /// The service's processes running with it on production.
    pub processes: Vec<String>,
    /// The command that fixes a drift on this node.
    pub fix: Option<String>,
}

impl IdCheck {
    /// `user app (uid 1500)`, as messages name it.
    pub fn what(&self) -> String {
        format!(
            "{} {} ({} {})",
            self.kind.word(),
            self.name,
            self.kind.id_word(),
            self.prod_id
        )
    }

    /// How the id stands on `node` for a drift: `1501 on deb2`, `missing on deb2`.
    pub fn here_on(&self, node: &str) -> String {
        match &self.verdict {
            Verdict::Differs { here } => format!("{here} on {node}"),
            _ => format!("missing on {node}"),
        }
    }

    /// The service's files it concerns, when production's files use it: `3 of the service's
    /// files would not be app's: /a, /b, ...`.
    pub fn files_sentence(&self) -> Option<String> {
        (self.files > 0).then(|| {
            let more = if self.files > self.examples.len() as u64 {
                ", ..."
            } else {
                ""
            };
            format!(
                "{} of the service's files would not be {}'s: {}{more}",
                self.files,
                self.name,
                self.examples.join(", ")
            )
        })
    }

    /// Whether this row is a drift (the service would not run here as on production).
    pub fn is_drift(&self) -> bool {
        matches!(self.verdict, Verdict::Differs { .. } | Verdict::Missing)
    }
}

/// The drift check of one service on one DRP node, against one production node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftReport {
    /// The service.
    pub svc: String,
    /// This node (the DRP node judged).
    pub node: String,
    /// The production node compared with.
    pub prod: String,
    /// When production's system files were last received here (RFC 3339); `None`: never.
    pub copied_at: Option<String>,
    /// Why the check could not be made (no copy of production's files yet); empty when made.
    pub not_checked: Option<String>,
    /// The owners scan stopped at its limit: counts are lower bounds.
    pub truncated: bool,
    /// Every id the service uses on production.
    pub checks: Vec<IdCheck>,
}

impl DriftReport {
    /// The rows that are drifts.
    pub fn drifts(&self) -> impl Iterator<Item = &IdCheck> {
        self.checks.iter().filter(|c| c.is_drift())
    }
}
