//! Gathers the node's facts for the metrics: the same probe the agent and the console use, the
//! syncs' last transfers, the action counters and the daemon's state. Nothing here changes the
//! node; a file that cannot be read is an error named in `errors`, never a guess.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use color_eyre::eyre::{bail, Result};

use crate::agent::{probe::probe, selector, Service};
use crate::config::is_valid_service_name;
use crate::drivers::sync_state;
use crate::paths::NodeEnv;
use crate::protocol::node_state::{
    ActionCounters, DaemonState, LastTransfer, COUNTERS_FILE, DAEMON_STATE,
};
use crate::status::ServiceStatus;

/// One service on this node, as the metrics see it.
#[derive(Debug, Clone)]
pub struct ServiceFacts {
    /// The service's name.
    pub name: String,
    /// Its status from the probe; `None` when its config could not be loaded.
    pub status: Option<ServiceStatus>,
    /// Each sync resource's last recorded transfer.
    pub transfers: BTreeMap<String, LastTransfer>,
    /// Its action counters, when an action ever ended here.
    pub counters: Option<ActionCounters>,
}

/// What the metrics of one node are made of.
#[derive(Debug, Clone)]
pub struct NodeFacts {
    /// The node's name.
    pub node: String,
    /// When the facts were gathered: ages are measured from it.
    pub now: DateTime<Utc>,
    /// Its services, in name order.
    pub services: Vec<ServiceFacts>,
    /// The daemon's state, when it ever ran here.
    pub daemon: Option<DaemonState>,
    /// What could not be read, each naming its file: the facts are partial when not empty.
    pub errors: Vec<String>,
}

/// Reads a JSON file: `Ok(None)` when it does not exist, an error naming it when unreadable.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, String> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("reading {}: {e}", path.display())),
    }
}

/// The daemon's state file on this node.
pub fn daemon_state_path(env: &NodeEnv) -> std::path::PathBuf {
    env.path(crate::paths::STATE_ROOT)
        .join(DAEMON_STATE.0)
        .join(DAEMON_STATE.1)
}

/// Gathers the facts of `only` (every configured service when empty). A service named in
/// `only` that is not configured here is an error: the operator asked for it.
pub fn collect(env: &NodeEnv, only: &[String]) -> Result<NodeFacts> {
    let names = if only.is_empty() {
        selector::configured(env)?
    } else {
        for name in only {
            if !is_valid_service_name(name) {
                bail!("--services: invalid service name '{name}': use letters, digits, '.', '_' and '-'");
            }
            if !env.config_path(name).exists() {
                bail!(
                    "--services: service {name} is not configured on {} (no {})",
                    env.nodename,
                    env.config_path(name).display()
                );
            }
        }
        only.to_vec()
    };
    let mut errors = Vec::new();
    let mut services = Vec::new();
    for name in names {
        let status = match Service::load(env, &name) {
            Ok(svc) => Some(probe(env, &svc)),
            Err(e) => {
                errors.push(format!("service {name}: {e:#}"));
                None
            }
        };
        let mut transfers = BTreeMap::new();
        for s in status.iter().flat_map(|st| &st.syncs) {
            match sync_state::read_transfer(env, &name, &s.rid) {
                Ok(Some(t)) => {
                    transfers.insert(s.rid.clone(), t);
                }
                Ok(None) => {}
                Err(e) => errors.push(format!("{e:#}")),
            }
        }
        let counters = read_json(&env.state_dir(&name).join(COUNTERS_FILE)).unwrap_or_else(|e| {
            errors.push(e);
            None
        });
        services.push(ServiceFacts {
            name,
            status,
            transfers,
            counters,
        });
    }
    let daemon = read_json(&daemon_state_path(env)).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    Ok(NodeFacts {
        node: env.nodename.clone(),
        now: Utc::now(),
        services,
        daemon,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_state_file_is_named_and_nothing_is_guessed() {
        let d = tempfile::tempdir().unwrap();
        let env = NodeEnv::new(d.path(), "n1");
        let daemon = daemon_state_path(&env);
        std::fs::create_dir_all(daemon.parent().unwrap()).unwrap();
        std::fs::write(&daemon, "{\"pid\": ").unwrap();
        let facts = collect(&env, &[]).unwrap();
        assert!(facts.services.is_empty());
        assert!(facts.daemon.is_none());
        assert_eq!(facts.errors.len(), 1, "{:?}", facts.errors);
        assert!(
            facts.errors[0].contains("daemon/state.json"),
            "{:?}",
            facts.errors
        );
    }

    #[test]
    fn a_node_without_files_has_no_facts_and_no_errors() {
        let d = tempfile::tempdir().unwrap();
        let facts = collect(&NodeEnv::new(d.path(), "n1"), &[]).unwrap();
        assert!(facts.services.is_empty() && facts.daemon.is_none() && facts.errors.is_empty());
        assert!(collect(&NodeEnv::new(d.path(), "n1"), &["svc".to_string()]).is_err());
    }
}
