//! `drpilot svc SELECTOR VERB`: the OpenSVC tutorial's verbs on this node.

use std::time::Duration;

use clap::Subcommand;
use color_eyre::eyre::{bail, eyre, Result};

use super::{paint, SvcArgs};
use crate::action_log::Format;
use crate::agent::action::{Action, Group};
use crate::agent::{lock, probe, selector, Options, Service};
use crate::config::Role;
use crate::drivers::container_docker::{self, Daemon};
use crate::drivers::Ctx;
use crate::paths::NodeEnv;
use crate::status::nagios::{self, Nagios};
use crate::status::{render_json, render_text};

/// The verbs, named as in the OpenSVC tutorial.
#[derive(Debug, Subcommand)]
pub enum Verb {
    /// Prints the status tree or the resolved config.
    Print {
        #[command(subcommand)]
        what: PrintWhat,
    },
    /// Starts the service: ip, vg, fs, container, app.
    Start,
    /// Stops the service: app, container, fs, vg, ip (standby resources stay up).
    Stop,
    /// Starts the ip resources.
    Startip,
    /// Stops the ip resources.
    Stopip,
    /// Starts the volume groups.
    Startvg,
    /// Stops the volume groups.
    Stopvg,
    /// Starts the filesystems.
    Startfs,
    /// Stops the filesystems.
    Stopfs,
    /// Starts the containers.
    Startcontainer,
    /// Stops the containers.
    Stopcontainer,
    /// Starts the apps.
    Startapp,
    /// Starts the resources that are standby on this node (`always_on`), even while the service
    /// runs on another node: what a DRP node keeps up for replication.
    Startstandby,
    /// Stops the resources that are standby on this node; refused while the service runs here.
    Stopstandby,
    /// Stops the apps.
    Stopapp,
    /// Full copy of every data sync to its targets.
    Syncfullsync,
    /// Incremental copy of every data sync to its targets.
    Syncupdate,
    /// Config push, incremental data syncs and postsync, to the DRP nodes.
    Syncdrp,
    /// Pushes the service config to the other nodes.
    Syncnodes,
    /// Run on a DRP node after a sync: checks what it received.
    Postsync,
    /// Checks the service config.
    Validate,
    /// Runs the `drp_app_check` command: the runbook's application check after a start.
    Appcheck,
    /// Non-disruptive DRP test, on the DRP node: clones the latest replica into a test bubble.
    Bubbleclone,
    /// Non-disruptive DRP test: starts the service from the clone in the bubble's own network.
    Bubblestart,
    /// Non-disruptive DRP test: checks the service in the bubble (status and drp_app_check).
    Bubblecheck,
    /// Non-disruptive DRP test: stops the bubble's service and removes the bubble and the clone.
    Bubbledown,
    /// Non-disruptive DRP test: what this node holds of a test bubble, as JSON.
    Bubblestatus,
    /// Non-disruptive DRP test: a shell inside the running bubble (its network, its mounts).
    Bubbleenter,
    /// Runs the `drp_cut_access` hook (a stop verb): the runbook's "cut user access" step.
    Cutaccess,
    /// Undoes the `drp_cut_access` hook (its start verb): user access back after a stopped run.
    Restoreaccess,
    /// Prints the service's action log on this node, every line dated and naming who ran it,
    /// newest last (`--format json`: its records). Reads only: takes no lock.
    Logs {
        /// Follows the log (across its rotations) until interrupted.
        #[arg(short = 'f', long)]
        follow: bool,
        /// Prints the last N lines only (default: every line kept, rotated files included).
        #[arg(short = 'n', long, value_name = "N")]
        lines: Option<usize>,
    },
    /// Runs docker against the service's private daemon (started first when it is down, as the
    /// OpenSVC tutorial's `docker pull` on a stopped service shows); exits with docker's exit code.
    Docker {
        /// Arguments passed to docker.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// What `print` prints.
#[derive(Debug, Subcommand)]
pub enum PrintWhat {
    /// The status tree.
    Status {
        /// Exit with a Nagios plugin's code: 0 up (or standby on a DRP node), 1 warn, 2 down,
        /// 3 unknown; the worst one for several services.
        #[arg(long)]
        exit_code: bool,
    },
    /// On a DRP node: whether the users and groups that own the service's files and run its
    /// processes on production have the same ids here (from the copy of production's system
    /// files, sync#i1); exits 1 when one differs.
    Drift,
    /// Every keyword resolved for a node, with the scope that won.
    Config {
        /// The node to resolve for (default: this node).
        #[arg(long)]
        node: Option<String>,
    },
}

/// The agent's action of a verb; `None` for `docker`, which is not an action (it passes
/// through to the service's private daemon), and for `logs`, which only reads.
pub(super) fn action_of(verb: Verb) -> Option<Action> {
    Some(match verb {
        Verb::Print {
            what: PrintWhat::Status { .. },
        } => Action::PrintStatus,
        Verb::Print {
            what: PrintWhat::Config { node },
        } => Action::PrintConfig { node },
        Verb::Print {
            what: PrintWhat::Drift,
        } => Action::PrintDrift,
        Verb::Start => Action::Start(None),
        Verb::Stop => Action::Stop(None),
        Verb::Startip => Action::Start(Some(Group::Ip)),
        Verb::Stopip => Action::Stop(Some(Group::Ip)),
        Verb::Startvg => Action::Start(Some(Group::Disk)),
        Verb::Stopvg => Action::Stop(Some(Group::Disk)),
        Verb::Startfs => Action::Start(Some(Group::Fs)),
        Verb::Stopfs => Action::Stop(Some(Group::Fs)),
        Verb::Startcontainer => Action::Start(Some(Group::Container)),
        Verb::Stopcontainer => Action::Stop(Some(Group::Container)),
        Verb::Startapp => Action::Start(Some(Group::App)),
        Verb::Startstandby => Action::StartStandby,
        Verb::Stopstandby => Action::StopStandby,
        Verb::Stopapp => Action::Stop(Some(Group::App)),
        Verb::Syncfullsync => Action::SyncFull,
        Verb::Syncupdate => Action::SyncUpdate,
        Verb::Syncdrp => Action::SyncDrp,
        Verb::Syncnodes => Action::SyncNodes,
        Verb::Postsync => Action::PostSync,
        Verb::Validate => Action::Validate,
        Verb::Cutaccess => Action::CutAccess,
        Verb::Restoreaccess => Action::RestoreAccess,
        Verb::Appcheck => Action::AppCheck,
        Verb::Bubbleclone => Action::BubbleClone,
        Verb::Bubblestart => Action::BubbleStart,
        Verb::Bubblecheck => Action::BubbleCheck,
        Verb::Bubbledown => Action::BubbleDown,
        Verb::Bubblestatus => Action::BubbleStatus,
        Verb::Bubbleenter => Action::BubbleEnter,
        Verb::Docker { .. } | Verb::Logs { .. } => return None,
    })
}

/// Runs `drpilot svc`.
pub fn run(args: SvcArgs) -> Result<bool> {
    let env = NodeEnv::from_env();
    if let Verb::Docker { args: docker_args } = &args.verb {
        let code = docker(&env, &args, docker_args)?;
        use std::io::Write;
        let _ = std::io::stdout().flush();
        // docker's own exit code, as if the operator had run docker directly.
        std::process::exit(code);
    }
    if let Verb::Logs { follow, lines } = &args.verb {
        super::svc_logs::run(&env, &args.selector, args.format, *lines, *follow)?;
        return Ok(true);
    }
    let opts = Options {
        force: args.force,
        waitlock: args.waitlock.map(Duration::from_secs),
        rids: args.rid,
        format: args.format,
        target: args.target,
        declared_lost: args.declared_lost,
        paint: paint::for_stdout(),
    };
    let exit_code = matches!(
        args.verb,
        Verb::Print {
            what: PrintWhat::Status { exit_code: true }
        }
    );
    let Some(action) = action_of(args.verb) else {
        bail!("docker and logs are handled above");
    };
    if action == Action::PrintStatus && not_configured(&env, &args.selector) {
        // A peer's split-brain guard reads this exit code as "it cannot run here".
        eprintln!(
            "error: service {} is not configured on {} (no {})",
            crate::text::clean_line(&args.selector),
            env.nodename,
            env.config_path(&args.selector).display()
        );
        std::process::exit(crate::agent::peer_answer::EXIT_NOT_CONFIGURED.into());
    }
    if exit_code {
        let verdict = print_status_checked(&env, &args.selector, &opts);
        use std::io::Write;
        let _ = std::io::stdout().flush();
        std::process::exit(verdict.code().into());
    }
    crate::agent::run(&env, &args.selector, &action, &opts)
}

/// `print status --exit-code`: prints each status as `print status` does and returns the worst
/// Nagios verdict; a service that cannot be loaded or selected is unknown (3), never ok.
fn print_status_checked(env: &NodeEnv, selector_text: &str, opts: &Options) -> Nagios {
    let names = match selector::expand(env, selector_text) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("{}", crate::text::error_lines(&e));
            return Nagios::Unknown;
        }
    };
    let multi = selector::is_multi(selector_text);
    let mut worst = if names.is_empty() && selector_text != "allupservices" {
        Nagios::Unknown
    } else {
        Nagios::Ok
    };
    for name in names {
        let svc = match Service::load(env, &name) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{}", crate::text::error_lines(&e));
                worst = worst.worse(Nagios::Unknown);
                continue;
            }
        };
        if !multi {
            svc.print_warnings();
        }
        let st = probe::probe(env, &svc);
        if selector_text == "allupservices" && !st.avail.is_active() {
            continue;
        }
        match opts.format {
            Format::Text => print!("{}", render_text(&st, &opts.paint)),
            Format::Json => println!("{}", render_json(&st)),
        }
        let on_drp_node = svc.cfg.role(&env.nodename) == Role::Drp;
        worst = worst.worse(nagios::verdict(&st, on_drp_node));
    }
    worst
}

