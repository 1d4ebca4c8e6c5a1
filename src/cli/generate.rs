//! What an installed drpilot ships beside the binary, generated from the command line's own
//! definition so it never drifts: shell completions and one man page per command.

use std::path::Path;

use clap::CommandFactory;
use color_eyre::eyre::{Result, WrapErr};

use super::Cli;

/// The shells `drpilot completions` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    /// bash (bash-completion).
    Bash,
    /// zsh.
    Zsh,
    /// fish.
    Fish,
}

/// `drpilot completions SHELL`: the completion script on stdout.
pub fn completions(shell: Shell) -> Result<bool> {
    let mut cmd = Cli::command();
    let mut out = std::io::stdout().lock();
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(shell, &mut cmd, "drpilot", &mut out);
    Ok(true)
}

/// `drpilot man DIR`: `drpilot.1`, then `drpilot-CMD.1`, `drpilot-CMD-SUB.1`, ... for every
/// command that is not hidden.
pub fn man_pages(dir: &Path) -> Result<bool> {
    std::fs::create_dir_all(dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
    let mut cmd = Cli::command();
    cmd.build();
    let mut written = 0;
    write_page(&cmd, "drpilot", dir, &mut written)?;
    println!("{written} man pages written to {}", dir.display());
    Ok(true)
}

fn write_page(cmd: &clap::Command, name: &str, dir: &Path, written: &mut usize) -> Result<()> {
    // Built, each subcommand's display name is already `drpilot-svc`, `drpilot-svc-start`, ...
    let page = cmd.clone();
    let path = dir.join(format!("{name}.1"));
    let mut bytes = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut bytes)
        .wrap_err_with(|| format!("rendering {}", path.display()))?;
    std::fs::write(&path, bytes).wrap_err_with(|| format!("writing {}", path.display()))?;
    *written += 1;
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        write_page(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}
