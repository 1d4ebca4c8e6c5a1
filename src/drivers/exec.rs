//! Running an external command for a resource: logged before it runs, its output after, argument
//! vectors only (never a shell string built from config values).

use std::process::Command;
use std::time::Duration;

use color_eyre::eyre::{bail, Result};

use super::Ctx;
use crate::transport::{run_child, CallOutput};

/// Runs `argv` for resource `rid`, logging the command and its output; a non-zero exit is an
/// error carrying the command's own last error line.
pub fn run_logged(ctx: &Ctx, rid: &str, argv: &[String], timeout: Duration) -> Result<CallOutput> {
    let Some((program, args)) = argv.split_first() else {
        bail!("{rid}: empty command");
    };
    ctx.log.cmd(rid, argv);
    let mut cmd = Command::new(program);
    cmd.args(args);
    let out = run_child(cmd, None, Some(timeout))?;
    let mut text = out.stdout_text();
    text.push_str(&out.stderr);
    ctx.log.output(rid, &text);
    if !out.success {
        bail!("{rid}: {program} failed: {}", out.failure_reason());
    }
    Ok(out)
}
