//! The drpilot binary: every job (agent, lab, console) is a subcommand of this one program.

fn main() -> std::process::ExitCode {
    // Probes meet expected errors (a missing command, a stopped daemon) all the time: capturing a
    // backtrace for each costs ~90 ms and 60 MiB. Panics keep theirs (RUST_BACKTRACE).
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    let _ = color_eyre::install();
    drpilot::cli::main()
}
