//! Follows the services' JSON action logs (`actions.jsonl`) from where they ended when the watch
//! started, so the watch stream carries every action line written on the node, whoever ran it.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};

use crate::action_log::ACTIONS_JSONL;
use crate::paths::NodeEnv;
use crate::protocol::log::{Kind, LogRecord};

/// How much of a log is read in one round at most: a flood is sent over several rounds.
const MAX_READ: u64 = 256 * 1024;

/// Where each service's action log was read up to.
#[derive(Debug, Default)]
pub struct ActionTail {
    read_to: BTreeMap<String, u64>,
}

impl ActionTail {
    fn len(env: &NodeEnv, svc: &str) -> u64 {
        std::fs::metadata(env.state_dir(svc).join(ACTIONS_JSONL)).map_or(0, |m| m.len())
    }

    /// Follows these services: a service seen for the first time is read from its end (what was
    /// written before the watch started is history, not news).
    pub fn watch(&mut self, env: &NodeEnv, names: &[String]) {
        self.read_to.retain(|n, _| names.contains(n));
        for n in names {
            if !self.read_to.contains_key(n) {
                self.read_to.insert(n.clone(), Self::len(env, n));
            }
        }
    }

    /// The records written since the last call (progress lines left out: the watch's status
    /// shows a transfer, not its every chunk).
    pub fn new_records(&mut self, env: &NodeEnv) -> Vec<LogRecord> {
        let mut out = Vec::new();
        for (svc, pos) in &mut self.read_to {
            let path = env.state_dir(svc).join(ACTIONS_JSONL);
            let len = Self::len(env, svc);
            if len < *pos {
                // The log was cut or replaced: read the new one from its start.
                *pos = 0;
            }
            if len == *pos {
                continue;
            }
            let Ok(mut f) = std::fs::File::open(&path) else {
                continue;
            };
            let mut buf = Vec::new();
            if f.seek(SeekFrom::Start(*pos)).is_err()
                || f.take(MAX_READ).read_to_end(&mut buf).is_err()
            {
                continue;
            }
            // Only whole lines: a line being written is read at the next round.
            let Some(end) = buf.iter().rposition(|b| *b == b'\n') else {
                continue;
            };
            *pos += end as u64 + 1;
            out.extend(
                String::from_utf8_lossy(&buf[..end])
                    .lines()
                    .filter_map(LogRecord::parse)
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
}