/// Whether `selector` names one valid service that has no config on this node.
fn not_configured(env: &NodeEnv, selector: &str) -> bool {
    !selector::is_multi(selector)
        && crate::config::is_valid_service_name(selector)
        && !env.config_path(selector).exists()
}

/// `drpilot svc SVC docker ARGS`: docker against the service's private daemon, started first
/// (under the service lock, quietly: docker's output stays clean) when it does not answer.
fn docker(env: &NodeEnv, args: &SvcArgs, docker_args: &[String]) -> Result<i32> {
    if selector::is_multi(&args.selector) {
        bail!(
            "docker runs against one service's daemon, not '{}'",
            args.selector
        );
    }
    let svc = Service::load(env, &args.selector)?;
    svc.print_warnings();
    let rid = svc
        .resources
        .iter()
        .map(|r| &r.driver)
        .find(|d| d.type_name() == "container.docker")
        .map(|d| d.rid().to_string())
        .ok_or_else(|| {
            eyre!(
                "{}: service {} has no container of type docker, so no docker daemon",
                svc.cfg.raw.path.display(),
                svc.name
            )
        })?;
    crate::agent::probe::with_local_ctx(env, &svc, args.force, |ctx| {
        docker_on(args, ctx, &rid, docker_args)
    })
}

/// Starts the service's private docker daemon when it is down (under the service lock), then
/// runs the docker client against it.
fn docker_on(args: &SvcArgs, ctx: &Ctx, rid: &str, docker_args: &[String]) -> Result<i32> {
    let (env, svc) = (ctx.env, ctx.svc);
    if !container_docker::daemon_answers(ctx) {
        let _lock = lock::acquire(
            env,
            svc,
            "docker",
            args.waitlock
                .map_or(crate::agent::runner::DEFAULT_WAITLOCK, Duration::from_secs),
        )?;
        // Another action may have started it while we waited for the lock.
        if !container_docker::daemon_answers(ctx) {
            let daemon = Daemon::of(ctx);
            eprintln!(
                "{}: docker daemon is not running on {}: starting it (its log: {})",
                svc,
                env.nodename,
                daemon.log_file().display()
            );
            daemon.start(ctx, rid)?;
        }
    }
    container_docker::run_client(ctx, docker_args)
}
