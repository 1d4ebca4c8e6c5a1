//! Where a run's state lives on a node, and the lock its writers take. Every path is built here
//! from checked names, under the service's state directory:
//! `/var/lib/drpilot/SVC/runs/{lease.json, RUN.jsonl, RUN.heads, .lock}`.

use std::fs::File;
use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, WrapErr};

use crate::paths::NodeEnv;
use crate::protocol::names::RunId;

/// The folder of a service's runs, in its state directory.
pub const RUNS_DIR: &str = "runs";

/// The lease file of a service, in its runs folder.
pub const LEASE_FILE: &str = "lease.json";

/// The file every writer of a service's runs folder locks for its read-modify-write.
const LOCK_FILE: &str = ".lock";

/// A service's runs folder on this node.
#[derive(Debug, Clone)]
pub struct Runs {
    dir: PathBuf,
}

/// The runs folder's lock, held until dropped (an `flock`: a crashed writer never leaves it).
pub struct RunsLock {
    _file: File,
}

impl Runs {
    /// The runs folder of `svc` (a configured or checked service name).
    pub fn of(env: &NodeEnv, svc: &str) -> Self {
        Self {
            dir: env.state_dir(svc).join(RUNS_DIR),
        }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The lease file.
    pub fn lease(&self) -> PathBuf {
        self.dir.join(LEASE_FILE)
    }

    /// A run's journal: one record per line.
    pub fn journal(&self, run: &RunId) -> PathBuf {
        self.dir.join(format!("{run}.jsonl"))
    }

    /// The heads stored after each record of a run's journal: one `{"seq","hash"}` per line.
    pub fn heads(&self, run: &RunId) -> PathBuf {
        self.dir.join(format!("{run}.heads"))
    }

    /// Creates the folder if needed and waits for its lock (writers hold it for milliseconds).
    pub fn lock(&self) -> Result<RunsLock> {
        std::fs::create_dir_all(&self.dir)
            .wrap_err_with(|| format!("creating {}", self.dir.display()))?;
        let file = crate::lock::exclusive(&self.dir.join(LOCK_FILE))?;
        Ok(RunsLock { _file: file })
    }
}
