//! The embedded lab: two nodes, `deb1` (production) and `deb2` (DRP), living in directories of
//! this machine and reached with the `local:` transport, and the service `busybox` — a directory
//! "filesystem", an app appending `date` to a file in it every second, and a directory sync to
//! the DRP node. Running the seed's procedure there visibly moves the workload and its data.

pub mod busybox_image;
pub mod loopdev;
pub mod testbed;

use std::path::{Path, PathBuf};

use color_eyre::eyre::{bail, Result, WrapErr};

use crate::paths::{write_atomic, NodeEnv};
use crate::transport::{NodeAddress, NodeMap};

/// The lab's service.
pub const SERVICE: &str = "busybox";
/// The production node.
pub const PROD: &str = "deb1";
/// The DRP node.
pub const DRP: &str = "deb2";
/// The file the lab's app appends to, as the config writes it.
pub const DATA_FILE: &str = "/srv/busybox/data/date.log";
/// Marks a directory as a lab, so destroy never removes anything else.
const MARKER: &str = ".drpilot-lab";

/// The lab's service config, the same file on both nodes.
pub const SERVICE_CONFIG: &str = include_str!("../../assets/lab/busybox.env");

/// A lab directory.
pub struct Lab {
    dir: PathBuf,
}

impl Lab {
    /// The lab at `dir` (made absolute: node roots must not depend on the working directory).
    pub fn new(dir: &Path) -> Result<Self> {
        let dir = if dir.is_absolute() {
            dir.to_path_buf()
        } else {
            std::env::current_dir()
                .wrap_err("reading the working directory")?
                .join(dir)
        };
        Ok(Self { dir })
    }

    /// The lab directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the lab has been created.
    pub fn exists(&self) -> bool {
        self.dir.join(MARKER).exists()
    }

    /// The address map console-side commands read (`--nodes`).
    pub fn nodes_toml(&self) -> PathBuf {
        self.dir.join("nodes.toml")
    }

    /// The root of a lab node.
    pub fn node_root(&self, node: &str) -> PathBuf {
        self.dir.join(node)
    }

    /// The environment a lab node's agent runs with.
    pub fn node_env(&self, node: &str) -> NodeEnv {
        NodeEnv::new(self.node_root(node), node)
    }

    /// Creates the lab; refuses to touch a directory that holds anything else.
    pub fn init(&self) -> Result<()> {
        if self.exists() {
            bail!(
                "a lab already exists in {} (use `drpilot lab reset`)",
                self.dir.display()
            );
        }
        if self.dir.exists() && std::fs::read_dir(&self.dir)?.next().is_some() {
            bail!(
                "{} exists and is not empty: choose another directory",
                self.dir.display()
            );
        }
        let mut map = NodeMap::default();
        for node in [PROD, DRP] {
            map.insert(
                node,
                NodeAddress::Local {
                    root: self.node_root(node),
                },
            );
        }
        for node in [PROD, DRP] {
            let env = self.node_env(node);
            write_atomic(&env.config_path(SERVICE), SERVICE_CONFIG.as_bytes())?;
            write_atomic(&env.nodes_map_path(), map.to_toml().as_bytes())?;
            std::fs::create_dir_all(env.state_dir(SERVICE))?;
        }
        // Production holds the data; the DRP node gets it by replication.
        let data = self.node_env(PROD).path(DATA_FILE);
        if let Some(dir) = data.parent() {
            std::fs::create_dir_all(dir)?;
        }
        write_atomic(&self.nodes_toml(), map.to_toml().as_bytes())?;
        write_atomic(&self.dir.join(MARKER), b"drpilot lab\n")?;
        Ok(())
    }

    /// Stops every app process the lab started, then removes the lab.
    pub fn destroy(&self) -> Result<()> {
        if !self.dir.exists() {
            return Ok(());
        }
        if !self.exists() {
            bail!(
                "{} is not a drpilot lab (no {MARKER}): not removing it",
                self.dir.display()
            );
        }
        for node in [PROD, DRP] {
            kill_apps(&self.node_env(node).state_dir(SERVICE));
        }
        std::fs::remove_dir_all(&self.dir)
            .wrap_err_with(|| format!("removing {}", self.dir.display()))
    }
}

/// Terminates the process groups recorded in app pid files (`<rid>.pid`: pid and start time).
fn kill_apps(state: &Path) {
    let Ok(entries) = std::fs::read_dir(state) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with("app#") || !name.ends_with(".pid") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(e.path()) else {
            continue;
        };
        let mut it = text.split_whitespace();
        let (Some(pid), Some(start)) = (it.next(), it.next()) else {
            continue;
        };
        let Ok(pid) = pid.parse::<i32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let same = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(19))
            .is_some_and(|s| s == start);
        if let (true, Some(p)) = (same, rustix::process::Pid::from_raw(pid)) {
            let _ = rustix::process::kill_process_group(p, rustix::process::Signal::KILL);
        }
    }
}
