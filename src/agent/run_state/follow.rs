//! What a watcher (`drpilot agent watch`) has sent of each service's lease: a `run` record when
//! a lease appears or changes, again with every heartbeat while it lasts (so its age stays
//! current on every screen), and once without a lease when it goes away. Every watcher reads
//! the lease files itself: they are tiny, and the prober's round stays about statuses.

use std::collections::BTreeMap;

use chrono::Utc;

use super::lease;
use crate::paths::NodeEnv;
use crate::protocol::run::Lease;
use crate::protocol::watch::WatchRecord;

/// The leases this watcher last sent, by service (with whether each had expired).
#[derive(Debug, Default)]
pub struct LeaseFollow {
    sent: BTreeMap<String, (Lease, bool)>,
}

impl LeaseFollow {
    /// The `run` records to send now for `services`: each new or changed lease, every lease
    /// again on a heartbeat (`beat`), and a lease gone. A lease file that cannot be read keeps
    /// what was sent (its state is unknown, not gone).
    pub fn records(&mut self, env: &NodeEnv, services: &[String], beat: bool) -> Vec<WatchRecord> {
        self.sent.retain(|svc, _| services.contains(svc));
        let now = Utc::now();
        let mut out = Vec::new();
        for svc in services {
            let Ok(found) = lease::current(env, svc, now) else {
                continue;
            };
            let before = self.sent.get(svc);
            let send = match (&found, before) {
                (None, None) => false,
                (None, Some(_)) => {
                    self.sent.remove(svc);
                    true
                }
                (Some(v), Some((l, expired))) => {
                    beat || *expired != v.expired || !lease::same_but_renewal(l, &v.lease)
                }
                (Some(_), None) => true,
            };
            if let Some(v) = &found {
                self.sent.insert(svc.clone(), (v.lease.clone(), v.expired));
            }
            if send {
                out.push(WatchRecord::Run {
                    node: env.nodename.clone(),
                    service: svc.clone(),
                    lease: found,
                });
            }
        }
        out
    }
}
