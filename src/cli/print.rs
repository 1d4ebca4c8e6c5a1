//! `drpilot print metrics`: the node's metrics on stdout, for node_exporter's textfile
//! collector or a look by hand. The daemon serves the same text on its listen address.

use clap::{Args, Subcommand};
use color_eyre::eyre::Result;

use crate::agent::metrics::{self, Format};
use crate::paths::NodeEnv;

/// What `drpilot print` shows about this node.
#[derive(Debug, Args)]
pub struct PrintArgs {
    #[command(subcommand)]
    what: PrintWhat,
}

#[derive(Debug, Subcommand)]
enum PrintWhat {
    /// The node's metrics for Prometheus: each service's state, its replicas' age against
    /// their sync_max_delay, the last transfers, the action counters and the daemon's health.
    Metrics {
        /// Only these services (comma list) [default: every service of the node].
        #[arg(long, value_delimiter = ',', value_name = "SVC")]
        services: Vec<String>,
        /// `openmetrics` (OpenMetrics 1.0.0), or `prometheus` (the text format 0.0.4 that
        /// node_exporter's textfile collector reads).
        #[arg(long, value_enum, default_value_t = Format::Openmetrics)]
        format: Format,
    },
}

/// Prints the metrics. What could not be read is named on stderr and makes the exit code 1,
/// after the rest was printed (with `drpilot_metrics_read_errors` saying how many).
pub fn run(args: PrintArgs) -> Result<bool> {
    use std::io::Write;
    let PrintWhat::Metrics { services, format } = args.what;
    let env = NodeEnv::from_env();
    let facts = metrics::collect(&env, &services)?;
    let text = metrics::render(&facts, format);
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    for e in &facts.errors {
        eprintln!("error: {}", crate::text::clean_line(e));
    }
    Ok(facts.errors.is_empty())
}
