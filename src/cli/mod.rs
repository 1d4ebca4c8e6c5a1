//! The command line: clap definitions and dispatch to the agent, the lab and the config checker.

mod check_config;
mod daemon;
mod drp;
mod generate;
mod lab;
mod lab_netns;
mod paint;
mod peer;
mod print;
mod report;
mod svc;
mod svc_logs;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use color_eyre::eyre::Result;

use crate::action_log::Format;
use crate::protocol::verb::SvcFlags;

/// `--version`: the package version and the commit it was built from (`unknown` outside a git
/// checkout, `-dirty` with uncommitted changes), so a node's binary can be traced to its source.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("DRPILOT_GIT_COMMIT"),
    ")"
);

/// drpilot: run a service replicated between a production node and a DRP node, and fail it over.
#[derive(Debug, Parser)]
#[command(name = "drpilot", version = VERSION, about, propagate_version = true)]
pub struct Cli {
    /// Colours: auto (on a terminal, unless NO_COLOR is set), always or never. An explicit
    /// always or never wins over NO_COLOR.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = crate::color::ColorWhen::Auto)]
    color: crate::color::ColorWhen,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The embedded two-node lab (deb1 = production, deb2 = DRP), no root needed.
    Lab(LabArgs),
    /// The node agent: act on services of this node with the verbs of the OpenSVC tutorial.
    Svc(SvcArgs),
    /// The operations console: both nodes of every service, live.
    Console(crate::console::ConsoleArgs),
    /// The DRP runbook without the console: rehearse, disaster, failback.
    Drp(drp::DrpArgs),
    /// A run's report (`RUN` or `latest`), every run (`--list`), or an auditor's check of a
    /// run's journal and signatures (`--verify RUN`).
    Report(report::ReportArgs),
    /// Node-side commands the consoles and the runbooks call (watch, services, run state).
    Agent {
        #[command(subcommand)]
        what: AgentWhat,
    },
    /// Node-level reports: `print metrics` (Prometheus metrics of this node).
    Print(print::PrintArgs),
    /// Checks a service config file: errors and warnings with file:line.
    CheckConfig {
        /// The `.env` file.
        file: PathBuf,
    },
    /// The node daemon: scheduled syncs, the node's one prober, standby resources at boot,
    /// notifications. Stops on SIGTERM or SIGINT, letting a running action finish.
    Daemon(daemon::DaemonArgs),
    /// Node-to-node operations, run by peers through their transport.
    #[command(hide = true)]
    Peer(peer::PeerArgs),
    /// Shell completions on stdout, e.g. `drpilot completions bash > /etc/bash_completion.d/drpilot`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: generate::Shell,
    },
    /// Writes a man page per command (drpilot.1, drpilot-svc.1, ...) into DIR (packaging).
    #[command(hide = true)]
    Man {
        /// The directory to write the pages into (created if missing).
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum AgentWhat {
    /// JSON lines: the node's services, each status change, and a heartbeat.
    Watch {
        /// Services to watch (default: all).
        services: Vec<String>,
        /// Accepted for authorized_keys forced commands: watch never changes anything.
        #[arg(long)]
        read_only: bool,
    },
    /// JSON: the node's services with their nodes and drpnodes.
    Services,
    /// A runbook run's state on this node: the service's lease and the run's journal (JSON).
    Run {
        #[command(subcommand)]
        verb: crate::protocol::run::RunVerb,
    },
}

#[derive(Debug, Args)]
struct LabArgs {
    #[command(subcommand)]
    action: Option<LabAction>,
    /// The lab directory [default: drpilot-lab].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Console theme.
    #[arg(long)]
    theme: Option<String>,
    /// The root rehearsal sandbox: two namespaced hosts over SSH running the OpenSVC
    /// tutorial's service for real (ip, btrfs, private docker); torn down on exit. Needs root.
    #[arg(long)]
    netns: bool,
    /// With --netns: no console; keep the sandbox until SIGINT or SIGTERM.
    #[arg(long, requires = "netns")]
    no_console: bool,
    /// With --netns: only remove what crashed sandboxes left behind.
    #[arg(long, requires = "netns")]
    sweep: bool,
}

#[derive(Debug, Subcommand)]
enum LabAction {
    /// Creates the lab: nodes deb1 and deb2, service busybox, nodes.toml.
    Init {
        /// The lab directory [default: the lab's --dir, else drpilot-lab].
        dir: Option<PathBuf>,
    },
    /// Stops the lab's service and creates the lab afresh.
    Reset {
        /// The lab directory [default: the lab's --dir, else drpilot-lab].
        dir: Option<PathBuf>,
    },
    /// Stops the lab's service and removes the lab.
    Destroy {
        /// The lab directory [default: the lab's --dir, else drpilot-lab].
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
struct SvcArgs {
    /// A service name, a comma list, `allservices` or `allupservices`.
    selector: String,
    #[command(subcommand)]
    verb: svc::Verb,
    /// Outside the sync period, past the split-brain guard, standby resources included.
    #[arg(long, global = true)]
    force: bool,
    /// Seconds to wait for the service lock held by another action [default: 60; syncs fail at
    /// once unless it is given]. A wait too long to count waits forever.
    #[arg(long, global = true, value_name = "SECS")]
    waitlock: Option<u64>,
    /// Act on these resources only (comma list).
    #[arg(long, global = true, value_delimiter = ',', value_name = "RID")]
    rid: Vec<String>,
    /// Output format of logs and status.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Data syncs go to this node instead of their `target` (failback).
    #[arg(long, global = true, value_name = "NODE")]
    target: Option<String>,
    /// A node a disaster was declared on: `start` goes on although it cannot be reached (any
    /// other answer of that node still blocks the start). The disaster runbook passes it.
    #[arg(long, global = true, value_name = "NODE")]
    declared_lost: Vec<String>,
}

/// The verb and the flags of a parsed `drpilot svc` line that cross a process (`None` for
/// another command, `docker` or `logs`): the client's round-trip test reads its lines back here.
pub fn svc_invocation(cli: Cli) -> Option<(crate::protocol::verb::Action, SvcFlags)> {
    let Command::Svc(args) = cli.command else {
        return None;
    };
    let flags = SvcFlags {
        force: args.force,
        waitlock: args.waitlock,
        json: args.format == Format::Json,
        target: args.target,
        declared_lost: args.declared_lost,
        rids: args.rid,
    };
    svc::action_of(args.verb).map(|a| (a, flags))
}

/// The verb of a parsed `drpilot peer` line (`None` for another command): the client's
/// round-trip test reads its lines back here.
pub fn peer_invocation(cli: Cli) -> Option<crate::protocol::peer::PeerVerb> {
    match cli.command {
        Command::Peer(args) => Some(args.verb().clone()),
        _ => None,
    }
}

/// Parses the command line and runs it; the exit code says whether it succeeded.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::color::set_choice(cli.color);
    match dispatch(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            // Errors quote config values and node output: printed as safe text.
            eprintln!("{}", crate::text::error_lines(&e));
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> Result<bool> {
    match cli.command {
        Command::Lab(args) => lab::run(args),
        Command::Svc(args) => {
            let started = std::time::Instant::now();
            let result = svc::run(args);
            if std::env::var_os("DRPILOT_TIMINGS").is_some() {
                // The failover benchmark's probe: the agent's time against its commands' time.
                // The floor is the command time that could not overlap: the commands of lanes
                // that ran beside a longer lane are not part of it.
                let (count, in_commands) = crate::transport::child_time::total();
                let floor = in_commands.saturating_sub(crate::transport::child_time::overlap());
                eprintln!(
                    "timings: total_ms={} commands={count} commands_ms={} floor_ms={}",
                    started.elapsed().as_millis(),
                    in_commands.as_millis(),
                    floor.as_millis()
                );
            }
            result
        }
        Command::CheckConfig { file } => Ok(check_config::run(&file)),
        Command::Console(args) => crate::console::run(args),
        Command::Drp(args) => drp::run(args),
        Command::Report(args) => report::run(args),
        Command::Agent {
            what: AgentWhat::Services,
        } => {
            let env = crate::paths::NodeEnv::from_env();
            println!(
                "{}",
                serde_json::to_string(&crate::agent::watch::services(&env)?)?
            );
            Ok(true)
        }
        Command::Agent {
            what: AgentWhat::Watch { services, .. },
        } => {
            let env = crate::paths::NodeEnv::from_env();
            let mut out = std::io::stdout().lock();
            match crate::agent::watch::watch(&env, &services, &mut out, None) {
                Ok(()) => Ok(true),
                // The console closed the stream: that is how a watch ends.
                Err(e)
                    if e.downcast_ref::<std::io::Error>()
                        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
                {
                    Ok(true)
                }
                Err(e) => Err(e),
            }
        }
        Command::Agent {
            what: AgentWhat::Run { verb },
        } => agent_run(&verb),
        Command::Peer(args) => peer::run(args),
        Command::Completions { shell } => generate::completions(shell),
        Command::Man { dir } => generate::man_pages(&dir),
        Command::Print(args) => print::run(args),
        Command::Daemon(args) => daemon::run(args),
    }
}

/// `drpilot agent run VERB`: prints the node's answer, and exits with its code (refused,
/// not configured) so the seat tells a refusal from a failure.
fn agent_run(verb: &crate::protocol::run::RunVerb) -> Result<bool> {
    use std::io::Write;
    let env = crate::paths::NodeEnv::from_env();
    let reply = crate::agent::run_state::run(&env, verb, &mut std::io::stdin().lock())?;
    for line in &reply.stderr {
        eprintln!("{}", crate::text::clean_line(line));
    }
    let mut out = std::io::stdout().lock();
    if !reply.stdout.is_empty() {
        writeln!(out, "{}", reply.stdout)?;
    }
    out.flush()?;
    if reply.code != 0 {
        std::process::exit(reply.code.into());
    }
    Ok(true)
}
