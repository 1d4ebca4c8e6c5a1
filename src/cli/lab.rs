//! `drpilot lab`: create, reset or destroy the embedded lab, and open the console on it (or,
//! when stdout is not a terminal, print both nodes' trees and the seed's procedure by hand).

use std::io::IsTerminal;
use std::path::PathBuf;

use color_eyre::eyre::{Result, WrapErr};

use super::{LabAction, LabArgs};
use crate::lab::{Lab, DRP, PROD, SERVICE};
use crate::transport::{Link, Transport};

/// The lab a command acts on: `drpilot lab --dir X destroy` destroys X (it once destroyed
/// ./drpilot-lab instead), two different directories are an error, neither is ./drpilot-lab.
fn lab_dir(option: &Option<PathBuf>, positional: Option<PathBuf>) -> Result<PathBuf> {
    match (option, positional) {
        (Some(a), Some(b)) if *a != b => color_eyre::eyre::bail!(
            "two lab directories named: --dir {} and {}: name one",
            a.display(),
            b.display()
        ),
        (_, Some(b)) => Ok(b),
        (Some(a), None) => Ok(a.clone()),
        (None, None) => Ok(PathBuf::from("drpilot-lab")),
    }
}

/// Runs `drpilot lab`.
pub fn run(args: LabArgs) -> Result<bool> {
    if args.netns {
        if args.action.is_some() {
            color_eyre::eyre::bail!(
                "--netns builds its own sandbox: it takes no init/reset/destroy"
            );
        }
        return super::lab_netns::run(super::lab_netns::NetnsOptions {
            no_console: args.no_console,
            sweep: args.sweep,
            theme: args.theme,
        });
    }
    match args.action {
        Some(LabAction::Init { dir }) => {
            let lab = Lab::new(&lab_dir(&args.dir, dir)?)?;
            lab.init()?;
            println!("lab created in {}", lab.dir().display());
            Ok(true)
        }
        Some(LabAction::Reset { dir }) => {
            let lab = Lab::new(&lab_dir(&args.dir, dir)?)?;
            lab.destroy()?;
            lab.init()?;
            println!("lab reset in {}", lab.dir().display());
            Ok(true)
        }
        Some(LabAction::Destroy { dir }) => {
            let lab = Lab::new(&lab_dir(&args.dir, dir)?)?;
            lab.destroy()?;
            println!("lab {} removed", lab.dir().display());
            Ok(true)
        }
        None => {
            let lab = Lab::new(&lab_dir(&args.dir, None)?)?;
            if !std::io::stdout().is_terminal() {
                return overview(&lab);
            }
            if !lab.exists() {
                lab.init()?;
            }
            crate::console::run(crate::console::ConsoleArgs {
                nodes: Some(lab.nodes_toml()),
                theme: args.theme,
                ..Default::default()
            })
        }
    }
}

fn overview(lab: &Lab) -> Result<bool> {
    if !lab.exists() {
        lab.init()?;
        println!("lab created in {}\n", lab.dir().display());
    }
    let args = crate::transport::client::svc(
        SERVICE,
        &crate::protocol::verb::Action::PrintStatus,
        &Default::default(),
    );
    for node in [PROD, DRP] {
        let t = Link::local(node, lab.node_root(node))?;
        let out = t.call(&args, None, Some(std::time::Duration::from_secs(30)))?;
        let role = if node == PROD { "production" } else { "DRP" };
        println!("== {node} ({role})");
        print!("{}", crate::text::clean_lines(&out.stdout_text()));
        eprint!("{}", crate::text::clean_lines(&out.stderr));
        println!();
    }
    let exe = std::env::current_exe().wrap_err("locating drpilot")?;
    let on = |node: &str| {
        format!(
            "DRPILOT_ROOT={} DRPILOT_NODENAME={node} {}",
            lab.node_root(node).display(),
            exe.display()
        )
    };
    println!("Each node is this binary with DRPILOT_ROOT and DRPILOT_NODENAME set. The OpenSVC tutorial's DRP test, by hand:");
    for (node, verb) in [
        (PROD, "start"),
        (PROD, "syncfullsync --force"),
        (PROD, "syncdrp --force"),
        (PROD, "syncupdate --force   # after cutting user access"),
        (PROD, "stop"),
        (DRP, "start"),
        (DRP, "print status"),
    ] {
        println!("  {} svc {SERVICE} {verb}", on(node));
    }
    println!("The app appends to srv/busybox/data/date.log under the node where it runs.");
    Ok(true)
}
