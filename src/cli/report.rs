//! `drpilot report`: a run's report (`RUN`, or `latest` for the newest run), every run of the
//! runs directory (`--list`), the report files written again and signed (`--write`), and an
//! auditor's check of a run (`--verify RUN`: the journal's chain, the signatures).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use color_eyre::eyre::{bail, Result};

use crate::runbook::journal::runs_dir;
use crate::runbook::report::{self, Listed, Verdict};
use crate::runbook::signing;
use crate::text::{clean_line, clean_lines};
use crate::transport::NodeMap;

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Markdown, for minutes and tickets.
    Md,
    /// HTML with a timeline.
    Html,
    /// JSON, for scripts and dashboards.
    Json,
}

/// Arguments of `drpilot report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The run id (the journal's file name without .jsonl), or `latest` for the newest run.
    #[arg(required_unless_present = "list")]
    run: Option<String>,
    /// Report format (with --list: md or html print a table, json a JSON array).
    #[arg(long, value_enum, default_value = "md")]
    format: ReportFormat,
    /// Lists every run, newest first: run id, service, mode, outcome, start, operator.
    #[arg(long, conflicts_with_all = ["run", "verify", "write"])]
    list: bool,
    /// Writes the run's report files beside its journal again (outputs, .md, .html, .json)
    /// and signs the .md and the .json with the operator's ssh key when one is found.
    #[arg(long, conflicts_with = "verify")]
    write: bool,
    /// Checks the run for an auditor: the journal's hash chain and the reports' signatures,
    /// one line per check; exits non-zero when one fails.
    #[arg(long)]
    verify: bool,
    /// With --verify: the allowed signers file [default: ~/.config/drpilot/allowed_signers].
    #[arg(long, value_name = "FILE", requires = "verify")]
    allowed_signers: Option<PathBuf>,
    /// With --verify: the node address map (default ~/.config/drpilot/nodes.toml, when it
    /// exists), for the nodes' copies of the journal.
    #[arg(long, value_name = "FILE", requires = "verify")]
    nodes: Option<PathBuf>,
}

/// Runs `drpilot report`.
pub fn run(args: ReportArgs) -> Result<bool> {
    if args.list {
        return list(args.format);
    }
    let Some(asked) = args.run.as_deref() else {
        bail!("name a run (or `latest`), or give --list");
    };
    let (run, journal) = resolve(asked)?;
    if args.verify {
        return verify(&args, &run, &journal);
    }
    if args.write {
        let files = report::write_reports(&journal)?;
        for f in [&files.markdown, &files.html, &files.json]
            .into_iter()
            .chain(&files.outputs)
        {
            println!("wrote {}", f.display());
        }
        for (f, outcome) in &files.signatures {
            println!("{}: {}", f.display(), clean_line(&outcome.to_string()));
        }
        return Ok(!files
            .signatures
            .iter()
            .any(|(_, o)| matches!(o, signing::SignOutcome::Failed(_))));
    }
    let r = report::load(&journal)?;
    print!(
        "{}",
        match args.format {
            // Reasons quote node output: the text formats are printed as safe text.
            ReportFormat::Md => clean_lines(&report::markdown(&r)).into_owned(),
            ReportFormat::Html => clean_lines(&report::html(&r)).into_owned(),
            ReportFormat::Json => report::json(&r) + "\n",
        }
    );
    Ok(true)
}

/// The run id and journal of `asked`: a run id, or `latest`.
fn resolve(asked: &str) -> Result<(String, PathBuf)> {
    let dir = runs_dir();
    if asked == "latest" {
        return match report::latest_run(&dir)? {
            Some(found) => Ok(found),
            None => bail!("no readable run in {}", dir.display()),
        };
    }
    if !crate::config::is_valid_service_name(asked) {
        bail!("invalid run id '{}'", clean_line(asked));
    }
    let path = dir.join(format!("{asked}.jsonl"));
    if !path.exists() {
        bail!("no run {asked} in {}", dir.display());
    }
    Ok((asked.to_string(), path))
}

fn list(format: ReportFormat) -> Result<bool> {
    let runs = report::list_runs(&runs_dir())?;
    if format == ReportFormat::Json {
        println!(
            "{}",
            crate::text::json_safe(serde_json::to_string_pretty(&runs)?)
        );
        return Ok(true);
    }
    if runs.is_empty() {
        println!("no run in {}", runs_dir().display());
        return Ok(true);
    }
    println!(
        "{:<44} {:<16} {:<10} {:<12} {:<25} operator",
        "run", "service", "mode", "outcome", "started"
    );
    for l in &runs {
        // Journals are files anyone may have edited: every field is printed as safe text.
        let line = match l {
            Listed::Run {
                run,
                service,
                mode,
                outcome,
                started,
                operator,
                ..
            } => {
                format!("{run:<44} {service:<16} {mode:<10} {outcome:<12} {started:<25} {operator}")
            }
            Listed::Unreadable { journal, reason } => {
                format!("{}: unreadable: {reason}", journal.display())
            }
        };
        println!("{}", clean_line(&line));
    }
    Ok(true)
}

fn verify(args: &ReportArgs, run: &str, journal: &std::path::Path) -> Result<bool> {
    let allowed = args
        .allowed_signers
        .clone()
        .unwrap_or_else(signing::default_allowed_signers);
    let default_map = crate::console::default_nodes_file();
    let map = if args.nodes.is_some() || default_map.exists() {
        Some(NodeMap::load_for_operator(
            args.nodes.as_deref(),
            &default_map,
        )?)
    } else {
        None
    };
    let checks = report::verify_run(journal, run, &allowed, map.as_ref());
    for c in &checks {
        println!("{}", clean_line(&c.line()));
    }
    let failed = checks
        .iter()
        .filter(|c| c.verdict == Verdict::Failed)
        .count();
    if failed > 0 {
        println!("run {run}: {failed} check(s) FAILED");
    } else {
        println!("run {run}: every check holds");
    }
    Ok(failed == 0)
}
