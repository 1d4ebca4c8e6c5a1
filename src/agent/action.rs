//! The seed's verbs, as one enum the runner dispatches on.

use crate::status::group_of;

/// A resource group a per-type verb acts on (`startfs` → fs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// `ip#N`.
    Ip,
    /// `vg#N` (the seed's disk group).
    Disk,
    /// `fs#N`.
    Fs,
    /// `container#N`.
    Container,
    /// `app#N`.
    App,
}

impl Group {
    /// Whether resource `rid` belongs to the group.
    pub fn contains(self, rid: &str) -> bool {
        group_of(rid)
            == match self {
                Group::Ip => "ip",
                Group::Disk => "disk",
                Group::Fs => "fs",
                Group::Container => "container",
                Group::App => "app",
            }
    }
}

/// One verb of `drpilot svc SELECTOR ACTION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `print status`.
    PrintStatus,
    /// `print config [--node N]`.
    PrintConfig { node: Option<String> },
    /// `validate`.
    Validate,
    /// `start`, or `start<group>` when a group is given.
    Start(Option<Group>),
    /// `stop`, or `stop<group>`.
    Stop(Option<Group>),
    /// `startstandby`: the resources that are standby on this node, whatever runs elsewhere.
    StartStandby,
    /// `stopstandby`: the resources that are standby on this node, when the service is stopped
    /// here.
    StopStandby,
    /// `syncfullsync`.
    SyncFull,
    /// `syncupdate`.
    SyncUpdate,
    /// `syncdrp`.
    SyncDrp,
    /// `syncnodes`.
    SyncNodes,
    /// `postsync`.
    PostSync,
    /// `cutaccess`: runs the `drp_cut_access` hook of the config (a stop verb), the runbook's
    /// "cut user access" step.
    CutAccess,
    /// `appcheck`: runs the `drp_app_check` command of the config, the runbook's application
    /// check after a start.
    AppCheck,
}

impl Action {
    /// The verb as typed, for messages and the lock holder.
    pub fn verb(&self) -> String {
        let g = |p: &str, g: &Option<Group>| match g {
            None => p.to_string(),
            Some(Group::Ip) => format!("{p}ip"),
            Some(Group::Disk) => format!("{p}vg"),
            Some(Group::Fs) => format!("{p}fs"),
            Some(Group::Container) => format!("{p}container"),
            Some(Group::App) => format!("{p}app"),
        };
        match self {
            Action::PrintStatus => "print status".into(),
            Action::PrintConfig { .. } => "print config".into(),
            Action::Validate => "validate".into(),
            Action::Start(x) => g("start", x),
            Action::Stop(x) => g("stop", x),
            Action::StartStandby => "startstandby".into(),
            Action::StopStandby => "stopstandby".into(),
            Action::SyncFull => "syncfullsync".into(),
            Action::SyncUpdate => "syncupdate".into(),
            Action::SyncDrp => "syncdrp".into(),
            Action::SyncNodes => "syncnodes".into(),
            Action::PostSync => "postsync".into(),
            Action::CutAccess => "cutaccess".into(),
            Action::AppCheck => "appcheck".into(),
        }
    }

    /// Whether the verb changes the node (takes the lock, logs to the action log).
    pub fn is_mutating(&self) -> bool {
        !matches!(
            self,
            Action::PrintStatus | Action::PrintConfig { .. } | Action::Validate
        )
    }
}

/// The stop verbs a `drp_cut_access` hook may name.
pub fn cut_access_action(verb: &str) -> Option<Action> {
    Some(match verb {
        "stop" => Action::Stop(None),
        "stopapp" => Action::Stop(Some(Group::App)),
        "stopip" => Action::Stop(Some(Group::Ip)),
        "stopcontainer" => Action::Stop(Some(Group::Container)),
        _ => return None,
    })
}

/// Start order of the groups (design section 5); stop runs it backwards.
pub fn start_rank(rid: &str) -> usize {
    match group_of(rid) {
        "ip" => 0,
        "disk" => 1,
        "fs" => 2,
        "container" => 3,
        "app" => 4,
        _ => 5,
    }
}
