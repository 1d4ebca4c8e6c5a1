//! A service as the agent handles it: its config and the drivers of its resources on this node.

use color_eyre::eyre::{bail, eyre, Result};

use crate::config::{is_valid_service_name, Diagnostic, ServiceConfig};
use crate::drivers::{self, Loaded};
use crate::paths::NodeEnv;

/// A loaded service.
pub struct Service {
    /// Its name (the config file's name without `.env`).
    pub name: String,
    /// Its config.
    pub cfg: ServiceConfig,
    /// Config warnings, printed once per command.
    pub warnings: Vec<Diagnostic>,
    /// Its resources with their drivers, in config order.
    pub resources: Vec<Loaded>,
}

impl Service {
    /// Loads `/etc/drpilot/<name>.env` of this node and builds its drivers.
    pub fn load(env: &NodeEnv, name: &str) -> Result<Self> {
        if !is_valid_service_name(name) {
            bail!("invalid service name '{name}': use letters, digits, '.', '_' and '-'");
        }
        let path = env.config_path(name);
        if !path.exists() {
            bail!(
                "service {name} is not configured on {} (no {})",
                env.nodename,
                path.display()
            );
        }
        let loaded = ServiceConfig::load(&path, drivers::catalogue()).map_err(|e| eyre!("{e}"))?;
        let resources = drivers::build(&loaded.config, env)?;
        Ok(Self {
            name: name.to_string(),
            cfg: loaded.config,
            warnings: loaded.warnings,
            resources,
        })
    }

    /// Prints the config warnings on stderr.
    pub fn print_warnings(&self) {
        for w in &self.warnings {
            eprintln!("warning: {w}");
        }
    }
}
