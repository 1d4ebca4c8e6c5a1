//! `drpilot drp rehearse|disaster|failback|test SVC`: the runbook without the console, for
//! schedulers, scripts and terminals (its reports: `cli/report.rs`).

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand};
use color_eyre::eyre::{bail, Result};

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
    /// The DRP test without downtime: the service started from a clone of the replica in an
    /// isolated bubble on the DRP node while production keeps running and replicating.
    Test(TestArgs),
    /// Takes over a run whose seat died and resumes it where it stopped.
    ///
    /// For an unfinished run whose seat stopped renewing its lease (a laptop that died), or
    /// whose process is gone on this machine. The service name is typed to confirm; a run whose
    /// seat still renews its lease is never taken over.
    Takeover(TakeoverArgs),
}

#[derive(Debug, Args)]
struct TakeoverArgs {
    /// The run id, as the refusal or the console names it.
    run: String,
    /// Confirm every gate, the takeover's included (schedulers, scripts).
    #[arg(long)]
    yes: bool,
    /// The node address map (default ~/.config/drpilot/nodes.toml).
    #[arg(long, value_name = "FILE")]
    nodes: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct TestArgs {
    #[command(flatten)]
    run: RunArgs,
    /// Leave the bubble up at the end, for inspection (`--enter` opens a shell in it, `--end`
    /// removes it).
    #[arg(long, conflicts_with_all = ["end", "enter"])]
    keep: bool,
    /// Remove a kept (or left) bubble from the DRP node: its service, namespaces and clone.
    #[arg(long, conflicts_with = "enter")]
    end: bool,
    /// A shell inside the kept bubble on the DRP node (its network, its mounts).
    #[arg(long)]
    enter: bool,
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
    crate::action_log::local_user()
}

/// Reads one answer line from the terminal; `None` at end of input (no terminal any more).
fn read_answer() -> Option<String> {
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim().to_string()),
    }
}

/// The terminal as the runbook's operator: with `--yes` every gate is confirmed (and says so),
/// otherwise each gate is asked; the default is no, and typed gates need the service name.
struct Terminal {
    yes: bool,
}

impl Terminal {
    /// A gate named `label` (a step, `takeover`) about `node`: confirmed by --yes, else asked;
    /// the default is no, and typed gates need the service name.
    fn gate(&mut self, label: &str, node: &str, prompt: &str, typed: Option<&str>) -> bool {
        // The prompt quotes node names and the service: printed as safe text.
        let (node, prompt) = (clean_line(node), clean_lines(prompt));
        if self.yes {
            println!("[gate {label} on {node}] {prompt}: confirmed by --yes");
            return true;
        }
        let Some(name) = typed else {
            print!("[gate {label} on {node}] {prompt} [y/N] ");
            return read_answer().is_some_and(|l| matches!(l.as_str(), "y" | "yes"));
        };
        print!(
            "[gate {label} on {node}] {prompt}\n  type {name} to go on, an empty line stops here: "
        );
        // A typo asks again, as the console does; an empty line (or no terminal) stops.
        loop {
            match read_answer() {
                None => return false,
                Some(l) if l.is_empty() => return false,
                Some(l) if l == name => return true,
                Some(l) => print!(
                    "  '{}' is not {name}: type {name} exactly, or an empty line to stop: ",
                    clean_line(&l)
                ),
            }
        }
    }
}

