//! The drpilot binary: every job (agent, lab, console) is a subcommand of this one program.

fn main() -> std::process::ExitCode {
    // Errors are printed by the CLI itself; the hook only keeps panics readable.
    let _ = color_eyre::install();
    drpilot::cli::main()
}
