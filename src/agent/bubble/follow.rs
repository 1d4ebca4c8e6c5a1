//! A node's test bubbles on its watch stream: a `bubble` record when one appears, changes or
//! goes, and again with every heartbeat while it lasts, so every console shows it with its age
//! (a third column, "bubble on deb2").

use std::collections::BTreeMap;

use crate::paths::NodeEnv;
use crate::protocol::bubble::BubbleState;
use crate::protocol::watch::WatchRecord;

/// What this watcher has sent of each service's bubble.
#[derive(Default)]
pub struct BubbleFollow {
    sent: BTreeMap<String, String>,
}

/// A bubble's state without its probe time (which changes every round).
fn fingerprint(st: &BubbleState) -> String {
    let mut st = st.clone();
    if let Some(inside) = st.inside.as_mut() {
        inside.updated = String::new();
    }
    serde_json::to_string(&st).unwrap_or_default()
}

impl BubbleFollow {
    /// The `bubble` records to send now for `services`.
    pub fn records(&mut self, env: &NodeEnv, services: &[String], beat: bool) -> Vec<WatchRecord> {
        self.sent.retain(|svc, _| services.contains(svc));
        let mut out = Vec::new();
        for name in services {
            let here = env.state_dir(name).join("bubble").exists();
            let state = here
                .then(|| super::super::Service::load(env, name).ok())
                .flatten()
                .map(|svc| super::status(env, &svc));
            let send = match (&state, self.sent.get(name)) {
                (None, None) => false,
                (None, Some(_)) => {
                    self.sent.remove(name);
                    true
                }
                (Some(st), before) => {
                    let fp = fingerprint(st);
                    let changed = before != Some(&fp);
                    self.sent.insert(name.clone(), fp);
                    beat || changed
                }
            };
            if send {
                out.push(WatchRecord::Bubble {
                    node: env.nodename.clone(),
                    service: name.clone(),
                    bubble: state.map(Box::new),
                });
            }
        }
        out
    }
}
