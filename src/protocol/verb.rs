//! The agent's verbs as one enum, and the flags of `drpilot svc` that cross a process: what
//! the console, the runbook and a peer ask a node to do. [`Action::to_args`] writes a verb's
//! words, [`Action::parse`] reads them back; `transport::client` puts them on a command line.

use crate::status::group_of;

/// A resource group a per-type verb acts on (`startfs` → fs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// `ip#N`.
    Ip,
    /// `vg#N` (OpenSVC's disk group).
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
    /// `print drift`: on a DRP node, the users and groups production's service uses, compared
    /// with this node's (`protocol::drift`).
    PrintDrift,
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
    /// `restoreaccess`: undoes the `drp_cut_access` hook (the start verb of the group it
    /// stopped), the way back of a run stopped after it cut user access.
    RestoreAccess,
    /// `appcheck`: runs the `drp_app_check` command of the config, the runbook's application
    /// check after a start.
    AppCheck,
    /// `bubbleclone`: the non-disruptive test's first step on the DRP node: clones the latest
    /// replica into a test bubble (never touching the replica), after removing what a broken
    /// earlier step of the same test left.
    BubbleClone,
    /// `bubblestart`: starts the service from the clone inside the bubble's own network and
    /// mount namespaces.
    BubbleStart,
    /// `bubblecheck`: the service is up inside the bubble and `drp_app_check` passes there.
    BubbleCheck,
    /// `bubbledown`: stops the service in the bubble, ends its namespaces, destroys the clone.
    BubbleDown,
    /// `bubblestatus`: what the node holds of a test bubble, as JSON (`protocol::bubble`).
    BubbleStatus,
    /// `bubbleenter`: a shell inside the running test bubble, on the caller's terminal.
    BubbleEnter,
}

impl Group {
    const ALL: [(Group, &'static str); 5] = [
        (Group::Ip, "ip"),
        (Group::Disk, "vg"),
        (Group::Fs, "fs"),
        (Group::Container, "container"),
        (Group::App, "app"),
    ];

    /// The suffix of its per-type verbs (`startvg` for the disk group).
    pub fn suffix(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(g, _)| *g == self)
            .map_or("", |(_, s)| s)
    }

    fn from_suffix(s: &str) -> Option<Group> {
        Self::ALL.iter().find(|(_, w)| *w == s).map(|(g, _)| *g)
    }
}

/// The verbs of one word, beside the per-type starts and stops.
const WORDS: [(&str, Action); 18] = [
    ("validate", Action::Validate),
    ("start", Action::Start(None)),
    ("stop", Action::Stop(None)),
    ("startstandby", Action::StartStandby),
    ("stopstandby", Action::StopStandby),
    ("syncfullsync", Action::SyncFull),
    ("syncupdate", Action::SyncUpdate),
    ("syncdrp", Action::SyncDrp),
    ("syncnodes", Action::SyncNodes),
    ("postsync", Action::PostSync),
    ("cutaccess", Action::CutAccess),
    ("restoreaccess", Action::RestoreAccess),
    ("bubbleclone", Action::BubbleClone),
    ("bubblestart", Action::BubbleStart),
    ("bubblecheck", Action::BubbleCheck),
    ("bubbledown", Action::BubbleDown),
    ("bubblestatus", Action::BubbleStatus),
    ("bubbleenter", Action::BubbleEnter),
];

impl Action {
    /// The verb as typed, for messages and the lock holder.
    pub fn verb(&self) -> String {
        match self {
            Action::PrintStatus => "print status".into(),
            Action::PrintConfig { .. } => "print config".into(),
            Action::PrintDrift => "print drift".into(),
            Action::AppCheck => "appcheck".into(),
            Action::Start(Some(g)) => format!("start{}", g.suffix()),
            Action::Stop(Some(g)) => format!("stop{}", g.suffix()),
            other => WORDS
                .iter()
                .find(|(_, a)| a == other)
                .map_or_else(String::new, |(w, _)| w.to_string()),
        }
    }

    /// The verb's words on a `drpilot svc SVC ...` command line.
    pub fn to_args(&self) -> Vec<String> {
        match self {
            Action::PrintStatus => vec!["print".into(), "status".into()],
            Action::PrintDrift => vec!["print".into(), "drift".into()],
            Action::PrintConfig { node } => {
                let mut v = vec!["print".to_string(), "config".to_string()];
                if let Some(n) = node {
                    v.extend(["--node".to_string(), n.clone()]);
                }
                v
            }
            other => vec![other.verb()],
        }
    }