impl Operator for Terminal {
    fn confirm(&mut self, step: Step, node: &str, prompt: &str, typed: Option<&str>) -> bool {
        self.gate(step.name(), node, prompt, typed)
    }
    /// The three ways out, asked until one is chosen; Enter takes the default (the first
    /// offered, never "leave"). With --yes, or with no terminal left, the run rolls back where
    /// it can: a scheduler never leaves the service down by itself.
    fn way_out(&mut self, step: Step, situation: &str, choices: &[WayOut]) -> WayOut {
        let safe = if choices.contains(&WayOut::Rollback) {
            WayOut::Rollback
        } else {
            choices[0]
        };
        println!("[stopped at {}] {}", step.name(), clean_lines(situation));
        if self.yes {
            println!("  way out: {} (--yes)", safe.word());
            return safe;
        }
        let menu: Vec<String> = choices
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let key = c.key();
                let text = match c {
                    WayOut::Retry => "retry the step",
                    WayOut::Rollback => "roll back (restart production, restore user access)",
                    WayOut::Leave => "leave the nodes as they are",
                };
                format!("  [{key}] {text}{}", if i == 0 { " (default)" } else { "" })
            })
            .collect();
        loop {
            print!("{}\n  your choice: ", menu.join("\n"));
            let Some(line) = read_answer() else {
                println!("\n  no answer: {}", safe.word());
                return safe;
            };
            let pick = match line.as_str() {
                "" => Some(choices[0]),
                a => choices
                    .iter()
                    .copied()
                    .find(|c| c.word() == a || a.chars().eq([c.key()])),
            };
            match pick {
                Some(c) => return c,
                None => println!("  '{}' is not one of the choices", clean_line(&line)),
            }
        }
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
        Which::Takeover(t) => return takeover(t),
        Which::Test(t) => return test(t),
    };
    let default = crate::console::default_nodes_file();
    let map = NodeMap::load_for_operator(a.nodes.as_deref(), &default)?;
    let op = &mut Terminal { yes: a.yes };
    println!("== {} of {}", mode.banner(), a.svc);
    let out = session::run(mode, &a.svc, &Pool::new(map), op)?;
    Ok(said_end(&out))
}

/// `drpilot drp test SVC`: the non-disruptive test, or with `--end`/`--enter` the kept bubble.
fn test(t: TestArgs) -> Result<bool> {
    let a = t.run;
    let default = crate::console::default_nodes_file();
    let map = NodeMap::load_for_operator(a.nodes.as_deref(), &default)?;
    let pool = Pool::new(map);
    if t.end || t.enter {
        let drp = crate::runbook::bubble::drp_node(&pool, &a.svc)?;
        if t.enter {
            return crate::runbook::bubble::enter(&pool, &a.svc, &drp);
        }
        let out = crate::runbook::bubble::end(&pool, &a.svc, &drp)?;
        println!("{}", clean_lines(out.output.trim_end()));
        return Ok(out.ok);
    }
    let op = &mut Terminal { yes: a.yes };
    println!("== {} of {}", Mode::Test.banner(), a.svc);
    let out = session::run_test(&a.svc, &pool, op, t.keep)?;
    Ok(said_end(&out))
}

/// Says how a run ended and where its report is; whether it succeeded.
fn said_end(out: &session::Outcome) -> bool {
    println!(
        "run {}: {}; report {}",
        out.run,
        out.outcome,
        out.report.display()
    );
    out.ok
}

/// `drpilot drp takeover RUN`: names who holds the run and where it stopped, asks for the
/// service name, then resumes it from this seat.
fn takeover(t: TakeoverArgs) -> Result<bool> {
    let Some(svc) = t
        .run
        .parse::<crate::protocol::names::RunId>()
        .ok()
        .and_then(|r| r.service().map(str::to_string))
    else {
        bail!("invalid run id '{}'", t.run);
    };
    let default = crate::console::default_nodes_file();
    let map = NodeMap::load_for_operator(t.nodes.as_deref(), &default)?;
    let pool = Pool::new(map);
    // The holder as the first node that answered tells it (every node holds the same lease).
    if let Some((node, v)) = session::holder_of(&pool, &svc).first() {
        println!(
            "{}",
            clean_line(&crate::runbook::on_nodes::lease::describe(node, v))
        );
    }
    let op = &mut Terminal { yes: t.yes };
    let prompt = format!(
        "take over run {} of {svc} and resume it from this seat",
        t.run
    );
    if !op.gate("takeover", "the service's nodes", &prompt, Some(&svc)) {
        println!("takeover refused at the gate: nothing was done");
        return Ok(false);
    }
    let out = session::takeover(&t.run, &pool, op)?;
    Ok(said_end(&out))
}
