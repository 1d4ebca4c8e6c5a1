//! Follows the services' JSON action logs (`actions.jsonl`) from where they ended when the watch
//! started, so the watch stream carries every action line written on the node, whoever ran it;
//! across the log's rotations (the rest of the rotated file first, then the new one).

use std::collections::BTreeMap;

use crate::action_log::follow::Follower;
use crate::action_log::ACTIONS_JSONL;
use crate::paths::NodeEnv;
use crate::protocol::log::{Kind, LogRecord};

/// How much of a log is read in one round at most: a flood is sent over several rounds.
const MAX_READ: u64 = 256 * 1024;

/// Where each service's action log was read up to.
#[derive(Debug, Default)]
pub struct ActionTail {
    read_to: BTreeMap<String, Follower>,
}

impl ActionTail {
    /// Follows these services: a service seen for the first time is read from its end (what was
    /// written before the watch started is history, not news).
    pub fn watch(&mut self, env: &NodeEnv, names: &[String]) {
        self.read_to.retain(|n, _| names.contains(n));
        for n in names {
            if !self.read_to.contains_key(n) {
                let path = env.state_dir(n).join(ACTIONS_JSONL);
                self.read_to.insert(n.clone(), Follower::from_end(&path));
            }
        }
    }

    /// The records written since the last call (progress lines left out: the watch's status
    /// shows a transfer, not its every chunk).
    pub fn new_records(&mut self, _env: &NodeEnv) -> Vec<LogRecord> {
        let mut out = Vec::new();
        for follower in self.read_to.values_mut() {
            out.extend(
                follower
                    .read_new(MAX_READ)
                    .iter()
                    .filter_map(|l| LogRecord::parse(l))
                    .filter(|r| r.kind != Kind::Progress),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action_log::{ActionLog, Format};

    #[test]
    fn only_lines_written_after_the_start_are_read_each_once() {
        let d = tempfile::tempdir().unwrap();
        let env = NodeEnv::new(d.path(), "deb1");
        let file = env.state_dir("svc").join("actions.log");
        ActionLog::new("svc", Format::Text, Some(&file)).info("", "before");
        let mut tail = ActionTail::default();
        tail.watch(&env, &["svc".to_string()]);
        assert!(tail.new_records(&env).is_empty());
        ActionLog::new("svc", Format::Text, Some(&file)).info("fs#1", "after");
        let recs = tail.new_records(&env);
        assert_eq!(recs.len(), 1, "{recs:?}");
        assert_eq!(recs[0].msg, "after");
        assert_eq!(recs[0].by.as_ref().map(|b| b.origin.as_str()), Some("cli"));
        assert!(tail.new_records(&env).is_empty());
    }

    #[test]
    fn consoles_still_stream_actions_after_a_rotation() {
        use crate::action_log::log_file::{rotated, LogFile};
        let d = tempfile::tempdir().unwrap();
        let env = NodeEnv::new(d.path(), "deb1");
        let path = env.state_dir("svc").join(ACTIONS_JSONL);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let record = |msg: &str| {
            serde_json::to_string(&LogRecord {
                ts: "2026-12-01T18:12:03.123Z".into(),
                level: crate::protocol::log::Level::Info,
                svc: "svc".into(),
                rid: String::new(),
                kind: Kind::Info,
                msg: msg.into(),
                progress: None,
                by: None,
            })
            .unwrap()
        };
        // A cap that one record fills: every record rotates the log.
        let cap = record("line 00").len() as u64 + 1;
        let mut log = LogFile::with_cap(&path, cap, 3);
        log.append(&[record("before the watch")]);
        let mut tail = ActionTail::default();
        tail.watch(&env, &["svc".to_string()]);
        let mut seen = Vec::new();
        for i in 0..6 {
            log.append(&[record(&format!("line {i:02}"))]);
            if i % 2 == 1 {
                // Two rotations between two reads: the rest of the old file is in `.2`.
                seen.extend(tail.new_records(&env).into_iter().map(|r| r.msg));
            }
        }
        assert!(rotated(&path, 1).exists(), "the log was rotated");
        let want: Vec<String> = (0..6).map(|i| format!("line {i:02}")).collect();
        assert_eq!(seen, want, "every line once, in order, across rotations");
        log.append(&[record("after")]);
        let recs = tail.new_records(&env);
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].msg, "after");
    }
}
