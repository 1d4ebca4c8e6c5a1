//! `drpilot drp rehearse|disaster|failback SVC`: the runbook without the console, for
//! schedulers, scripts and terminals (its reports: `cli/report.rs`).

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand};
use color_eyre::eyre::Result;

use crate::protocol::log::SyncProgress;
use crate::runbook::engine::Operator;
use crate::runbook::plan::{Mode, Step, WayOut};
use crate::runbook::session;
use crate::text::{clean_line, clean_lines};
use crate::transport::{NodeMap, Pool};

/// Arguments of `drpilot drp`.
#[derive(Debug, Args)]
pub struct DrpArgs {
    #[command(subcommand)]
    which: Which,
}

#[derive(Debug, Subcommand)]
enum Which {
    /// The DRP test: cut access, syncupdate, stop production, start on the DRP node.
    Rehearse(RunArgs),
    /// Production is lost: start on the DRP node's last replica (RPO measured).
    Disaster(RunArgs),
    /// Back to production: reverse sync, stop on the DRP node, start production.
    Failback(RunArgs),
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The service.
    svc: String,
    /// Confirm every gate (schedulers, scripts); without it each gate is asked on the terminal.
    #[arg(long)]
    yes: bool,
    /// The node address map (default ~/.config/drpilot/nodes.toml).
    #[arg(long, value_name = "FILE")]
    nodes: Option<PathBuf>,
}

fn operator_name() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

/// The terminal as the runbook's operator: with `--yes` every gate is confirmed (and says so),
/// otherwise each gate is asked; the default is no, and typed gates need the service name.
struct Terminal {
    yes: bool,
}

impl Operator for Terminal {
    fn confirm(&mut self, step: Step, node: &str, prompt: &str, typed: Option<&str>) -> bool {
        // The prompt quotes node names and the service: printed as safe text.
        let (node, prompt) = (clean_line(node), clean_lines(prompt));
        if self.yes {
            println!(
                "[gate {} on {node}] {prompt}: confirmed by --yes",
                step.name()
            );
            return true;
        }
        match typed {
            Some(name) => print!(
                "[gate {} on {node}] {prompt}\n  type {name} to go on, anything else aborts: ",
                step.name()
            ),
            None => print!("[gate {} on {node}] {prompt} [y/N] ", step.name()),
        }
        let _ = std::io::stdout().flush();
        let mut line = String::new();
        if std::io::stdin().lock().read_line(&mut line).unwrap_or(0) == 0 {
            return false;
        }
        match typed {
            Some(name) => line.trim() == name,
            None => matches!(line.trim(), "y" | "yes"),
        }
    }
    fn way_out(&mut self, _step: Step, _situation: &str, choices: &[WayOut]) -> WayOut {
        choices.first().copied().unwrap_or(WayOut::Leave)
    }
    fn say(&mut self, msg: &str) {
        // Node output lines and error reasons: no escape sequence reaches the terminal.
        println!("{}", clean_lines(msg));
    }
    fn name(&self) -> String {
        if self.yes {
            format!("{} (--yes)", operator_name())
        } else {
            operator_name()
        }
    }
    fn sync_progress(&mut self, rid: &str, p: &SyncProgress) {
        println!("  {} {}", clean_line(rid), p.bar(20));
    }
}

/// Runs `drpilot drp`.
pub fn run(args: DrpArgs) -> Result<bool> {
    crate::transport::client::set_origin("runbook", None);
    let (mode, a) = match args.which {
        Which::Rehearse(a) => (Mode::Rehearsal, a),
        Which::Disaster(a) => (Mode::Disaster, a),
        Which::Failback(a) => (Mode::Failback, a),
    };
    let default = crate::console::default_nodes_file();
    let map = NodeMap::load_for_operator(a.nodes.as_deref(), &default)?;
    let op = &mut Terminal { yes: a.yes };
    println!("== {} of {}", mode.banner(), a.svc);
    let out = session::run(mode, &a.svc, &Pool::new(map), op)?;
    println!(
        "run {}: {}; report {}",
        out.run,
        if out.ok { "succeeded" } else { "FAILED" },
        out.report.display()
    );
    Ok(out.ok)
}
