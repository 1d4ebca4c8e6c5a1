//! `drpilot lab --netns`: the rehearsal sandbox for on-call engineers. Builds the root testbed
//! (two namespaced hosts over SSH), deploys the seed's service, starts it on deb1 with a first
//! full sync and a syncdrp to deb2, and opens the console on both nodes over real SSH.
//! Everything is torn down when the console (or, with `--no-console`, a SIGINT/SIGTERM) ends it.

use std::io::IsTerminal;
use std::path::Path;

use color_eyre::eyre::{bail, Result, WrapErr};

use crate::lab::testbed::seed_service::{self, PROD, SERVICE};
use crate::lab::testbed::{sweep_stale, Spec, Testbed};
use crate::protocol::verb::{Action, SvcFlags};
use crate::transport::{client, self_exe};

/// Options of the sandbox.
pub struct NetnsOptions {
    /// Keep it up until a signal instead of opening the console.
    pub no_console: bool,
    /// Only tear down what crashed runs left, then exit.
    pub sweep: bool,
    /// The console's theme.
    pub theme: Option<String>,
}

/// Runs `drpilot lab --netns`.
pub fn run(opts: NetnsOptions) -> Result<bool> {
    if opts.sweep {
        let swept = sweep_stale()?;
        println!("{} stale testbed(s) removed", swept.len());
        return Ok(true);
    }
    let tb = Testbed::create(&Spec::seed()).wrap_err("building the testbed")?;
    let bin = tb.install(&self_exe()?)?;
    println!("testbed: {}", tb.dir.display());
    let ready = prepare(&tb, &bin);
    if let Err(e) = ready {
        tb.teardown()?;
        return Err(e);
    }
    let nodes = tb.write_operator_nodes(&bin)?;
    println!("nodes: {}", nodes.display());
    println!(
        "ssh to a host (from the testbed's network): nsenter -t {} -n ssh -F {} deb1   (or deb2)",
        tb.switch_pid,
        tb.ssh.config().display()
    );
    // The console sits on the testbed's network, like an operator's desk.
    tb.enter_operator_seat()?;
    let outcome = if opts.no_console || !std::io::stdout().is_terminal() {
        println!("ready; SIGINT or SIGTERM tears the testbed down");
        wait_for_signal()
    } else {
        crate::console::run(crate::console::ConsoleArgs {
            nodes: Some(nodes),
            theme: opts.theme,
            ..Default::default()
        })
        .map(|_| ())
    };
    let torn = tb.teardown();
    outcome?;
    torn?;
    Ok(true)
}

/// The service deployed, started on deb1, fully synced to deb2 and its config pushed.
fn prepare(tb: &Testbed, bin: &Path) -> Result<()> {
    seed_service::deploy(tb, bin)?;
    let prod = tb
        .host(PROD)
        .ok_or_else(|| color_eyre::eyre::eyre!("no host {PROD}"))?;
    // The seed's preparation: a full copy, then the config push and an update (syncdrp), so a
    // rehearsal's preflight finds everything in sync.
    let forced = SvcFlags {
        force: true,
        ..SvcFlags::default()
    };
    for (action, flags) in [
        (Action::Start(None), SvcFlags::default()),
        (Action::SyncFull, SvcFlags::default()),
        (Action::SyncDrp, forced),
    ] {
        let args = client::svc(SERVICE, &action, &flags);
        let out = seed_service::drpilot_on(prod, bin, &args)?;
        if !out.success {
            bail!("{} on {PROD}: {}", action.verb(), out.failure_reason());
        }
    }
    Ok(())
}

fn wait_for_signal() -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .wrap_err("starting the signal runtime")?;
    rt.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term =
            signal(SignalKind::terminate()).wrap_err("installing the SIGTERM handler")?;
        let mut int = signal(SignalKind::interrupt()).wrap_err("installing the SIGINT handler")?;
        tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
        Ok(())
    })
}
