//! `drpilot svc SVC logs [-f] [-n N]`: the service's dated action log on this node, oldest
//! first (the rotated files then the live one), or its records with `--format json`; `-f`
//! follows it across rotations until interrupted. Read-only: it takes no lock.

use std::io::Write;
use std::time::Duration;

use color_eyre::eyre::{bail, Result, WrapErr};

use crate::action_log::follow::Follower;
use crate::action_log::{Format, ACTIONS_JSONL, ACTIONS_LOG};
use crate::paths::NodeEnv;
use crate::protocol::log::LogRecord;

/// How often `-f` looks for new lines.
const FOLLOW_EVERY: Duration = Duration::from_millis(200);

/// How much `-f` reads in one look at most.
const FOLLOW_READ: u64 = 1024 * 1024;

/// Prints the log of `svc` in `format`: the last `lines` of it (every line kept when `None`),
/// then, with `follow`, each new line as it is written.
pub fn run(
    env: &NodeEnv,
    svc: &str,
    format: Format,
    lines: Option<usize>,
    follow: bool,
) -> Result<()> {
    if crate::agent::selector::is_multi(svc) || !crate::config::is_valid_service_name(svc) {
        bail!(
            "logs reads one service's log: '{}' is not a service name",
            crate::text::clean_line(svc)
        );
    }
    let dir = env.state_dir(svc);
    let path = dir.join(match format {
        Format::Text => ACTIONS_LOG,
        Format::Json => ACTIONS_JSONL,
    });
    if !env.config_path(svc).exists() && !path.exists() && !follow {
        bail!(
            "service {svc} is not configured on {} and has no log ({} does not exist)",
            env.nodename,
            path.display()
        );
    }
    // The follower starts where the printed lines end: no line lost or printed twice between.
    let mut follower = Follower::from_end(&path);
    // Every line up to there, oldest first.
    let mut kept = follower.history();
    if let Some(n) = lines {
        kept.drain(..kept.len().saturating_sub(n));
    }
    let mut out = std::io::stdout().lock();
    print_lines(&mut out, format, &kept)?;
    drop(out);
    if !follow {
        return Ok(());
    }
    // Until interrupted, or until stdout is closed (the reader went away).
    loop {
        let new = follower.read_new(FOLLOW_READ);
        if new.is_empty() {
            std::thread::sleep(FOLLOW_EVERY);
            continue;
        }
        print_lines(&mut std::io::stdout().lock(), format, &new)?;
    }
}

/// Prints lines read from a log as safe text (a text log line, or a record re-encoded).
fn print_lines(out: &mut impl Write, format: Format, lines: &[String]) -> Result<()> {
    for l in lines {
        let shown = match format {
            Format::Text => crate::text::clean_line(l).into_owned(),
            Format::Json => match LogRecord::parse(l) {
                Some(r) => crate::text::json_safe(
                    serde_json::to_string(&r).wrap_err("encoding a log record")?,
                ),
                // A torn or foreign line is not a record: left out of the JSON stream.
                None => continue,
            },
        };
        writeln!(out, "{shown}").wrap_err("writing to stdout")?;
    }
    out.flush().wrap_err("writing to stdout")
}
