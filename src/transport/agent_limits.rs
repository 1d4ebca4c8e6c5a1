//! What a node's agent leaves undone that drpilot's own agent does: an OpenSVC node holds no
//! run lease or journal, guards no start against split brain, reports no sync progress, and
//! cuts access or checks the application only where its node map says how. The runbooks read
//! these from the node map, list them in the preflight and go around each one visibly: the
//! one place where the seat learns what it must do itself.

use super::{Flavor, NodeOptions};

/// One thing a node's agent does not do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lack {
    /// It holds no run lease and no copy of the journal: both live on the seat alone.
    RunState,
    /// Its start does not ask the other nodes first: the seat runs the split-brain guard.
    StartGuard,
    /// No command cuts user access (`cut_access` unset): the operator does it by hand.
    CutAccess,
    /// No application check (`app_check` unset): the status tree is the only check.
    AppCheck,
    /// A sync's progress is not reported while it runs: its log comes at its end.
    SyncProgress,
    /// No copy of production's users and groups for drpilot to compare: no drift check.
    DriftCheck,
}

impl Lack {
    /// What the runbook does instead, in the operator's words: `nodes` names the nodes (one, or
    /// several of the same agent), `agent` their agent.
    pub fn sentence(self, nodes: &str, agent: &str) -> String {
        let what = match self {
            Lack::RunState => {
                "no run lease or journal there; both stay on this seat, which allows one run at \
                 a time from this machine only"
            }
            Lack::StartGuard => {
                "no split-brain guard; this seat asks the other nodes before any start there"
            }
            Lack::CutAccess => {
                "no cut_access command in the node map; user access is cut by hand and the \
                 step journaled as skipped"
            }
            Lack::AppCheck => {
                "no app_check task in the node map; the application check is skipped, the \
                 status tree is the only check"
            }
            Lack::SyncProgress => "no sync progress is reported; a sync's log shows at its end",
            Lack::DriftCheck => {
                "no user and group drift check; compare the ids of the service's users in \
                 /etc/passwd and /etc/group of both nodes by hand"
            }
        };
        format!("{nodes} ({agent}): {what}")
    }
}

impl NodeOptions {
    /// What this node's agent does not do (nothing for a drpilot node).
    pub fn lacks(&self) -> Vec<Lack> {
        if self.flavor() == Flavor::Drpilot {
            return Vec::new();
        }
        let mut out = vec![Lack::RunState, Lack::StartGuard];
        if self.cut_access.is_none() {
            out.push(Lack::CutAccess);
        }
        if self.app_check.is_none() {
            out.push(Lack::AppCheck);
        }
        out.push(Lack::SyncProgress);
        out.push(Lack::DriftCheck);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drpilot_node_lacks_nothing_and_an_opensvc_node_what_its_map_does_not_configure() {
        assert!(NodeOptions::default().lacks().is_empty());
        let bare = NodeOptions {
            flavor: Some(Flavor::Opensvc2),
            ..NodeOptions::default()
        };
        assert_eq!(
            bare.lacks(),
            [
                Lack::RunState,
                Lack::StartGuard,
                Lack::CutAccess,
                Lack::AppCheck,
                Lack::SyncProgress,
                Lack::DriftCheck
            ]
        );
        let configured = NodeOptions {
            cut_access: Some("stopapp".into()),
            app_check: Some("task#check".into()),
            ..bare
        };
        assert_eq!(
            configured.lacks(),
            [
                Lack::RunState,
                Lack::StartGuard,
                Lack::SyncProgress,
                Lack::DriftCheck
            ]
        );
    }
}