    /// Reads a verb written by [`Action::to_args`]; `None` for words that are no verb.
    pub fn parse(words: &[&str]) -> Option<Action> {
        match words {
            ["print", "status"] => Some(Action::PrintStatus),
            ["print", "drift"] => Some(Action::PrintDrift),
            ["print", "config"] => Some(Action::PrintConfig { node: None }),
            ["print", "config", "--node", n] => Some(Action::PrintConfig {
                node: Some(n.to_string()),
            }),
            ["appcheck"] => Some(Action::AppCheck),
            [word] => WORDS
                .iter()
                .find(|(w, _)| w == word)
                .map(|(_, a)| a.clone())
                .or_else(|| {
                    let group = |p: &str| word.strip_prefix(p).and_then(Group::from_suffix);
                    group("start")
                        .map(|g| Action::Start(Some(g)))
                        .or_else(|| group("stop").map(|g| Action::Stop(Some(g))))
                }),
            _ => None,
        }
    }

    /// Whether the verb is one of the test bubble's (`bubble…`).
    pub fn is_bubble(&self) -> bool {
        matches!(
            self,
            Action::BubbleClone
                | Action::BubbleStart
                | Action::BubbleCheck
                | Action::BubbleDown
                | Action::BubbleStatus
                | Action::BubbleEnter
        )
    }

    /// Whether the verb changes the node (takes the lock, logs to the action log).
    pub fn is_mutating(&self) -> bool {
        !matches!(
            self,
            Action::PrintStatus
                | Action::PrintConfig { .. }
                | Action::PrintDrift
                | Action::Validate
                | Action::BubbleStatus
                | Action::BubbleEnter
        )
    }

    /// Every verb, one of each shape (tests and completions walk it).
    pub fn all() -> Vec<Action> {
        let mut v = vec![
            Action::PrintStatus,
            Action::PrintDrift,
            Action::PrintConfig { node: None },
            Action::PrintConfig {
                node: Some("deb2".into()),
            },
            Action::AppCheck,
        ];
        v.extend(WORDS.iter().map(|(_, a)| a.clone()));
        for (g, _) in Group::ALL {
            v.push(Action::Start(Some(g)));
            v.push(Action::Stop(Some(g)));
        }
        v
    }
}

/// The flags of `drpilot svc` that one process passes to another.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SvcFlags {
    /// `--force`.
    pub force: bool,
    /// `--waitlock SECS`.
    pub waitlock: Option<u64>,
    /// `--format json`: the action log as [`crate::protocol::log::LogRecord`] lines.
    pub json: bool,
    /// `--target NODE`.
    pub target: Option<String>,
    /// `--declared-lost NODE`.
    pub declared_lost: Vec<String>,
    /// `--rid RID,...`: these resources only.
    pub rids: Vec<String>,
}

impl SvcFlags {
    /// The flags' words, after the verb.
    pub fn to_args(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.force {
            v.push("--force".to_string());
        }
        if self.json {
            v.extend(["--format".to_string(), "json".to_string()]);
        }
        if let Some(w) = self.waitlock {
            v.extend(["--waitlock".to_string(), w.to_string()]);
        }
        if let Some(t) = &self.target {
            v.extend(["--target".to_string(), t.clone()]);
        }
        for n in &self.declared_lost {
            v.extend(["--declared-lost".to_string(), n.clone()]);
        }
        if !self.rids.is_empty() {
            v.extend(["--rid".to_string(), self.rids.join(",")]);
        }
        v
    }
}

/// The stop verbs a `drp_cut_access` hook (or an OpenSVC node's `cut_access` in the node map)
/// may name.
pub fn cut_access_action(verb: &str) -> Option<Action> {
    Some(match verb {
        "stop" => Action::Stop(None),
        "stopapp" => Action::Stop(Some(Group::App)),
        "stopip" => Action::Stop(Some(Group::Ip)),
        "stopcontainer" => Action::Stop(Some(Group::Container)),
        _ => return None,
    })
}

/// The start verb that undoes a cut-access stop verb (`stopapp` → `startapp`).
pub fn restore_access_action(verb: &str) -> Option<Action> {
    Some(match cut_access_action(verb)? {
        Action::Stop(group) => Action::Start(group),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_verb_round_trips_through_its_words() {
        for a in Action::all() {
            let words = a.to_args();
            let refs: Vec<&str> = words.iter().map(String::as_str).collect();
            assert_eq!(Action::parse(&refs), Some(a.clone()), "{words:?}");
        }
        assert_eq!(Action::Start(Some(Group::Disk)).verb(), "startvg");
        assert_eq!(Action::parse(&["startnothing"]), None);
        assert_eq!(Action::parse(&["print"]), None);
    }

    #[test]
    fn flags_write_what_the_cli_reads() {
        let f = SvcFlags {
            force: true,
            waitlock: Some(5),
            json: true,
            target: Some("deb1".into()),
            declared_lost: vec!["deb1".into()],
            rids: vec!["sync#1".into(), "sync#2".into()],
        };
        assert_eq!(
            f.to_args().join(" "),
            "--force --format json --waitlock 5 --target deb1 --declared-lost deb1 --rid sync#1,sync#2"
        );
        assert!(SvcFlags::default().to_args().is_empty());
    }
}
