//! The sessions of one seat: per node, connected on first use and reused (the runbook polls a
//! node's status every half second while it waits, a syncdrp talks to its DRP node for the
//! config push, every data sync and the postsync, the console watches a node and runs actions
//! there: one SSH handshake each, not one per call). A session whose call failed at the
//! transport level is forgotten, so a node that comes back is reached afresh.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use color_eyre::eyre::Result;

use super::{Link, NodeMap};

/// The links of a node map, shared by the agent's peer calls, the runbook and the console.
pub struct Pool {
    map: NodeMap,
    open: Mutex<HashMap<String, Arc<Link>>>,
}

impl Pool {
    /// An empty pool reaching nodes as `map` says.
    pub fn new(map: NodeMap) -> Self {
        Self {
            map,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// `drpilot ARGS` on `node`, attached to this terminal (through its pooled session).
    pub fn interactive(&self, node: &str, args: &[String]) -> Result<std::process::Command> {
        self.with(node, |l| l.interactive(args))
    }

    /// The node map the links are opened from.
    pub fn map(&self) -> &NodeMap {
        &self.map
    }

    /// The sessions; a panic elsewhere while holding the lock leaves a map still worth using.
    fn sessions(&self) -> MutexGuard<'_, HashMap<String, Arc<Link>>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn cached(&self, node: &str) -> Option<Arc<Link>> {
        self.sessions().get(node).cloned()
    }

    /// Keeps `link` for `node` unless another task connected meanwhile (then theirs is kept and
    /// this one closes when dropped).
    fn keep(&self, node: &str, link: Link) -> Arc<Link> {
        self.sessions()
            .entry(node.to_string())
            .or_insert_with(|| Arc::new(link))
            .clone()
    }

    /// The link to `node`, connected on first use.
    pub async fn link(&self, node: &str) -> Result<Arc<Link>> {
        if let Some(l) = self.cached(node) {
            return Ok(l);
        }
        let link = Link::open(&self.map, node).await?;
        Ok(self.keep(node, link))
    }

    /// [`Self::link`] for synchronous callers.
    pub fn connect(&self, node: &str) -> Result<Arc<Link>> {
        if let Some(l) = self.cached(node) {
            return Ok(l);
        }
        let link = Link::connect(&self.map, node)?;
        Ok(self.keep(node, link))
    }

    /// Forgets `link` after a call through it failed, so that the next call connects afresh
    /// (a newer link of the node, opened meanwhile, stays).
    pub fn forget(&self, node: &str, link: &Arc<Link>) {
        let mut open = self.sessions();
        if open.get(node).is_some_and(|l| Arc::ptr_eq(l, link)) {
            open.remove(node);
        }
    }

    /// Runs `f` with `node`'s link (synchronously), connecting on first use; an error forgets
    /// the link.
    pub fn with<T>(&self, node: &str, f: impl FnOnce(&Link) -> Result<T>) -> Result<T> {
        let link = self.connect(node)?;
        let r = f(&link);
        if r.is_err() {
            self.forget(node, &link);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::NodeAddress;

    fn pool(dir: &std::path::Path) -> Pool {
        let mut map = NodeMap::default();
        let addr = NodeAddress::parse(&format!("local:{}", dir.display())).unwrap();
        map.insert("deb1", addr);
        Pool::new(map)
    }

    #[test]
    fn a_node_session_is_reused_until_a_call_fails() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(dir.path());
        let first = pool.connect("deb1").unwrap();
        assert!(Arc::ptr_eq(&first, &pool.connect("deb1").unwrap()));
        let kept: Result<()> = pool.with("deb1", |_| Ok(()));
        kept.unwrap();
        assert!(Arc::ptr_eq(&first, &pool.connect("deb1").unwrap()));
        let failed: Result<()> = pool.with("deb1", |_| Err(color_eyre::eyre::eyre!("lost")));
        assert!(failed.is_err());
        assert!(!Arc::ptr_eq(&first, &pool.connect("deb1").unwrap()));
    }

    #[test]
    fn a_stale_failure_keeps_the_newer_session() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(dir.path());
        let old = pool.connect("deb1").unwrap();
        pool.forget("deb1", &old);
        let new = pool.connect("deb1").unwrap();
        pool.forget("deb1", &old);
        assert!(Arc::ptr_eq(&new, &pool.connect("deb1").unwrap()));
    }

    #[test]
    fn the_console_and_its_runbook_share_one_session_per_node() {
        let dir = tempfile::tempdir().unwrap();
        let pool = Arc::new(pool(dir.path()));
        // The console's tasks take the link asynchronously, its runbook thread synchronously.
        let console = crate::transport::block_on(pool.link("deb1"))
            .unwrap()
            .unwrap();
        let shared = pool.clone();
        let runbook = std::thread::spawn(move || shared.connect("deb1").unwrap())
            .join()
            .unwrap();
        assert!(Arc::ptr_eq(&console, &runbook));
        assert!(Arc::ptr_eq(
            &console,
            &crate::transport::block_on(pool.link("deb1"))
                .unwrap()
                .unwrap()
        ));
    }
}
