//! `drpilot daemon`: the node's long-lived process (scheduled syncs, the node's one prober,
//! standby resources at boot, notifications), run by systemd (`assets/systemd/drpilot.service`).

use std::path::PathBuf;

use clap::Args;
use color_eyre::eyre::Result;

/// The daemon's flags.
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Seconds between two looks at the scheduled jobs [default: the config's `[schedule]
    /// tick`, else 30].
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86400))]
    tick: Option<u64>,
    /// The daemon's config file [default: /etc/drpilot/daemon.toml].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(args: DaemonArgs) -> Result<bool> {
    let env = crate::paths::NodeEnv::from_env();
    crate::agent::daemon::run(
        &env,
        &crate::agent::daemon::Options {
            tick: args.tick,
            config: args.config,
        },
    )?;
    Ok(true)
}
